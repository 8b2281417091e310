// f32-gemm: fp32 GEMM micro-kernels, the baseline the int8 kernels are compared against.
// Same two roles as qs8-gemm (see qs8-gemm/qs8-gemm.h), without pairs:
//  kLinear: A panel per block of MR rows: float [kc][MR]; W stream per block of NR columns:
//           float bias[NR] | w[kc][NR].
//  kConv:   W stream per block of MR output channels: float bias[MR] | w[kc][MR];
//           X panel per block of NR pixels: float [kc][NR].
// Every variant computes acc = bias, then acc = acc + a * w for k = 0, 1, ... with the
// multiply and the add rounded separately (no FMA: WebAssembly SIMD128 has none), then
// clamps to [min, max]; so all variants agree bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "isa.h"
#include "qs8-gemm/qs8-gemm.h"  // QS8GemmRole

namespace quantlab {

struct F32GemmParams {
  float min = -3.40282347e38f;
  float max = 3.40282347e38f;
};

using F32GemmUkernelFn = void (*)(size_t mr, size_t nc, size_t kc, const float* a,
                                  const float* b, float* c, size_t c_stride,
                                  const F32GemmParams* params);

#define QL_KERNEL(isa, name, role, mr, nr)                                                 \
  void name(size_t mr_, size_t nc, size_t kc, const float* a, const float* b, float* c, \
            size_t c_stride, const F32GemmParams* params);
#include "f32-gemm/f32-gemm.inc"
#undef QL_KERNEL

struct F32GemmUkernel {
  Isa isa;
  const char* name;
  QS8GemmRole role;
  uint32_t mr, nr;
  F32GemmUkernelFn fn;
};

/// Every micro-kernel compiled into this build, in list order (scalar first).
std::span<const F32GemmUkernel> f32_gemm_ukernels();

/// The kernel of `isa` for `role` with MR == mr, or the largest MR when mr == 0; or null.
const F32GemmUkernel* f32_gemm_find(Isa isa, QS8GemmRole role, uint32_t mr = 0);

/// Packs W [n, k] (row stride k) and bias (n values or null) into blocks of `block`
/// channels; out holds ceil(n / block) * block * (k + 1) floats.
void f32_pack_weights(QS8GemmRole role, size_t block, size_t n, size_t k, const float* w,
                      const float* bias, float* out);

/// Linear A panel: `rows` <= mr rows of x (row stride x_stride floats) as [k][mr], zero
/// padded.
void f32_pack_a(size_t rows, size_t mr, size_t k, const float* x, size_t x_stride,
                float* panel);

}  // namespace quantlab
