// Product quantization (lecture 5, section 5.7): the lecture's byte count, the two special
// cases of the lecture's table (d = 1 is scalar k-means, d = the row is vector
// quantization), invalid input, fp16 codebooks, the activation-aware objective against the
// weight-only one on every layer of the demo CNN and MLP, LUT inference against the decoded
// layer, and the sequential pipeline with fine-tuning, progress and cancel.
#include "quantlab/pq.hpp"

#include "quantlab/compressed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "compressed_test_util.hpp"
#include "dc_random.hpp"

using namespace quantlab;

namespace {

std::vector<float> normal_weights(size_t n, uint32_t seed, double sigma = 0.05) {
  std::mt19937 rng(seed);
  std::vector<float> w(n);
  for (float& x : w) x = static_cast<float>(sigma * dc::normal01(rng));
  return w;
}

PQParameters params(int d, int k, PQObjective objective = PQObjective::kWeight) {
  PQParameters p;
  p.d = d;
  p.k = k;
  p.objective = objective;
  return p;
}

/// A 2 x 4 layer of d = 2, k = 2.
PQLayer tiny_layer(std::vector<float> codebook, std::vector<uint16_t> codes) {
  PQLayer l;
  l.rows = 2;
  l.cols = 4;
  l.d = 2;
  l.k = 2;
  l.codebook = std::move(codebook);
  l.codes = std::move(codes);
  return l;
}

/// The fp32 layer as a PQ layer: one codeword per subvector (for exact reference products).
PQLayer exact_layer(const PQLayer& like, const std::vector<float>& w) {
  PQLayer exact = like;
  exact.k = static_cast<int>(like.n());
  exact.codebook.assign(w.begin(), w.end());
  for (size_t s = 0; s < exact.codes.size(); ++s) exact.codes[s] = static_cast<uint16_t>(s);
  return exact;
}

struct Subset {
  std::vector<uint8_t> images, labels;
  ImageDataset set(int64_t count) const {
    ImageDataset d;
    d.count = count;
    d.images = std::span<const uint8_t>(images.data(), static_cast<size_t>(count) * 784);
    d.labels = std::span<const uint8_t>(labels.data(), static_cast<size_t>(count));
    return d;
  }
};

Subset subset(const std::string& stem) {
  const std::string base = std::string(QL_SOURCE_DIR) + "/web/data/" + stem;
  Subset s{testing::read_file(base + ".images.u8"), testing::read_file(base + ".labels.u8")};
  INFO("bundled data " << base << ".*.u8");
  REQUIRE(!s.labels.empty());
  return s;
}

}  // namespace

TEST_CASE("PQ storage: the lecture's 128x128x3x3 layer at k = 256, d = 9", "[pq]") {
  const PQStorage s = pq_storage(128 * 128, 256, 9, CodebookPrecision::kFloat16);
  REQUIRE(s.index_bytes == 16384);
  REQUIRE(s.codebook_bytes == 9 * 256 * 2);
  REQUIRE(s.codebook_bytes == 4608);
  REQUIRE(pq_storage(128 * 128, 256, 9, CodebookPrecision::kFloat32).codebook_bytes == 9216);
  // The index width is ceil(log2 k), the index stream rounded up to whole bytes.
  REQUIRE(pq_index_bits(1) == 0);
  REQUIRE(pq_index_bits(2) == 1);
  REQUIRE(pq_index_bits(3) == 2);
  REQUIRE(pq_index_bits(256) == 8);
  REQUIRE(pq_index_bits(257) == 9);
  REQUIRE(pq_storage(10, 5, 4, CodebookPrecision::kFloat16).index_bytes == 4);  // 30 bits

  // The same layer, quantized: every filter's 128 K x K kernels are subvectors.
  const std::vector<float> w = normal_weights(128 * 128 * 9, 1);
  PQParameters p = params(9, 256);
  p.iterations = 4;
  auto r = pq_quantize(w, 128, 128 * 9, p);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  REQUIRE(r->layer.M() == 128);
  REQUIRE(r->layer.n() == 16384);
  REQUIRE(r->layer.nbits() == 8);
  REQUIRE(pq_storage(r->layer).index_bytes == 16384);
  REQUIRE(pq_storage(r->layer).codebook_bytes == 4608);
  REQUIRE(r->layer.codebook.size() == 256 * 9);
  // fp16 codebook: every codeword value is a binary16 value.
  for (float c : r->layer.codebook) REQUIRE(round_to_fp16(c) == c);
  auto dec = pq_decode(r->layer);
  REQUIRE(dec.is_ok());
  double se = 0.0;
  for (size_t i = 0; i < w.size(); ++i) se += (static_cast<double>(w[i]) - (*dec)[i]) * (w[i] - (*dec)[i]);
  REQUIRE(se / static_cast<double>(w.size()) == Approx(r->weight_mse).epsilon(1e-9));
  REQUIRE(r->weight_mse < 0.05 * 0.05);
}

TEST_CASE("PQ with d = 1 is scalar k-means: the same codebook and labels as k_means", "[pq]") {
  for (uint32_t seed : {0u, 7u, 42u}) {
    const std::vector<float> w = normal_weights(3000, 100 + seed);
    for (int bits : {2, 4, 6}) {
      KMeansOptions ko;
      ko.init = KMeansInit::kPlusPlus;
      ko.seed = seed;
      ko.iterations = 300;
      auto km = k_means(w, bits, ko);
      REQUIRE(km.is_ok());
      PQParameters p = params(1, 1 << bits);
      p.seed = seed;
      p.iterations = 300;
      p.precision = CodebookPrecision::kFloat32;
      auto pq = pq_quantize(w, 30, 100, p);  // any (rows, cols): d = 1 splits every weight
      INFO(pq.status().to_string());
      REQUIRE(pq.is_ok());
      INFO("seed " << seed << ", bits " << bits);
      REQUIRE(pq->iterations == km->iterations);
      REQUIRE(pq->reseeded == 0);
      REQUIRE(pq->layer.codebook == km->codebook.centroids);
      for (size_t i = 0; i < w.size(); ++i) REQUIRE(pq->layer.codes[i] == km->codebook.labels[i]);
      REQUIRE(pq->weight_mse == Approx(km->mse).epsilon(1e-12));
    }
  }
}

TEST_CASE("PQ with d = the whole row is vector quantization of the rows", "[pq]") {
  // 4 clusters of rows around 4 centres: VQ with k = 4 finds them; every row decodes to its
  // cluster's codeword, which is the mean of its rows (a Lloyd fixed point).
  std::mt19937 rng(3);
  const int rows = 200, cols = 16;
  std::vector<float> centre = normal_weights(4 * cols, 9, 1.0), w(rows * cols);
  std::vector<int> truth(rows);
  for (int o = 0; o < rows; ++o) {
    truth[o] = o % 4;
    for (int t = 0; t < cols; ++t) {
      w[o * cols + t] = centre[truth[o] * cols + t] + static_cast<float>(0.01 * dc::normal01(rng));
    }
  }
  PQParameters p = params(cols, 4);
  p.precision = CodebookPrecision::kFloat32;
  p.iterations = 100;
  auto r = pq_quantize(w, rows, cols, p);
  REQUIRE(r.is_ok());
  REQUIRE(r->layer.M() == 1);
  REQUIRE(r->layer.codes.size() == rows);
  REQUIRE(pq_storage(r->layer).index_bytes == rows * 2 / 8);
  for (int o = 0; o < rows; ++o) {
    for (int q = 0; q < rows; ++q) REQUIRE((truth[o] == truth[q]) == (r->layer.codes[o] == r->layer.codes[q]));
  }
  for (int c = 0; c < 4; ++c) {
    for (int t = 0; t < cols; ++t) {
      double sum = 0.0;
      int count = 0;
      for (int o = 0; o < rows; ++o) {
        if (r->layer.codes[o] == c) {
          sum += w[o * cols + t];
          ++count;
        }
      }
      REQUIRE(count == 50);
      REQUIRE(r->layer.codebook[c * cols + t] == Approx(sum / count).margin(1e-6));
    }
  }
  REQUIRE(r->weight_mse < 2e-4);
}

TEST_CASE("PQ: Lloyd never raises the distortion, every code is the nearest codeword", "[pq]") {
  const std::vector<float> w = normal_weights(64 * 72, 5);
  double last = std::numeric_limits<double>::infinity();
  for (int it : {0, 1, 2, 4, 8, 16}) {
    PQParameters p = params(8, 32);
    p.iterations = it;
    p.precision = CodebookPrecision::kFloat32;
    auto r = pq_quantize(w, 64, 72, p);
    REQUIRE(r.is_ok());
    INFO(it << " iterations: objective " << r->objective);
    REQUIRE(r->objective <= last * (1 + 1e-12));
    REQUIRE(r->objective == Approx(r->weight_mse * 8).epsilon(1e-9));
    last = r->objective;
    // Nearest-codeword rule against brute force.
    const PQLayer& l = r->layer;
    for (int64_t s = 0; s < l.n(); ++s) {
      double best = std::numeric_limits<double>::infinity();
      int bc = -1;
      for (int c = 0; c < l.k; ++c) {
        double e = 0.0;
        for (int t = 0; t < 8; ++t) {
          const double x = static_cast<double>(w[s * 8 + t]) - l.codebook[c * 8 + t];
          e += x * x;
        }
        if (e < best) {
          best = e;
          bc = c;
        }
      }
      REQUIRE(l.codes[s] == bc);
    }
  }
}

TEST_CASE("PQ: the same seed gives the same result, progress reports and cancel", "[pq]") {
  const std::vector<float> w = normal_weights(100 * 64, 11);
  PQParameters p = params(4, 64);
  p.seed = 5;
  std::vector<Progress> seen;
  auto a = pq_quantize(w, 100, 64, p, nullptr, [&](const Progress& x) { seen.push_back(x); });
  auto b = pq_quantize(w, 100, 64, p);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  REQUIRE(a->layer.codes == b->layer.codes);
  REQUIRE(a->layer.codebook == b->layer.codebook);
  REQUIRE(!seen.empty());
  REQUIRE(std::string(seen.back().stage) == "pq");
  REQUIRE(seen.back().done == seen.back().total);
  p.seed = 6;
  auto c = pq_quantize(w, 100, 64, p);
  REQUIRE(c.is_ok());
  REQUIRE(c->layer.codebook != a->layer.codebook);
  int polls = 0;
  auto stopped = pq_quantize(w, 100, 64, p, nullptr, {}, [&] { return ++polls > 2; });
  REQUIRE(stopped.status().code() == ErrorCode::kCancelled);
  REQUIRE(error_code_name(stopped.status().code()) == "CANCELLED");
}

TEST_CASE("PQ: invalid input returns a status with a stable code", "[pq]") {
  const std::vector<float> w = normal_weights(10 * 784, 2);
  auto bad_d = pq_quantize(w, 10, 784, params(5, 16));
  REQUIRE(bad_d.status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(bad_d.status().message().find("d = 5 does not divide the row length 784") != std::string::npos);
  auto few = pq_quantize(w, 10, 784, params(784, 16));
  REQUIRE(few.status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(few.status().message().find("10 subvectors") != std::string::npos);
  REQUIRE(few.status().message().find("fewer than k = 16") != std::string::npos);
  REQUIRE(pq_quantize(w, 10, 784, params(4, 0)).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(pq_quantize(w, 10, 784, params(4, 65537)).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(pq_quantize(w, 10, 784, params(0, 16)).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(pq_quantize(w, 11, 784, params(4, 16)).status().code() == ErrorCode::kShapeMismatch);
  REQUIRE(pq_quantize({}, 0, 0, params(4, 16)).status().code() == ErrorCode::kEmptyInput);
  PQParameters neg = params(4, 16);
  neg.iterations = -1;
  REQUIRE(pq_quantize(w, 10, 784, neg).status().code() == ErrorCode::kInvalidArgument);
  auto no_stats = pq_quantize(w, 10, 784, params(4, 16, PQObjective::kActivation));
  REQUIRE(no_stats.status().code() == ErrorCode::kInvalidArgument);
  std::vector<float> x(3 * 784, 0.5f);
  auto stats8 = pq_input_stats(x, 3, 784, 8);
  REQUIRE(stats8.is_ok());
  REQUIRE(pq_quantize(w, 10, 784, params(4, 16, PQObjective::kActivation), &*stats8).status().code() ==
          ErrorCode::kShapeMismatch);
  REQUIRE(pq_input_stats(x, 3, 784, 5).status().code() == ErrorCode::kInvalidArgument);
  std::vector<float> nan = w;
  nan[17] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE(pq_quantize(nan, 10, 784, params(4, 16)).status().code() == ErrorCode::kNotFinite);
  const PQLayer broken = tiny_layer({0, 0, 1, 1}, {0, 1, 2, 0});
  REQUIRE(pq_decode(broken).status().code() == ErrorCode::kOutOfRange);
}

TEST_CASE("fp16 codebooks: round to nearest even", "[pq]") {
  REQUIRE(round_to_fp16(1.0f) == 1.0f);
  REQUIRE(round_to_fp16(0.1f) == 0.0999755859375f);
  REQUIRE(round_to_fp16(-2.5f) == -2.5f);
  REQUIRE(round_to_fp16(65504.0f) == 65504.0f);
  REQUIRE(std::isinf(round_to_fp16(65520.0f)));
  REQUIRE(round_to_fp16(std::ldexp(1.0f, -24)) == std::ldexp(1.0f, -24));  // smallest subnormal
  REQUIRE(round_to_fp16(std::ldexp(1.0f, -25)) == 0.0f);                   // tie to even: 0
  REQUIRE(round_to_fp16(std::ldexp(1.5f, -25)) == std::ldexp(1.0f, -24));
  REQUIRE(round_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 1.0f);                             // tie: even
  REQUIRE(round_to_fp16(1.0f + std::ldexp(3.0f, -11)) == 1.0f + std::ldexp(1.0f, -9));       // tie: even up
}

TEST_CASE("PQ activation objective: weighted distance and least-squares update", "[pq]") {
  // Inputs whose first coordinate dominates: the activation-aware codebook spends its
  // precision there, so it beats the weight-only one on ||x (W - q(W))||^2 and loses on
  // ||W - q(W)||^2.
  const int rows = 256, cols = 8, d = 2;
  const std::vector<float> w = normal_weights(rows * cols, 21);
  std::mt19937 rng(4);
  const int batch = 400;
  std::vector<float> x(batch * cols);
  for (int b = 0; b < batch; ++b) {
    for (int t = 0; t < cols; ++t) x[b * cols + t] = static_cast<float>((t % 2 == 0 ? 10.0 : 0.1) * dc::normal01(rng));
  }
  auto stats = pq_input_stats(x, batch, cols, d);
  REQUIRE(stats.is_ok());
  REQUIRE(stats->M == 4);
  REQUIRE(stats->count == batch);
  PQParameters pw = params(d, 16), pa = params(d, 16, PQObjective::kActivation);
  pw.precision = pa.precision = CodebookPrecision::kFloat32;
  auto rw = pq_quantize(w, rows, cols, pw);
  auto ra = pq_quantize(w, rows, cols, pa, &*stats);
  REQUIRE(rw.is_ok());
  REQUIRE(ra.is_ok());
  auto out_mse = [&](const PQLayer& l) {
    auto yq = pq_linear_reference(l, x, batch);
    auto y = pq_linear_reference(exact_layer(l, w), x, batch);
    double se = 0.0;
    for (size_t i = 0; i < y->size(); ++i) se += ((*y)[i] - (*yq)[i]) * static_cast<double>((*y)[i] - (*yq)[i]);
    return se / static_cast<double>(y->size());
  };
  const double ow = out_mse(rw->layer), oa = out_mse(ra->layer);
  INFO("output MSE weight-only " << ow << ", activation-aware " << oa);
  REQUIRE(oa < 0.5 * ow);
  REQUIRE(ra->weight_mse > rw->weight_mse);

  // Centered: the bias correction cancels the mean output error on the calibration inputs.
  PQParameters pc = pa;
  pc.center = true;
  auto rc = pq_quantize(w, rows, cols, pc, &*stats);
  REQUIRE(rc.is_ok());
  auto delta = pq_bias_correction(w, rc->layer, *stats);
  REQUIRE(delta.is_ok());
  REQUIRE(delta->size() == rows);
  auto y = pq_linear_reference(exact_layer(rc->layer, w), x, batch);
  auto yq = pq_linear_reference(rc->layer, x, batch, *delta);
  for (int o = 0; o < rows; ++o) {
    double mean_err = 0.0, scale = 0.0;
    for (int b = 0; b < batch; ++b) {
      mean_err += (*y)[b * rows + o] - static_cast<double>((*yq)[b * rows + o]);
      scale += std::abs((*y)[b * rows + o]);
    }
    REQUIRE(std::abs(mean_err) < 1e-4 * scale);
  }
  REQUIRE(pq_bias_correction(std::span<const float>(w).first(8), rc->layer, *stats).status().code() ==
          ErrorCode::kShapeMismatch);
}

TEST_CASE("LUT inference equals the decoded layer bit for bit", "[pq]") {
  for (int d : {1, 3, 4, 8, 16}) {
    const int rows = 37, cols = 48;
    const std::vector<float> w = normal_weights(rows * cols, 30 + static_cast<uint32_t>(d));
    auto r = pq_quantize(w, rows, cols, params(d, std::min(16, rows * cols / d)));
    REQUIRE(r.is_ok());
    for (int batch : {1, 5}) {
      const std::vector<float> x = normal_weights(static_cast<size_t>(batch) * cols, 77, 1.0);
      const std::vector<float> bias = normal_weights(rows, 78);
      auto lut = pq_linear_lut(r->layer, x, batch, bias);
      auto ref = pq_linear_reference(r->layer, x, batch, bias);
      REQUIRE(lut.is_ok());
      REQUIRE(ref.is_ok());
      REQUIRE(*lut == *ref);
      // And close to the plain dense product in double.
      auto dec = pq_decode(r->layer);
      for (int b = 0; b < batch; ++b) {
        for (int o = 0; o < rows; ++o) {
          double y = bias[o];
          for (int i = 0; i < cols; ++i) y += static_cast<double>((*dec)[o * cols + i]) * x[b * cols + i];
          REQUIRE((*lut)[b * rows + o] == Approx(y).margin(1e-5));
        }
      }
    }
  }
  const PQLayer l = tiny_layer({1, 2, 3, 4}, {0, 1, 1, 0});
  std::vector<float> x = {1, 1, 1, 1};
  REQUIRE(*pq_linear_lut(l, x, 1) == std::vector<float>{10, 10});
  REQUIRE(pq_linear_lut(l, x, 2).status().code() == ErrorCode::kShapeMismatch);
  std::vector<float> bias3 = {1, 2, 3};
  REQUIRE(pq_linear_lut(l, x, 1, bias3).status().code() == ErrorCode::kShapeMismatch);
}

TEST_CASE("PQ codebook as a training-engine codebook: decode and gradient sums per codeword", "[pq]") {
  const std::vector<float> w = normal_weights(20 * 12, 8);
  auto r = pq_quantize(w, 20, 12, params(3, 8));
  REQUIRE(r.is_ok());
  const Codebook cb = pq_as_codebook(r->layer);
  REQUIRE(*codebook_weights(cb) == *pq_decode(r->layer));
  // dL/dc[c][t] = sum over the subvectors coded c of dL/dW at their coordinate t.
  const std::vector<float> g = normal_weights(w.size(), 9);
  auto sums = cluster_gradient_sums(g, cb);
  REQUIRE(sums.is_ok());
  for (int c = 0; c < 8; ++c) {
    for (int t = 0; t < 3; ++t) {
      double want = 0.0;
      for (size_t s = 0; s < r->layer.codes.size(); ++s) if (r->layer.codes[s] == c) want += g[s * 3 + t];
      REQUIRE((*sums)[static_cast<size_t>(c * 3 + t)] == Approx(want).margin(1e-12));
    }
  }
  PQLayer l = r->layer;
  Codebook moved = cb;
  for (float& c : moved.centroids) c += 0.01f;
  REQUIRE(pq_update_from_codebook(l, moved).is_ok());
  for (size_t i = 0; i < l.codebook.size(); ++i) REQUIRE(l.codebook[i] == round_to_fp16(moved.centroids[i]));
  moved.centroids.pop_back();
  REQUIRE(pq_update_from_codebook(l, moved).code() == ErrorCode::kShapeMismatch);
}

TEST_CASE("Conv input statistics are the im2col rows' second moments", "[pq]") {
  // 2 images, 2 channels, 4x4, 3x3 kernel, pad 1, stride 2: brute-force im2col.
  const int64_t N = 2, C = 2, H = 4, W = 4;
  std::vector<float> xv = normal_weights(N * C * H * W, 12, 1.0);
  Tensor x = Tensor::from<float>({N, C, H, W}, xv);
  Conv2dGeometry g;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = 2;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 1;
  auto st = pq_conv_input_stats(x, g, 9);
  REQUIRE(st.is_ok());
  REQUIRE(st->M == 2);
  REQUIRE(st->count == N * 2 * 2);
  std::vector<double> want(2 * 81, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t oy = 0; oy < 2; ++oy) {
      for (int64_t ox = 0; ox < 2; ++ox) {
        std::vector<double> row;
        for (int64_t c = 0; c < C; ++c) {
          for (int64_t ky = 0; ky < 3; ++ky) {
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              row.push_back(iy >= 0 && iy < H && ix >= 0 && ix < W ? xv[((n * C + c) * H + iy) * W + ix] : 0.0);
            }
          }
        }
        for (int j = 0; j < 2; ++j) {
          for (int a = 0; a < 9; ++a) for (int b = 0; b < 9; ++b) want[j * 81 + a * 9 + b] += row[j * 9 + a] * row[j * 9 + b];
        }
      }
    }
  }
  for (size_t i = 0; i < want.size(); ++i) REQUIRE(st->sums[i] == Approx(want[i]).margin(1e-12));
}

TEST_CASE("Activation-aware PQ beats weight-only on held-out output MSE on every layer of LeNet-5 and "
          "LeNet-300-100", "[pq]") {
  const Subset train = subset("fashion-train-6000"), test = subset("fashion-test-2000");
  for (const char* model : {"lenet5", "lenet300"}) {
    std::vector<PQCompressionReport> reps;
    for (PQObjective obj : {PQObjective::kWeight, PQObjective::kActivation}) {
      auto net = network_from_onnx(testing::demo_model(model));
      REQUIRE(net.is_ok());
      PQCompressionOptions o;
      o.pq.objective = obj;
      o.calibration_count = 1000;
      o.heldout_count = 500;
      o.finetune_epochs = 0;
      auto r = pq_compress(*net, train.set(1000), test.set(1000), o);
      INFO(r.status().to_string());
      REQUIRE(r.is_ok());
      reps.push_back(std::move(r).value());
    }
    const PQCompressionReport &w = reps[0], &a = reps[1];
    REQUIRE(w.layers.size() == a.layers.size());
    REQUIRE(w.layers.size() == (std::string(model) == "lenet5" ? 5u : 3u));
    REQUIRE(w.bytes == a.bytes);
    for (size_t i = 0; i < w.layers.size(); ++i) {
      INFO(model << " " << w.layers[i].param << " d " << w.layers[i].d << " k " << w.layers[i].k
                 << ": output MSE weight-only " << w.layers[i].output_mse << ", activation-aware "
                 << a.layers[i].output_mse << "; weight MSE " << w.layers[i].weight_mse << " / "
                 << a.layers[i].weight_mse);
      REQUIRE(w.layers[i].storage.total() == a.layers[i].storage.total());
      REQUIRE(a.layers[i].output_mse < w.layers[i].output_mse);
    }
  }
}

TEST_CASE("PQ pipeline: conv layers split into K x K kernels, fine-tuning, progress and cancel", "[pq]") {
  const Subset train = subset("fashion-train-6000"), test = subset("fashion-test-2000");
  auto net = network_from_onnx(testing::demo_model("lenet5"));
  REQUIRE(net.is_ok());
  PQCompressionOptions o;
  o.layers = {{"conv2.weight", 0, 64}, {"fc1.weight", 8, 0}, {"fc2.weight", 0, 0}};
  o.pq.objective = PQObjective::kActivation;
  o.calibration_count = 256;
  o.heldout_count = 100;
  o.finetune_epochs = 1;
  o.train.max_steps = 20;
  std::vector<std::string> stages;
  auto r = pq_compress(*net, train.set(2000), test.set(500), o, [&](const Progress& p) {
    if (stages.empty() || stages.back() != p.stage) stages.emplace_back(p.stage);
  });
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  REQUIRE(r->layers.size() == 3);
  REQUIRE(r->layers[0].d == 25);  // conv2 [16, 6, 5, 5]: K x K
  REQUIRE(r->layers[0].k == 64);
  REQUIRE(r->pq[0].n() == 16 * 6);
  REQUIRE(r->layers[1].d == 8);
  REQUIRE(r->layers[1].k == 256);
  REQUIRE(r->layers[2].d == 4);
  REQUIRE(r->layers[2].storage.index_bytes == 84 * 30);
  REQUIRE(r->layers[2].storage.codebook_bytes == 256 * 4 * 2);
  size_t bytes = 0;
  for (const Parameter& p : net->params()) {
    bool planned = false;
    for (const PQLayerReport& l : r->layers) {
      if (l.param == p.name) {
        bytes += l.storage.total();
        planned = true;
      }
    }
    if (!planned) bytes += 4 * p.size();
  }
  REQUIRE(r->bytes == bytes);
  REQUIRE(r->fp32_bytes == 61706 * 4);
  REQUIRE(r->ratio == Approx(static_cast<double>(r->fp32_bytes) / static_cast<double>(bytes)));
  for (const char* s : {"evaluate", "pq conv2.weight", "pq fc1.weight", "pq fc2.weight", "fine-tune"}) {
    INFO(s);
    REQUIRE(std::find(stages.begin(), stages.end(), s) != stages.end());
  }
  // The network holds the decoded fine-tuned layers, dense, fp16 codewords.
  for (size_t i = 0; i < 3; ++i) {
    const Parameter* p = net->param(r->layers[i].param);
    REQUIRE(!p->codebook);
    REQUIRE(p->value == *pq_decode(r->pq[i]));
    for (float c : r->pq[i].codebook) REQUIRE(round_to_fp16(c) == c);
  }
  REQUIRE(r->accuracy > r->fp32_accuracy - 5.0);
  REQUIRE(r->accuracy_ft > r->fp32_accuracy - 5.0);

  // The compressed file holds the PQ layers (coding 3) and decodes to the same network.
  REQUIRE(r->file_accuracy == r->accuracy_ft);
  auto decoded = decode_compressed(r->file);
  REQUIRE(decoded.is_ok());
  REQUIRE(decoded->network);
  for (size_t i = 0; i < 3; ++i) {
    const DecodedTensor* t = nullptr;
    for (const DecodedTensor& x : decoded->tensors) if (x.name == r->layers[i].param) t = &x;
    REQUIRE(t);
    REQUIRE(t->pq);
    REQUIRE(t->pq->codes == r->pq[i].codes);
    REQUIRE(t->pq->codebook == r->pq[i].codebook);
    REQUIRE(t->values == net->param(r->layers[i].param)->value);
    REQUIRE(decoded->network->param(r->layers[i].param)->value == t->values);
    REQUIRE(t->sizes.codebook == r->layers[i].storage.codebook_bytes);
    // Index stream: fixed width is exactly the accounted bytes; Huffman only when smaller.
    REQUIRE(t->sizes.labels <= r->layers[i].storage.index_bytes);
  }
  size_t header_and_rest = 0;
  for (const DecodedTensor& x : decoded->tensors) header_and_rest += x.sizes.header + x.sizes.raw + x.sizes.tables;
  REQUIRE(r->file.size() <= r->bytes + header_and_rest + decoded->architecture_bytes);
  // A corrupt byte in a PQ tensor fails the checksum, never crashes.
  std::vector<uint8_t> bad = r->file;
  bad[bad.size() / 2] ^= 0x40;
  REQUIRE(decode_compressed(bad).status().code() == ErrorCode::kMalformed);

  // Cancel during the quantization of a layer, and during fine-tuning.
  for (const char* when : {"pq fc1.weight", "fine-tune"}) {
    auto again = network_from_onnx(testing::demo_model("lenet5"));
    bool stop = false;
    auto c = pq_compress(*again, train.set(2000), test.set(500), o,
                         [&](const Progress& p) { stop = stop || std::string(p.stage) == when; },
                         [&] { return stop; });
    INFO(when);
    REQUIRE(c.status().code() == ErrorCode::kCancelled);
    for (const Parameter& p : again->params()) REQUIRE(!p.codebook);
  }
  o.layers = {{"fc3.weight", 5, 0}};
  REQUIRE(pq_compress(*net, train.set(100), test.set(100), o).status().code() == ErrorCode::kInvalidArgument);
  o.layers = {{"fc3.weight", 0, 256}};  // 10 x 84 / 4 = 210 subvectors
  auto few = pq_compress(*net, train.set(100), test.set(100), o);
  REQUIRE(few.status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(few.status().message().find("fewer than k = 256") != std::string::npos);
  o.layers = {{"nope.weight", 0, 0}};
  REQUIRE(pq_compress(*net, train.set(100), test.set(100), o).status().code() == ErrorCode::kInvalidArgument);
}
