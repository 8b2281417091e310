// The compressed model file: CRC-32, exact round trips of raw, codebook and sparse tensors
// (fillers included), a compressed LeNet-5 that decodes to the same network, byte
// accounting, and malformed files (bad magic, version, checksum, absurd sizes, seeded byte
// flips and truncations) that give a Status, never a crash.
#include "quantlab/compressed.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "compressed_test_util.hpp"

using namespace quantlab;

namespace {

std::vector<float> normal(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.1f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// A pruned (sparsity s) and k-means quantized tensor with a pinned zero.
TensorToCompress sparse_tensor(const std::string& name, Shape shape, double s, int bits, int gap_bits,
                               unsigned seed, bool huffman = true) {
  size_t n = 1;
  for (auto d : shape) n *= static_cast<size_t>(d);
  std::vector<float> w = normal(n, seed);
  auto mask = magnitude_prune_mask(w, s);
  REQUIRE(apply_mask(w, *mask).is_ok());
  KMeansOptions o;
  o.pinned_zero = true;
  auto cb = k_means_quantize(w, bits, o);
  REQUIRE(cb.is_ok());
  TensorToCompress t;
  t.name = name;
  t.shape = std::move(shape);
  t.codebook = *cb;
  t.coding.bits = bits;
  t.coding.gap_bits = gap_bits;
  t.coding.huffman = huffman;
  return t;
}

std::vector<float> expected_values(const TensorToCompress& t) {
  if (t.coding.bits == 0) return t.values;
  return *codebook_weights(*t.codebook);
}

/// Rewrites the checksum so that a modified body reaches the parser.
void fix_crc(std::vector<uint8_t>& f) {
  const uint32_t c = crc32(std::span<const uint8_t>(f.data(), f.size() - 4));
  for (int i = 0; i < 4; ++i) f[f.size() - 4 + static_cast<size_t>(i)] = static_cast<uint8_t>(c >> (8 * i));
}

std::vector<TensorToCompress> sample_tensors() {
  std::vector<TensorToCompress> ts;
  TensorToCompress raw;
  raw.name = "fc.bias";
  raw.shape = {7};
  raw.values = normal(7, 1);
  ts.push_back(raw);
  TensorToCompress dense;
  dense.name = "conv.weight";
  dense.shape = {4, 3, 3, 3};
  auto cb = k_means_quantize(normal(108, 2), 3);
  dense.codebook = *cb;
  dense.coding.bits = 3;
  ts.push_back(dense);
  ts.push_back(sparse_tensor("fc.weight", {7, 300}, 0.9, 5, 3, 3));      // many fillers
  ts.push_back(sparse_tensor("fc2.weight", {10, 50}, 0.5, 4, 5, 4, false));
  TensorToCompress empty;
  empty.name = "empty";
  empty.shape = {0};
  ts.push_back(empty);
  return ts;
}

}  // namespace

TEST_CASE("CRC-32 of the standard check string", "[compressed]") {
  const std::string s = "123456789";
  REQUIRE(crc32(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())) == 0xCBF43926u);
  REQUIRE(crc32(std::span<const uint8_t>{}) == 0u);
  // Incremental: crc(a + b) == crc(b, crc(a)).
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  REQUIRE(crc32(std::span<const uint8_t>(p + 4, 5), crc32(std::span<const uint8_t>(p, 4))) == 0xCBF43926u);
}

TEST_CASE("raw, codebook and sparse tensors round-trip exactly", "[compressed]") {
  const std::vector<TensorToCompress> ts = sample_tensors();
  auto file = encode_compressed(ts);
  REQUIRE(file.is_ok());
  auto m = decode_compressed(*file);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  REQUIRE(!m->network.has_value());
  REQUIRE(m->tensors.size() == ts.size());
  size_t sum = m->architecture_bytes;
  for (size_t i = 0; i < ts.size(); ++i) {
    const DecodedTensor& d = m->tensors[i];
    REQUIRE(d.name == ts[i].name);
    REQUIRE(d.shape == ts[i].shape);
    REQUIRE(d.values == expected_values(ts[i]));
    REQUIRE(d.coding.bits == ts[i].coding.bits);
    REQUIRE(d.coding.gap_bits == ts[i].coding.gap_bits);
    sum += d.sizes.total();
  }
  REQUIRE(sum == file->size());  // every byte accounted for
  // The sparse tensor with 3-bit gaps needed fillers; its entries are the nonzeros plus them.
  const DecodedTensor& fc = m->tensors[2];
  const size_t nonzero = static_cast<size_t>(std::count_if(fc.values.begin(), fc.values.end(), [](float v) { return v != 0.0f; }));
  REQUIRE(fc.sizes.fillers > 0);
  REQUIRE(fc.sizes.entries == nonzero + fc.sizes.fillers);
  REQUIRE(fc.sizes.codebook == 32 * 4);
  REQUIRE(fc.coding.huffman);
  REQUIRE(!m->tensors[3].coding.huffman);
  // Huffman coding makes the labels smaller than fixed width.
  REQUIRE(fc.sizes.labels < (fc.sizes.entries * 5 + 7) / 8);
}

TEST_CASE("a compressed LeNet-5 decodes to the same network", "[compressed]") {
  auto net = network_from_onnx(testing::demo_model("lenet5"));
  REQUIRE(net.is_ok());
  // Prune and share the weights as Deep Compression does: conv 8-bit (dense), fc 5-bit
  // sparse with a pinned zero.
  for (const auto& [name, sparsity, bits] : std::vector<std::tuple<std::string, double, int>>{
           {"conv1.weight", 0.0, 8}, {"conv2.weight", 0.6, 8}, {"fc1.weight", 0.9, 5}, {"fc2.weight", 0.9, 5},
           {"fc3.weight", 0.8, 5}}) {
    Parameter* p = net->param(name);
    REQUIRE(p != nullptr);
    KMeansOptions o;
    o.method = KMeansMethod::kOptimal;
    if (sparsity > 0) {
      REQUIRE(net->set_mask(name, *magnitude_prune_mask(p->value, sparsity)).is_ok());
      o.pinned_zero = true;
    }
    auto cb = k_means_quantize(p->value, bits, o);
    REQUIRE(net->set_codebook(name, *cb).is_ok());
  }
  auto file = encode_network(*net);
  REQUIRE(file.is_ok());
  auto m = decode_compressed(*file);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  REQUIRE(m->network.has_value());
  const Network& back = *m->network;
  REQUIRE(back.layers().size() == net->layers().size());
  for (const auto& p : net->params()) {
    const Parameter* q = back.param(p.name);
    REQUIRE(q != nullptr);
    REQUIRE(q->value == p.value);
    REQUIRE(q->shape == p.shape);
  }
  Tensor x = Tensor::from<float>({2, 1, 28, 28}, normal(2 * 784, 9));
  auto a = net->forward(x);
  auto b = back.forward(x);
  REQUIRE(std::equal(a->data<float>().begin(), a->data<float>().end(), b->data<float>().begin()));
  // The compressed file is far smaller than the fp32 weights (61,706 parameters, 246,824 B).
  INFO("file " << file->size() << " B");
  REQUIRE(file->size() * 8 < net->parameter_count() * 4);
  // And with the best gap width per tensor.
  NetworkCompression best;
  best.gap_bits_conv = best.gap_bits_fc = 0;
  auto file2 = encode_network(*net, best);
  REQUIRE(file2.is_ok());
  REQUIRE(decode_compressed(*file2).is_ok());
}

TEST_CASE("malformed files give a status, never a crash", "[compressed]") {
  auto good = encode_compressed(sample_tensors());
  REQUIRE(good.is_ok());
  const std::vector<uint8_t>& f = *good;
  SECTION("bad magic, version and checksum") {
    std::vector<uint8_t> g = f;
    g[0] = 'X';
    REQUIRE(decode_compressed(g).status().code() == ErrorCode::kMalformed);
    g = f;
    g[4] = 3;
    fix_crc(g);
    auto v = decode_compressed(g);
    REQUIRE(v.status().code() == ErrorCode::kMalformed);
    REQUIRE(v.status().message().find("version 3") != std::string::npos);
    g = f;
    g[f.size() / 2] ^= 0x10;
    auto c = decode_compressed(g);
    REQUIRE(c.status().code() == ErrorCode::kMalformed);
    REQUIRE(c.status().message().find("checksum") != std::string::npos);
    REQUIRE(decode_compressed(std::vector<uint8_t>{}).status().code() == ErrorCode::kMalformed);
  }
  SECTION("absurd sizes") {
    // A raw tensor claiming 2^31 x 2^31 elements (the first tensor's first dimension).
    TensorToCompress t;
    t.name = "t";
    t.shape = {3, 4};
    t.values.assign(12, 1.0f);
    auto one = encode_compressed(std::vector<TensorToCompress>{t});
    std::vector<uint8_t> g = *one;
    // Header 20 - 4 (crc) = 16 bytes, then name (2 + 1), rank (1), dims at offset 20.
    const size_t dims = 16 + 3 + 1;
    for (size_t d = 0; d < 2; ++d) {
      for (int i = 0; i < 4; ++i) g[dims + 4 * d + static_cast<size_t>(i)] = i == 3 ? 0x7F : 0xFF;
    }
    fix_crc(g);
    REQUIRE(decode_compressed(g).status().code() == ErrorCode::kTooLarge);
    // 2^26 + 1 elements in one dimension: too large; 2^20: only truncated.
    g = *one;
    const uint32_t big[] = {(1u << 26) + 1, 1u << 20};
    for (uint32_t b : big) {
      for (int i = 0; i < 4; ++i) g[dims + static_cast<size_t>(i)] = static_cast<uint8_t>(b >> (8 * i));
      fix_crc(g);
      const auto code = decode_compressed(g).status().code();
      REQUIRE(code == (b > (1u << 26) ? ErrorCode::kTooLarge : ErrorCode::kMalformed));
    }
    // Tensor and layer counts beyond the file.
    g = f;
    g[8] = 0xFF;
    g[11] = 0x7F;
    fix_crc(g);
    REQUIRE(decode_compressed(g).status().code() == ErrorCode::kMalformed);
  }
  SECTION("seeded byte flips and truncations") {
    std::mt19937 rng(2024);
    int rejected = 0, accepted = 0;
    for (int trial = 0; trial < 400; ++trial) {
      std::vector<uint8_t> g = f;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) g[rng() % g.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      if (trial % 2) fix_crc(g);  // half reach the parser with a valid checksum
      auto m = decode_compressed(g);
      if (m.is_ok()) {
        ++accepted;  // a flip inside a float value, for instance, is still a valid file
        for (const auto& t : m->tensors) {
          size_t n = 1;
          for (auto d : t.shape) n *= static_cast<size_t>(d);
          REQUIRE(t.values.size() == n);
        }
      } else {
        ++rejected;
        const auto code = m.status().code();
        REQUIRE((code == ErrorCode::kMalformed || code == ErrorCode::kTooLarge));
      }
    }
    REQUIRE(rejected > 200);
    for (size_t len = 0; len < f.size(); len += 1 + rng() % 7) {
      std::vector<uint8_t> g(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(len));
      REQUIRE(decode_compressed(g).status().code() == ErrorCode::kMalformed);
      if (len >= 20) {
        fix_crc(g);  // truncated but with a matching checksum
        REQUIRE(decode_compressed(g).status().code() == ErrorCode::kMalformed);
      }
    }
    (void)accepted;
  }
}

TEST_CASE("the encoder rejects invalid tensors", "[compressed]") {
  TensorToCompress t;
  t.name = "w";
  t.shape = {2, 2};
  t.values = {1, 2, 3};
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{t}).status().code() == ErrorCode::kShapeMismatch);
  t.values = {1, 2, 3, 4};
  t.coding.bits = 2;
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{t}).status().code() == ErrorCode::kInvalidArgument);
  t.codebook = Codebook{{0.0f, 1.0f, 2.0f, 3.0f}, {0, 1, 2, 3}, false};
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{t}).is_ok());
  t.coding.gap_bits = 4;  // sparse needs a pinned zero
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{t}).status().code() == ErrorCode::kInvalidArgument);
  t.coding.gap_bits = 0;
  t.coding.bits = 9;
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{t}).status().code() == ErrorCode::kInvalidArgument);
  t.coding.bits = 0;
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{t, t}).status().code() == ErrorCode::kInvalidArgument);
  t.name = "";
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{t}).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("rANS and best-coder streams round-trip and are no larger than Huffman", "[compressed]") {
  std::vector<TensorToCompress> ts = sample_tensors();
  ts.push_back(sparse_tensor("big.weight", {100, 300}, 0.92, 5, 4, 8));
  auto huff = encode_compressed(ts);
  REQUIRE(huff.is_ok());
  for (EntropyCoder coder : {EntropyCoder::kRans, EntropyCoder::kBest}) {
    std::vector<TensorToCompress> us = ts;
    for (auto& t : us) t.coding.entropy = coder;
    auto file = encode_compressed(us);
    REQUIRE(file.is_ok());
    auto m = decode_compressed(*file);
    INFO(m.status().to_string());
    REQUIRE(m.is_ok());
    size_t sum = m->architecture_bytes;
    for (size_t i = 0; i < us.size(); ++i) {
      REQUIRE(m->tensors[i].values == expected_values(us[i]));
      sum += m->tensors[i].sizes.total();
    }
    REQUIRE(sum == file->size());
    const DecodedTensor& big = m->tensors.back();
    CHECK(big.coding.entropy == EntropyCoder::kRans);
    CHECK(big.coding.huffman);
    if (coder == EntropyCoder::kBest) CHECK(file->size() <= huff->size());
    CHECK(file->size() < huff->size());  // the large sparse layer gains more than headers cost
  }
}

TEST_CASE("biases as scaled int16 and int32", "[compressed]") {
  TensorToCompress b;
  b.name = "fc.bias";
  b.shape = {300};
  b.values = normal(300, 21);
  b.values[7] = 0.0f;
  for (int bits : {16, 32}) {
    b.coding.bias_bits = bits;
    auto file = encode_compressed(std::vector<TensorToCompress>{b});
    REQUIRE(file.is_ok());
    auto m = decode_compressed(*file);
    REQUIRE(m.is_ok());
    const DecodedTensor& d = m->tensors[0];
    REQUIRE(d.coding.bias_bits == bits);
    REQUIRE(d.sizes.raw == 300 * static_cast<size_t>(bits / 8) + 5);
    float maxabs = 0.0f, maxerr = 0.0f;
    for (size_t i = 0; i < 300; ++i) {
      maxabs = std::max(maxabs, std::fabs(b.values[i]));
      maxerr = std::max(maxerr, std::fabs(d.values[i] - b.values[i]));
    }
    REQUIRE(d.values[7] == 0.0f);
    // Half a step of max|b| / (2^(bits-1) - 1), plus float rounding.
    CHECK(maxerr <= maxabs / static_cast<float>(std::ldexp(1.0, bits - 1) - 1) * 0.5f + maxabs * 1e-6f);
  }
  b.values.assign(300, 0.0f);
  b.coding.bias_bits = 16;
  auto zeros = decode_compressed(*encode_compressed(std::vector<TensorToCompress>{b}));
  REQUIRE(zeros.is_ok());
  REQUIRE(zeros->tensors[0].values == b.values);
  b.coding.bias_bits = 8;
  REQUIRE(encode_compressed(std::vector<TensorToCompress>{b}).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("version 1 files are still read; version 1 has no rANS streams or integer biases", "[compressed]") {
  // A version-1 file is the same bytes with version 1 when it uses neither.
  auto file = encode_compressed(sample_tensors());
  REQUIRE(file.is_ok());
  std::vector<uint8_t> v1 = *file;
  v1[4] = 1;
  fix_crc(v1);
  auto m = decode_compressed(v1);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  const auto ts = sample_tensors();
  for (size_t i = 0; i < ts.size(); ++i) REQUIRE(m->tensors[i].values == expected_values(ts[i]));
  std::vector<TensorToCompress> us = sample_tensors();
  for (auto& t : us) t.coding.entropy = EntropyCoder::kRans;
  us[0].coding.bias_bits = 16;
  auto f2 = encode_compressed(us);
  REQUIRE(f2.is_ok());
  std::vector<uint8_t> g = *f2;
  g[4] = 1;
  fix_crc(g);
  REQUIRE(decode_compressed(g).status().code() == ErrorCode::kMalformed);
}

TEST_CASE("corrupt rANS streams inside a file give a status", "[compressed]") {
  std::vector<TensorToCompress> ts = {sparse_tensor("big.weight", {100, 300}, 0.9, 5, 4, 8)};
  ts[0].coding.entropy = EntropyCoder::kRans;
  auto file = encode_compressed(ts);
  REQUIRE(file.is_ok());
  REQUIRE(decode_compressed(*file).is_ok());
  std::mt19937 rng(4);
  int errors = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint8_t> g = *file;
    const size_t at = 40 + rng() % (g.size() - 44);
    g[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    fix_crc(g);
    auto m = decode_compressed(g);
    if (!m.is_ok()) {
      ++errors;
      REQUIRE(m.status().code() == ErrorCode::kMalformed);
    }
  }
  CHECK(errors > 150);
  for (size_t cut : {size_t{30}, file->size() / 2, file->size() - 5}) {
    std::vector<uint8_t> g(file->begin(), file->begin() + static_cast<std::ptrdiff_t>(cut));
    g.resize(cut + 4);
    fix_crc(g);
    REQUIRE(decode_compressed(g).status().code() == ErrorCode::kMalformed);
  }
}
