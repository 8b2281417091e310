// Post-training static quantization: activation calibration through Model::run's observe
// hook, the QOperator rewrite of the plan (ptq_plan.cpp) and the per-layer report; the QDQ
// form of the result is in ptq_qdq.cpp. See ptq.hpp for the graph that comes out.
#include "quantlab/ptq.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "number_string.hpp"
#include "ptq_internal.hpp"

namespace quantlab {

using namespace ptq_internal;

namespace {

// --- Emission --------------------------------------------------------------------------------

/// An fp32 value's int8 form in the new graph.
struct QValue {
  std::string q, scale, zero_point;
  QuantParams params;
};

Tensor zero_point_tensor(const QuantParams& p, Shape shape = {}) {
  const size_t n = shape.empty() ? 1 : static_cast<size_t>(shape[0]);
  if (p.is_signed) {
    return Tensor::from<int8_t>(std::move(shape), std::vector<int8_t>(n, static_cast<int8_t>(p.zero_point)));
  }
  return Tensor::from<uint8_t>(std::move(shape), std::vector<uint8_t>(n, static_cast<uint8_t>(p.zero_point)));
}

struct Emitter {
  const Constants& consts;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxTensor> inits;
  std::set<std::string> init_names;
  std::map<std::string, QValue> qvalues;
  std::set<std::string> float_values;  // fp32 values present in the new graph
  std::set<std::string> node_names;

  explicit Emitter(const Constants& c) : consts(c) {}

  void add_init(const std::string& name, Tensor t) {
    if (init_names.insert(name).second) inits.push_back({name, std::move(t)});
  }
  std::string unique_node_name(const std::string& base) {
    std::string name = base;
    for (int i = 2; !node_names.insert(name).second; ++i) name = base + "_" + std::to_string(i);
    return name;
  }
  void add_node(const std::string& name, const char* op, std::vector<std::string> in,
                std::vector<std::string> out, std::vector<OnnxAttribute> attrs = {},
                const char* domain = "") {
    OnnxNode n;
    n.name = unique_node_name(name);
    n.op_type = op;
    n.domain = domain;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    n.attributes = std::move(attrs);
    nodes.push_back(std::move(n));
  }
  /// Declare that `v` exists in int8 with params p (scale / zero point initializers).
  const QValue& define_q(const std::string& v, const QuantParams& p) {
    QValue q{v + "_quantized", v + "_scale", v + "_zero_point", p};
    add_init(q.scale, Tensor::from<float>({}, {p.scale}));
    add_init(q.zero_point, zero_point_tensor(p));
    return qvalues[v] = std::move(q);
  }
  /// The int8 form of fp32 value v, adding a QuantizeLinear if v exists only in fp32.
  Result<QValue> get_q(const std::string& v, const std::map<std::string, QuantParams>& params) {
    if (auto it = qvalues.find(v); it != qvalues.end()) return it->second;
    auto p = params.find(v);
    if (p == params.end() || !float_values.count(v)) {
      return Status(ErrorCode::kInternal, "no quantization parameters for '" + v + "'");
    }
    const QValue q = define_q(v, p->second);
    add_node(v + "_QuantizeLinear", "QuantizeLinear", {v, q.scale, q.zero_point}, {q.q});
    return q;
  }
  /// The fp32 form of v, adding a DequantizeLinear if v exists only in int8.
  Status get_f(const std::string& v) {
    if (float_values.count(v)) return Status::ok();
    if (consts.has(v)) {
      if (!consts.from_nodes.count(v)) add_init(v, consts.values.at(v));
      return Status::ok();
    }
    auto it = qvalues.find(v);
    if (it == qvalues.end()) return Status(ErrorCode::kInternal, "value '" + v + "' is not produced");
    add_node(v + "_DequantizeLinear", "DequantizeLinear",
             {it->second.q, it->second.scale, it->second.zero_point}, {v});
    float_values.insert(v);
    return Status::ok();
  }
};

QuantSpec activation_spec(const PtqOptions& o) {
  QuantSpec s;
  s.bits = 8;
  s.is_signed = o.activations_signed;
  s.symmetric = o.activations_symmetric;
  return s;
}

/// A layer's weight grid: bits and granularity after its override.
struct WeightChoice {
  int bits = 8;
  bool per_channel = true;
};

WeightChoice weight_choice(const PtqOptions& o, const std::string& layer) {
  WeightChoice c{o.weight_bits, o.per_channel};
  for (const PtqLayerOptions& l : o.layers) {
    if (l.node != layer) continue;
    if (l.weight_bits != 0) c.bits = l.weight_bits;
    if (l.weights != WeightGranularity::kDefault) c.per_channel = l.weights == WeightGranularity::kPerChannel;
  }
  if (o.reduce_range) c.bits = std::min(c.bits, 7);
  return c;
}

/// Weights quantized per output channel (or per tensor), symmetric.
struct QuantizedWeights {
  std::vector<int8_t> q;
  std::vector<float> scales;
};

Result<QuantizedWeights> quantize_weights(const Tensor& w, WeightChoice choice, bool qnnpack,
                                          const std::string& layer) {
  QuantSpec spec;
  spec.bits = choice.bits;
  spec.is_signed = true;
  spec.symmetric = true;
  spec.narrow_range = !qnnpack;
  const auto n = static_cast<size_t>(w.dim(0));
  const size_t groups = choice.per_channel ? n : 1;
  const size_t inner = w.size() / groups;
  const auto data = w.data<float>();
  QuantizedWeights r;
  r.q.resize(w.size());
  const auto q_max = static_cast<float>((1 << (choice.bits - 1)) - 1);
  const float q_min = qnnpack ? -q_max - 1.0f : -q_max;
  for (size_t c = 0; c < groups; ++c) {
    const auto block = data.subspan(c * inner, inner);
    float amax = 0.0f;
    for (float v : block) {
      if (!std::isfinite(v)) {
        return not_finite("layer '" + layer + "': the weights hold NaN or infinity");
      }
      amax = std::max(amax, std::fabs(v));
    }
    if (qnnpack) {
      // torch's MinMaxObserver (per_tensor_symmetric): S = max(amax / ((q_max - q_min) / 2),
      // eps) in float32; fbgemm::Quantize: round_half_even(w * float32(1 / S)).
      const float half_span = (q_max - q_min) / 2.0f;
      const float scale = std::max(amax / half_span, std::numeric_limits<float>::epsilon());
      const float inv = 1.0f / scale;
      for (size_t i = 0; i < inner; ++i) {
        const float v = std::nearbyint(block[i] * inv);
        r.q[c * inner + i] = static_cast<int8_t>(std::clamp(v, q_min, q_max));
      }
      r.scales.push_back(scale);
      continue;
    }
    auto p = params_from_range(-amax, amax, spec);
    if (!p) return p.status();
    auto q = quantize(block, *p);
    if (!q) return q.status();
    for (size_t i = 0; i < inner; ++i) r.q[c * inner + i] = static_cast<int8_t>((*q)[i]);
    r.scales.push_back(p->scale);
  }
  return r;
}

/// The options quantize_static checks itself (the plan checks the node lists).
Status check_options(const PtqOptions& o) {
  auto bits_ok = [](int b) { return b >= 2 && b <= 8; };
  if (!bits_ok(o.weight_bits)) {
    return invalid_argument("weightBits must be 2..8, got " + std::to_string(o.weight_bits));
  }
  for (const PtqLayerOptions& l : o.layers) {
    if (l.weight_bits != 0 && !bits_ok(l.weight_bits)) {
      return invalid_argument("layers: node '" + l.node + "': weightBits must be 2..8, got " +
                              std::to_string(l.weight_bits));
    }
  }
  const QuantSpec act = activation_spec(o);
  auto grid = integer_range(act);
  if (!grid) return grid.status();
  for (const GivenRange& r : o.ranges) {
    const std::string where = "ranges: value '" + r.value + "': ";
    const bool has_range = !std::isnan(r.min) || !std::isnan(r.max);
    const bool has_scale = !std::isnan(r.scale);
    if (has_range == has_scale) {
      return invalid_argument(where + "give either [min, max] or scale and zeroPoint");
    }
    if (has_scale) {
      if (!std::isfinite(r.scale) || r.scale <= 0.0f) {
        return invalid_argument(where + "the scale must be finite and > 0, got " + number_string(r.scale));
      }
      if (r.zero_point < grid->q_min || r.zero_point > grid->q_max) {
        return invalid_argument(where + "the zero point " + std::to_string(r.zero_point) +
                                " is outside the " + (act.is_signed ? "int8" : "uint8") +
                                " activation grid");
      }
    } else if (!std::isfinite(r.min) || !std::isfinite(r.max) || r.min > r.max) {
      return invalid_argument(where + "the range [" + number_string(r.min) + ", " +
                              number_string(r.max) + "] must be finite with min <= max");
    }
  }
  return Status::ok();
}

/// Every value name of a graph (inputs, node inputs and outputs).
std::set<std::string> value_names(const OnnxGraph& g) {
  std::set<std::string> v;
  for (const OnnxValueInfo& i : g.inputs) v.insert(i.name);
  for (const OnnxNode& n : g.nodes) {
    v.insert(n.inputs.begin(), n.inputs.end());
    v.insert(n.outputs.begin(), n.outputs.end());
  }
  v.erase("");
  return v;
}

double sqnr_db(double signal, double noise) {
  if (noise == 0.0) return std::numeric_limits<double>::infinity();
  if (signal == 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

void report_progress(const PtqOptions& o, const char* stage, int64_t done, int64_t total) {
  if (!o.progress) return;
  Progress p;
  p.stage = stage;
  p.done = done;
  p.total = total;
  p.value = std::nan("");
  o.progress(p);
}

}  // namespace

Result<PtqResult> quantize_static(const Model& fp32, std::span<const Tensor> calibration,
                                  const PtqOptions& options) {
  if (calibration.empty()) {
    return empty_input("post-training quantization needs at least one calibration batch");
  }
  if (fp32.inputs().size() != 1) {
    return unsupported("post-training quantization needs a model with one input, got " +
                       std::to_string(fp32.inputs().size()));
  }
  if (fp32.inputs()[0].dtype != DType::kFloat32) {
    return unsupported("the model's input '" + fp32.inputs()[0].name + "' is " +
                       dtype_name(fp32.inputs()[0].dtype) + ", not float32");
  }
  for (const OnnxNode& n : fp32.onnx().graph.nodes) {
    if (quantized_operators().count(n.op_type)) {
      return unsupported("the model is already quantized: " + node_label(n) +
                         " is a quantized operator");
    }
  }
  for (const OnnxTensor& t : fp32.onnx().graph.initializers) {
    if (t.tensor.dtype() == DType::kInt8 || t.tensor.dtype() == DType::kUInt8) {
      return unsupported("the model is already quantized: initializer '" + t.name + "' is " +
                         dtype_name(t.tensor.dtype()));
    }
  }
  QL_RETURN_IF_ERROR(check_options(options));
  if (fp32.onnx().opset("") < 10) {
    return unsupported("the model imports ai.onnx opset " +
                       std::to_string(fp32.onnx().opset("")) +
                       "; QuantizeLinear and QLinearConv need opset 10 or later");
  }

  // 1. Fold BatchNorm into the conv before it.
  PtqResult result;
  OnnxModel folded = fp32.onnx();
  Constants consts(folded.graph);
  result.folded_batch_norms = fold_batch_norms(folded, consts);
  result.requant_mode = options.requant_mode;
  ModelOptions calib_options;
  calib_options.fuse_activations = false;  // every activation is observed
  auto fm = Model::from_onnx(folded, calib_options);
  if (!fm) return fm.status();

  // 2. Which nodes become integer, and which fp32 values need a range.
  auto plan = make_plan(folded, *fm, consts, options);
  if (!plan) return plan.status();
  const std::string input_name = fm->inputs()[0].name;
  // Given ranges: every name must be a value of the model (before or after BN folding).
  std::map<std::string, const GivenRange*> given;
  if (!options.ranges.empty()) {
    std::set<std::string> names = value_names(fp32.onnx().graph);
    names.merge(value_names(folded.graph));
    for (const GivenRange& r : options.ranges) {
      if (!names.count(r.value)) {
        return invalid_argument("ranges: the model has no value '" + r.value + "'");
      }
      if (plan->need_range.count(r.value)) given[r.value] = &r;
    }
  }
  // Per-layer options: every node must be one of the quantized layers.
  for (const PtqLayerOptions& l : options.layers) {
    const bool found = std::any_of(plan->layers.begin(), plan->layers.end(),
                                   [&](const LayerPlan& L) { return L.name == l.node; });
    if (!found) {
      std::string names;
      for (const LayerPlan& L : plan->layers) names += (names.empty() ? "" : ", ") + L.name;
      return invalid_argument("layers: '" + l.node + "' is not a quantized layer of the model (its layers: " +
                              names + ")");
    }
  }
  std::set<std::string> observed;
  for (const std::string& v : plan->need_range) {
    if (!given.count(v)) observed.insert(v);
  }

  // 3. Calibrate: observe every needed value over all batches; keep the first batch's layer
  //    outputs for the report.
  std::map<std::string, RangeObserver> observers;
  for (const std::string& v : observed) observers.emplace(v, RangeObserver());
  const auto batches = static_cast<int64_t>(calibration.size());
  for (size_t b = 0; b < calibration.size(); ++b) {
    Status failed;
    RunOptions ro;
    ro.observe = [&](const std::string& name, const Tensor& t) {
      if (!failed.is_ok() || t.dtype() != DType::kFloat32) return;
      if (auto it = observers.find(name); it != observers.end()) {
        Status s = it->second.observe(t.data<float>());
        if (!s.is_ok()) {
          failed = Status(s.code(), "value '" + name + "': " + s.message());
          return;
        }
      }
    };
    const std::string where = "calibration batch " + std::to_string(b) + ": ";
    if (calibration[b].dtype() != DType::kFloat32) {
      return invalid_argument(where + "must be float32, got " + dtype_name(calibration[b].dtype()));
    }
    if (calibration[b].empty()) return empty_input(where + "has no elements");
    if (observed.empty() && b > 0) continue;  // every range given: one batch checks the shapes
    auto out = fm->run({&calibration[b], 1}, ro);
    if (!out) return Status(out.status().code(), where + out.status().message());
    if (!failed.is_ok()) return Status(failed.code(), where + failed.message());
    report_progress(options, "calibrate", static_cast<int64_t>(b) + 1, batches);
  }
  const QuantSpec act_spec = activation_spec(options);
  std::map<std::string, QuantParams> params;
  std::map<std::string, ClipRange> ranges;
  std::map<std::string, std::pair<float, float>> act_bounds;
  for (const LayerPlan& L : plan->layers) act_bounds[L.output] = {L.act_lo, L.act_hi};
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    const NodePlan& np = plan->nodes[i];
    if (np.role == Role::kAdd) act_bounds[np.output] = {np.act_lo, np.act_hi};
  }
  for (const std::string& name : plan->need_range) {
    if (auto g = given.find(name); g != given.end()) {
      const GivenRange& r = *g->second;
      QuantParams p;
      if (!std::isnan(r.scale)) {
        auto grid = integer_range(act_spec);
        if (!grid) return grid.status();
        p.scale = r.scale;
        p.zero_point = r.zero_point;
        p.q_min = static_cast<int32_t>(grid->q_min);
        p.q_max = static_cast<int32_t>(grid->q_max);
        p.bits = 8;
        p.is_signed = act_spec.is_signed;
      } else {
        auto made = params_from_range(r.min, r.max, act_spec);
        if (!made) return Status(made.status().code(), "ranges: value '" + name + "': " + made.status().message());
        p = *made;
      }
      ClipRange c;
      c.r_min = p.scale * static_cast<float>(p.q_min - p.zero_point);
      c.r_max = p.scale * static_cast<float>(p.q_max - p.zero_point);
      if (std::isnan(r.scale)) {
        c.r_min = r.min;
        c.r_max = r.max;
      }
      c.note = "given";
      ranges[name] = c;
      params[name] = p;
      result.ranges.push_back({name, c, p, true});
      continue;
    }
    RangeObserver& obs = observers.at(name);
    if (obs.count() == 0) {
      return Status(ErrorCode::kInternal, "value '" + name + "' was never computed");
    }
    auto r = obs.range(act_spec, options.calibration);
    if (!r) return Status(r.status().code(), "value '" + name + "': " + r.status().message());
    ClipRange c = *r;
    if (auto it = act_bounds.find(name); it != act_bounds.end()) {
      // An absorbed activation is applied by the output grid's clamp, so the range must not
      // reach past its bounds: Relu => [0, max].
      c.r_min = std::max(c.r_min, it->second.first);
      c.r_max = std::min(c.r_max, it->second.second);
      if (c.r_max < c.r_min) c.r_max = c.r_min;
    }
    auto p = params_from_range(c.r_min, c.r_max, act_spec);
    if (!p) return Status(p.status().code(), "value '" + name + "': " + p.status().message());
    ranges[name] = c;
    params[name] = *p;
    result.ranges.push_back({name, c, *p, false});
  }

  // 4. Rewrite in QOperator form.
  const OnnxGraph& g = folded.graph;
  Emitter e(consts);
  e.float_values.insert(input_name);
  int64_t layers_done = 0;
  const auto layer_count = static_cast<int64_t>(plan->layers.size());
  for (size_t idx : plan->order) {
    const OnnxNode& n = g.nodes[idx];
    const NodePlan& np = plan->nodes[idx];
    switch (np.role) {
      case Role::kAbsorbed: break;
      case Role::kFloat: {
        for (const std::string& in : n.inputs) {
          if (!in.empty()) QL_RETURN_IF_ERROR(e.get_f(in));
        }
        OnnxNode copy = n;
        copy.name = e.unique_node_name(n.name.empty() ? n.op_type : n.name);
        e.nodes.push_back(std::move(copy));
        for (const std::string& out : n.outputs) {
          if (!out.empty()) e.float_values.insert(out);
        }
        break;
      }
      case Role::kPass: {
        const QValue in = e.qvalues.at(n.inputs[0]);
        QValue out{n.outputs[0] + "_quantized", in.scale, in.zero_point, in.params};
        OnnxNode copy = n;
        copy.name = e.unique_node_name(n.name.empty() ? n.op_type : n.name);
        copy.inputs[0] = in.q;
        for (size_t i = 1; i < copy.inputs.size(); ++i) {
          if (!copy.inputs[i].empty()) QL_RETURN_IF_ERROR(e.get_f(copy.inputs[i]));
        }
        copy.outputs = {out.q};
        e.nodes.push_back(std::move(copy));
        e.qvalues[n.outputs[0]] = out;
        break;
      }
      case Role::kAdd: {
        auto a = e.get_q(n.inputs[0], params);
        if (!a) return a.status();
        auto b = e.get_q(n.inputs[1], params);
        if (!b) return b.status();
        const QValue& c = e.define_q(np.output, params.at(np.output));
        e.add_node(n.name.empty() ? "QLinearAdd" : n.name, "QLinearAdd",
                   {a->q, a->scale, a->zero_point, b->q, b->scale, b->zero_point, c.scale,
                    c.zero_point},
                   {c.q}, {}, "com.microsoft");
        break;
      }
      case Role::kLayer: {
        const LayerPlan& L = plan->layers[static_cast<size_t>(np.layer)];
        auto x = e.get_q(L.input, params);
        if (!x) return x.status();
        const bool qnnpack = options.requant_mode == RequantMode::kQnnpack;
        const WeightChoice choice = weight_choice(options, L.name);
        auto w = quantize_weights(L.weight, choice, qnnpack, L.name);
        if (!w) return w.status();
        const int64_t N = L.weight.dim(0);
        const QuantParams& py = params.at(L.output);
        const QValue y = e.define_q(L.output, py);
        const std::string base = L.output + "_" + L.name;
        const Shape ws_shape = choice.per_channel ? Shape{N} : Shape{};
        e.add_init(base + "_weight_quantized", Tensor::from<int8_t>(L.weight.shape(), w->q));
        e.add_init(base + "_weight_scale", Tensor::from<float>(ws_shape, w->scales));
        e.add_init(base + "_weight_zero_point",
                   Tensor::from<int8_t>(ws_shape, std::vector<int8_t>(w->scales.size(), 0)));
        std::vector<std::string> in = {x->q, x->scale, x->zero_point,
                                       base + "_weight_quantized", base + "_weight_scale",
                                       base + "_weight_zero_point", y.scale, y.zero_point};
        PtqLayerReport R;
        R.name = L.name;
        R.op_type = L.op_type;
        R.input_scale = x->params.scale;
        R.input_zero_point = x->params.zero_point;
        R.output_scale = py.scale;
        R.output_zero_point = py.zero_point;
        R.output_range = ranges.at(L.output);
        R.weight_scales = w->scales;
        R.weight_bits = choice.bits;
        R.per_channel = choice.per_channel;
        for (float s_w : w->scales) {
          const double M = static_cast<double>(s_w) * static_cast<double>(x->params.scale) /
                           static_cast<double>(py.scale);
          const float m32 = qnnpack ? qnnpack_multiplier(s_w, x->params.scale, py.scale)
                                    : fp32_multiplier(s_w, x->params.scale, py.scale);
          if (!std::isfinite(m32)) {
            // The loader computes the multiplier as onnxruntime does, (S_W * S_X) / S_Y in
            // float32: a model whose product S_W S_X overflows float32 could not load.
            return invalid_argument(
                "layer '" + L.name + "': its weight scale " + number_string(s_w) +
                " times its input scale " + number_string(x->params.scale) +
                " overflows float32 (the weights and the calibrated input range are too large "
                "together to quantize)");
          }
          auto fixed = quantize_multiplier(M);
          if (!fixed) {
            return Status(fixed.status().code(), "layer '" + L.name + "': " + fixed.status().message());
          }
          R.multipliers.push_back(M);
          R.m0.push_back(fixed->M0);
          R.shift.push_back(fixed->shift);
        }
        if (!L.bias.empty()) {
          // q_b = round(b / (S_W S_X)), S_b in float32 as onnxruntime's quantizer.
          std::vector<int32_t> qb(static_cast<size_t>(N));
          for (size_t o = 0; o < qb.size(); ++o) {
            const float s_b = w->scales[w->scales.size() == 1 ? 0 : o] * x->params.scale;
            // qnnpack (torch's QuantizeBias through fbgemm::Quantize): b * float32(1 / S_b).
            const double v = qnnpack ? std::nearbyint(static_cast<double>(L.bias[o] * (1.0f / s_b)))
                                     : std::nearbyint(static_cast<double>(L.bias[o]) / static_cast<double>(s_b));
            qb[o] = static_cast<int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
          }
          e.add_init(base + "_bias_quantized", Tensor::from<int32_t>({N}, std::move(qb)));
          in.push_back(base + "_bias_quantized");
        }
        if (L.fc) {
          // [M, K] -> [M, K, 1, 1] -> QLinearConv 1x1 -> [M, N, 1, 1] -> Flatten -> [M, N].
          const int64_t K = L.weight.dim(1);
          const std::string shape_name = "ptq_shape_m1_" + std::to_string(K) + "_1_1";
          e.add_init(shape_name, Tensor::from<int64_t>({4}, {-1, K, 1, 1}));
          const std::string x4 = x->q + "_as_nk11";
          if (!e.float_values.count(x4) && !e.qvalues.count(x4)) {
            e.add_node(L.name + "_Reshape", "Reshape", {x->q, shape_name}, {x4});
            e.qvalues[x4] = QValue{x4, x->scale, x->zero_point, x->params};  // marks it made
          }
          in[0] = x4;
          const std::string y4 = y.q + "_nk11";
          e.add_node(L.name, "QLinearConv", in, {y4});
          e.add_node(L.name + "_Flatten", "Flatten", {y4}, {y.q},
                     {OnnxAttribute::make_int("axis", 1)});
        } else {
          e.add_node(L.name, "QLinearConv", in, {y.q}, L.attributes);
        }
        result.layers.push_back(std::move(R));
        report_progress(options, "quantize", ++layers_done, layer_count);
        break;
      }
    }
  }
  for (const OnnxValueInfo& o : g.outputs) QL_RETURN_IF_ERROR(e.get_f(o.name));
  // Constant nodes that only fed an absorbed Clip's bounds are left unused: drop them.
  std::set<std::string> used;
  for (const OnnxNode& n : e.nodes) used.insert(n.inputs.begin(), n.inputs.end());
  for (const OnnxValueInfo& o : g.outputs) used.insert(o.name);
  std::erase_if(e.nodes, [&](const OnnxNode& n) {
    return n.op_type == "Constant" && n.outputs.size() == 1 && !used.count(n.outputs[0]);
  });

  OnnxModel& q = result.model;
  q.ir_version = std::max<int64_t>(folded.ir_version, 7);
  q.opset_imports = folded.opset_imports;
  if (plan->uses_qlinear_add && q.opset("com.microsoft") == 0) {
    q.opset_imports.push_back({"com.microsoft", 1});
  }
  q.producer_name = "quantlab";
  q.producer_version = "ptq";
  q.domain = folded.domain;
  q.model_version = folded.model_version;
  q.doc_string = "quantlab post-training static quantization (QOperator form) of '" +
                 folded.graph.name + "'";
  q.graph.name = folded.graph.name.empty() ? "quantized" : folded.graph.name + "_quantized";
  q.graph.nodes = std::move(e.nodes);
  q.graph.initializers = std::move(e.inits);
  for (const OnnxValueInfo& in : folded.graph.inputs) {
    if (in.name == input_name) q.graph.inputs.push_back(in);
  }
  q.graph.outputs = folded.graph.outputs;

  // 5. The report: the int8 model's dequantized layer outputs against fp32 on the first
  //    report_samples samples of the first batch. The int8 outputs are kept (1 byte per
  //    element), then the fp32 run compares each layer as it goes, so memory stays bounded.
  ModelOptions qo;
  qo.requant_mode = options.requant_mode;
  qo.fuse_activations = false;
  auto qm = Model::from_onnx(q, qo);
  if (!qm) {
    return Status(ErrorCode::kInternal, "the quantized model does not load: " + qm.status().to_string());
  }
  const Tensor& first = calibration[0];
  Tensor sample = first;
  // A model whose input batch is fixed (e.g. [40, 3, 32, 32]) only runs on whole batches:
  // the report then uses the whole first batch instead of slicing report_samples samples.
  const ValueInfo& in0 = fm->inputs()[0];
  const bool batch_fixed = in0.rank_known && !in0.dims.empty() && in0.dims[0] >= 0;
  if (!batch_fixed && first.rank() >= 1 && first.dim(0) > options.report_samples &&
      options.report_samples > 0) {
    Shape shape = first.shape();
    shape[0] = options.report_samples;
    auto t = Tensor::create(DType::kFloat32, shape);
    if (!t) return t.status();
    std::memcpy(t->raw(), first.raw(), t->bytes());
    sample = std::move(*t);
  }
  std::map<std::string, size_t> layer_of_q, layer_of_f;
  for (size_t i = 0; i < plan->layers.size(); ++i) {
    layer_of_q[plan->layers[i].output + "_quantized"] = i;
    layer_of_f[plan->layers[i].output] = i;
  }
  std::vector<Tensor> int8_out(plan->layers.size());
  RunOptions qro;
  qro.observe = [&](const std::string& name, const Tensor& t) {
    if (auto it = layer_of_q.find(name); it != layer_of_q.end()) int8_out[it->second] = t;
  };
  auto qout = qm->run({&sample, 1}, qro);
  if (!qout) return Status(qout.status().code(), "the quantized model fails: " + qout.status().message());
  Status failed;
  RunOptions fro;
  fro.observe = [&](const std::string& name, const Tensor& x) {
    auto it = layer_of_f.find(name);
    if (it == layer_of_f.end() || !failed.is_ok() || x.dtype() != DType::kFloat32) return;
    PtqLayerReport& R = result.layers[it->second];
    Tensor& t = int8_out[it->second];
    if (t.size() != x.size()) {
      failed = Status(ErrorCode::kInternal, "layer '" + R.name + "': int8 and fp32 outputs differ in size");
      return;
    }
    const auto xf = x.data<float>();
    double signal = 0, noise = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      const int32_t qv = t.dtype() == DType::kInt8 ? int32_t{t.data<int8_t>()[i]}
                                                   : int32_t{t.data<uint8_t>()[i]};
      const double r = static_cast<double>(R.output_scale) * (qv - R.output_zero_point);
      const double d = static_cast<double>(xf[i]) - r;
      signal += static_cast<double>(xf[i]) * static_cast<double>(xf[i]);
      noise += d * d;
    }
    const double count = t.size() ? static_cast<double>(t.size()) : 1.0;
    R.mse = noise / count;
    R.sqnr_db = sqnr_db(signal, noise);
    t = Tensor();
  };
  auto fout = fm->run({&sample, 1}, fro);
  if (!fout) return Status(fout.status().code(), "the report run fails: " + fout.status().message());
  if (!failed.is_ok()) return failed;
  report_progress(options, "report", 1, 1);
  return result;
}

}  // namespace quantlab
