// The Embind translation unit: the only place that knows both the core and JavaScript.
// Every function returns {value} or {code, message}; quantlab.mjs turns the latter into a
// QuantlabError. Typed arrays are copied in and results copied out (never views into wasm
// memory, which memory growth would detach). No algorithm lives here.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <string>
#include <vector>

#include "quantlab/linear.hpp"
#include "quantlab/requantize.hpp"
#include "quantlab/status.hpp"

using emscripten::val;
using namespace quantlab;

namespace {

// --- Marshalling -------------------------------------------------------------------------

val error_value(const Status& s) {
  val o = val::object();
  o.set("code", std::string(error_code_name(s.code())));
  o.set("message", s.message());
  return o;
}

val ok_value(const val& v) {
  val o = val::object();
  o.set("value", v);
  return o;
}

template <class T>
const char* typed_array_name();
template <> const char* typed_array_name<float>() { return "Float32Array"; }
template <> const char* typed_array_name<double>() { return "Float64Array"; }
template <> const char* typed_array_name<int32_t>() { return "Int32Array"; }

/// A copy of v as a new JS typed array.
template <class T>
val to_js(const std::vector<T>& v) {
  return val::global(typed_array_name<T>())
      .new_(emscripten::typed_memory_view(v.size(), v.data()))
      .template call<val>("slice");
}

template <class T>
std::vector<T> from_js(const val& a) {
  return emscripten::convertJSArrayToNumberVector<T>(a);
}

/// Shapes arrive as plain JS numbers (BigInt64Array would be awkward for users).
std::vector<int64_t> shape_from(const val& a) {
  const std::vector<double> d = from_js<double>(a);
  return std::vector<int64_t>(d.begin(), d.end());
}

QuantSpec spec_from(const val& o) {
  QuantSpec s;
  s.bits = o["bits"].as<int>();
  s.is_signed = o["signed"].as<bool>();
  s.symmetric = o["symmetric"].as<bool>();
  s.narrow_range = o["narrowRange"].as<bool>();
  return s;
}

QuantParams params_from(const val& o) {
  QuantParams p;
  p.scale = o["scale"].as<float>();
  p.zero_point = o["zeroPoint"].as<int32_t>();
  p.q_min = o["qMin"].as<int32_t>();
  p.q_max = o["qMax"].as<int32_t>();
  p.bits = o["bits"].as<int>();
  p.is_signed = o["signed"].as<bool>();
  return p;
}

val params_to(const QuantParams& p) {
  val o = val::object();
  o.set("scale", p.scale);
  o.set("zeroPoint", p.zero_point);
  o.set("qMin", p.q_min);
  o.set("qMax", p.q_max);
  o.set("bits", p.bits);
  o.set("signed", p.is_signed);
  return o;
}

std::vector<QuantParams> params_list_from(const val& a) {
  std::vector<QuantParams> v;
  const int n = a["length"].as<int>();
  for (int i = 0; i < n; ++i) v.push_back(params_from(a[i]));
  return v;
}

val params_list_to(const std::vector<QuantParams>& v) {
  val a = val::array();
  for (size_t i = 0; i < v.size(); ++i) a.set(i, params_to(v[i]));
  return a;
}

Result<CalibrationOptions> options_from(const val& o) {
  CalibrationOptions c;
  const std::string method = o["method"].as<std::string>();
  if (method == "minmax") c.method = CalibrationMethod::kMinMax;
  else if (method == "percentile") c.method = CalibrationMethod::kPercentile;
  else if (method == "mse") c.method = CalibrationMethod::kMse;
  else if (method == "kl") c.method = CalibrationMethod::kKl;
  else return invalid_argument("unknown calibration method '" + method +
                               "' (expected minmax, percentile, mse or kl)");
  c.percentile = o["percentile"].as<double>();
  c.histogram_bins = o["histogramBins"].as<int>();
  c.mse_steps = o["mseSteps"].as<int>();
  return c;
}

val range_to(const ClipRange& r) {
  val o = val::object();
  o.set("rMin", r.r_min);
  o.set("rMax", r.r_max);
  return o;
}

// --- Linear quantization -------------------------------------------------------------------

val integer_range_js(const val& spec) {
  auto r = integer_range(spec_from(spec));
  if (!r) return error_value(r.status());
  val o = val::object();
  o.set("qMin", static_cast<double>(r->q_min));
  o.set("qMax", static_cast<double>(r->q_max));
  return ok_value(o);
}

val params_from_range_js(float r_min, float r_max, const val& spec) {
  auto p = params_from_range(r_min, r_max, spec_from(spec));
  if (!p) return error_value(p.status());
  return ok_value(params_to(*p));
}

val quantize_js(const val& data, const val& params) {
  auto q = quantize(from_js<float>(data), params_from(params));
  if (!q) return error_value(q.status());
  return ok_value(to_js(*q));
}

val dequantize_js(const val& q, const val& params) {
  auto r = dequantize(from_js<int32_t>(q), params_from(params));
  if (!r) return error_value(r.status());
  return ok_value(to_js(*r));
}

val quantization_error_js(const val& data, const val& params) {
  auto e = quantization_error(from_js<float>(data), params_from(params));
  if (!e) return error_value(e.status());
  val o = val::object();
  o.set("roundMse", e->round_mse);
  o.set("clipMse", e->clip_mse);
  o.set("totalMse", e->total_mse);
  o.set("clipped", static_cast<double>(e->clipped));
  o.set("count", static_cast<double>(e->count));
  return ok_value(o);
}

val error_sweep_js(const val& data, const val& spec, int steps) {
  auto s = error_sweep(from_js<float>(data), spec_from(spec), steps);
  if (!s) return error_value(s.status());
  val o = val::object();
  o.set("clipMin", to_js(s->clip_min));
  o.set("clipMax", to_js(s->clip_max));
  o.set("roundMse", to_js(s->round_mse));
  o.set("clipMse", to_js(s->clip_mse));
  o.set("totalMse", to_js(s->total_mse));
  return ok_value(o);
}

val calibrate_js(const val& data, const val& spec, const val& options) {
  auto o = options_from(options);
  if (!o) return error_value(o.status());
  auto r = calibrate(from_js<float>(data), spec_from(spec), *o);
  if (!r) return error_value(r.status());
  return ok_value(range_to(*r));
}

val per_channel_params_js(const val& data, const val& shape, int axis, const val& spec,
                          const val& options) {
  auto o = options_from(options);
  if (!o) return error_value(o.status());
  auto p = per_channel_params(from_js<float>(data), shape_from(shape), axis,
                              spec_from(spec), *o);
  if (!p) return error_value(p.status());
  return ok_value(params_list_to(*p));
}

val quantize_per_channel_js(const val& data, const val& shape, int axis, const val& params) {
  auto q = quantize_per_channel(from_js<float>(data), shape_from(shape), axis,
                                params_list_from(params));
  if (!q) return error_value(q.status());
  return ok_value(to_js(*q));
}

val dequantize_per_channel_js(const val& q, const val& shape, int axis, const val& params) {
  auto r = dequantize_per_channel(from_js<int32_t>(q), shape_from(shape), axis,
                                  params_list_from(params));
  if (!r) return error_value(r.status());
  return ok_value(to_js(*r));
}

// --- Requantization ----------------------------------------------------------------------

val quantize_multiplier_js(double M) {
  auto m = quantize_multiplier(M);
  if (!m) return error_value(m.status());
  val o = val::object();
  o.set("M0", m->M0);
  o.set("shift", m->shift);
  o.set("value", multiplier_value(*m));
  return ok_value(o);
}

/// mode "fixed": multiplier is {M0, shift}; mode "fp32": a float32 multiplier.
val requantize_js(const val& acc, const val& options) {
  const std::vector<int32_t> a = from_js<int32_t>(acc);
  const std::string mode = options["mode"].as<std::string>();
  const int32_t zp = options["zeroPoint"].as<int32_t>();
  const int32_t q_min = options["qMin"].as<int32_t>();
  const int32_t q_max = options["qMax"].as<int32_t>();
  if (q_min > q_max || zp < q_min || zp > q_max) {
    return error_value(invalid_argument("requantize: need q_min <= zero_point <= q_max"));
  }
  std::vector<int32_t> out(a.size());
  if (mode == "fixed") {
    FixedPointMultiplier m{options["M0"].as<int32_t>(), options["shift"].as<int32_t>()};
    if (m.M0 < 0 || m.shift > 31 || m.shift < -31) {
      return error_value(invalid_argument("requantize: need M0 >= 0 and |shift| <= 31"));
    }
    for (size_t i = 0; i < a.size(); ++i) out[i] = requantize_fixed_point(a[i], m, zp, q_min, q_max);
  } else if (mode == "fp32") {
    const float m = options["multiplier"].as<float>();
    if (!std::isfinite(m) || m < 0.0f) {
      return error_value(invalid_argument("requantize: the fp32 multiplier must be finite and >= 0"));
    }
    for (size_t i = 0; i < a.size(); ++i) out[i] = requantize_fp32(a[i], m, zp, q_min, q_max);
  } else {
    return error_value(invalid_argument("requantize: mode must be 'fixed' or 'fp32', got '" +
                                        mode + "'"));
  }
  return ok_value(to_js(out));
}

val build_info_js() {
  val o = val::object();
#if defined(QL_HAVE_WASMSIMD)
  o.set("simd", true);
#else
  o.set("simd", false);
#endif
  return o;
}

}  // namespace

EMSCRIPTEN_BINDINGS(quantlab) {
  using emscripten::function;
  function("buildInfo", &build_info_js);
  // Linear quantization
  function("integerRange", &integer_range_js);
  function("paramsFromRange", &params_from_range_js);
  function("quantize", &quantize_js);
  function("dequantize", &dequantize_js);
  function("quantizationError", &quantization_error_js);
  function("errorSweep", &error_sweep_js);
  function("calibrate", &calibrate_js);
  function("perChannelParams", &per_channel_params_js);
  function("quantizePerChannel", &quantize_per_channel_js);
  function("dequantizePerChannel", &dequantize_per_channel_js);
  // Requantization
  function("quantizeMultiplier", &quantize_multiplier_js);
  function("requantize", &requantize_js);
}

// ===== Models: ONNX import and the model runtime (issue 4) ==================================
// A loaded model stays in wasm memory under an integer id until JavaScript disposes it
// (quantlab.mjs wraps the id in a Model object with dispose()). Inputs are copied in with
// TypedArray.set, outputs copied out into new typed arrays.
#include <map>
#include <memory>

#include "quantlab/model.hpp"

namespace {

std::map<int, std::unique_ptr<Model>>& model_table() {
  static std::map<int, std::unique_ptr<Model>> table;
  return table;
}

Result<const Model*> find_model(int id) {
  auto& t = model_table();
  auto it = t.find(id);
  if (it == t.end()) return invalid_argument("the model was disposed (or never loaded)");
  return it->second.get();
}

const char* typed_array_of(DType d) {
  switch (d) {
    case DType::kFloat32: return "Float32Array";
    case DType::kUInt8: return "Uint8Array";
    case DType::kInt8: return "Int8Array";
    case DType::kInt32: return "Int32Array";
    case DType::kInt64: return "BigInt64Array";
  }
  return "Float32Array";
}

/// A typed array of `dtype` viewing n elements at p in wasm memory; valid until the memory
/// grows, so it is used at once (to copy in or out).
val heap_view(DType dtype, const void* p, size_t n) {
  const val bytes(emscripten::typed_memory_view(n * dtype_size(dtype), static_cast<const uint8_t*>(p)));
  return val::global(typed_array_of(dtype)).new_(bytes["buffer"], bytes["byteOffset"], n);
}

Result<DType> dtype_of_typed_array(const val& a) {
  const std::string name = a["constructor"]["name"].as<std::string>();
  for (DType d : {DType::kFloat32, DType::kUInt8, DType::kInt8, DType::kInt32, DType::kInt64}) {
    if (name == typed_array_of(d)) return d;
  }
  return invalid_argument("input data must be a Float32Array, Uint8Array, Int8Array, "
                          "Int32Array or BigInt64Array, got " + name);
}

/// Known sizes as numbers, symbols as their names ("N"), unknown sizes as null.
val dims_to_js(const Model& m, const ValueInfo& v) {
  if (!v.rank_known) return val::null();
  val a = val::array();
  for (size_t i = 0; i < v.dims.size(); ++i) {
    const int64_t d = v.dims[i];
    if (d >= 0) a.set(i, static_cast<double>(d));
    else if (d == kUnknownDim) a.set(i, val::null());
    else a.set(i, m.dim_name(d));
  }
  return a;
}

val value_to_js(const Model& m, const ValueInfo& v) {
  val o = val::object();
  o.set("name", v.name);
  o.set("dtype", std::string(dtype_name(v.dtype)));
  o.set("shape", dims_to_js(m, v));
  o.set("constant", v.constant);
  return o;
}

val values_to_js(const Model& m, const std::vector<ValueInfo>& vs) {
  val a = val::array();
  for (size_t i = 0; i < vs.size(); ++i) {
    a.set(i, vs[i].name.empty() ? val::null() : value_to_js(m, vs[i]));
  }
  return a;
}

val model_load_js(const val& bytes, const val& options) {
  const auto n = bytes["length"].as<size_t>();
  std::vector<uint8_t> b(n);
  if (n) val(emscripten::typed_memory_view(n, b.data())).call<void>("set", bytes);
  ModelOptions o;
  const std::string mode = options["requantMode"].as<std::string>();
  if (mode == "fixed") o.requant_mode = RequantMode::kFixedPoint;
  else if (mode != "fp32") {
    return error_value(invalid_argument("requantMode must be 'fp32' or 'fixed', got '" + mode + "'"));
  }
  auto m = Model::load(b, o);
  if (!m) return error_value(m.status());
  static int next_id = 1;
  const int id = next_id++;
  model_table()[id] = std::make_unique<Model>(std::move(*m));
  return ok_value(val(id));
}

val model_info_js(int id) {
  auto found = find_model(id);
  if (!found) return error_value(found.status());
  const Model& m = **found;
  val o = val::object();
  o.set("inputs", values_to_js(m, m.inputs()));
  o.set("outputs", values_to_js(m, m.outputs()));
  val layers = val::array();
  for (size_t i = 0; i < m.layers().size(); ++i) {
    const LayerInfo& l = m.layers()[i];
    val L = val::object();
    L.set("name", l.name);
    L.set("opType", l.op_type);
    L.set("domain", l.domain);
    L.set("version", static_cast<double>(l.version));
    L.set("inputs", values_to_js(m, l.inputs));
    L.set("outputs", values_to_js(m, l.outputs));
    L.set("parameters", static_cast<double>(l.parameters));
    L.set("bytes", static_cast<double>(l.parameter_bytes));
    L.set("folded", l.folded);
    layers.set(i, L);
  }
  o.set("layers", layers);
  o.set("opset", static_cast<double>(m.onnx().opset("")));
  o.set("producer", m.onnx().producer_name);
  return ok_value(o);
}

/// inputs: [{data: TypedArray, shape: number[]}]; on_progress: a function or undefined.
val model_run_js(int id, const val& inputs, const val& on_progress) {
  auto found = find_model(id);
  if (!found) return error_value(found.status());
  const Model& m = **found;
  std::vector<Tensor> tensors;
  const int count = inputs["length"].as<int>();
  for (int i = 0; i < count; ++i) {
    const val data = inputs[i]["data"];
    auto dtype = dtype_of_typed_array(data);
    if (!dtype) return error_value(dtype.status());
    auto t = Tensor::create(*dtype, shape_from(inputs[i]["shape"]));
    if (!t) return error_value(t.status());
    const auto n = data["length"].as<size_t>();
    if (n != t->size()) {
      return error_value(shape_mismatch("input " + std::to_string(i) + " has " +
                                        std::to_string(n) + " values but its shape " +
                                        shape_string(t->shape()) + " holds " +
                                        std::to_string(t->size())));
    }
    if (n) heap_view(*dtype, t->raw(), n).call<void>("set", data);
    tensors.push_back(std::move(*t));
  }
  RunOptions o;
  if (on_progress.typeOf().as<std::string>() == "function") {
    o.progress = [&on_progress](const Progress& p) {
      val r = val::object();
      r.set("stage", std::string(p.stage));
      r.set("done", static_cast<double>(p.done));
      r.set("total", static_cast<double>(p.total));
      on_progress(r);
    };
  }
  auto out = m.run(tensors, o);
  if (!out) return error_value(out.status());
  val results = val::array();
  for (size_t i = 0; i < out->size(); ++i) {
    const Tensor& t = (*out)[i];
    val r = val::object();
    // The typed array constructor copies the view.
    r.set("data", val::global(typed_array_of(t.dtype())).new_(heap_view(t.dtype(), t.raw(), t.size())));
    val shape = val::array();
    for (size_t d = 0; d < t.shape().size(); ++d) shape.set(d, static_cast<double>(t.shape()[d]));
    r.set("shape", shape);
    r.set("dtype", std::string(dtype_name(t.dtype())));
    r.set("name", m.outputs()[i].name);
    results.set(i, r);
  }
  return ok_value(results);
}

val model_dispose_js(int id) {
  const bool existed = model_table().erase(id) > 0;
  return ok_value(val(existed));
}

val supported_operators_js() {
  val a = val::array();
  const auto ops = supported_operators();
  for (size_t i = 0; i < ops.size(); ++i) {
    val o = val::object();
    o.set("domain", ops[i].domain);
    o.set("opType", ops[i].op_type);
    val v = val::array();
    for (size_t j = 0; j < ops[i].versions.size(); ++j) v.set(j, ops[i].versions[j]);
    o.set("versions", v);
    a.set(i, o);
  }
  return ok_value(a);
}

}  // namespace

EMSCRIPTEN_BINDINGS(quantlab_models) {
  using emscripten::function;
  function("modelLoad", &model_load_js);
  function("modelInfo", &model_info_js);
  function("modelRun", &model_run_js);
  function("modelDispose", &model_dispose_js);
  function("supportedOperators", &supported_operators_js);
}
// ===== End of models =========================================================================
