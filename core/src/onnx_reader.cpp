// ONNX reader: validates the protobuf wire format of each message, then parses ModelProto,
// GraphProto, NodeProto, AttributeProto, ValueInfoProto and TensorProto with protozero.
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "onnx_protozero.hpp"
#include "quantlab/onnx.hpp"

namespace quantlab {

namespace onnx_detail {
void protozero_threw() {
  std::fprintf(stderr,
               "quantlab internal check failed: protozero rejected bytes that quantlab's wire "
               "validation accepted (core/src/onnx_reader.cpp)\n");
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

namespace {

using protozero::pbf_reader;
using protozero::pbf_wire_type;
using View = std::string_view;

// --- Wire-format validation -----------------------------------------------------------
// Accepts exactly what protozero's pbf_reader accepts (and a little less: field keys and
// lengths must fit 32 bits), so that protozero never throws on a validated message.

constexpr uint64_t kMaxLength = std::numeric_limits<uint32_t>::max();

/// One varint as protozero decodes it: at most 10 bytes, the last without continuation bit.
bool read_varint(const char*& p, const char* end, uint64_t& value) {
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (p == end) return false;
    const auto b = static_cast<uint8_t>(*p++);
    v |= static_cast<uint64_t>(b & 0x7fu) << (7 * i);
    if ((b & 0x80u) == 0) {
      value = v;
      return true;
    }
  }
  return false;
}

const char* wire_type_name(uint32_t w) {
  switch (w) {
    case 0: return "varint";
    case 1: return "fixed64";
    case 2: return "length-delimited";
    case 5: return "fixed32";
    default: return "invalid";
  }
}

/// Every field of one message (not its sub-messages) is well formed and inside `bytes`.
Status check_message(View bytes, const std::string& what) {
  const char* const begin = bytes.data();
  const char* p = begin;
  const char* const end = begin + bytes.size();
  auto where = [&](const char* at) { return " at byte " + std::to_string(at - begin); };
  while (p != end) {
    const char* field_start = p;
    uint64_t key = 0;
    if (!read_varint(p, end, key) || key > std::numeric_limits<uint32_t>::max()) {
      return malformed(what + ": corrupt or truncated field key" + where(field_start));
    }
    const uint32_t tag = static_cast<uint32_t>(key) >> 3;
    const uint32_t wire = static_cast<uint32_t>(key) & 7u;
    if (tag == 0 || (tag >= 19000 && tag <= 19999)) {
      return malformed(what + ": invalid field number " + std::to_string(tag) + where(field_start));
    }
    const size_t left = static_cast<size_t>(end - p);
    switch (wire) {
      case 0: {
        uint64_t v = 0;
        if (!read_varint(p, end, v)) {
          return malformed(what + ": field " + std::to_string(tag) +
                           " has a corrupt or truncated varint" + where(field_start));
        }
        break;
      }
      case 1:
      case 5: {
        const size_t n = wire == 1 ? 8 : 4;
        if (left < n) {
          return malformed(what + ": field " + std::to_string(tag) + " is truncated (needs " +
                           std::to_string(n) + " bytes, " + std::to_string(left) + " remain)");
        }
        p += n;
        break;
      }
      case 2: {
        uint64_t len = 0;
        if (!read_varint(p, end, len) || len > kMaxLength) {
          return malformed(what + ": field " + std::to_string(tag) + " has a corrupt length" +
                           where(field_start));
        }
        if (len > static_cast<uint64_t>(end - p)) {
          return malformed(what + ": field " + std::to_string(tag) + " claims " +
                           std::to_string(len) + " bytes but only " + std::to_string(end - p) +
                           " remain (truncated file?)");
        }
        p += len;
        break;
      }
      default:
        return malformed(what + ": field " + std::to_string(tag) + " has unsupported wire type " +
                         std::to_string(wire) + where(field_start));
    }
  }
  return Status::ok();
}

/// Number of varints in a packed payload; errors if the payload does not end on one.
Result<size_t> count_packed_varints(View bytes, const std::string& what) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  size_t n = 0;
  while (p != end) {
    uint64_t v = 0;
    if (!read_varint(p, end, v)) return malformed(what + ": corrupt packed varint list");
    ++n;
  }
  return n;
}

// --- Parsing helpers ---------------------------------------------------------------------

/// A validated reader over `bytes`.
Result<pbf_reader> open(View bytes, const std::string& what) {
  QL_RETURN_IF_ERROR(check_message(bytes, what));
  return pbf_reader(bytes.data(), bytes.size());
}

View view_of(const protozero::data_view& v) { return {v.data(), v.size()}; }

Status want(const pbf_reader& r, pbf_wire_type type, const std::string& what, const char* field) {
  if (r.wire_type() == type) return Status::ok();
  return malformed(what + ": field '" + field + "' has wire type " +
                   wire_type_name(static_cast<uint32_t>(r.wire_type())) + ", expected " +
                   wire_type_name(static_cast<uint32_t>(type)));
}

Status read_string(pbf_reader& r, const std::string& what, const char* field, std::string& out) {
  QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, field));
  out = r.get_string();
  return Status::ok();
}

Status read_int64(pbf_reader& r, const std::string& what, const char* field, int64_t& out) {
  QL_RETURN_IF_ERROR(want(r, pbf_wire_type::varint, what, field));
  out = r.get_int64();
  return Status::ok();
}

Status read_int32(pbf_reader& r, const std::string& what, const char* field, int32_t& out) {
  QL_RETURN_IF_ERROR(want(r, pbf_wire_type::varint, what, field));
  out = r.get_int32();
  return Status::ok();
}

/// A repeated int64 field, packed or not: appends to out.
Status read_repeated_int64(pbf_reader& r, const std::string& what, const char* field,
                           std::vector<int64_t>& out) {
  if (r.wire_type() == pbf_wire_type::length_delimited) {
    const View payload = view_of(r.get_view());
    auto n = count_packed_varints(payload, what + " field '" + field + "'");
    if (!n) return n.status();
    out.reserve(out.size() + *n);
    // Validated above; decoded with the same rules as protozero's varints.
    const char* p = payload.data();
    const char* const end = p + payload.size();
    while (p != end) {
      uint64_t v = 0;
      read_varint(p, end, v);
      out.push_back(static_cast<int64_t>(v));
    }
    return Status::ok();
  }
  int64_t v = 0;
  QL_RETURN_IF_ERROR(read_int64(r, what, field, v));
  out.push_back(v);
  return Status::ok();
}

/// A repeated float field, packed or not: appends to out.
Status read_repeated_float(pbf_reader& r, const std::string& what, const char* field,
                           std::vector<float>& out) {
  if (r.wire_type() == pbf_wire_type::length_delimited) {
    const View payload = view_of(r.get_view());
    if (payload.size() % 4 != 0) {
      return malformed(what + ": packed field '" + field + "' has " +
                       std::to_string(payload.size()) + " bytes, not a multiple of 4");
    }
    const size_t n = payload.size() / 4;
    const size_t old = out.size();
    out.resize(old + n);
    if (n) std::memcpy(out.data() + old, payload.data(), payload.size());
    return Status::ok();
  }
  QL_RETURN_IF_ERROR(want(r, pbf_wire_type::fixed32, what, field));
  out.push_back(r.get_float());
  return Status::ok();
}

// --- TensorProto ---------------------------------------------------------------------------

/// Where a TensorProto keeps its elements, gathered before anything is allocated.
struct TensorSource {
  std::string name;
  std::vector<int64_t> dims;
  int32_t data_type = 0;
  bool has_raw = false;
  View raw;
  // Typed fields: each occurrence, packed (a payload) or not (one value).
  struct Chunk {
    View packed;
    bool is_packed = false;
    uint64_t bits = 0;  // an unpacked value: varint, or the 4 / 8 bytes of a float / double
  };
  std::vector<Chunk> float_data, int32_data, int64_data;
  bool has_other_typed = false;  // string_data, double_data, uint64_data
  const char* other_typed_field = "";
  bool external = false;
  bool has_segment = false;
};

Status collect_typed(pbf_reader& r, const std::string& what, const char* field, bool fixed32,
                     std::vector<TensorSource::Chunk>& out) {
  TensorSource::Chunk c;
  if (r.wire_type() == pbf_wire_type::length_delimited) {
    c.is_packed = true;
    c.packed = view_of(r.get_view());
    if (fixed32) {
      if (c.packed.size() % 4 != 0) {
        return malformed(what + ": packed " + field + " has " + std::to_string(c.packed.size()) +
                         " bytes, not a multiple of 4");
      }
    } else {
      auto n = count_packed_varints(c.packed, what + " " + field);
      if (!n) return n.status();
    }
  } else if (fixed32) {
    QL_RETURN_IF_ERROR(want(r, pbf_wire_type::fixed32, what, field));
    c.bits = r.get_fixed32();
  } else {
    QL_RETURN_IF_ERROR(want(r, pbf_wire_type::varint, what, field));
    c.bits = r.get_uint64();
  }
  out.push_back(c);
  return Status::ok();
}

size_t chunk_count(const std::vector<TensorSource::Chunk>& chunks, bool fixed32) {
  size_t n = 0;
  for (const auto& c : chunks) {
    if (!c.is_packed) {
      ++n;
    } else if (fixed32) {
      n += c.packed.size() / 4;
    } else {
      n += *count_packed_varints(c.packed, "");
    }
  }
  return n;
}

/// Calls f(uint64 bits) for every element of the chunks, in order.
template <class F>
void for_each_element(const std::vector<TensorSource::Chunk>& chunks, bool fixed32, F f) {
  for (const auto& c : chunks) {
    if (!c.is_packed) {
      f(c.bits);
      continue;
    }
    const char* p = c.packed.data();
    const char* const end = p + c.packed.size();
    while (p != end) {
      uint64_t v = 0;
      if (fixed32) {
        uint32_t u = 0;
        std::memcpy(&u, p, 4);
        p += 4;
        v = u;
      } else {
        read_varint(p, end, v);
      }
      f(v);
    }
  }
}

Status parse_tensor_source(View bytes, const std::string& context, TensorSource& t) {
  auto reader = open(bytes, context);
  if (!reader) return reader.status();
  pbf_reader& r = *reader;
  const std::string what = context;
  while (r.next()) {
    switch (r.tag()) {
      case 1: QL_RETURN_IF_ERROR(read_repeated_int64(r, what, "dims", t.dims)); break;
      case 2: QL_RETURN_IF_ERROR(read_int32(r, what, "data_type", t.data_type)); break;
      case 3:
        t.has_segment = true;
        r.skip();
        break;
      case 4: QL_RETURN_IF_ERROR(collect_typed(r, what, "float_data", true, t.float_data)); break;
      case 5: QL_RETURN_IF_ERROR(collect_typed(r, what, "int32_data", false, t.int32_data)); break;
      case 6:
        t.has_other_typed = true;
        t.other_typed_field = "string_data";
        r.skip();
        break;
      case 7: QL_RETURN_IF_ERROR(collect_typed(r, what, "int64_data", false, t.int64_data)); break;
      case 8: QL_RETURN_IF_ERROR(read_string(r, what, "name", t.name)); break;
      case 9:
        QL_RETURN_IF_ERROR(want(r, pbf_wire_type::length_delimited, what, "raw_data"));
        t.has_raw = true;
        t.raw = view_of(r.get_view());
        break;
      case 10:
        t.has_other_typed = true;
        t.other_typed_field = "double_data";
        r.skip();
        break;
      case 11:
        t.has_other_typed = true;
        t.other_typed_field = "uint64_data";
        r.skip();
        break;
      case 13:
        t.external = true;
        r.skip();
        break;
      case 14: {
        int32_t location = 0;
        QL_RETURN_IF_ERROR(read_int32(r, what, "data_location", location));
        if (location != 0) t.external = true;
        break;
      }
      default: r.skip(); break;
    }
  }
  return Status::ok();
}

std::string tensor_label(const std::string& context, const std::string& name) {
  return name.empty() ? context : context + " '" + name + "'";
}

/// Builds the Tensor once its elements have been found and counted.
Result<OnnxTensor> materialize(const TensorSource& s, const std::string& context) {
  const std::string label = tensor_label(context, s.name);
  if (s.external) {
    return unsupported(label +
                       " stores its data in an external file; quantlab reads only "
                       "self-contained .onnx files (re-save the model without external data)");
  }
  if (s.has_segment) return unsupported(label + " is a segment of a larger tensor");
  DType dtype;
  switch (s.data_type) {
    case 1: dtype = DType::kFloat32; break;
    case 2: dtype = DType::kUInt8; break;
    case 3: dtype = DType::kInt8; break;
    case 6: dtype = DType::kInt32; break;
    case 7: dtype = DType::kInt64; break;
    default:
      return unsupported(label + " has element type " + onnx_type_name(s.data_type) +
                         "; quantlab supports FLOAT, UINT8, INT8, INT32 and INT64");
  }
  for (int64_t d : s.dims) {
    if (d < 0) {
      return malformed(label + " has a negative dimension " + std::to_string(d) + " in " +
                       shape_string(s.dims));
    }
  }
  // Element count in 64 bits (size_t is 32 bits in wasm), refused beyond kMaxTensorBytes.
  const size_t elem = dtype_size(dtype);
  uint64_t count64 = 1;
  bool zero = false;
  for (int64_t d : s.dims) zero = zero || d == 0;
  for (int64_t d : s.dims) {
    if (zero) {
      count64 = 0;
      break;
    }
    if (count64 > kMaxTensorBytes / elem / static_cast<uint64_t>(d)) {
      return too_large(label + " of shape " + shape_string(s.dims) + " (" + dtype_name(dtype) +
                       ") would need more than " + std::to_string(kMaxTensorBytes) + " bytes");
    }
    count64 *= static_cast<uint64_t>(d);
  }
  const auto count = static_cast<size_t>(count64);

  // The field that must hold the elements, and how many it has.
  const bool is_float = dtype == DType::kFloat32;
  const bool is_int64 = dtype == DType::kInt64;
  const auto& typed = is_float ? s.float_data : (is_int64 ? s.int64_data : s.int32_data);
  const char* typed_name = is_float ? "float_data" : (is_int64 ? "int64_data" : "int32_data");
  const bool wrong_field = (!is_float && !s.float_data.empty()) ||
                           (!is_int64 && !s.int64_data.empty()) ||
                           ((is_float || is_int64) && !s.int32_data.empty()) || s.has_other_typed;
  if (wrong_field) {
    const char* other = s.has_other_typed                    ? s.other_typed_field
                        : !s.float_data.empty() && !is_float ? "float_data"
                        : !s.int64_data.empty() && !is_int64 ? "int64_data"
                                                             : "int32_data";
    return malformed(label + " (" + dtype_name(dtype) + ") stores elements in " + other +
                     "; its type keeps them in " + typed_name + " or raw_data");
  }
  if (s.has_raw && !typed.empty()) {
    return malformed(label + " has both raw_data and " + typed_name);
  }
  size_t present = 0;
  if (s.has_raw) {
    if (s.raw.size() % elem != 0 || s.raw.size() / elem != count) {
      return malformed(label + " of shape " + shape_string(s.dims) + " (" + dtype_name(dtype) +
                       ") needs " + std::to_string(count) + " x " + std::to_string(elem) +
                       " bytes of raw_data but has " + std::to_string(s.raw.size()) +
                       " (truncated or corrupt file?)");
    }
    present = count;
  } else {
    present = chunk_count(typed, is_float);
    if (present != count) {
      return malformed(label + " of shape " + shape_string(s.dims) + " needs " +
                       std::to_string(count) + " elements but " + typed_name + " has " +
                       std::to_string(present) + " (truncated or corrupt file?)");
    }
  }
  // Only now, with the bytes in hand, allocate.
  auto t = Tensor::create(dtype, s.dims);
  if (!t) return Status(t.status().code(), label + ": " + t.status().message());
  OnnxTensor out{s.name, std::move(*t)};
  if (count == 0) return out;
  if (s.has_raw) {
    std::memcpy(out.tensor.raw(), s.raw.data(), s.raw.size());
    return out;
  }
  size_t i = 0;
  Status range_error;
  switch (dtype) {
    case DType::kFloat32: {
      float* dst = out.tensor.data<float>().data();
      for_each_element(typed, true, [&](uint64_t bits) {
        const uint32_t u = static_cast<uint32_t>(bits);
        std::memcpy(&dst[i++], &u, 4);
      });
      break;
    }
    case DType::kInt64: {
      int64_t* dst = out.tensor.data<int64_t>().data();
      for_each_element(typed, false, [&](uint64_t v) { dst[i++] = static_cast<int64_t>(v); });
      break;
    }
    case DType::kInt32: {
      int32_t* dst = out.tensor.data<int32_t>().data();
      for_each_element(typed, false, [&](uint64_t v) {
        dst[i++] = static_cast<int32_t>(static_cast<int64_t>(v));
      });
      break;
    }
    case DType::kUInt8:
    case DType::kInt8: {
      const bool is_signed = dtype == DType::kInt8;
      const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
      auto* dst = static_cast<uint8_t*>(out.tensor.raw());
      for_each_element(typed, false, [&](uint64_t v) {
        const auto x = static_cast<int32_t>(static_cast<int64_t>(v));
        if ((x < lo || x > hi) && range_error.is_ok()) {
          range_error = malformed(label + " (" + dtype_name(dtype) + ") element " +
                                  std::to_string(i) + " is " + std::to_string(x) + ", outside [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
        }
        dst[i++] = static_cast<uint8_t>(x);
      });
      break;
    }
  }
  if (!range_error.is_ok()) return range_error;
  QL_CHECK(i == count);
  return out;
}

Result<OnnxTensor> parse_tensor(View bytes, const std::string& context) {
  TensorSource s;
  QL_RETURN_IF_ERROR(parse_tensor_source(bytes, context, s));
  return materialize(s, context);
}

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
