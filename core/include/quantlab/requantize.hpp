// Requantization (lecture 5, section 5.9): from an int32 accumulator to the output grid,
// q_Y = Z_Y + M * acc with M = S_W S_X / S_Y, in fixed point (M0, shift) or in fp32.
//
// Bit-exactness contract (every kernel variant must reproduce these results exactly):
//
//  Fixed point (gemmlowp / TFLite "double rounding"):
//    M = M0 * 2^(shift - 31), M0 in [2^30, 2^31) (that is, [0.5, 1) in Q31).
//    x'   = saturate_int32(acc * 2^max(shift, 0))
//    y1   = saturating_rounding_doubling_high_mul(x', M0)
//         = floor((x' * M0 + 2^30) / 2^31)            (round half up; never saturates since
//                                                      M0 >= 0)
//    y    = rounding_divide_by_pot(y1, max(-shift, 0)) (round half away from zero)
//    q_Y  = clamp(y + Z_Y, q_min, q_max)
//
//  fp32 (ONNX QLinearMatMul / onnxruntime MLAS semantics):
//    m    = float32(S_W * S_X) / S_Y, computed in float32 as onnxruntime does
//    (PyTorch qnnpack: m = float32(S_W * S_X) * float32(1 / S_Y), the same rounding after)
//    q_Y  = clamp(round_half_even(float32(acc) * m) + Z_Y, q_min, q_max)
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "quantlab/status.hpp"

namespace quantlab {

/// M ~= M0 * 2^(shift - 31). shift > 0 is a left shift (M >= 1).
struct FixedPointMultiplier {
  int32_t M0 = 0;
  int32_t shift = 0;
};

/// Decompose a real multiplier M >= 0 into (M0, shift). M below 2^-32 flushes to M0 = 0
/// (every accumulator then requantizes to Z_Y). Errors: M negative, NaN or infinite, or
/// M >= 2^31 (no int32 accumulator could use it).
Result<FixedPointMultiplier> quantize_multiplier(double M);

/// The real value of a fixed-point multiplier.
inline double multiplier_value(FixedPointMultiplier m) {
  return std::ldexp(static_cast<double>(m.M0), m.shift - 31);
}

/// round(a * b / 2^31), ties up; INT32_MIN * INT32_MIN saturates to INT32_MAX (gemmlowp).
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) {
    return std::numeric_limits<int32_t>::max();
  }
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (int64_t{1} - (int64_t{1} << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

/// x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31].
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  QL_DCHECK(exponent >= 0 && exponent <= 31);
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/// acc * M in the fixed-point semantics above (before adding Z_Y and clamping).
inline int32_t multiply_by_quantized_multiplier(int32_t acc, FixedPointMultiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  int32_t x = acc;
  if (left > 0) {
    const int64_t wide = static_cast<int64_t>(acc) * (int64_t{1} << left);
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
    x = static_cast<int32_t>(wide > kMax ? kMax : (wide < kMin ? kMin : wide));
  }
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, m.M0), right);
}

/// Fixed-point requantization of one accumulator to [q_min, q_max].
inline int32_t requantize_fixed_point(int32_t acc, FixedPointMultiplier m, int32_t zero_point,
                                      int32_t q_min, int32_t q_max) {
  const int64_t y = static_cast<int64_t>(multiply_by_quantized_multiplier(acc, m)) + zero_point;
  return static_cast<int32_t>(y < q_min ? q_min : (y > q_max ? q_max : y));
}

/// The float32 multiplier S_W S_X / S_Y exactly as onnxruntime computes it.
inline float fp32_multiplier(float scale_w, float scale_x, float scale_y) {
  return (scale_w * scale_x) / scale_y;
}

/// The float32 multiplier as PyTorch's qnnpack backend computes it
/// (generate_requantization_scales): (S_W * S_X) * (1 / S_Y), each step in float32.
inline float qnnpack_multiplier(float scale_w, float scale_x, float scale_y) {
  return (scale_w * scale_x) * (1.0f / scale_y);
}

/// fp32 requantization of one accumulator to [q_min, q_max] (ONNX semantics). Clamping in
/// float before rounding gives the same result as rounding first, and stays defined for
/// any accumulator.
inline int32_t requantize_fp32(int32_t acc, float multiplier, int32_t zero_point, int32_t q_min,
                               int32_t q_max) {
  float v = static_cast<float>(acc) * multiplier;
  const float lo = static_cast<float>(q_min - zero_point);
  const float hi = static_cast<float>(q_max - zero_point);
  v = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<int32_t>(std::nearbyint(v)) + zero_point;
}

}  // namespace quantlab
