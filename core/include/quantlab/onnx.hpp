// ONNX files in memory: the part of onnx.proto quantlab reads and writes (ModelProto,
// GraphProto, NodeProto, TensorProto, AttributeProto, ValueInfoProto), parsed and written
// with protozero. This is the editable form of a model (post-training quantization rewrites
// it, export serializes it); quantlab::Model (model.hpp) is the executable form.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {

/// ONNX TensorProto.DataType numbers of types quantlab recognises by name (only the DType
/// subset can be stored in a Tensor).
std::string onnx_type_name(int32_t data_type);

/// A tensor with its ONNX name: an initializer, a Constant's value, a test-case .pb file.
struct OnnxTensor {
  std::string name;
  Tensor tensor;
};

/// AttributeProto.AttributeType numbers.
enum class OnnxAttributeType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

/// "INT", "FLOATS", ...
const char* onnx_attribute_type_name(OnnxAttributeType type);

/// One node attribute. Only the field selected by `type` is meaningful. Attributes of type
/// GRAPH, TENSORS, SPARSE_TENSOR(S) and TYPE_PROTO(S) are rejected by the parser.
struct OnnxAttribute {
  std::string name;
  OnnxAttributeType type = OnnxAttributeType::kUndefined;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;

  static OnnxAttribute make_int(std::string name, int64_t v);
  static OnnxAttribute make_float(std::string name, float v);
  static OnnxAttribute make_string(std::string name, std::string v);
  static OnnxAttribute make_ints(std::string name, std::vector<int64_t> v);
  static OnnxAttribute make_floats(std::string name, std::vector<float> v);
  static OnnxAttribute make_tensor(std::string name, Tensor v);
};

/// NodeProto. An empty input name is an omitted optional input.
struct OnnxNode {
  std::string name;
  std::string op_type;
  std::string domain;  ///< "" (= "ai.onnx") or "com.microsoft"
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<OnnxAttribute> attributes;

  /// The attribute called `name`, or null.
  const OnnxAttribute* attribute(std::string_view name) const;
};

/// One dimension of a ValueInfoProto shape: a known size (value >= 0), a named symbol
/// (param, e.g. "N"), or neither (unknown).
struct OnnxDim {
  int64_t value = -1;
  std::string param;
};

/// ValueInfoProto of a tensor: name, element type (ONNX number, 0 if absent) and shape.
/// Non-tensor types (sequences, maps, optionals) are recorded with is_tensor = false.
struct OnnxValueInfo {
  std::string name;
  bool is_tensor = true;
  int32_t elem_type = 0;
  bool has_shape = false;
  std::vector<OnnxDim> dims;
};

/// OperatorSetIdProto: domain "" is ai.onnx.
struct OnnxOpset {
  std::string domain;
  int64_t version = 0;
};

/// GraphProto. Nodes are in file order (the runtime sorts them topologically).
struct OnnxGraph {
  std::string name;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxTensor> initializers;
  std::vector<OnnxValueInfo> inputs;
  std::vector<OnnxValueInfo> outputs;
  std::vector<OnnxValueInfo> value_info;
};

/// ModelProto.
struct OnnxModel {
  int64_t ir_version = 8;
  std::vector<OnnxOpset> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  OnnxGraph graph;

  /// The version imported for `domain` ("" and "ai.onnx" are the same), or 0 if none.
  int64_t opset(std::string_view domain) const;
};

/// Parse a serialized ModelProto (an .onnx file). Errors (kMalformed, kUnsupported,
/// kTooLarge) name the tensor, node or field and the problem: truncated or corrupt bytes,
/// tensors whose data does not match their dims, external data, element types other than
/// float32 / uint8 / int8 / int32 / int64, graph-valued attributes, sparse initializers.
/// Nothing is allocated from sizes the file merely claims: a tensor is allocated only once
/// the bytes holding its elements have been found and counted.
Result<OnnxModel> parse_onnx_model(std::span<const uint8_t> bytes);

/// Parse a serialized TensorProto (an ONNX test case's input_0.pb / output_0.pb).
Result<OnnxTensor> parse_onnx_tensor(std::span<const uint8_t> bytes);

/// Serialize a model; tensors are written as raw_data (little-endian). parse_onnx_model of
/// the result gives back an equal model.
std::vector<uint8_t> serialize_onnx_model(const OnnxModel& model);

/// Serialize one tensor as a TensorProto with raw_data.
std::vector<uint8_t> serialize_onnx_tensor(const OnnxTensor& tensor);

}  // namespace quantlab
