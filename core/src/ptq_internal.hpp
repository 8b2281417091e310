// Internals shared by post-training quantization's files: ONNX graph helpers (constants,
// consumers), the plan of which nodes become integer layers (ptq_plan.cpp), and the
// operators a quantized model is made of (ptq_qdq.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/ptq.hpp"

namespace quantlab::ptq_internal {

constexpr float kInf = std::numeric_limits<float>::infinity();

inline bool is_onnx_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

inline int64_t attr_int(const OnnxNode& n, std::string_view name, int64_t fallback) {
  const OnnxAttribute* a = n.attribute(name);
  return a && a->type == OnnxAttributeType::kInt ? a->i : fallback;
}

inline float attr_float(const OnnxNode& n, std::string_view name, float fallback) {
  const OnnxAttribute* a = n.attribute(name);
  return a && a->type == OnnxAttributeType::kFloat ? a->f : fallback;
}

inline std::string node_label(const OnnxNode& n) {
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

/// The operators of a quantized model (quantize_static refuses them in its input).
inline const std::set<std::string>& quantized_operators() {
  static const std::set<std::string> ops = {
      "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",
      "QLinearMatMul",  "MatMulInteger",    "ConvInteger",           "QLinearAdd",
      "QGemm",          "QLinearGlobalAveragePool"};
  return ops;
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

/// Conv -> BatchNormalization pairs (the BN alone reading the conv) become one Conv with
/// W' = W s and b' = (b - mean) s + beta, s = gamma / sqrt(var + eps), in float32 as
/// PyTorch's fuse_conv_bn_eval. Returns the number folded.
int fold_batch_norms(OnnxModel& m, Constants& consts);

/// Which nodes of m become integer layers, pass-through int8 nodes or QLinearAdd.
/// The plan; the nodes named in options.exclude_nodes / exclude_op_types stay fp32.
Result<Plan> make_plan(const OnnxModel& m, const Model& fm, const Constants& consts,
                       const PtqOptions& options);

}  // namespace quantlab::ptq_internal
