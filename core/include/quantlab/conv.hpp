// Quantized (int8) and fp32 2-D convolution with ONNX Conv semantics (NCHW activations,
// OIHW weights), any kernel size, stride, padding, dilation and group count.
//
// Internally a convolution is a GEMM with the weights as the row operand (output channels)
// and the input pixels, gathered per block of output pixels (im2col on the fly), as the
// column operand, so every tile lands directly in NCHW output rows. Depthwise convolution
// (groups == C_in == C_out, one filter per channel) has its own kernel family.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quantlab/gemm.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {

/// 2-D convolution geometry (ONNX Conv attributes; pads = [top, left, bottom, right]).
struct Conv2dGeometry {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dilation_h = 1, dilation_w = 1, groups = 1;
};

/// Output spatial size (oh, ow) = ((h + pads - dilation (kernel - 1) - 1) / stride + 1, ...).
/// Errors: kernel, stride, dilation or groups < 1, negative pads, h or w < 1, an output
/// size < 1.
Result<std::pair<int64_t, int64_t>> conv2d_output_size(int64_t h, int64_t w,
                                                       const Conv2dGeometry& g);

/// Names of the convolution variants compiled into this build (same names as
/// gemm_variants()).
std::vector<std::string> conv_variants();

/// Symmetric int8 convolution weights packed once: w OIHW [C_out, C_in / groups, KH, KW],
/// scales per tensor (1) or per output channel (C_out), bias int32 [C_out] (scale S_W S_X)
/// or empty; x uint8 or int8 NCHW with (S_X, Z_X). Padding reads Z_X (real 0), so
/// -Z_X * sum(w) folds into the bias exactly. Depthwise (groups == C_in == C_out) uses the
/// depthwise kernels.
class PackedQConv2d {
 public:
  PackedQConv2d() = default;

  /// Errors: invalid geometry, c_in or c_out not divisible by groups, sizes that do not
  /// agree, x_dtype not uint8 / int8, Z_X outside x's grid, invalid scales or output, an
  /// unknown variant.
  static Result<PackedQConv2d> pack(std::span<const int8_t> w, int64_t c_out, int64_t c_in,
                                    const Conv2dGeometry& g, std::span<const float> w_scales,
                                    std::span<const int32_t> bias, DType x_dtype,
                                    float x_scale, int32_t x_zero_point, const QOutput& out,
                                    std::string_view variant = {});

  /// x: NCHW [batch, c_in, h, w] of x_dtype; y: NCHW [batch, c_out, oh, ow] of out.dtype.
  /// Errors: batch < 0, h or w giving no output, null pointers, a too large problem.
  Status run(const void* x, int64_t batch, int64_t h, int64_t w, void* y) const;

  int64_t c_out() const;
  int64_t c_in() const;
  Conv2dGeometry geometry() const;
  DType x_dtype() const;
  QOutput output() const;
  /// True when the depthwise kernels run this layer.
  bool depthwise() const;
  std::string variant() const;
  /// The micro-kernel that runs this layer (GEMM or depthwise).
  std::string ukernel_name() const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// fp32 convolution of the same shapes: w OIHW float, bias [C_out] or empty, fused
/// activation as in PackedGemmF32. Zero padding.
class PackedConv2dF32 {
 public:
  PackedConv2dF32() = default;

  static Result<PackedConv2dF32> pack(std::span<const float> w, int64_t c_out, int64_t c_in,
                                      const Conv2dGeometry& g, std::span<const float> bias,
                                      FusedActivation act, std::string_view variant = {});
  /// x: NCHW [batch, c_in, h, w]; y: NCHW [batch, c_out, oh, ow].
  Status run(const float* x, int64_t batch, int64_t h, int64_t w, float* y) const;

  int64_t c_out() const;
  int64_t c_in() const;
  Conv2dGeometry geometry() const;
  bool depthwise() const;
  std::string variant() const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// ONNX QLinearConv: x NCHW uint8 / int8 with (x_scale, x_zero_point); w OIHW uint8 / int8
/// with w_scale and w_zero_point of 1 or C_out values; bias int32 [C_out] or null; output
/// y_dtype (uint8 / int8) with fp32 requantization as onnxruntime. Fast kernels when w is
/// int8 with all zero points 0, else the scalar reference.
Result<Tensor> qlinear_conv(const Tensor& x, float x_scale, int32_t x_zero_point,
                            const Tensor& w, std::span<const float> w_scale,
                            std::span<const int32_t> w_zero_point, float y_scale,
                            int32_t y_zero_point, DType y_dtype, const Tensor* bias,
                            const Conv2dGeometry& g);

/// ONNX ConvInteger: int32 y = conv(x - x_zp, w - w_zp); w_zero_point 1 or C_out values.
Result<Tensor> conv_integer(const Tensor& x, int32_t x_zero_point, const Tensor& w,
                            std::span<const int32_t> w_zero_point, const Conv2dGeometry& g);

}  // namespace quantlab
