// qs8-dwconv and f32-dwconv micro-kernels: every listed kernel against a direct oracle on
// one padded plane, over kernel sizes, strides, dilations, widths around the vector length,
// uint8 / int8 inputs and every requantization; a canary after the output plane.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "f32-dwconv/f32-dwconv.h"
#include "qs8-dwconv/qs8-dwconv.h"
#include "quantlab/requantize.hpp"

using namespace quantlab;

namespace {

struct Geom {
  size_t kh, kw, sh, sw, dh, dw;
};

const Geom kGeoms[] = {{3, 3, 1, 1, 1, 1}, {3, 3, 2, 2, 1, 1}, {5, 5, 1, 1, 1, 1},
                       {3, 3, 1, 1, 2, 2}, {1, 1, 1, 1, 1, 1}, {2, 3, 1, 2, 1, 1},
                       {3, 3, 3, 3, 1, 1}, {7, 1, 1, 1, 1, 1}, {1, 4, 2, 1, 1, 3}};

}  // namespace

TEST_CASE("qs8-dwconv: every micro-kernel equals the oracle", "[kernels]") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(0, 255), wq(-128, 127);
  for (const auto& u : qs8_dwconv_ukernels()) {
    for (const Geom& ge : kGeoms) {
      for (size_t out_w : {1u, 5u, 8u, 9u, 17u, 31u}) {
        for (bool x_signed : {false, true}) {
          DwconvGeometry g{ge.kh, ge.kw, ge.sh, ge.sw, ge.dh, ge.dw};
          const size_t out_h = 3;
          const size_t in_w = (out_w - 1) * ge.sw + (ge.kw - 1) * ge.dw + 1;
          const size_t in_h = (out_h - 1) * ge.sh + (ge.kh - 1) * ge.dh + 1;
          const size_t stride = in_w + kQS8DwconvOverread + 3;
          std::vector<uint8_t> x(in_h * stride + kQS8DwconvOverread);
          for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
          const size_t taps = ge.kh * ge.kw;
          std::vector<int8_t> w(taps);
          for (auto& v : w) v = static_cast<int8_t>(wq(rng));
          const int32_t bias = 1234;
          const float scale = 0.0007f;
          auto fm = quantize_multiplier(double{scale});
          REQUIRE(fm.is_ok());
          std::vector<std::byte> packed(qs8_dwconv_channel_bytes(taps));
          qs8_dwconv_pack_channel(taps, w.data(), bias, u.requant, scale, fm->M0, fm->shift,
                                  packed.data());
          const QS8GemmParams p = x_signed ? qs8_gemm_params(3, -128, 127, true)
                                           : qs8_gemm_params(120, 0, 255, false);
          const size_t esize = u.requant == QS8Requant::kS32 ? 4 : 1;
          std::vector<uint8_t> y((out_h * out_w + 8) * esize, 0xEE);
          QS8DwconvPlane plane;
          plane.out_h = out_h;
          plane.out_w = out_w;
          plane.x = x.data();
          plane.x_stride = stride;
          plane.x_signed = x_signed;
          plane.w = packed.data();
          plane.y = y.data();
          u.fn(g, plane, &p);
          for (size_t oy = 0; oy < out_h; ++oy) {
            for (size_t ox = 0; ox < out_w; ++ox) {
              int32_t acc = bias;
              for (size_t kh = 0; kh < ge.kh; ++kh) {
                for (size_t kw = 0; kw < ge.kw; ++kw) {
                  const uint8_t b = x[(oy * ge.sh + kh * ge.dh) * stride + ox * ge.sw + kw * ge.dw];
                  const int32_t xv = x_signed ? int32_t{static_cast<int8_t>(b)} : int32_t{b};
                  acc += xv * w[kh * ge.kw + kw];
                }
              }
              const size_t i = oy * out_w + ox;
              int32_t got, want;
              if (u.requant == QS8Requant::kS32) {
                want = acc;
                std::memcpy(&got, &y[i * 4], 4);
              } else {
                want = u.requant == QS8Requant::kFp32
                           ? requantize_fp32(acc, scale, p.zero_point, p.q_min, p.q_max)
                           : requantize_fixed_point(acc, *fm, p.zero_point, p.q_min, p.q_max);
                got = x_signed ? int32_t{static_cast<int8_t>(y[i])} : int32_t{y[i]};
              }
              INFO(u.name << " k=" << ge.kh << "x" << ge.kw << " s=" << ge.sh << "," << ge.sw
                          << " d=" << ge.dh << "," << ge.dw << " out_w=" << out_w << " at "
                          << oy << "," << ox);
              REQUIRE(got == want);
            }
          }
          for (size_t e = out_h * out_w * esize; e < y.size(); ++e) REQUIRE(y[e] == 0xEE);
        }
      }
    }
  }
}

TEST_CASE("f32-dwconv: every micro-kernel equals the ordered-sum oracle bit for bit", "[kernels]") {
  std::mt19937 rng(6);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const auto& u : f32_dwconv_ukernels()) {
    for (const Geom& ge : kGeoms) {
      for (size_t out_w : {1u, 4u, 7u, 8u, 9u, 19u}) {
        DwconvGeometry g{ge.kh, ge.kw, ge.sh, ge.sw, ge.dh, ge.dw};
        const size_t out_h = 2;
        const size_t in_w = (out_w - 1) * ge.sw + (ge.kw - 1) * ge.dw + 1;
        const size_t in_h = (out_h - 1) * ge.sh + (ge.kh - 1) * ge.dh + 1;
        const size_t stride = in_w + kF32DwconvOverread;
        std::vector<float> x(in_h * stride + kF32DwconvOverread);
        for (auto& v : x) v = nd(rng);
        const size_t taps = ge.kh * ge.kw;
        std::vector<float> w(f32_dwconv_channel_floats(taps), 0.0f);
        w[0] = 0.25f;
        for (size_t t = 0; t < taps; ++t) w[4 + t] = nd(rng);
        F32GemmParams p;
        p.min = -1.5f;
        p.max = 2.0f;
        std::vector<float> y(out_h * out_w + 4, 99.0f);
        F32DwconvPlane plane;
        plane.out_h = out_h;
        plane.out_w = out_w;
        plane.x = x.data();
        plane.x_stride = stride;
        plane.w = w.data();
        plane.y = y.data();
        u.fn(g, plane, &p);
        for (size_t oy = 0; oy < out_h; ++oy) {
          for (size_t ox = 0; ox < out_w; ++ox) {
            float acc = w[0];
            for (size_t kh = 0; kh < ge.kh; ++kh) {
              for (size_t kw = 0; kw < ge.kw; ++kw) {
                const float prod = x[(oy * ge.sh + kh * ge.dh) * stride + ox * ge.sw + kw * ge.dw] *
                                   w[4 + kh * ge.kw + kw];
                acc = acc + prod;
              }
            }
            acc = acc < p.min ? p.min : (p.max < acc ? p.max : acc);
            INFO(u.name << " k=" << ge.kh << "x" << ge.kw << " out_w=" << out_w);
            REQUIRE(std::memcmp(&y[oy * out_w + ox], &acc, 4) == 0);
          }
        }
        for (size_t e = out_h * out_w; e < y.size(); ++e) REQUIRE(y[e] == 99.0f);
      }
    }
  }
}
