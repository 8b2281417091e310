// Huffman decoding: the bitwise tree walk (reference and test oracle), the table-driven
// decoder, and the variant registry of the family.
#include <cstring>
#include <vector>

#include "huffman-decode/huffman-decode.h"

namespace quantlab {
namespace {

inline uint64_t load_be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

// The table decoder keeps a 64-bit window whose top `bits` bits are the next stream bits
// (F. Giesen, "Reading bits in far too many ways", variant 4): a refill ORs in 8 bytes
// shifted below the valid bits and advances by whole bytes, leaving 56..63 valid bits, so K
// codewords of at most 56 / K bits decode per refill without further checks. Invariant:
// (p - bytes) * 8 - bits == bits consumed.
template <int K>
int64_t decode_table(const HuffmanDecodeTable& t, const uint8_t* bytes, size_t nbytes, size_t n,
                     uint16_t* out) {
  const uint32_t* table = t.entries.data();
  const int pb = t.primary_bits;
  const uint8_t* p = bytes;
  const uint8_t* const end = bytes + nbytes;
  uint64_t buf = 0;
  int bits = 0;
  size_t i = 0;
  while (n - i >= static_cast<size_t>(K) && end - p >= 8) {
    buf |= load_be64(p) >> bits;
    p += (63 - bits) >> 3;
    bits |= 56;
    for (int k = 0; k < K; ++k) {
      uint32_t e = table[buf >> (64 - pb)];
      if (e & kHuffmanEntryLink) {
        e = table[(e >> 6) + static_cast<uint32_t>((buf << pb) >> (64 - (e & 31)))];
      }
      const int len = static_cast<int>(e & 31);
      if (len == 0) return -1;
      out[i++] = static_cast<uint16_t>(e >> 6);
      buf <<= len;
      bits -= len;
    }
  }
  // Tail: refill byte by byte and check every codeword against the bits that remain.
  while (i < n) {
    while (bits <= 56 && p < end) {
      buf |= static_cast<uint64_t>(*p++) << (56 - bits);
      bits += 8;
    }
    uint32_t e = table[buf >> (64 - pb)];
    if (e & kHuffmanEntryLink) {
      e = table[(e >> 6) + static_cast<uint32_t>((buf << pb) >> (64 - (e & 31)))];
    }
    const int len = static_cast<int>(e & 31);
    if (len == 0 || len > bits) return -1;
    out[i++] = static_cast<uint16_t>(e >> 6);
    buf <<= len;
    bits -= len;
  }
  return static_cast<int64_t>(p - bytes) * 8 - bits;
}

}  // namespace

int64_t ql_huffman_decode_ukernel__scalar_bitwise(const HuffmanDecodeTable& t,
                                                  const uint8_t* bytes, size_t nbytes, size_t n,
                                                  uint16_t* out) {
  const uint64_t total = static_cast<uint64_t>(nbytes) * 8;
  uint64_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    int32_t node = 0;
    for (;;) {
      if (pos >= total) return -1;
      const int bit = (bytes[pos >> 3] >> (7 - (pos & 7))) & 1;
      ++pos;
      const int32_t child = t.tree[static_cast<size_t>(2 * node + bit)];
      if (child == 0) return -1;
      if (child < 0) {
        out[i] = static_cast<uint16_t>(-child - 1);
        break;
      }
      node = child;
    }
  }
  return static_cast<int64_t>(pos);
}

int64_t ql_huffman_decode_ukernel__scalar_table(const HuffmanDecodeTable& t, const uint8_t* bytes,
                                                size_t nbytes, size_t n, uint16_t* out) {
  // As many codewords per refill as 56 valid bits allow.
  switch (56 / t.max_length) {
    case 2: return decode_table<2>(t, bytes, nbytes, n, out);
    case 3: return decode_table<3>(t, bytes, nbytes, n, out);
    case 4: return decode_table<4>(t, bytes, nbytes, n, out);
    case 5: return decode_table<5>(t, bytes, nbytes, n, out);
    case 6: return decode_table<6>(t, bytes, nbytes, n, out);
    default: return decode_table<7>(t, bytes, nbytes, n, out);
  }
}

std::span<const HuffmanDecodeVariant> huffman_decode_variants() {
  static const std::vector<HuffmanDecodeVariant> variants = [] {
    std::vector<HuffmanDecodeVariant> v;
#define QL_KERNEL(isa, name) v.push_back({Isa::isa, #name, &name});
#include "huffman-decode/huffman-decode.inc"
#undef QL_KERNEL
    return v;
  }();
  return variants;
}

HuffmanDecodeFn huffman_decode_best() { return huffman_decode_variants().back().fn; }

}  // namespace quantlab
