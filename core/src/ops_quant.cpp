// Quantized operators: QuantizeLinear, DequantizeLinear (per tensor and per axis),
// DynamicQuantizeLinear, and the registration of all of them: QLinearMatMul and
// MatMulInteger (ops_qmatmul.cpp), QLinearConv, ConvInteger and com.microsoft QLinearAdd
// (ops_qconv.cpp). Layers whose int8 weights are known at load time are packed once
// (PackedQGemm / PackedQConv2d); everything else runs through the kernels' generic ONNX
// functions (qlinear_matmul, matmul_integer, qlinear_conv, conv_integer).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "f32-q8-vcvt/f32-q8-vcvt.h"
#include "ops_broadcast.hpp"
#include "ops_common.hpp"
#include "ops_quant_internal.hpp"

namespace quantlab::ops {
namespace {

constexpr std::initializer_list<DType> kQ8OrInt32 = {DType::kUInt8, DType::kInt8, DType::kInt32};

/// Per-axis layout of a tensor: outer blocks, channels, inner run.
struct AxisSplit {
  size_t outer = 1, channels = 1, inner = 1;
};

Result<AxisSplit> axis_split(const Dims& shape, int64_t axis, size_t channels, const char* what) {
  AxisSplit s;
  if (channels == 1) {
    s.inner = 1;
    for (int64_t d : shape) s.inner *= static_cast<size_t>(d);
    return s;
  }
  auto a = normalize_axis(axis, static_cast<int>(shape.size()), "axis");
  if (!a) return a.status();
  if (shape[static_cast<size_t>(*a)] != static_cast<int64_t>(channels)) {
    return shape_mismatch(std::string(what) + " has " + std::to_string(channels) +
                          " values but axis " + std::to_string(*a) + " of " + shape_string(shape) +
                          " has " + std::to_string(shape[static_cast<size_t>(*a)]));
  }
  for (int i = 0; i < *a; ++i) s.outer *= static_cast<size_t>(shape[static_cast<size_t>(i)]);
  s.channels = channels;
  for (size_t i = static_cast<size_t>(*a) + 1; i < shape.size(); ++i) {
    s.inner *= static_cast<size_t>(shape[i]);
  }
  return s;
}

// --- QuantizeLinear --------------------------------------------------------------------------

template <class T>
void quantize_block(const float* x, T* y, size_t n, float scale, int32_t zp) {
  F32Q8VcvtParams p;
  p.scale = scale;
  p.zero_point = zp;
  p.q_min = q_min(dtype_of<T>());
  p.q_max = q_max(dtype_of<T>());
  f32_q8_vcvt_best<T>()(n, x, y, p);
}

Result<Tensor> quantize_linear(const Tensor& x, const Tensor& scale, const Tensor* zero_point,
                               int64_t axis) {
  const DType y_type = zero_point ? zero_point->dtype() : DType::kUInt8;
  const std::vector<float> scales = float_values(scale);
  QL_RETURN_IF_ERROR(check_scale_values(scales, "y_scale"));
  std::vector<int32_t> zps(scales.size(), 0);
  if (zero_point) {
    if (zero_point->size() != scales.size()) {
      return shape_mismatch("y_zero_point " + shape_string(zero_point->shape()) + " and y_scale " +
                            shape_string(scale.shape()) + " differ in size");
    }
    zps = int_values(*zero_point);
  }
  auto split = axis_split(x.shape(), axis, scales.size(), "y_scale");
  if (!split) return split.status();
  const float* src = x.data<float>().data();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(src[i])) {
      return not_finite("x holds NaN at element " + std::to_string(i) +
                        "; QuantizeLinear needs numbers");
    }
  }
  auto y = new_tensor(y_type, x.shape());
  if (!y) return y.status();
  size_t offset = 0;
  for (size_t o = 0; o < split->outer; ++o) {
    for (size_t c = 0; c < split->channels; ++c, offset += split->inner) {
      if (y_type == DType::kUInt8) {
        quantize_block(src + offset, y->data<uint8_t>().data() + offset, split->inner, scales[c],
                       zps[c]);
      } else {
        quantize_block(src + offset, y->data<int8_t>().data() + offset, split->inner, scales[c],
                       zps[c]);
      }
    }
  }
  return y;
}

/// QuantizeLinear and DequantizeLinear at load time: the attributes (axis from opset 13), x of
/// x_types, the scale and the optional zero point (called <role>_scale, <role>_zero_point;
/// zp_like_x: the zero point must have x's type); the op runs f(x, scale, zero_point, axis)
/// into an output of y_dtype.
template <class F>
Result<std::unique_ptr<Op>> make_linear_qdq(const NodeContext& ctx, std::vector<ValueInfo>& out,
                                            std::initializer_list<DType> x_types,
                                            const std::string& role,
                                            std::initializer_list<DType> zp_types, bool zp_like_x,
                                            DType y_dtype, F f) {
  const bool has_axis = ctx.version() >= 13;
  QL_RETURN_IF_ERROR(has_axis ? ctx.check_attributes({"axis"}) : ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 3, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, x_types));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, (role + "_scale").c_str(), has_axis, {DType::kFloat32}));
  if (ctx.has_input(2)) {
    const std::string zp = role + "_zero_point";
    QL_RETURN_IF_ERROR(check_param(ctx, 2, zp.c_str(), has_axis, zp_types));
    if (zp_like_x && ctx.input(2).dtype != ctx.input(0).dtype) {
      return unsupported(zp + " is " + dtype_name(ctx.input(2).dtype) + " but x is " +
                         dtype_name(ctx.input(0).dtype));
    }
  }
  auto axis = ctx.attr_int("axis", 1);
  if (!axis) return axis.status();
  out[0] = ctx.input(0);
  out[0].constant = false;
  out[0].dtype = y_dtype;
  const int64_t ax = *axis;
  return make_op([ax, f](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    return set_output(f(*in[0], *in[1], in.size() > 2 ? in[2] : nullptr, ax), y[0]);
  });
}

Result<std::unique_ptr<Op>> make_quantize_linear(const NodeContext& ctx,
                                                 std::vector<ValueInfo>& out) {
  const DType y_dtype = ctx.has_input(2) ? ctx.input(2).dtype : DType::kUInt8;
  return make_linear_qdq(ctx, out, {DType::kFloat32}, "y", kQ8, false, y_dtype, &quantize_linear);
}

// --- DequantizeLinear ------------------------------------------------------------------------

Result<Tensor> dequantize_linear(const Tensor& x, const Tensor& scale, const Tensor* zero_point,
                                 int64_t axis) {
  const std::vector<float> scales = float_values(scale);
  std::vector<int32_t> zps(scales.size(), 0);
  if (zero_point) {
    if (zero_point->size() != scales.size()) {
      return shape_mismatch("x_zero_point " + shape_string(zero_point->shape()) + " and x_scale " +
                            shape_string(scale.shape()) + " differ in size");
    }
    if (zero_point->dtype() != x.dtype()) {
      return unsupported(std::string("x_zero_point is ") + dtype_name(zero_point->dtype()) +
                         " but x is " + dtype_name(x.dtype()));
    }
    zps = int_values(*zero_point);
    if (x.dtype() == DType::kInt32 &&
        std::any_of(zps.begin(), zps.end(), [](int32_t z) { return z != 0; })) {
      return invalid_argument("an int32 x needs x_zero_point 0");
    }
  }
  auto split = axis_split(x.shape(), axis, scales.size(), "x_scale");
  if (!split) return split.status();
  auto y = new_tensor(DType::kFloat32, x.shape());
  if (!y) return y.status();
  float* dst = y->data<float>().data();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t> ||
                  std::is_same_v<T, int32_t>) {
      const T* src = x.data<T>().data();
      size_t i = 0;
      for (size_t o = 0; o < split->outer; ++o) {
        for (size_t c = 0; c < split->channels; ++c) {
          const float s = scales[c];
          const int32_t z = zps[c];
          for (size_t j = 0; j < split->inner; ++j, ++i) {
            // As onnxruntime: the difference in int32, converted to float, times the scale.
            dst[i] = static_cast<float>(static_cast<int32_t>(src[i]) - z) * s;
          }
        }
      }
    }
  });
  return y;
}

Result<std::unique_ptr<Op>> make_dequantize_linear(const NodeContext& ctx,
                                                   std::vector<ValueInfo>& out) {
  return make_linear_qdq(ctx, out, kQ8OrInt32, "x", kQ8OrInt32, true, DType::kFloat32,
                         &dequantize_linear);
}

// --- DynamicQuantizeLinear -----------------------------------------------------------------

Result<std::unique_ptr<Op>> make_dynamic_quantize_linear(const NodeContext& ctx,
                                                         std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 3));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  out[0] = ctx.input(0);
  out[0].constant = false;
  out[0].dtype = DType::kUInt8;
  if (out.size() > 1) out[1] = ValueInfo{out[1].name, DType::kFloat32, true, {}, false};
  if (out.size() > 2) out[2] = ValueInfo{out[2].name, DType::kUInt8, true, {}, false};
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    const auto v = x.data<float>();
    // As onnxruntime: the range widened to contain 0, scale = range / 255 (1 when the range
    // is empty), zero point = round_half_even(clamp(-min / scale, 0, 255)).
    float lo = 0.0f, hi = 0.0f;
    for (size_t i = 0; i < v.size(); ++i) {
      if (std::isnan(v[i])) {
        return not_finite("x holds NaN at element " + std::to_string(i));
      }
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
    }
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
      return not_finite("x holds an infinity; DynamicQuantizeLinear needs a finite range");
    }
    const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    const float zp_real = std::clamp(0.0f - lo / scale, 0.0f, 255.0f);
    const auto zp = static_cast<int32_t>(std::nearbyint(zp_real));
    const Tensor zp_tensor = Tensor::from<uint8_t>({}, {static_cast<uint8_t>(zp)});
    auto q = quantize_linear(x, Tensor::from<float>({}, {scale}), &zp_tensor, 1);
    if (!q) return q.status();
    y[0] = std::move(*q);
    if (y.size() > 1) y[1] = Tensor::from<float>({}, {scale});
    if (y.size() > 2) y[2] = zp_tensor;
    return Status::ok();
  });
}

}  // namespace

void register_quant_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "QuantizeLinear", {10, 13}, {10, 13}, &make_quantize_linear});
  r.push_back({"", "DequantizeLinear", {10, 13}, {10, 13}, &make_dequantize_linear});
  r.push_back({"", "DynamicQuantizeLinear", {11}, {11}, &make_dynamic_quantize_linear});
  r.push_back({"", "QLinearMatMul", {10}, {10}, &make_qlinear_matmul});
  r.push_back({"", "QLinearConv", {10}, {10}, &make_qlinear_conv});
  r.push_back({"", "MatMulInteger", {10}, {10}, &make_matmul_integer});
  r.push_back({"", "ConvInteger", {10}, {10}, &make_conv_integer});
  r.push_back({"com.microsoft", "QLinearAdd", {1}, {1}, &make_qlinear_add});
}

}  // namespace quantlab::ops
