// Bindings of quantlab/requantize.hpp and requantize_array.hpp: multipliers and
// requantization of accumulator arrays.
#include "fields.hpp"

namespace quantlab::bind {
namespace {

val quantize_multiplier_js(double M) {
  return result(quantize_multiplier(M), [](const FixedPointMultiplier& m) {
    val o = val::object();
    o.set("M0", m.M0);
    o.set("shift", m.shift);
    o.set("value", multiplier_value(m));
    return o;
  });
}
QL_EXPORT("quantizeMultiplier", quantize_multiplier_js);

val requantize_js(const val& acc, const val& options) {
  auto o = options_in<RequantizeOptions>(options);
  if (!o) return error(o.status());
  return result(requantize_accumulators(array_in<int32_t>(acc), *o),
                [](const auto& q) { return array_out(q); });
}
QL_EXPORT("requantize", requantize_js);

}  // namespace
}  // namespace quantlab::bind
