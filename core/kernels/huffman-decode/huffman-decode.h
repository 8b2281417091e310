// Huffman (prefix code) decoding kernels. The tables are built once per code by
// HuffmanDecoder::create (huffman.cpp) and shared by all variants:
//  - entries: a primary table of 2^primary_bits entries indexed by the next primary_bits
//    bits of the stream, then second-level tables for codewords longer than primary_bits.
//    Entry layout (uint32): bits 0-4 length, bit 5 link flag, bits 6-31 value.
//      leaf:    value = symbol, length = the codeword's full length (1..20)
//      link:    value = offset of a second-level table in `entries`, length = the number of
//               bits after the primary ones that index it
//      invalid: 0 (a bit pattern that starts no codeword: incomplete codes)
//  - tree: the code's binary tree for the bitwise reference. Node t has children
//    tree[2t] (bit 0) and tree[2t + 1] (bit 1): > 0 an internal node, < 0 the leaf of symbol
//    -child - 1, 0 no codeword. The root is node 0.
// Bits are read most significant bit first. Every variant decodes exactly what the bitwise
// reference decodes and consumes the same number of bits, or fails where it fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "isa.h"

namespace quantlab {

struct HuffmanDecodeTable {
  int primary_bits = 0;  ///< min(max_length, 11)
  int max_length = 0;    ///< longest codeword, 1..20
  std::vector<uint32_t> entries;
  std::vector<int32_t> tree;
};

inline constexpr uint32_t kHuffmanEntryLink = 32;

/// Decodes n symbols from bytes[0, nbytes) starting at its first bit into out. Returns the
/// number of bits consumed, or -1 when a bit pattern is no codeword or the stream ends
/// before n symbols.
using HuffmanDecodeFn = int64_t (*)(const HuffmanDecodeTable& table, const uint8_t* bytes,
                                    size_t nbytes, size_t n, uint16_t* out);

#define QL_KERNEL(isa, name) \
  int64_t name(const HuffmanDecodeTable& table, const uint8_t* bytes, size_t nbytes, size_t n, \
               uint16_t* out);
#include "huffman-decode/huffman-decode.inc"
#undef QL_KERNEL

struct HuffmanDecodeVariant {
  Isa isa;
  const char* name;
  HuffmanDecodeFn fn;
};

/// Every variant compiled into this build, the bitwise reference first.
std::span<const HuffmanDecodeVariant> huffman_decode_variants();

/// The fastest variant (the last row of the list).
HuffmanDecodeFn huffman_decode_best();

}  // namespace quantlab
