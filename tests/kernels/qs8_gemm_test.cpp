// qs8-gemm micro-kernels: every listed kernel (every ISA, role and requantization) against
// an oracle computed from the unpacked operands with requantize.hpp, over partial tiles
// (mr < MR, nc not a multiple of NR), odd and deep K, extreme values, and with a canary
// around the output so writes outside the tile fail.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "qs8-gemm/qs8-gemm.h"
#include "quantlab/requantize.hpp"

using namespace quantlab;

namespace {

struct Operands {
  size_t rows = 0, cols = 0, k = 0;
  std::vector<int16_t> r;  // [rows][k]: activations (kLinear) or weights (kConv)
  std::vector<int16_t> s;  // [cols][k]: weights (kLinear) or gathered pixels (kConv)
  std::vector<int32_t> bias;  // per channel
  std::vector<float> scale;
  std::vector<int32_t> M0, shift;
};

/// Builds the packed operands in the kernel's layout; returns (a, b) buffers.
std::pair<std::vector<std::byte>, std::vector<std::byte>> pack(const QS8GemmUkernel& u,
                                                               const Operands& o) {
  const size_t kp = (o.k + 1) / 2;
  const size_t MR = u.mr, NR = u.nr;
  const size_t col_blocks = (o.cols + NR - 1) / NR;
  std::vector<std::byte> a, b;
  auto weights8 = [&](const std::vector<int16_t>& src, size_t n) {
    std::vector<int8_t> w(n * o.k);
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(src[i]);
    return w;
  };
  QS8PackChannels ch;
  ch.bias = o.bias.data();
  ch.rq_fp32 = o.scale.data();
  ch.rq_M0 = o.M0.data();
  ch.rq_shift = o.shift.data();
  // An int16 panel [kp][width][2] of `count` vectors of length k (zero padded).
  auto panel = [&](const std::vector<int16_t>& src, size_t count, size_t width, size_t first) {
    std::vector<int16_t> p(kp * width * 2, 0);
    for (size_t j = 0; j < width && first + j < count; ++j) {
      for (size_t kk = 0; kk < o.k; ++kk) p[((kk / 2) * width + j) * 2 + kk % 2] = src[(first + j) * o.k + kk];
    }
    return p;
  };
  if (u.role == QS8GemmRole::kLinear) {
    const auto w = weights8(o.s, o.cols);
    b.resize(col_blocks * qs8_packed_block_bytes(NR, kp, u.requant, u.w_bytes) + 64);
    qs8_pack_weights(QS8GemmRole::kLinear, NR, u.requant, o.cols, o.k, w.data(), ch, b.data(),
                     u.w_bytes);
    const auto p = panel(o.r, o.rows, MR, 0);
    a.resize(p.size() * 2 + 64);
    std::memcpy(a.data(), p.data(), p.size() * 2);
  } else {
    const auto w = weights8(o.r, o.rows);
    a.resize(qs8_packed_block_bytes(MR, kp, u.requant) + 64);
    qs8_pack_weights(QS8GemmRole::kConv, MR, u.requant, o.rows, o.k, w.data(), ch, a.data());
    for (size_t blk = 0; blk < col_blocks; ++blk) {
      const auto p = panel(o.s, o.cols, NR, blk * NR);
      const size_t at = b.size();
      b.resize(at + p.size() * 2);
      std::memcpy(b.data() + at, p.data(), p.size() * 2);
    }
    b.resize(b.size() + 64);
  }
  return {a, b};
}

void check(const QS8GemmUkernel& u, size_t rows, size_t cols, size_t k, bool out_signed,
           std::mt19937& rng) {
  Operands o;
  o.rows = rows;
  o.cols = cols;
  o.k = k;
  const bool linear = u.role == QS8GemmRole::kLinear;
  std::uniform_int_distribution<int> act(-128, 255), wq(-128, 127);
  // Activations span uint8 and int8 values; weights are int8.
  o.r.resize(rows * k);
  o.s.resize(cols * k);
  for (auto& v : o.r) v = static_cast<int16_t>(linear ? act(rng) : wq(rng));
  for (auto& v : o.s) v = static_cast<int16_t>(linear ? wq(rng) : act(rng));
  if (k >= 2) {  // extremes: 255 x -128 products
    o.r[0] = linear ? 255 : -128;
    o.s[0] = linear ? -128 : 255;
  }
  const size_t channels = linear ? cols : rows;
  std::uniform_real_distribution<float> sd(1e-5f, 3e-4f);
  std::uniform_int_distribution<int32_t> bd(-50000, 50000);
  for (size_t c = 0; c < channels; ++c) {
    o.bias.push_back(bd(rng));
    o.scale.push_back(sd(rng));
    auto m = quantize_multiplier(double{o.scale.back()} * (c % 5 == 4 ? 20000.0 : 1.0));
    REQUIRE(m.is_ok());
    o.M0.push_back(m->M0);
    o.shift.push_back(m->shift);
  }
  const QS8GemmParams p = out_signed ? qs8_gemm_params(-7, -100, 127, true)
                                     : qs8_gemm_params(131, 5, 250, false);
  auto [a, b] = pack(u, o);
  const size_t esize = u.requant == QS8Requant::kS32 ? 4 : 1;
  const size_t stride = cols + 3;  // c_stride > nc: the gap must stay untouched
  std::vector<uint8_t> c((rows * stride + 16) * esize, 0xCD);
  u.fn(rows, cols, (k + 1) / 2, a.data(), b.data(), c.data(), stride, &p);
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < stride; ++j) {
      const size_t idx = i * stride + j;
      INFO(u.name << " rows=" << rows << " cols=" << cols << " k=" << k << " at " << i << "," << j);
      if (j >= cols) {
        for (size_t e = 0; e < esize; ++e) REQUIRE(c[idx * esize + e] == 0xCD);
        continue;
      }
      int64_t acc = o.bias[linear ? j : i];
      for (size_t kk = 0; kk < k; ++kk) acc += int64_t{o.r[i * k + kk]} * o.s[j * k + kk];
      const auto a32 = static_cast<int32_t>(acc);
      const size_t ch = linear ? j : i;
      int32_t want, got;
      if (u.requant == QS8Requant::kS32) {
        want = a32;
        std::memcpy(&got, &c[idx * 4], 4);
      } else {
        want = u.requant == QS8Requant::kFp32
                   ? requantize_fp32(a32, o.scale[ch], p.zero_point, p.q_min, p.q_max)
                   : requantize_fixed_point(a32, {o.M0[ch], o.shift[ch]}, p.zero_point, p.q_min,
                                            p.q_max);
        got = out_signed ? int32_t{static_cast<int8_t>(c[idx])} : int32_t{c[idx]};
      }
      REQUIRE(got == want);
    }
  }
  for (size_t e = rows * stride * esize; e < c.size(); ++e) REQUIRE(c[e] == 0xCD);
}

}  // namespace

TEST_CASE("qs8-gemm: every micro-kernel equals the oracle on partial tiles", "[kernels]") {
  std::mt19937 rng(2024);
  for (const auto& u : qs8_gemm_ukernels()) {
    const size_t MR = u.mr, NR = u.nr;
    for (size_t rows = 1; rows <= MR; ++rows) {
      for (size_t cols : {size_t{1}, NR - 1, NR, NR + 1, 2 * NR + 3}) {
        if (cols == 0) continue;
        for (size_t k : {1u, 2u, 3u, 8u, 17u, 33u}) check(u, rows, cols, k, (rows + k) % 2 == 0, rng);
      }
    }
  }
}

TEST_CASE("qs8-gemm: every micro-kernel on a deep K (4099)", "[kernels]") {
  std::mt19937 rng(7);
  for (const auto& u : qs8_gemm_ukernels()) {
    check(u, u.mr, u.nr + 1, 4099, false, rng);
    check(u, 1, 2 * u.nr, 4096, true, rng);
  }
}

TEST_CASE("qs8-gemm: the list has a scalar kernel for every role and requantization", "[kernels]") {
  for (auto role : {QS8GemmRole::kLinear, QS8GemmRole::kConv}) {
    for (auto rq : {QS8Requant::kFp32, QS8Requant::kGemmlowp, QS8Requant::kS32}) {
      const auto* u = qs8_gemm_find(Isa::kScalar, role, rq);
      REQUIRE(u != nullptr);
      CHECK(u->w_bytes == 2);
    }
  }
  CHECK(qs8_gemm_isas().front() == Isa::kScalar);
}
