// Entropy coding past Huffman (issue 17): a static rANS coder (Duda 2013; the byte-oriented
// form of Giesen's ryg_rans, here with 16-bit renormalization) with a per-stream context
// model, for the label, gap and PQ-code streams of the compressed model file. Huffman spends
// a whole number of bits per symbol (up to 1 bit above the entropy, and 1 bit at best on a
// skewed 2-symbol stream); rANS codes within a fraction of a percent of the model's ideal
// code length, and decodes table-driven at hundreds of millions of symbols per second.
//
// Stream layout (integers little-endian; varint: LEB128, at most 5 bytes):
//   u8 model: bit 0 context (0 order-0: one table; 1 order-1: a table per previous symbol of
//             the same lane, i.e. symbol i - lanes; the first symbols' context is 0)
//             | bits 1-2 lanes - 1 | bits 3-6 scale_bits
//   varint alphabet - 1 (alphabet 1..65536)
//   frequency tables, bit-packed MSB first, padded to a byte: per context (order-1: a 1-bit
//     "used" flag first; an unused context has no table) the alphabet's frequencies as
//     Elias-gamma codes of f + 1, each zero followed by gamma(run + 1) for the zeros after
//     it; a used context's frequencies sum to 2^scale_bits exactly
//   varint word count W (<= symbols) | lanes x u32 final states | W x u16 renormalization words
// Symbol i is coded by lane i % lanes; states live in [2^16, 2^32) and end (after decoding)
// at 2^16, which the decoder checks together with W, so a corrupt stream is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "quantlab/status.hpp"

namespace quantlab {

/// The context a symbol's probability is conditioned on.
enum class EntropyContext : uint8_t {
  kOrder0 = 0,  ///< none: one frequency table
  /// The previous symbol of the same lane (symbol i - lanes: the lanes decode side by side);
  /// alphabets up to kMaxOrder1Alphabet.
  kOrder1 = 1,
};

inline constexpr int kMaxRansScaleBits = 15;
inline constexpr int kMaxRansScaleBitsOrder1 = 12;
inline constexpr size_t kMaxOrder1Alphabet = 256;
inline constexpr int kMaxRansLanes = 4;

/// Choices of rans_encode; the model itself (context, precision) is chosen by measured size.
struct RansOptions {
  /// Let the encoder pick order-1 contexts when they make the stream smaller.
  bool allow_order1 = true;
  /// Interleaved states for streams of at least lane_threshold symbols.
  int lanes = 4;
  size_t lane_threshold = 4096;
  /// Largest precision the encoder tries (<= 15): 2^12 slots of 8 bytes stay in L1, and more
  /// precision gains under 0.05% on the demo models' streams.
  int max_scale_bits = 12;
};

struct RansStream {
  std::vector<uint8_t> bytes;  ///< the whole stream (layout above)
  size_t header_bytes = 0;     ///< model byte, alphabet
  size_t table_bytes = 0;      ///< frequency tables
  size_t payload_bytes = 0;    ///< word count, states, words
  EntropyContext context = EntropyContext::kOrder0;
  int scale_bits = 0;
  int lanes = 1;
  double model_bits = 0.0;  ///< ideal code length of the symbols under the stored (quantized) model
};

/// Codes symbols < alphabet (alphabet 1..65536; an empty stream is allowed). Errors: a symbol
/// out of range, more than 2^15 distinct symbols (kOutOfRange / kInvalidArgument).
Result<RansStream> rans_encode(std::span<const uint16_t> symbols, size_t alphabet, const RansOptions& options = {});

/// Decodes out.size() symbols, each < limit, from the start of `bytes`; returns the bytes the
/// stream takes. All input is hostile: every read is checked, allocations are bounded (at most
/// (kMaxOrder1Alphabet + 1) << kMaxRansScaleBitsOrder1 table entries), and a stream that does
/// not end in the initial states or uses another word count is kMalformed. info (optional):
/// the stream's model and its byte split (bytes left empty).
Result<size_t> rans_decode(std::span<const uint8_t> bytes, std::span<uint16_t> out, size_t limit,
                           RansStream* info = nullptr);

/// Ideal code lengths (bits) of a stream under simple models, for comparing coders:
/// empirical (static) entropies with exact counts (no table cost), and adaptive models that
/// need no table (Krichevsky-Trofimov estimator, counts + 1/2, updated after every symbol).
struct EntropyStatistics {
  uint64_t symbols = 0;
  size_t alphabet = 0;
  double order0_bits = 0.0;           ///< N x H0
  double order1_bits = 0.0;           ///< sum over contexts of N_c x H(. | c)
  double adaptive_order0_bits = 0.0;  ///< sequential KT, one context
  double adaptive_order1_bits = 0.0;  ///< sequential KT per previous symbol
};
/// Errors: a symbol >= alphabet, alphabet 0 or above 65536.
Result<EntropyStatistics> entropy_statistics(std::span<const uint16_t> symbols, size_t alphabet);

}  // namespace quantlab
