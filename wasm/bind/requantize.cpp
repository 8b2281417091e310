// Bindings of quantlab/requantize.hpp and requantize_array.hpp: multipliers and
// requantization of accumulator arrays.
#include "options.hpp"

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

val requantize_js(const val& acc, const val& options) {
  auto o = options_in<RequantizeOptions>(options);
  if (!o) return error(o.status());
  return result(requantize_accumulators(array_in<int32_t>(acc), *o),
                [](const auto& q) { return array_out(q); });
}

}  // namespace
}  // namespace quantlab::bind

EMSCRIPTEN_BINDINGS(quantlab_requantize) {
  using emscripten::function;
  using namespace quantlab::bind;
  function("quantizeMultiplier", &quantize_multiplier_js);
  function("requantize", &requantize_js);
}
