// Huffman coding (MIT 6.5940 lecture 5, section 5.6.4; the third stage of Deep Compression):
// prefix codes, canonical length-limited Huffman codes from symbol frequencies
// (package-merge), a bit writer and reader, a table-driven decoder, the average code length
// beside the Shannon entropy, and the code tree for drawing.
//
// Bit order: codewords are written most significant bit first, and bytes are filled from
// their most significant bit; the last byte is padded with zero bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quantlab/status.hpp"

namespace quantlab {

/// Longest codeword quantlab builds, stores or decodes (decoder tables stay small).
inline constexpr int kMaxCodeLength = 20;
/// The default length limit of huffman_code and huffman_compress.
inline constexpr int kDefaultCodeLength = 15;
/// Symbols are 0 .. kMaxSymbols - 1.
inline constexpr size_t kMaxSymbols = 65536;

/// A prefix code over symbols 0 .. n-1: symbol s is the lengths[s]-bit string codes[s], most
/// significant bit first; lengths[s] == 0 means s has no codeword.
struct PrefixCode {
  std::vector<uint8_t> lengths;
  std::vector<uint32_t> codes;

  size_t alphabet_size() const { return lengths.size(); }
  int max_length() const;
  /// The codeword of s as '0'/'1' characters ("" if none), as on the lecture's slides.
  std::string codeword(size_t s) const;
};

/// The lecture's notation: symbol s gets the codeword words[s] ("01", "101", ...). Errors: an
/// empty word or a character other than '0'/'1', words longer than kMaxCodeLength, and a code
/// that is not prefix-free (the message names the two symbols).
Result<PrefixCode> prefix_code_from_strings(std::span<const std::string> words);

/// Ok if no codeword is a prefix of another; else kInvalidArgument naming the two symbols.
Status check_prefix_free(const PrefixCode& code);

/// The canonical Huffman code with codeword lengths at most max_length (1..15 here; 15 is
/// what the compressed container stores): the optimal lengths under that limit
/// (package-merge, Larmore and Hirschberg 1990), then canonical codewords (sorted by length,
/// then symbol). Symbols with frequency 0 get no codeword; a single used symbol gets "0".
/// Errors: no frequencies, all zero, more than kMaxSymbols, more used symbols than
/// 2^max_length, max_length outside 1..15.
Result<PrefixCode> huffman_code(std::span<const uint64_t> frequencies, int max_length = kDefaultCodeLength);

/// The canonical code with the given lengths (how a decoder rebuilds a stored code).
/// Errors: a length above kMaxCodeLength, or lengths whose Kraft sum exceeds 1
/// (oversubscribed: no prefix code has them). An incomplete set (sum < 1) is allowed.
Result<PrefixCode> canonical_code(std::span<const uint8_t> lengths);

/// Frequencies of symbols 0 .. alphabet_size-1. Errors: a symbol >= alphabet_size.
Result<std::vector<uint64_t>> symbol_frequencies(std::span<const uint16_t> symbols,
                                                 size_t alphabet_size);

/// Average codeword length and Shannon entropy (bits per symbol) of a code on a
/// distribution: average = sum p_s lengths[s], entropy = -sum p_s log2 p_s, so
/// entropy <= average < entropy + 1 for a Huffman code.
struct CodeStatistics {
  uint64_t symbols = 0;     ///< sum of the frequencies
  uint64_t total_bits = 0;  ///< sum f_s lengths[s]
  double average_length = 0.0;
  double entropy = 0.0;
};
/// Errors: sizes differ, all frequencies zero, a used symbol without a codeword.
Result<CodeStatistics> code_statistics(const PrefixCode& code,
                                       std::span<const uint64_t> frequencies);

/// The code's binary tree, for drawing. Node 0 is the root; an internal node has both
/// children (child 0 = bit 0), a leaf has symbol >= 0. count is the sum of the frequencies
/// of the leaves below (0 when no frequencies are given). A node whose subtree holds no
/// codeword (an incomplete code) is a leaf with symbol -1.
struct CodeTreeNode {
  int32_t child[2] = {-1, -1};
  int32_t symbol = -1;
  uint64_t count = 0;
};
/// Errors: not prefix-free; frequencies given with a different size.
Result<std::vector<CodeTreeNode>> code_tree(const PrefixCode& code,
                                            std::span<const uint64_t> frequencies = {});

/// Appends bit strings most significant bit first.
class BitWriter {
 public:
  /// The low `n` bits of `bits` (n <= 32).
  void write(uint32_t bits, int n);
  uint64_t bit_count() const { return count_; }
  /// The bytes written so far, the last one padded with zero bits.
  std::vector<uint8_t> finish();

 private:
  std::vector<uint8_t> bytes_;
  uint64_t acc_ = 0;  // pending bits, right-aligned
  int pending_ = 0;
  uint64_t count_ = 0;
};

/// Reads bit strings most significant bit first from a byte span.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  /// The next n bits (n <= 32); errors (kMalformed) past the end.
  Result<uint32_t> read(int n);
  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() * 8 - pos_; }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

/// Symbols coded back to back.
struct EncodedBits {
  std::vector<uint8_t> bytes;  ///< ceil(bit_count / 8) bytes
  uint64_t bit_count = 0;
};

/// Errors: a symbol outside the alphabet or without a codeword (kOutOfRange).
Result<EncodedBits> huffman_encode(std::span<const uint16_t> symbols, const PrefixCode& code);

struct HuffmanDecodeTable;

/// Table-driven decoder for any prefix code (canonical or not) with codewords of at most
/// kMaxCodeLength bits: a primary table indexed by the next (up to) 11 bits, and second-level
/// tables for longer codewords (core/kernels/huffman-decode). Movable, immutable after
/// create().
class HuffmanDecoder {
 public:
  HuffmanDecoder();
  HuffmanDecoder(HuffmanDecoder&&) noexcept;
  HuffmanDecoder& operator=(HuffmanDecoder&&) noexcept;
  ~HuffmanDecoder();

  /// Errors: not prefix-free, a codeword longer than kMaxCodeLength, no codewords.
  static Result<HuffmanDecoder> create(const PrefixCode& code);

  /// Decodes exactly out.size() symbols from the first bit of `bytes`; returns the number of
  /// bits consumed. Errors (kMalformed): a bit pattern that is no codeword, or the symbols
  /// run past the end of `bytes`.
  Result<uint64_t> decode(std::span<const uint8_t> bytes, std::span<uint16_t> out) const;

  /// Whether `count` symbols can be in `bytes` bytes at all (every codeword takes at least a
  /// bit): check it before allocating the output. Errors: kMalformed.
  static Status check_count(uint64_t count, size_t bytes);

  /// The tables, for the kernel tests and benchmarks.
  const HuffmanDecodeTable& table() const { return *table_; }

 private:
  std::unique_ptr<HuffmanDecodeTable> table_;
};

/// The whole of section 5.6.4 in one call: frequencies, the length-limited canonical code,
/// the coded bits and the statistics.
struct HuffmanResult {
  PrefixCode code;
  EncodedBits encoded;
  CodeStatistics stats;
};
/// Errors: as symbol_frequencies and huffman_code.
Result<HuffmanResult> huffman_compress(std::span<const uint16_t> symbols, size_t alphabet_size,
                                       int max_length = kDefaultCodeLength);

}  // namespace quantlab
