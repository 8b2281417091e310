// Bindings of quantlab/linear.hpp: linear quantization, calibration, per-channel params.
#include "fields.hpp"

namespace quantlab::bind {
namespace {

val params_list_out(const std::vector<QuantParams>& v) {
  return list_out(v, [](const QuantParams& p) { return fields_out(p); });
}

val integer_range_js(const val& spec) {
  auto s = options_in<QuantSpec>(spec);
  if (!s) return error(s.status());
  return result(integer_range(*s), [](const IntRange& r) {
    val o = val::object();
    o.set("qMin", static_cast<double>(r.q_min));
    o.set("qMax", static_cast<double>(r.q_max));
    return o;
  });
}
QL_EXPORT("integerRange", integer_range_js);

val params_from_range_js(float r_min, float r_max, const val& spec) {
  auto s = options_in<QuantSpec>(spec);
  if (!s) return error(s.status());
  return result(params_from_range(r_min, r_max, *s), [](const QuantParams& p) { return fields_out(p); });
}
QL_EXPORT("paramsFromRange", params_from_range_js);

/// fn(values, params) on a typed array and a QuantParams object, its result through out.
template <class In, class Fn, class Out>
val with_params(const val& data, const val& params, Fn fn, Out out) {
  auto p = options_in<QuantParams>(params);
  if (!p) return error(p.status());
  return result(fn(array_in<In>(data), *p), out);
}

val quantize_js(const val& data, const val& params) {
  return with_params<float>(data, params, [](const auto& x, const QuantParams& p) { return quantize(x, p); },
                            [](const auto& q) { return array_out(q); });
}
QL_EXPORT("quantize", quantize_js);

val dequantize_js(const val& q, const val& params) {
  return with_params<int32_t>(q, params, [](const auto& x, const QuantParams& p) { return dequantize(x, p); },
                              [](const auto& r) { return array_out(r); });
}
QL_EXPORT("dequantize", dequantize_js);

val quantization_error_js(const val& data, const val& params) {
  return with_params<float>(data, params,
                            [](const auto& x, const QuantParams& p) { return quantization_error(x, p); },
                            [](const ErrorSplit& e) { return fields_out(e); });
}
QL_EXPORT("quantizationError", quantization_error_js);

val array_stats_js(const val& data) {
  return result(array_stats(array_in<float>(data)), [](const ArrayStats& a) { return fields_out(a); });
}
QL_EXPORT("arrayStats", array_stats_js);

val compare_arrays_js(const val& ref, const val& test) {
  return result(compare_arrays(array_in<float>(ref), array_in<float>(test)),
                [](const ArrayComparison& c) { return fields_out(c); });
}
QL_EXPORT("compareArrays", compare_arrays_js);

val error_sweep_js(const val& data, const val& spec, int steps) {
  auto s = options_in<QuantSpec>(spec);
  if (!s) return error(s.status());
  return result(error_sweep(array_in<float>(data), *s, steps), [](const ErrorSweep& e) {
    val o = val::object();
    o.set("clipMin", array_out(e.clip_min));
    o.set("clipMax", array_out(e.clip_max));
    o.set("roundMse", array_out(e.round_mse));
    o.set("clipMse", array_out(e.clip_mse));
    o.set("totalMse", array_out(e.total_mse));
    return o;
  });
}
QL_EXPORT("errorSweep", error_sweep_js);

val calibrate_js(const val& data, const val& spec, const val& options) {
  auto s = options_in<QuantSpec>(spec);
  if (!s) return error(s.status());
  auto o = options_in<CalibrationOptions>(options);
  if (!o) return error(o.status());
  return result(calibrate(array_in<float>(data), *s, *o), [](const ClipRange& r) {
    val v = val::object();
    v.set("rMin", r.r_min);
    v.set("rMax", r.r_max);
    if (!r.note.empty()) v.set("note", r.note);
    return v;
  });
}
QL_EXPORT("calibrate", calibrate_js);

val per_channel_params_js(const val& data, const val& shape, int axis, const val& spec,
                          const val& options) {
  auto s = options_in<QuantSpec>(spec);
  if (!s) return error(s.status());
  auto o = options_in<CalibrationOptions>(options);
  if (!o) return error(o.status());
  return result(per_channel_params(array_in<float>(data), shape_in(shape), axis, *s, *o),
                params_list_out);
}
QL_EXPORT("perChannelParams", per_channel_params_js);

Result<std::vector<QuantParams>> params_list_in(const val& a) {
  std::vector<QuantParams> v;
  const int n = a["length"].as<int>();
  for (int i = 0; i < n; ++i) {
    auto p = options_in<QuantParams>(a[i]);
    if (!p) return p.status();
    v.push_back(*p);
  }
  return v;
}

/// data (of element type In) through f(data, shape, axis, params), a typed array out.
template <class In, class F>
val per_channel_js(const val& data, const val& shape, int axis, const val& params, F&& f) {
  auto p = params_list_in(params);
  if (!p) return error(p.status());
  return result(f(array_in<In>(data), shape_in(shape), axis, *p), [](const auto& v) { return array_out(v); });
}

val quantize_per_channel_js(const val& data, const val& shape, int axis, const val& params) {
  return per_channel_js<float>(data, shape, axis, params,
                               [](const auto&... a) { return quantize_per_channel(a...); });
}
QL_EXPORT("quantizePerChannel", quantize_per_channel_js);

val dequantize_per_channel_js(const val& q, const val& shape, int axis, const val& params) {
  return per_channel_js<int32_t>(q, shape, axis, params,
                                 [](const auto&... a) { return dequantize_per_channel(a...); });
}
QL_EXPORT("dequantizePerChannel", dequantize_per_channel_js);

}  // namespace
}  // namespace quantlab::bind
