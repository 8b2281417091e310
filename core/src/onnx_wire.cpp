// ONNX reader, the wire format: validates each protobuf message exactly as protozero's
// pbf_reader will read it, and reads typed fields (see onnx_wire.hpp).
#include <cstring>
#include <limits>
#include <string>

#include "onnx_wire.hpp"

namespace quantlab::onnx_detail {

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

}  // namespace quantlab::onnx_detail
