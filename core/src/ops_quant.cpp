// Quantized operators: QuantizeLinear, DequantizeLinear (per tensor and per axis),
// DynamicQuantizeLinear, QLinearMatMul, QLinearConv, MatMulInteger, ConvInteger, and
// com.microsoft QLinearAdd. Layers whose int8 weights are known at load time are packed once
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
#include "ops_spatial.hpp"
#include "quantlab/conv.hpp"
#include "quantlab/gemm.hpp"

namespace quantlab::ops {
namespace {

constexpr std::initializer_list<DType> kQ8 = {DType::kUInt8, DType::kInt8};

int32_t q_min(DType t) { return t == DType::kUInt8 ? 0 : -128; }
int32_t q_max(DType t) { return t == DType::kUInt8 ? 255 : 127; }

/// Load-time check of a scale / zero-point input: present, of the right type, a scalar (or,
/// when per_channel_ok, also a 1-D tensor).
Status check_param(const NodeContext& ctx, size_t i, const char* what, bool per_channel_ok,
                   std::initializer_list<DType> types) {
  QL_RETURN_IF_ERROR(ctx.require_input(i, what));
  QL_RETURN_IF_ERROR(ctx.check_dtype(i, types));
  const ValueInfo& v = ctx.input(i);
  if (!v.rank_known) return Status::ok();
  if (per_channel_ok ? v.dims.size() > 1
                     : !(v.dims.size() <= 1 && (!all_known(v.dims) || dims_product(v.dims) == 1))) {
    return shape_mismatch(std::string(what) + " '" + v.name + "' must be " +
                          (per_channel_ok ? "a scalar or 1-D" : "a scalar") + ", got " +
                          dims_string(v.dims));
  }
  return Status::ok();
}

Status check_scale_values(std::span<const float> s, const char* what) {
  for (float v : s) {
    if (!std::isfinite(v) || v <= 0.0f) {
      return invalid_argument(std::string(what) + " must be finite and positive, got " +
                              std::to_string(v));
    }
  }
  return Status::ok();
}

/// A 2-D slice [rows, cols] starting at element `offset` of t, as its own tensor.
Result<Tensor> slice2d(const Tensor& t, size_t offset, int64_t rows, int64_t cols) {
  auto s = new_tensor(t.dtype(), {rows, cols});
  if (!s) return s.status();
  const size_t elem = dtype_size(t.dtype());
  if (s->bytes()) {
    std::memcpy(s->raw(), static_cast<const std::byte*>(t.raw()) + offset * elem, s->bytes());
  }
  return s;
}

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

Result<std::unique_ptr<Op>> make_quantize_linear(const NodeContext& ctx,
                                                 std::vector<ValueInfo>& out) {
  const bool has_axis = ctx.version() >= 13;
  QL_RETURN_IF_ERROR(has_axis ? ctx.check_attributes({"axis"}) : ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 3, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, "y_scale", has_axis, {DType::kFloat32}));
  if (ctx.has_input(2)) QL_RETURN_IF_ERROR(check_param(ctx, 2, "y_zero_point", has_axis, kQ8));
  auto axis = ctx.attr_int("axis", 1);
  if (!axis) return axis.status();
  out[0] = ctx.input(0);
  out[0].constant = false;
  out[0].dtype = ctx.has_input(2) ? ctx.input(2).dtype : DType::kUInt8;
  const int64_t ax = *axis;
  return make_op([ax](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = quantize_linear(*in[0], *in[1], in.size() > 2 ? in[2] : nullptr, ax);
    if (!r) return r.status();
    y[0] = std::move(*r);
    return Status::ok();
  });
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
  const bool has_axis = ctx.version() >= 13;
  QL_RETURN_IF_ERROR(has_axis ? ctx.check_attributes({"axis"}) : ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 3, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kUInt8, DType::kInt8, DType::kInt32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, "x_scale", has_axis, {DType::kFloat32}));
  if (ctx.has_input(2)) {
    QL_RETURN_IF_ERROR(check_param(ctx, 2, "x_zero_point", has_axis,
                                   {DType::kUInt8, DType::kInt8, DType::kInt32}));
    if (ctx.input(2).dtype != ctx.input(0).dtype) {
      return unsupported(std::string("x_zero_point is ") + dtype_name(ctx.input(2).dtype) +
                         " but x is " + dtype_name(ctx.input(0).dtype));
    }
  }
  auto axis = ctx.attr_int("axis", 1);
  if (!axis) return axis.status();
  out[0] = ctx.input(0);
  out[0].constant = false;
  out[0].dtype = DType::kFloat32;
  const int64_t ax = *axis;
  return make_op([ax](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = dequantize_linear(*in[0], *in[1], in.size() > 2 ? in[2] : nullptr, ax);
    if (!r) return r.status();
    y[0] = std::move(*r);
    return Status::ok();
  });
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

// --- QLinearMatMul, MatMulInteger ------------------------------------------------------------

/// Numpy matmul shape of 2+-D operands with broadcast batch dims (1-D operands are refused
/// for the quantized operators' simplicity: ONNX exporters never emit them).
struct QMatMulShape {
  Dims batch;
  int64_t m = 0, k = 0, n = 0;
  Dims y;
};

Result<QMatMulShape> qmatmul_shape(const Dims& a, const Dims& b) {
  if (a.size() < 2 || b.size() < 2) {
    return unsupported("quantized MatMul operands must have rank >= 2, got " + dims_string(a) +
                       " and " + dims_string(b));
  }
  QMatMulShape s;
  s.m = a[a.size() - 2];
  s.k = a.back();
  s.n = b.back();
  auto k = same_dim(s.k, b[b.size() - 2],
                    "inner dimensions of " + dims_string(a) + " and " + dims_string(b));
  if (!k) return k.status();
  s.k = *k;
  auto batch = broadcast_dims(Dims(a.begin(), a.end() - 2), Dims(b.begin(), b.end() - 2));
  if (!batch) return batch.status();
  s.batch = *batch;
  s.y = s.batch;
  s.y.push_back(s.m);
  s.y.push_back(s.n);
  return s;
}

/// Runs f(a_slice, b_slice) -> [M, N] over the broadcast batch and stacks the results.
template <class F>
Result<Tensor> batched_matmul(const Tensor& A, const Tensor& B, DType y_type, F f) {
  auto s = qmatmul_shape(A.shape(), B.shape());
  if (!s) return s.status();
  auto y = new_tensor(y_type, s->y);
  if (!y) return y.status();
  const Dims ab(A.shape().begin(), A.shape().end() - 2);
  const Dims bb(B.shape().begin(), B.shape().end() - 2);
  Dims a_full(s->batch.size(), 1), b_full(s->batch.size(), 1);
  for (size_t i = 0; i < ab.size(); ++i) a_full[s->batch.size() - ab.size() + i] = ab[i];
  for (size_t i = 0; i < bb.size(); ++i) b_full[s->batch.size() - bb.size() + i] = bb[i];
  const Dims as = strides_of(a_full), bs = strides_of(b_full);
  const auto mk = static_cast<size_t>(s->m * s->k), kn = static_cast<size_t>(s->k * s->n);
  const size_t out_bytes = static_cast<size_t>(s->m * s->n) * dtype_size(y_type);
  const int64_t batches = dims_product(s->batch);
  Dims idx(s->batch.size(), 0);
  for (int64_t t = 0; t < batches; ++t) {
    int64_t ao = 0, bo = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      if (a_full[i] != 1) ao += idx[i] * as[i];
      if (b_full[i] != 1) bo += idx[i] * bs[i];
    }
    auto a2 = slice2d(A, static_cast<size_t>(ao) * mk, s->m, s->k);
    if (!a2) return a2.status();
    auto b2 = slice2d(B, static_cast<size_t>(bo) * kn, s->k, s->n);
    if (!b2) return b2.status();
    auto r = f(*a2, *b2);
    if (!r) return r.status();
    if (out_bytes) {
      std::memcpy(static_cast<std::byte*>(y->raw()) + static_cast<size_t>(t) * out_bytes, r->raw(),
                  out_bytes);
    }
    for (size_t i = idx.size(); i-- > 0;) {
      if (++idx[i] < s->batch[i]) break;
      idx[i] = 0;
    }
  }
  return y;
}

/// W [N, K] int8 from a constant b [K, N] (batch dims of size 1 allowed), when b is int8
/// with all zero points 0: the layout PackedQGemm wants.
std::optional<std::vector<int8_t>> packable_weights(const Tensor* b, const Tensor* b_zp) {
  if (!b || b->dtype() != DType::kInt8 || b->rank() < 2) return std::nullopt;
  const Dims& s = b->shape();
  if (dims_product(Dims(s.begin(), s.end() - 2)) != 1) return std::nullopt;
  if (b_zp) {
    for (int32_t z : int_values(*b_zp)) {
      if (z != 0) return std::nullopt;
    }
  }
  const auto k = static_cast<size_t>(s[s.size() - 2]), n = static_cast<size_t>(s.back());
  const auto src = b->data<int8_t>();
  std::vector<int8_t> w(n * k);
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < n; ++j) w[j * k + i] = src[i * n + j];
  }
  return w;
}

/// Runs a packed GEMM over every row of A (any batch dims; B has none).
Result<Tensor> run_packed_rows(const PackedQGemm& g, const Tensor& A, DType x_type, DType y_type) {
  if (A.rank() < 2) return unsupported("A must have rank >= 2, got " + shape_string(A.shape()));
  if (A.dtype() != x_type) {
    return unsupported(std::string("A is ") + dtype_name(A.dtype()) +
                       ", the layer was packed for " + dtype_name(x_type));
  }
  if (A.shape().back() != g.k()) {
    return shape_mismatch("A " + shape_string(A.shape()) + " has inner dimension " +
                          std::to_string(A.shape().back()) + "; B has " + std::to_string(g.k()) +
                          " rows");
  }
  Dims ys = A.shape();
  ys.back() = g.n();
  auto y = new_tensor(y_type, ys);
  if (!y) return y.status();
  const int64_t rows = g.k() == 0 ? 0 : static_cast<int64_t>(A.size()) / g.k();
  QL_RETURN_IF_ERROR(g.run(A.raw(), rows, y->raw()));
  return y;
}

Result<std::unique_ptr<Op>> make_qlinear_matmul(const NodeContext& ctx,
                                                std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(8, 8, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(3, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, "a_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 2, "a_zero_point", false, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 4, "b_scale", true, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 5, "b_zero_point", true, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 6, "y_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 7, "y_zero_point", false, kQ8));
  if (ctx.input(2).dtype != ctx.input(0).dtype || ctx.input(5).dtype != ctx.input(3).dtype) {
    return unsupported("each zero point must have its operand's element type");
  }
  const DType y_type = ctx.input(7).dtype;
  out[0].dtype = y_type;
  out[0].rank_known = ctx.input(0).rank_known && ctx.input(3).rank_known;
  if (out[0].rank_known) {
    auto s = qmatmul_shape(ctx.input(0).dims, ctx.input(3).dims);
    if (!s) return s.status();
    out[0].dims = s->y;
  }
  // Constant int8 weights with zero point 0 and constant scales: pack once.
  std::shared_ptr<const PackedQGemm> packed;
  bool params_fixed = true;
  for (size_t i : {1, 2, 4, 5, 6, 7}) params_fixed = params_fixed && ctx.constant(i);
  if (params_fixed) {
    if (auto w = packable_weights(ctx.constant(3), ctx.constant(5))) {
      const Tensor& b = *ctx.constant(3);
      const int64_t k = b.shape()[b.shape().size() - 2], n = b.shape().back();
      const std::vector<float> w_scales = float_values(*ctx.constant(4));
      auto a_scale = scalar_float(*ctx.constant(1), "a_scale");
      auto a_zp = scalar_int(*ctx.constant(2), "a_zero_point");
      auto y_scale = scalar_float(*ctx.constant(6), "y_scale");
      auto y_zp = scalar_int(*ctx.constant(7), "y_zero_point");
      for (const Status* s :
           {&a_scale.status(), &a_zp.status(), &y_scale.status(), &y_zp.status()}) {
        if (!s->is_ok()) return *s;
      }
      if (n > 0 && k > 0 && (w_scales.size() == 1 || w_scales.size() == static_cast<size_t>(n))) {
        QOutput q{y_type, *y_scale, *y_zp, ctx.options().requant_mode, FusedActivation::kNone};
        auto p = PackedQGemm::pack(*w, n, k, w_scales, {}, ctx.input(0).dtype, *a_scale, *a_zp, q);
        if (!p) return p.status();
        packed = std::make_shared<const PackedQGemm>(std::move(*p));
      }
    }
  }
  const DType x_type = ctx.input(0).dtype;
  return make_op(
      [packed, x_type, y_type](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        if (packed) {
          auto r = run_packed_rows(*packed, *in[0], x_type, y_type);
          if (!r) return r.status();
          y[0] = std::move(*r);
          return Status::ok();
        }
        auto a_scale = scalar_float(*in[1], "a_scale");
        if (!a_scale) return a_scale.status();
        auto a_zp = scalar_int(*in[2], "a_zero_point");
        if (!a_zp) return a_zp.status();
        auto y_scale = scalar_float(*in[6], "y_scale");
        if (!y_scale) return y_scale.status();
        auto y_zp = scalar_int(*in[7], "y_zero_point");
        if (!y_zp) return y_zp.status();
        const std::vector<float> b_scale = float_values(*in[4]);
        const std::vector<int32_t> b_zp = int_values(*in[5]);
        if (in[7]->dtype() != y_type) return unsupported("y_zero_point changed type");
        auto r = batched_matmul(*in[0], *in[3], y_type, [&](const Tensor& a, const Tensor& b) {
          return qlinear_matmul(a, *a_scale, *a_zp, b, b_scale, b_zp, *y_scale, *y_zp, y_type);
        });
        if (!r) return r.status();
        y[0] = std::move(*r);
        return Status::ok();
      });
}

Result<std::unique_ptr<Op>> make_matmul_integer(const NodeContext& ctx,
                                                std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 4, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, kQ8));
  if (ctx.has_input(2)) QL_RETURN_IF_ERROR(check_param(ctx, 2, "a_zero_point", true, kQ8));
  if (ctx.has_input(3)) QL_RETURN_IF_ERROR(check_param(ctx, 3, "b_zero_point", true, kQ8));
  out[0].dtype = DType::kInt32;
  out[0].rank_known = ctx.input(0).rank_known && ctx.input(1).rank_known;
  if (out[0].rank_known) {
    auto s = qmatmul_shape(ctx.input(0).dims, ctx.input(1).dims);
    if (!s) return s.status();
    out[0].dims = s->y;
  }
  std::shared_ptr<const PackedQGemm> packed;
  const bool a_zp_fixed = !ctx.has_input(2) || (ctx.constant(2) && ctx.constant(2)->size() == 1);
  const bool b_zp_fixed = !ctx.has_input(3) || ctx.constant(3);
  if (a_zp_fixed && b_zp_fixed) {
    if (auto w = packable_weights(ctx.constant(1), ctx.has_input(3) ? ctx.constant(3) : nullptr)) {
      const Tensor& b = *ctx.constant(1);
      const int64_t k = b.shape()[b.shape().size() - 2], n = b.shape().back();
      const int32_t a_zp = ctx.has_input(2) ? int_values(*ctx.constant(2))[0] : 0;
      if (n > 0 && k > 0) {
        const float one = 1.0f;
        QOutput q{DType::kInt32, 1.0f, 0, RequantMode::kFp32, FusedActivation::kNone};
        auto p = PackedQGemm::pack(*w, n, k, {&one, 1}, {}, ctx.input(0).dtype, 1.0f, a_zp, q);
        if (!p) return p.status();
        packed = std::make_shared<const PackedQGemm>(std::move(*p));
      }
    }
  }
  const DType x_type = ctx.input(0).dtype;
  return make_op([packed, x_type](std::span<const Tensor* const> in,
                                  std::span<Tensor> y) -> Status {
    if (packed) {
      auto r = run_packed_rows(*packed, *in[0], x_type, DType::kInt32);
      if (!r) return r.status();
      y[0] = std::move(*r);
      return Status::ok();
    }
    const Tensor* azp = in.size() > 2 ? in[2] : nullptr;
    const Tensor* bzp = in.size() > 3 ? in[3] : nullptr;
    const std::vector<int32_t> a_zp = azp ? int_values(*azp) : std::vector<int32_t>{0};
    const std::vector<int32_t> b_zp = bzp ? int_values(*bzp) : std::vector<int32_t>{0};
    if (azp && azp->dtype() != in[0]->dtype())
      return unsupported("a_zero_point must have A's type");
    if (bzp && bzp->dtype() != in[1]->dtype())
      return unsupported("b_zero_point must have B's type");
    auto r = batched_matmul(*in[0], *in[1], DType::kInt32, [&](const Tensor& a, const Tensor& b) {
      return matmul_integer(a, a_zp, b, b_zp);
    });
    if (!r) return r.status();
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- QLinearConv, ConvInteger ----------------------------------------------------------------

/// A 1-D convolution operand [N, C, L] seen as 2-D [N, C, 1, L].
Tensor as_4d(const Tensor& t) {
  if (t.rank() != 3) return t;
  Tensor r = t;
  QL_CHECK(r.reshape({t.shape()[0], t.shape()[1], 1, t.shape()[2]}).is_ok());
  return r;
}

Result<Tensor> back_to_rank(Tensor y, size_t rank) {
  if (rank == 4) return y;
  Dims s = y.shape();
  s.erase(s.begin() + 2);
  QL_RETURN_IF_ERROR(y.reshape(std::move(s)));
  return y;
}

Result<std::unique_ptr<Op>> make_qlinear_conv(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_arity(8, 9, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(3, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, "x_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 2, "x_zero_point", false, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 4, "w_scale", true, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 5, "w_zero_point", true, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 6, "y_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 7, "y_zero_point", false, kQ8));
  if (ctx.has_input(8)) QL_RETURN_IF_ERROR(ctx.check_dtype(8, {DType::kInt32}));
  if (ctx.input(2).dtype != ctx.input(0).dtype || ctx.input(5).dtype != ctx.input(3).dtype) {
    return unsupported("each zero point must have its operand's element type");
  }
  Dims y_dims;
  auto setup = read_conv_setup(ctx, ctx.input(0), ctx.input(3), y_dims);
  if (!setup) return setup.status();
  const DType y_type = ctx.input(7).dtype;
  out[0].dtype = y_type;
  out[0].dims = y_dims;
  std::shared_ptr<const PackedQConv2d> packed;
  bool fixed = true;
  for (size_t i : {1, 2, 3, 4, 5, 6, 7}) fixed = fixed && ctx.constant(i);
  if (ctx.has_input(8)) fixed = fixed && ctx.constant(8);
  const auto geometry = fixed_geometry(*setup);
  if (fixed && geometry && ctx.constant(3)->dtype() == DType::kInt8) {
    const std::vector<int32_t> w_zp = int_values(*ctx.constant(5));
    const bool zero = std::all_of(w_zp.begin(), w_zp.end(), [](int32_t z) { return z == 0; });
    const Tensor& w = *ctx.constant(3);
    const std::vector<float> w_scales = float_values(*ctx.constant(4));
    auto x_scale = scalar_float(*ctx.constant(1), "x_scale");
    auto x_zp = scalar_int(*ctx.constant(2), "x_zero_point");
    auto y_scale = scalar_float(*ctx.constant(6), "y_scale");
    auto y_zp = scalar_int(*ctx.constant(7), "y_zero_point");
    for (const Status* s : {&x_scale.status(), &x_zp.status(), &y_scale.status(), &y_zp.status()}) {
      if (!s->is_ok()) return *s;
    }
    if (zero) {
      QOutput q{y_type, *y_scale, *y_zp, ctx.options().requant_mode, FusedActivation::kNone};
      const Tensor* b = ctx.has_input(8) ? ctx.constant(8) : nullptr;
      auto p = PackedQConv2d::pack(w.data<int8_t>(), w.shape()[0], w.shape()[1] * setup->groups,
                                   *geometry, w_scales,
                                   b ? b->data<int32_t>() : std::span<const int32_t>(),
                                   ctx.input(0).dtype, *x_scale, *x_zp, q);
      if (!p) return p.status();
      packed = std::make_shared<const PackedQConv2d>(std::move(*p));
    }
  }
  const ConvSetup s = *setup;
  return make_op(
      [s, packed, y_type](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        const Tensor& x = *in[0];
        const Tensor& w = *in[3];
        int64_t h = 0, wd = 0;
        Dims y_shape;
        auto g = run_geometry(s, x, w, h, wd, y_shape);
        if (!g) return g.status();
        if (packed) {
          if (x.dtype() != packed->x_dtype()) {
            return unsupported(std::string("x is ") + dtype_name(x.dtype()) +
                               ", the layer was packed for " + dtype_name(packed->x_dtype()));
          }
          auto r = new_tensor(y_type, y_shape);
          if (!r) return r.status();
          QL_RETURN_IF_ERROR(packed->run(x.raw(), x.shape()[0], h, wd, r->raw()));
          y[0] = std::move(*r);
          return Status::ok();
        }
        auto x_scale = scalar_float(*in[1], "x_scale");
        if (!x_scale) return x_scale.status();
        auto x_zp = scalar_int(*in[2], "x_zero_point");
        if (!x_zp) return x_zp.status();
        auto y_scale = scalar_float(*in[6], "y_scale");
        if (!y_scale) return y_scale.status();
        auto y_zp = scalar_int(*in[7], "y_zero_point");
        if (!y_zp) return y_zp.status();
        const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
        auto r = qlinear_conv(as_4d(x), *x_scale, *x_zp, as_4d(w), float_values(*in[4]),
                              int_values(*in[5]), *y_scale, *y_zp, y_type, bias, *g);
        if (!r) return r.status();
        auto shaped = back_to_rank(std::move(*r), static_cast<size_t>(x.rank()));
        if (!shaped) return shaped.status();
        y[0] = std::move(*shaped);
        return Status::ok();
      });
}

Result<std::unique_ptr<Op>> make_conv_integer(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 4, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, kQ8));
  if (ctx.has_input(2)) QL_RETURN_IF_ERROR(check_param(ctx, 2, "x_zero_point", false, kQ8));
  if (ctx.has_input(3)) QL_RETURN_IF_ERROR(check_param(ctx, 3, "w_zero_point", true, kQ8));
  Dims y_dims;
  auto setup = read_conv_setup(ctx, ctx.input(0), ctx.input(1), y_dims);
  if (!setup) return setup.status();
  out[0].dtype = DType::kInt32;
  out[0].dims = y_dims;
  std::shared_ptr<const PackedQConv2d> packed;
  const auto geometry = fixed_geometry(*setup);
  const Tensor* w_const = ctx.constant(1);
  const bool zps_fixed =
      (!ctx.has_input(2) || ctx.constant(2)) && (!ctx.has_input(3) || ctx.constant(3));
  if (w_const && zps_fixed && geometry && w_const->dtype() == DType::kInt8) {
    const std::vector<int32_t> w_zp =
        ctx.has_input(3) ? int_values(*ctx.constant(3)) : std::vector<int32_t>{0};
    if (std::all_of(w_zp.begin(), w_zp.end(), [](int32_t z) { return z == 0; })) {
      const int32_t x_zp = ctx.has_input(2) ? int_values(*ctx.constant(2))[0] : 0;
      const float one = 1.0f;
      QOutput q{DType::kInt32, 1.0f, 0, RequantMode::kFp32, FusedActivation::kNone};
      auto p = PackedQConv2d::pack(w_const->data<int8_t>(), w_const->shape()[0],
                                   w_const->shape()[1] * setup->groups, *geometry, {&one, 1}, {},
                                   ctx.input(0).dtype, 1.0f, x_zp, q);
      if (!p) return p.status();
      packed = std::make_shared<const PackedQConv2d>(std::move(*p));
    }
  }
  const ConvSetup s = *setup;
  return make_op([s, packed](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    const Tensor& w = *in[1];
    int64_t h = 0, wd = 0;
    Dims y_shape;
    auto g = run_geometry(s, x, w, h, wd, y_shape);
    if (!g) return g.status();
    if (packed) {
      if (x.dtype() != packed->x_dtype()) {
        return unsupported(std::string("x is ") + dtype_name(x.dtype()) +
                           ", the layer was packed for " + dtype_name(packed->x_dtype()));
      }
      auto r = new_tensor(DType::kInt32, y_shape);
      if (!r) return r.status();
      QL_RETURN_IF_ERROR(packed->run(x.raw(), x.shape()[0], h, wd, r->raw()));
      y[0] = std::move(*r);
      return Status::ok();
    }
    const Tensor* xzp = in.size() > 2 ? in[2] : nullptr;
    const Tensor* wzp = in.size() > 3 ? in[3] : nullptr;
    int32_t x_zp = 0;
    if (xzp) {
      auto v = scalar_int(*xzp, "x_zero_point");
      if (!v) return v.status();
      x_zp = *v;
    }
    const std::vector<int32_t> w_zp = wzp ? int_values(*wzp) : std::vector<int32_t>{0};
    auto r = conv_integer(as_4d(x), x_zp, as_4d(w), w_zp, *g);
    if (!r) return r.status();
    auto shaped = back_to_rank(std::move(*r), static_cast<size_t>(x.rank()));
    if (!shaped) return shaped.status();
    y[0] = std::move(*shaped);
    return Status::ok();
  });
}

// --- QLinearAdd (com.microsoft) --------------------------------------------------------------

/// onnxruntime's x86 (SSE2) definition, the one its QDQ/QOperator quantizer is checked on:
/// with r_A = S_A / S_C and r_B = S_B / S_C in float32 and
/// f = Z_C - (r_A Z_A + r_B Z_B), C = saturate(round_half_even((f + r_A A) + r_B B)).
/// Where one input repeats over a run of the broadcast output (a scalar, or a per-channel
/// value), onnxruntime folds it into f first: C = round((f + r_s s) + r_v v).
template <class T>
Result<Tensor> qlinear_add(const Tensor& a, float sa, int32_t za, const Tensor& b, float sb,
                           int32_t zb, float sc, int32_t zc) {
  const float ra = sa / sc, rb = sb / sc;
  const float fixed =
      static_cast<float>(zc) - (ra * static_cast<float>(za) + rb * static_cast<float>(zb));
  const float lo = static_cast<float>(q_min(dtype_of<T>()));
  const float hi = static_cast<float>(q_max(dtype_of<T>()));
  auto dims = broadcast_dims(a.shape(), b.shape());
  if (!dims) return dims.status();
  auto y = new_tensor(dtype_of<T>(), *dims);
  if (!y) return y.status();
  const T* pa = a.data<T>().data();
  const T* pb = b.data<T>().data();
  T* py = y->template data<T>().data();
  auto out = [&](float v) {
    v = std::min(std::max(v, lo), hi);
    return static_cast<T>(static_cast<int32_t>(std::nearbyint(v)));
  };
  for_each_broadcast_run(
      a.shape(), b.shape(), *dims, [&](size_t ao, int as, size_t bo, int bs, size_t yo, size_t n) {
        const T* x = pa + ao;
        const T* z = pb + bo;
        T* o = py + yo;
        if (as && bs) {
          for (size_t i = 0; i < n; ++i) {
            o[i] = out((fixed + static_cast<float>(x[i]) * ra) + static_cast<float>(z[i]) * rb);
          }
        } else if (as) {
          const float f = fixed + static_cast<float>(z[0]) * rb;
          for (size_t i = 0; i < n; ++i) o[i] = out(f + static_cast<float>(x[i]) * ra);
        } else {
          const float f = fixed + static_cast<float>(x[0]) * ra;
          for (size_t i = 0; i < n; ++i) {
            o[i] = out(f + static_cast<float>(z[bs ? i : 0]) * rb);
          }
        }
      });
  return y;
}

Result<std::unique_ptr<Op>> make_qlinear_add(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(7, 8, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(3, {ctx.input(0).dtype}));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, "A_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 4, "B_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 6, "C_scale", false, {DType::kFloat32}));
  for (size_t i : {2, 5, 7}) {
    if (ctx.has_input(i))
      QL_RETURN_IF_ERROR(check_param(ctx, i, "zero point", false, {ctx.input(0).dtype}));
  }
  out[0].dtype = ctx.input(0).dtype;
  out[0].rank_known = ctx.input(0).rank_known && ctx.input(3).rank_known;
  if (out[0].rank_known) {
    auto d = broadcast_dims(ctx.input(0).dims, ctx.input(3).dims);
    if (!d) return d.status();
    out[0].dims = std::move(*d);
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    float s[3];
    int32_t z[3] = {0, 0, 0};
    const size_t scale_at[3] = {1, 4, 6}, zp_at[3] = {2, 5, 7};
    for (int i = 0; i < 3; ++i) {
      auto v = scalar_float(*in[scale_at[i]], "scale");
      if (!v) return v.status();
      QL_RETURN_IF_ERROR(check_scale_values({&*v, 1}, "scale"));
      s[i] = *v;
      if (zp_at[i] < in.size() && in[zp_at[i]]) {
        auto q = scalar_int(*in[zp_at[i]], "zero point");
        if (!q) return q.status();
        z[i] = *q;
      }
    }
    const Tensor& a = *in[0];
    const Tensor& b = *in[3];
    auto r = a.dtype() == DType::kUInt8
                 ? qlinear_add<uint8_t>(a, s[0], z[0], b, s[1], z[1], s[2], z[2])
                 : qlinear_add<int8_t>(a, s[0], z[0], b, s[1], z[1], s[2], z[2]);
    if (!r) return r.status();
    y[0] = std::move(*r);
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
