// The IDX reader (dataset.hpp): validates the header and the size in 64 bits, then copies.
#include "quantlab/dataset.hpp"

#include <cstdio>
#include <string>

namespace quantlab {

Result<IdxArray> read_idx(std::span<const uint8_t> bytes, const IdxOptions& options) {
  if (bytes.size() < 4) return malformed("IDX file of " + std::to_string(bytes.size()) + " bytes has no header");
  if (bytes[0] != 0 || bytes[1] != 0) return malformed("not an IDX file: the magic must start with two zero bytes");
  if (bytes[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", static_cast<unsigned>(bytes[2]));
    return unsupported(std::string("IDX element type ") + type + " is not unsigned bytes (0x08)");
  }
  const int ndims = bytes[3];
  if (ndims == 0) return malformed("IDX file with zero dimensions");
  if (ndims > options.max_dims) {
    return too_large("IDX file with " + std::to_string(ndims) + " dimensions (at most " +
                     std::to_string(options.max_dims) + ")");
  }
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header) return malformed("IDX header truncated: " + std::to_string(ndims) + " dimensions need " +
                                              std::to_string(header) + " bytes, the file has " +
                                              std::to_string(bytes.size()));
  IdxArray out;
  out.dims.resize(static_cast<size_t>(ndims));
  uint64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    const uint8_t* p = bytes.data() + 4 + 4 * i;
    const uint32_t d = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    out.dims[static_cast<size_t>(i)] = d;
    // count <= max_bytes <= 2^63 and d < 2^32: check before multiplying so it cannot wrap.
    if (d != 0 && count > options.max_bytes / d) {
      return too_large("IDX payload exceeds " + std::to_string(options.max_bytes) + " bytes");
    }
    count *= d;
  }
  const uint64_t have = bytes.size() - header;
  if (have != count) {
    return malformed("IDX payload is " + std::to_string(have) + " bytes, the dimensions say " + std::to_string(count));
  }
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

}  // namespace quantlab
