// Internals shared by the packed-layer drivers (gemm.cpp, conv.cpp, conv_f32.cpp) and their
// ONNX operators (gemm.cpp, conv_ops.cpp): kernel-variant selection, the checks every
// quantized or fp32 layer makes when it is packed, and the folding of the input zero point
// into the int32 bias.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "f32-gemm/f32-gemm.h"
#include "qs8-gemm/qs8-gemm.h"
#include "quantlab/gemm.hpp"

namespace quantlab::layer_common {

/// The ISA of a kernel variant name ("" = the best of this build).
inline Result<Isa> select_isa(std::string_view variant) {
  const auto isas = qs8_gemm_isas();
  if (variant.empty()) return isas.back();
  std::string names;
  for (Isa isa : isas) {
    if (variant == isa_name(isa)) return isa;
    names += (names.empty() ? "" : ", ") + std::string(isa_name(isa));
  }
  return invalid_argument("unknown kernel variant '" + std::string(variant) +
                          "' (this build has: " + names + ")");
}

/// Two's-complement wrap, like the kernels' int32 accumulators.
inline int32_t wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

/// The fp32 kernels' output clamp for a fused activation.
inline F32GemmParams f32_params(FusedActivation act) {
  F32GemmParams p;
  if (act != FusedActivation::kNone) p.min = 0.0f;
  if (act == FusedActivation::kRelu6) p.max = 6.0f;
  return p;
}

/// The kernels' requantization for an output: raw int32, fp32 or gemmlowp fixed point.
inline QS8Requant requant_of(const QOutput& out) {
  if (out.dtype == DType::kInt32) return QS8Requant::kS32;
  return out.mode == RequantMode::kFixedPoint ? QS8Requant::kGemmlowp : QS8Requant::kFp32;
}

/// Every zero point in zp lies on the dtype's grid (uint8 [0, 255], int8 [-128, 127]).
inline Status check_zero_points(std::span<const int32_t> zp, DType dtype, const char* what) {
  const int32_t lo = dtype == DType::kUInt8 ? 0 : -128;
  const int32_t hi = dtype == DType::kUInt8 ? 255 : 127;
  for (int32_t z : zp) {
    if (z < lo || z > hi) {
      return invalid_argument(std::string(what) + " zero point " + std::to_string(z) +
                              " is outside the " + dtype_name(dtype) + " grid");
    }
  }
  return Status::ok();
}

/// A quantized layer's input and output types: x uint8 or int8 with its zero point on the
/// grid, and no fused activation on a raw int32 output.
inline Status check_q8_layer(const char* what, DType x_dtype, int32_t x_zero_point,
                             const QOutput& out) {
  if (x_dtype != DType::kUInt8 && x_dtype != DType::kInt8) {
    return invalid_argument(std::string(what) + ": x must be uint8 or int8, got " +
                            dtype_name(x_dtype));
  }
  QL_RETURN_IF_ERROR(check_zero_points({&x_zero_point, 1}, x_dtype,
                                       (std::string(what) + ": the input").c_str()));
  if (out.dtype == DType::kInt32 && out.act != FusedActivation::kNone) {
    return invalid_argument(std::string(what) + ": an int32 output cannot fuse an activation");
  }
  return Status::ok();
}

/// A bias of 0 or n values (n named `n_name` in the message, e.g. "c_out").
inline Status check_bias_size(const char* what, size_t bias_size, int64_t n, const char* n_name) {
  if (bias_size != 0 && bias_size != static_cast<size_t>(n)) {
    return shape_mismatch(std::string(what) + ": bias has " + std::to_string(bias_size) +
                          " values, expected 0 or " + n_name + " = " + std::to_string(n));
  }
  return Status::ok();
}

/// fp32 weights and bias are finite.
inline Status check_finite_f32(const char* what, std::span<const float> w,
                               std::span<const float> bias) {
  for (float v : w) {
    if (!std::isfinite(v)) return not_finite(std::string(what) + ": the weights must be finite");
  }
  for (float v : bias) {
    if (!std::isfinite(v)) return not_finite(std::string(what) + ": the bias must be finite");
  }
  return Status::ok();
}

/// bias[o] - Z_X sum_k W[o, k] for each of the `rows` rows of K weights (wrapping like the
/// int32 accumulators; an empty bias is 0).
inline std::vector<int32_t> fold_input_zero_point(std::span<const int8_t> w, size_t rows, size_t K,
                                                  std::span<const int32_t> bias,
                                                  int32_t x_zero_point) {
  std::vector<int32_t> folded(rows);
  for (size_t o = 0; o < rows; ++o) {
    int64_t sum = 0;
    for (size_t j = 0; j < K; ++j) sum += w[o * K + j];
    folded[o] = wrap32((bias.empty() ? 0 : int64_t{bias[o]}) - int64_t{x_zero_point} * sum);
  }
  return folded;
}

/// What packing a quantized layer of n output channels (K weights each) needs once its
/// arguments are checked: the kernels' ISA and requantization, the output parameters, and
/// per channel the folded bias and the multipliers.
struct QLayerPlan {
  Isa isa = Isa::kScalar;
  QS8Requant rq = QS8Requant::kS32;
  QS8GemmParams params;             // output clamp and zero point (unused for int32 outputs)
  std::vector<int32_t> bias;        // bias - Z_X sum_k W (fold_input_zero_point)
  std::vector<float> fp32;          // fp32 multipliers, or empty
  std::vector<int32_t> M0, shift;   // gemmlowp multipliers (zeros when unused)

  /// The per-channel streams from channel `first` on, for qs8_pack_weights.
  QS8PackChannels channels(size_t first) const {
    QS8PackChannels ch;
    ch.bias = bias.data() + first;
    ch.rq_fp32 = fp32.empty() ? nullptr : fp32.data() + first;
    ch.rq_M0 = M0.data() + first;
    ch.rq_shift = shift.data() + first;
    return ch;
  }
};

/// The checks and per-channel values shared by PackedQGemm::pack and PackedQConv2d::pack
/// (n channels called `n_name` in messages; the weights w are already checked: n x K).
inline Result<QLayerPlan> plan_q8_layer(const char* what, std::span<const int8_t> w, int64_t n,
                                        const char* n_name, size_t K,
                                        std::span<const float> w_scales,
                                        std::span<const int32_t> bias, DType x_dtype,
                                        float x_scale, int32_t x_zero_point, const QOutput& out,
                                        std::string_view variant) {
  QL_RETURN_IF_ERROR(check_bias_size(what, bias.size(), n, n_name));
  QL_RETURN_IF_ERROR(check_q8_layer(what, x_dtype, x_zero_point, out));
  auto mult = channel_multipliers(w_scales, n, x_scale, out);
  if (!mult) return mult.status();
  auto isa = select_isa(variant);
  if (!isa) return isa.status();
  QLayerPlan p;
  p.isa = *isa;
  p.rq = requant_of(out);
  if (out.dtype != DType::kInt32) {
    auto range = output_range(out);
    p.params = qs8_gemm_params(out.zero_point, static_cast<int32_t>(range->q_min),
                               static_cast<int32_t>(range->q_max), out.dtype == DType::kInt8);
  }
  const auto channels = static_cast<size_t>(n);
  p.bias = fold_input_zero_point(w, channels, K, bias, x_zero_point);
  p.fp32 = std::move(mult->fp32);
  p.M0.assign(channels, 0);
  p.shift.assign(channels, 0);
  for (size_t i = 0; i < mult->fixed.size(); ++i) {
    p.M0[i] = mult->fixed[i].M0;
    p.shift[i] = mult->fixed[i].shift;
  }
  return p;
}

/// Element i of a uint8 or int8 tensor.
inline int32_t q8_at(const Tensor& t, size_t i) {
  return t.dtype() == DType::kUInt8 ? int32_t{t.data<uint8_t>()[i]}
                                    : int32_t{t.data<int8_t>()[i]};
}

}  // namespace quantlab::layer_common
