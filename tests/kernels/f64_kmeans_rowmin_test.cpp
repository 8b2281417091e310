// f64-kmeans-rowmin: every compiled variant returns scalar's minimum and argmin bit for bit,
// over awkward lengths, with ties, and on the values the k-means DP actually sees.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "f64-kmeans-rowmin/f64-kmeans-rowmin.h"

using namespace quantlab;

TEST_CASE("f64-kmeans-rowmin: every variant equals scalar", "[kernels]") {
  const auto variants = f64_kmeans_rowmin_variants();
  REQUIRE(variants.size() >= 2);
  REQUIRE(variants[0].isa == Isa::kScalar);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<size_t> sizes;
  for (size_t n = 1; n <= 17; ++n) sizes.push_back(n);
  for (size_t n : {31u, 32u, 33u, 64u, 1000u, 4099u}) sizes.push_back(n);
  for (size_t n : sizes) {
    for (int ties = 0; ties < 3; ++ties) {
      // A DP-like row: i = n + 3 and sorted weights, so q decreasing-ish, p1 prefix sums.
      std::vector<double> x(n + 3), p0(n + 4, 0.0), p1(n + 4, 0.0), p2(n + 4, 0.0);
      for (auto& v : x) v = u(rng);
      std::sort(x.begin(), x.end());
      for (size_t t = 0; t < x.size(); ++t) {
        const double c = ties == 2 ? 1.0 + static_cast<double>(t % 3) : 1.0;
        p0[t + 1] = p0[t] + c;
        p1[t + 1] = p1[t] + c * x[t];
        p2[t + 1] = p2[t] + c * x[t] * x[t];
      }
      const size_t i = n + 3;
      std::vector<double> q(n), r(n);
      for (size_t m = 0; m < n; ++m) {
        q[m] = 0.01 * static_cast<double>(m) * u(rng) - p2[m];
        r[m] = 1.0 / static_cast<double>(i - m);
      }
      if (ties == 1) {  // exact duplicate candidates: the first must win everywhere
        for (size_t m = 1; m < n; m += 2) {
          q[m] = q[m - 1];
          r[m] = r[m - 1];
          p1[m] = p1[m - 1];
          p0[m] = p0[m - 1];
        }
      }
      F64KmeansRowminParams params;
      params.p1i = p1[i];
      params.p0i = p0[i];
      for (bool div : {false, true}) {
        double want_min = 0;
        size_t want_arg = 0;
        const double* w = div ? p0.data() : r.data();
        for (const auto& v : variants) {
          if (v.div != div) continue;
          double got_min = -1;
          size_t got_arg = n + 99;
          v.fn(n, q.data(), p1.data(), w, params, &got_min, &got_arg);
          INFO(v.name << " n = " << n << " ties = " << ties);
          if (v.isa == Isa::kScalar) {
            want_min = got_min;
            want_arg = got_arg;
            // The scalar reference itself: the first minimum of the row.
            for (size_t m = 0; m < n; ++m) {
              const double s = params.p1i - p1[m];
              const double val = div ? q[m] - s * s / (params.p0i - p0[m]) : q[m] - s * s * r[m];
              REQUIRE(val >= want_min);
              if (m < want_arg) REQUIRE(val > want_min);
            }
          }
          REQUIRE(got_arg == want_arg);
          REQUIRE(std::memcmp(&got_min, &want_min, sizeof(double)) == 0);
        }
      }
    }
  }
  REQUIRE((f64_kmeans_rowmin_best(false) == variants.back().fn ||
           f64_kmeans_rowmin_best(true) == variants.back().fn));
}
