// Post-training quantization, planning: BatchNorm folding, and the choice of which nodes
// become QLinearConv layers (Conv, Gemm, MatMul + Add), which run on int8 directly, and
// which activations are absorbed into a layer's output clamp.
#include <algorithm>
#include <cmath>

#include "ptq_internal.hpp"

namespace quantlab::ptq_internal {

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

namespace {

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

}  // namespace

Result<Plan> make_plan(const OnnxModel& m, const Model& fm, const Constants& consts,
                       const PtqOptions& options) {
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
  // Layer control: every excluded name and type must exist (a typo would silently quantize).
  auto node_name = [&](size_t idx) { return g.nodes[idx].name.empty() ? info[idx]->name : g.nodes[idx].name; };
  const std::set<std::string> excluded_names(options.exclude_nodes.begin(), options.exclude_nodes.end());
  const std::set<std::string> excluded_types(options.exclude_op_types.begin(), options.exclude_op_types.end());
  {
    std::set<std::string> names, types;
    for (size_t idx : plan.order) {
      names.insert(node_name(idx));
      types.insert(g.nodes[idx].op_type);
    }
    auto list = [](const std::set<std::string>& s) {
      std::string out;
      for (const std::string& x : s) out += (out.empty() ? "" : ", ") + x;
      return out;
    };
    for (const std::string& n : excluded_names) {
      if (!names.count(n)) return invalid_argument("excludeNodes: the model has no node '" + n + "' (its nodes: " + list(names) + ")");
    }
    for (const std::string& t : excluded_types) {
      if (!types.count(t)) return invalid_argument("excludeOpTypes: the model has no " + t + " node (its operators: " + list(types) + ")");
    }
  }
  const int64_t opset = m.opset("");
  std::set<std::string> produced_q;  // values that exist as int8 made by a quantized node
  auto need_q = [&](const std::string& v) {
    if (!produced_q.count(v)) plan.need_range.insert(v);
  };
  // A Relu / Clip after `output` folds into its clamp (the output moves past it). A symmetric
  // grid reaches below 0, so its clamp cannot apply a Relu: the activation then runs in fp32
  // between DequantizeLinear and QuantizeLinear.
  auto absorb_activation = [&](std::string& output, float& lo, float& hi) {
    if (options.activations_symmetric) return;
    auto act = activation_after(m, uses, consts, output);
    if (!act) return;
    plan.nodes[act->node].role = Role::kAbsorbed;
    lo = act->lo;
    hi = act->hi;
    output = g.nodes[act->node].outputs[0];
  };
  for (size_t idx : plan.order) {
    const OnnxNode& n = g.nodes[idx];
    NodePlan& np = plan.nodes[idx];
    if (np.role == Role::kAbsorbed || !is_onnx_domain(n.domain)) continue;
    if (excluded_names.count(node_name(idx)) || excluded_types.count(n.op_type)) continue;  // fp32
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
      absorb_activation(L.output, L.act_lo, L.act_hi);
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
         // (the shape may be computed, e.g. torch's x.reshape(x.shape[0], -1): issue 10)
         (n.op_type == "Reshape" && n.inputs.size() == 2));
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
      absorb_activation(np.output, np.act_lo, np.act_hi);
      plan.need_range.insert(np.output);
      produced_q.insert(np.output);
      plan.uses_qlinear_add = true;
    }
  }
  return plan;
}

}  // namespace quantlab::ptq_internal
