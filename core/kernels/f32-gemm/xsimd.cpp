// f32-gemm with xsimd: MR x 2v tiles, v = one xsimd::batch<float> (8 lanes with AVX, 4 with
// SSE or SIMD128); multiply then add, rounded separately like the scalar reference (the
// core builds with -ffp-contract=off, so the compiler does not fuse them into an FMA).
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstring>

#include "f32-gemm/f32-gemm.h"

namespace quantlab {
namespace {

using A = xsimd::default_arch;
using BF = xsimd::batch<float, A>;
constexpr size_t kV = BF::size;
constexpr size_t kNR = 2 * kV;
static_assert(kNR == QL_QS8_XSIMD_NR, "xsimd tile width mismatch");

template <QS8GemmRole kRole, size_t MR>
void gemm(size_t mr, size_t nc, size_t kc, const float* a, const float* b, float* c,
          size_t c_stride, const F32GemmParams* params) {
  const float* aw = kRole == QS8GemmRole::kConv ? a + MR : a;
  const BF vmin(params->min), vmax(params->max);
  const size_t rows = std::min(mr, MR);
  for (size_t n0 = 0; n0 < nc; n0 += kNR) {
    const size_t nb = std::min(kNR, nc - n0);
    BF acc[MR][2];
    const float* bw;
    if constexpr (kRole == QS8GemmRole::kLinear) {
      const BF b0 = BF::load_unaligned(b), b1 = BF::load_unaligned(b + kV);
      for (size_t m = 0; m < MR; ++m) {
        acc[m][0] = b0;
        acc[m][1] = b1;
      }
      bw = b + kNR;
      b += kNR * (kc + 1);
    } else {
      for (size_t m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = BF(a[m]);
      bw = b;
      b += kNR * kc;
    }
    const float* ak = aw;
    for (size_t k = 0; k < kc; ++k) {
      const BF vb0 = BF::load_unaligned(bw), vb1 = BF::load_unaligned(bw + kV);
      bw += kNR;
      for (size_t m = 0; m < MR; ++m) {
        const BF va(ak[m]);
        const BF p0 = va * vb0;
        const BF p1 = va * vb1;
        acc[m][0] = acc[m][0] + p0;
        acc[m][1] = acc[m][1] + p1;
      }
      ak += MR;
    }
    for (size_t m = 0; m < rows; ++m) {
      alignas(64) float out[kNR];
      for (size_t j = 0; j < 2; ++j) {
        BF v = xsimd::select(acc[m][j] < vmin, vmin, acc[m][j]);
        v = xsimd::select(vmax < v, vmax, v);
        v.store_aligned(out + j * kV);
      }
      std::memcpy(c + m * c_stride + n0, out, nb * sizeof(float));
    }
  }
}

}  // namespace

void ql_f32_gemm_minmax_ukernel_1x2v__xsimd(size_t mr, size_t nc, size_t kc, const float* a,
                                            const float* b, float* c, size_t c_stride,
                                            const F32GemmParams* params) {
  gemm<QS8GemmRole::kLinear, 1>(mr, nc, kc, a, b, c, c_stride, params);
}

void ql_f32_gemm_minmax_ukernel_4x2v__xsimd(size_t mr, size_t nc, size_t kc, const float* a,
                                            const float* b, float* c, size_t c_stride,
                                            const F32GemmParams* params) {
  gemm<QS8GemmRole::kLinear, 4>(mr, nc, kc, a, b, c, c_stride, params);
}

void ql_f32_convgemm_minmax_ukernel_4x2v__xsimd(size_t mr, size_t nc, size_t kc,
                                                const float* a, const float* b, float* c,
                                                size_t c_stride, const F32GemmParams* params) {
  gemm<QS8GemmRole::kConv, 4>(mr, nc, kc, a, b, c, c_stride, params);
}

}  // namespace quantlab
