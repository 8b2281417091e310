// f32 -> q8 conversion: every compiled variant equals the scalar reference bit for bit.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "f32-q8-vcvt/f32-q8-vcvt.h"

using namespace quantlab;

namespace {

template <class T>
void check_all_variants(int32_t q_min, int32_t q_max) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::uniform_real_distribution<float> scale_dist(0.005f, 0.2f);
  const auto variants = f32_q8_vcvt_variants<T>();
  REQUIRE(variants.front().isa == Isa::kScalar);
  for (size_t n : {1u, 2u, 7u, 15u, 16u, 17u, 31u, 32u, 33u, 100u, 4099u}) {
    std::vector<float> x(n);
    for (auto& v : x) v = d(rng);
    // Exact ties (k + 0.5) * scale, infinities and extremes.
    F32Q8VcvtParams p;
    p.scale = scale_dist(rng);
    p.zero_point = (q_min + q_max) / 2 + 3;
    p.q_min = q_min;
    p.q_max = q_max;
    if (n > 8) {
      x[0] = 2.5f * p.scale;
      x[1] = -2.5f * p.scale;
      x[2] = std::numeric_limits<float>::infinity();
      x[3] = -std::numeric_limits<float>::infinity();
      x[4] = 1e30f;
      x[5] = -0.0f;
    }
    std::vector<T> expected(n);
    variants.front().fn(n, x.data(), expected.data(), p);
    for (const auto& v : variants) {
      std::vector<T> got(n, T{0x55});
      v.fn(n, x.data(), got.data(), p);
      INFO(v.name << " n = " << n);
      REQUIRE(got == expected);
    }
  }
}

}  // namespace

TEST_CASE("f32-q8-vcvt: every variant equals scalar (int8)", "[kernels]") {
  check_all_variants<int8_t>(-128, 127);
  check_all_variants<int8_t>(-127, 127);
}

TEST_CASE("f32-q8-vcvt: every variant equals scalar (uint8)", "[kernels]") {
  check_all_variants<uint8_t>(0, 255);
}

TEST_CASE("f32-q8-vcvt: scalar rounds ties to even and saturates", "[kernels]") {
  F32Q8VcvtParams p;
  p.scale = 0.5f;
  p.zero_point = 0;
  const std::vector<float> x = {1.25f, 1.75f, -1.25f, 100.0f, -100.0f};
  std::vector<int8_t> y(x.size());
  ql_f32_qs8_vcvt_ukernel__scalar(x.size(), x.data(), y.data(), p);
  CHECK(y == std::vector<int8_t>{2, 4, -2, 127, -128});
}
