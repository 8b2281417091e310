// Huffman coding: the lecture's prefix-code examples, optimality of the length-limited
// canonical code (against textbook Huffman and brute force), encode/decode round trips,
// average length against entropy, the code tree, bit I/O and invalid input.
#include "quantlab/huffman.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <random>

#include "compressed_test_util.hpp"
#include "quantlab/kmeans.hpp"

using namespace quantlab;

namespace {

/// Total bits of the textbook (unlimited) Huffman code: repeatedly merge the two lightest.
uint64_t textbook_huffman_bits(const std::vector<uint64_t>& freq) {
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> q;
  for (uint64_t f : freq) if (f) q.push(f);
  if (q.size() == 1) return q.top();  // one symbol, one bit each
  uint64_t total = 0;
  while (q.size() > 1) {
    const uint64_t a = q.top(); q.pop();
    const uint64_t b = q.top(); q.pop();
    total += a + b;
    q.push(a + b);
  }
  return total;
}

uint64_t total_bits(const PrefixCode& code, const std::vector<uint64_t>& freq) {
  uint64_t t = 0;
  for (size_t s = 0; s < freq.size(); ++s) t += freq[s] * code.lengths[s];
  return t;
}

double kraft_sum(const PrefixCode& code) {
  double k = 0;
  for (uint8_t l : code.lengths) if (l) k += std::ldexp(1.0, -l);
  return k;
}

std::vector<uint16_t> random_symbols(size_t n, size_t alphabet, double skew, unsigned seed) {
  // Geometric-like: symbol s with weight skew^s.
  std::mt19937 rng(seed);
  std::vector<double> w(alphabet);
  for (size_t s = 0; s < alphabet; ++s) w[s] = std::pow(skew, static_cast<double>(s));
  std::discrete_distribution<int> d(w.begin(), w.end());
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = static_cast<uint16_t>(d(rng));
  return v;
}

}  // namespace

TEST_CASE("lecture example: {a: 01, b: 101, c: 010} is not a prefix code", "[huffman]") {
  const std::vector<std::string> words = {"01", "101", "010"};
  auto code = prefix_code_from_strings(words);
  REQUIRE(code.status().code() == ErrorCode::kInvalidArgument);
  // The message names the pair: a's 01 is a prefix of c's 010.
  REQUIRE(code.status().message().find("symbol 0 (01)") != std::string::npos);
  REQUIRE(code.status().message().find("symbol 2 (010)") != std::string::npos);
  // Either order of insertion finds the conflict.
  const std::vector<std::string> swapped = {"010", "101", "01"};
  REQUIRE(prefix_code_from_strings(swapped).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("lecture example: {a: 01, b: 10, c: 111} encodes \"abc\" in 7 bits", "[huffman]") {
  const std::vector<std::string> words = {"01", "10", "111"};
  auto code = prefix_code_from_strings(words);
  REQUIRE(code.is_ok());
  REQUIRE(code->codeword(2) == "111");
  const std::vector<uint16_t> abc = {0, 1, 2};
  auto enc = huffman_encode(abc, *code);
  REQUIRE(enc.is_ok());
  REQUIRE(enc->bit_count == 7);
  REQUIRE(enc->bytes == std::vector<uint8_t>{0b01101110});  // 01 10 111, padded with a 0
  auto dec = HuffmanDecoder::create(*code);
  REQUIRE(dec.is_ok());
  std::vector<uint16_t> out(3);
  auto used = dec->decode(enc->bytes, out);
  REQUIRE(used.is_ok());
  REQUIRE(*used == 7);
  REQUIRE(out == abc);
  // The code is incomplete (no codeword starts with 00 or 110): such bits are rejected.
  std::vector<uint16_t> one(1);
  REQUIRE(dec->decode(std::vector<uint8_t>{0b00000000}, one).status().code() == ErrorCode::kMalformed);
  REQUIRE(dec->decode(std::vector<uint8_t>{0b11000000}, one).status().code() == ErrorCode::kMalformed);
  // The tree for drawing: root -> 0 -> 01 = a; root -> 1 -> 10 = b, 11 -> 111 = c.
  auto tree = code_tree(*code, std::vector<uint64_t>{5, 3, 2});
  REQUIRE(tree.is_ok());
  const auto& t = *tree;
  auto walk = [&](const std::string& bits) {
    int32_t n = 0;
    for (char c : bits) n = t[static_cast<size_t>(n)].child[c - '0'];
    return t[static_cast<size_t>(n)];
  };
  REQUIRE(t[0].count == 10);
  REQUIRE(walk("01").symbol == 0);
  REQUIRE(walk("10").symbol == 1);
  REQUIRE(walk("111").symbol == 2);
  REQUIRE(walk("1").count == 5);
  REQUIRE(walk("00").symbol == -1);  // no codeword there
  REQUIRE(walk("00").count == 0);
}

TEST_CASE("canonical codes: codewords follow from the lengths", "[huffman]") {
  auto code = canonical_code(std::vector<uint8_t>{2, 1, 3, 3, 0});
  REQUIRE(code.is_ok());
  REQUIRE(code->codeword(1) == "0");
  REQUIRE(code->codeword(0) == "10");
  REQUIRE(code->codeword(2) == "110");
  REQUIRE(code->codeword(3) == "111");
  REQUIRE(code->codeword(4) == "");
  REQUIRE(check_prefix_free(*code).is_ok());
  REQUIRE(canonical_code(std::vector<uint8_t>{1, 1, 1}).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(canonical_code(std::vector<uint8_t>{21}).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("huffman_code is optimal: equals textbook Huffman when the limit is loose", "[huffman]") {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + rng() % 300;
    std::vector<uint64_t> f(n);
    for (auto& x : f) x = rng() % 4 == 0 ? 0 : 1 + rng() % (trial % 2 ? 1000 : 5);
    if (std::all_of(f.begin(), f.end(), [](uint64_t x) { return x == 0; })) f[0] = 1;
    auto code = huffman_code(f, 15);
    REQUIRE(code.is_ok());
    REQUIRE(check_prefix_free(*code).is_ok());
    const size_t used = static_cast<size_t>(std::count_if(f.begin(), f.end(), [](uint64_t x) { return x > 0; }));
    for (size_t s = 0; s < n; ++s) REQUIRE((code->lengths[s] > 0) == (f[s] > 0));
    if (used > 1) REQUIRE(kraft_sum(*code) == 1.0);  // complete
    REQUIRE(total_bits(*code, f) == textbook_huffman_bits(f));
  }
}

TEST_CASE("huffman_code respects the length limit and is optimal under it", "[huffman]") {
  // Fibonacci frequencies make textbook Huffman codes as deep as the alphabet.
  std::vector<uint64_t> fib = {1, 1};
  while (fib.size() < 30) fib.push_back(fib[fib.size() - 1] + fib[fib.size() - 2]);
  auto unlimited = huffman_code(fib, 15);
  REQUIRE(unlimited->max_length() == 15);
  for (int limit : {5, 7, 10, 15}) {
    auto code = huffman_code(fib, limit);
    REQUIRE(code.is_ok());
    REQUIRE(code->max_length() <= limit);
    REQUIRE(kraft_sum(*code) == 1.0);
  }
  REQUIRE(huffman_code(fib, 4).status().code() == ErrorCode::kInvalidArgument);  // 30 > 2^4
  // Brute force: every length vector with max <= L and Kraft <= 1, on small alphabets.
  std::mt19937 rng(2);
  for (int trial = 0; trial < 40; ++trial) {
    const size_t n = 2 + static_cast<size_t>(trial % 5);  // 2..6
    const int limit = 3 + trial % 2;                       // 3 or 4
    std::vector<uint64_t> f(n);
    for (auto& x : f) x = 1 + rng() % (trial % 3 ? 50 : 2000);
    auto code = huffman_code(f, limit);
    REQUIRE(code.is_ok());
    uint64_t best = UINT64_MAX;
    std::vector<int> len(n, 1);
    for (;;) {
      double k = 0;
      uint64_t bits = 0;
      for (size_t s = 0; s < n; ++s) {
        k += std::ldexp(1.0, -len[s]);
        bits += f[s] * static_cast<uint64_t>(len[s]);
      }
      if (k <= 1.0) best = std::min(best, bits);
      size_t s = 0;
      while (s < n && len[s] == limit) len[s++] = 1;
      if (s == n) break;
      ++len[s];
    }
    REQUIRE(total_bits(*code, f) == best);
  }
}

TEST_CASE("encode then decode gives back the symbols (awkward sizes and alphabets)", "[huffman]") {
  unsigned seed = 10;
  for (size_t alphabet : {1u, 2u, 3u, 16u, 32u, 256u, 1000u}) {
    for (double skew : {1.0, 0.9, 0.5}) {
      for (size_t n : {1u, 2u, 3u, 7u, 8u, 9u, 17u, 31u, 33u, 1000u, 20001u}) {
        const std::vector<uint16_t> sym = random_symbols(n, alphabet, skew, seed++);
        auto h = huffman_compress(sym, alphabet, 15);
        REQUIRE(h.is_ok());
        REQUIRE(h->encoded.bytes.size() == (h->encoded.bit_count + 7) / 8);
        REQUIRE(h->encoded.bit_count == h->stats.total_bits);
        auto dec = HuffmanDecoder::create(h->code);
        REQUIRE(dec.is_ok());
        std::vector<uint16_t> out(n, 0xFFFF);
        auto used = dec->decode(h->encoded.bytes, out);
        REQUIRE(used.is_ok());
        REQUIRE(*used == h->encoded.bit_count);
        REQUIRE(out == sym);
        // One symbol more decodes only if the zero padding starts with a codeword.
        const uint64_t pad = h->encoded.bytes.size() * 8 - h->encoded.bit_count;
        bool pad_holds_codeword = false;
        for (size_t s = 0; s < alphabet; ++s) {
          const uint8_t len = h->code.lengths[s];
          if (len && len <= pad && h->code.codes[s] == 0) pad_holds_codeword = true;
        }
        std::vector<uint16_t> more(n + 1);
        REQUIRE(dec->decode(h->encoded.bytes, more).is_ok() == pad_holds_codeword);
      }
    }
  }
}

TEST_CASE("average code length lies in [entropy, entropy + 1)", "[huffman]") {
  // Dyadic probabilities: Huffman meets the entropy exactly.
  const std::vector<uint64_t> dyadic = {8, 4, 2, 1, 1};
  auto code = huffman_code(dyadic);
  auto st = code_statistics(*code, dyadic);
  REQUIRE(st.is_ok());
  REQUIRE(st->entropy == Approx(1.875));
  REQUIRE(st->average_length == Approx(1.875));
  // Trained weights: the 4-bit optimal k-means labels of LeNet-5's fc1.
  const std::vector<float> w = testing::demo_weights("lenet5", "fc1.weight");
  KMeansOptions o;
  o.method = KMeansMethod::kOptimal;
  auto cb = k_means_quantize(w, 4, o);
  REQUIRE(cb.is_ok());
  std::vector<uint16_t> labels(cb->labels.begin(), cb->labels.end());
  auto h = huffman_compress(labels, 16);
  REQUIRE(h.is_ok());
  INFO("entropy " << h->stats.entropy << " average " << h->stats.average_length);
  REQUIRE(h->stats.entropy <= h->stats.average_length);
  REQUIRE(h->stats.average_length < h->stats.entropy + 1);
  REQUIRE(h->stats.average_length < 4.0);  // beats the fixed 4-bit labels
  REQUIRE(h->stats.symbols == w.size());
}

TEST_CASE("the code tree has every symbol as a leaf and counts that add up", "[huffman]") {
  std::vector<uint64_t> f = {50, 0, 20, 20, 5, 5, 1};
  auto code = huffman_code(f);
  auto tree = code_tree(*code, f);
  REQUIRE(tree.is_ok());
  const auto& t = *tree;
  REQUIRE(t[0].count == 101);
  std::vector<int> depth_of(f.size(), -1);
  std::function<void(int32_t, int)> visit = [&](int32_t n, int depth) {
    const CodeTreeNode& node = t[static_cast<size_t>(n)];
    if (node.child[0] < 0) {
      REQUIRE(node.child[1] < 0);
      REQUIRE(node.symbol >= 0);  // a complete code has no empty leaves
      depth_of[static_cast<size_t>(node.symbol)] = depth;
      REQUIRE(node.count == f[static_cast<size_t>(node.symbol)]);
      return;
    }
    REQUIRE(node.count == t[static_cast<size_t>(node.child[0])].count + t[static_cast<size_t>(node.child[1])].count);
    visit(node.child[0], depth + 1);
    visit(node.child[1], depth + 1);
  };
  visit(0, 0);
  for (size_t s = 0; s < f.size(); ++s) REQUIRE(depth_of[s] == (f[s] ? code->lengths[s] : -1));
}

TEST_CASE("bit writer and reader", "[huffman]") {
  BitWriter w;
  w.write(0b101, 3);
  w.write(0xDEADBEEF, 32);
  w.write(0, 0);
  w.write(1, 1);
  REQUIRE(w.bit_count() == 36);
  const std::vector<uint8_t> bytes = w.finish();
  REQUIRE(bytes.size() == 5);
  BitReader r(bytes);
  REQUIRE(*r.read(3) == 0b101);
  REQUIRE(*r.read(32) == 0xDEADBEEF);
  REQUIRE(*r.read(1) == 1);
  REQUIRE(*r.read(4) == 0);  // padding
  REQUIRE(r.remaining() == 0);
  REQUIRE(r.read(1).status().code() == ErrorCode::kMalformed);
}

TEST_CASE("Huffman rejects invalid input", "[huffman]") {
  REQUIRE(huffman_code(std::vector<uint64_t>{}).status().code() == ErrorCode::kEmptyInput);
  REQUIRE(huffman_code(std::vector<uint64_t>{0, 0}).status().code() == ErrorCode::kEmptyInput);
  REQUIRE(huffman_code(std::vector<uint64_t>{1, 2}, 0).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(huffman_code(std::vector<uint64_t>{1, 2}, 16).status().code() == ErrorCode::kInvalidArgument);
  auto single = huffman_code(std::vector<uint64_t>{0, 7});
  REQUIRE(single->codeword(1) == "0");
  const std::vector<uint16_t> sym = {0, 1, 2};
  auto code = huffman_code(std::vector<uint64_t>{1, 1, 0});
  REQUIRE(huffman_encode(sym, *code).status().code() == ErrorCode::kOutOfRange);
  REQUIRE(symbol_frequencies(sym, 2).status().code() == ErrorCode::kOutOfRange);
  REQUIRE(prefix_code_from_strings(std::vector<std::string>{"0", ""}).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(prefix_code_from_strings(std::vector<std::string>{"0", "12"}).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(prefix_code_from_strings(std::vector<std::string>{std::string(21, '1')}).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(HuffmanDecoder::create(PrefixCode{}).status().code() == ErrorCode::kEmptyInput);
  REQUIRE(code_statistics(*code, std::vector<uint64_t>{1, 1}).status().code() == ErrorCode::kShapeMismatch);
  REQUIRE(code_statistics(*code, std::vector<uint64_t>{1, 1, 1}).status().code() == ErrorCode::kInvalidArgument);
}
