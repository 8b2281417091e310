// ONNX reader, TensorProto: every element type quantlab runs, from raw_data or the typed
// repeated fields, into a Tensor (external data is refused).
#include <bit>
#include <cstring>
#include <limits>
#include <string>

#include "onnx_wire.hpp"

namespace quantlab::onnx_detail {
namespace {

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
  DType dtype = DType::kFloat32;
  if (!dtype_from_onnx(s.data_type, dtype)) {
    return unsupported(label + " has element type " + onnx_type_name(s.data_type) +
                       "; quantlab supports FLOAT, UINT8, INT8, INT32, INT64 and BOOL");
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
    case DType::kInt8:
    case DType::kBool: {
      const bool is_signed = dtype == DType::kInt8;
      const int32_t lo = is_signed ? -128 : 0;
      const int32_t hi = is_signed ? 127 : dtype == DType::kBool ? 1 : 255;
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

}  // namespace

Result<OnnxTensor> parse_tensor(View bytes, const std::string& context) {
  TensorSource s;
  QL_RETURN_IF_ERROR(parse_tensor_source(bytes, context, s));
  return materialize(s, context);
}

}  // namespace quantlab::onnx_detail
