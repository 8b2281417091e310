// x8-packa: every variant writes the int16 [kp][MR][2] A panel of its definition.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "x8-packa/x8-packa.h"

using namespace quantlab;

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
