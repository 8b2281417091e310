// huffman-decode: every variant decodes what the bitwise reference decodes, consumes the
// same bits, and fails where it fails: complete and incomplete codes, codewords up to 20
// bits (second-level tables), awkward symbol counts, truncated and corrupted streams.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "huffman-decode/huffman-decode.h"
#include "quantlab/huffman.hpp"

using namespace quantlab;

namespace {

/// A random prefix code: random lengths 1..max_len made valid by assigning canonical
/// codewords, optionally with a few symbols dropped (incomplete).
PrefixCode random_code(std::mt19937& rng, size_t alphabet, int max_len, bool incomplete) {
  for (;;) {
    std::vector<uint8_t> len(alphabet);
    for (auto& l : len) l = static_cast<uint8_t>(1 + rng() % static_cast<unsigned>(max_len));
    // Kraft: lengthen codewords until the sum is at most 1.
    for (;;) {
      double k = 0;
      for (uint8_t l : len) k += std::ldexp(1.0, -l);
      if (k <= 1.0) break;
      auto& l = len[rng() % alphabet];
      if (l < max_len) ++l;
    }
    if (incomplete && alphabet > 2) for (size_t s = 0; s < alphabet; s += 5) len[s] = 0;
    auto code = canonical_code(len);
    if (code.is_ok() && code->max_length() > 0) {
      // Flip the meaning of the bit at each depth at random: a non-canonical code that is
      // still prefix-free (the flip pattern is aligned at the root).
      PrefixCode c = *code;
      const uint32_t flip = rng() & ((1u << kMaxCodeLength) - 1);
      for (size_t s = 0; s < alphabet; ++s) {
        if (c.lengths[s]) c.codes[s] ^= flip >> (kMaxCodeLength - c.lengths[s]);
      }
      return c;
    }
  }
}

}  // namespace

TEST_CASE("huffman-decode: every variant equals the bitwise reference", "[kernels]") {
  const auto variants = huffman_decode_variants();
  REQUIRE(variants.size() >= 2);
  REQUIRE(std::string(variants[0].name).find("bitwise") != std::string::npos);
  std::mt19937 rng(17);
  for (int trial = 0; trial < 120; ++trial) {
    const size_t alphabet = 1 + rng() % (trial % 3 == 0 ? 4 : 300);
    int max_len = 1 + static_cast<int>(rng() % kMaxCodeLength);
    while ((size_t{1} << max_len) < alphabet) ++max_len;  // room for every symbol
    const bool incomplete = trial % 4 == 1;
    PrefixCode code = random_code(rng, alphabet, max_len, incomplete);
    auto dec = HuffmanDecoder::create(code);
    REQUIRE(dec.is_ok());
    const HuffmanDecodeTable& table = dec->table();
    std::vector<uint16_t> used;
    for (size_t s = 0; s < alphabet; ++s) if (code.lengths[s]) used.push_back(static_cast<uint16_t>(s));
    for (size_t n : {0u, 1u, 2u, 3u, 5u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 32u, 33u, 1000u}) {
      std::vector<uint16_t> sym(n);
      for (auto& s : sym) s = used[rng() % used.size()];
      auto enc = huffman_encode(sym, code);
      REQUIRE(enc.is_ok());
      std::vector<uint8_t> bytes = enc->bytes;
      for (int corrupt = 0; corrupt < 3; ++corrupt) {
        std::vector<uint8_t> b = bytes;
        size_t ask = n;
        if (corrupt == 1 && !b.empty()) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        if (corrupt == 2) ask = n + 1 + rng() % 9;  // more symbols than were written
        std::vector<uint16_t> want(ask, 0xAAAA);
        const int64_t want_bits = variants[0].fn(table, b.data(), b.size(), ask, want.data());
        if (corrupt == 0) {
          REQUIRE(want_bits == static_cast<int64_t>(enc->bit_count));
          REQUIRE(want == sym);
        }
        for (const auto& v : variants) {
          std::vector<uint16_t> got(ask, 0xAAAA);
          const int64_t got_bits = v.fn(table, b.data(), b.size(), ask, got.data());
          INFO(v.name << " alphabet " << alphabet << " max_len " << max_len << " n " << n
                      << " corrupt " << corrupt);
          REQUIRE(got_bits == want_bits);
          if (want_bits >= 0) REQUIRE(got == want);
        }
      }
    }
  }
}
