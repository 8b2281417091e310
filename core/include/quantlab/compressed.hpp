// The compressed model file of Deep Compression (Han et al. 2015): per tensor the pruning
// gaps, the codebook, the labels, Huffman tables, or raw float32 values (biases), plus the
// network's architecture, so decoding gives a runnable model; versioned and checksummed.
//
// File layout, version 2 (integers little-endian, floats IEEE-754 binary32); version 1 is
// the same without stream kind 2 and coding 4, and is still read:
//   "QLDC" | u16 version = 2 | u16 flags = 0 | u32 tensor count | u32 layer count
//   architecture (layer count > 0): u8 input rank, i32 input dims,
//     per layer: u8 kind | str name | u8 param count | i32 tensor index per param (-1: none)
//                | kind attributes (Conv2d: 8 x i32 kh kw sh sw pt pl pb pr;
//                  pools: 2 x i32 kernel stride; BatchNorm: f32 eps)
//   per tensor: str name | u8 rank | i32 dims | u8 coding
//     coding 0 (raw):      n x f32
//     coding 1 (codebook): u8 bits | u8 pinned_zero | 2^bits x f32 centroids
//                          | labels stream of n symbols
//     coding 2 (sparse):   as coding 1 (pinned_zero = 1) | u8 gap_bits | u32 entries
//                          | gaps stream | labels stream, of `entries` symbols each
//     coding 3 (product quantization, pq.hpp; weights viewed as (shape[0], rest)):
//                          u8 precision (0 fp32, 1 fp16) | u32 k (2..65536) | u16 d
//                          | k x d codebook values (f32, or binary16 as u16)
//                          | codes stream of n / d symbols of ceil(log2 k) bits
//     coding 4 (scaled integers, biases): u8 int bits (16 or 32) | f32 scale (>= 0)
//                          | n x i16 or i32 q; value = q x scale, scale = max|b| / (2^(bits-1) - 1)
//   stream: u8 kind, then kind 0 (fixed width): ceil(count x width / 8) bytes, MSB first;
//           kind 1 (Huffman): u16 alphabet | 4-bit codeword lengths, two per byte (high
//           nibble first) | u32 payload bytes | payload (canonical codes, MSB first);
//           kind 2 (rANS, version 2): the self-delimiting stream of entropy.hpp
//   u32 CRC-32 (IEEE 802.3, as zlib) of every byte before it
//   str: u16 length (<= 1024) | bytes.
// A sparse tensor stores the entries of its relative-index form (prune.hpp) over the
// nonzero labels: label 0 is the pinned zero, so fillers are stored zeros (label 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "quantlab/kmeans.hpp"
#include "quantlab/pq.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"
#include "quantlab/train.hpp"

namespace quantlab {

inline constexpr uint16_t kCompressedVersion = 2;
/// The oldest version decode_compressed reads.
inline constexpr uint16_t kCompressedMinVersion = 1;
/// Largest tensor a compressed file may hold (elements): bounds every allocation made while
/// decoding, whatever the file claims.
inline constexpr size_t kMaxCompressedElements = size_t{1} << 26;

/// CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's crc32): "123456789" -> 0xCBF43926.
uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

/// Which entropy coder codes a tensor's streams (each stream stays fixed width when that is
/// smaller).
enum class EntropyCoder : uint8_t {
  kHuffman = 0,  ///< the lecture's (Deep Compression's) canonical Huffman codes
  kRans = 1,     ///< static rANS with an order-0 or order-1 context model (entropy.hpp)
  kBest = 2,     ///< per stream the smallest of fixed width, Huffman and rANS
};

/// How one tensor is stored.
struct TensorCoding {
  /// 0: raw float32. 1..8: a codebook of 2^bits centroids and one label per value.
  int bits = 0;
  /// 0: dense labels. 1..16: sparse (needs a pinned-zero codebook): relative indices with
  /// gaps of this many bits (Deep Compression: 8 for conv, 5 for fully connected layers).
  int gap_bits = 0;
  /// Entropy-code the label and gap streams when that is smaller than fixed width (false:
  /// fixed width). The name is the lecture's; `entropy` says which coder.
  bool huffman = true;
  /// The entropy coder (the lecture shows Huffman).
  EntropyCoder entropy = EntropyCoder::kHuffman;
  /// Raw tensors (bits == 0) only: 0 stores float32; 16 or 32 stores integers with one
  /// float scale max|v| / (2^(bias_bits-1) - 1) (coding 4; for biases, whose layer scale
  /// S_w x S_x is unknown when compressing). int16 keeps the relative error below 2^-16.
  int bias_bits = 0;
};

/// A tensor to store. With coding.bits > 0, `codebook` gives the centroids and labels
/// (values are then ignored: decoding gives centroids[labels]).
struct TensorToCompress {
  std::string name;
  Shape shape;
  std::vector<float> values;
  std::optional<Codebook> codebook;
  /// Product quantization (coding 3): the shared codebook and the codes; coding.bits is
  /// ignored, coding.huffman applies to the codes stream.
  std::optional<PQLayer> pq;
  TensorCoding coding;
};

/// Where a tensor's bytes go in the file.
struct TensorSizes {
  size_t header = 0;    ///< name, shape, coding bytes
  size_t raw = 0;       ///< float32 values (coding 0) or scaled integers and scale (coding 4)
  size_t codebook = 0;  ///< centroids
  size_t index = 0;     ///< gap stream payload
  size_t labels = 0;    ///< label stream payload
  size_t tables = 0;    ///< Huffman code-length tables and stream headers
  size_t entries = 0;   ///< stored entries (sparse; fillers included), else values
  size_t fillers = 0;
  size_t total() const { return header + raw + codebook + index + labels + tables; }
};

struct DecodedTensor {
  std::string name;
  Shape shape;
  std::vector<float> values;  ///< dense, row-major
  /// As stored: huffman, a stream was entropy-coded; entropy kRans if a stream is rANS;
  /// bias_bits for coding 4.
  TensorCoding coding;
  TensorSizes sizes;
  std::optional<PQLayer> pq;  ///< coding 3: the stored layer (codebook and codes)
};

struct CompressedModel {
  std::vector<DecodedTensor> tensors;
  /// The network, when the file holds an architecture (its parameters hold the decoded
  /// values, dense: no masks or codebooks).
  std::optional<Network> network;
  size_t file_bytes = 0;
  size_t architecture_bytes = 0;  ///< header, architecture and checksum
};

/// Writes the file. architecture (optional): its layers are stored and refer to tensors by
/// name (every parameter must be among `tensors`). Errors: a coding outside its range, a
/// sparse coding without a pinned-zero codebook, labels that do not match the shape,
/// duplicate or overlong names, non-finite values.
Result<std::vector<uint8_t>> encode_compressed(std::span<const TensorToCompress> tensors,
                                               const Network* architecture = nullptr);

/// Reads a file. Errors: kMalformed for a wrong magic, an unsupported version, a checksum
/// mismatch, truncated or inconsistent data (never a crash); kTooLarge for a tensor above
/// kMaxCompressedElements. Allocations are bounded by the file size and that limit.
Result<CompressedModel> decode_compressed(std::span<const uint8_t> bytes);

/// Choices for encode_network.
struct NetworkCompression {
  /// Gap widths for sparse (pinned-zero) codebooks; 0 picks the smallest per tensor.
  int gap_bits_conv = kGapBitsConv;
  int gap_bits_fc = kGapBitsFc;
  /// Entropy-code the streams (false: fixed width), with this coder.
  bool huffman = true;
  EntropyCoder entropy = EntropyCoder::kHuffman;
  /// Biases of Linear and Conv2d layers: 0 float32, 16 or 32 scaled integers (TensorCoding).
  int bias_bits = 0;
};

/// The whole network in one file: parameters with a codebook are stored as labels
/// (sparse when the codebook pins zero), the others as raw float32, plus the architecture.
Result<std::vector<uint8_t>> encode_network(const Network& network,
                                            const NetworkCompression& options = {});

}  // namespace quantlab
