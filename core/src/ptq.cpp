// Post-training static quantization (issue 4): BatchNorm folding, activation calibration
// through Model::run's observe hook, the QOperator rewrite, the per-layer report, and the
// QDQ form of the result. See ptq.hpp for the graph that comes out.
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

namespace quantlab {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool is_onnx_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

int64_t attr_int(const OnnxNode& n, std::string_view name, int64_t fallback) {
  const OnnxAttribute* a = n.attribute(name);
  return a && a->type == OnnxAttributeType::kInt ? a->i : fallback;
}

float attr_float(const OnnxNode& n, std::string_view name, float fallback) {
  const OnnxAttribute* a = n.attribute(name);
  return a && a->type == OnnxAttributeType::kFloat ? a->f : fallback;
}

std::string node_label(const OnnxNode& n) {
  return "node '" + n.name + "' (" + n.op_type + ")";
}

/// The values known before running: initializers, and the outputs of Constant nodes.
struct Constants {
  std::map<std::string, Tensor> values;
  std::set<std::string> from_nodes;  // outputs of Constant nodes (not initializers)

  explicit Constants(const OnnxGraph& g) {
    for (const OnnxTensor& t : g.initializers) values[t.name] = t.tensor;
    for (const OnnxNode& n : g.nodes) {
      if (n.op_type != "Constant" || !is_onnx_domain(n.domain) || n.outputs.size() != 1) continue;
      for (const OnnxAttribute& a : n.attributes) {
        if (a.name == "value" && a.type == OnnxAttributeType::kTensor) {
          values[n.outputs[0]] = a.t;
        } else if (a.name == "value_float" && a.type == OnnxAttributeType::kFloat) {
          values[n.outputs[0]] = Tensor::from<float>({}, {a.f});
        }
      }
      from_nodes.insert(n.outputs[0]);
    }
  }
  bool has(const std::string& name) const { return values.count(name) > 0; }
  /// A float32 constant, or null.
  const Tensor* f32(const std::string& name) const {
    auto it = values.find(name);
    return it != values.end() && it->second.dtype() == DType::kFloat32 ? &it->second : nullptr;
  }
};

/// Consumers (node indices) of every value, and the graph outputs.
struct Uses {
  std::map<std::string, std::vector<size_t>> consumers;
  std::map<std::string, size_t> producer;
  std::set<std::string> graph_outputs;

  explicit Uses(const OnnxGraph& g) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (const std::string& in : g.nodes[i].inputs) {
        if (!in.empty()) consumers[in].push_back(i);
      }
      for (const std::string& out : g.nodes[i].outputs) {
        if (!out.empty()) producer[out] = i;
      }
    }
    for (const OnnxValueInfo& o : g.outputs) graph_outputs.insert(o.name);
  }
  /// The single node reading `value`, when it has exactly one reader and is not an output.
  std::optional<size_t> sole_consumer(const std::string& value) const {
    auto it = consumers.find(value);
    if (it == consumers.end() || it->second.size() != 1 || graph_outputs.count(value)) {
      return std::nullopt;
    }
    return it->second[0];
  }
};

// --- BatchNorm folding -----------------------------------------------------------------------

/// Conv -> BatchNormalization pairs (the BN alone reading the conv) become one Conv with
/// W' = W s and b' = (b - mean) s + beta, s = gamma / sqrt(var + eps), in float32 as
/// PyTorch's fuse_conv_bn_eval. Returns the number folded.
int fold_batch_norms(OnnxModel& m, Constants& consts) {
  OnnxGraph& g = m.graph;
  const Uses uses(g);
  std::vector<bool> drop(g.nodes.size(), false);
  int folded = 0;
  for (size_t j = 0; j < g.nodes.size(); ++j) {
    const OnnxNode& bn = g.nodes[j];
    if (bn.op_type != "BatchNormalization" || !is_onnx_domain(bn.domain) ||
        bn.inputs.size() != 5 || bn.outputs.size() != 1 || attr_int(bn, "training_mode", 0) != 0) {
      continue;
    }
    const std::string& x = bn.inputs[0];
    auto p = uses.producer.find(x);
    if (p == uses.producer.end() || !uses.sole_consumer(x)) continue;
    OnnxNode& conv = g.nodes[p->second];
    if (conv.op_type != "Conv" || !is_onnx_domain(conv.domain) || conv.inputs.size() < 2) continue;
    const Tensor* w = consts.f32(conv.inputs[1]);
    if (!w || w->rank() < 3) continue;
    const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
    const Tensor* b = has_bias ? consts.f32(conv.inputs[2]) : nullptr;
    const auto c_out = static_cast<size_t>(w->dim(0));
    if (has_bias && (!b || b->size() != c_out)) continue;
    const Tensor* gamma = consts.f32(bn.inputs[1]);
    const Tensor* beta = consts.f32(bn.inputs[2]);
    const Tensor* mean = consts.f32(bn.inputs[3]);
    const Tensor* var = consts.f32(bn.inputs[4]);
    bool ok = c_out > 0;
    for (const Tensor* t : {gamma, beta, mean, var}) ok = ok && t && t->size() == c_out;
    if (!ok) continue;
    const float eps = attr_float(bn, "epsilon", 1e-5f);
    Tensor w2 = *w;
    std::vector<float> b2(c_out);
    const size_t inner = w->size() / c_out;
    auto wd = w2.data<float>();
    for (size_t o = 0; o < c_out; ++o) {
      const float s = gamma->data<float>()[o] / std::sqrt(var->data<float>()[o] + eps);
      for (size_t i = 0; i < inner; ++i) wd[o * inner + i] *= s;
      const float b0 = b ? b->data<float>()[o] : 0.0f;
      b2[o] = (b0 - mean->data<float>()[o]) * s + beta->data<float>()[o];
    }
    const std::string wn = x + "_bn_folded_weight", bname = x + "_bn_folded_bias";
    Tensor bt = Tensor::from<float>({static_cast<int64_t>(c_out)}, std::move(b2));
    g.initializers.push_back({wn, w2});
    g.initializers.push_back({bname, bt});
    consts.values[wn] = std::move(w2);
    consts.values[bname] = std::move(bt);
    conv.inputs.resize(3);
    conv.inputs[1] = wn;
    conv.inputs[2] = bname;
    conv.outputs[0] = bn.outputs[0];
    drop[j] = true;
    ++folded;
  }
  std::vector<OnnxNode> kept;
  for (size_t j = 0; j < g.nodes.size(); ++j) {
    if (!drop[j]) kept.push_back(std::move(g.nodes[j]));
  }
  g.nodes = std::move(kept);
  return folded;
}

// --- Planning --------------------------------------------------------------------------------

/// A Conv, Gemm or MatMul(+Add) to run as QLinearConv.
struct LayerPlan {
  size_t node = 0;
  std::string name, op_type;
  std::string input;    // fp32 input value
  std::string output;   // the fp32 value the layer (with absorbed Add / activation) replaces
  Tensor weight;        // float32 [N, C/group, kh, kw]; FC layers [N, K, 1, 1]
  std::vector<float> bias;  // N values, or empty
  bool fc = false;
  float act_lo = -kInf, act_hi = kInf;  // an absorbed Relu / Clip
  std::vector<OnnxAttribute> attributes;
};

enum class Role { kFloat, kLayer, kPass, kAdd, kAbsorbed };

struct NodePlan {
  Role role = Role::kFloat;
  int layer = -1;       // kLayer: index into layers
  std::string output;   // kAdd: the replaced value (after an absorbed activation)
  float act_lo = -kInf, act_hi = kInf;
};

struct Plan {
  std::vector<size_t> order;  // node indices in execution order
  std::vector<NodePlan> nodes;
  std::vector<LayerPlan> layers;
  std::set<std::string> need_range;  // fp32 values whose clipping range is needed
  bool uses_qlinear_add = false;
};

/// A Relu or constant-bound Clip that alone reads `value`: its node and bounds.
struct Activation {
  size_t node;
  float lo, hi;
};

std::optional<Activation> activation_after(const OnnxModel& m, const Uses& uses,
                                           const Constants& consts, const std::string& value) {
  auto c = uses.sole_consumer(value);
  if (!c) return std::nullopt;
  const OnnxNode& n = m.graph.nodes[*c];
  if (!is_onnx_domain(n.domain) || n.outputs.size() != 1 || n.inputs.empty() ||
      n.inputs[0] != value) {
    return std::nullopt;
  }
  if (n.op_type == "Relu") return Activation{*c, 0.0f, kInf};
  if (n.op_type != "Clip") return std::nullopt;
  float lo = -kInf, hi = kInf;
  if (m.opset("") < 11) {
    lo = attr_float(n, "min", -kInf);
    hi = attr_float(n, "max", kInf);
  } else {
    for (size_t i : {size_t{1}, size_t{2}}) {
      if (n.inputs.size() <= i || n.inputs[i].empty()) continue;
      const Tensor* t = consts.f32(n.inputs[i]);
      if (!t || t->size() != 1) return std::nullopt;
      (i == 1 ? lo : hi) = t->data<float>()[0];
    }
  }
  // The output grid always holds real 0 (Z is an integer), so only bounds on either side of
  // 0 can be applied by its clamp; Clip(0.5, 6) stays an fp32 node.
  if (!(lo <= 0.0f && 0.0f <= hi)) return std::nullopt;
  return Activation{*c, lo, hi};
}

/// A 1-D float bias of n values (shape [n], [1, n] or a broadcast scalar), scaled.
std::optional<std::vector<float>> bias_values(const Tensor* t, size_t n, float scale) {
  if (!t || !(t->size() == n || t->size() == 1)) return std::nullopt;
  for (size_t d = 0; d + 1 < static_cast<size_t>(t->rank()); ++d) {
    if (t->shape()[d] != 1) return std::nullopt;
  }
  std::vector<float> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = scale * t->data<float>()[t->size() == 1 ? 0 : i];
  return b;
}

bool plan_conv(const OnnxNode& n, const Constants& consts, LayerPlan& L) {
  if (n.inputs.size() < 2 || n.outputs.size() != 1 || consts.has(n.inputs[0])) return false;
  const Tensor* w = consts.f32(n.inputs[1]);
  if (!w || w->rank() != 4 || w->dim(0) <= 0) return false;
  const auto c_out = static_cast<size_t>(w->dim(0));
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    auto b = bias_values(consts.f32(n.inputs[2]), c_out, 1.0f);
    if (!b || consts.f32(n.inputs[2])->size() != c_out) return false;
    L.bias = std::move(*b);
  }
  L.weight = *w;
  L.attributes = n.attributes;
  return true;
}

bool plan_gemm(const OnnxNode& n, const Constants& consts, LayerPlan& L) {
  if (n.inputs.size() < 2 || n.outputs.size() != 1 || consts.has(n.inputs[0])) return false;
  if (attr_int(n, "transA", 0) != 0) return false;
  const int64_t trans_b = attr_int(n, "transB", 0);
  const float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
  const Tensor* b = consts.f32(n.inputs[1]);
  if (!b || b->rank() != 2 || (trans_b != 0 && trans_b != 1)) return false;
  const int64_t N = trans_b ? b->dim(0) : b->dim(1), K = trans_b ? b->dim(1) : b->dim(0);
  if (N <= 0 || K <= 0) return false;
  std::vector<float> w(static_cast<size_t>(N * K));
  const auto src = b->data<float>();
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t k = 0; k < K; ++k) {
      w[static_cast<size_t>(o * K + k)] =
          alpha * src[static_cast<size_t>(trans_b ? o * K + k : k * N + o)];
    }
  }
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    auto c = bias_values(consts.f32(n.inputs[2]), static_cast<size_t>(N), beta);
    if (!c) return false;
    L.bias = std::move(*c);
  }
  L.weight = Tensor::from<float>({N, K, 1, 1}, std::move(w));
  L.fc = true;
  return true;
}

/// MatMul with a constant [K, N] B on a rank-2 A; a following Add of a constant [N] bias
/// is absorbed (PyTorch's export of Linear at some opsets).
bool plan_matmul(const OnnxModel& m, const Uses& uses, const Constants& consts,
                 const LayerInfo& info, const OnnxNode& n, LayerPlan& L,
                 std::optional<size_t>& absorbed_add) {
  if (n.inputs.size() != 2 || n.outputs.size() != 1 || consts.has(n.inputs[0])) return false;
  if (info.inputs.empty() || !info.inputs[0].rank_known || info.inputs[0].dims.size() != 2) {
    return false;
  }
  const Tensor* b = consts.f32(n.inputs[1]);
  if (!b || b->rank() != 2 || b->dim(0) <= 0 || b->dim(1) <= 0) return false;
  const int64_t K = b->dim(0), N = b->dim(1);
  std::vector<float> w(static_cast<size_t>(N * K));
  const auto src = b->data<float>();
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t k = 0; k < K; ++k) w[static_cast<size_t>(o * K + k)] = src[static_cast<size_t>(k * N + o)];
  }
  L.weight = Tensor::from<float>({N, K, 1, 1}, std::move(w));
  L.fc = true;
  if (auto c = uses.sole_consumer(n.outputs[0])) {
    const OnnxNode& add = m.graph.nodes[*c];
    if (add.op_type == "Add" && is_onnx_domain(add.domain) && add.inputs.size() == 2 &&
        add.outputs.size() == 1) {
      const std::string& other = add.inputs[0] == n.outputs[0] ? add.inputs[1] : add.inputs[0];
      if (auto bias = bias_values(consts.f32(other), static_cast<size_t>(N), 1.0f)) {
        L.bias = std::move(*bias);
        absorbed_add = *c;
      }
    }
  }
  return true;
}

Result<Plan> make_plan(const OnnxModel& m, const Model& fm, const Constants& consts) {
  const OnnxGraph& g = m.graph;
  const Uses uses(g);
  Plan plan;
  plan.nodes.resize(g.nodes.size());
  // Execution order from the loaded model: each layer is matched by its first output.
  std::map<std::string, size_t> by_output;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!g.nodes[i].outputs.empty()) by_output[g.nodes[i].outputs[0]] = i;
  }
  std::vector<const LayerInfo*> info(g.nodes.size(), nullptr);
  for (const LayerInfo& l : fm.layers()) {
    if (l.outputs.empty()) continue;
    auto it = by_output.find(l.outputs[0].name);
    if (it == by_output.end() || info[it->second]) {
      return Status(ErrorCode::kInternal, "layer '" + l.name + "' not found in the graph");
    }
    info[it->second] = &l;
    plan.order.push_back(it->second);
  }
  if (plan.order.size() != g.nodes.size()) {
    return Status(ErrorCode::kInternal, "the loaded model and its graph differ in node count");
  }
  const int64_t opset = m.opset("");
  std::set<std::string> produced_q;  // values that exist as int8 made by a quantized node
  auto need_q = [&](const std::string& v) {
    if (!produced_q.count(v)) plan.need_range.insert(v);
  };
  for (size_t idx : plan.order) {
    const OnnxNode& n = g.nodes[idx];
    NodePlan& np = plan.nodes[idx];
    if (np.role == Role::kAbsorbed || !is_onnx_domain(n.domain)) continue;
    LayerPlan L;
    L.node = idx;
    L.name = n.name.empty() ? info[idx]->name : n.name;
    L.op_type = n.op_type;
    std::optional<size_t> absorbed_add;
    bool layer = false;
    if (n.op_type == "Conv") layer = plan_conv(n, consts, L);
    else if (n.op_type == "Gemm") layer = plan_gemm(n, consts, L);
    else if (n.op_type == "MatMul") layer = plan_matmul(m, uses, consts, *info[idx], n, L, absorbed_add);
    if (layer) {
      L.input = n.inputs[0];
      L.output = n.outputs[0];
      if (absorbed_add) {
        plan.nodes[*absorbed_add].role = Role::kAbsorbed;
        L.output = g.nodes[*absorbed_add].outputs[0];
      }
      if (auto act = activation_after(m, uses, consts, L.output)) {
        plan.nodes[act->node].role = Role::kAbsorbed;
        L.act_lo = act->lo;
        L.act_hi = act->hi;
        L.output = g.nodes[act->node].outputs[0];
      }
      need_q(L.input);
      plan.need_range.insert(L.output);
      produced_q.insert(L.output);
      np.role = Role::kLayer;
      np.layer = static_cast<int>(plan.layers.size());
      plan.layers.push_back(std::move(L));
      continue;
    }
    // Operators that run on int8 directly (same scale and zero point in and out).
    const bool single_out = n.outputs.size() == 1 || (n.outputs.size() == 2 && n.outputs[1].empty());
    const bool pass =
        !n.inputs.empty() && produced_q.count(n.inputs[0]) && single_out &&
        ((n.op_type == "MaxPool" && opset >= 12) || n.op_type == "Flatten" ||
         (n.op_type == "Reshape" && n.inputs.size() == 2 && consts.has(n.inputs[1])));
    if (pass) {
      np.role = Role::kPass;
      produced_q.insert(n.outputs[0]);
      continue;
    }
    // Residual Add of two activations: com.microsoft QLinearAdd.
    if (n.op_type == "Add" && n.inputs.size() == 2 && n.outputs.size() == 1 &&
        produced_q.count(n.inputs[0]) && produced_q.count(n.inputs[1])) {
      np.role = Role::kAdd;
      np.output = n.outputs[0];
      if (auto act = activation_after(m, uses, consts, np.output)) {
        plan.nodes[act->node].role = Role::kAbsorbed;
        np.act_lo = act->lo;
        np.act_hi = act->hi;
        np.output = g.nodes[act->node].outputs[0];
      }
      plan.need_range.insert(np.output);
      produced_q.insert(np.output);
      plan.uses_qlinear_add = true;
    }
  }
  return plan;
}

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
  s.symmetric = false;
  return s;
}

/// Weights quantized per output channel (or per tensor), symmetric narrow range.
struct QuantizedWeights {
  std::vector<int8_t> q;
  std::vector<float> scales;
};

Result<QuantizedWeights> quantize_weights(const Tensor& w, const PtqOptions& o, const std::string& layer) {
  QuantSpec spec;
  spec.bits = o.reduce_range ? 7 : 8;
  spec.is_signed = true;
  spec.symmetric = true;
  spec.narrow_range = true;
  const auto n = static_cast<size_t>(w.dim(0));
  const size_t groups = o.per_channel ? n : 1;
  const size_t inner = w.size() / groups;
  const auto data = w.data<float>();
  QuantizedWeights r;
  r.q.resize(w.size());
  for (size_t c = 0; c < groups; ++c) {
    const auto block = data.subspan(c * inner, inner);
    float amax = 0.0f;
    for (float v : block) {
      if (!std::isfinite(v)) {
        return not_finite("layer '" + layer + "': the weights hold NaN or infinity");
      }
      amax = std::max(amax, std::fabs(v));
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

const std::set<std::string>& quantized_operators() {
  static const std::set<std::string> ops = {
      "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",
      "QLinearMatMul",  "MatMulInteger",    "ConvInteger",           "QLinearAdd",
      "QGemm",          "QLinearGlobalAveragePool"};
  return ops;
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
  ModelOptions calib_options;
  calib_options.fuse_activations = false;  // every activation is observed
  auto fm = Model::from_onnx(folded, calib_options);
  if (!fm) return fm.status();

  // 2. Which nodes become integer, and which fp32 values need a range.
  auto plan = make_plan(folded, *fm, consts);
  if (!plan) return plan.status();
  std::set<std::string> observed = plan->need_range;
  const std::string input_name = fm->inputs()[0].name;

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
  for (auto& [name, obs] : observers) {
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
        auto w = quantize_weights(L.weight, options, L.name);
        if (!w) return w.status();
        const int64_t N = L.weight.dim(0);
        const QuantParams& py = params.at(L.output);
        const QValue y = e.define_q(L.output, py);
        const std::string base = L.output + "_" + L.name;
        const Shape ws_shape = options.per_channel ? Shape{N} : Shape{};
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
        for (float s_w : w->scales) {
          const double M = static_cast<double>(s_w) * static_cast<double>(x->params.scale) /
                           static_cast<double>(py.scale);
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
            const double v = std::nearbyint(static_cast<double>(L.bias[o]) / static_cast<double>(s_b));
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
  if (first.rank() >= 1 && first.dim(0) > options.report_samples && options.report_samples > 0) {
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

Result<OnnxModel> to_qdq(const OnnxModel& qoperator) {
  if (qoperator.producer_name != "quantlab" || qoperator.producer_version != "ptq") {
    return unsupported("to_qdq converts models made by quantize_static; this one was produced by '" +
                       qoperator.producer_name + "'");
  }
  OnnxModel m = qoperator;
  std::map<std::string, const Tensor*> init;
  for (const OnnxTensor& t : qoperator.graph.initializers) init[t.name] = &t.tensor;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxTensor> extra;
  std::set<std::string> dequantized;
  auto dq = [&](const std::string& q, const std::string& s, const std::string& z,
                std::optional<int64_t> axis) {
    const std::string out = q + "_dequantized";
    if (!dequantized.insert(out).second) return out;
    OnnxNode n;
    n.name = q + "_DequantizeLinear";
    n.op_type = "DequantizeLinear";
    n.inputs = {q, s, z};
    n.outputs = {out};
    if (axis) n.attributes.push_back(OnnxAttribute::make_int("axis", *axis));
    nodes.push_back(std::move(n));
    return out;
  };
  auto q_node = [&](const std::string& f, const std::string& s, const std::string& z,
                    const std::string& out) {
    OnnxNode n;
    n.name = out + "_QuantizeLinear";
    n.op_type = "QuantizeLinear";
    n.inputs = {f, s, z};
    n.outputs = {out};
    nodes.push_back(std::move(n));
  };
  for (const OnnxNode& n : qoperator.graph.nodes) {
    if (n.op_type == "QLinearConv" && n.inputs.size() >= 8) {
      const Tensor* xs = init.count(n.inputs[1]) ? init[n.inputs[1]] : nullptr;
      const Tensor* ws = init.count(n.inputs[4]) ? init[n.inputs[4]] : nullptr;
      if (!xs || !ws || xs->dtype() != DType::kFloat32 || ws->dtype() != DType::kFloat32 ||
          xs->size() != 1) {
        return invalid_argument(node_label(n) + ": its scales must be float32 initializers");
      }
      const bool per_channel = ws->rank() == 1;
      const std::string x = dq(n.inputs[0], n.inputs[1], n.inputs[2], std::nullopt);
      const std::string w = dq(n.inputs[3], n.inputs[4], n.inputs[5],
                               per_channel ? std::optional<int64_t>(0) : std::nullopt);
      std::vector<std::string> conv_in = {x, w};
      if (n.inputs.size() > 8 && !n.inputs[8].empty()) {
        // Bias scale S_W S_X (float32), zero point 0, as onnxruntime's QDQ quantizer.
        std::vector<float> bs(ws->size());
        for (size_t i = 0; i < bs.size(); ++i) bs[i] = ws->data<float>()[i] * xs->data<float>()[0];
        const std::string s = n.inputs[8] + "_scale", z = n.inputs[8] + "_zero_point";
        const Shape shape = per_channel ? Shape{static_cast<int64_t>(bs.size())} : Shape{};
        const size_t count = bs.size();
        extra.push_back({s, Tensor::from<float>(shape, std::move(bs))});
        extra.push_back({z, Tensor::from<int32_t>(shape, std::vector<int32_t>(count, 0))});
        conv_in.push_back(dq(n.inputs[8], s, z, per_channel ? std::optional<int64_t>(0) : std::nullopt));
      }
      OnnxNode conv;
      conv.name = n.name;
      conv.op_type = "Conv";
      conv.inputs = std::move(conv_in);
      conv.outputs = {n.outputs[0] + "_float"};
      conv.attributes = n.attributes;
      nodes.push_back(std::move(conv));
      q_node(n.outputs[0] + "_float", n.inputs[6], n.inputs[7], n.outputs[0]);
    } else if (n.op_type == "QLinearAdd" && n.inputs.size() == 8) {
      const std::string a = dq(n.inputs[0], n.inputs[1], n.inputs[2], std::nullopt);
      const std::string b = dq(n.inputs[3], n.inputs[4], n.inputs[5], std::nullopt);
      OnnxNode add;
      add.name = n.name;
      add.op_type = "Add";
      add.inputs = {a, b};
      add.outputs = {n.outputs[0] + "_float"};
      nodes.push_back(std::move(add));
      q_node(n.outputs[0] + "_float", n.inputs[6], n.inputs[7], n.outputs[0]);
    } else if (quantized_operators().count(n.op_type) && n.op_type != "QuantizeLinear" &&
               n.op_type != "DequantizeLinear") {
      return unsupported("to_qdq: " + node_label(n) + " is not made by quantize_static");
    } else {
      nodes.push_back(n);
    }
  }
  m.graph.nodes = std::move(nodes);
  for (OnnxTensor& t : extra) m.graph.initializers.push_back(std::move(t));
  // QDQ needs no com.microsoft operator.
  std::vector<OnnxOpset> opsets;
  for (const OnnxOpset& o : m.opset_imports) {
    if (o.domain != "com.microsoft") opsets.push_back(o);
  }
  m.opset_imports = std::move(opsets);
  if (m.opset("") < 13) {
    return unsupported("the QDQ form needs ai.onnx opset 13 (per-axis DequantizeLinear), the model "
                       "imports " + std::to_string(m.opset("")));
  }
  m.producer_version = "ptq-qdq";
  m.doc_string = "quantlab post-training static quantization (QDQ form)";
  return m;
}


int fuse_qdq(OnnxModel& model) {
  OnnxGraph& g = model.graph;
  std::map<std::string, const Tensor*> init;
  for (const OnnxTensor& t : g.initializers) init[t.name] = &t.tensor;
  const Uses uses(g);
  auto producer = [&](const std::string& v, const char* op) -> std::optional<size_t> {
    auto it = uses.producer.find(v);
    if (it == uses.producer.end()) return std::nullopt;
    const OnnxNode& n = g.nodes[it->second];
    if (n.op_type != op || !is_onnx_domain(n.domain) || n.outputs.size() != 1) return std::nullopt;
    return it->second;
  };
  auto readers = [&](const std::string& v) {
    auto it = uses.consumers.find(v);
    return it == uses.consumers.end() ? size_t{0} : it->second.size();
  };
  auto constant = [&](const std::string& v) -> const Tensor* {
    auto it = init.find(v);
    return it == init.end() ? nullptr : it->second;
  };
  /// A DequantizeLinear of an 8-bit activation with scalar scale and zero point.
  auto activation_dq = [&](const std::string& v) -> std::optional<size_t> {
    auto d = producer(v, "DequantizeLinear");
    if (!d) return std::nullopt;
    const OnnxNode& n = g.nodes[*d];
    const Tensor* s = n.inputs.size() == 3 ? constant(n.inputs[1]) : nullptr;
    const Tensor* z = n.inputs.size() == 3 ? constant(n.inputs[2]) : nullptr;
    if (!s || !z || s->size() != 1 || z->size() != 1 || s->dtype() != DType::kFloat32 ||
        (z->dtype() != DType::kInt8 && z->dtype() != DType::kUInt8)) {
      return std::nullopt;
    }
    return d;
  };
  std::vector<bool> drop(g.nodes.size(), false);
  std::vector<std::optional<OnnxNode>> replace(g.nodes.size());
  bool uses_add = false;
  int fused = 0;
  for (size_t qi = 0; qi < g.nodes.size(); ++qi) {
    const OnnxNode& q = g.nodes[qi];
    if (q.op_type != "QuantizeLinear" || !is_onnx_domain(q.domain) || q.inputs.size() != 3 ||
        q.outputs.size() != 1) {
      continue;
    }
    const Tensor* ys = constant(q.inputs[1]);
    const Tensor* yz = constant(q.inputs[2]);
    if (!ys || !yz || ys->size() != 1 || yz->size() != 1) continue;
    const std::string& yf = q.inputs[0];
    if (readers(yf) != 1 || uses.graph_outputs.count(yf)) continue;
    if (auto ci = producer(yf, "Conv")) {
      const OnnxNode& conv = g.nodes[*ci];
      if (conv.inputs.size() < 2 || drop[*ci] || replace[*ci]) continue;
      auto dx = activation_dq(conv.inputs[0]);
      auto dw = producer(conv.inputs[1], "DequantizeLinear");
      if (!dx || !dw || readers(conv.inputs[1]) != 1) continue;
      const OnnxNode& w = g.nodes[*dw];
      const Tensor* wq = w.inputs.size() == 3 ? constant(w.inputs[0]) : nullptr;
      const Tensor* ws = w.inputs.size() == 3 ? constant(w.inputs[1]) : nullptr;
      const Tensor* wz = w.inputs.size() == 3 ? constant(w.inputs[2]) : nullptr;
      if (!wq || !ws || !wz || wq->dtype() != DType::kInt8 || ws->dtype() != DType::kFloat32 ||
          wq->rank() < 3 || (ws->size() != 1 && (ws->size() != static_cast<size_t>(wq->dim(0)) ||
                                                 attr_int(w, "axis", 1) != 0))) {
        continue;
      }
      const Tensor* xs = constant(g.nodes[*dx].inputs[1]);
      std::optional<size_t> db;
      if (conv.inputs.size() > 2 && !conv.inputs[2].empty()) {
        // The int32 bias must be on the grid S_W S_X with zero point 0 (exactly what
        // QLinearConv adds), else the group is left as it is.
        db = producer(conv.inputs[2], "DequantizeLinear");
        if (!db || readers(conv.inputs[2]) != 1) continue;
        const OnnxNode& b = g.nodes[*db];
        const Tensor* bq = constant(b.inputs[0]);
        const Tensor* bs = b.inputs.size() > 1 ? constant(b.inputs[1]) : nullptr;
        const Tensor* bz = b.inputs.size() > 2 ? constant(b.inputs[2]) : nullptr;
        if (!bq || !bs || bq->dtype() != DType::kInt32 || bs->dtype() != DType::kFloat32 ||
            bs->size() != ws->size() || (bs->size() > 1 && attr_int(b, "axis", 1) != 0)) {
          continue;
        }
        bool ok = !bz || bz->dtype() == DType::kInt32;
        for (size_t c = 0; ok && c < bs->size(); ++c) {
          ok = bs->data<float>()[c] == ws->data<float>()[c] * xs->data<float>()[0] &&
               (!bz || bz->data<int32_t>()[c] == 0);
        }
        if (!ok) continue;
      }
      OnnxNode f;
      f.name = conv.name;
      f.op_type = "QLinearConv";
      const OnnxNode& x = g.nodes[*dx];
      f.inputs = {x.inputs[0], x.inputs[1], x.inputs[2], w.inputs[0], w.inputs[1], w.inputs[2],
                  q.inputs[1], q.inputs[2]};
      if (db) f.inputs.push_back(g.nodes[*db].inputs[0]);
      f.outputs = q.outputs;
      f.attributes = conv.attributes;
      replace[*ci] = std::move(f);
      drop[qi] = drop[*dw] = true;
      if (db) drop[*db] = true;
      ++fused;
    } else if (auto ai = producer(yf, "Add")) {
      const OnnxNode& add = g.nodes[*ai];
      if (add.inputs.size() != 2 || drop[*ai] || replace[*ai]) continue;
      auto da = activation_dq(add.inputs[0]);
      auto db = activation_dq(add.inputs[1]);
      if (!da || !db) continue;
      const OnnxNode& a = g.nodes[*da];
      const OnnxNode& b = g.nodes[*db];
      if (constant(a.inputs[2])->dtype() != constant(b.inputs[2])->dtype() ||
          constant(a.inputs[2])->dtype() != yz->dtype()) {
        continue;
      }
      OnnxNode f;
      f.name = add.name;
      f.op_type = "QLinearAdd";
      f.domain = "com.microsoft";
      f.inputs = {a.inputs[0], a.inputs[1], a.inputs[2], b.inputs[0], b.inputs[1], b.inputs[2],
                  q.inputs[1], q.inputs[2]};
      f.outputs = q.outputs;
      replace[*ai] = std::move(f);
      drop[qi] = true;
      uses_add = true;
      ++fused;
    }
  }
  if (fused == 0) return 0;
  std::vector<OnnxNode> nodes;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (drop[i]) continue;
    nodes.push_back(replace[i] ? std::move(*replace[i]) : std::move(g.nodes[i]));
  }
  // DequantizeLinear nodes whose output nobody reads any more go too.
  for (bool changed = true; changed;) {
    changed = false;
    std::set<std::string> read;
    for (const OnnxNode& n : nodes) read.insert(n.inputs.begin(), n.inputs.end());
    for (const OnnxValueInfo& o : g.outputs) read.insert(o.name);
    const size_t before = nodes.size();
    std::erase_if(nodes, [&](const OnnxNode& n) {
      return n.op_type == "DequantizeLinear" && n.outputs.size() == 1 && !read.count(n.outputs[0]);
    });
    changed = nodes.size() != before;
  }
  g.nodes = std::move(nodes);
  if (uses_add && model.opset("com.microsoft") == 0) model.opset_imports.push_back({"com.microsoft", 1});
  return fused;
}

}  // namespace quantlab
