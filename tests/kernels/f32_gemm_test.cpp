// f32-gemm micro-kernels (both roles) bit-exact against the ordered-sum oracle; and the
// packing families x8-packa, x8-im2col, x32-im2col: every variant equals the definition of
// its layout.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "f32-gemm/f32-gemm.h"
#include "x32-im2col/x32-im2col.h"
#include "x8-im2col/x8-im2col.h"
#include "x8-packa/x8-packa.h"

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

TEST_CASE("x8-packa: every kernel writes the [kp][MR][2] panel", "[kernels]") {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const auto& u : x8_packa_ukernels()) {
    for (size_t rows = 1; rows <= u.mr; ++rows) {
      for (size_t k : {1u, 2u, 7u, 8u, 9u, 16u, 31u}) {
        const size_t stride = k + 5;
        std::vector<uint8_t> x(rows * stride);
        for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
        const size_t kp = (k + 1) / 2;
        std::vector<int16_t> panel(kp * u.mr * 2 + 8, 0x7777);
        u.fn(rows, k, x.data(), stride, panel.data());
        for (size_t p = 0; p < kp; ++p) {
          for (size_t m = 0; m < u.mr; ++m) {
            for (size_t j = 0; j < 2; ++j) {
              const size_t kk = 2 * p + j;
              int16_t want = 0;
              if (m < rows && kk < k) {
                const uint8_t b = x[m * stride + kk];
                want = u.is_signed ? int16_t{static_cast<int8_t>(b)} : int16_t{b};
              }
              INFO(u.name << " rows=" << rows << " k=" << k);
              REQUIRE(panel[(p * u.mr + m) * 2 + j] == want);
            }
          }
        }
        for (size_t e = kp * u.mr * 2; e < panel.size(); ++e) REQUIRE(panel[e] == 0x7777);
      }
    }
  }
}

namespace {

struct Im2colCase {
  size_t channels, kh, kw, sh, sw, dh, dw, out_w, out_h;
};

const Im2colCase kIm2col[] = {{3, 3, 3, 1, 1, 1, 1, 13, 4}, {2, 3, 3, 2, 2, 1, 1, 9, 3},
                              {5, 1, 1, 1, 1, 1, 1, 20, 2}, {1, 3, 3, 1, 1, 2, 2, 8, 3},
                              {2, 2, 3, 3, 3, 1, 1, 7, 3},  {3, 1, 1, 2, 2, 1, 1, 11, 2}};

Im2colGeometry geometry(const Im2colCase& c) {
  Im2colGeometry g;
  g.channels = c.channels;
  g.kernel_h = c.kh;
  g.kernel_w = c.kw;
  g.stride_h = c.sh;
  g.stride_w = c.sw;
  g.dilation_h = c.dh;
  g.dilation_w = c.dw;
  g.out_w = c.out_w;
  g.row_stride = (c.out_w - 1) * c.sw + (c.kw - 1) * c.dw + 1;
  g.plane_stride = ((c.out_h - 1) * c.sh + (c.kh - 1) * c.dh + 1) * g.row_stride;
  return g;
}

void check_im2col(const Im2colCase& c, const Im2colGeometry& g, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  const size_t K = c.channels * c.kh * c.kw, P = c.out_h * c.out_w;
  std::vector<uint8_t> x(c.channels * g.plane_stride + kX8Im2colOverread);
  for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
  std::vector<float> xf(x.size() + kX32Im2colOverread);
  for (size_t i = 0; i < x.size(); ++i) xf[i] = static_cast<float>(x[i]) - 100.0f;
  auto source = [&](size_t k, size_t p) {  // index into x of tap k of output pixel p
    const size_t ci = k / (c.kh * c.kw), kh = (k / c.kw) % c.kh, kw = k % c.kw;
    const size_t oy = p / c.out_w, ox = p % c.out_w;
    return ci * g.plane_stride + (oy * c.sh + kh * c.dh) * g.row_stride + ox * c.sw + kw * c.dw;
  };
  for (const auto& u : x8_im2col_ukernels()) {
    for (size_t nr : {size_t{4}, size_t{8}, size_t{16}}) {
      if (u.nr != 0 && u.nr != nr) continue;
      const size_t kp = (K + 1) / 2;
      for (size_t p0 = 0; p0 < P; p0 += nr) {
        const size_t count = std::min(nr, P - p0);
        std::vector<int16_t> panel(kp * nr * 2, 0x5555);
        u.fn(g, x.data(), nr, p0, count, panel.data());
        for (size_t lane = 0; lane < count; ++lane) {
          for (size_t k = 0; k < 2 * kp; ++k) {
            int16_t want = 0;
            if (k < K) {
              const uint8_t b = x[source(k, p0 + lane)];
              want = u.is_signed ? int16_t{static_cast<int8_t>(b)} : int16_t{b};
            }
            INFO(u.name << " nr=" << nr << " p0=" << p0 << " lane=" << lane << " k=" << k);
            REQUIRE(panel[((k / 2) * nr + lane) * 2 + k % 2] == want);
          }
        }
      }
    }
  }
  for (const auto& u : x32_im2col_ukernels()) {
    for (size_t nr : {size_t{4}, size_t{8}, size_t{16}}) {
      if (u.nr != 0 && u.nr != nr) continue;
      for (size_t p0 = 0; p0 < P; p0 += nr) {
        const size_t count = std::min(nr, P - p0);
        std::vector<float> panel(K * nr, -1.0f);
        u.fn(g, xf.data(), nr, p0, count, panel.data());
        for (size_t lane = 0; lane < count; ++lane) {
          for (size_t k = 0; k < K; ++k) {
            INFO(u.name << " nr=" << nr << " p0=" << p0 << " lane=" << lane << " k=" << k);
            REQUIRE(panel[k * nr + lane] == xf[source(k, p0 + lane)]);
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("x8-im2col and x32-im2col: every kernel gathers the definition", "[kernels]") {
  std::mt19937 rng(8);
  for (const Im2colCase& c : kIm2col) {
    Im2colGeometry g = geometry(c);
    check_im2col(c, g, rng);  // without tap offsets: the generic gather
    std::vector<uint32_t> offsets(c.channels * c.kh * c.kw);
    im2col_tap_offsets(g, offsets.data());
    g.tap_offset = offsets.data();  // with them: the fast paths, linear layers included
    check_im2col(c, g, rng);
  }
}
