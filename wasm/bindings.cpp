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

/// Keep a model under a new id (also used by post-training quantization for its int8 model).
int add_model(Model m) {
  static int next_id = 1;
  const int id = next_id++;
  model_table()[id] = std::make_unique<Model>(std::move(m));
  return id;
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
  o.fuse_activations = options["fuseActivations"].as<bool>();
  o.fuse_qdq = options["fuseQdq"].as<bool>();
  auto m = Model::load(b, o);
  if (!m) return error_value(m.status());
  return ok_value(val(add_model(std::move(*m))));
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
    L.set("fused", l.fused);
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
    const Shape shape = shape_from(inputs[i]["shape"]);
    const auto n = data["length"].as<size_t>();
    // Compare the data's length with the shape's element count first (in 64 bits,
    // saturating): a shape that disagrees with its data is a mismatch, whatever its size.
    uint64_t holds = 1;
    bool negative = false;
    for (int64_t d : shape) {
      if (d < 0) negative = true;
      else if (d == 0 || holds == 0) holds = 0;
      else holds = holds > UINT64_MAX / static_cast<uint64_t>(d) ? UINT64_MAX
                                                                : holds * static_cast<uint64_t>(d);
    }
    if (!negative && holds != n) {
      return error_value(shape_mismatch(
          "input " + std::to_string(i) + " has " + std::to_string(n) + " values but its shape " +
          shape_string(shape) + " holds " +
          (holds == UINT64_MAX ? std::string("more than 2^64") : std::to_string(holds))));
    }
    auto t = Tensor::create(*dtype, shape);
    if (!t) return error_value(t.status());
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

// ===== Kernels: int8 / fp32 GEMM and convolution handles (issue 3) ==========================
// A packed layer stays in wasm memory under an integer id until JavaScript disposes it
// (quantlab.mjs wraps the id in QGemm / QConv2d / GemmF32 / Conv2dF32). run() copies the
// input in with TypedArray.set and returns a new typed array; benchmark() times the packed
// kernel alone, in a C++ loop, on the last input (no JavaScript boundary per repetition).
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include "quantlab/conv.hpp"
#include "quantlab/gemm.hpp"

namespace {

struct KernelHandle {
  enum class Kind { kQGemm, kQConv, kGemmF32, kConvF32 };
  Kind kind = Kind::kQGemm;
  PackedQGemm qgemm;
  PackedQConv2d qconv;
  PackedGemmF32 gemm;
  PackedConv2dF32 conv;
  std::vector<std::byte> x, y;  // the last input and output
  std::vector<int64_t> dims;    // the last run's m, or batch, h, w
};

std::map<int, std::unique_ptr<KernelHandle>>& kernel_table() {
  static std::map<int, std::unique_ptr<KernelHandle>> table;
  return table;
}

val kernel_add(std::unique_ptr<KernelHandle> h) {
  static int next_id = 1;
  const int id = next_id++;
  kernel_table()[id] = std::move(h);
  return ok_value(val(id));
}

Result<KernelHandle*> kernel_find(int id) {
  auto it = kernel_table().find(id);
  if (it == kernel_table().end()) {
    return invalid_argument("the kernel handle was disposed (or never created)");
  }
  return it->second.get();
}

const char* kernel_array_name(DType d) {
  switch (d) {
    case DType::kUInt8: return "Uint8Array";
    case DType::kInt8: return "Int8Array";
    case DType::kInt32: return "Int32Array";
    default: return "Float32Array";
  }
}

/// A view of n elements of `d` at p: used at once to copy in or out (memory may grow).
val kernel_view(DType d, void* p, size_t n) {
  switch (d) {
    case DType::kUInt8: return val(emscripten::typed_memory_view(n, static_cast<uint8_t*>(p)));
    case DType::kInt8: return val(emscripten::typed_memory_view(n, static_cast<int8_t*>(p)));
    case DType::kInt32: return val(emscripten::typed_memory_view(n, static_cast<int32_t*>(p)));
    default: return val(emscripten::typed_memory_view(n, static_cast<float*>(p)));
  }
}

/// A copy of a JS typed array of `d` (the wrapper has checked its type).
template <class T>
std::vector<T> kernel_copy(const val& a) {
  const auto n = a["length"].as<size_t>();
  std::vector<T> v(n);
  if (n) val(emscripten::typed_memory_view(n, v.data())).call<void>("set", a);
  return v;
}

Result<DType> kernel_dtype(const val& name) {
  const std::string s = name.as<std::string>();
  if (s == "uint8") return DType::kUInt8;
  if (s == "int8") return DType::kInt8;
  if (s == "int32") return DType::kInt32;
  return invalid_argument("type must be 'uint8', 'int8' or 'int32', got '" + s + "'");
}

Result<FusedActivation> kernel_activation(const val& name) {
  const std::string s = name.as<std::string>();
  if (s == "none") return FusedActivation::kNone;
  if (s == "relu") return FusedActivation::kRelu;
  if (s == "relu6") return FusedActivation::kRelu6;
  return invalid_argument("activation must be 'none', 'relu' or 'relu6', got '" + s + "'");
}

Result<QOutput> kernel_output(const val& o) {
  QOutput out;
  auto t = kernel_dtype(o["type"]);
  if (!t) return t.status();
  out.dtype = *t;
  out.scale = o["scale"].as<float>();
  out.zero_point = o["zeroPoint"].as<int32_t>();
  const std::string mode = o["requant"].as<std::string>();
  if (mode == "fp32") out.mode = RequantMode::kFp32;
  else if (mode == "fixed") out.mode = RequantMode::kFixedPoint;
  else return invalid_argument("requant must be 'fp32' or 'fixed', got '" + mode + "'");
  auto act = kernel_activation(o["activation"]);
  if (!act) return act.status();
  out.act = *act;
  return out;
}

int64_t kernel_int(const val& v) { return static_cast<int64_t>(v.as<double>()); }

Conv2dGeometry kernel_geometry(const val& o) {
  Conv2dGeometry g;
  const auto k = shape_from(o["kernelShape"]), s = shape_from(o["strides"]);
  const auto p = shape_from(o["pads"]), d = shape_from(o["dilations"]);
  g.kernel_h = k[0];
  g.kernel_w = k[1];
  g.stride_h = s[0];
  g.stride_w = s[1];
  g.pad_top = p[0];
  g.pad_left = p[1];
  g.pad_bottom = p[2];
  g.pad_right = p[3];
  g.dilation_h = d[0];
  g.dilation_w = d[1];
  g.groups = kernel_int(o["groups"]);
  return g;
}

val qgemm_create_js(const val& o) {
  auto xt = kernel_dtype(o["inputType"]);
  if (!xt) return error_value(xt.status());
  auto out = kernel_output(o["output"]);
  if (!out) return error_value(out.status());
  auto p = PackedQGemm::pack(kernel_copy<int8_t>(o["weights"]), kernel_int(o["n"]),
                             kernel_int(o["k"]), kernel_copy<float>(o["weightScales"]),
                             kernel_copy<int32_t>(o["bias"]), *xt, o["inputScale"].as<float>(),
                             o["inputZeroPoint"].as<int32_t>(), *out,
                             o["variant"].as<std::string>());
  if (!p) return error_value(p.status());
  auto h = std::make_unique<KernelHandle>();
  h->kind = KernelHandle::Kind::kQGemm;
  h->qgemm = std::move(*p);
  return kernel_add(std::move(h));
}

val qconv_create_js(const val& o) {
  auto xt = kernel_dtype(o["inputType"]);
  if (!xt) return error_value(xt.status());
  auto out = kernel_output(o["output"]);
  if (!out) return error_value(out.status());
  auto p = PackedQConv2d::pack(kernel_copy<int8_t>(o["weights"]), kernel_int(o["cOut"]),
                               kernel_int(o["cIn"]), kernel_geometry(o),
                               kernel_copy<float>(o["weightScales"]),
                               kernel_copy<int32_t>(o["bias"]), *xt,
                               o["inputScale"].as<float>(), o["inputZeroPoint"].as<int32_t>(),
                               *out, o["variant"].as<std::string>());
  if (!p) return error_value(p.status());
  auto h = std::make_unique<KernelHandle>();
  h->kind = KernelHandle::Kind::kQConv;
  h->qconv = std::move(*p);
  return kernel_add(std::move(h));
}

val gemm_f32_create_js(const val& o) {
  auto act = kernel_activation(o["activation"]);
  if (!act) return error_value(act.status());
  auto p = PackedGemmF32::pack(kernel_copy<float>(o["weights"]), kernel_int(o["n"]),
                               kernel_int(o["k"]), kernel_copy<float>(o["bias"]), *act,
                               o["variant"].as<std::string>());
  if (!p) return error_value(p.status());
  auto h = std::make_unique<KernelHandle>();
  h->kind = KernelHandle::Kind::kGemmF32;
  h->gemm = std::move(*p);
  return kernel_add(std::move(h));
}

val conv_f32_create_js(const val& o) {
  auto act = kernel_activation(o["activation"]);
  if (!act) return error_value(act.status());
  auto p = PackedConv2dF32::pack(kernel_copy<float>(o["weights"]), kernel_int(o["cOut"]),
                                 kernel_int(o["cIn"]), kernel_geometry(o),
                                 kernel_copy<float>(o["bias"]), *act,
                                 o["variant"].as<std::string>());
  if (!p) return error_value(p.status());
  auto h = std::make_unique<KernelHandle>();
  h->kind = KernelHandle::Kind::kConvF32;
  h->conv = std::move(*p);
  return kernel_add(std::move(h));
}

/// Element counts and types of one run: input, output, and the output shape.
struct KernelShapes {
  DType x_dtype = DType::kFloat32, y_dtype = DType::kFloat32;
  size_t x_count = 0, y_count = 0;
  std::vector<int64_t> y_shape;
};

Result<KernelShapes> kernel_shapes(const KernelHandle& h, const std::vector<int64_t>& d) {
  KernelShapes s;
  using Kind = KernelHandle::Kind;
  const bool is_gemm = h.kind == Kind::kQGemm || h.kind == Kind::kGemmF32;
  if (is_gemm) {
    if (d.size() != 1 || d[0] < 0 || d[0] > (int64_t{1} << 31)) {
      return invalid_argument("run: m must be an integer >= 0");
    }
    const int64_t n = h.kind == KernelHandle::Kind::kQGemm ? h.qgemm.n() : h.gemm.n();
    const int64_t k = h.kind == KernelHandle::Kind::kQGemm ? h.qgemm.k() : h.gemm.k();
    s.x_count = static_cast<size_t>(d[0] * k);
    s.y_count = static_cast<size_t>(d[0] * n);
    s.y_shape = {d[0], n};
    if (h.kind == KernelHandle::Kind::kQGemm) {
      s.x_dtype = h.qgemm.x_dtype();
      s.y_dtype = h.qgemm.output().dtype;
    }
    return s;
  }
  if (d.size() != 3 || d[0] < 0) return invalid_argument("run: expected batch, h, w");
  const bool q = h.kind == KernelHandle::Kind::kQConv;
  const Conv2dGeometry g = q ? h.qconv.geometry() : h.conv.geometry();
  auto size = conv2d_output_size(d[1], d[2], g);
  if (!size) return size.status();
  const int64_t c_in = q ? h.qconv.c_in() : h.conv.c_in();
  const int64_t c_out = q ? h.qconv.c_out() : h.conv.c_out();
  const double x_count = static_cast<double>(d[0]) * static_cast<double>(c_in) *
                         static_cast<double>(d[1]) * static_cast<double>(d[2]);
  const double y_count = static_cast<double>(d[0]) * static_cast<double>(c_out) *
                         static_cast<double>(size->first) * static_cast<double>(size->second);
  if (x_count > static_cast<double>(kMaxTensorBytes) / 4 ||
      y_count > static_cast<double>(kMaxTensorBytes) / 4) {
    return too_large("run: the input is too large");
  }
  s.x_count = static_cast<size_t>(x_count);
  s.y_count = static_cast<size_t>(y_count);
  s.y_shape = {d[0], c_out, size->first, size->second};
  if (q) {
    s.x_dtype = h.qconv.x_dtype();
    s.y_dtype = h.qconv.output().dtype;
  }
  return s;
}

Status kernel_execute(KernelHandle& h) {
  const auto& d = h.dims;
  switch (h.kind) {
    case KernelHandle::Kind::kQGemm: return h.qgemm.run(h.x.data(), d[0], h.y.data());
    case KernelHandle::Kind::kGemmF32:
      return h.gemm.run(reinterpret_cast<const float*>(h.x.data()), d[0],
                        reinterpret_cast<float*>(h.y.data()));
    case KernelHandle::Kind::kQConv: return h.qconv.run(h.x.data(), d[0], d[1], d[2], h.y.data());
    case KernelHandle::Kind::kConvF32:
      return h.conv.run(reinterpret_cast<const float*>(h.x.data()), d[0], d[1], d[2],
                        reinterpret_cast<float*>(h.y.data()));
  }
  return Status::ok();
}

/// x: a typed array of the handle's input type; dims: [m] or [batch, h, w].
val kernel_run_js(int id, const val& x, const val& dims) {
  auto found = kernel_find(id);
  if (!found) return error_value(found.status());
  KernelHandle& h = **found;
  const auto d = shape_from(dims);
  auto s = kernel_shapes(h, d);
  if (!s) return error_value(s.status());
  const std::string type = x["constructor"]["name"].as<std::string>();
  if (type != kernel_array_name(s->x_dtype)) {
    return error_value(invalid_argument(std::string("run: the input must be a ") +
                                        kernel_array_name(s->x_dtype) + ", got " + type));
  }
  if (x["length"].as<size_t>() != s->x_count) {
    return error_value(shape_mismatch("run: the input has " +
                                      std::to_string(x["length"].as<size_t>()) +
                                      " values, expected " + std::to_string(s->x_count)));
  }
  h.dims = d;
  h.x.resize(s->x_count * dtype_size(s->x_dtype));
  h.y.resize(s->y_count * dtype_size(s->y_dtype));
  if (s->x_count) kernel_view(s->x_dtype, h.x.data(), s->x_count).call<void>("set", x);
  const Status st = kernel_execute(h);
  if (!st) return error_value(st);
  val o = val::object();
  // The typed array constructor copies the view.
  o.set("data", val::global(kernel_array_name(s->y_dtype))
                    .new_(kernel_view(s->y_dtype, h.y.data(), s->y_count)));
  val shape = val::array();
  for (size_t i = 0; i < s->y_shape.size(); ++i) shape.set(i, static_cast<double>(s->y_shape[i]));
  o.set("shape", shape);
  return ok_value(o);
}

/// Kernel-only time of `reps` repetitions on the last run's input, after `warmup` untimed
/// ones: {medianMs, minMs, reps}.
val kernel_benchmark_js(int id, int reps, int warmup) {
  auto found = kernel_find(id);
  if (!found) return error_value(found.status());
  KernelHandle& h = **found;
  if (h.dims.empty()) return error_value(invalid_argument("benchmark: call run() once first"));
  if (reps < 1 || reps > 100000 || warmup < 0 || warmup > 100000) {
    return error_value(invalid_argument("benchmark: reps must be 1..100000, warmup 0..100000"));
  }
  using clock = std::chrono::steady_clock;
  std::vector<double> t;
  for (int i = 0; i < reps + warmup; ++i) {
    const auto t0 = clock::now();
    const Status st = kernel_execute(h);
    const auto t1 = clock::now();
    if (!st) return error_value(st);
    if (i >= warmup) t.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(t.begin(), t.end());
  val o = val::object();
  o.set("medianMs", t[t.size() / 2]);
  o.set("minMs", t.front());
  o.set("reps", reps);
  return ok_value(o);
}

val kernel_info_js(int id) {
  auto found = kernel_find(id);
  if (!found) return error_value(found.status());
  const KernelHandle& h = **found;
  val o = val::object();
  switch (h.kind) {
    case KernelHandle::Kind::kQGemm:
      o.set("variant", h.qgemm.variant());
      o.set("ukernel", h.qgemm.ukernel_name());
      break;
    case KernelHandle::Kind::kQConv:
      o.set("variant", h.qconv.variant());
      o.set("ukernel", h.qconv.ukernel_name());
      o.set("depthwise", h.qconv.depthwise());
      break;
    case KernelHandle::Kind::kGemmF32:
      o.set("variant", h.gemm.variant());
      break;
    case KernelHandle::Kind::kConvF32:
      o.set("variant", h.conv.variant());
      o.set("depthwise", h.conv.depthwise());
      break;
  }
  return ok_value(o);
}

val kernel_dispose_js(int id) { return ok_value(val(kernel_table().erase(id) > 0)); }

val kernel_variants_js() {
  val a = val::array();
  const auto v = gemm_variants();
  for (size_t i = 0; i < v.size(); ++i) a.set(i, v[i]);
  return ok_value(a);
}

}  // namespace

EMSCRIPTEN_BINDINGS(quantlab_kernels) {
  using emscripten::function;
  function("kernelVariants", &kernel_variants_js);
  function("qgemmCreate", &qgemm_create_js);
  function("qconvCreate", &qconv_create_js);
  function("gemmF32Create", &gemm_f32_create_js);
  function("convF32Create", &conv_f32_create_js);
  function("kernelRun", &kernel_run_js);
  function("kernelBenchmark", &kernel_benchmark_js);
  function("kernelInfo", &kernel_info_js);
  function("kernelDispose", &kernel_dispose_js);
}
// ===== End of kernels ========================================================================

// ===== Compression: k-means, Huffman, pruning, compressed files, training (issue 5) ========
// Long-lived objects (a prefix code with its decoder, a trainable network) stay in wasm
// memory under an integer id until JavaScript disposes them (quantlab.mjs wraps the ids in
// HuffmanCode and Network). Typed arrays are copied in with TypedArray.set and out into new
// typed arrays. Progress callbacks are JavaScript functions called synchronously.
#include <chrono>
#include <map>
#include <memory>

#include "quantlab/compressed.hpp"
#include "quantlab/deep_compression.hpp"
#include "quantlab/huffman.hpp"
#include "quantlab/kmeans.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/prune.hpp"
#include "quantlab/train.hpp"

namespace {

template <class T>
const char* dc_array_name();
template <> const char* dc_array_name<float>() { return "Float32Array"; }
template <> const char* dc_array_name<double>() { return "Float64Array"; }
template <> const char* dc_array_name<int32_t>() { return "Int32Array"; }
template <> const char* dc_array_name<uint8_t>() { return "Uint8Array"; }
template <> const char* dc_array_name<uint16_t>() { return "Uint16Array"; }
template <> const char* dc_array_name<uint32_t>() { return "Uint32Array"; }

/// A JS typed array (of the matching type, checked by the wrapper) copied into a vector.
template <class T>
std::vector<T> dc_in(const val& a) {
  const auto n = a["length"].as<size_t>();
  std::vector<T> v(n);
  if (n) val(emscripten::typed_memory_view(n, v.data())).call<void>("set", a);
  return v;
}

/// A copy of v as a new JS typed array.
template <class T>
val dc_out(const std::vector<T>& v) {
  return val::global(dc_array_name<T>()).new_(val(emscripten::typed_memory_view(v.size(), v.data())));
}

Shape dc_shape(const val& a) {
  const std::vector<double> d = emscripten::convertJSArrayToNumberVector<double>(a);
  return Shape(d.begin(), d.end());
}

val dc_shape_out(const Shape& s) {
  val a = val::array();
  for (size_t i = 0; i < s.size(); ++i) a.set(i, static_cast<double>(s[i]));
  return a;
}

ProgressFn dc_progress(const val& fn) {
  if (fn.typeOf().as<std::string>() != "function") return {};
  return [fn](const Progress& p) {
    val r = val::object();
    r.set("stage", std::string(p.stage));
    r.set("done", static_cast<double>(p.done));
    r.set("total", static_cast<double>(p.total));
    r.set("value", p.value);
    fn(r);
  };
}

// --- K-means ------------------------------------------------------------------------------------

Result<KMeansOptions> dc_kmeans_options(const val& o) {
  KMeansOptions k;
  const std::string method = o["method"].as<std::string>();
  if (method == "lloyd") k.method = KMeansMethod::kLloyd;
  else if (method == "optimal") k.method = KMeansMethod::kOptimal;
  else return invalid_argument("k-means method must be 'lloyd' or 'optimal', got '" + method + "'");
  const std::string init = o["init"].as<std::string>();
  if (init == "linear") k.init = KMeansInit::kLinear;
  else if (init == "density") k.init = KMeansInit::kDensity;
  else if (init == "random") k.init = KMeansInit::kRandom;
  else if (init == "kmeans++") k.init = KMeansInit::kPlusPlus;
  else return invalid_argument("k-means init must be 'linear', 'density', 'random' or 'kmeans++', got '" + init + "'");
  k.iterations = o["iterations"].as<int>();
  k.seed = o["seed"].as<uint32_t>();
  k.pinned_zero = o["pinnedZero"].as<bool>();
  return k;
}

val dc_codebook_out(const Codebook& cb) {
  val o = val::object();
  o.set("centroids", dc_out(cb.centroids));
  o.set("labels", dc_out(cb.labels));
  o.set("pinnedZero", cb.pinned_zero);
  return o;
}

Codebook dc_codebook_in(const val& o) {
  Codebook cb;
  cb.centroids = dc_in<float>(o["centroids"]);
  cb.labels = dc_in<int32_t>(o["labels"]);
  cb.pinned_zero = o["pinnedZero"].as<bool>();
  return cb;
}

val dc_kmeans_js(const val& weights, int bits, const val& options, const val& on_progress) {
  auto o = dc_kmeans_options(options);
  if (!o) return error_value(o.status());
  auto r = k_means(dc_in<float>(weights), bits, *o, dc_progress(on_progress));
  if (!r) return error_value(r.status());
  val out = dc_codebook_out(r->codebook);
  out.set("mse", r->mse);
  out.set("iterations", r->iterations);
  return ok_value(out);
}

val dc_kmeans_init_js(const val& weights, int k, const val& options) {
  auto o = dc_kmeans_options(options);
  if (!o) return error_value(o.status());
  auto c = k_means_init(dc_in<float>(weights), k, o->init, o->seed);
  if (!c) return error_value(c.status());
  return ok_value(dc_out(*c));
}

val dc_codebook_storage_js(double n, int bits) {
  if (!(n >= 0) || bits < 1 || bits > kMaxKMeansBits) {
    return error_value(invalid_argument("codebookStorageBytes: n >= 0 and bits 1..8"));
  }
  return ok_value(val(static_cast<double>(codebook_storage_bytes(static_cast<size_t>(n), bits))));
}

val dc_update_codebook_js(const val& weights, const val& codebook) {
  Codebook cb = dc_codebook_in(codebook);
  Status s = update_codebook(dc_in<float>(weights), cb);
  if (!s) return error_value(s);
  return ok_value(dc_out(cb.centroids));
}

val dc_cluster_gradients_js(const val& grad, const val& codebook) {
  auto sums = cluster_gradient_sums(dc_in<float>(grad), dc_codebook_in(codebook));
  if (!sums) return error_value(sums.status());
  return ok_value(dc_out(*sums));
}

// --- Huffman ------------------------------------------------------------------------------------

struct DcCode {
  PrefixCode code;
  HuffmanDecoder decoder;
};

std::map<int, std::unique_ptr<DcCode>>& dc_codes() {
  static std::map<int, std::unique_ptr<DcCode>> t;
  return t;
}

int dc_next_id() {
  static int next = 1;
  return next++;
}

Result<DcCode*> dc_code(int id) {
  auto it = dc_codes().find(id);
  if (it == dc_codes().end()) return invalid_argument("the code was disposed");
  return it->second.get();
}

val dc_code_register(Result<PrefixCode> code) {
  if (!code) return error_value(code.status());
  auto entry = std::make_unique<DcCode>();
  entry->code = std::move(code).value();
  if (entry->code.max_length() > 0) {
    auto d = HuffmanDecoder::create(entry->code);
    if (!d) return error_value(d.status());
    entry->decoder = std::move(d).value();
  }
  const int id = dc_next_id();
  dc_codes()[id] = std::move(entry);
  return ok_value(val(id));
}

std::vector<uint64_t> dc_freq(const val& a) {
  const std::vector<double> d = dc_in<double>(a);
  std::vector<uint64_t> f(d.size());
  for (size_t i = 0; i < d.size(); ++i) f[i] = d[i] > 0 ? static_cast<uint64_t>(d[i]) : 0;
  return f;
}

val dc_huffman_code_js(const val& freq, int max_length) {
  return dc_code_register(huffman_code(dc_freq(freq), max_length));
}

val dc_prefix_code_js(const val& words) {
  std::vector<std::string> w;
  const int n = words["length"].as<int>();
  for (int i = 0; i < n; ++i) w.push_back(words[i].as<std::string>());
  return dc_code_register(prefix_code_from_strings(w));
}

val dc_canonical_code_js(const val& lengths) {
  return dc_code_register(canonical_code(dc_in<uint8_t>(lengths)));
}

val dc_code_info_js(int id) {
  auto c = dc_code(id);
  if (!c) return error_value(c.status());
  const PrefixCode& code = (*c)->code;
  val o = val::object();
  o.set("lengths", dc_out(code.lengths));
  o.set("codes", dc_out(code.codes));
  val words = val::array();
  for (size_t s = 0; s < code.alphabet_size(); ++s) words.set(s, code.codeword(s));
  o.set("codewords", words);
  o.set("maxLength", code.max_length());
  return ok_value(o);
}

val dc_encoded_out(const EncodedBits& e) {
  val o = val::object();
  o.set("bytes", dc_out(e.bytes));
  o.set("bitCount", static_cast<double>(e.bit_count));
  return o;
}

val dc_code_encode_js(int id, const val& symbols) {
  auto c = dc_code(id);
  if (!c) return error_value(c.status());
  auto e = huffman_encode(dc_in<uint16_t>(symbols), (*c)->code);
  if (!e) return error_value(e.status());
  return ok_value(dc_encoded_out(*e));
}

val dc_code_decode_js(int id, const val& bytes, double count) {
  auto c = dc_code(id);
  if (!c) return error_value(c.status());
  if ((*c)->code.max_length() == 0) return error_value(empty_input("the code has no codewords"));
  const std::vector<uint8_t> b = dc_in<uint8_t>(bytes);
  if (!(count >= 0) || count > 8.0 * static_cast<double>(b.size())) {
    return error_value(malformed("cannot decode " + std::to_string(count) + " symbols from " +
                                 std::to_string(b.size()) + " bytes"));
  }
  std::vector<uint16_t> out(static_cast<size_t>(count));
  auto used = (*c)->decoder.decode(b, out);
  if (!used) return error_value(used.status());
  val o = val::object();
  o.set("symbols", dc_out(out));
  o.set("bitsUsed", static_cast<double>(*used));
  return ok_value(o);
}

/// Decodes `count` symbols `reps` times in a C++ loop: milliseconds per decode.
val dc_code_benchmark_js(int id, const val& bytes, double count, int reps) {
  auto c = dc_code(id);
  if (!c) return error_value(c.status());
  const std::vector<uint8_t> b = dc_in<uint8_t>(bytes);
  std::vector<uint16_t> out(static_cast<size_t>(count));
  if (reps < 1 || out.empty()) return error_value(invalid_argument("benchmark: reps >= 1 and count >= 1"));
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    auto used = (*c)->decoder.decode(b, out);
    if (!used) return error_value(used.status());
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return ok_value(val(ms / reps));
}

val dc_code_statistics_js(int id, const val& freq) {
  auto c = dc_code(id);
  if (!c) return error_value(c.status());
  auto st = code_statistics((*c)->code, dc_freq(freq));
  if (!st) return error_value(st.status());
  val o = val::object();
  o.set("symbols", static_cast<double>(st->symbols));
  o.set("totalBits", static_cast<double>(st->total_bits));
  o.set("averageLength", st->average_length);
  o.set("entropy", st->entropy);
  return ok_value(o);
}

val dc_code_tree_js(int id, const val& freq) {
  auto c = dc_code(id);
  if (!c) return error_value(c.status());
  std::vector<uint64_t> f;
  if (!freq.isNull() && !freq.isUndefined()) f = dc_freq(freq);
  auto tree = code_tree((*c)->code, f);
  if (!tree) return error_value(tree.status());
  val a = val::array();
  for (size_t i = 0; i < tree->size(); ++i) {
    const CodeTreeNode& n = (*tree)[i];
    val o = val::object();
    val ch = val::array();
    ch.set(0, n.child[0]);
    ch.set(1, n.child[1]);
    o.set("children", ch);
    o.set("symbol", n.symbol);
    o.set("count", static_cast<double>(n.count));
    a.set(i, o);
  }
  return ok_value(a);
}

val dc_code_dispose_js(int id) { return ok_value(val(dc_codes().erase(id) > 0)); }

val dc_huffman_compress_js(const val& symbols, int alphabet, int max_length) {
  if (alphabet < 1) return error_value(invalid_argument("alphabetSize must be >= 1"));
  auto h = huffman_compress(dc_in<uint16_t>(symbols), static_cast<size_t>(alphabet), max_length);
  if (!h) return error_value(h.status());
  val o = dc_encoded_out(h->encoded);
  o.set("lengths", dc_out(h->code.lengths));
  o.set("averageLength", h->stats.average_length);
  o.set("entropy", h->stats.entropy);
  o.set("totalBits", static_cast<double>(h->stats.total_bits));
  o.set("symbols", static_cast<double>(h->stats.symbols));
  return ok_value(o);
}

// --- Pruning ------------------------------------------------------------------------------------

val dc_prune_mask_js(const val& weights, double sparsity) {
  auto m = magnitude_prune_mask(dc_in<float>(weights), sparsity);
  if (!m) return error_value(m.status());
  return ok_value(dc_out(*m));
}

val dc_global_prune_js(const val& layers, double sparsity) {
  std::vector<std::vector<float>> w;
  const int n = layers["length"].as<int>();
  for (int i = 0; i < n; ++i) w.push_back(dc_in<float>(layers[i]));
  std::vector<std::span<const float>> spans(w.begin(), w.end());
  auto masks = global_magnitude_prune_masks(spans, sparsity);
  if (!masks) return error_value(masks.status());
  val a = val::array();
  for (size_t i = 0; i < masks->size(); ++i) a.set(i, dc_out((*masks)[i]));
  return ok_value(a);
}

val dc_prune_schedule_js(double final_sparsity, int steps, const std::string& kind) {
  PruneSchedule k;
  if (kind == "cubic") k = PruneSchedule::kCubic;
  else if (kind == "linear") k = PruneSchedule::kLinear;
  else return error_value(invalid_argument("schedule must be 'cubic' or 'linear', got '" + kind + "'"));
  auto s = prune_schedule(final_sparsity, steps, k);
  if (!s) return error_value(s.status());
  val a = val::array();
  for (size_t i = 0; i < s->size(); ++i) a.set(i, (*s)[i]);
  return ok_value(a);
}

val dc_relative_indices_js(const val& mask, int gap_bits, int value_bits, double codebook_bytes) {
  auto r = encode_relative_indices(dc_in<uint8_t>(mask), gap_bits);
  if (!r) return error_value(r.status());
  if (value_bits < 1 || value_bits > 64 || !(codebook_bytes >= 0)) {
    return error_value(invalid_argument("valueBits must be 1..64 and codebookBytes >= 0"));
  }
  const SparseStorage s = sparse_storage(*r, value_bits, static_cast<size_t>(codebook_bytes));
  val o = val::object();
  o.set("gaps", dc_out(r->gaps));
  o.set("positions", dc_out(r->positions));
  o.set("fillers", static_cast<double>(r->fillers));
  o.set("entries", static_cast<double>(s.entries));
  o.set("indexBits", static_cast<double>(s.index_bits));
  o.set("valueBits", static_cast<double>(s.value_bits));
  o.set("bytes", static_cast<double>(s.bytes));
  return ok_value(o);
}

val dc_decode_relative_js(const val& gaps, int gap_bits, double dense_size) {
  auto p = decode_relative_indices(dc_in<uint32_t>(gaps), gap_bits, static_cast<size_t>(dense_size));
  if (!p) return error_value(p.status());
  return ok_value(dc_out(*p));
}

val dc_best_gap_bits_js(const val& mask, int value_bits) {
  auto b = best_gap_bits(dc_in<uint8_t>(mask), value_bits);
  if (!b) return error_value(b.status());
  return ok_value(val(*b));
}

// --- Networks (training) ------------------------------------------------------------------------

std::map<int, std::unique_ptr<Network>>& dc_networks() {
  static std::map<int, std::unique_ptr<Network>> t;
  return t;
}

Result<Network*> dc_network(int id) {
  auto it = dc_networks().find(id);
  if (it == dc_networks().end()) return invalid_argument("the network was disposed");
  return it->second.get();
}

int dc_network_register(Network net) {
  const int id = dc_next_id();
  dc_networks()[id] = std::make_unique<Network>(std::move(net));
  return id;
}

val dc_network_from_onnx_js(const val& bytes) {
  auto m = parse_onnx_model(dc_in<uint8_t>(bytes));
  if (!m) return error_value(m.status());
  auto net = network_from_onnx(*m);
  if (!net) return error_value(net.status());
  return ok_value(val(dc_network_register(std::move(net).value())));
}

val dc_network_clone_js(int id) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  return ok_value(val(dc_network_register(**n)));
}

val dc_network_dispose_js(int id) { return ok_value(val(dc_networks().erase(id) > 0)); }

val dc_network_info_js(int id) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  const Network& net = **n;
  val o = val::object();
  o.set("inputShape", dc_shape_out(net.input_shape()));
  o.set("outputShape", dc_shape_out(net.output_shape()));
  val layers = val::array();
  for (size_t i = 0; i < net.layers().size(); ++i) {
    const Layer& l = net.layers()[i];
    val L = val::object();
    L.set("kind", std::string(layer_kind_name(l.kind)));
    L.set("name", l.name);
    val ps = val::array();
    size_t k = 0;
    for (int p : l.params) {
      if (p >= 0) ps.set(k++, net.params()[static_cast<size_t>(p)].name);
    }
    L.set("params", ps);
    L.set("inputShape", dc_shape_out(l.input_shape));
    L.set("outputShape", dc_shape_out(l.output_shape));
    layers.set(i, L);
  }
  o.set("layers", layers);
  val params = val::array();
  for (size_t i = 0; i < net.params().size(); ++i) {
    const Parameter& p = net.params()[i];
    val P = val::object();
    P.set("name", p.name);
    P.set("shape", dc_shape_out(p.shape));
    P.set("size", static_cast<double>(p.size()));
    P.set("trainable", p.trainable);
    P.set("sparsity", p.mask.empty() ? 0.0 : mask_sparsity(p.mask));
    P.set("bits", p.codebook ? p.codebook->bits() : 0);
    params.set(i, P);
  }
  o.set("params", params);
  o.set("parameterCount", static_cast<double>(net.parameter_count()));
  return ok_value(o);
}

val dc_network_get_js(int id, const std::string& name) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  const Parameter* p = (*n)->param(name);
  if (!p) return error_value(invalid_argument("no parameter '" + name + "'"));
  val o = val::object();
  o.set("values", dc_out(p->value));
  o.set("shape", dc_shape_out(p->shape));
  o.set("mask", p->mask.empty() ? val::null() : dc_out(p->mask));
  o.set("codebook", p->codebook ? dc_codebook_out(*p->codebook) : val::null());
  return ok_value(o);
}

val dc_network_set_js(int id, const std::string& name, const val& values) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  Parameter* p = (*n)->param(name);
  if (!p) return error_value(invalid_argument("no parameter '" + name + "'"));
  std::vector<float> v = dc_in<float>(values);
  if (v.size() != p->size()) return error_value(shape_mismatch("'" + name + "' has " + std::to_string(p->size()) + " values"));
  for (float x : v) if (!std::isfinite(x)) return error_value(not_finite("values are not finite"));
  p->value = std::move(v);
  p->codebook.reset();
  if (!p->mask.empty()) (void)apply_mask(p->value, p->mask);
  return ok_value(val(true));
}

Result<ImageDataset> dc_dataset(const std::vector<uint8_t>& images, const std::vector<uint8_t>& labels, const val& o) {
  ImageDataset d;
  d.images = images;
  d.labels = labels;
  d.count = static_cast<int64_t>(labels.size());
  d.channels = static_cast<int64_t>(o["channels"].as<double>());
  d.height = static_cast<int64_t>(o["height"].as<double>());
  d.width = static_cast<int64_t>(o["width"].as<double>());
  d.mean = o["mean"].as<float>();
  d.std = o["std"].as<float>();
  QL_RETURN_IF_ERROR(validate_dataset(d));
  return d;
}

Result<TrainOptions> dc_train_options(const val& options) {
  TrainOptions t;
  const std::string opt = options["optimizer"].as<std::string>();
  if (opt == "sgd") t.optimizer = OptimizerKind::kSgd;
  else if (opt == "adam") t.optimizer = OptimizerKind::kAdam;
  else return invalid_argument("optimizer must be 'sgd' or 'adam', got '" + opt + "'");
  t.learning_rate = options["learningRate"].as<float>();
  t.momentum = options["momentum"].as<float>();
  t.weight_decay = options["weightDecay"].as<float>();
  t.cosine_decay = options["cosineDecay"].as<bool>();
  t.epochs = options["epochs"].as<int>();
  t.batch_size = options["batchSize"].as<int>();
  t.max_steps = static_cast<int64_t>(options["maxSteps"].as<double>());
  t.seed = options["seed"].as<uint32_t>();
  return t;
}

val dc_network_forward_js(int id, const val& x, const val& shape) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  std::vector<float> v = dc_in<float>(x);
  Shape s = dc_shape(shape);
  auto count = shape_size(s);
  if (!count) return error_value(count.status());
  if (*count != v.size()) return error_value(shape_mismatch("input data and shape disagree"));
  auto y = (*n)->forward(Tensor::from<float>(s, std::move(v)));
  if (!y) return error_value(y.status());
  auto d = y->data<float>();
  val o = val::object();
  o.set("data", dc_out(std::vector<float>(d.begin(), d.end())));
  o.set("shape", dc_shape_out(y->shape()));
  return ok_value(o);
}

val dc_network_evaluate_js(int id, const val& images, const val& labels, const val& options, const val& on_progress) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  const std::vector<uint8_t> img = dc_in<uint8_t>(images), lab = dc_in<uint8_t>(labels);
  auto d = dc_dataset(img, lab, options);
  if (!d) return error_value(d.status());
  auto st = evaluate(**n, *d, options["batchSize"].as<int>(), dc_progress(on_progress));
  if (!st) return error_value(st.status());
  val o = val::object();
  o.set("accuracy", st->accuracy);
  o.set("loss", st->loss);
  o.set("predictions", dc_out(st->predictions));
  return ok_value(o);
}

val dc_network_train_js(int id, const val& images, const val& labels, const val& options, const val& on_progress) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  const std::vector<uint8_t> img = dc_in<uint8_t>(images), lab = dc_in<uint8_t>(labels);
  auto d = dc_dataset(img, lab, options);
  if (!d) return error_value(d.status());
  auto t = dc_train_options(options);
  if (!t) return error_value(t.status());
  Trainer trainer(**n, *t);
  auto st = trainer.fit(*d, dc_progress(on_progress));
  if (!st) return error_value(st.status());
  val o = val::object();
  o.set("steps", static_cast<double>(st->steps));
  o.set("epochLoss", dc_out(st->epoch_loss));
  return ok_value(o);
}

val dc_network_prune_js(int id, const val& names, double sparsity, bool global) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  Network& net = **n;
  std::vector<std::string> list;
  const int count = names["length"].as<int>();
  for (int i = 0; i < count; ++i) list.push_back(names[i].as<std::string>());
  std::vector<std::span<const float>> spans;
  for (const auto& name : list) {
    const Parameter* p = net.param(name);
    if (!p) return error_value(invalid_argument("no parameter '" + name + "'"));
    spans.push_back(p->value);
  }
  std::vector<PruneMask> masks;
  if (global) {
    auto m = global_magnitude_prune_masks(spans, sparsity);
    if (!m) return error_value(m.status());
    masks = std::move(m).value();
  } else {
    for (const auto& s : spans) {
      auto m = magnitude_prune_mask(s, sparsity);
      if (!m) return error_value(m.status());
      masks.push_back(std::move(m).value());
    }
  }
  val out = val::array();
  for (size_t i = 0; i < list.size(); ++i) {
    // Keep earlier pruning: a weight pruned before stays pruned.
    const Parameter* p = net.param(list[i]);
    if (!p->mask.empty()) for (size_t j = 0; j < masks[i].size(); ++j) masks[i][j] &= p->mask[j];
    const double s = mask_sparsity(masks[i]);
    Status st = net.set_mask(list[i], std::move(masks[i]));
    if (!st) return error_value(st);
    out.set(i, s);
  }
  return ok_value(out);
}

val dc_network_set_mask_js(int id, const std::string& name, const val& mask) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  Status st = (*n)->set_mask(name, dc_in<uint8_t>(mask));
  if (!st) return error_value(st);
  return ok_value(val(true));
}

val dc_network_quantize_js(int id, const std::string& name, int bits, const val& options, const val& on_progress) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  Parameter* p = (*n)->param(name);
  if (!p) return error_value(invalid_argument("no parameter '" + name + "'"));
  auto o = dc_kmeans_options(options);
  if (!o) return error_value(o.status());
  if (!p->mask.empty()) o->pinned_zero = true;  // pruned weights stay at the pinned zero
  auto r = k_means(p->value, bits, *o, dc_progress(on_progress));
  if (!r) return error_value(r.status());
  Status st = (*n)->set_codebook(name, r->codebook);
  if (!st) return error_value(st);
  val out = dc_codebook_out(r->codebook);
  out.set("mse", r->mse);
  return ok_value(out);
}

val dc_network_clear_codebook_js(int id, const std::string& name) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  Status st = (*n)->clear_codebook(name);
  if (!st) return error_value(st);
  return ok_value(val(true));
}

val dc_network_fold_js(int id) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  auto f = (*n)->fold_batch_norm();
  if (!f) return error_value(f.status());
  return ok_value(val(*f));
}

val dc_network_to_onnx_js(int id) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  auto m = network_to_onnx(**n);
  if (!m) return error_value(m.status());
  return ok_value(dc_out(serialize_onnx_model(*m)));
}

val dc_network_encode_js(int id, const val& options) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  NetworkCompression c;
  c.gap_bits_conv = options["gapBitsConv"].as<int>();
  c.gap_bits_fc = options["gapBitsFc"].as<int>();
  c.huffman = options["huffman"].as<bool>();
  auto f = encode_network(**n, c);
  if (!f) return error_value(f.status());
  return ok_value(dc_out(*f));
}

/// train / test: {images, labels}; options as DeepCompressionOptions (quantlab.mjs fills
/// every field).
val dc_network_deep_compression_js(int id, const val& train, const val& test, const val& options,
                                   const val& on_progress) {
  auto n = dc_network(id);
  if (!n) return error_value(n.status());
  const std::vector<uint8_t> ti = dc_in<uint8_t>(train["images"]), tl = dc_in<uint8_t>(train["labels"]);
  const std::vector<uint8_t> vi = dc_in<uint8_t>(test["images"]), vl = dc_in<uint8_t>(test["labels"]);
  const val shape = options["dataset"];
  auto td = dc_dataset(ti, tl, shape);
  if (!td) return error_value(td.status());
  auto vd = dc_dataset(vi, vl, shape);
  if (!vd) return error_value(vd.status());
  DeepCompressionOptions o;
  const val layers = options["layers"];
  for (int i = 0; i < layers["length"].as<int>(); ++i) {
    LayerPlan lp;
    lp.param = layers[i]["param"].as<std::string>();
    lp.sparsity = layers[i]["sparsity"].as<double>();
    lp.bits = layers[i]["bits"].as<int>();
    lp.gap_bits = layers[i]["gapBits"].as<int>();
    o.layers.push_back(lp);
  }
  o.conv_sparsity = options["convSparsity"].as<double>();
  o.fc_sparsity = options["fcSparsity"].as<double>();
  o.conv_bits = options["convBits"].as<int>();
  o.fc_bits = options["fcBits"].as<int>();
  o.prune_steps = options["pruneSteps"].as<int>();
  const std::string schedule = options["schedule"].as<std::string>();
  if (schedule == "cubic") o.schedule = PruneSchedule::kCubic;
  else if (schedule == "linear") o.schedule = PruneSchedule::kLinear;
  else return error_value(invalid_argument("schedule must be 'cubic' or 'linear'"));
  o.retrain_epochs = options["retrainEpochs"].as<int>();
  o.quantized_epochs = options["quantizedEpochs"].as<int>();
  auto ko = dc_kmeans_options(options["kmeans"]);
  if (!ko) return error_value(ko.status());
  o.kmeans = *ko;
  auto to = dc_train_options(options["train"]);
  if (!to) return error_value(to.status());
  o.train = *to;
  o.quantized_lr_scale = options["quantizedLrScale"].as<float>();
  o.huffman = options["huffman"].as<bool>();
  o.eval_batch = options["dataset"]["batchSize"].as<int>();
  auto r = deep_compression(**n, *td, *vd, o, dc_progress(on_progress));
  if (!r) return error_value(r.status());
  val out = val::object();
  val stages = val::array();
  for (size_t i = 0; i < r->stages.size(); ++i) {
    const StageReport& s = r->stages[i];
    val S = val::object();
    S.set("stage", s.stage);
    S.set("bytes", static_cast<double>(s.bytes));
    S.set("ratio", s.ratio);
    S.set("accuracy", s.accuracy);
    S.set("loss", s.loss);
    stages.set(i, S);
  }
  out.set("stages", stages);
  val ls = val::array();
  for (size_t i = 0; i < r->layers.size(); ++i) {
    const LayerReport& l = r->layers[i];
    val L = val::object();
    L.set("param", l.param);
    L.set("size", static_cast<double>(l.size));
    L.set("kept", static_cast<double>(l.kept));
    L.set("bits", l.bits);
    L.set("gapBits", l.gap_bits);
    L.set("kmeansMse", l.kmeans_mse);
    L.set("fp32Bytes", static_cast<double>(l.fp32_bytes));
    L.set("prunedBytes", static_cast<double>(l.pruned_bytes));
    L.set("quantizedBytes", static_cast<double>(l.quantized_bytes));
    L.set("huffmanBytes", static_cast<double>(l.huffman_bytes));
    ls.set(i, L);
  }
  out.set("layers", ls);
  out.set("file", dc_out(r->file));
  return ok_value(out);
}

// --- The compressed file ----------------------------------------------------------------------

val dc_sizes_out(const TensorSizes& s) {
  val o = val::object();
  o.set("header", static_cast<double>(s.header));
  o.set("raw", static_cast<double>(s.raw));
  o.set("codebook", static_cast<double>(s.codebook));
  o.set("index", static_cast<double>(s.index));
  o.set("labels", static_cast<double>(s.labels));
  o.set("tables", static_cast<double>(s.tables));
  o.set("entries", static_cast<double>(s.entries));
  o.set("fillers", static_cast<double>(s.fillers));
  o.set("total", static_cast<double>(s.total()));
  return o;
}

val dc_encode_compressed_js(const val& tensors) {
  std::vector<TensorToCompress> ts;
  const int n = tensors["length"].as<int>();
  for (int i = 0; i < n; ++i) {
    const val t = tensors[i];
    TensorToCompress c;
    c.name = t["name"].as<std::string>();
    c.shape = dc_shape(t["shape"]);
    c.coding.bits = t["bits"].as<int>();
    c.coding.gap_bits = t["gapBits"].as<int>();
    c.coding.huffman = t["huffman"].as<bool>();
    if (c.coding.bits == 0) c.values = dc_in<float>(t["values"]);
    else c.codebook = dc_codebook_in(t["codebook"]);
    ts.push_back(std::move(c));
  }
  auto f = encode_compressed(ts);
  if (!f) return error_value(f.status());
  return ok_value(dc_out(*f));
}

val dc_decode_compressed_js(const val& bytes) {
  auto m = decode_compressed(dc_in<uint8_t>(bytes));
  if (!m) return error_value(m.status());
  val o = val::object();
  val ts = val::array();
  for (size_t i = 0; i < m->tensors.size(); ++i) {
    const DecodedTensor& t = m->tensors[i];
    val T = val::object();
    T.set("name", t.name);
    T.set("shape", dc_shape_out(t.shape));
    T.set("values", dc_out(t.values));
    T.set("bits", t.coding.bits);
    T.set("gapBits", t.coding.gap_bits);
    T.set("huffman", t.coding.huffman);
    T.set("sizes", dc_sizes_out(t.sizes));
    ts.set(i, T);
  }
  o.set("tensors", ts);
  o.set("fileBytes", static_cast<double>(m->file_bytes));
  o.set("architectureBytes", static_cast<double>(m->architecture_bytes));
  o.set("network", m->network ? val(dc_network_register(std::move(*m->network))) : val::null());
  return ok_value(o);
}

val dc_crc32_js(const val& bytes) { return ok_value(val(static_cast<double>(crc32(dc_in<uint8_t>(bytes))))); }

}  // namespace

EMSCRIPTEN_BINDINGS(quantlab_compression) {
  using emscripten::function;
  function("dcKMeans", &dc_kmeans_js);
  function("dcKMeansInit", &dc_kmeans_init_js);
  function("dcCodebookStorageBytes", &dc_codebook_storage_js);
  function("dcUpdateCodebook", &dc_update_codebook_js);
  function("dcClusterGradients", &dc_cluster_gradients_js);
  function("dcHuffmanCode", &dc_huffman_code_js);
  function("dcPrefixCode", &dc_prefix_code_js);
  function("dcCanonicalCode", &dc_canonical_code_js);
  function("dcCodeInfo", &dc_code_info_js);
  function("dcCodeEncode", &dc_code_encode_js);
  function("dcCodeDecode", &dc_code_decode_js);
  function("dcCodeBenchmark", &dc_code_benchmark_js);
  function("dcCodeStatistics", &dc_code_statistics_js);
  function("dcCodeTree", &dc_code_tree_js);
  function("dcCodeDispose", &dc_code_dispose_js);
  function("dcHuffmanCompress", &dc_huffman_compress_js);
  function("dcPruneMask", &dc_prune_mask_js);
  function("dcGlobalPruneMasks", &dc_global_prune_js);
  function("dcPruneSchedule", &dc_prune_schedule_js);
  function("dcRelativeIndices", &dc_relative_indices_js);
  function("dcDecodeRelativeIndices", &dc_decode_relative_js);
  function("dcBestGapBits", &dc_best_gap_bits_js);
  function("dcNetworkFromOnnx", &dc_network_from_onnx_js);
  function("dcNetworkClone", &dc_network_clone_js);
  function("dcNetworkDispose", &dc_network_dispose_js);
  function("dcNetworkInfo", &dc_network_info_js);
  function("dcNetworkGet", &dc_network_get_js);
  function("dcNetworkSet", &dc_network_set_js);
  function("dcNetworkForward", &dc_network_forward_js);
  function("dcNetworkEvaluate", &dc_network_evaluate_js);
  function("dcNetworkTrain", &dc_network_train_js);
  function("dcNetworkPrune", &dc_network_prune_js);
  function("dcNetworkSetMask", &dc_network_set_mask_js);
  function("dcNetworkQuantize", &dc_network_quantize_js);
  function("dcNetworkClearCodebook", &dc_network_clear_codebook_js);
  function("dcNetworkFoldBatchNorm", &dc_network_fold_js);
  function("dcNetworkToOnnx", &dc_network_to_onnx_js);
  function("dcNetworkEncode", &dc_network_encode_js);
  function("dcNetworkDeepCompression", &dc_network_deep_compression_js);
  function("dcEncodeCompressed", &dc_encode_compressed_js);
  function("dcDecodeCompressed", &dc_decode_compressed_js);
  function("dcCrc32", &dc_crc32_js);
}
// ===== End of compression ===================================================================

// ===== Post-training quantization (issue 4) ==================================================
// quantizeModel: a loaded fp32 model + calibration images -> a PtqResult kept under an id
// (for the report and ONNX export) and its int8 graph loaded as an ordinary Model in
// model_table() (so JavaScript wraps it in a normal Model handle).
#include "quantlab/ptq.hpp"

namespace {

std::map<int, std::unique_ptr<PtqResult>>& ptq_table() {
  static std::map<int, std::unique_ptr<PtqResult>> table;
  return table;
}

val ptq_layer_to_js(const PtqLayerReport& L) {
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
  o.set("weightScales", to_js(L.weight_scales));
  o.set("multipliers", to_js(L.multipliers));
  o.set("m0", to_js(L.m0));
  o.set("shift", to_js(L.shift));
  o.set("mse", L.mse);
  o.set("sqnrDb", L.sqnr_db);
  return o;
}

/// options: {method, percentile, activations, perChannel, reduceRange, requantMode,
/// batchSize} (validated and defaulted by quantlab.mjs); data: Float32Array of shape.
val ptq_quantize_js(int model_id, const val& data, const val& shape, const val& options,
                    const val& on_progress) {
  auto found = find_model(model_id);
  if (!found) return error_value(found.status());
  PtqOptions o;
  const std::string method = options["method"].as<std::string>();
  if (method == "minmax") o.calibration.method = CalibrationMethod::kMinMax;
  else if (method == "percentile") o.calibration.method = CalibrationMethod::kPercentile;
  else if (method == "mse") o.calibration.method = CalibrationMethod::kMse;
  else if (method == "kl") o.calibration.method = CalibrationMethod::kKl;
  else {
    return error_value(invalid_argument("method must be 'minmax', 'percentile', 'mse' or 'kl', got '" +
                                        method + "'"));
  }
  o.calibration.percentile = options["percentile"].as<double>();
  o.activations_signed = options["activations"].as<std::string>() == "int8";
  o.per_channel = options["perChannel"].as<bool>();
  o.reduce_range = options["reduceRange"].as<bool>();
  o.requant_mode = options["requantMode"].as<std::string>() == "fp32" ? RequantMode::kFp32
                                                                      : RequantMode::kFixedPoint;
  const auto batch = static_cast<int64_t>(options["batchSize"].as<double>());
  if (batch < 1) return error_value(invalid_argument("batchSize must be >= 1"));

  // The calibration array split along dimension 0 into batches.
  const std::vector<int64_t> dims = shape_from(shape);
  if (dims.empty()) return error_value(shape_mismatch("the calibration shape must have rank >= 1"));
  auto total = shape_size(dims);
  if (!total) return error_value(total.status());
  const auto n = data["length"].as<size_t>();
  if (n != *total) {
    return error_value(shape_mismatch("the calibration data has " + std::to_string(n) +
                                      " values but its shape " + shape_string(dims) + " holds " +
                                      std::to_string(*total)));
  }
  if (n == 0) return error_value(empty_input("the calibration data is empty: no calibration batch"));
  const size_t per = n / static_cast<size_t>(dims[0]);
  std::vector<Tensor> batches;
  for (int64_t first = 0; first < dims[0]; first += batch) {
    std::vector<int64_t> d = dims;
    d[0] = std::min(batch, dims[0] - first);
    auto t = Tensor::create(DType::kFloat32, d);
    if (!t) return error_value(t.status());
    const auto begin = static_cast<size_t>(first) * per;
    heap_view(DType::kFloat32, t->raw(), t->size())
        .call<void>("set", data.call<val>("subarray", static_cast<double>(begin),
                                          static_cast<double>(begin + t->size())));
    batches.push_back(std::move(*t));
  }
  if (on_progress.typeOf().as<std::string>() == "function") {
    o.progress = [&on_progress](const Progress& p) {
      val r = val::object();
      r.set("stage", std::string(p.stage));
      r.set("done", static_cast<double>(p.done));
      r.set("total", static_cast<double>(p.total));
      on_progress(r);
    };
  }
  auto q = quantize_static(**found, batches, o);
  if (!q) return error_value(q.status());
  ModelOptions mo;
  mo.requant_mode = o.requant_mode;
  auto loaded = Model::from_onnx(q->model, mo);
  if (!loaded) return error_value(loaded.status());
  static int next_ptq_id = 1;
  const int id = next_ptq_id++;
  const int mid = add_model(std::move(*loaded));
  val out = val::object();
  out.set("id", id);
  out.set("modelId", mid);
  out.set("foldedBatchNorms", q->folded_batch_norms);
  val report = val::array();
  for (size_t i = 0; i < q->layers.size(); ++i) report.set(i, ptq_layer_to_js(q->layers[i]));
  out.set("report", report);
  ptq_table()[id] = std::make_unique<PtqResult>(std::move(*q));
  return ok_value(out);
}

/// form: "qoperator" or "qdq" -> the .onnx bytes as a new Uint8Array.
val ptq_to_onnx_js(int id, const std::string& form) {
  auto it = ptq_table().find(id);
  if (it == ptq_table().end()) return error_value(invalid_argument("the quantized model was disposed"));
  std::vector<uint8_t> bytes;
  if (form == "qoperator") {
    bytes = serialize_onnx_model(it->second->model);
  } else if (form == "qdq") {
    auto qdq = to_qdq(it->second->model);
    if (!qdq) return error_value(qdq.status());
    bytes = serialize_onnx_model(*qdq);
  } else {
    return error_value(invalid_argument("form must be 'qoperator' or 'qdq', got '" + form + "'"));
  }
  return ok_value(val::global("Uint8Array")
                      .new_(emscripten::typed_memory_view(bytes.size(), bytes.data()))
                      .call<val>("slice"));
}

val ptq_dispose_js(int id) { return ok_value(val(ptq_table().erase(id) > 0)); }

}  // namespace

EMSCRIPTEN_BINDINGS(quantlab_ptq) {
  using emscripten::function;
  function("ptqQuantize", &ptq_quantize_js);
  function("ptqToOnnx", &ptq_to_onnx_js);
  function("ptqDispose", &ptq_dispose_js);
}
// ===== End of post-training quantization =====================================================
