// Bindings of quantlab/model.hpp: ONNX import and the model runtime. A loaded model stays
// in models() until JavaScript disposes it.
#include "fields.hpp"

namespace quantlab::bind {

Registry<Model>& models() {
  static Registry<Model> r("the model was disposed (or never loaded)");
  return r;
}

namespace {

/// Known sizes as numbers, symbols as their names ("N"), unknown sizes as null.
val dims_out(const Model& m, const ValueInfo& v) {
  if (!v.rank_known) return val::null();
  return list_out(v.dims, [&](int64_t d) {
    if (d >= 0) return val(static_cast<double>(d));
    if (d == kUnknownDim) return val::null();
    return val(m.dim_name(d));
  });
}

val values_out(const Model& m, const std::vector<ValueInfo>& vs) {
  return list_out(vs, [&](const ValueInfo& v) {
    if (v.name.empty()) return val::null();
    val o = val::object();
    o.set("name", v.name);
    o.set("dtype", std::string(dtype_name(v.dtype)));
    o.set("shape", dims_out(m, v));
    o.set("constant", v.constant);
    return o;
  });
}

val model_load_js(const val& bytes, const val& options) {
  auto o = options_in<ModelOptions>(options);
  if (!o) return error(o.status());
  auto m = Model::load(array_in<uint8_t>(bytes), *o);
  if (!m) return error(m.status());
  return ok(val(models().add(std::move(*m))));
}
QL_EXPORT("modelLoad", model_load_js);

val model_info_js(int id) {
  return models().with(id, [](const Model& m) {
    val o = val::object();
    o.set("inputs", values_out(m, m.inputs()));
    o.set("outputs", values_out(m, m.outputs()));
    o.set("layers", list_out(m.layers(), [&](const LayerInfo& l) {
      val L = val::object();
      L.set("name", l.name);
      L.set("opType", l.op_type);
      L.set("domain", l.domain);
      L.set("version", static_cast<double>(l.version));
      L.set("inputs", values_out(m, l.inputs));
      L.set("outputs", values_out(m, l.outputs));
      L.set("parameters", static_cast<double>(l.parameters));
      L.set("bytes", static_cast<double>(l.parameter_bytes));
      L.set("folded", l.folded);
      L.set("fused", l.fused);
      return L;
    }));
    o.set("opset", static_cast<double>(m.onnx().opset("")));
    o.set("producer", m.onnx().producer_name);
    return ok(o);
  });
}
QL_EXPORT("modelInfo", model_info_js);

/// inputs: [{data: TypedArray, shape: number[]}]; on_progress: a function or undefined.
val model_run_js(int id, const val& inputs, const val& on_progress) {
  return models().with(id, [&](const Model& m) {
    std::vector<Tensor> tensors;
    const int count = inputs["length"].as<int>();
    for (int i = 0; i < count; ++i) {
      auto t = tensor_in(inputs[i]["data"], shape_in(inputs[i]["shape"]), "input " + std::to_string(i));
      if (!t) return error(t.status());
      tensors.push_back(std::move(*t));
    }
    RunOptions o;
    o.progress = progress_in(on_progress);
    auto out = m.run(tensors, o);
    if (!out) return error(out.status());
    val results = val::array();
    for (size_t i = 0; i < out->size(); ++i) {
      val r = tensor_out((*out)[i]);
      r.set("name", m.outputs()[i].name);
      results.set(i, r);
    }
    return ok(results);
  });
}
QL_EXPORT("modelRun", model_run_js);

val model_dispose_js(int id) { return models().dispose(id); }
QL_EXPORT("modelDispose", model_dispose_js);

val supported_operators_js() {
  return ok(list_out(supported_operators(), [](const OperatorSupport& op) {
    val o = val::object();
    o.set("domain", op.domain);
    o.set("opType", op.op_type);
    o.set("versions", list_out(op.versions, [](auto v) { return val(v); }));
    return o;
  }));
}
QL_EXPORT("supportedOperators", supported_operators_js);

}  // namespace
}  // namespace quantlab::bind
