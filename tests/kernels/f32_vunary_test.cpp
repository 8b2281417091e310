// f32-vunary: every compiled variant of exp, sigmoid and tanh is within the family's
// tolerance of the scalar (C library) reference, over awkward lengths, the whole useful
// range and the special values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <vector>

#include "f32-vunary/f32-vunary.h"

using namespace quantlab;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool close(VUnaryFunction f, float x, float got, float want) {
  // xsimd's exp (Cephes) overflows from maxlog = 88.3763 where the library is finite to 88.72.
  if (f == VUnaryFunction::kExp && x > 88.3762f && got == kInf) return true;
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want) || want == 0.0f) return got == want || std::fabs(got) <= 1e-37f;
  return std::fabs(double(got) - double(want)) <= 4e-7 * std::fabs(double(want)) + 1e-37;
}

}  // namespace

TEST_CASE("f32-vunary: every variant is within 4e-7 relative of scalar", "[kernels]") {
  const auto variants = f32_vunary_variants();
  REQUIRE(variants.front().isa == Isa::kScalar);
  std::mt19937 rng(17);
  std::normal_distribution<float> d(0.0f, 8.0f);
  for (size_t n : {1u, 2u, 3u, 7u, 15u, 16u, 17u, 31u, 32u, 33u, 100u, 4099u}) {
    std::vector<float> x(n);
    for (auto& v : x) v = d(rng);
    const float specials[] = {0.0f,   -0.0f, kInf,   -kInf,  88.7f, 89.0f, -87.0f, -104.0f,
                              -200.0f, 1e-6f, -1e-6f, 1e-30f, 9.0f,  -9.0f, 20.0f,  std::nanf("")};
    for (size_t i = 0; i < n && i < std::size(specials); ++i) x[i] = specials[i];
    for (const auto& v : variants) {
      const auto ref = std::find_if(variants.begin(), variants.end(), [&](const auto& r) {
        return r.isa == Isa::kScalar && r.function == v.function;
      });
      REQUIRE(ref != variants.end());
      std::vector<float> want(n), got(n, 123.0f), inplace = x;
      ref->fn(n, x.data(), want.data());
      v.fn(n, x.data(), got.data());
      v.fn(n, inplace.data(), inplace.data());
      INFO(v.name << " n = " << n);
      for (size_t i = 0; i < n; ++i) {
        INFO("x = " << x[i] << ": got " << got[i] << ", want " << want[i]);
        REQUIRE(close(v.function, x[i], got[i], want[i]));
        REQUIRE((inplace[i] == got[i] || (std::isnan(got[i]) && std::isnan(inplace[i]))));
      }
    }
  }
}

TEST_CASE("f32-vunary: the scalar reference at known values", "[kernels]") {
  const std::vector<float> x = {0.0f, 1.0f, -1.0f, 100.0f, -100.0f};
  std::vector<float> y(x.size());
  ql_f32_vsigmoid_ukernel__scalar(x.size(), x.data(), y.data());
  CHECK(y[0] == 0.5f);
  CHECK(y[1] == Approx(0.7310585786));
  CHECK(y[3] == 1.0f);
  CHECK(y[4] == Approx(0.0).margin(1e-40));
  ql_f32_vtanh_ukernel__scalar(x.size(), x.data(), y.data());
  CHECK(y[0] == 0.0f);
  CHECK(y[2] == Approx(-0.7615941560));
  CHECK(y[3] == 1.0f);
  for (auto fn : {VUnaryFunction::kExp, VUnaryFunction::kSigmoid, VUnaryFunction::kTanh}) {
    CHECK(f32_vunary_best(fn) != nullptr);
  }
}
