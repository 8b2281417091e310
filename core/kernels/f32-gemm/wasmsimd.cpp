// f32-gemm in WebAssembly SIMD128: MR x 8 tiles, per k one v128.load32_splat per row and
// two column vectors; f32x4.mul then f32x4.add (SIMD128 has no FMA), the same rounding
// sequence as the scalar reference. 8 accumulators + 4 operands stay in registers.
#include <wasm_simd128.h>

#include <algorithm>
#include <cstring>

#include "f32-gemm/f32-gemm.h"

namespace quantlab {
namespace {

constexpr size_t kNR = 8;

template <QS8GemmRole kRole, size_t MR>
void gemm(size_t mr, size_t nc, size_t kc, const float* a, const float* b, float* c,
          size_t c_stride, const F32GemmParams* params) {
  const float* aw = kRole == QS8GemmRole::kConv ? a + MR : a;
  const size_t rows = std::min(mr, MR);
  for (size_t n0 = 0; n0 < nc; n0 += kNR) {
    const size_t nb = std::min(kNR, nc - n0);
    v128_t vacc[MR][2];
    const float* bw;
    if constexpr (kRole == QS8GemmRole::kLinear) {
      const v128_t vb0 = wasm_v128_load(b);
      const v128_t vb1 = wasm_v128_load(b + 4);
      for (size_t m = 0; m < MR; ++m) {
        vacc[m][0] = vb0;
        vacc[m][1] = vb1;
      }
      bw = b + kNR;
      b += kNR * (kc + 1);
    } else {
      for (size_t m = 0; m < MR; ++m) vacc[m][0] = vacc[m][1] = wasm_f32x4_splat(a[m]);
      bw = b;
      b += kNR * kc;
    }
    const float* ak = aw;
    for (size_t k = 0; k < kc; ++k) {
      const v128_t vb0 = wasm_v128_load(bw);
      const v128_t vb1 = wasm_v128_load(bw + 4);
      bw += kNR;
      for (size_t m = 0; m < MR; ++m) {
        const v128_t va = wasm_v128_load32_splat(ak + m);
        vacc[m][0] = wasm_f32x4_add(vacc[m][0], wasm_f32x4_mul(va, vb0));
        vacc[m][1] = wasm_f32x4_add(vacc[m][1], wasm_f32x4_mul(va, vb1));
      }
      ak += MR;
    }
    // Loaded after the K loop rather than kept live through it (register pressure in V8).
    const v128_t vmin = wasm_v128_load32_splat(&params->min);
    const v128_t vmax = wasm_v128_load32_splat(&params->max);
    for (size_t m = 0; m < rows; ++m) {
      const v128_t v0 = wasm_f32x4_pmin(wasm_f32x4_pmax(vacc[m][0], vmin), vmax);
      const v128_t v1 = wasm_f32x4_pmin(wasm_f32x4_pmax(vacc[m][1], vmin), vmax);
      float* o = c + m * c_stride + n0;
      if (nb == kNR) {
        wasm_v128_store(o, v0);
        wasm_v128_store(o + 4, v1);
      } else {
        alignas(16) float tmp[kNR];
        wasm_v128_store(tmp, v0);
        wasm_v128_store(tmp + 4, v1);
        std::memcpy(o, tmp, nb * sizeof(float));
      }
    }
  }
}

}  // namespace

void ql_f32_gemm_minmax_ukernel_1x8__wasmsimd_splat(size_t mr, size_t nc, size_t kc,
                                                    const float* a, const float* b, float* c,
                                                    size_t c_stride, const F32GemmParams* params) {
  gemm<QS8GemmRole::kLinear, 1>(mr, nc, kc, a, b, c, c_stride, params);
}

void ql_f32_gemm_minmax_ukernel_4x8__wasmsimd_splat(size_t mr, size_t nc, size_t kc,
                                                    const float* a, const float* b, float* c,
                                                    size_t c_stride, const F32GemmParams* params) {
  gemm<QS8GemmRole::kLinear, 4>(mr, nc, kc, a, b, c, c_stride, params);
}

void ql_f32_convgemm_minmax_ukernel_4x8__wasmsimd_splat(size_t mr, size_t nc, size_t kc,
                                                        const float* a, const float* b, float* c,
                                                        size_t c_stride,
                                                        const F32GemmParams* params) {
  gemm<QS8GemmRole::kConv, 4>(mr, nc, kc, a, b, c, c_stride, params);
}

}  // namespace quantlab
