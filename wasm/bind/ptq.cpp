// Bindings of quantlab/ptq.hpp: post-training static quantization of a loaded model. The
// PtqResult stays in ptq_results() (report, ONNX export); its int8 graph is loaded as an
// ordinary Model in models(), so JavaScript wraps it in a normal Model handle.
#include "options.hpp"

namespace quantlab::bind {
namespace {

Registry<PtqResult>& ptq_results() {
  static Registry<PtqResult> r("the quantized model was disposed");
  return r;
}

val layer_out(const PtqLayerReport& L) {
  val o = val::object();
  o.set("name", L.name);
  o.set("opType", L.op_type);
  o.set("inputScale", L.input_scale);
  o.set("inputZeroPoint", L.input_zero_point);
  o.set("outputScale", L.output_scale);
  o.set("outputZeroPoint", L.output_zero_point);
  val range = val::array();
  range.set(0, L.output_range.r_min);
  range.set(1, L.output_range.r_max);
  o.set("outputRange", range);
  if (!L.output_range.note.empty()) o.set("rangeNote", L.output_range.note);
  o.set("weightScales", array_out(L.weight_scales));
  o.set("multipliers", array_out(L.multipliers));
  o.set("m0", array_out(L.m0));
  o.set("shift", array_out(L.shift));
  o.set("mse", L.mse);
  o.set("sqnrDb", L.sqnr_db);
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
  out.set("id", ptq_results().add(std::move(*q)));
  return ok(out);
}
QL_EXPORT("ptqQuantize", ptq_quantize_js);

/// form: "qoperator" or "qdq" -> the .onnx bytes as a new Uint8Array.
val ptq_to_onnx_js(int id, const std::string& form) {
  return ptq_results().with(id, [&](const PtqResult& r) {
    if (form == "qoperator") return ok(array_out(serialize_onnx_model(r.model)));
    if (form != "qdq") {
      return error(invalid_argument("form must be 'qoperator' or 'qdq', got '" + form + "'"));
    }
    auto qdq = to_qdq(r.model);
    if (!qdq) return error(qdq.status());
    return ok(array_out(serialize_onnx_model(*qdq)));
  });
}
QL_EXPORT("ptqToOnnx", ptq_to_onnx_js);

val ptq_dispose_js(int id) { return ptq_results().dispose(id); }
QL_EXPORT("ptqDispose", ptq_dispose_js);

}  // namespace
}  // namespace quantlab::bind
