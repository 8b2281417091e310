// Post-training quantization, the QDQ form: to_qdq writes a quantize_static model as fp32
// operators between DequantizeLinear and QuantizeLinear, and fuse_qdq rewrites such groups
// back into integer operators.
#include "quantlab/ptq.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "ptq_internal.hpp"

namespace quantlab {

using namespace ptq_internal;

Result<OnnxModel> with_uint8_activations(const OnnxModel& qoperator) {
  if (qoperator.producer_name != "quantlab" || qoperator.producer_version != "ptq") {
    return unsupported("with_uint8_activations converts models made by quantize_static; this one was produced by '" +
                       qoperator.producer_name + "'");
  }
  // The activation zero points: the inputs of the integer operators that hold an
  // activation's Z (never a weight's, which stays int8).
  static const std::map<std::string, std::vector<size_t>> kActivationZeroPoints = {
      {"QuantizeLinear", {2}}, {"DequantizeLinear", {2}}, {"QLinearConv", {2, 7}},
      {"QLinearMatMul", {2, 7}}, {"QLinearAdd", {2, 5, 7}}};
  std::set<std::string> zero_points;
  for (const OnnxNode& n : qoperator.graph.nodes) {
    auto it = kActivationZeroPoints.find(n.op_type);
    if (it == kActivationZeroPoints.end()) continue;
    for (size_t i : it->second) {
      if (i < n.inputs.size() && !n.inputs[i].empty()) zero_points.insert(n.inputs[i]);
    }
  }
  OnnxModel m = qoperator;
  for (OnnxTensor& t : m.graph.initializers) {
    if (!zero_points.count(t.name) || t.tensor.dtype() != DType::kInt8) continue;
    // q_u8 = q_i8 + 128 with Z_u8 = Z_i8 + 128: every integer operator sees the same
    // q - Z, and the clamp [-128, 127] becomes [0, 255], so outputs are identical.
    const auto v = t.tensor.data<int8_t>();
    std::vector<uint8_t> u(v.size());
    for (size_t i = 0; i < v.size(); ++i) u[i] = static_cast<uint8_t>(int32_t{v[i]} + 128);
    t.tensor = Tensor::from<uint8_t>(t.tensor.shape(), std::move(u));
  }
  for (OnnxValueInfo& vi : m.graph.value_info) {
    if (vi.elem_type == 3) vi.elem_type = 2;  // TensorProto INT8 -> UINT8
  }
  return m;
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
  // A fully-connected layer is written in QOperator form as Reshape [M, K] -> [M, K, 1, 1],
  // QLinearConv 1x1, Flatten. In QDQ form it is a Gemm (transB) on the [M, K] activation
  // with [N, K] weights, which onnxruntime fuses into its QGemm kernel (1.6x its fp32 Gemm at
  // 64x784x300 in onnxruntime-web, against 0.6x for the 1x1 QLinearConv), with the same
  // integer arithmetic. fc_input: that conv's [M, K] quantized input; fc_output: the
  // Flatten's output, which the Gemm's QuantizeLinear writes directly.
  const Uses uses(qoperator.graph);
  const auto& gnodes = qoperator.graph.nodes;
  std::map<size_t, std::string> fc_input, fc_output;
  std::set<size_t> skipped;  // the Reshape / Flatten nodes a Gemm replaces
  for (size_t i = 0; i < gnodes.size(); ++i) {
    const OnnxNode& n = gnodes[i];
    if (n.op_type != "QLinearConv" || n.inputs.size() < 8) continue;
    auto p = uses.producer.find(n.inputs[0]);
    auto c = uses.consumers.find(n.outputs[0]);
    if (p == uses.producer.end() || c == uses.consumers.end() || c->second.size() != 1) continue;
    const OnnxNode& reshape = gnodes[p->second];
    const OnnxNode& flatten = gnodes[c->second[0]];
    const Tensor* w = init.count(n.inputs[3]) ? init[n.inputs[3]] : nullptr;
    if (reshape.op_type != "Reshape" || reshape.inputs.size() != 2 ||
        reshape.inputs[1].rfind("ptq_shape_m1_", 0) != 0 || flatten.op_type != "Flatten" ||
        uses.graph_outputs.count(n.outputs[0]) || !w || w->rank() != 4 || w->dim(2) != 1 || w->dim(3) != 1) {
      continue;
    }
    fc_input[i] = reshape.inputs[0];
    fc_output[i] = flatten.outputs[0];
    skipped.insert(c->second[0]);
  }
  // A Reshape is dropped when every reader of its output became a Gemm.
  for (size_t i = 0; i < gnodes.size(); ++i) {
    const OnnxNode& n = gnodes[i];
    if (n.op_type != "Reshape" || n.outputs.empty() || uses.graph_outputs.count(n.outputs[0])) continue;
    auto c = uses.consumers.find(n.outputs[0]);
    if (c != uses.consumers.end() &&
        std::all_of(c->second.begin(), c->second.end(), [&](size_t r) { return fc_input.count(r) > 0; })) {
      skipped.insert(i);
    }
  }
  for (size_t node_index = 0; node_index < gnodes.size(); ++node_index) {
    const OnnxNode& n = gnodes[node_index];
    if (skipped.count(node_index)) continue;
    const bool fc = fc_input.count(node_index) > 0;
    if (n.op_type == "QLinearConv" && n.inputs.size() >= 8) {
      const Tensor* xs = init.count(n.inputs[1]) ? init[n.inputs[1]] : nullptr;
      const Tensor* ws = init.count(n.inputs[4]) ? init[n.inputs[4]] : nullptr;
      if (!xs || !ws || xs->dtype() != DType::kFloat32 || ws->dtype() != DType::kFloat32 ||
          xs->size() != 1) {
        return invalid_argument(node_label(n) + ": its scales must be float32 initializers");
      }
      const bool per_channel = ws->rank() == 1;
      const std::string x = dq(fc ? fc_input[node_index] : n.inputs[0], n.inputs[1], n.inputs[2], std::nullopt);
      std::string w_q = n.inputs[3];
      if (fc) {  // the [N, K, 1, 1] weights as [N, K]
        const Tensor& w4 = *init[n.inputs[3]];
        w_q = n.inputs[3] + "_nk";
        auto w2 = Tensor::create(DType::kInt8, {w4.dim(0), w4.dim(1)});
        if (!w2) return w2.status();
        std::copy(w4.data<int8_t>().begin(), w4.data<int8_t>().end(), w2->data<int8_t>().begin());
        extra.push_back({w_q, std::move(*w2)});
      }
      const std::string w = dq(w_q, n.inputs[4], n.inputs[5],
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
      const std::string out = fc ? fc_output[node_index] : n.outputs[0];
      OnnxNode conv;
      conv.name = n.name;
      conv.op_type = fc ? "Gemm" : "Conv";
      conv.inputs = std::move(conv_in);
      conv.outputs = {out + "_float"};
      conv.attributes = fc ? std::vector<OnnxAttribute>{OnnxAttribute::make_int("transB", 1)} : n.attributes;
      nodes.push_back(std::move(conv));
      q_node(out + "_float", n.inputs[6], n.inputs[7], out);
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
  std::vector<std::vector<OnnxNode>> replace(g.nodes.size());  // non-empty: the node's replacement
  std::vector<OnnxTensor> added;   // initializers the Gemm rewrite needs
  std::set<std::string> reshaped;  // [M, K] activations already reshaped to [M, K, 1, 1]
  std::set<std::string> superseded;  // [N, K] weights the rewrite replaced by [N, K, 1, 1] copies
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
    // Conv, or Gemm (transB, no alpha / beta: the QDQ form's fully-connected layers), which
    // becomes what quantize_static writes for it: Reshape [M, K, 1, 1], QLinearConv 1x1, Flatten.
    std::optional<size_t> ci = producer(yf, "Conv");
    const bool gemm = !ci && (ci = producer(yf, "Gemm")).has_value();
    if (ci) {
      const OnnxNode& conv = g.nodes[*ci];
      if (conv.inputs.size() < 2 || drop[*ci] || !replace[*ci].empty()) continue;
      if (gemm) {
        const OnnxAttribute* alpha = conv.attribute("alpha");
        const OnnxAttribute* beta = conv.attribute("beta");
        if (attr_int(conv, "transA", 0) != 0 || attr_int(conv, "transB", 0) != 1 ||
            (alpha && alpha->f != 1.0f) || (beta && beta->f != 1.0f)) {
          continue;
        }
      }
      auto dx = activation_dq(conv.inputs[0]);
      auto dw = producer(conv.inputs[1], "DequantizeLinear");
      if (!dx || !dw || readers(conv.inputs[1]) != 1) continue;
      const OnnxNode& w = g.nodes[*dw];
      const Tensor* wq = w.inputs.size() == 3 ? constant(w.inputs[0]) : nullptr;
      const Tensor* ws = w.inputs.size() == 3 ? constant(w.inputs[1]) : nullptr;
      const Tensor* wz = w.inputs.size() == 3 ? constant(w.inputs[2]) : nullptr;
      if (!wq || !ws || !wz || wq->dtype() != DType::kInt8 || ws->dtype() != DType::kFloat32 ||
          (gemm ? wq->rank() != 2 : wq->rank() < 3) || (ws->size() != 1 && (ws->size() != static_cast<size_t>(wq->dim(0)) ||
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
      if (gemm) {
        const int64_t N = wq->dim(0), K = wq->dim(1);
        auto w4 = Tensor::create(DType::kInt8, {N, K, 1, 1});
        if (!w4) continue;
        std::copy(wq->data<int8_t>().begin(), wq->data<int8_t>().end(), w4->data<int8_t>().begin());
        f.inputs[3] = w.inputs[0] + "_nk11";
        superseded.insert(w.inputs[0]);
        added.push_back({f.inputs[3], std::move(*w4)});
        const std::string shape = "ptq_shape_m1_" + std::to_string(K) + "_1_1";
        const std::string x4 = x.inputs[0] + "_as_nk11";
        std::vector<OnnxNode> seq;
        if (reshaped.insert(x4).second) {
          if (!constant(shape) && std::none_of(added.begin(), added.end(), [&](const OnnxTensor& t) { return t.name == shape; })) {
            added.push_back({shape, Tensor::from<int64_t>({4}, {-1, K, 1, 1})});
          }
          OnnxNode r;
          r.name = conv.name + "_Reshape";
          r.op_type = "Reshape";
          r.inputs = {x.inputs[0], shape};
          r.outputs = {x4};
          seq.push_back(std::move(r));
        }
        f.inputs[0] = x4;
        f.outputs = {q.outputs[0] + "_nk11"};
        f.attributes.clear();
        OnnxNode flatten;
        flatten.name = conv.name + "_Flatten";
        flatten.op_type = "Flatten";
        flatten.inputs = f.outputs;
        flatten.outputs = q.outputs;
        flatten.attributes = {OnnxAttribute::make_int("axis", 1)};
        seq.push_back(std::move(f));
        seq.push_back(std::move(flatten));
        replace[*ci] = std::move(seq);
      } else {
        replace[*ci] = {std::move(f)};
      }
      drop[qi] = drop[*dw] = true;
      if (db) drop[*db] = true;
      ++fused;
    } else if (auto ai = producer(yf, "Add")) {
      const OnnxNode& add = g.nodes[*ai];
      if (add.inputs.size() != 2 || drop[*ai] || !replace[*ai].empty()) continue;
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
      replace[*ai] = {std::move(f)};
      drop[qi] = true;
      uses_add = true;
      ++fused;
    }
  }
  if (fused == 0) return 0;
  std::vector<OnnxNode> nodes;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (drop[i]) continue;
    if (replace[i].empty()) {
      nodes.push_back(std::move(g.nodes[i]));
    } else {
      for (OnnxNode& n : replace[i]) nodes.push_back(std::move(n));
    }
  }
  for (OnnxTensor& t : added) g.initializers.push_back(std::move(t));
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
  std::set<std::string> read;
  for (const OnnxNode& n : g.nodes) read.insert(n.inputs.begin(), n.inputs.end());
  std::erase_if(g.initializers, [&](const OnnxTensor& t) { return superseded.count(t.name) && !read.count(t.name); });
  if (uses_add && model.opset("com.microsoft") == 0) model.opset_imports.push_back({"com.microsoft", 1});
  return fused;
}

}  // namespace quantlab
