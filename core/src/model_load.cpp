// Model loading: opset and operator-version checks, the value table, topological order
// (dangling inputs and cycles refused), per-node preparation with shape inference, and
// constant folding.
#include <algorithm>
#include <map>
#include <optional>
#include <queue>
#include <set>

#include "model_impl.hpp"
#include "quantlab/ptq.hpp"

namespace quantlab {
namespace {

constexpr int64_t kMaxOnnxOpset = 17;

std::string node_label(const OnnxNode& n, size_t index) {
  return "node '" + (n.name.empty() ? "#" + std::to_string(index) : n.name) + "' (" + n.op_type +
         ")";
}

Status with_label(const std::string& label, const Status& s) {
  return Status(s.code(), label + ": " + s.message());
}

bool is_onnx_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

std::string list_operators() {
  std::set<std::string> names;
  for (const auto& r : ops::op_registry()) names.insert(r.op_type);
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

Result<DType> graph_dtype(int32_t elem_type) {
  DType d;
  if (!dtype_from_onnx(elem_type, d)) {
    return unsupported("element type " + onnx_type_name(elem_type));
  }
  return d;
}

class Builder {
 public:
  explicit Builder(Model::Impl& impl) : I(impl) {}

  Status build() {
    QL_RETURN_IF_ERROR(check_opsets());
    QL_RETURN_IF_ERROR(add_initializers());
    QL_RETURN_IF_ERROR(add_graph_inputs());
    QL_RETURN_IF_ERROR(add_node_outputs());
    count_readers();
    std::vector<size_t> order;
    QL_RETURN_IF_ERROR(topological_order(order));
    QL_RETURN_IF_ERROR(check_operators(order));
    for (size_t i : order) QL_RETURN_IF_ERROR(prepare_node(i));
    QL_RETURN_IF_ERROR(add_graph_outputs());
    plan_releases();
    return Status::ok();
  }

 private:
  Model::Impl& I;
  std::map<std::string, int> ids_;
  std::map<std::string, int64_t> symbol_ids_;
  std::map<std::string, size_t> producer_;
  int64_t onnx_opset_ = 0;
  int64_t ms_opset_ = 0;
  std::map<std::string, std::vector<size_t>> readers_;  // node indices, once per occurrence
  std::set<std::string> graph_outputs_;
  std::map<size_t, int> fused_into_;  // activation node -> the value its producer computes

  void count_readers() {
    const auto& nodes = I.onnx.graph.nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (const std::string& in : nodes[i].inputs) {
        if (!in.empty()) readers_[in].push_back(i);
      }
    }
    for (const auto& o : I.onnx.graph.outputs) graph_outputs_.insert(o.name);
  }

  /// The float value of a one-element initializer or Constant node output, if it is one.
  std::optional<float> constant_scalar(const std::string& name) const {
    const Tensor* t = nullptr;
    for (const auto& init : I.onnx.graph.initializers) {
      if (init.name == name) t = &init.tensor;
    }
    if (auto p = producer_.find(name); !t && p != producer_.end()) {
      const OnnxNode& c = I.onnx.graph.nodes[p->second];
      if (c.op_type == "Constant" && is_onnx_domain(c.domain) && c.attributes.size() == 1) {
        const OnnxAttribute& a = c.attributes[0];
        if (a.name == "value_float" && a.type == OnnxAttributeType::kFloat) return a.f;
        if (a.name == "value" && a.type == OnnxAttributeType::kTensor) t = &a.t;
      }
    }
    if (t && t->dtype() == DType::kFloat32 && t->size() == 1) return t->data<float>()[0];
    return std::nullopt;
  }

  /// The activation that may run inside node i's kernel: its single output is read only by
  /// a Relu, or a Clip to [0, 6] with constant bounds, and is not a graph output.
  FusedActivation fusable_activation(size_t i, size_t& consumer) const {
    const auto& nodes = I.onnx.graph.nodes;
    const OnnxNode& n = nodes[i];
    if (!I.options.fuse_activations || !is_onnx_domain(n.domain) ||
        (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") ||
        n.outputs.size() != 1 || n.outputs[0].empty() || graph_outputs_.count(n.outputs[0])) {
      return FusedActivation::kNone;
    }
    auto r = readers_.find(n.outputs[0]);
    if (r == readers_.end() || r->second.size() != 1) return FusedActivation::kNone;
    consumer = r->second[0];
    const OnnxNode& c = nodes[consumer];
    if (!is_onnx_domain(c.domain) || c.inputs.empty() || c.inputs[0] != n.outputs[0] ||
        c.outputs.size() != 1 || c.outputs[0].empty()) {
      return FusedActivation::kNone;
    }
    if (c.op_type == "Relu" && c.inputs.size() == 1 && c.attributes.empty()) {
      return FusedActivation::kRelu;
    }
    if (c.op_type != "Clip") return FusedActivation::kNone;
    std::optional<float> lo, hi;
    if (onnx_opset_ < 11) {
      const OnnxAttribute* a = c.attribute("min");
      const OnnxAttribute* b = c.attribute("max");
      if (a && a->type == OnnxAttributeType::kFloat) lo = a->f;
      if (b && b->type == OnnxAttributeType::kFloat) hi = b->f;
      if (c.attributes.size() != static_cast<size_t>((a != nullptr) + (b != nullptr))) {
        return FusedActivation::kNone;
      }
    } else if (c.attributes.empty()) {
      if (c.inputs.size() > 1 && !c.inputs[1].empty()) lo = constant_scalar(c.inputs[1]);
      if (c.inputs.size() > 2 && !c.inputs[2].empty()) hi = constant_scalar(c.inputs[2]);
      const bool max_omitted = c.inputs.size() < 3 || c.inputs[2].empty();
      if (lo && *lo == 0.0f && max_omitted) return FusedActivation::kRelu;
    }
    if (lo && hi && *lo == 0.0f && *hi == 6.0f) return FusedActivation::kRelu6;
    return FusedActivation::kNone;
  }

  std::map<int, ops::Dims> shape_values_;  // int64 values known up to symbolic dims

  /// Value id's elements as dims when known at load time (see NodeContext::shape_value).
  const ops::Dims* shape_value(int id) {
    if (auto it = shape_values_.find(id); it != shape_values_.end()) return &it->second;
    const Tensor* c = I.constant[static_cast<size_t>(id)];
    if (!c || c->rank() > 1 || c->size() > 64) return nullptr;
    ops::Dims d;
    if (c->dtype() == DType::kInt64) {
      d.assign(c->data<int64_t>().begin(), c->data<int64_t>().end());
    } else if (c->dtype() == DType::kInt32) {
      d.assign(c->data<int32_t>().begin(), c->data<int32_t>().end());
    } else {
      return nullptr;
    }
    // Literal values only: a constant -2 would read as a symbol.
    if (std::any_of(d.begin(), d.end(), [](int64_t x) { return x < -1; })) return nullptr;
    return &(shape_values_[id] = std::move(d));
  }

  static std::vector<int32_t> to_int32(const ops::Dims& d) {
    std::vector<int32_t> v;
    for (int64_t x : d) v.push_back(static_cast<int32_t>(x));
    return v;
  }

  int add_value(ValueInfo v, const Tensor* constant) {
    const int id = static_cast<int>(I.values.size());
    ids_[v.name] = id;
    I.values.push_back(std::move(v));
    I.constant.push_back(constant);
    return id;
  }

  Status check_opsets() {
    for (const auto& o : I.onnx.opset_imports) {
      if (is_onnx_domain(o.domain)) {
        onnx_opset_ = o.version;
      } else if (o.domain == "com.microsoft") {
        ms_opset_ = o.version;
      }
    }
    if (onnx_opset_ > kMaxOnnxOpset) {
      return unsupported("the model imports ai.onnx opset " + std::to_string(onnx_opset_) +
                         "; quantlab implements operators up to opset " +
                         std::to_string(kMaxOnnxOpset) +
                         " (re-export the model with opset_version <= 17)");
    }
    return Status::ok();
  }

  Status add_initializers() {
    for (size_t i = 0; i < I.onnx.graph.initializers.size(); ++i) {
      const OnnxTensor& t = I.onnx.graph.initializers[i];
      if (t.name.empty()) return malformed("initializer #" + std::to_string(i) + " has no name");
      if (ids_.count(t.name)) return malformed("two initializers are named '" + t.name + "'");
      ValueInfo v;
      v.name = t.name;
      v.dtype = t.tensor.dtype();
      v.dims = t.tensor.shape();
      v.constant = true;
      add_value(std::move(v), &t.tensor);
    }
    return Status::ok();
  }

  Status add_graph_inputs() {
    for (const OnnxValueInfo& in : I.onnx.graph.inputs) {
      if (in.name.empty()) return malformed("a graph input has no name");
      if (ids_.count(in.name)) {
        // An initializer listed as an input (IR < 4 style): its value is the constant.
        const int id = ids_[in.name];
        if (!I.constant[static_cast<size_t>(id)]) {
          return malformed("two graph inputs are named '" + in.name + "'");
        }
        continue;
      }
      if (!in.is_tensor) {
        return unsupported("graph input '" + in.name +
                           "' is not a tensor (a sequence, map or optional)");
      }
      auto dtype = graph_dtype(in.elem_type);
      if (!dtype) {
        return unsupported("graph input '" + in.name + "' has " + dtype.status().message() +
                           "; quantlab supports FLOAT, UINT8, INT8, INT32, INT64 and BOOL");
      }
      ValueInfo v;
      v.name = in.name;
      v.dtype = *dtype;
      v.rank_known = in.has_shape;
      for (const OnnxDim& d : in.dims) {
        if (d.value >= 0) {
          v.dims.push_back(d.value);
        } else if (!d.param.empty()) {
          auto [it, added] = symbol_ids_.try_emplace(d.param, 0);
          if (added) {
            it->second = kFirstSymbolDim - static_cast<int64_t>(I.symbols.size());
            I.symbols.push_back(d.param);
          }
          v.dims.push_back(it->second);
        } else {
          v.dims.push_back(kUnknownDim);
        }
      }
      const int id = add_value(v, nullptr);
      I.input_ids.push_back(id);
      I.inputs.push_back(std::move(v));
    }
    return Status::ok();
  }

  Status add_node_outputs() {
    const auto& nodes = I.onnx.graph.nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (const std::string& o : nodes[i].outputs) {
        if (o.empty()) continue;
        if (producer_.count(o)) {
          return malformed("value '" + o + "' is produced twice, by " +
                           node_label(nodes[producer_[o]], producer_[o]) + " and by " +
                           node_label(nodes[i], i));
        }
        if (ids_.count(o)) {
          return malformed(node_label(nodes[i], i) + " writes '" + o +
                           "', which is already an initializer or a graph input");
        }
        producer_[o] = i;
      }
    }
    return Status::ok();
  }

  Status topological_order(std::vector<size_t>& order) {
    const auto& nodes = I.onnx.graph.nodes;
    const size_t n = nodes.size();
    std::vector<std::vector<size_t>> users(n);
    std::vector<size_t> pending(n, 0);
    for (size_t i = 0; i < n; ++i) {
      std::set<size_t> deps;
      for (const std::string& in : nodes[i].inputs) {
        if (in.empty()) continue;
        if (auto p = producer_.find(in); p != producer_.end()) {
          deps.insert(p->second);
        } else if (!ids_.count(in)) {
          return malformed(node_label(nodes[i], i) + " reads '" + in +
                           "', which no node, initializer or graph input produces");
        }
      }
      for (size_t d : deps) users[d].push_back(i);
      pending[i] = deps.size();
    }
    // Kahn's algorithm, smallest file index first: a file already in order keeps it.
    std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
    for (size_t i = 0; i < n; ++i) {
      if (pending[i] == 0) ready.push(i);
    }
    while (!ready.empty()) {
      const size_t i = ready.top();
      ready.pop();
      order.push_back(i);
      for (size_t u : users[i]) {
        if (--pending[u] == 0) ready.push(u);
      }
    }
    if (order.size() != n) {
      std::string stuck;
      int listed = 0;
      for (size_t i = 0; i < n && listed < 4; ++i) {
        if (pending[i] > 0) {
          stuck += (listed++ ? ", " : "") + node_label(nodes[i], i);
        }
      }
      return malformed("the graph has a cycle: " + std::to_string(n - order.size()) +
                       " nodes wait on each other (" + stuck +
                       (n - order.size() > 4 ? ", ..." : "") + ")");
    }
    return Status::ok();
  }

  /// One UNSUPPORTED error naming every operator the runtime lacks (op type, number of
  /// nodes, the first node), so a user sees the whole list at once (issue 10).
  Status check_operators(const std::vector<size_t>& order) const {
    struct Missing {
      std::string op;
      size_t count = 0;
      std::string first;
    };
    std::vector<Missing> missing;
    const auto& nodes = I.onnx.graph.nodes;
    for (size_t i : order) {
      const OnnxNode& n = nodes[i];
      const bool onnx = is_onnx_domain(n.domain);
      if (!onnx && n.domain != "com.microsoft") continue;  // resolve() reports the domain
      const std::string domain = onnx ? "" : n.domain;
      const bool found = std::any_of(
          ops::op_registry().begin(), ops::op_registry().end(),
          [&](const ops::OpRegistration& r) { return r.domain == domain && r.op_type == n.op_type; });
      if (found) continue;
      const std::string op = onnx ? n.op_type : n.domain + "." + n.op_type;
      auto it = std::find_if(missing.begin(), missing.end(),
                             [&](const Missing& m) { return m.op == op; });
      if (it == missing.end()) {
        missing.push_back({op, 0, node_label(n, i)});
        it = missing.end() - 1;
      }
      ++it->count;
    }
    if (missing.empty()) return Status::ok();
    if (missing.size() == 1 && missing[0].count == 1) {
      return unsupported(missing[0].first + ": unsupported operator " + missing[0].op +
                         " (quantlab runs " + list_operators() + ")");
    }
    std::string list;
    for (const Missing& m : missing) {
      list += (list.empty() ? "" : "; ") + std::string("unsupported operator ") + m.op + " (" +
              std::to_string(m.count) + (m.count == 1 ? " node: " : " nodes, the first ") +
              m.first + ")";
    }
    return unsupported("the model uses " + std::to_string(missing.size()) +
                       (missing.size() == 1 ? " operator" : " operators") +
                       " quantlab does not run: " + list + " (quantlab runs " + list_operators() +
                       ")");
  }

  Result<const ops::OpRegistration*> resolve(const OnnxNode& node, int64_t& version) {
    const bool onnx = is_onnx_domain(node.domain);
    if (!onnx && node.domain != "com.microsoft") {
      return unsupported("operator domain '" + node.domain +
                         "' is not supported (quantlab runs ai.onnx and com.microsoft operators)");
    }
    const std::string domain = onnx ? "" : node.domain;
    const ops::OpRegistration* reg = nullptr;
    for (const auto& r : ops::op_registry()) {
      if (r.domain == domain && r.op_type == node.op_type) reg = &r;
    }
    if (!reg) {
      return unsupported("unsupported operator " +
                         (onnx ? node.op_type : node.domain + "." + node.op_type) +
                         " (quantlab runs " + list_operators() + ")");
    }
    const int64_t opset = onnx ? onnx_opset_ : ms_opset_;
    if (opset == 0) {
      return malformed("the model does not import the " +
                       std::string(onnx ? "ai.onnx" : "com.microsoft") + " opset");
    }
    version = 0;
    for (int h : reg->history) {
      if (h <= opset) version = h;
    }
    if (version == 0) {
      return unsupported(node.op_type + " does not exist in opset " + std::to_string(opset) +
                         " (it appeared in opset " + std::to_string(reg->history.front()) + ")");
    }
    if (std::find(reg->supported.begin(), reg->supported.end(), version) == reg->supported.end()) {
      std::string list;
      for (int v : reg->supported) list += (list.empty() ? "" : ", ") + std::to_string(v);
      return unsupported(node.op_type + "-" + std::to_string(version) + " (selected by opset " +
                         std::to_string(opset) + ") is not supported; quantlab implements " +
                         node.op_type + " versions " + list);
    }
    return reg;
  }

  Status prepare_node(size_t index) {
    const OnnxNode& node = I.onnx.graph.nodes[index];
    const std::string label = node_label(node, index);
    int64_t version = 0;
    auto reg = resolve(node, version);
    if (!reg) return with_label(label, reg.status());
    if (auto f = fused_into_.find(index); f != fused_into_.end())
      return alias_fused(index, f->second, version);

    std::vector<const ValueInfo*> in_infos;
    std::vector<const Tensor*> in_constants;
    std::vector<int> in_ids;
    bool all_constant = true;
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        in_infos.push_back(nullptr);
        in_constants.push_back(nullptr);
        in_ids.push_back(-1);
        continue;
      }
      const int id = ids_.at(name);
      in_infos.push_back(&I.values[static_cast<size_t>(id)]);
      in_constants.push_back(I.constant[static_cast<size_t>(id)]);
      in_ids.push_back(id);
      all_constant = all_constant && I.constant[static_cast<size_t>(id)] != nullptr;
    }
    std::vector<ValueInfo> outs(node.outputs.size());
    for (size_t j = 0; j < outs.size(); ++j) outs[j].name = node.outputs[j];
    ops::NodeContext ctx(node, version, in_infos, in_constants, I.options);
    std::vector<const ops::Dims*> in_shape_values;
    for (int id : in_ids) in_shape_values.push_back(id < 0 ? nullptr : shape_value(id));
    ctx.set_input_shape_values(std::move(in_shape_values));
    size_t consumer = 0;
    ctx.offer_activation(fusable_activation(index, consumer));
    auto op = (*reg)->factory(ctx, outs);
    if (!op) return with_label(label, op.status());

    std::vector<int> out_ids;
    for (size_t j = 0; j < outs.size(); ++j) {
      if (node.outputs[j].empty()) {
        out_ids.push_back(-1);
        continue;
      }
      outs[j].name = node.outputs[j];
      outs[j].constant = false;
      out_ids.push_back(add_value(outs[j], nullptr));
    }
    if (ctx.activation_accepted()) fused_into_[consumer] = out_ids[0];

    LayerInfo layer;
    layer.name = node.name.empty() ? node.op_type + "_" + std::to_string(index) : node.name;
    layer.op_type = node.op_type;
    layer.domain = is_onnx_domain(node.domain) ? "" : node.domain;
    layer.version = version;
    for (size_t k = 0; k < in_ids.size(); ++k) {
      if (in_ids[k] < 0) {
        layer.inputs.push_back(ValueInfo{});
        continue;
      }
      layer.inputs.push_back(I.values[static_cast<size_t>(in_ids[k])]);
      if (const Tensor* c = in_constants[k]) {
        layer.parameters += static_cast<int64_t>(c->size());
        layer.parameter_bytes += static_cast<int64_t>(c->bytes());
      }
    }

    // Outputs the factory computed from shapes alone (Shape, Gather on a shape, ...): fold
    // those fully known into constants; keep the symbolic ones for the readers' inference.
    bool all_from_shapes = !all_constant;
    for (size_t j = 0; j < out_ids.size(); ++j) {
      if (out_ids[j] < 0) continue;
      const ops::Dims* sv = ctx.output_shape_value(j);
      if (!sv) {
        all_from_shapes = false;
        continue;
      }
      const auto id = static_cast<size_t>(out_ids[j]);
      const ValueInfo& v = I.values[id];
      const bool vector_like = v.rank_known && v.dims.size() <= 1 &&
                               (v.dtype == DType::kInt64 || v.dtype == DType::kInt32);
      if (vector_like && ops::all_known(*sv)) {
        Shape shape(v.dims.begin(), v.dims.end());
        if (!shape.empty()) shape[0] = static_cast<int64_t>(sv->size());
        Tensor t = v.dtype == DType::kInt64 ? Tensor::from<int64_t>(shape, *sv)
                                            : Tensor::from<int32_t>(shape, to_int32(*sv));
        I.folded.push_back(std::make_unique<Tensor>(std::move(t)));
        I.constant[id] = I.folded.back().get();
        I.values[id].dims = I.constant[id]->shape();
        I.values[id].constant = true;
      } else {
        all_from_shapes = false;
        if (vector_like) shape_values_[out_ids[j]] = *sv;
      }
    }

    if (all_from_shapes) {
      layer.folded = true;
    } else if (all_constant) {
      // Every input is known: compute the outputs now, once.
      std::vector<Tensor> results(node.outputs.size());
      QL_RETURN_IF_ERROR(with_status(label, (*op)->run(in_constants, results)));
      for (size_t j = 0; j < out_ids.size(); ++j) {
        if (out_ids[j] < 0) continue;
        const auto id = static_cast<size_t>(out_ids[j]);
        I.folded.push_back(std::make_unique<Tensor>(std::move(results[j])));
        const Tensor* t = I.folded.back().get();
        I.constant[id] = t;
        I.values[id].dtype = t->dtype();
        I.values[id].rank_known = true;
        I.values[id].dims = t->shape();
        I.values[id].constant = true;
      }
      layer.folded = true;
    } else {
      Model::Impl::Step step;
      step.op = std::move(*op);
      step.in = std::move(in_ids);
      step.out = out_ids;
      step.label = label;
      I.steps.push_back(std::move(step));
    }
    for (int id : out_ids) {
      layer.outputs.push_back(id < 0 ? ValueInfo{} : I.values[static_cast<size_t>(id)]);
    }
    I.layers.push_back(std::move(layer));
    return Status::ok();
  }

  /// An activation node whose work the producer's kernel did: its output is the producer's
  /// value, renamed (so observers see the activation's output name).
  Status alias_fused(size_t index, int id, int64_t version) {
    const OnnxNode& node = I.onnx.graph.nodes[index];
    const auto u = static_cast<size_t>(id);
    LayerInfo layer;
    layer.name = node.name.empty() ? node.op_type + "_" + std::to_string(index) : node.name;
    layer.op_type = node.op_type;
    layer.version = version;
    layer.inputs.push_back(I.values[u]);
    for (size_t k = 1; k < node.inputs.size(); ++k) {
      if (node.inputs[k].empty()) {
        layer.inputs.push_back(ValueInfo{});
        continue;
      }
      const auto in = static_cast<size_t>(ids_.at(node.inputs[k]));
      layer.inputs.push_back(I.values[in]);
      if (const Tensor* c = I.constant[in]) {
        layer.parameters += static_cast<int64_t>(c->size());
        layer.parameter_bytes += static_cast<int64_t>(c->bytes());
      }
    }
    I.values[u].name = node.outputs[0];
    ids_[node.outputs[0]] = id;
    layer.outputs.push_back(I.values[u]);
    layer.fused = true;
    layer.folded = I.constant[u] != nullptr;
    I.layers.push_back(std::move(layer));
    return Status::ok();
  }

  static Status with_status(const std::string& label, const Status& s) {
    return s.is_ok() ? s : with_label(label, s);
  }

  Status add_graph_outputs() {
    for (const OnnxValueInfo& o : I.onnx.graph.outputs) {
      auto it = ids_.find(o.name);
      if (it == ids_.end()) {
        return malformed("graph output '" + o.name + "' is not produced by any node");
      }
      ValueInfo& v = I.values[static_cast<size_t>(it->second)];
      if (o.is_tensor && o.elem_type != 0) {
        auto declared = graph_dtype(o.elem_type);
        if (!declared || *declared != v.dtype) {
          return malformed("graph output '" + o.name + "' is declared " +
                           onnx_type_name(o.elem_type) + " but its producer computes " +
                           dtype_name(v.dtype));
        }
      }
      if (o.has_shape && v.rank_known) {
        bool ok = o.dims.size() == v.dims.size();
        for (size_t i = 0; ok && i < o.dims.size(); ++i) {
          if (o.dims[i].value >= 0 && ops::known(v.dims[i]) && o.dims[i].value != v.dims[i]) {
            ok = false;
          }
        }
        if (!ok) {
          std::string declared = "[";
          for (size_t i = 0; i < o.dims.size(); ++i) {
            declared += (i ? ", " : "") + (o.dims[i].value >= 0 ? std::to_string(o.dims[i].value)
                                           : o.dims[i].param.empty() ? "?"
                                                                     : o.dims[i].param);
          }
          return shape_mismatch("graph output '" + o.name + "' is declared " + declared +
                                "] but the graph computes " + ops::dims_string(v.dims));
        }
        // A size the file states and inference could not derive.
        for (size_t i = 0; i < o.dims.size(); ++i) {
          if (o.dims[i].value >= 0 && !ops::known(v.dims[i])) v.dims[i] = o.dims[i].value;
        }
      }
      I.output_ids.push_back(it->second);
      I.outputs.push_back(v);
    }
    return Status::ok();
  }

  void plan_releases() {
    const size_t n = I.values.size();
    std::vector<int> last(n, -1), producer(n, -1);
    for (size_t s = 0; s < I.steps.size(); ++s) {
      for (int id : I.steps[s].in) {
        if (id >= 0) last[static_cast<size_t>(id)] = static_cast<int>(s);
      }
      for (int id : I.steps[s].out) {
        if (id >= 0) producer[static_cast<size_t>(id)] = static_cast<int>(s);
      }
    }
    std::vector<bool> is_output(n, false);
    for (int id : I.output_ids) is_output[static_cast<size_t>(id)] = true;
    for (size_t id = 0; id < n; ++id) {
      if (producer[id] < 0 || is_output[id]) continue;  // inputs, constants, outputs stay
      const int at = std::max(last[id], producer[id]);
      I.steps[static_cast<size_t>(at)].release.push_back(static_cast<int>(id));
    }
  }
};

}  // namespace

Model::Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Result<Model> Model::load(std::span<const uint8_t> onnx_bytes, const ModelOptions& options) {
  auto parsed = parse_onnx_model(onnx_bytes);
  if (!parsed) return parsed.status();
  return from_onnx(std::move(*parsed), options);
}

Result<Model> Model::from_onnx(OnnxModel model, const ModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->onnx = std::move(model);
  impl->options = options;
  if (options.fuse_qdq) fuse_qdq(impl->onnx);
  QL_RETURN_IF_ERROR(Builder(*impl).build());
  Model m;
  m.impl_ = std::move(impl);
  return m;
}

const std::vector<ValueInfo>& Model::inputs() const { return impl_->inputs; }
const std::vector<ValueInfo>& Model::outputs() const { return impl_->outputs; }
const std::vector<LayerInfo>& Model::layers() const { return impl_->layers; }
const OnnxModel& Model::onnx() const { return impl_->onnx; }
const ModelOptions& Model::options() const { return impl_->options; }

std::string Model::dim_name(int64_t dim) const {
  if (dim >= 0) return std::to_string(dim);
  if (dim == kUnknownDim) return "?";
  const auto i = static_cast<size_t>(kFirstSymbolDim - dim);
  return i < impl_->symbols.size() ? impl_->symbols[i] : "?";
}

std::string Model::shape_string(const ValueInfo& v) const {
  if (!v.rank_known) return "[?...]";
  std::string s = "[";
  for (size_t i = 0; i < v.dims.size(); ++i) s += (i ? ", " : "") + dim_name(v.dims[i]);
  return s + "]";
}

std::vector<OperatorSupport> supported_operators() {
  std::vector<OperatorSupport> out;
  for (const auto& r : ops::op_registry()) {
    out.push_back({r.domain, r.op_type, r.supported});
  }
  return out;
}

}  // namespace quantlab
