// ONNX reader: the model's value types (type names, attribute makers), and ModelProto,
// GraphProto, NodeProto, AttributeProto and ValueInfoProto parsed with protozero after each
// message's wire format is validated (onnx_wire.cpp; TensorProto: onnx_tensor_reader.cpp).
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "onnx_wire.hpp"
#include "quantlab/onnx.hpp"

namespace quantlab {

namespace onnx_detail {
void protozero_threw() {
  std::fprintf(stderr,
               "quantlab internal check failed: protozero rejected bytes that quantlab's wire "
               "validation accepted (core/src/onnx_wire.cpp)\n");
  std::abort();
}
}  // namespace onnx_detail

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; quantlab copies it as is");

std::string onnx_type_name(int32_t data_type) {
  static const char* const kNames[] = {
      "UNDEFINED",      "FLOAT",      "UINT8",          "INT8",       "UINT16",   "INT16",
      "INT32",          "INT64",      "STRING",         "BOOL",       "FLOAT16",  "DOUBLE",
      "UINT32",         "UINT64",     "COMPLEX64",      "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
      "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4",      "INT4"};
  if (data_type >= 0 && data_type < static_cast<int32_t>(std::size(kNames))) {
    return std::string(kNames[data_type]) + " (" + std::to_string(data_type) + ")";
  }
  return "unknown type " + std::to_string(data_type);
}

const char* onnx_attribute_type_name(OnnxAttributeType type) {
  switch (type) {
    case OnnxAttributeType::kUndefined: return "UNDEFINED";
    case OnnxAttributeType::kFloat: return "FLOAT";
    case OnnxAttributeType::kInt: return "INT";
    case OnnxAttributeType::kString: return "STRING";
    case OnnxAttributeType::kTensor: return "TENSOR";
    case OnnxAttributeType::kGraph: return "GRAPH";
    case OnnxAttributeType::kFloats: return "FLOATS";
    case OnnxAttributeType::kInts: return "INTS";
    case OnnxAttributeType::kStrings: return "STRINGS";
    case OnnxAttributeType::kTensors: return "TENSORS";
    case OnnxAttributeType::kGraphs: return "GRAPHS";
    case OnnxAttributeType::kSparseTensor: return "SPARSE_TENSOR";
    case OnnxAttributeType::kSparseTensors: return "SPARSE_TENSORS";
    case OnnxAttributeType::kTypeProto: return "TYPE_PROTO";
    case OnnxAttributeType::kTypeProtos: return "TYPE_PROTOS";
  }
  return "UNKNOWN";
}

OnnxAttribute OnnxAttribute::make_int(std::string name, int64_t v) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.type = OnnxAttributeType::kInt;
  a.i = v;
  return a;
}
OnnxAttribute OnnxAttribute::make_float(std::string name, float v) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.type = OnnxAttributeType::kFloat;
  a.f = v;
  return a;
}
OnnxAttribute OnnxAttribute::make_string(std::string name, std::string v) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.type = OnnxAttributeType::kString;
  a.s = std::move(v);
  return a;
}
OnnxAttribute OnnxAttribute::make_ints(std::string name, std::vector<int64_t> v) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.type = OnnxAttributeType::kInts;
  a.ints = std::move(v);
  return a;
}
OnnxAttribute OnnxAttribute::make_floats(std::string name, std::vector<float> v) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.type = OnnxAttributeType::kFloats;
  a.floats = std::move(v);
  return a;
}
OnnxAttribute OnnxAttribute::make_tensor(std::string name, Tensor v) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.type = OnnxAttributeType::kTensor;
  a.t = std::move(v);
  return a;
}

const OnnxAttribute* OnnxNode::attribute(std::string_view n) const {
  for (const auto& a : attributes) {
    if (a.name == n) return &a;
  }
  return nullptr;
}

int64_t OnnxModel::opset(std::string_view d) const {
  const bool onnx = d.empty() || d == "ai.onnx";
  for (const auto& o : opset_imports) {
    if (o.domain == d || (onnx && (o.domain.empty() || o.domain == "ai.onnx"))) return o.version;
  }
  return 0;
}

using namespace onnx_detail;

namespace {

// --- AttributeProto, NodeProto, ValueInfoProto, GraphProto, ModelProto --------------------

Status parse_attribute(View bytes, const std::string& node_label, OnnxAttribute& a) {
  auto reader = open(bytes, node_label + ": attribute");
  if (!reader) return reader.status();
  pbf_reader& r = *reader;
  // Read the name first so that every later message names the attribute.
  {
    pbf_reader scan = r;
    while (scan.next(1)) {
      if (scan.wire_type() == pbf_wire_type::length_delimited)
        a.name = scan.get_string();
      else
        scan.skip();
    }
  }
  const std::string what = node_label + ": attribute '" + a.name + "'";
  int32_t type = 0;
  bool seen_f = false, seen_i = false, seen_s = false, seen_t = false, seen_floats = false,
       seen_ints = false, seen_strings = false;
  int32_t unsupported_field = 0;
  while (r.next()) {
    switch (r.tag()) {
      case 1: QL_RETURN_IF_ERROR(read_string(r, what, "name", a.name)); break;
      case 20: QL_RETURN_IF_ERROR(read_int32(r, what, "type", type)); break;
      case 2:
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::fixed32, what, "f"));
        a.f = r.get_float();
        seen_f = true;
        break;
      case 3:
        QL_RETURN_IF_ERROR(read_int64(r, what, "i", a.i));
        seen_i = true;
        break;
      case 4:
        QL_RETURN_IF_ERROR(read_string(r, what, "s", a.s));
        seen_s = true;
        break;
      case 5: {
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "t"));
        auto t = parse_tensor(view_of(r.get_view()), what + " tensor");
        if (!t) return t.status();
        a.t = std::move(t->tensor);
        seen_t = true;
        break;
      }
      case 7:
        QL_RETURN_IF_ERROR(read_repeated_float(r, what, "floats", a.floats));
        seen_floats = true;
        break;
      case 8:
        QL_RETURN_IF_ERROR(read_repeated_int64(r, what, "ints", a.ints));
        seen_ints = true;
        break;
      case 9: {
        std::string s;
        QL_RETURN_IF_ERROR(read_string(r, what, "strings", s));
        a.strings.push_back(std::move(s));
        seen_strings = true;
        break;
      }
      case 6:
        unsupported_field = 5;
        r.skip();
        break;  // g
      case 10:
        unsupported_field = 9;
        r.skip();
        break;  // tensors
      case 11:
        unsupported_field = 10;
        r.skip();
        break;  // graphs
      case 22:
        unsupported_field = 11;
        r.skip();
        break;  // sparse_tensor
      case 23:
        unsupported_field = 12;
        r.skip();
        break;  // sparse_tensors
      case 14:
        unsupported_field = 13;
        r.skip();
        break;  // tp
      case 15:
        unsupported_field = 14;
        r.skip();
        break;  // type_protos
      default: r.skip(); break;
    }
  }
  if (type == 0) {
    // IR versions before 3 may omit the type: infer it from the field that is set.
    if (unsupported_field)
      type = unsupported_field;
    else if (seen_t)
      type = 4;
    else if (seen_floats)
      type = 6;
    else if (seen_ints)
      type = 7;
    else if (seen_strings)
      type = 8;
    else if (seen_s)
      type = 3;
    else if (seen_f)
      type = 1;
    else if (seen_i)
      type = 2;
  }
  if (type < 0 || type > 14) {
    return malformed(what + " has unknown attribute type " + std::to_string(type));
  }
  a.type = static_cast<OnnxAttributeType>(type);
  switch (a.type) {
    case OnnxAttributeType::kFloat:
    case OnnxAttributeType::kInt:
    case OnnxAttributeType::kString:
    case OnnxAttributeType::kFloats:
    case OnnxAttributeType::kInts:
    case OnnxAttributeType::kStrings: return Status::ok();
    case OnnxAttributeType::kTensor:
      if (!seen_t) return malformed(what + " is of type TENSOR but holds no tensor");
      return Status::ok();
    case OnnxAttributeType::kUndefined: return malformed(what + " has no value");
    default:
      return unsupported(what + " is of type " + onnx_attribute_type_name(a.type) +
                         ", which quantlab does not support (control flow and sparse tensors "
                         "are outside its operator set)");
  }
}

Status parse_node(View bytes, size_t index, OnnxNode& n) {
  const std::string fallback = "node #" + std::to_string(index);
  auto reader = open(bytes, fallback);
  if (!reader) return reader.status();
  pbf_reader& r = *reader;
  // Name and op type first, for the messages about everything else.
  {
    pbf_reader scan = r;
    while (scan.next()) {
      if ((scan.tag() == 3 || scan.tag() == 4) &&
          scan.wire_type() == pbf_wire_type::length_delimited) {
        // The tag first: get_string() moves on (and debug protozero clears the tag).
        std::string& field = scan.tag() == 3 ? n.name : n.op_type;
        field = scan.get_string();
      } else {
        scan.skip();
      }
    }
  }
  const std::string what = "node '" + (n.name.empty() ? fallback : n.name) + "' (" +
                           (n.op_type.empty() ? "no op_type" : n.op_type) + ")";
  while (r.next()) {
    switch (r.tag()) {
      case 1: {
        std::string s;
        QL_RETURN_IF_ERROR(read_string(r, what, "input", s));
        n.inputs.push_back(std::move(s));
        break;
      }
      case 2: {
        std::string s;
        QL_RETURN_IF_ERROR(read_string(r, what, "output", s));
        n.outputs.push_back(std::move(s));
        break;
      }
      case 3: QL_RETURN_IF_ERROR(read_string(r, what, "name", n.name)); break;
      case 4: QL_RETURN_IF_ERROR(read_string(r, what, "op_type", n.op_type)); break;
      case 7: QL_RETURN_IF_ERROR(read_string(r, what, "domain", n.domain)); break;
      case 5: {
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "attribute"));
        OnnxAttribute a;
        QL_RETURN_IF_ERROR(parse_attribute(view_of(r.get_view()), what, a));
        n.attributes.push_back(std::move(a));
        break;
      }
      default: r.skip(); break;
    }
  }
  if (n.op_type.empty()) return malformed(what + " has no op_type");
  return Status::ok();
}

Status parse_shape(View bytes, const std::string& what, OnnxValueInfo& v) {
  auto reader = open(bytes, what + " shape");
  if (!reader) return reader.status();
  pbf_reader& r = *reader;
  v.has_shape = true;
  while (r.next()) {
    if (r.tag() != 1) {
      r.skip();
      continue;
    }
    QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "shape.dim"));
    auto dim_reader = open(view_of(r.get_view()), what + " shape dimension");
    if (!dim_reader) return dim_reader.status();
    pbf_reader& d = *dim_reader;
    OnnxDim dim;
    while (d.next()) {
      switch (d.tag()) {
        case 1: QL_RETURN_IF_ERROR(read_int64(d, what, "dim_value", dim.value)); break;
        case 2: QL_RETURN_IF_ERROR(read_string(d, what, "dim_param", dim.param)); break;
        default: d.skip(); break;
      }
    }
    if (dim.value < -1) {
      return malformed(what + " has a negative dimension " + std::to_string(dim.value));
    }
    v.dims.push_back(std::move(dim));
  }
  return Status::ok();
}

Status parse_value_info(View bytes, const std::string& kind, size_t index, OnnxValueInfo& v) {
  const std::string fallback = kind + " #" + std::to_string(index);
  auto reader = open(bytes, fallback);
  if (!reader) return reader.status();
  pbf_reader& r = *reader;
  View type_bytes;
  bool has_type = false;
  while (r.next()) {
    switch (r.tag()) {
      case 1: QL_RETURN_IF_ERROR(read_string(r, fallback, "name", v.name)); break;
      case 2:
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, fallback, "type"));
        type_bytes = view_of(r.get_view());
        has_type = true;
        break;
      default: r.skip(); break;
    }
  }
  const std::string what = kind + " '" + v.name + "'";
  if (!has_type) return Status::ok();
  auto type_reader = open(type_bytes, what + " type");
  if (!type_reader) return type_reader.status();
  pbf_reader& t = *type_reader;
  v.is_tensor = false;
  while (t.next()) {
    if (t.tag() != 1) {
      t.skip();
      continue;
    }
    QL_RETURN_IF_ERROR(want(t, pbf_wire_type::length_delimited, what, "tensor_type"));
    v.is_tensor = true;
    auto tensor_reader = open(view_of(t.get_view()), what + " tensor type");
    if (!tensor_reader) return tensor_reader.status();
    pbf_reader& tt = *tensor_reader;
    while (tt.next()) {
      switch (tt.tag()) {
        case 1: QL_RETURN_IF_ERROR(read_int32(tt, what, "elem_type", v.elem_type)); break;
        case 2:
          QL_RETURN_IF_ERROR(want(tt, pbf_wire_type::length_delimited, what, "shape"));
          QL_RETURN_IF_ERROR(parse_shape(view_of(tt.get_view()), what, v));
          break;
        default: tt.skip(); break;
      }
    }
  }
  return Status::ok();
}

Status parse_graph(View bytes, OnnxGraph& g) {
  auto reader = open(bytes, "graph");
  if (!reader) return reader.status();
  pbf_reader& r = *reader;
  const std::string what = "graph";
  while (r.next()) {
    switch (r.tag()) {
      case 1: {
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "node"));
        OnnxNode n;
        QL_RETURN_IF_ERROR(parse_node(view_of(r.get_view()), g.nodes.size(), n));
        g.nodes.push_back(std::move(n));
        break;
      }
      case 2: QL_RETURN_IF_ERROR(read_string(r, what, "name", g.name)); break;
      case 5: {
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "initializer"));
        auto t = parse_tensor(view_of(r.get_view()),
                              "initializer #" + std::to_string(g.initializers.size()));
        if (!t) return t.status();
        g.initializers.push_back(std::move(*t));
        break;
      }
      case 15:
        return unsupported(
            "the graph has a sparse initializer; quantlab supports dense "
            "initializers only");
      case 11:
      case 12:
      case 13: {
        const char* kind = r.tag() == 11   ? "graph input"
                           : r.tag() == 12 ? "graph output"
                                           : "value_info";
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, kind));
        auto& list = r.tag() == 11 ? g.inputs : r.tag() == 12 ? g.outputs : g.value_info;
        OnnxValueInfo v;
        QL_RETURN_IF_ERROR(parse_value_info(view_of(r.get_view()), kind, list.size(), v));
        list.push_back(std::move(v));
        break;
      }
      default: r.skip(); break;
    }
  }
  return Status::ok();
}

}  // namespace

Result<OnnxModel> parse_onnx_model(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return malformed("the ONNX model is empty (0 bytes)");
  const View all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto reader = open(all, "not an ONNX model (ModelProto");
  if (!reader) return Status(reader.status().code(), reader.status().message() + ")");
  pbf_reader& r = *reader;
  OnnxModel m;
  m.ir_version = 0;
  bool has_graph = false;
  const std::string what = "ModelProto";
  while (r.next()) {
    switch (r.tag()) {
      case 1: QL_RETURN_IF_ERROR(read_int64(r, what, "ir_version", m.ir_version)); break;
      case 2: QL_RETURN_IF_ERROR(read_string(r, what, "producer_name", m.producer_name)); break;
      case 3:
        QL_RETURN_IF_ERROR(read_string(r, what, "producer_version", m.producer_version));
        break;
      case 4: QL_RETURN_IF_ERROR(read_string(r, what, "domain", m.domain)); break;
      case 5: QL_RETURN_IF_ERROR(read_int64(r, what, "model_version", m.model_version)); break;
      case 6: QL_RETURN_IF_ERROR(read_string(r, what, "doc_string", m.doc_string)); break;
      case 7:
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "graph"));
        QL_RETURN_IF_ERROR(parse_graph(view_of(r.get_view()), m.graph));
        has_graph = true;
        break;
      case 8: {
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "opset_import"));
        auto o = open(view_of(r.get_view()), "opset_import");
        if (!o) return o.status();
        OnnxOpset op;
        while (o->next()) {
          switch (o->tag()) {
            case 1: QL_RETURN_IF_ERROR(read_string(*o, "opset_import", "domain", op.domain)); break;
            case 2:
              QL_RETURN_IF_ERROR(read_int64(*o, "opset_import", "version", op.version));
              break;
            default: o->skip(); break;
          }
        }
        m.opset_imports.push_back(std::move(op));
        break;
      }
      default: r.skip(); break;
    }
  }
  if (!has_graph) {
    return malformed(
        "the bytes hold no ONNX graph (ModelProto.graph is missing): not an .onnx "
        "model, or a truncated one");
  }
  return m;
}

Result<OnnxTensor> parse_onnx_tensor(std::span<const uint8_t> bytes) {
  const View all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return parse_tensor(all, "tensor");
}

}  // namespace quantlab
