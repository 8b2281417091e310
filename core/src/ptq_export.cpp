// What onnxruntime reproduces of a quantized model's exports (export_checks): each export
// (QOperator / QDQ x uint8 / as quantized) judged from the graph, with the reasons a value
// could move. The rules follow onnxruntime's CPU kernels as ptq.hpp describes them.
#include <algorithm>
#include <set>
#include <string>

#include "quantlab/ptq.hpp"

namespace quantlab {
namespace {

/// Float operators whose results another runtime may round differently.
bool float_sensitive(const std::string& op) {
  static const std::set<std::string> ops = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Softmax",
                                            "LogSoftmax", "Exp", "Log", "Tanh", "Sigmoid", "Erf",
                                            "Pow", "Sqrt", "Reciprocal", "Div"};
  return ops.count(op) > 0;
}

struct GraphFacts {
  bool signed_activations = true;
  bool qlinear_add = false;
  std::vector<std::string> full_range_layers;  // weights beyond [-64, 63]
  std::vector<std::string> float_nodes;        // float_sensitive nodes left in float
};

GraphFacts facts_of(const PtqResult& r) {
  GraphFacts f;
  if (!r.ranges.empty()) f.signed_activations = r.ranges[0].params.is_signed;
  const OnnxGraph& g = r.model.graph;
  auto initializer = [&](const std::string& name) -> const Tensor* {
    for (const OnnxTensor& t : g.initializers) {
      if (t.name == name) return &t.tensor;
    }
    return nullptr;
  };
  for (const OnnxNode& n : g.nodes) {
    if (n.op_type == "QLinearAdd") f.qlinear_add = true;
    if (n.op_type == "QLinearConv" && n.inputs.size() > 3) {
      const Tensor* w = initializer(n.inputs[3]);
      if (w && w->dtype() == DType::kInt8) {
        const auto v = w->data<int8_t>();
        if (std::any_of(v.begin(), v.end(), [](int8_t q) { return q < -64 || q > 63; })) {
          f.full_range_layers.push_back(n.name);
        }
      }
    }
    if (float_sensitive(n.op_type)) f.float_nodes.push_back(n.name.empty() ? n.op_type : n.name);
  }
  return f;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  const size_t shown = std::min<size_t>(names.size(), 4);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + ("'" + names[i] + "'");
  if (names.size() > shown) out += " and " + std::to_string(names.size() - shown) + " more";
  return out;
}

}  // namespace

std::vector<ExportCheck> export_checks(const PtqResult& r) {
  const GraphFacts f = facts_of(r);
  std::vector<ExportCheck> out;
  for (const char* form : {"qoperator", "qdq"}) {
    for (const char* activations : {"uint8", "as-quantized"}) {
      ExportCheck c;
      c.form = form;
      c.activations = activations;
      const bool as_uint8 = c.activations == "uint8" || !f.signed_activations;
      auto inexact = [&](std::string why) {
        c.exactness = ExportExactness::kInexact;
        c.reasons.push_back(std::move(why));
      };
      if (r.requant_mode != RequantMode::kFp32) {
        inexact(std::string("this model requantizes in ") +
                (r.requant_mode == RequantMode::kQnnpack ? "qnnpack's convention" : "fixed point (gemmlowp)") +
                "; onnxruntime requantizes in float as ONNX defines it, so a value may land one step "
                "away: quantize with requantMode 'fp32' for an exact export");
      }
      if (c.activations == "uint8" && f.signed_activations && f.qlinear_add) {
        inexact("int8 activations re-expressed as uint8: QLinearAdd's fused multiply-adds round a "
                "few halfway values differently with the shifted zero points; quantize with "
                "activations 'uint8' (or export 'as-quantized') for an exact export");
      }
      if (c.form == "qdq" && !as_uint8) {
        inexact("QDQ form with int8 activations: onnxruntime does not turn every int8 QDQ group back "
                "into its integer operator (some run in float); the QOperator form or uint8 "
                "activations are exact");
      }
      if (!f.float_nodes.empty()) {
        inexact("float nodes " + joined(f.float_nodes) +
                " run in float in both runtimes, whose arithmetic may differ in the last bits");
      }
      if (as_uint8 && !f.full_range_layers.empty() && c.exactness == ExportExactness::kExact) {
        c.exactness = ExportExactness::kCpuDependent;
        c.reasons.push_back("layers " + joined(f.full_range_layers) +
                            " have weights beyond [-64, 63]: onnxruntime's x86-64 u8s8 kernels without "
                            "VNNI (AVX2's vpmaddubsw) saturate int16 pair sums; exact with VNNI or on "
                            "ARM; quantize with reduceRange (or int8 activations, 'as-quantized') to be "
                            "exact everywhere");
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace quantlab
