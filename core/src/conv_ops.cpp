// The ONNX QLinearConv and ConvInteger operators on the packed quantized convolution, with
// scalar references for non-zero weight zero points.
#include "quantlab/conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "conv_internal.hpp"
#include "layer_common.hpp"

namespace quantlab {

using namespace conv_internal;
using namespace layer_common;

// --- ONNX operators ------------------------------------------------------------------------

namespace {

Status check_conv_operands(const Tensor& x, const Tensor& w, const Conv2dGeometry& g,
                           const char* what) {
  if (x.rank() != 4 || w.rank() != 4) {
    return invalid_argument(std::string(what) + ": x and w must be 4-D (NCHW, OIHW), got " +
                            shape_string(x.shape()) + " and " + shape_string(w.shape()));
  }
  for (const Tensor* t : {&x, &w}) {
    if (t->dtype() != DType::kUInt8 && t->dtype() != DType::kInt8) {
      return invalid_argument(std::string(what) + ": x and w must be uint8 or int8, got " +
                              dtype_name(t->dtype()));
    }
  }
  if (w.dim(2) != g.kernel_h || w.dim(3) != g.kernel_w) {
    return shape_mismatch(std::string(what) + ": w " + shape_string(w.shape()) +
                          " does not match the kernel size " + str(g.kernel_h) + " x " +
                          str(g.kernel_w));
  }
  if (x.dim(1) != w.dim(1) * g.groups) {
    return shape_mismatch(std::string(what) + ": x has " + str(x.dim(1)) +
                          " channels, w expects " + str(w.dim(1)) + " x " + str(g.groups) +
                          " groups");
  }
  return Status::ok();
}

/// Direct convolution of (x - x_zp) with (w - w_zp[o]) plus bias: int32 accumulators.
std::vector<int32_t> reference_conv(const Tensor& x, int32_t x_zp, const Tensor& w,
                                    std::span<const int32_t> w_zp, const Tensor* bias,
                                    const Conv2dGeometry& g, int64_t oh, int64_t ow) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = w.dim(0), cig = w.dim(1), cog = O / g.groups;
  std::vector<int32_t> acc(static_cast<size_t>(N * O * oh * ow));
  size_t i = 0;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t o = 0; o < O; ++o) {
      const int64_t grp = o / cog;
      const int32_t wz = w_zp[w_zp.size() == 1 ? 0 : static_cast<size_t>(o)];
      const int32_t b = bias != nullptr ? bias->data<int32_t>()[static_cast<size_t>(o)] : 0;
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t xo = 0; xo < ow; ++xo, ++i) {
          uint32_t a = static_cast<uint32_t>(b);
          for (int64_t ci = 0; ci < cig; ++ci) {
            const int64_t c = grp * cig + ci;
            for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
              const int64_t iy = y * g.stride_h - g.pad_top + kh * g.dilation_h;
              if (iy < 0 || iy >= H) continue;
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t ix = xo * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (ix < 0 || ix >= W) continue;
                const int32_t xv = q8_at(x, static_cast<size_t>(((n * C + c) * H + iy) * W + ix));
                const int32_t wv =
                    q8_at(w, static_cast<size_t>(((o * cig + ci) * g.kernel_h + kh) * g.kernel_w + kw));
                a += static_cast<uint32_t>((xv - x_zp) * (wv - wz));
              }
            }
          }
          acc[i] = static_cast<int32_t>(a);
        }
      }
    }
  }
  return acc;
}

/// The geometry, x and w, and their zero points (w: one, or one per output channel).
Status check_conv_inputs(const char* what, const Tensor& x, int32_t x_zero_point, const Tensor& w,
                         std::span<const int32_t> w_zero_point, const Conv2dGeometry& g) {
  QL_RETURN_IF_ERROR(validate_geometry(g));
  QL_RETURN_IF_ERROR(check_conv_operands(x, w, g, what));
  if (w_zero_point.size() != 1 && w_zero_point.size() != static_cast<size_t>(w.dim(0))) {
    return shape_mismatch(std::string(what) + ": w_zero_point must have 1 or C_out values");
  }
  QL_RETURN_IF_ERROR(check_zero_points({&x_zero_point, 1}, x.dtype(), (std::string(what) + ": x").c_str()));
  return check_zero_points(w_zero_point, w.dtype(), (std::string(what) + ": w").c_str());
}

}  // namespace

Result<Tensor> qlinear_conv(const Tensor& x, float x_scale, int32_t x_zero_point,
                            const Tensor& w, std::span<const float> w_scale,
                            std::span<const int32_t> w_zero_point, float y_scale,
                            int32_t y_zero_point, DType y_dtype, const Tensor* bias,
                            const Conv2dGeometry& g) {
  QL_RETURN_IF_ERROR(check_conv_inputs("QLinearConv", x, x_zero_point, w, w_zero_point, g));
  const int64_t O = w.dim(0);
  if (bias != nullptr && (bias->dtype() != DType::kInt32 || bias->size() != static_cast<size_t>(O))) {
    return shape_mismatch("QLinearConv: bias must be int32 with C_out = " + str(O) + " values");
  }
  QOutput out;
  out.dtype = y_dtype;
  out.scale = y_scale;
  out.zero_point = y_zero_point;
  out.mode = RequantMode::kFp32;
  auto range = output_range(out);
  if (!range) return range.status();
  auto mult = channel_multipliers(w_scale, O, x_scale, out);
  if (!mult) return mult.status();
  if (O % g.groups != 0) return invalid_argument("QLinearConv: C_out must be divisible by groups");
  auto size = conv2d_output_size(x.dim(2), x.dim(3), g);
  if (!size) return size.status();
  auto y = Tensor::create(y_dtype, {x.dim(0), O, size->first, size->second});
  if (!y) return y.status();
  const bool fast = w.dtype() == DType::kInt8 &&
                    std::all_of(w_zero_point.begin(), w_zero_point.end(),
                                [](int32_t z) { return z == 0; });
  if (fast) {
    std::span<const int32_t> b;
    if (bias != nullptr) b = bias->data<int32_t>();
    auto packed = PackedQConv2d::pack(w.data<int8_t>(), O, x.dim(1), g, w_scale, b, x.dtype(),
                                      x_scale, x_zero_point, out);
    if (!packed) return packed.status();
    QL_RETURN_IF_ERROR(packed->run(x.raw(), x.dim(0), x.dim(2), x.dim(3), y->raw()));
    return y;
  }
  const auto acc = reference_conv(x, x_zero_point, w, w_zero_point, bias, g, size->first,
                                  size->second);
  const size_t per_channel = static_cast<size_t>(size->first * size->second);
  for (size_t i = 0; i < acc.size(); ++i) {
    const size_t o = (i / per_channel) % static_cast<size_t>(O);
    const int32_t q = requantize_fp32(acc[i], mult->fp32[o], y_zero_point,
                                      static_cast<int32_t>(range->q_min),
                                      static_cast<int32_t>(range->q_max));
    if (y_dtype == DType::kInt8) {
      y->data<int8_t>()[i] = static_cast<int8_t>(q);
    } else {
      y->data<uint8_t>()[i] = static_cast<uint8_t>(q);
    }
  }
  return y;
}

Result<Tensor> conv_integer(const Tensor& x, int32_t x_zero_point, const Tensor& w,
                            std::span<const int32_t> w_zero_point, const Conv2dGeometry& g) {
  QL_RETURN_IF_ERROR(check_conv_inputs("ConvInteger", x, x_zero_point, w, w_zero_point, g));
  const int64_t O = w.dim(0);
  if (O % g.groups != 0) return invalid_argument("ConvInteger: C_out must be divisible by groups");
  auto size = conv2d_output_size(x.dim(2), x.dim(3), g);
  if (!size) return size.status();
  auto y = Tensor::create(DType::kInt32, {x.dim(0), O, size->first, size->second});
  if (!y) return y.status();
  const bool fast = w.dtype() == DType::kInt8 &&
                    std::all_of(w_zero_point.begin(), w_zero_point.end(),
                                [](int32_t z) { return z == 0; });
  if (fast) {
    QOutput out;
    out.dtype = DType::kInt32;
    const float one = 1.0f;
    auto packed = PackedQConv2d::pack(w.data<int8_t>(), O, x.dim(1), g, {&one, 1}, {},
                                      x.dtype(), 1.0f, x_zero_point, out);
    if (!packed) return packed.status();
    QL_RETURN_IF_ERROR(packed->run(x.raw(), x.dim(0), x.dim(2), x.dim(3), y->raw()));
    return y;
  }
  const auto acc = reference_conv(x, x_zero_point, w, w_zero_point, nullptr, g, size->first,
                                  size->second);
  std::copy(acc.begin(), acc.end(), y->data<int32_t>().begin());
  return y;
}

}  // namespace quantlab
