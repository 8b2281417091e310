// A loaded ONNX model ready to run: the graph in topological order, constants folded,
// shapes inferred for every value, weights packed for the fp32 and int8 kernels.
//
// Operators (ai.onnx opsets up to 17; each operator checked against the versions quantlab
// implements): Conv, Gemm, MatMul, Add, Mul, Relu, Clip, MaxPool, AveragePool,
// GlobalAveragePool, Flatten, Reshape, Transpose, BatchNormalization, Softmax, Concat,
// Identity, Dropout (inference), Constant; QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinearConv, QLinearMatMul, MatMulInteger, ConvInteger; and
// com.microsoft QLinearAdd. supported_operators() lists them with their versions.
//
// Errors (never a crash): an unsupported operator or version, a wrong element type,
// inconsistent shapes, a dangling input, a cycle, a corrupt file; the message names the
// node ("node 'conv1' (Conv): ...") and the problem.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantlab/gemm.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/progress.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {

/// What is known about a value before running: its element type and shape. A dimension is
/// a size (>= 0), kUnknownDim, or a named symbol (<= kFirstSymbolDim, see
/// Model::dim_name) such as the batch dimension "N" of a graph input.
inline constexpr int64_t kUnknownDim = -1;
inline constexpr int64_t kFirstSymbolDim = -2;

struct ValueInfo {
  std::string name;
  DType dtype = DType::kFloat32;
  bool rank_known = true;
  std::vector<int64_t> dims;
  /// The value is known when the model loads (an initializer, or computed from them).
  bool constant = false;
};

/// One node of the model, as shown in a layer list.
struct LayerInfo {
  std::string name;     ///< the node's name, or "<op_type>_<index>" when the file has none
  std::string op_type;  ///< "Conv", "QLinearAdd", ...
  std::string domain;   ///< "" (ai.onnx) or "com.microsoft"
  int64_t version = 0;  ///< the operator version selected by the model's opset
  std::vector<ValueInfo> inputs;  ///< empty name: an omitted optional input
  std::vector<ValueInfo> outputs;
  /// Elements and bytes of the node's constant inputs (weights, biases, scales, zero points).
  int64_t parameters = 0;
  int64_t parameter_bytes = 0;
  /// All inputs are constant: computed once at load time, never at run time.
  bool folded = false;
  /// An activation (Relu, Clip) applied inside the previous layer's kernel.
  bool fused = false;
};

/// Settings fixed when a model is loaded.
struct ModelOptions {
  /// Requantization of QLinearConv / QLinearMatMul. kFp32 is ONNX's (and onnxruntime's)
  /// definition, bit for bit; kFixedPoint runs the same layers with (M0, shift)
  /// multipliers (gemmlowp), as an integer-only device would.
  RequantMode requant_mode = RequantMode::kFp32;
  /// Fold a Relu, or a Clip to [0, 6], that alone reads an fp32 Conv / Gemm / MatMul output
  /// into that layer's kernel (same results, one pass fewer). The pre-activation tensor is
  /// then never materialized: set false to observe it.
  bool fuse_activations = true;
  /// Turn QDQ groups (DequantizeLinear -> Conv / Add -> QuantizeLinear) back into QLinearConv
  /// / QLinearAdd before preparing the model, as onnxruntime's graph optimizer does (see
  /// fuse_qdq in ptq.hpp). Off by default: the model then runs ONNX's float semantics of
  /// each node. onnx() returns the rewritten graph.
  bool fuse_qdq = false;
};

/// Settings of one run.
struct RunOptions {
  /// Called after each node with stage "run", done = nodes finished, total = nodes to run.
  ProgressFn progress;
  /// Called with every value a run computes (graph inputs included), in execution order:
  /// the hook post-training quantization uses to observe activation ranges.
  std::function<void(const std::string& name, const Tensor& value)> observe;
};

/// An operator quantlab runs, with the versions it implements.
struct OperatorSupport {
  std::string domain;
  std::string op_type;
  std::vector<int> versions;
};

/// The operator set of the runtime.
std::vector<OperatorSupport> supported_operators();

class Model {
 public:
  Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  /// Parse and prepare an .onnx file.
  static Result<Model> load(std::span<const uint8_t> onnx_bytes, const ModelOptions& options = {});
  /// Prepare an already parsed (or programmatically built) model.
  static Result<Model> from_onnx(OnnxModel model, const ModelOptions& options = {});

  /// Graph inputs that must be fed at run time (initializers listed as inputs excluded), in
  /// file order, and the graph outputs.
  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;
  /// Every node, in execution (topological) order.
  const std::vector<LayerInfo>& layers() const;
  /// "N" for a symbolic dimension, "?" for kUnknownDim, else the number.
  std::string dim_name(int64_t dim) const;
  /// "[N, 1, 28, 28]".
  std::string shape_string(const ValueInfo& value) const;

  /// Run on one tensor per input (in inputs() order); returns one tensor per output.
  /// Errors: a wrong count, element type or shape of an input; any operator error, named.
  Result<std::vector<Tensor>> run(std::span<const Tensor> inputs,
                                  const RunOptions& options = {}) const;

  /// The model as parsed (for post-training quantization and export).
  const OnnxModel& onnx() const;
  const ModelOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace quantlab
