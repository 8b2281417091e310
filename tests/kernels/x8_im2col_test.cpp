// x8-im2col: every variant gathers the int16 [kp][NR][2] column panel of its definition,
// with and without precomputed tap offsets. (The x32 family: x32_im2col_test.cpp; both draw
// the same images from the same seed.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "im2col_cases.hpp"
#include "x8-im2col/x8-im2col.h"

using namespace quantlab;
using im2col_test::Im2colCase;

namespace {

void check_x8_im2col(const Im2colCase& c, const Im2colGeometry& g, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  const size_t K = c.channels * c.kh * c.kw, P = c.out_h * c.out_w;
  std::vector<uint8_t> x(c.channels * g.plane_stride + kX8Im2colOverread);
  for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
  auto source = [&](size_t k, size_t p) { return im2col_test::source(c, g, k, p); };
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
}

}  // namespace

TEST_CASE("x8-im2col: every kernel gathers the definition", "[kernels]") {
  std::mt19937 rng(8);
  for (const Im2colCase& c : im2col_test::kIm2col) {
    Im2colGeometry g = im2col_test::geometry(c);
    check_x8_im2col(c, g, rng);  // without tap offsets: the generic gather
    std::vector<uint32_t> offsets(c.channels * c.kh * c.kw);
    im2col_tap_offsets(g, offsets.data());
    g.tap_offset = offsets.data();  // with them: the fast paths, linear layers included
    check_x8_im2col(c, g, rng);
  }
}
