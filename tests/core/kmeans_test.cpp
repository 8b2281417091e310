// K-means weight quantization: the lecture's example, the exact optimum against brute force
// and a reference O(k n^2) dynamic program, the optimum against every Lloyd variant on
// random and trained weights, Lloyd's monotone distortion, initializations, fine-tuning
// updates, pruned (pinned zero) codebooks and invalid input.
#include "quantlab/kmeans.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <type_traits>

#include "compressed_test_util.hpp"

using namespace quantlab;

namespace {

// Lecture 5's 4x4 weight matrix (section 5.6.1, the K-means slide).
const std::vector<float> kLectureW = {2.09f,  -0.98f, 1.48f, 0.09f,  0.05f, -0.14f, -1.08f, 2.12f,
                                      -0.91f, 1.92f,  0.0f,  -1.03f, 1.87f, 0.0f,   1.53f,  1.49f};
// The slide's cluster indices (0: -1.00, 1: 0.00, 2: 1.50, 3: 2.00).
const std::vector<int32_t> kLectureLabels = {3, 0, 2, 1, 1, 1, 0, 3, 0, 3, 1, 0, 3, 1, 2, 2};

enum class Dist { kNormal, kLaplace, kUniform, kBimodal, kFewValues };

std::vector<float> sample(Dist dist, size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::exponential_distribution<float> expo(20.0f);
  std::uniform_real_distribution<float> uni(-0.3f, 0.2f);
  std::bernoulli_distribution coin(0.5);
  std::uniform_int_distribution<int> small(-6, 6);
  std::vector<float> v(n);
  for (auto& x : v) {
    switch (dist) {
      case Dist::kNormal: x = normal(rng); break;
      case Dist::kLaplace: x = coin(rng) ? expo(rng) : -expo(rng); break;
      case Dist::kUniform: x = uni(rng); break;
      case Dist::kBimodal: x = normal(rng) + (coin(rng) ? 0.3f : -0.2f); break;
      case Dist::kFewValues: x = 0.25f * static_cast<float>(small(rng)); break;
    }
  }
  return v;
}

/// SSE of v[a..b) about its mean, summed directly in long double.
long double direct_sse(const std::vector<double>& v, size_t a, size_t b) {
  long double mean = 0;
  for (size_t i = a; i < b; ++i) mean += v[i];
  mean /= static_cast<long double>(b - a);
  long double s = 0;
  for (size_t i = a; i < b; ++i) s += (v[i] - mean) * (v[i] - mean);
  return s;
}

/// Minimum SSE over every partition of the sorted values into at most k contiguous groups,
/// by enumerating the cut sets (tiny n only).
double brute_force_sse(std::vector<float> w, size_t k) {
  std::vector<double> v(w.begin(), w.end());
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  long double best = std::numeric_limits<long double>::infinity();
  for (uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {  // bit c: cut after element c
    if (static_cast<size_t>(__builtin_popcount(mask)) + 1 > k) continue;
    long double s = 0;
    size_t start = 0;
    for (size_t c = 0; c < n; ++c) {
      if (c == n - 1 || (mask >> c & 1u)) {
        s += direct_sse(v, start, c + 1);
        start = c + 1;
      }
    }
    best = std::min(best, s);
  }
  return static_cast<double>(best);
}

/// The textbook O(k n^2) dynamic program: the minimum SSE into <= k groups. Prefix sums in
/// double about the mean (long double is emulated in WebAssembly, far too slow here).
double reference_dp_sse(const std::vector<float>& w, size_t k) {
  std::vector<double> v(w.begin(), w.end());
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(n);
  std::vector<double> p1(n + 1, 0), p2(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const double x = v[i] - mean;
    p1[i + 1] = p1[i] + x;
    p2[i + 1] = p2[i] + x * x;
  }
  auto sse = [&](size_t a, size_t b) {
    const double s = p1[b] - p1[a];
    return std::max(0.0, (p2[b] - p2[a]) - s * s / static_cast<double>(b - a));
  };
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> prev(n + 1, inf), cur(n + 1, inf);
  for (size_t i = 1; i <= n; ++i) prev[i] = sse(0, i);
  double best = prev[n];
  for (size_t j = 2; j <= k && j <= n; ++j) {
    std::fill(cur.begin(), cur.end(), inf);
    for (size_t i = j; i <= n; ++i) {
      for (size_t m = j - 1; m < i; ++m) cur[i] = std::min(cur[i], prev[m] + sse(m, i));
    }
    best = std::min(best, cur[n]);
    std::swap(prev, cur);
  }
  return best;
}

KMeansOptions lloyd(KMeansInit init, uint32_t seed = 0) {
  KMeansOptions o;
  o.method = KMeansMethod::kLloyd;
  o.init = init;
  o.seed = seed;
  return o;
}

KMeansOptions optimal() {
  KMeansOptions o;
  o.method = KMeansMethod::kOptimal;
  return o;
}

/// Checks the codebook invariants: k centroids, ascending, each label the nearest centroid.
void check_codebook(const std::vector<float>& w, const KMeansResult& r, int bits) {
  const auto& cb = r.codebook;
  REQUIRE(cb.centroids.size() == (size_t{1} << bits));
  REQUIRE(cb.bits() == bits);
  REQUIRE(cb.labels.size() == w.size());
  const size_t first = cb.pinned_zero ? 1 : 0;
  REQUIRE(std::is_sorted(cb.centroids.begin() + static_cast<std::ptrdiff_t>(first), cb.centroids.end()));
  double sum = 0;
  size_t bad_label = 0, not_nearest = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t l = static_cast<size_t>(cb.labels[i]);
    if (l >= cb.centroids.size()) {
      ++bad_label;
      continue;
    }
    const double d = std::abs(static_cast<double>(w[i]) - cb.centroids[l]);
    for (size_t t = first; t < cb.centroids.size(); ++t) {
      if (cb.pinned_zero && w[i] == 0.0f) break;
      if (d > std::abs(static_cast<double>(w[i]) - cb.centroids[t])) ++not_nearest;
    }
    sum += d * d;
  }
  REQUIRE(bad_label == 0);
  REQUIRE(not_nearest == 0);
  REQUIRE(r.mse == Approx(sum / static_cast<double>(w.size())).epsilon(1e-12));
}

const KMeansInit kInits[] = {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom,
                             KMeansInit::kPlusPlus};

}  // namespace

TEST_CASE("codebook storage is computed in 64 bits (2^33 weights at 4 bits)", "[kmeans]") {
  // issue 18: with size_t sizes the wasm32 build returned 64 (2^33 * 4 wrapped to 0).
  static_assert(std::is_same_v<decltype(codebook_storage_bytes(uint64_t{1} << 33, 4)), uint64_t>);
  REQUIRE(codebook_storage_bytes(uint64_t{1} << 33, 4) == (uint64_t{1} << 32) + 64);
  REQUIRE(codebook_storage_bytes(uint64_t{1} << 40, 8) == (uint64_t{1} << 40) + 1024);
  REQUIRE(codebook_storage_bytes(0, 8) == 1024);
}

TEST_CASE("lecture example: 2-bit k-means of the 4x4 matrix, 64 B -> 20 B (3.2x)", "[kmeans]") {
  for (const KMeansOptions& o : {optimal(), lloyd(KMeansInit::kLinear)}) {
    auto r = k_means(kLectureW, 2, o);
    REQUIRE(r.is_ok());
    check_codebook(kLectureW, *r, 2);
    REQUIRE(r->codebook.labels == kLectureLabels);
    const std::vector<float> want = {-1.0f, 0.0f, 1.5f, 2.0f};
    for (size_t t = 0; t < 4; ++t) REQUIRE(r->codebook.centroids[t] == Approx(want[t]).margin(1e-6));
  }
  REQUIRE(kLectureW.size() * sizeof(float) == 64);
  REQUIRE(codebook_storage_bytes(16, 2) == 20);
  REQUIRE(64.0 / static_cast<double>(codebook_storage_bytes(16, 2)) == Approx(3.2));

  // The labs' in-place form replaces the tensor's values by their centroids.
  Tensor t = Tensor::from<float>({4, 4}, kLectureW);
  auto cb = k_means_quantize(t, 2, optimal());
  REQUIRE(cb.is_ok());
  REQUIRE(cb->labels == kLectureLabels);
  for (size_t i = 0; i < 16; ++i) {
    REQUIRE(t.data<float>()[i] == cb->centroids[static_cast<size_t>(kLectureLabels[i])]);
  }
  auto dense = codebook_weights(*cb);
  REQUIRE(dense.is_ok());
  REQUIRE(std::equal(dense->begin(), dense->end(), t.data<float>().begin()));
}

TEST_CASE("optimal k-means equals brute force over all partitions (tiny inputs)", "[kmeans]") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    const size_t n = 2 + static_cast<size_t>(trial % 11);  // 2..12
    const int bits = 1 + trial % 2;                          // k = 2 or 4
    const Dist dist = trial % 3 == 0 ? Dist::kFewValues : Dist::kLaplace;
    const std::vector<float> w = sample(dist, n, static_cast<unsigned>(rng()));
    auto r = k_means(w, bits, optimal());
    REQUIRE(r.is_ok());
    check_codebook(w, *r, bits);
    const double want = brute_force_sse(w, size_t{1} << bits);
    INFO("n = " << n << " bits = " << bits);
    REQUIRE(r->mse * static_cast<double>(n) == Approx(want).epsilon(1e-9).margin(1e-15));
  }
}

TEST_CASE("optimal k-means equals the O(k n^2) dynamic program", "[kmeans]") {
  struct Case { Dist dist; size_t n; int bits; };
  const Case cases[] = {{Dist::kNormal, 300, 3},  {Dist::kLaplace, 400, 4},
                        {Dist::kBimodal, 257, 5}, {Dist::kUniform, 129, 6},
                        {Dist::kFewValues, 500, 3}, {Dist::kLaplace, 600, 6},
                        {Dist::kNormal, 200, 7}};
  unsigned seed = 100;
  for (const Case& c : cases) {
    const std::vector<float> w = sample(c.dist, c.n, seed++);
    auto r = k_means(w, c.bits, optimal());
    REQUIRE(r.is_ok());
    check_codebook(w, *r, c.bits);
    INFO("n = " << c.n << " bits = " << c.bits);
    REQUIRE(r->mse * static_cast<double>(c.n) ==
            Approx(reference_dp_sse(w, size_t{1} << c.bits)).epsilon(1e-9).margin(1e-15));
  }
}

TEST_CASE("the optimum is at most every Lloyd variant (random weights)", "[kmeans]") {
  unsigned seed = 7;
  for (Dist dist : {Dist::kNormal, Dist::kLaplace, Dist::kUniform, Dist::kBimodal, Dist::kFewValues}) {
    for (int bits : {1, 2, 3, 5, 8}) {
      const std::vector<float> w = sample(dist, 3000, seed++);
      auto best = k_means(w, bits, optimal());
      REQUIRE(best.is_ok());
      check_codebook(w, *best, bits);
      for (KMeansInit init : kInits) {
        for (uint32_t s : {0u, 1u}) {
          auto r = k_means(w, bits, lloyd(init, s));
          REQUIRE(r.is_ok());
          check_codebook(w, *r, bits);
          INFO("dist " << static_cast<int>(dist) << " bits " << bits << " init "
                       << static_cast<int>(init));
          REQUIRE(best->mse <= r->mse * (1 + 1e-9));
        }
      }
    }
  }
}

TEST_CASE("the optimum is at most every Lloyd variant on every layer of LeNet-5", "[kmeans]") {
  for (const char* layer : {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight"}) {
    const std::vector<float> w = testing::demo_weights("lenet5", layer);
    for (int bits : {2, 4, 5}) {
      auto best = k_means(w, bits, optimal());
      REQUIRE(best.is_ok());
      check_codebook(w, *best, bits);
      for (KMeansInit init : kInits) {
        auto r = k_means(w, bits, lloyd(init, 3));
        REQUIRE(r.is_ok());
        INFO(layer << " bits " << bits << " init " << static_cast<int>(init));
        REQUIRE(best->mse <= r->mse * (1 + 1e-9));
      }
    }
  }
}

TEST_CASE("Lloyd's distortion never rises, and it stops at a fixed point", "[kmeans]") {
  const std::vector<float> w = sample(Dist::kBimodal, 5000, 21);
  for (KMeansInit init : kInits) {
    double last = std::numeric_limits<double>::infinity();
    for (int it = 0; it <= 30; ++it) {
      KMeansOptions o = lloyd(init, 4);
      o.iterations = it;
      auto r = k_means(w, 4, o);
      REQUIRE(r.is_ok());
      REQUIRE(r->iterations <= it);
      REQUIRE(r->mse <= last * (1 + 1e-12));
      last = r->mse;
    }
    // Converged: another run with many more steps stops early and changes nothing.
    KMeansOptions o = lloyd(init, 4);
    o.iterations = 100000;
    auto a = k_means(w, 4, o);
    REQUIRE(a.is_ok());
    REQUIRE(a->iterations < 100000);
    o.iterations = a->iterations + 50;
    auto b = k_means(w, 4, o);
    REQUIRE(b->codebook.centroids == a->codebook.centroids);
    // At a fixed point every centroid is the mean of its weights.
    Codebook cb = a->codebook;
    REQUIRE(update_codebook(w, cb).is_ok());
    for (size_t t = 0; t < cb.centroids.size(); ++t) {
      REQUIRE(cb.centroids[t] == Approx(a->codebook.centroids[t]).margin(1e-6));
    }
  }
}

TEST_CASE("initializations: linear, density, random and k-means++", "[kmeans]") {
  std::vector<float> w;
  for (int i = 0; i <= 100; ++i) w.push_back(static_cast<float>(i));  // 0..100
  auto lin = k_means_init(w, 5, KMeansInit::kLinear);
  REQUIRE(lin.is_ok());
  REQUIRE(*lin == std::vector<float>{0.0f, 25.0f, 50.0f, 75.0f, 100.0f});
  // Density: the (t + 1/2) / k quantiles of the sorted weights: ranks 10, 30, 50, 70, 90.
  auto den = k_means_init(w, 5, KMeansInit::kDensity);
  REQUIRE(*den == std::vector<float>{10.0f, 30.0f, 50.0f, 70.0f, 90.0f});
  // Skewed data: density puts its centroids where the weights are, linear does not.
  const std::vector<float> skew = sample(Dist::kLaplace, 2000, 3);
  auto dl = k_means_init(skew, 8, KMeansInit::kLinear);
  auto dd = k_means_init(skew, 8, KMeansInit::kDensity);
  REQUIRE(std::abs(dd->front()) < std::abs(dl->front()));
  for (KMeansInit init : {KMeansInit::kRandom, KMeansInit::kPlusPlus}) {
    auto a = k_means_init(skew, 16, init, 42);
    auto b = k_means_init(skew, 16, init, 42);
    auto c = k_means_init(skew, 16, init, 43);
    REQUIRE(*a == *b);  // seeded
    REQUIRE(*a != *c);
    REQUIRE(std::is_sorted(a->begin(), a->end()));
    for (float x : *a) REQUIRE(std::find(skew.begin(), skew.end(), x) != skew.end());
    // Distinct weights were drawn (the data has no repeats).
    REQUIRE(std::adjacent_find(a->begin(), a->end()) == a->end());
  }
}

TEST_CASE("fewer distinct weights than centroids: every value is a centroid, MSE 0", "[kmeans]") {
  const std::vector<float> w = {0.5f, -1.0f, 0.5f, 2.0f, -1.0f, 0.5f};
  for (const KMeansOptions& o : {optimal(), lloyd(KMeansInit::kLinear), lloyd(KMeansInit::kPlusPlus)}) {
    auto r = k_means(w, 3, o);
    REQUIRE(r.is_ok());
    REQUIRE(r->mse == 0.0);
    check_codebook(w, *r, 3);
    auto dense = codebook_weights(r->codebook);
    REQUIRE(*dense == w);
  }
}

TEST_CASE("fine-tuning (a): the lecture's update moves each centroid by its mean error",
          "[kmeans]") {
  auto r = k_means(kLectureW, 2, optimal());
  REQUIRE(r.is_ok());
  Codebook cb = r->codebook;
  // Retrained weights: every weight of cluster 3 moves by +0.1, of cluster 0 by -0.2 (one
  // of them by -0.4).
  std::vector<float> w = kLectureW;
  for (size_t i = 0; i < w.size(); ++i) {
    if (cb.labels[i] == 3) w[i] += 0.1f;
    if (cb.labels[i] == 0) w[i] -= 0.2f;
  }
  w[1] -= 0.2f;  // label 0
  REQUIRE(update_codebook(w, cb).is_ok());
  REQUIRE(cb.centroids[3] == Approx(2.1).margin(1e-6));
  REQUIRE(cb.centroids[0] == Approx(-1.25).margin(1e-6));
  REQUIRE(cb.centroids[1] == Approx(0.0).margin(1e-6));
  REQUIRE(cb.centroids[2] == Approx(1.5).margin(1e-6));
  REQUIRE(cb.labels == kLectureLabels);  // labels are kept
}

TEST_CASE("fine-tuning (b): gradients summed per cluster update the centroids", "[kmeans]") {
  auto r = k_means(kLectureW, 2, optimal());
  Codebook cb = r->codebook;
  // The lecture's gradient figure: group by index, reduce by sum, times lr, subtract.
  std::vector<float> grad(16);
  for (size_t i = 0; i < 16; ++i) grad[i] = 0.01f * static_cast<float>(i + 1);
  auto sums = cluster_gradient_sums(grad, cb);
  REQUIRE(sums.is_ok());
  std::vector<double> want(4, 0.0);
  for (size_t i = 0; i < 16; ++i) want[static_cast<size_t>(kLectureLabels[i])] += grad[i];
  for (size_t t = 0; t < 4; ++t) REQUIRE((*sums)[t] == Approx(want[t]).epsilon(1e-12));
  const std::vector<float> before = cb.centroids;
  REQUIRE(apply_centroid_gradients(cb, *sums, 0.5f).is_ok());
  for (size_t t = 0; t < 4; ++t) {
    REQUIRE(cb.centroids[t] == Approx(before[t] - 0.5 * want[t]).margin(1e-6));
  }
  REQUIRE(apply_centroid_gradients(cb, std::vector<double>(3), 0.5f).code() ==
          ErrorCode::kShapeMismatch);
}

TEST_CASE("pruned layers: the zero is pinned at label 0 and never moves", "[kmeans]") {
  std::vector<float> w = sample(Dist::kLaplace, 1500, 9);
  for (size_t i = 0; i < w.size(); i += 3) w[i] = 0.0f;  // a third pruned
  w[5] = -0.0f;
  for (const KMeansOptions& base : {optimal(), lloyd(KMeansInit::kLinear)}) {
    KMeansOptions o = base;
    o.pinned_zero = true;
    auto r = k_means(w, 4, o);
    REQUIRE(r.is_ok());
    const Codebook& cb = r->codebook;
    REQUIRE(cb.pinned_zero);
    REQUIRE(cb.centroids[0] == 0.0f);
    check_codebook(w, *r, 4);
    for (size_t i = 0; i < w.size(); ++i) REQUIRE((w[i] == 0.0f) == (cb.labels[i] == 0));
    // The 15 free centroids fit the nonzero weights: the optimum on them alone.
    if (base.method == KMeansMethod::kOptimal) {
      std::vector<float> nz;
      for (float x : w) if (x != 0.0f) nz.push_back(x);
      const double sse = reference_dp_sse(nz, 15);
      REQUIRE(r->mse * static_cast<double>(w.size()) == Approx(sse).epsilon(1e-9));
    }
    Codebook moved = cb;
    std::vector<float> w2 = w;
    for (auto& x : w2) x += 0.01f;  // even the pruned weights drift: the zero stays
    REQUIRE(update_codebook(w2, moved).is_ok());
    REQUIRE(moved.centroids[0] == 0.0f);
    auto sums = cluster_gradient_sums(std::vector<float>(w.size(), 1.0f), moved);
    REQUIRE((*sums)[0] == 0.0);
    REQUIRE(apply_centroid_gradients(moved, *sums, 1.0f).is_ok());
    REQUIRE(moved.centroids[0] == 0.0f);
  }
  // All weights pruned.
  KMeansOptions o = optimal();
  o.pinned_zero = true;
  auto z = k_means(std::vector<float>(10, 0.0f), 2, o);
  REQUIRE(z.is_ok());
  REQUIRE(z->mse == 0.0);
  REQUIRE(z->codebook.labels == std::vector<int32_t>(10, 0));
}

TEST_CASE("k-means is deterministic and reports progress", "[kmeans]") {
  const std::vector<float> w = sample(Dist::kNormal, 2000, 77);
  for (KMeansSolver solver : {KMeansSolver::kAuto, KMeansSolver::kDynamicProgram}) {
    int64_t reports = 0, last_done = -1, last_total = 0;
    KMeansOptions o = optimal();
    o.solver = solver;
    auto r = k_means(w, 5, o, [&](const Progress& p) {
      ++reports;
      REQUIRE(std::string(p.stage) == "k-means");
      REQUIRE(p.done > last_done);
      REQUIRE(p.done <= p.total);
      last_done = p.done;
      last_total = p.total;
    });
    REQUIRE(r.is_ok());
    REQUIRE(reports > 0);
    REQUIRE(last_done == last_total);
  }
  auto r = k_means(w, 5, optimal());
  auto again = k_means(w, 5, optimal());
  REQUIRE(again->codebook.centroids == r->codebook.centroids);
  REQUIRE(again->codebook.labels == r->codebook.labels);
}

TEST_CASE("both exact solvers agree: Lagrangian relaxation and the k-row dynamic program",
          "[kmeans]") {
  unsigned seed = 500;
  for (Dist dist : {Dist::kNormal, Dist::kLaplace, Dist::kUniform, Dist::kBimodal, Dist::kFewValues}) {
    for (int bits : {1, 2, 3, 4, 6, 8}) {
      for (bool pinned : {false, true}) {
        std::vector<float> w = sample(dist, 1000 + 37 * static_cast<size_t>(bits), seed++);
        if (pinned) for (size_t i = 0; i < w.size(); i += 4) w[i] = 0.0f;
        KMeansOptions a = optimal(), b = optimal();
        a.pinned_zero = b.pinned_zero = pinned;
        b.solver = KMeansSolver::kDynamicProgram;
        auto ra = k_means(w, bits, a), rb = k_means(w, bits, b);
        REQUIRE(ra.is_ok());
        REQUIRE(rb.is_ok());
        INFO("dist " << static_cast<int>(dist) << " bits " << bits << " pinned " << pinned);
        REQUIRE(ra->mse == Approx(rb->mse).epsilon(1e-9).margin(1e-18));
      }
    }
  }
}

TEST_CASE("a cost that is not strictly convex in k falls back to the dynamic program",
          "[kmeans]") {
  // 24 equally spaced, equally heavy values: every partition into 12..24 clusters merges
  // (24 - k) neighbouring pairs at the same price, so no penalty per cluster selects exactly
  // 16 clusters; the result must still be the optimum (8 merged pairs).
  std::vector<float> w;
  for (int v = 0; v < 24; ++v) for (int c = 0; c < 10; ++c) w.push_back(static_cast<float>(v));
  bool dp_rows = false;  // the dynamic program reports its rows: total = k
  auto r = k_means(w, 4, optimal(), [&](const Progress& p) { dp_rows = dp_rows || p.total == 16; });
  REQUIRE(r.is_ok());
  REQUIRE(dp_rows);
  const double want = reference_dp_sse(w, 16);
  REQUIRE(want == Approx(8 * 20 * 0.25));
  REQUIRE(r->mse * static_cast<double>(w.size()) == Approx(want).epsilon(1e-12));
  check_codebook(w, *r, 4);
}

TEST_CASE("k-means rejects invalid input", "[kmeans]") {
  const std::vector<float> w = {1.0f, 2.0f, 3.0f};
  REQUIRE(k_means(std::vector<float>{}, 2).status().code() == ErrorCode::kEmptyInput);
  REQUIRE(k_means(w, 0).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(k_means(w, 9).status().code() == ErrorCode::kInvalidArgument);
  std::vector<float> bad = w;
  bad[1] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE(k_means(bad, 2).status().code() == ErrorCode::kNotFinite);
  bad[1] = std::numeric_limits<float>::infinity();
  REQUIRE(k_means(bad, 2, optimal()).status().code() == ErrorCode::kNotFinite);
  KMeansOptions o;
  o.iterations = -1;
  REQUIRE(k_means(w, 2, o).status().code() == ErrorCode::kInvalidArgument);
  Tensor ints = Tensor::from<int32_t>({3}, {1, 2, 3});
  REQUIRE(k_means_quantize(ints, 2).status().code() == ErrorCode::kUnsupported);
  REQUIRE(k_means_init(w, 0, KMeansInit::kLinear).status().code() == ErrorCode::kInvalidArgument);
  Codebook cb{{0.0f, 1.0f}, {0, 2, 1}, false};
  REQUIRE(codebook_weights(cb).status().code() == ErrorCode::kOutOfRange);
  REQUIRE(codebook_mse(std::vector<float>{1.0f}, cb).status().code() == ErrorCode::kShapeMismatch);
  REQUIRE(update_codebook(w, cb).code() == ErrorCode::kOutOfRange);
}
