// Bindings of quantlab/ptq.hpp: post-training static quantization of a loaded model. The
// PtqResult stays in ptq_results() (report, ONNX export); its int8 graph is loaded as an
// ordinary Model in models(), so JavaScript wraps it in a normal Model handle.
#include "fields.hpp"

namespace quantlab::bind {
namespace {

Registry<PtqResult>& ptq_results() {
  static Registry<PtqResult> r("the quantized model was disposed");
  return r;
}

val layer_out(const PtqLayerReport& L) {
  val o = fields_out(L);
  val range = val::array();
  range.set(0, L.output_range.r_min);
  range.set(1, L.output_range.r_max);
  o.set("outputRange", range);
  if (!L.output_range.note.empty()) o.set("rangeNote", L.output_range.note);
  o.set("weightScales", array_out(L.weight_scales));
  o.set("multipliers", array_out(L.multipliers));
  o.set("m0", array_out(L.m0));
  o.set("shift", array_out(L.shift));
  return o;
}

val sensitivity_out(const SensitivityReport& r) {
  val o = fields_out(r);
  o.set("layers", list_out(r.layers, [](const LayerSensitivity& l) {
    val x = fields_out(l);
    x.set("bits", array_out(l.bits));
    x.set("sqnrDb", array_out(l.sqnr_db));
    x.set("accuracy", array_out(l.accuracy));
    return x;
  }));
  return o;
}

/// data: Float32Array of shape; options as PtqOptions (Fields<PtqOptions>).
val ptq_quantize_js(int model_id, const val& data, const val& shape, const val& options,
                    const val& on_progress) {
  auto found = models().find(model_id);
  if (!found) return error(found.status());
  auto o = options_in<PtqOptions>(options);
  if (!o) return error(o.status());
  o->progress = progress_in(on_progress);
  auto q = quantize_static(**found, array_in<float>(data), shape_in(shape), *o);
  if (!q) return error(q.status());
  ModelOptions mo;
  mo.requant_mode = o->requant_mode;
  auto loaded = Model::from_onnx(q->model, mo);
  if (!loaded) return error(loaded.status());
  val out = val::object();
  out.set("modelId", models().add(std::move(*loaded)));
  out.set("foldedBatchNorms", q->folded_batch_norms);
  out.set("report", list_out(q->layers, layer_out));
  out.set("ranges", list_out(q->ranges, [](const PtqValueRange& r) { return fields_out(r); }));
  out.set("id", ptq_results().add(std::move(*q)));
  return ok(out);
}
QL_EXPORT("ptqQuantize", ptq_quantize_js);

/// form: "qoperator" or "qdq"; activations: "uint8" (re-expressed exactly), or "as-quantized"
/// -> the .onnx bytes as a new Uint8Array.
val ptq_to_onnx_js(int id, const std::string& form, const std::string& activations) {
  return ptq_results().with(id, [&](const PtqResult& r) {
    if (form != "qoperator" && form != "qdq") {
      return error(invalid_argument("form must be 'qoperator' or 'qdq', got '" + form + "'"));
    }
    if (activations != "uint8" && activations != "as-quantized") {
      return error(invalid_argument("activations must be 'uint8' or 'as-quantized', got '" + activations + "'"));
    }
    OnnxModel m = r.model;
    if (activations == "uint8") {
      auto u = with_uint8_activations(m);
      if (!u) return error(u.status());
      m = std::move(*u);
    }
    if (form == "qoperator") return ok(array_out(serialize_onnx_model(m)));
    auto qdq = to_qdq(m);
    if (!qdq) return error(qdq.status());
    return ok(array_out(serialize_onnx_model(*qdq)));
  });
}
QL_EXPORT("ptqToOnnx", ptq_to_onnx_js);

/// [{form, activations, exactness, reasons}] for the four exports.
val ptq_export_checks_js(int id) {
  return ptq_results().with(id, [&](const PtqResult& r) { return ok(fields_out(export_checks(r))); });
}
QL_EXPORT("ptqExportChecks", ptq_export_checks_js);

/// f(model, data, shape, ptq options, Extra options, labels) over the JS arguments of
/// ptqSensitivity / ptqMixedPrecision (modelId, data, shape, labels: Int32Array, maybe empty,
/// options, onProgress).
template <class Extra, class F>
val measured_call(int model_id, const val& data, const val& shape, const val& labels, const val& options,
                  const val& on_progress, F&& f) {
  auto found = models().find(model_id);
  if (!found) return error(found.status());
  auto o = options_in<PtqOptions>(options);
  if (!o) return error(o.status());
  auto extra = options_in<Extra>(options);
  if (!extra) return error(extra.status());
  o->progress = progress_in(on_progress);
  return f(**found, array_in<float>(data), shape_in(shape), *o, *extra, array_in<int32_t>(labels));
}

val ptq_sensitivity_js(int model_id, const val& data, const val& shape, const val& labels,
                       const val& options, const val& on_progress) {
  return measured_call<SensitivityOptions>(model_id, data, shape, labels, options, on_progress,
                                           [](const Model& m, auto x, auto s, auto& o, auto& so, auto l) {
    auto r = ptq_sensitivity(m, x, s, o, so, l);
    return r ? ok(sensitivity_out(*r)) : error(r.status());
  });
}
QL_EXPORT("ptqSensitivity", ptq_sensitivity_js);

val ptq_mixed_precision_js(int model_id, const val& data, const val& shape, const val& labels,
                           const val& options, const val& on_progress) {
  return measured_call<MixedPrecisionOptions>(model_id, data, shape, labels, options, on_progress,
                                              [](const Model& m, auto x, auto s, auto& o, auto& mo, auto l) {
    auto r = ptq_mixed_precision(m, x, s, o, mo, l);
    if (!r) return error(r.status());
    val out = val::object();
    out.set("layers", list_out(r->layers, [](const PtqLayerOptions& p) { return fields_out(p); }));
    out.set("sensitivity", sensitivity_out(r->sensitivity));
    out.set("sqnrDb", r->sqnr_db);
    out.set("accuracy", r->accuracy);
    out.set("weightBits", static_cast<double>(r->weight_bits));
    out.set("int8WeightBits", static_cast<double>(r->int8_weight_bits));
    out.set("measured", r->measured);
    return ok(out);
  });
}
QL_EXPORT("ptqMixedPrecision", ptq_mixed_precision_js);

val ptq_dispose_js(int id) { return ptq_results().dispose(id); }
QL_EXPORT("ptqDispose", ptq_dispose_js);

}  // namespace
}  // namespace quantlab::bind
