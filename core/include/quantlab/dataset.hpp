// Reading datasets in the IDX format (LeCun's MNIST files, Fashion-MNIST): the files a user
// drops into the page or ships beside a model.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantlab/status.hpp"

namespace quantlab {

/// Limits applied before anything is allocated.
struct IdxOptions {
  /// Largest payload accepted, in bytes (the 70,000 Fashion-MNIST images are 55 MB).
  uint64_t max_bytes = uint64_t{1} << 30;
  /// Largest number of dimensions (IDX allows 255; images are 3, labels 1).
  int max_dims = 8;
};

/// An IDX array of unsigned bytes (type code 0x08), the only element type MNIST-style files use.
/// Layout: row-major over `dims` (images: [count, rows, cols]).
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;
};

/// Parses an uncompressed IDX file: magic 0x00 0x00, type 0x08, the number of dimensions, each
/// dimension as a big-endian uint32, then the bytes. MALFORMED for a wrong magic, a truncated
/// or over-long payload; UNSUPPORTED for another element type; TOO_LARGE past the limits (the
/// size is computed in 64 bits before any allocation).
Result<IdxArray> read_idx(std::span<const uint8_t> bytes, const IdxOptions& options = {});

}  // namespace quantlab
