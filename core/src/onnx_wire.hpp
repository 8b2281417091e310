// Internals of the ONNX reader: the protobuf wire-format validation that keeps protozero from
// ever throwing (onnx_wire.cpp), the field readers built on it, and TensorProto parsing
// (onnx_tensor_reader.cpp), shared with the ModelProto parser (onnx_reader.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "onnx_protozero.hpp"
#include "quantlab/onnx.hpp"

namespace quantlab::onnx_detail {

using protozero::pbf_reader;
using protozero::pbf_wire_type;
using View = std::string_view;

inline View view_of(const protozero::data_view& v) { return {v.data(), v.size()}; }

/// One varint as protozero decodes it: at most 10 bytes, the last without continuation bit.
bool read_varint(const char*& p, const char* end, uint64_t& value);

/// "varint", "fixed64", "length-delimited", "fixed32" or "invalid".
const char* wire_type_name(uint32_t w);

/// Every field of one message (not its sub-messages) is well formed and inside `bytes`.
Status check_message(View bytes, const std::string& what);

/// Number of varints in a packed payload; errors if the payload does not end on one.
Result<size_t> count_packed_varints(View bytes, const std::string& what);

/// A validated reader over `bytes`.
Result<pbf_reader> open(View bytes, const std::string& what);

Status want(const pbf_reader& r, pbf_wire_type type, const std::string& what, const char* field);

Status read_string(pbf_reader& r, const std::string& what, const char* field, std::string& out);

Status read_int64(pbf_reader& r, const std::string& what, const char* field, int64_t& out);

Status read_int32(pbf_reader& r, const std::string& what, const char* field, int32_t& out);

/// A repeated int64 field, packed or not: appends to out.
Status read_repeated_int64(pbf_reader& r, const std::string& what, const char* field,
                           std::vector<int64_t>& out);

/// A repeated float field, packed or not: appends to out.
Status read_repeated_float(pbf_reader& r, const std::string& what, const char* field,
                           std::vector<float>& out);

Result<OnnxTensor> parse_tensor(View bytes, const std::string& context);

}  // namespace quantlab::onnx_detail
