// qs8-gemm with xsimd: MR x 2v tiles over c2 pairs, v = one xsimd::batch<int32_t> (8 lanes
// with AVX2, 4 with SSE4.1 or SIMD128), so NR = 2v columns. xsimd 8.1 has no widening
// multiply-add, so `madd` adds one per architecture (pmaddwd: _mm256_madd_epi16 /
// _mm_madd_epi16, which Emscripten lowers to i32x4.dot_i16x8_s) with a generic fallback.
// fp32 requantization is vectorized (magic-number rounding after clamping); the fixed-point
// tail runs the reference per element (it is exact by construction and off the hot loop).
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "qs8-gemm/qs8-gemm.h"
#include "quantlab/requantize.hpp"

namespace quantlab {
namespace {

using A = xsimd::default_arch;
using B32 = xsimd::batch<int32_t, A>;
using B16 = xsimd::batch<int16_t, A>;
using BF = xsimd::batch<float, A>;
constexpr size_t kV = B32::size;
constexpr size_t kNR = 2 * kV;
static_assert(kNR == QL_QS8_XSIMD_NR, "qs8-gemm.h's QL_QS8_XSIMD_NR must match xsimd");

/// a[2i] * b[2i] + a[2i+1] * b[2i+1] per 32-bit lane (pmaddwd), dispatched on the
/// architecture at compile time (a template, so untaken branches are never instantiated).
template <class Arch>
inline xsimd::batch<int32_t, Arch> madd(const xsimd::batch<int16_t, Arch>& a,
                                        const xsimd::batch<int16_t, Arch>& b) {
  using R = xsimd::batch<int32_t, Arch>;
#if defined(__AVX512BW__)
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>) return R(_mm512_madd_epi16(a, b));
#endif
#if defined(__AVX2__)
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) return R(_mm256_madd_epi16(a, b));
#endif
#if defined(__SSE2__)
  if constexpr (std::is_base_of_v<xsimd::sse2, Arch>) return R(_mm_madd_epi16(a, b));
#endif
  constexpr size_t n = R::size;
  alignas(64) int16_t x[2 * n], y[2 * n];
  alignas(64) int32_t r[n];
  a.store_aligned(x);
  b.store_aligned(y);
  for (size_t i = 0; i < n; ++i) r[i] = x[2 * i] * y[2 * i] + x[2 * i + 1] * y[2 * i + 1];
  return R::load_aligned(r);
}

inline B16 splat_pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return xsimd::bitwise_cast<B16>(B32(v));
}

template <QS8GemmRole kRole, QS8Requant kRq, size_t MR>
void gemm(size_t mr, size_t nc, size_t kp, const void* a, const void* b, void* c,
          size_t c_stride, const QS8GemmParams* params) {
  constexpr size_t kRqBytes = qs8_rq_bytes(kRq);
  const auto* ap = static_cast<const std::byte*>(a);
  const auto* bp = static_cast<const std::byte*>(b);
  const int16_t* aw = reinterpret_cast<const int16_t*>(ap);
  int32_t row_bias[MR] = {};
  float row_scale[MR] = {};
  int32_t row_M0[MR] = {}, row_shift[MR] = {};
  if constexpr (kRole == QS8GemmRole::kConv) {
    std::memcpy(row_bias, ap, 4 * MR);
    if constexpr (kRq == QS8Requant::kFp32) std::memcpy(row_scale, ap + 4 * MR, 4 * MR);
    if constexpr (kRq == QS8Requant::kGemmlowp) {
      std::memcpy(row_M0, ap + 4 * MR, 4 * MR);
      std::memcpy(row_shift, ap + 8 * MR, 4 * MR);
    }
    aw = reinterpret_cast<const int16_t*>(ap + MR * (4 + kRqBytes));
  }
  const int32_t zp = params->zero_point;
  const BF vlo(static_cast<float>(params->q_min - zp));
  const BF vhi(static_cast<float>(params->q_max - zp));
  const BF vmagic(12582912.0f);
  const B32 vmagic_zp(0x4B400000 - zp);
  const size_t rows = std::min(mr, MR);

  for (size_t n0 = 0; n0 < nc; n0 += kNR) {
    const size_t nb = std::min(kNR, nc - n0);
    const int16_t* bw;
    B32 acc[MR][2];
    if constexpr (kRole == QS8GemmRole::kLinear) {
      const B32 b0 = B32::load_unaligned(reinterpret_cast<const int32_t*>(bp));
      const B32 b1 = B32::load_unaligned(reinterpret_cast<const int32_t*>(bp) + kV);
      for (size_t m = 0; m < MR; ++m) {
        acc[m][0] = b0;
        acc[m][1] = b1;
      }
      bw = reinterpret_cast<const int16_t*>(bp + 4 * kNR);
    } else {
      for (size_t m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = B32(row_bias[m]);
      bw = reinterpret_cast<const int16_t*>(bp);
    }
    const int16_t* ak = aw;
    for (size_t p = 0; p < kp; ++p) {
      const B16 vb0 = B16::load_unaligned(bw);
      const B16 vb1 = B16::load_unaligned(bw + 2 * kV);
      bw += 2 * kNR;
      for (size_t m = 0; m < MR; ++m) {
        const B16 va = splat_pair(ak + 2 * m);
        acc[m][0] += madd(va, vb0);
        acc[m][1] += madd(va, vb1);
      }
      ak += 2 * MR;
    }
    const auto* rq = reinterpret_cast<const std::byte*>(bw);  // linear: rq follows weights

    alignas(64) int32_t out[MR][kNR];
    if constexpr (kRq == QS8Requant::kFp32) {
      for (size_t m = 0; m < MR; ++m) {
        for (size_t j = 0; j < 2; ++j) {
          const BF scale = kRole == QS8GemmRole::kLinear
                               ? BF::load_unaligned(reinterpret_cast<const float*>(rq) + j * kV)
                               : BF(row_scale[m]);
          BF f = xsimd::batch_cast<float>(acc[m][j]) * scale;
          f = xsimd::select(f < vlo, vlo, f);
          f = xsimd::select(vhi < f, vhi, f);
          const B32 q = xsimd::bitwise_cast<B32>(f + vmagic) - vmagic_zp;
          q.store_aligned(out[m] + j * kV);
        }
      }
    } else {
      for (size_t m = 0; m < MR; ++m) {
        acc[m][0].store_aligned(out[m]);
        acc[m][1].store_aligned(out[m] + kV);
      }
    }
    for (size_t m = 0; m < rows; ++m) {
      if constexpr (kRq == QS8Requant::kS32) {
        std::memcpy(static_cast<int32_t*>(c) + m * c_stride + n0, out[m], nb * 4);
        continue;
      }
      for (size_t n = 0; n < nb; ++n) {
        int32_t q = out[m][n];
        if constexpr (kRq == QS8Requant::kGemmlowp) {
          FixedPointMultiplier fm;
          if constexpr (kRole == QS8GemmRole::kLinear) {
            std::memcpy(&fm.M0, rq + 4 * n, 4);
            std::memcpy(&fm.shift, rq + 4 * (kNR + n), 4);
          } else {
            fm = {row_M0[m], row_shift[m]};
          }
          q = requantize_fixed_point(q, fm, zp, params->q_min, params->q_max);
        }
        if (params->out_signed) {
          static_cast<int8_t*>(c)[m * c_stride + n0 + n] = static_cast<int8_t>(q);
        } else {
          static_cast<uint8_t*>(c)[m * c_stride + n0 + n] = static_cast<uint8_t>(q);
        }
      }
    }
    bp += qs8_column_block_bytes(kRole, kNR, kp, kRq);
  }
}

}  // namespace

// One kernel per kXsimd row of qs8-gemm.inc.
#define QL_KERNEL(isa, name, role, rq, mr, nr, w_bytes) \
  QL_ONLY(kXsimd, isa, QL_QS8_GEMM_DEFINE(name, (gemm<QS8GemmRole::role, QS8Requant::rq, mr>)))
#include "qs8-gemm/qs8-gemm.inc"
#undef QL_KERNEL

}  // namespace quantlab
