// x32-im2col: every variant gathers the fp32 [K][NR] column panel of its definition, with
// and without precomputed tap offsets. (The x8 family: x8_im2col_test.cpp.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "im2col_cases.hpp"
#include "x32-im2col/x32-im2col.h"

using namespace quantlab;
using im2col_test::Im2colCase;

namespace {

void check_x32_im2col(const Im2colCase& c, const Im2colGeometry& g, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  const size_t K = c.channels * c.kh * c.kw, P = c.out_h * c.out_w;
  std::vector<uint8_t> x(c.channels * g.plane_stride + kX8Im2colOverread);
  for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
  std::vector<float> xf(x.size() + kX32Im2colOverread);
  for (size_t i = 0; i < x.size(); ++i) xf[i] = static_cast<float>(x[i]) - 100.0f;
  auto source = [&](size_t k, size_t p) { return im2col_test::source(c, g, k, p); };
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

TEST_CASE("x32-im2col: every kernel gathers the definition", "[kernels]") {
  std::mt19937 rng(8);
  for (const Im2colCase& c : im2col_test::kIm2col) {
    Im2colGeometry g = im2col_test::geometry(c);
    check_x32_im2col(c, g, rng);  // without tap offsets: the generic gather
    std::vector<uint32_t> offsets(c.channels * c.kh * c.kw);
    im2col_tap_offsets(g, offsets.data());
    g.tap_offset = offsets.data();  // with them: the fast paths, linear layers included
    check_x32_im2col(c, g, rng);
  }
}
