// Training engine, the ONNX bridge: a Network from an fp32 ONNX model of the supported layers,
// and back.
#include "quantlab/train.hpp"

#include <algorithm>

#include "train_internal.hpp"

namespace quantlab {

using train_internal::transpose;

// --- ONNX bridge ------------------------------------------------------------------------------

namespace {

const OnnxTensor* find_initializer(const OnnxModel& m, const std::string& name) {
  for (const auto& t : m.graph.initializers) if (t.name == name) return &t;
  return nullptr;
}

int64_t int_attr(const OnnxNode& n, std::string_view name, int64_t dflt) {
  const OnnxAttribute* a = n.attribute(name);
  return a ? a->i : dflt;
}

std::vector<int64_t> ints_attr(const OnnxNode& n, std::string_view name, std::vector<int64_t> dflt) {
  const OnnxAttribute* a = n.attribute(name);
  return a ? a->ints : dflt;
}

Status node_error(const OnnxNode& n, const std::string& what) {
  return unsupported("node '" + n.name + "' (" + n.op_type + "): " + what);
}

Result<std::vector<float>> float_init(const OnnxModel& m, const OnnxNode& n, size_t input) {
  if (input >= n.inputs.size() || n.inputs[input].empty()) return std::vector<float>{};
  const OnnxTensor* t = find_initializer(m, n.inputs[input]);
  if (!t) return node_error(n, "input '" + n.inputs[input] + "' is not an initializer");
  if (t->tensor.dtype() != DType::kFloat32) return node_error(n, "initializer '" + t->name + "' is not float32");
  auto d = t->tensor.data<float>();
  return std::vector<float>(d.begin(), d.end());
}

/// "fc1" from "fc1.weight"; else the node's name.
std::string layer_name_for(const OnnxNode& n, size_t weight_input) {
  if (weight_input < n.inputs.size()) {
    const std::string& w = n.inputs[weight_input];
    const auto dot = w.rfind('.');
    if (dot != std::string::npos && dot > 0) return w.substr(0, dot);
  }
  std::string s = n.name.empty() ? n.op_type : n.name;
  for (char& c : s) if (c == '/') c = '_';
  return s;
}

void rename_params(Network& net, size_t first_param, const OnnxNode& n, std::initializer_list<size_t> inputs) {
  auto& params = net.params();
  size_t p = first_param;
  for (size_t in : inputs) {
    if (p >= params.size()) break;
    if (in < n.inputs.size() && !n.inputs[in].empty()) params[p].name = n.inputs[in];
    ++p;
  }
}

/// A float32 graph input or output of shape [N, sample...] (N symbolic).
OnnxValueInfo batched_float_value(std::string name, const Shape& sample) {
  OnnxValueInfo v;
  v.name = std::move(name);
  v.elem_type = 1;
  v.has_shape = true;
  v.dims.push_back(OnnxDim{-1, "N"});
  for (int64_t d : sample) v.dims.push_back(OnnxDim{d, ""});
  return v;
}

}  // namespace

Result<Network> network_from_onnx(const OnnxModel& m) {
  const OnnxGraph& g = m.graph;
  const OnnxValueInfo* input = nullptr;
  for (const auto& in : g.inputs) {
    if (!find_initializer(m, in.name)) {
      input = &in;
      break;
    }
  }
  if (!input) return unsupported("network_from_onnx: the graph has no input");
  if (!input->has_shape || input->dims.size() < 2) return unsupported("network_from_onnx: the input '" + input->name + "' has no shape");
  Shape shape;
  for (size_t i = 1; i < input->dims.size(); ++i) {
    if (input->dims[i].value <= 0) return unsupported("network_from_onnx: the input's dimension " + std::to_string(i) + " is not a number");
    shape.push_back(input->dims[i].value);
  }
  Network net(shape);
  std::string current = input->name;
  for (const OnnxNode& n : g.nodes) {
    if (n.inputs.empty() || n.inputs[0] != current) {
      return node_error(n, "not a sequential graph (its first input is not the previous node's output '" + current + "')");
    }
    if (n.outputs.size() != 1) return node_error(n, "expected one output");
    if (!n.domain.empty() && n.domain != "ai.onnx") return node_error(n, "unsupported domain");
    const size_t first_param = net.params().size();
    Status st;
    if (n.op_type == "Flatten") {
      if (int_attr(n, "axis", 1) != 1) return node_error(n, "axis must be 1");
      st = net.add_flatten(layer_name_for(n, 99));
    } else if (n.op_type == "Relu") {
      st = net.add_relu(layer_name_for(n, 99));
    } else if (n.op_type == "Gemm") {
      if (int_attr(n, "transA", 0) != 0) return node_error(n, "transA must be 0");
      const OnnxAttribute* alpha = n.attribute("alpha");
      const OnnxAttribute* beta = n.attribute("beta");
      if ((alpha && alpha->f != 1.0f) || (beta && beta->f != 1.0f)) return node_error(n, "alpha and beta must be 1");
      const OnnxTensor* wt = n.inputs.size() > 1 ? find_initializer(m, n.inputs[1]) : nullptr;
      if (!wt || wt->tensor.rank() != 2) return node_error(n, "the weight must be a 2-D initializer");
      auto w = float_init(m, n, 1);
      auto b = float_init(m, n, 2);
      if (!w) return w.status();
      if (!b) return b.status();
      int64_t out = wt->tensor.dim(0), in = wt->tensor.dim(1);
      std::vector<float> wv = std::move(w).value();
      if (int_attr(n, "transB", 0) == 0) {  // stored [in, out]: transpose to [out, in]
        std::swap(out, in);
        std::vector<float> t(wv.size());
        transpose(static_cast<size_t>(in), static_cast<size_t>(out), wv.data(), t.data());
        wv = std::move(t);
      }
      if (!b->empty() && b->size() != static_cast<size_t>(out)) return node_error(n, "the bias must have one value per output");
      st = net.add_linear(layer_name_for(n, 1), out, std::move(wv), std::move(b).value());
      if (st) rename_params(net, first_param, n, {1, 2});
    } else if (n.op_type == "Conv") {
      const OnnxTensor* wt = n.inputs.size() > 1 ? find_initializer(m, n.inputs[1]) : nullptr;
      if (!wt || wt->tensor.rank() != 4) return node_error(n, "the weight must be a 4-D initializer");
      const OnnxAttribute* ap = n.attribute("auto_pad");
      if (ap && !ap->s.empty() && ap->s != "NOTSET") return node_error(n, "auto_pad is not supported");
      Conv2dGeometry geo;
      geo.kernel_h = wt->tensor.dim(2);
      geo.kernel_w = wt->tensor.dim(3);
      const auto strides = ints_attr(n, "strides", {1, 1});
      const auto pads = ints_attr(n, "pads", {0, 0, 0, 0});
      const auto dil = ints_attr(n, "dilations", {1, 1});
      if (strides.size() != 2 || pads.size() != 4 || dil.size() != 2) return node_error(n, "expected 2-D attributes");
      geo.stride_h = strides[0];
      geo.stride_w = strides[1];
      geo.pad_top = pads[0];
      geo.pad_left = pads[1];
      geo.pad_bottom = pads[2];
      geo.pad_right = pads[3];
      geo.dilation_h = dil[0];
      geo.dilation_w = dil[1];
      geo.groups = int_attr(n, "group", 1);
      auto w = float_init(m, n, 1);
      auto b = float_init(m, n, 2);
      if (!w) return w.status();
      if (!b) return b.status();
      const bool has_bias = !b->empty();
      if (wt->tensor.dim(1) != (net.output_shape().empty() ? 0 : net.output_shape()[0])) {
        return node_error(n, "the weight's input channels do not match the input");
      }
      st = net.add_conv2d(layer_name_for(n, 1), wt->tensor.dim(0), geo, std::move(w).value(), std::move(b).value(), has_bias);
      if (st) rename_params(net, first_param, n, {1, 2});
    } else if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
      const auto k = ints_attr(n, "kernel_shape", {});
      const auto s = ints_attr(n, "strides", {1, 1});
      const auto pads = ints_attr(n, "pads", {0, 0, 0, 0});
      if (k.size() != 2 || k[0] != k[1] || s.size() != 2 || s[0] != s[1]) return node_error(n, "only square windows and strides");
      for (int64_t p : pads) if (p != 0) return node_error(n, "padding is not supported");
      if (int_attr(n, "ceil_mode", 0) != 0) return node_error(n, "ceil_mode is not supported");
      for (int64_t d : ints_attr(n, "dilations", {1, 1})) if (d != 1) return node_error(n, "dilations must be 1");
      st = n.op_type == "MaxPool" ? net.add_max_pool(k[0], s[0], layer_name_for(n, 99))
                                  : net.add_avg_pool(k[0], s[0], layer_name_for(n, 99));
    } else if (n.op_type == "GlobalAveragePool") {
      st = net.add_global_avg_pool(layer_name_for(n, 99));
    } else if (n.op_type == "BatchNormalization") {
      if (n.inputs.size() != 5) return node_error(n, "expected the inference form (5 inputs)");
      if (int_attr(n, "training_mode", 0) != 0) return node_error(n, "training_mode is not supported");
      const OnnxAttribute* eps = n.attribute("epsilon");
      std::vector<std::vector<float>> v;
      for (size_t i = 1; i < 5; ++i) {
        auto t = float_init(m, n, i);
        if (!t) return t.status();
        v.push_back(std::move(t).value());
      }
      st = net.add_batch_norm(layer_name_for(n, 1), v[0], v[1], v[2], v[3], eps ? eps->f : 1e-5f);
      if (st) rename_params(net, first_param, n, {1, 2, 3, 4});
    } else {
      return node_error(n, "operator not supported by the training engine");
    }
    if (!st) return Status(st.code(), "node '" + n.name + "' (" + n.op_type + "): " + st.message());
    current = n.outputs[0];
  }
  if (g.outputs.empty() || g.outputs[0].name != current) {
    return unsupported("network_from_onnx: the last node's output is not the graph's output");
  }
  if (net.layers().empty()) return unsupported("network_from_onnx: the graph has no nodes");
  return net;
}

Result<OnnxModel> network_to_onnx(const Network& net) {
  if (net.layers().empty()) return invalid_argument("network_to_onnx: the network has no layers");
  OnnxModel m;
  m.ir_version = 7;
  m.opset_imports = {{"", 13}};
  m.producer_name = "quantlab";
  OnnxGraph& g = m.graph;
  g.name = "quantlab";
  g.inputs.push_back(batched_float_value("input", net.input_shape()));
  std::string current = "input";
  for (size_t li = 0; li < net.layers().size(); ++li) {
    const Layer& l = net.layers()[li];
    OnnxNode n;
    n.name = l.name;
    n.inputs.push_back(current);
    for (int p : l.params) {
      if (p >= 0) n.inputs.push_back(net.params()[static_cast<size_t>(p)].name);
    }
    const std::string out = li + 1 == net.layers().size() ? "logits" : l.name + "_output";
    n.outputs.push_back(out);
    switch (l.kind) {
      case LayerKind::kLinear:
        n.op_type = "Gemm";
        n.attributes = {OnnxAttribute::make_float("alpha", 1.0f), OnnxAttribute::make_float("beta", 1.0f),
                        OnnxAttribute::make_int("transB", 1)};
        break;
      case LayerKind::kConv2d:
        n.op_type = "Conv";
        n.attributes = {OnnxAttribute::make_ints("dilations", {1, 1}), OnnxAttribute::make_int("group", 1),
                        OnnxAttribute::make_ints("kernel_shape", {l.conv.kernel_h, l.conv.kernel_w}),
                        OnnxAttribute::make_ints("pads", {l.conv.pad_top, l.conv.pad_left, l.conv.pad_bottom, l.conv.pad_right}),
                        OnnxAttribute::make_ints("strides", {l.conv.stride_h, l.conv.stride_w})};
        break;
      case LayerKind::kRelu: n.op_type = "Relu"; break;
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool:
        n.op_type = l.kind == LayerKind::kMaxPool ? "MaxPool" : "AveragePool";
        n.attributes = {OnnxAttribute::make_ints("kernel_shape", {l.pool_kernel, l.pool_kernel}),
                        OnnxAttribute::make_ints("pads", {0, 0, 0, 0}),
                        OnnxAttribute::make_ints("strides", {l.pool_stride, l.pool_stride})};
        break;
      case LayerKind::kGlobalAvgPool: n.op_type = "GlobalAveragePool"; break;
      case LayerKind::kFlatten:
        n.op_type = "Flatten";
        n.attributes = {OnnxAttribute::make_int("axis", 1)};
        break;
      case LayerKind::kBatchNorm:
        n.op_type = "BatchNormalization";
        n.attributes = {OnnxAttribute::make_float("epsilon", l.eps)};
        break;
    }
    g.nodes.push_back(std::move(n));
    current = out;
  }
  for (const auto& p : net.params()) {
    OnnxTensor t;
    t.name = p.name;
    t.tensor = Tensor::from<float>(p.shape, p.value);
    g.initializers.push_back(std::move(t));
  }
  g.outputs.push_back(batched_float_value("logits", net.output_shape()));
  return m;
}

}  // namespace quantlab
