// f32-gemm scalar reference (test oracle and fallback), packing routines and the registry.
#include <algorithm>
#include <cstring>
#include <vector>

#include "f32-gemm/f32-gemm.h"

namespace quantlab {
namespace {

template <QS8GemmRole kRole, size_t MR, size_t NR>
void gemm(size_t mr, size_t nc, size_t kc, const float* a, const float* b, float* c,
          size_t c_stride, const F32GemmParams* params) {
  const float* row_bias = a;
  const float* aw = kRole == QS8GemmRole::kConv ? a + MR : a;
  for (size_t n0 = 0; n0 < nc; n0 += NR) {
    const size_t nb = std::min(NR, nc - n0);
    const float* col_bias = b;
    const float* bw = kRole == QS8GemmRole::kLinear ? b + NR : b;
    b += kRole == QS8GemmRole::kLinear ? NR * (kc + 1) : NR * kc;
    float acc[MR][NR];
    for (size_t m = 0; m < MR; ++m) {
      for (size_t n = 0; n < NR; ++n) {
        acc[m][n] = kRole == QS8GemmRole::kLinear ? col_bias[n] : row_bias[m];
      }
    }
    for (size_t k = 0; k < kc; ++k) {
      for (size_t m = 0; m < MR; ++m) {
        for (size_t n = 0; n < NR; ++n) {
          const float prod = aw[k * MR + m] * bw[k * NR + n];
          acc[m][n] = acc[m][n] + prod;
        }
      }
    }
    for (size_t m = 0; m < std::min(mr, MR); ++m) {
      for (size_t n = 0; n < nb; ++n) {
        float v = acc[m][n];
        v = v < params->min ? params->min : v;
        v = params->max < v ? params->max : v;
        c[m * c_stride + n0 + n] = v;
      }
    }
  }
}

}  // namespace

void ql_f32_gemm_minmax_ukernel_1x4__scalar(size_t mr, size_t nc, size_t kc, const float* a,
                                            const float* b, float* c, size_t c_stride,
                                            const F32GemmParams* params) {
  gemm<QS8GemmRole::kLinear, 1, 4>(mr, nc, kc, a, b, c, c_stride, params);
}

void ql_f32_gemm_minmax_ukernel_4x4__scalar(size_t mr, size_t nc, size_t kc, const float* a,
                                            const float* b, float* c, size_t c_stride,
                                            const F32GemmParams* params) {
  gemm<QS8GemmRole::kLinear, 4, 4>(mr, nc, kc, a, b, c, c_stride, params);
}

void ql_f32_convgemm_minmax_ukernel_4x4__scalar(size_t mr, size_t nc, size_t kc,
                                                const float* a, const float* b, float* c,
                                                size_t c_stride, const F32GemmParams* params) {
  gemm<QS8GemmRole::kConv, 4, 4>(mr, nc, kc, a, b, c, c_stride, params);
}

std::span<const F32GemmUkernel> f32_gemm_ukernels() {
  static const std::vector<F32GemmUkernel> list = {
#define QL_KERNEL(isa, name, role, mr, nr) {Isa::isa, #name, QS8GemmRole::role, mr, nr, &name},
#include "f32-gemm/f32-gemm.inc"
#undef QL_KERNEL
  };
  return list;
}

const F32GemmUkernel* f32_gemm_find(Isa isa, QS8GemmRole role, uint32_t mr) {
  const F32GemmUkernel* best = nullptr;
  for (const auto& u : f32_gemm_ukernels()) {
    if (u.isa != isa || u.role != role) continue;
    if (mr != 0 ? u.mr == mr : (best == nullptr || u.mr > best->mr)) best = &u;
  }
  return best;
}

void f32_pack_weights(QS8GemmRole role, size_t block, size_t n, size_t k, const float* w,
                      const float* bias, float* out) {
  const size_t blocks = (n + block - 1) / block;
  std::fill(out, out + blocks * block * (k + 1), 0.0f);
  for (size_t bi = 0; bi < blocks; ++bi) {
    float* blk = out + bi * block * (k + 1);
    float* wp = blk + block;
    for (size_t j = 0; j < block && bi * block + j < n; ++j) {
      const size_t ch = bi * block + j;
      blk[j] = bias != nullptr ? bias[ch] : 0.0f;
      for (size_t kk = 0; kk < k; ++kk) wp[kk * block + j] = w[ch * k + kk];
    }
  }
  (void)role;  // both roles store bias then [k][block]
}

void f32_pack_a(size_t rows, size_t mr, size_t k, const float* x, size_t x_stride,
                float* panel) {
  std::fill(panel, panel + k * mr, 0.0f);
  for (size_t m = 0; m < rows; ++m) {
    for (size_t kk = 0; kk < k; ++kk) panel[kk * mr + m] = x[m * x_stride + kk];
  }
}

}  // namespace quantlab
