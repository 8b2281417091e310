// qs8-gemm scalar reference: the test oracle and the fallback, written as plainly as the
// packed layouts allow; plus the packing routines every variant shares and the registry.
#include <algorithm>
#include <cstring>
#include <vector>

#include "qs8-gemm/qs8-gemm.h"
#include "quantlab/requantize.hpp"

namespace quantlab {
namespace {

// Accumulation wraps modulo 2^32, as i32x4.add does; with |a| <= 255, |w| <= 128 it cannot
// overflow for K < 65793, and wrapping keeps every variant equal beyond that.
inline int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// The per-channel requantization values of one channel.
struct ChannelRq {
  float scale = 0.0f;
  FixedPointMultiplier fixed;
};

template <QS8Requant kRq>
void load_rq(const std::byte* p, size_t channels, ChannelRq* out) {
  for (size_t i = 0; i < channels; ++i) {
    if constexpr (kRq == QS8Requant::kFp32) {
      out[i].scale = load<float>(p + 4 * i);
    } else if constexpr (kRq == QS8Requant::kGemmlowp) {
      out[i].fixed.M0 = load<int32_t>(p + 4 * i);
      out[i].fixed.shift = load<int32_t>(p + 4 * (channels + i));
    }
  }
}

template <QS8Requant kRq>
void store(int32_t acc, const ChannelRq& rq, const QS8GemmParams& p, void* c, size_t index) {
  if constexpr (kRq == QS8Requant::kS32) {
    static_cast<int32_t*>(c)[index] = acc;
  } else {
    const int32_t q = kRq == QS8Requant::kFp32
                          ? requantize_fp32(acc, rq.scale, p.zero_point, p.q_min, p.q_max)
                          : requantize_fixed_point(acc, rq.fixed, p.zero_point, p.q_min, p.q_max);
    if (p.out_signed) {
      static_cast<int8_t*>(c)[index] = static_cast<int8_t>(q);
    } else {
      static_cast<uint8_t*>(c)[index] = static_cast<uint8_t>(q);
    }
  }
}

template <QS8GemmRole kRole, QS8Requant kRq, size_t MR, size_t NR>
void gemm(size_t mr, size_t nc, size_t kp, const void* a, const void* b, void* c,
          size_t c_stride, const QS8GemmParams* params) {
  constexpr size_t kRqBytes = qs8_rq_bytes(kRq);
  const auto* ap = static_cast<const std::byte*>(a);
  const auto* bp = static_cast<const std::byte*>(b);
  int32_t row_bias[MR] = {};
  ChannelRq row_rq[MR];
  const int16_t* aw = reinterpret_cast<const int16_t*>(ap);
  if constexpr (kRole == QS8GemmRole::kConv) {
    for (size_t m = 0; m < MR; ++m) row_bias[m] = load<int32_t>(ap + 4 * m);
    load_rq<kRq>(ap + 4 * MR, MR, row_rq);
    aw = reinterpret_cast<const int16_t*>(ap + MR * (4 + kRqBytes));
  }
  for (size_t n0 = 0; n0 < nc; n0 += NR) {
    const size_t nb = std::min(NR, nc - n0);
    int32_t col_bias[NR] = {};
    ChannelRq col_rq[NR];
    const int16_t* bw;
    if constexpr (kRole == QS8GemmRole::kLinear) {
      for (size_t n = 0; n < NR; ++n) col_bias[n] = load<int32_t>(bp + 4 * n);
      bw = reinterpret_cast<const int16_t*>(bp + 4 * NR);
      load_rq<kRq>(bp + 4 * NR + 4 * kp * NR, NR, col_rq);
      bp += qs8_packed_block_bytes(NR, kp, kRq);
    } else {
      bw = reinterpret_cast<const int16_t*>(bp);
      bp += 4 * kp * NR;
    }
    int32_t acc[MR][NR];
    for (size_t m = 0; m < MR; ++m) {
      for (size_t n = 0; n < NR; ++n) {
        acc[m][n] = kRole == QS8GemmRole::kLinear ? col_bias[n] : row_bias[m];
      }
    }
    for (size_t p = 0; p < kp; ++p) {
      for (size_t m = 0; m < MR; ++m) {
        const int32_t a0 = aw[(p * MR + m) * 2];
        const int32_t a1 = aw[(p * MR + m) * 2 + 1];
        for (size_t n = 0; n < NR; ++n) {
          const int32_t dot = a0 * bw[(p * NR + n) * 2] + a1 * bw[(p * NR + n) * 2 + 1];
          acc[m][n] = wrap_add(acc[m][n], dot);
        }
      }
    }
    for (size_t m = 0; m < std::min(mr, MR); ++m) {
      for (size_t n = 0; n < nb; ++n) {
        const ChannelRq& rq = kRole == QS8GemmRole::kLinear ? col_rq[n] : row_rq[m];
        store<kRq>(acc[m][n], rq, *params, c, m * c_stride + n0 + n);
      }
    }
  }
}

}  // namespace

// One kernel per kScalar row of qs8-gemm.inc.
#define QL_KERNEL(isa, name, role, rq, mr, nr, w_bytes) \
  QL_ONLY(kScalar, isa,                                 \
          QL_QS8_GEMM_DEFINE(name, (gemm<QS8GemmRole::role, QS8Requant::rq, mr, nr>)))
#include "qs8-gemm/qs8-gemm.inc"
#undef QL_KERNEL

std::span<const QS8GemmUkernel> qs8_gemm_ukernels() {
  static const std::vector<QS8GemmUkernel> list = {
#define QL_KERNEL(isa, name, role, rq, mr, nr, w_bytes) \
  {Isa::isa, #name, QS8GemmRole::role, QS8Requant::rq, mr, nr, w_bytes, &name},
#include "qs8-gemm/qs8-gemm.inc"
#undef QL_KERNEL
  };
  return list;
}

std::vector<Isa> qs8_gemm_isas() {
  std::vector<Isa> isas;
  for (const auto& u : qs8_gemm_ukernels()) {
    if (std::find(isas.begin(), isas.end(), u.isa) == isas.end()) isas.push_back(u.isa);
  }
  return isas;
}

const QS8GemmUkernel* qs8_gemm_find(Isa isa, QS8GemmRole role, QS8Requant requant,
                                    uint32_t mr) {
  const QS8GemmUkernel* best = nullptr;
  for (const auto& u : qs8_gemm_ukernels()) {
    if (u.isa != isa || u.role != role || u.requant != requant) continue;
    if (mr != 0 ? u.mr == mr : (best == nullptr || u.mr > best->mr)) best = &u;
  }
  return best;
}

void qs8_pack_weights(QS8GemmRole role, size_t block, QS8Requant r, size_t n, size_t k,
                      const int8_t* w, const QS8PackChannels& ch, void* out, size_t w_bytes) {
  QL_CHECK(w_bytes == 2 || (w_bytes == 1 && role == QS8GemmRole::kLinear));
  const size_t kp = (k + 1) / 2;
  const size_t rq_bytes = qs8_rq_bytes(r);
  const size_t block_bytes = qs8_packed_block_bytes(block, kp, r, w_bytes);
  const size_t blocks = (n + block - 1) / block;
  auto* base = static_cast<std::byte*>(out);
  std::memset(base, 0, blocks * block_bytes);
  for (size_t bi = 0; bi < blocks; ++bi) {
    std::byte* blk = base + bi * block_bytes;
    std::byte* bias = blk;
    std::byte* rq = role == QS8GemmRole::kLinear ? blk + 4 * block + 2 * w_bytes * kp * block
                                                 : blk + 4 * block;
    std::byte* wp = role == QS8GemmRole::kLinear ? blk + 4 * block : blk + block * (4 + rq_bytes);
    for (size_t j = 0; j < block && bi * block + j < n; ++j) {
      const size_t ch_i = bi * block + j;
      std::memcpy(bias + 4 * j, &ch.bias[ch_i], 4);
      if (r == QS8Requant::kFp32) {
        std::memcpy(rq + 4 * j, &ch.rq_fp32[ch_i], 4);
      } else if (r == QS8Requant::kGemmlowp) {
        std::memcpy(rq + 4 * j, &ch.rq_M0[ch_i], 4);
        std::memcpy(rq + 4 * (block + j), &ch.rq_shift[ch_i], 4);
      }
      const int8_t* row = w + ch_i * k;
      for (size_t kk = 0; kk < k; ++kk) {
        const size_t at = ((kk / 2) * block + j) * 2 + (kk % 2);
        if (w_bytes == 1) {
          reinterpret_cast<int8_t*>(wp)[at] = row[kk];
        } else {
          reinterpret_cast<int16_t*>(wp)[at] = row[kk];
        }
      }
    }
  }
}

}  // namespace quantlab
