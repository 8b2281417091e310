// Requantization multiplier decomposition M = M0 * 2^(shift - 31) (lecture 5, section 5.9).
#include "quantlab/requantize.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "number_string.hpp"

namespace quantlab {

Result<FixedPointMultiplier> quantize_multiplier(double M) {
  if (!std::isfinite(M)) return not_finite("the requantization multiplier must be finite");
  if (M < 0.0) {
    return invalid_argument("the requantization multiplier must be >= 0, got " + number_string(M));
  }
  if (M >= 2147483648.0) {
    return invalid_argument("the requantization multiplier must be < 2^31");
  }
  FixedPointMultiplier m;
  if (M == 0.0) return m;
  int exponent = 0;
  const double q = std::frexp(M, &exponent);  // M = q * 2^exponent, q in [0.5, 1)
  int64_t q31 = std::llround(q * 2147483648.0);
  if (q31 == (int64_t{1} << 31)) {  // q rounded up to 1.0
    q31 /= 2;
    ++exponent;
  }
  if (exponent < -31) return FixedPointMultiplier{};  // below 2^-32: every product rounds to 0
  m.M0 = static_cast<int32_t>(q31);
  m.shift = exponent;
  return m;
}

}  // namespace quantlab
