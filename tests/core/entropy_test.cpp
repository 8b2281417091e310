// rANS (entropy.hpp): exact round trips over awkward sizes, alphabets and lane counts, the
// order-1 model where the previous symbol predicts, code length within a fraction of a
// percent of the stored model's ideal and at or below Huffman's, the statistics' known values,
// and hostile streams (truncated, wrong counts, bad tables, flipped bytes) that give a Status.
#include "quantlab/entropy.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "compressed_test_util.hpp"
#include "quantlab/huffman.hpp"
#include "quantlab/kmeans.hpp"

using namespace quantlab;

namespace {

std::vector<uint16_t> geometric(size_t n, size_t alphabet, double p, unsigned seed) {
  std::mt19937 rng(seed);
  std::geometric_distribution<int> d(p);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = static_cast<uint16_t>(std::min<size_t>(static_cast<size_t>(d(rng)), alphabet - 1));
  return v;
}

std::vector<uint16_t> round_trip(std::span<const uint16_t> s, size_t alphabet, const RansOptions& o = {}) {
  auto enc = rans_encode(s, alphabet, o);
  INFO(enc.status().to_string());
  REQUIRE(enc.is_ok());
  REQUIRE(enc->bytes.size() == enc->header_bytes + enc->table_bytes + enc->payload_bytes);
  std::vector<uint16_t> out(s.size());
  auto used = rans_decode(enc->bytes, out, alphabet);
  INFO(used.status().to_string());
  REQUIRE(used.is_ok());
  REQUIRE(*used == enc->bytes.size());
  return out;
}

}  // namespace

TEST_CASE("rANS round-trips exactly over awkward sizes and alphabets", "[entropy]") {
  for (size_t alphabet : {size_t{1}, size_t{2}, size_t{3}, size_t{17}, size_t{32}, size_t{256}, size_t{4000}}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{17}, size_t{31}, size_t{33}, size_t{4095},
                     size_t{4096}, size_t{4099}, size_t{50000}}) {
      const auto s = geometric(n, alphabet, 0.3, static_cast<unsigned>(n + alphabet));
      INFO("alphabet " << alphabet << ", n " << n);
      REQUIRE(round_trip(s, alphabet) == s);
      RansOptions o;
      o.lane_threshold = 1;
      for (bool order1 : {false, true}) {
        o.allow_order1 = order1;
        for (int lanes = 1; lanes <= 4; ++lanes) {
          o.lanes = lanes;
          REQUIRE(round_trip(s, alphabet, o) == s);
        }
      }
    }
  }
  // Uniform over a large alphabet, and a single symbol at the full 65536-symbol range.
  std::mt19937 rng(5);
  std::vector<uint16_t> u(20000);
  for (auto& x : u) x = static_cast<uint16_t>(rng() % 30000);
  REQUIRE(round_trip(u, 65536) == u);
  std::vector<uint16_t> one(1000, 65535);
  REQUIRE(round_trip(one, 65536) == one);
}

TEST_CASE("rANS codes within a fraction of a percent of its model, below Huffman", "[entropy]") {
  // The optimal 4-bit k-means labels of LeNet-300's fc1 (235,200 symbols).
  KMeansOptions ko;
  ko.method = KMeansMethod::kOptimal;
  const auto cb = k_means_quantize(testing::demo_weights("lenet300", "fc1.weight"), 4, ko);
  REQUIRE(cb.is_ok());
  std::vector<uint16_t> s(cb->labels.begin(), cb->labels.end());
  auto enc = rans_encode(s, 16);
  REQUIRE(enc.is_ok());
  const double payload_bits = 8.0 * static_cast<double>(enc->payload_bytes);
  CHECK(payload_bits < enc->model_bits * 1.001 + 64);
  auto st = entropy_statistics(s, 16);
  REQUIRE(st.is_ok());
  // No model beats the empirical entropy of its own context.
  CHECK(enc->model_bits >= (enc->context == EntropyContext::kOrder0 ? st->order0_bits : st->order1_bits) * 0.999);
  CHECK(8.0 * static_cast<double>(enc->bytes.size()) < st->order0_bits * 1.005);
  auto h = huffman_compress(s, 16);
  REQUIRE(h.is_ok());
  CHECK(enc->bytes.size() < h->encoded.bytes.size());
  RansStream info;
  std::vector<uint16_t> out(s.size());
  REQUIRE(rans_decode(enc->bytes, out, 16, &info).is_ok());
  REQUIRE(out == s);
  CHECK(info.model_bits == Approx(enc->model_bits).epsilon(1e-9));
  CHECK(info.payload_bytes == enc->payload_bytes);
  CHECK(info.table_bytes == enc->table_bytes);
}

TEST_CASE("the order-1 model is chosen where the previous symbol predicts", "[entropy]") {
  // A Markov chain: symbol i+1 is symbol i + 1 (mod 8) with probability 0.9.
  std::mt19937 rng(3);
  std::vector<uint16_t> s(20000);
  for (size_t i = 1; i < s.size(); ++i) s[i] = static_cast<uint16_t>(rng() % 10 ? (s[i - 1] + 1) % 8 : rng() % 8);
  RansOptions one_lane;
  one_lane.lanes = 1;
  auto enc = rans_encode(s, 8, one_lane);
  REQUIRE(enc.is_ok());
  CHECK(enc->context == EntropyContext::kOrder1);
  // Four lanes: the context is symbol i - 4, still predictive (i + 4 with probability 0.9^4).
  auto enc4 = rans_encode(s, 8);
  REQUIRE(enc4.is_ok());
  CHECK(enc4->lanes == 4);
  CHECK(enc4->context == EntropyContext::kOrder1);
  auto st = entropy_statistics(s, 8);
  REQUIRE(st.is_ok());
  CHECK(st->order1_bits < 0.5 * st->order0_bits);
  CHECK(8.0 * static_cast<double>(enc->bytes.size()) < st->order1_bits * 1.05 + 400);
  REQUIRE(round_trip(s, 8) == s);
  RansOptions o;
  o.allow_order1 = false;
  o.lanes = 1;
  auto o0 = rans_encode(s, 8, o);
  REQUIRE(o0.is_ok());
  CHECK(o0->context == EntropyContext::kOrder0);
  CHECK(o0->bytes.size() > enc->bytes.size());
}

TEST_CASE("entropy statistics: known values", "[entropy]") {
  // The first symbol's context is 0, so starting with 1 the previous symbol decides all.
  const std::vector<uint16_t> s = {1, 0, 1, 0, 1, 0, 1, 0};
  auto st = entropy_statistics(s, 2);
  REQUIRE(st.is_ok());
  CHECK(st->order0_bits == Approx(8.0));
  CHECK(st->order1_bits == Approx(0.0).margin(1e-12));  // alternation: the previous symbol decides
  CHECK(st->adaptive_order0_bits > 8.0);
  CHECK(st->adaptive_order1_bits < st->adaptive_order0_bits);
  REQUIRE(entropy_statistics(s, 1).status().code() == ErrorCode::kOutOfRange);
  REQUIRE(entropy_statistics(s, 0).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("rANS encoder errors", "[entropy]") {
  const std::vector<uint16_t> s = {0, 5};
  REQUIRE(rans_encode(s, 5).status().code() == ErrorCode::kOutOfRange);
  REQUIRE(rans_encode(s, 0).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(rans_encode(s, 70000).status().code() == ErrorCode::kInvalidArgument);
  RansOptions o;
  o.lanes = 5;
  REQUIRE(rans_encode(s, 8, o).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("hostile rANS streams give a status, never a crash", "[entropy]") {
  const auto s = geometric(6000, 32, 0.25, 9);
  auto enc = rans_encode(s, 32);
  REQUIRE(enc.is_ok());
  const std::vector<uint8_t>& b = enc->bytes;
  std::vector<uint16_t> out(s.size());
  SECTION("truncated") {
    for (size_t cut : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{5}, enc->header_bytes + enc->table_bytes,
                       enc->header_bytes + enc->table_bytes + 5, b.size() / 2, b.size() - 1}) {
      auto r = rans_decode(std::span<const uint8_t>(b.data(), cut), out, 32);
      INFO("cut " << cut);
      REQUIRE(r.status().code() == ErrorCode::kMalformed);
    }
  }
  SECTION("wrong counts") {
    std::vector<uint16_t> fewer(s.size() - 1), more(s.size() + 1);
    REQUIRE(rans_decode(b, fewer, 32).status().code() == ErrorCode::kMalformed);
    REQUIRE(rans_decode(b, more, 32).status().code() == ErrorCode::kMalformed);
    std::vector<uint16_t> none;
    REQUIRE(rans_decode(b, none, 32).status().code() == ErrorCode::kMalformed);
  }
  SECTION("an alphabet above the limit, bad precision, bad tables") {
    REQUIRE(rans_decode(b, out, 8).status().code() == ErrorCode::kMalformed);
    std::vector<uint8_t> g = b;
    g[0] = static_cast<uint8_t>((g[0] & 7u) | (0u << 3));  // precision 0
    REQUIRE(rans_decode(g, out, 32).status().code() == ErrorCode::kMalformed);
    g = b;
    g[0] |= 1u;  // order-1 at a precision it may not have, or tables that do not parse
    REQUIRE(!rans_decode(g, out, 32).is_ok());
    g = b;
    g[2] ^= 0x40;  // the first frequencies no longer sum to 2^scale
    REQUIRE(rans_decode(g, out, 32).status().code() == ErrorCode::kMalformed);
    g = b;
    g[1] = 0xFF;  // a varint alphabet running into the table
    REQUIRE(rans_decode(g, out, 65536).status().code() == ErrorCode::kMalformed);
    std::vector<uint8_t> huge = {b[0], 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};  // alphabet 2^32
    REQUIRE(rans_decode(huge, out, 65536).status().code() == ErrorCode::kMalformed);
  }
  SECTION("seeded byte flips") {
    std::mt19937 rng(11);
    int errors = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<uint8_t> g = b;
      g[rng() % g.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      auto r = rans_decode(g, out, 32);
      if (!r.is_ok()) {
        REQUIRE(r.status().code() == ErrorCode::kMalformed);
        ++errors;
      } else {
        for (uint16_t x : out) REQUIRE(x < 32);
      }
    }
    CHECK(errors > 250);  // the final-state check catches almost every flip
  }
}
