// Quantized and fp32 GEMM: every compiled variant against a direct oracle written from the
// lecture's formula (and therefore against each other), bit for bit, over awkward shapes,
// both requantization modes, uint8 and int8 activations, fused activations, int32 output;
// the ONNX QLinearMatMul / MatMulInteger helpers; and the errors.
#include "quantlab/gemm.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace quantlab;

namespace {

struct QCase {
  int64_t m = 1, n = 1, k = 1;
  DType x_dtype = DType::kUInt8;
  QOutput out;
  bool per_channel = true;
  bool with_bias = true;
};

struct QData {
  std::vector<uint8_t> x;  // raw bytes of x (uint8 or int8)
  std::vector<int8_t> w;
  std::vector<float> w_scales;
  std::vector<int32_t> bias;
  float x_scale = 0.02f;
  int32_t x_zero_point = 0;
};

QData make_data(const QCase& c, std::mt19937& rng) {
  QData d;
  const auto m = static_cast<size_t>(c.m), n = static_cast<size_t>(c.n), k = static_cast<size_t>(c.k);
  std::uniform_int_distribution<int> byte(0, 255), wq(-128, 127);
  d.x.resize(m * k);
  for (auto& v : d.x) v = static_cast<uint8_t>(byte(rng));
  d.w.resize(n * k);
  for (auto& v : d.w) v = static_cast<int8_t>(wq(rng));
  // Extremes: the first row of x and the first weight row hit the grid's ends.
  for (size_t i = 0; i < std::min<size_t>(k, 4); ++i) {
    d.x[i] = static_cast<uint8_t>(i % 2 ? 0x80 : 0x7f);
    d.w[i] = static_cast<int8_t>(i % 2 ? -128 : 127);
  }
  std::uniform_real_distribution<float> ws(0.002f, 0.05f);
  d.w_scales.resize(c.per_channel ? n : 1);
  for (auto& s : d.w_scales) s = ws(rng);
  d.x_zero_point = c.x_dtype == DType::kUInt8 ? std::uniform_int_distribution<int>(0, 255)(rng)
                                              : std::uniform_int_distribution<int>(-128, 127)(rng);
  if (c.with_bias) {
    std::uniform_int_distribution<int32_t> b(-40000, 40000);
    d.bias.resize(n);
    for (auto& v : d.bias) v = b(rng);
  }
  return d;
}

int32_t x_at(const QData& d, DType t, size_t i) {
  return t == DType::kUInt8 ? int32_t{d.x[i]} : int32_t{static_cast<int8_t>(d.x[i])};
}

/// The oracle: q_Y = clamp(Z_Y + M (sum_k q_W (q_X - Z_X) + q_b)) straight from the formula,
/// as int32 values (raw accumulators for an int32 output).
std::vector<int32_t> oracle(const QCase& c, const QData& d) {
  const auto m = static_cast<size_t>(c.m), n = static_cast<size_t>(c.n), k = static_cast<size_t>(c.k);
  int32_t q_min = c.out.dtype == DType::kInt8 ? -128 : 0;
  int32_t q_max = c.out.dtype == DType::kInt8 ? 127 : 255;
  if (c.out.act != FusedActivation::kNone) q_min = std::max(q_min, c.out.zero_point);
  if (c.out.act == FusedActivation::kRelu6) {
    q_max = std::min(q_max, c.out.zero_point +
                                static_cast<int32_t>(std::nearbyint(6.0f / c.out.scale)));
  }
  std::vector<int32_t> y(m * n);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      int64_t acc = d.bias.empty() ? 0 : d.bias[j];
      for (size_t kk = 0; kk < k; ++kk) {
        acc += int64_t{d.w[j * k + kk]} * (x_at(d, c.x_dtype, i * k + kk) - d.x_zero_point);
      }
      const auto a = static_cast<int32_t>(acc);
      const float s_w = d.w_scales[d.w_scales.size() == 1 ? 0 : j];
      int32_t q;
      if (c.out.dtype == DType::kInt32) {
        q = a;
      } else if (c.out.mode == RequantMode::kFp32) {
        q = requantize_fp32(a, fp32_multiplier(s_w, d.x_scale, c.out.scale), c.out.zero_point,
                            q_min, q_max);
      } else {
        auto M = quantize_multiplier(double{s_w} * double{d.x_scale} / double{c.out.scale});
        REQUIRE(M.is_ok());
        q = requantize_fixed_point(a, *M, c.out.zero_point, q_min, q_max);
      }
      y[i * n + j] = q;
    }
  }
  return y;
}

std::vector<int32_t> run_variant(const QCase& c, const QData& d, const std::string& variant) {
  auto g = PackedQGemm::pack(d.w, c.n, c.k, d.w_scales, d.bias, c.x_dtype, d.x_scale,
                             d.x_zero_point, c.out, variant);
  REQUIRE(g.is_ok());
  REQUIRE(g->variant() == variant);
  const size_t count = static_cast<size_t>(c.m * c.n);
  std::vector<int32_t> y(count);
  if (c.out.dtype == DType::kInt32) {
    REQUIRE(g->run(d.x.data(), c.m, y.data()).is_ok());
  } else {
    std::vector<uint8_t> raw(count + 16, 0xA5);  // canary past the end
    REQUIRE(g->run(d.x.data(), c.m, raw.data()).is_ok());
    for (size_t i = 0; i < 16; ++i) REQUIRE(raw[count + i] == 0xA5);
    for (size_t i = 0; i < count; ++i) {
      y[i] = c.out.dtype == DType::kInt8 ? int32_t{static_cast<int8_t>(raw[i])} : int32_t{raw[i]};
    }
  }
  return y;
}

/// S_Y so that typical accumulators spread over the grid and some clamp at both ends.
float output_scale_for(const QData& d, int64_t k) {
  float mean = 0.0f;
  for (float s : d.w_scales) mean += s;
  mean /= static_cast<float>(d.w_scales.size());
  return d.x_scale * mean * 70.0f * std::sqrt(static_cast<float>(k)) * 90.0f / 128.0f;
}

void check_case(QCase c, std::mt19937& rng) {
  QData d = make_data(c, rng);
  if (c.out.dtype != DType::kInt32) c.out.scale = output_scale_for(d, c.k);
  const auto expected = oracle(c, d);
  for (const auto& v : gemm_variants()) {
    INFO("variant " << v << " m=" << c.m << " n=" << c.n << " k=" << c.k << " x "
                    << dtype_name(c.x_dtype) << " y " << dtype_name(c.out.dtype) << " mode "
                    << (c.out.mode == RequantMode::kFp32 ? "fp32" : "fixed") << " act "
                    << static_cast<int>(c.out.act));
    REQUIRE(run_variant(c, d, v) == expected);
  }
}

const std::vector<int64_t> kAwkward = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                       13, 14, 15, 16, 17, 31, 32, 33};

}  // namespace

TEST_CASE("gemm: the variant list starts with scalar", "[gemm]") {
  const auto v = gemm_variants();
  REQUIRE(!v.empty());
  CHECK(v.front() == "scalar");
#if defined(QL_HAVE_XSIMD)
  CHECK(std::find(v.begin(), v.end(), "xsimd") != v.end());
#endif
#if defined(QL_HAVE_WASMSIMD)
  CHECK(v.back() == "wasmsimd");
#endif
}

TEST_CASE("gemm: a hand-computed example (lecture 5.9 formula)", "[gemm]") {
  // x = [[1, 2], [3, 4]] with Z_X = 1; W = [[1, -1], [2, 0]]; bias [5, -3];
  // S_W S_X / S_Y = 1: y = Z_Y + W (x - Z_X) + b.
  const std::vector<uint8_t> x = {1, 2, 3, 4};
  const std::vector<int8_t> w = {1, -1, 2, 0};
  const std::vector<int32_t> bias = {5, -3};
  const std::vector<float> scales = {0.5f};
  QOutput out;
  out.dtype = DType::kUInt8;
  out.scale = 1.0f;
  out.zero_point = 10;
  for (auto mode : {RequantMode::kFp32, RequantMode::kFixedPoint}) {
    out.mode = mode;
    for (const auto& v : gemm_variants()) {
      auto g = PackedQGemm::pack(w, 2, 2, scales, bias, DType::kUInt8, 2.0f, 1, out, v);
      REQUIRE(g.is_ok());
      std::vector<uint8_t> y(4);
      REQUIRE(g->run(x.data(), 2, y.data()).is_ok());
      // row 0: (0, 1) -> [-1 + 5, 0 - 3]; row 1: (2, 3) -> [-1 + 5, 4 - 3]
      CHECK(y == std::vector<uint8_t>{14, 7, 14, 11});
    }
  }
}

TEST_CASE("gemm: every variant equals the oracle over awkward M, N, K", "[gemm]") {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<size_t> pick(0, kAwkward.size() - 1);
  int i = 0;
  for (int64_t v : kAwkward) {
    for (int axis = 0; axis < 3; ++axis, ++i) {
      QCase c;
      c.m = axis == 0 ? v : kAwkward[pick(rng)];
      c.n = axis == 1 ? v : kAwkward[pick(rng)];
      c.k = axis == 2 ? v : kAwkward[pick(rng)];
      c.x_dtype = i % 2 ? DType::kInt8 : DType::kUInt8;
      c.out.dtype = (i / 2) % 2 ? DType::kInt8 : DType::kUInt8;
      c.out.mode = (i / 4) % 2 ? RequantMode::kFixedPoint : RequantMode::kFp32;
      c.per_channel = i % 3 != 0;
      c.with_bias = i % 5 != 0;
      check_case(c, rng);
      c.out.mode = c.out.mode == RequantMode::kFp32 ? RequantMode::kFixedPoint : RequantMode::kFp32;
      check_case(c, rng);
    }
  }
}

TEST_CASE("gemm: both activation types in both modes for every output type", "[gemm]") {
  std::mt19937 rng(7);
  for (DType xt : {DType::kUInt8, DType::kInt8}) {
    for (DType yt : {DType::kUInt8, DType::kInt8, DType::kInt32}) {
      for (auto mode : {RequantMode::kFp32, RequantMode::kFixedPoint}) {
        for (auto act : {FusedActivation::kNone, FusedActivation::kRelu, FusedActivation::kRelu6}) {
          if (yt == DType::kInt32 && act != FusedActivation::kNone) continue;
          QCase c;
          c.m = 13;
          c.n = 21;
          c.k = 37;
          c.x_dtype = xt;
          c.out.dtype = yt;
          c.out.mode = mode;
          c.out.act = act;
          c.out.zero_point = yt == DType::kInt8 ? -5 : 120;
          check_case(c, rng);
        }
      }
    }
  }
}

TEST_CASE("gemm: deep K (4099), row blocks and column chunks", "[gemm]") {
  std::mt19937 rng(99);
  for (DType xt : {DType::kUInt8, DType::kInt8}) {
    for (auto mode : {RequantMode::kFp32, RequantMode::kFixedPoint}) {
      QCase c;
      c.m = xt == DType::kUInt8 ? 29 : 6;  // 29 rows of K = 4099 span three A blocks
      c.n = 75;
      c.k = 4099;
      c.x_dtype = xt;
      c.out.dtype = DType::kInt8;
      c.out.mode = mode;
      check_case(c, rng);
    }
  }
  QCase c;
  c.m = 1;
  c.n = 40;
  c.k = 4096;
  c.out.dtype = DType::kInt32;
  check_case(c, rng);
  c.m = 70;
  c.n = 300;
  c.k = 96;
  c.out.dtype = DType::kUInt8;
  check_case(c, rng);
}

TEST_CASE("gemm: fixed point with a multiplier >= 1 (left shift, saturation)", "[gemm]") {
  std::mt19937 rng(3);
  for (const auto& v : gemm_variants()) {
    // M = 0.5 * 0.25 / 0.03 ~= 4.17 (shift 3); accumulators of a few thousand saturate.
    const std::vector<int8_t> w = {127, -128, 127, 100, -3, 5, 7, 9};
    const std::vector<float> scales = {0.5f, 0.001f};
    const std::vector<uint8_t> x = {255, 0, 255, 7, 1, 2, 3, 4, 200, 100, 50, 25};
    QOutput out;
    out.dtype = DType::kInt8;
    out.scale = 0.03f;
    out.mode = RequantMode::kFixedPoint;
    auto g = PackedQGemm::pack(w, 2, 4, scales, {}, DType::kUInt8, 0.25f, 3, out, v);
    REQUIRE(g.is_ok());
    std::vector<int8_t> y(6);
    REQUIRE(g->run(x.data(), 3, y.data()).is_ok());
    for (size_t i = 0; i < 3; ++i) {
      for (size_t j = 0; j < 2; ++j) {
        int32_t acc = 0;
        for (size_t kk = 0; kk < 4; ++kk) acc += w[j * 4 + kk] * (x[i * 4 + kk] - 3);
        auto M = quantize_multiplier(double{scales[j]} * 0.25 / double{0.03f});
        REQUIRE(M.is_ok());
        INFO(v << " i=" << i << " j=" << j);
        CHECK(y[i * 2 + j] == requantize_fixed_point(acc, *M, 0, -128, 127));
      }
    }
  }
  (void)rng;
}

TEST_CASE("gemm: output_range folds ReLU and ReLU6", "[gemm]") {
  QOutput out;
  out.dtype = DType::kUInt8;
  out.scale = 0.05f;
  out.zero_point = 20;
  out.act = FusedActivation::kRelu;
  auto r = output_range(out);
  REQUIRE(r.is_ok());
  CHECK(r->q_min == 20);
  CHECK(r->q_max == 255);
  out.act = FusedActivation::kRelu6;
  r = output_range(out);
  REQUIRE(r.is_ok());
  CHECK(r->q_min == 20);
  CHECK(r->q_max == 140);  // 20 + 6 / 0.05
  out.dtype = DType::kInt8;
  out.zero_point = -128;
  out.scale = 0.01f;
  r = output_range(out);
  REQUIRE(r.is_ok());
  CHECK(r->q_max == 127);  // -128 + 600 is beyond the grid
}

TEST_CASE("gemm: errors name the problem and leave no state behind", "[gemm]") {
  const std::vector<int8_t> w(6, 1);
  const std::vector<float> s = {0.1f};
  QOutput out;
  auto bad = PackedQGemm::pack(w, 2, 4, s, {}, DType::kUInt8, 0.1f, 0, out);
  CHECK(bad.status().code() == ErrorCode::kShapeMismatch);
  bad = PackedQGemm::pack(w, 2, 3, std::vector<float>{0.1f, 0.2f, 0.3f}, {}, DType::kUInt8,
                          0.1f, 0, out);
  CHECK(bad.status().code() == ErrorCode::kShapeMismatch);
  bad = PackedQGemm::pack(w, 2, 3, s, std::vector<int32_t>{1}, DType::kUInt8, 0.1f, 0, out);
  CHECK(bad.status().code() == ErrorCode::kShapeMismatch);
  bad = PackedQGemm::pack(w, 2, 3, s, {}, DType::kUInt8, 0.1f, 300, out);
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  bad = PackedQGemm::pack(w, 2, 3, s, {}, DType::kFloat32, 0.1f, 0, out);
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  bad = PackedQGemm::pack(w, 2, 3, std::vector<float>{-1.0f}, {}, DType::kUInt8, 0.1f, 0, out);
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  bad = PackedQGemm::pack(w, 2, 3, s, {}, DType::kUInt8, 0.1f, 0, out, "avx9000");
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.status().message().find("avx9000") != std::string::npos);
  QOutput bad_out;
  bad_out.dtype = DType::kInt32;
  bad_out.act = FusedActivation::kRelu;
  bad = PackedQGemm::pack(w, 2, 3, s, {}, DType::kUInt8, 0.1f, 0, bad_out);
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  bad_out.dtype = DType::kUInt8;
  bad_out.act = FusedActivation::kNone;
  bad_out.scale = 0.0f;
  bad = PackedQGemm::pack(w, 2, 3, s, {}, DType::kUInt8, 0.1f, 0, bad_out);
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);

  auto good = PackedQGemm::pack(w, 2, 3, s, {}, DType::kUInt8, 0.1f, 0, out);
  REQUIRE(good.is_ok());
  std::vector<uint8_t> x(3, 1), y(2);
  CHECK(good->run(x.data(), -1, y.data()).code() == ErrorCode::kInvalidArgument);
  CHECK(good->run(nullptr, 1, y.data()).code() == ErrorCode::kInvalidArgument);
  CHECK(good->run(x.data(), 0, nullptr).is_ok());
  CHECK(good->run(x.data(), 1, y.data()).is_ok());
  PackedQGemm empty;
  CHECK(empty.run(x.data(), 1, y.data()).code() == ErrorCode::kInvalidArgument);
}

// --- fp32 ---------------------------------------------------------------------------------

TEST_CASE("gemm f32: every variant equals the ordered-sum oracle bit for bit", "[gemm]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<size_t> pick(0, kAwkward.size() - 1);
  std::vector<std::array<int64_t, 3>> shapes;
  for (int64_t v : kAwkward) {
    shapes.push_back({v, kAwkward[pick(rng)], kAwkward[pick(rng)]});
    shapes.push_back({kAwkward[pick(rng)], v, kAwkward[pick(rng)]});
    shapes.push_back({kAwkward[pick(rng)], kAwkward[pick(rng)], v});
  }
  shapes.push_back({29, 20, 4099});  // several A blocks and weight chunks
  shapes.push_back({1, 37, 300});
  int i = 0;
  for (const auto& [m, n, k] : shapes) {
    const auto mm = static_cast<size_t>(m), nn = static_cast<size_t>(n), kk = static_cast<size_t>(k);
    std::vector<float> x(mm * kk), w(nn * kk), b(nn);
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = nd(rng);
    for (auto& v : b) v = nd(rng);
    const auto act = static_cast<FusedActivation>(i++ % 3);
    std::vector<float> expected(mm * nn);
    for (size_t r = 0; r < mm; ++r) {
      for (size_t c = 0; c < nn; ++c) {
        float acc = b[c];
        for (size_t j = 0; j < kk; ++j) {
          const float p = x[r * kk + j] * w[c * kk + j];
          acc = acc + p;
        }
        if (act != FusedActivation::kNone) acc = acc < 0.0f ? 0.0f : acc;
        if (act == FusedActivation::kRelu6) acc = acc > 6.0f ? 6.0f : acc;
        expected[r * nn + c] = acc;
      }
    }
    for (const auto& v : gemm_variants()) {
      auto g = PackedGemmF32::pack(w, n, k, b, act, v);
      REQUIRE(g.is_ok());
      std::vector<float> y(mm * nn, -1.0f);
      REQUIRE(g->run(x.data(), m, y.data()).is_ok());
      INFO(v << " m=" << m << " n=" << n << " k=" << k);
      REQUIRE(std::memcmp(y.data(), expected.data(), y.size() * 4) == 0);
    }
  }
}

TEST_CASE("gemm f32: errors", "[gemm]") {
  const std::vector<float> w(6, 1.0f);
  CHECK(PackedGemmF32::pack(w, 2, 4, {}, FusedActivation::kNone).status().code() ==
        ErrorCode::kShapeMismatch);
  std::vector<float> nan_w = w;
  nan_w[2] = std::nanf("");
  CHECK(PackedGemmF32::pack(nan_w, 2, 3, {}, FusedActivation::kNone).status().code() ==
        ErrorCode::kNotFinite);
  CHECK(PackedGemmF32::pack(w, 0, 3, {}, FusedActivation::kNone).status().code() ==
        ErrorCode::kInvalidArgument);
}

// --- ONNX helpers -------------------------------------------------------------------------

TEST_CASE("qlinear_matmul: fast path and reference path agree with the formula", "[gemm]") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  for (DType bt : {DType::kInt8, DType::kUInt8}) {
    for (bool per_column : {false, true}) {
      for (bool zero_zp : {true, false}) {
        const int64_t M = 5, K = 19, N = 11;
        Tensor a = Tensor::create(DType::kUInt8, {M, K}).value();
        Tensor b = Tensor::create(bt, {K, N}).value();
        for (auto& v : a.data<uint8_t>()) v = static_cast<uint8_t>(byte(rng));
        if (bt == DType::kInt8) {
          for (auto& v : b.data<int8_t>()) v = static_cast<int8_t>(byte(rng) - 128);
        } else {
          for (auto& v : b.data<uint8_t>()) v = static_cast<uint8_t>(byte(rng));
        }
        std::vector<float> bs(per_column ? N : 1);
        std::vector<int32_t> bz(bs.size());
        for (size_t j = 0; j < bs.size(); ++j) {
          bs[j] = 0.01f + 0.001f * static_cast<float>(j);
          bz[j] = zero_zp ? 0 : (bt == DType::kInt8 ? static_cast<int32_t>(j) - 3
                                                    : 128 + static_cast<int32_t>(j));
        }
        const float a_scale = 0.02f, y_scale = 0.3f;
        const int32_t a_zp = 131, y_zp = 7;
        auto y = qlinear_matmul(a, a_scale, a_zp, b, bs, bz, y_scale, y_zp, DType::kInt8);
        REQUIRE(y.is_ok());
        REQUIRE(y->shape() == Shape{M, N});
        for (int64_t i = 0; i < M; ++i) {
          for (int64_t j = 0; j < N; ++j) {
            const size_t c = per_column ? static_cast<size_t>(j) : 0;
            int32_t acc = 0;
            for (int64_t kk = 0; kk < K; ++kk) {
              const int32_t av = a.data<uint8_t>()[static_cast<size_t>(i * K + kk)];
              const size_t bi = static_cast<size_t>(kk * N + j);
              const int32_t bv = bt == DType::kInt8 ? int32_t{b.data<int8_t>()[bi]}
                                                    : int32_t{b.data<uint8_t>()[bi]};
              acc += (av - a_zp) * (bv - bz[c]);
            }
            const int32_t q = requantize_fp32(acc, (a_scale * bs[c]) / y_scale, y_zp, -128, 127);
            INFO("b " << dtype_name(bt) << " per_column " << per_column << " zero_zp " << zero_zp);
            REQUIRE(int32_t{y->data<int8_t>()[static_cast<size_t>(i * N + j)]} == q);
          }
        }
      }
    }
  }
}

TEST_CASE("matmul_integer: fast path, per-row a zero points, uint8 b", "[gemm]") {
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> byte(0, 255);
  const int64_t M = 4, K = 33, N = 9;
  for (DType at : {DType::kUInt8, DType::kInt8}) {
    for (DType bt : {DType::kInt8, DType::kUInt8}) {
      for (bool per_row : {false, true}) {
        Tensor a = Tensor::create(at, {M, K}).value();
        Tensor b = Tensor::create(bt, {K, N}).value();
        for (auto& v : std::span<uint8_t>(static_cast<uint8_t*>(a.raw()), a.size())) {
          v = static_cast<uint8_t>(byte(rng));
        }
        for (auto& v : std::span<uint8_t>(static_cast<uint8_t*>(b.raw()), b.size())) {
          v = static_cast<uint8_t>(byte(rng));
        }
        std::vector<int32_t> az(per_row ? M : 1), bz = {bt == DType::kInt8 ? 0 : 12};
        for (size_t i = 0; i < az.size(); ++i) {
          az[i] = at == DType::kUInt8 ? 100 + static_cast<int32_t>(i) : -3 + static_cast<int32_t>(i);
        }
        auto y = matmul_integer(a, az, b, bz);
        REQUIRE(y.is_ok());
        auto val = [](const Tensor& t, size_t i) {
          return t.dtype() == DType::kUInt8 ? int32_t{t.data<uint8_t>()[i]}
                                            : int32_t{t.data<int8_t>()[i]};
        };
        for (int64_t i = 0; i < M; ++i) {
          for (int64_t j = 0; j < N; ++j) {
            int32_t acc = 0;
            for (int64_t kk = 0; kk < K; ++kk) {
              acc += (val(a, static_cast<size_t>(i * K + kk)) - az[per_row ? static_cast<size_t>(i) : 0]) *
                     (val(b, static_cast<size_t>(kk * N + j)) - bz[0]);
            }
            REQUIRE(y->data<int32_t>()[static_cast<size_t>(i * N + j)] == acc);
          }
        }
      }
    }
  }
  Tensor a = Tensor::create(DType::kUInt8, {2, 3}).value();
  Tensor b = Tensor::create(DType::kInt8, {4, 2}).value();
  CHECK(matmul_integer(a, std::vector<int32_t>{0}, b, std::vector<int32_t>{0}).status().code() ==
        ErrorCode::kShapeMismatch);
}
