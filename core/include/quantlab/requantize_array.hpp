// Requantization of a whole array of int32 accumulators (the lecture's worked examples),
// in either mode of requantize.hpp, with the output grid as options.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantlab/gemm.hpp"
#include "quantlab/requantize.hpp"
#include "quantlab/status.hpp"

namespace quantlab {

/// How requantize_accumulators maps acc to q_Y.
struct RequantizeOptions {
  /// kFixedPoint: q = Z + (M0, shift) * acc (gemmlowp); kFp32: q = Z + round(m * acc).
  RequantMode mode = RequantMode::kFixedPoint;
  /// kFixedPoint: M = M0 * 2^(shift - 31), M0 >= 0, |shift| <= 31 (see quantize_multiplier).
  FixedPointMultiplier fixed_point;
  /// kFp32: the float32 multiplier m = S_W S_X / S_Y, finite and >= 0.
  float multiplier = 0.0f;
  int32_t zero_point = 0;  ///< Z_Y, inside [q_min, q_max]
  int32_t q_min = -128;    ///< output grid (int8 by default)
  int32_t q_max = 127;
};

/// q_Y for each accumulator. Errors: q_min > q_max, Z_Y outside the grid, M0 < 0,
/// |shift| > 31, a negative or non-finite fp32 multiplier.
Result<std::vector<int32_t>> requantize_accumulators(std::span<const int32_t> acc,
                                                     const RequantizeOptions& options);

}  // namespace quantlab
