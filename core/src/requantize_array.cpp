// Requantization of an accumulator array (see requantize_array.hpp).
#include "quantlab/requantize_array.hpp"

#include <cmath>

namespace quantlab {

Result<std::vector<int32_t>> requantize_accumulators(std::span<const int32_t> acc,
                                                     const RequantizeOptions& o) {
  if (o.q_min > o.q_max || o.zero_point < o.q_min || o.zero_point > o.q_max) {
    return invalid_argument("requantize: need q_min <= zero_point <= q_max");
  }
  std::vector<int32_t> out(acc.size());
  if (o.mode == RequantMode::kFixedPoint) {
    const FixedPointMultiplier& m = o.fixed_point;
    if (m.M0 < 0 || m.shift > 31 || m.shift < -31) {
      return invalid_argument("requantize: need M0 >= 0 and |shift| <= 31");
    }
    for (size_t i = 0; i < acc.size(); ++i) {
      out[i] = requantize_fixed_point(acc[i], m, o.zero_point, o.q_min, o.q_max);
    }
  } else {
    if (!std::isfinite(o.multiplier) || o.multiplier < 0.0f) {
      return invalid_argument("requantize: the fp32 multiplier must be finite and >= 0");
    }
    for (size_t i = 0; i < acc.size(); ++i) {
      out[i] = requantize_fp32(acc[i], o.multiplier, o.zero_point, o.q_min, o.q_max);
    }
  }
  return out;
}

}  // namespace quantlab
