// Requantization: M0/shift decomposition and the fixed-point contract against an exact
// 64-bit reference, plus the fp32 mode.
#include "quantlab/requantize.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

using namespace quantlab;

namespace {

// The contract written as plainly as possible in 64-bit integers, independently of the
// gemmlowp-style production code: floor-based round-half-up for the doubling high multiply,
// then round-half-away-from-zero for the right shift.
int32_t reference_multiply(int32_t acc, FixedPointMultiplier m) {
  const int left = std::max(m.shift, 0);
  const int right = std::max(-m.shift, 0);
  int64_t x = static_cast<int64_t>(acc) << left;  // |acc| < 2^31, left <= 31: fits
  x = std::clamp<int64_t>(x, INT32_MIN, INT32_MAX);
  const int64_t p = x * m.M0;
  int64_t y1 = (p + (int64_t{1} << 30)) >> 31;  // arithmetic shift = floor
  if (right == 0) return static_cast<int32_t>(y1);
  const bool negative = y1 < 0;
  const int64_t a = negative ? -y1 : y1;
  const int64_t r = (a + (int64_t{1} << (right - 1))) >> right;
  return static_cast<int32_t>(negative ? -r : r);
}

}  // namespace

TEST_CASE("quantize_multiplier: M0 in [2^30, 2^31) and M0 * 2^(shift-31) ~= M", "[requantize]") {
  for (double M : {1e-9, 2.3283064365386963e-10, 0.000123, 0.0039, 0.25, 0.5, 0.7071, 0.99999,
                   0.9999999999, 1.0, 1.5, 3.7, 1000.0, 123456.789}) {
    auto m = quantize_multiplier(M);
    REQUIRE(m.is_ok());
    if (M < std::ldexp(1.0, -32)) continue;
    INFO("M = " << M);
    CHECK(m->M0 >= (1 << 30));
    CHECK(static_cast<int64_t>(m->M0) < (int64_t{1} << 31));
    CHECK(std::fabs(multiplier_value(*m) - M) <= M * std::ldexp(1.0, -31));
  }
}

TEST_CASE("quantize_multiplier: M close to 1 rounds M0 to 2^30 with shift + 1", "[requantize]") {
  auto m = quantize_multiplier(1.0 - 1e-12);
  REQUIRE(m.is_ok());
  CHECK(m->M0 == (1 << 30));
  CHECK(m->shift == 1);
  CHECK(multiply_by_quantized_multiplier(1000, *m) == 1000);
  // As in TFLite, the left shift saturates before the multiply: accumulators beyond 2^30
  // cannot use a multiplier >= 1 (it never happens with S_W S_X / S_Y < 1).
  CHECK(multiply_by_quantized_multiplier(INT32_MAX, *m) == reference_multiply(INT32_MAX, *m));
}

TEST_CASE("quantize_multiplier: very small M flushes to zero", "[requantize]") {
  auto m = quantize_multiplier(1e-12);
  REQUIRE(m.is_ok());
  CHECK(m->M0 == 0);
  CHECK(multiply_by_quantized_multiplier(INT32_MAX, *m) == 0);
  CHECK(multiply_by_quantized_multiplier(INT32_MIN, *m) == 0);
  // M = 2^-31: M0 = 2^30 and a right shift of 30.
  auto tiny = quantize_multiplier(std::ldexp(1.0, -31));
  REQUIRE(tiny.is_ok());
  CHECK(tiny->shift == -30);
  CHECK(multiply_by_quantized_multiplier(INT32_MAX, *tiny) == 1);
  CHECK(multiply_by_quantized_multiplier(INT32_MIN, *tiny) == -1);
}

TEST_CASE("quantize_multiplier rejects invalid multipliers", "[requantize]") {
  CHECK(quantize_multiplier(-0.5).status().code() == ErrorCode::kInvalidArgument);
  CHECK(quantize_multiplier(std::nan("")).status().code() == ErrorCode::kNotFinite);
  CHECK(quantize_multiplier(INFINITY).status().code() == ErrorCode::kNotFinite);
  CHECK(quantize_multiplier(std::ldexp(1.0, 31)).status().code() == ErrorCode::kInvalidArgument);
  CHECK(quantize_multiplier(0.0)->M0 == 0);
}

TEST_CASE("saturating_rounding_doubling_high_mul edge cases", "[requantize]") {
  CHECK(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX);
  CHECK(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX) == -INT32_MAX);
  CHECK(saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX) == INT32_MAX - 1);
  // Exact ties: a * b / 2^31 = +-0.5 and +-1.5 round up (towards +infinity).
  CHECK(saturating_rounding_doubling_high_mul(1 << 30, 1) == 1);    // +0.5 -> 1
  CHECK(saturating_rounding_doubling_high_mul(-(1 << 30), 1) == 0);  // -0.5 -> 0
  CHECK(saturating_rounding_doubling_high_mul(3 << 29, 2) == 2);     // +1.5 -> 2
  CHECK(saturating_rounding_doubling_high_mul(-(3 << 29), 2) == -1);  // -1.5 -> -1
}

TEST_CASE("rounding_divide_by_pot rounds ties away from zero", "[requantize]") {
  CHECK(rounding_divide_by_pot(5, 1) == 3);
  CHECK(rounding_divide_by_pot(-5, 1) == -3);
  CHECK(rounding_divide_by_pot(6, 2) == 2);    // 1.5 -> 2
  CHECK(rounding_divide_by_pot(-6, 2) == -2);  // -1.5 -> -2
  CHECK(rounding_divide_by_pot(7, 0) == 7);
  CHECK(rounding_divide_by_pot(INT32_MIN, 31) == -1);
  CHECK(rounding_divide_by_pot(INT32_MAX, 31) == 1);
  CHECK(rounding_divide_by_pot(INT32_MIN, 1) == -(1 << 30));
}

TEST_CASE("fixed-point requantization equals the 64-bit reference on 2^20 random pairs",
          "[requantize]") {
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<int32_t> acc_dist(INT32_MIN, INT32_MAX);
  std::uniform_int_distribution<int32_t> small_acc(-100000, 100000);
  std::uniform_real_distribution<double> log_m(-34.0, 6.0);
  size_t mismatches = 0;
  constexpr int kPairs = 1 << 20;
  for (int i = 0; i < kPairs; ++i) {
    const double M = std::exp2(log_m(rng));
    auto m = quantize_multiplier(M);
    REQUIRE(m.is_ok());
    const int32_t acc = (i & 1) ? acc_dist(rng) : small_acc(rng);
    if (multiply_by_quantized_multiplier(acc, *m) != reference_multiply(acc, *m)) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("fixed-point requantization: edge accumulators and multipliers", "[requantize]") {
  const int32_t accs[] = {INT32_MIN, INT32_MIN + 1, -65536, -3, -2, -1, 0, 1, 2, 3, 65535,
                          INT32_MAX - 1, INT32_MAX};
  const double Ms[] = {std::ldexp(1.0, -31), 1e-6, 0.25, 0.5, 0.75, 1.0 - 1e-10, 1.0, 1.0 + 1e-9,
                       2.0, 7.5, 65536.0};
  for (double M : Ms) {
    auto m = quantize_multiplier(M);
    REQUIRE(m.is_ok());
    for (int32_t acc : accs) {
      INFO("acc = " << acc << ", M = " << M);
      CHECK(multiply_by_quantized_multiplier(acc, *m) == reference_multiply(acc, *m));
    }
  }
  // Exact ties at the rounding shift: M = 2^-2 on odd multiples of 2 (x.5 values).
  auto quarter = quantize_multiplier(0.25);
  REQUIRE(quarter.is_ok());
  CHECK(multiply_by_quantized_multiplier(2, *quarter) == 1);    // 0.5 -> 1
  CHECK(multiply_by_quantized_multiplier(-2, *quarter) == -1);  // -0.5 -> -1
  CHECK(multiply_by_quantized_multiplier(6, *quarter) == 2);    // 1.5 -> 2
  CHECK(multiply_by_quantized_multiplier(-6, *quarter) == -2);
}

TEST_CASE("fixed-point requantization stays within one step of the real product",
          "[requantize]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> acc_dist(-(1 << 24), 1 << 24);
  std::uniform_real_distribution<double> m_dist(1e-4, 0.999);
  for (int i = 0; i < 100000; ++i) {
    const double M = m_dist(rng);
    auto m = quantize_multiplier(M);
    REQUIRE(m.is_ok());
    const int32_t acc = acc_dist(rng);
    const double exact = acc * multiplier_value(*m);
    REQUIRE(std::fabs(multiply_by_quantized_multiplier(acc, *m) - exact) <= 1.0);
  }
}

TEST_CASE("requantize_fixed_point adds the zero point and clamps", "[requantize]") {
  auto m = quantize_multiplier(0.5);
  REQUIRE(m.is_ok());
  CHECK(requantize_fixed_point(100, *m, 10, -128, 127) == 60);
  CHECK(requantize_fixed_point(1000, *m, 0, -128, 127) == 127);
  CHECK(requantize_fixed_point(-1000, *m, 0, -128, 127) == -128);
  CHECK(requantize_fixed_point(INT32_MIN, *m, 0, 0, 255) == 0);
}

TEST_CASE("requantize_fp32: ONNX semantics, ties to even, saturation", "[requantize]") {
  CHECK(requantize_fp32(5, 0.5f, 0, -128, 127) == 2);   // 2.5 -> 2
  CHECK(requantize_fp32(7, 0.5f, 0, -128, 127) == 4);   // 3.5 -> 4
  CHECK(requantize_fp32(-5, 0.5f, 0, -128, 127) == -2);  // -2.5 -> -2
  CHECK(requantize_fp32(1000, 1.0f, 100, 0, 255) == 255);
  CHECK(requantize_fp32(INT32_MIN, 1.0f, 0, -128, 127) == -128);
  CHECK(requantize_fp32(INT32_MAX, 3.0f, 0, -128, 127) == 127);
  CHECK(fp32_multiplier(0.5f, 0.25f, 2.0f) == 0.0625f);
}
