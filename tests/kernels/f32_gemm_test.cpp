// f32-gemm micro-kernels (both roles) bit-exact against the ordered-sum oracle.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "f32-gemm/f32-gemm.h"

using namespace quantlab;

TEST_CASE("f32-gemm: every micro-kernel equals the ordered-sum oracle", "[kernels]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const auto& u : f32_gemm_ukernels()) {
    const size_t MR = u.mr, NR = u.nr;
    for (size_t rows = 1; rows <= MR; ++rows) {
      for (size_t cols : {size_t{1}, NR - 1, NR + 1, 2 * NR + 3}) {
        if (cols == 0) continue;
        for (size_t k : {1u, 2u, 7u, 33u}) {
          const bool linear = u.role == QS8GemmRole::kLinear;
          std::vector<float> r(rows * k), s(cols * k), bias(linear ? cols : rows);
          for (auto& v : r) v = nd(rng);
          for (auto& v : s) v = nd(rng);
          for (auto& v : bias) v = nd(rng);
          const size_t blocks = (cols + NR - 1) / NR;
          std::vector<float> a, b;
          if (linear) {
            a.assign(k * MR + 16, 0.0f);
            f32_pack_a(rows, MR, k, r.data(), k, a.data());
            b.assign(blocks * NR * (k + 1) + 16, 0.0f);
            f32_pack_weights(QS8GemmRole::kLinear, NR, cols, k, s.data(), bias.data(), b.data());
          } else {
            a.assign(MR * (k + 1) + 16, 0.0f);
            f32_pack_weights(QS8GemmRole::kConv, MR, rows, k, r.data(), bias.data(), a.data());
            b.assign(blocks * NR * k + 16, 0.0f);
            for (size_t j = 0; j < cols; ++j) {
              for (size_t kk = 0; kk < k; ++kk) b[(j / NR) * NR * k + kk * NR + j % NR] = s[j * k + kk];
            }
          }
          F32GemmParams p;
          p.min = -2.0f;
          p.max = 3.0f;
          const size_t stride = cols + 2;
          std::vector<float> c(rows * stride + 8, 77.0f);
          u.fn(rows, cols, k, a.data(), b.data(), c.data(), stride, &p);
          for (size_t i = 0; i < rows; ++i) {
            for (size_t j = 0; j < stride; ++j) {
              INFO(u.name << " rows=" << rows << " cols=" << cols << " k=" << k);
              if (j >= cols) {
                REQUIRE(c[i * stride + j] == 77.0f);
                continue;
              }
              float acc = bias[linear ? j : i];
              for (size_t kk = 0; kk < k; ++kk) {
                const float prod = r[i * k + kk] * s[j * k + kk];
                acc = acc + prod;
              }
              acc = acc < p.min ? p.min : (p.max < acc ? p.max : acc);
              REQUIRE(std::memcmp(&c[i * stride + j], &acc, 4) == 0);
            }
          }
        }
      }
    }
  }
}
