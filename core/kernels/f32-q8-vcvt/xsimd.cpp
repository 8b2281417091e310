// f32 -> q8 conversion with xsimd (native ISA; SSE4.1 lowered to SIMD128 under Emscripten).
#include <xsimd/xsimd.hpp>

#include <cmath>

#include "f32-q8-vcvt/f32-q8-vcvt.h"

namespace quantlab {
namespace {

template <class T>
void convert(size_t n, const float* x, T* y, const F32Q8VcvtParams& p) {
  using batch = xsimd::batch<float>;
  constexpr size_t kLanes = batch::size;
  const float lo_s = static_cast<float>(p.q_min - p.zero_point);
  const float hi_s = static_cast<float>(p.q_max - p.zero_point);
  const batch scale(p.scale), lo(lo_s), hi(hi_s);
  alignas(64) int32_t tmp[kLanes];
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    batch v = batch::load_unaligned(x + i) / scale;
    v = xsimd::min(xsimd::max(v, lo), hi);
    // nearbyint_as_int rounds in the current mode: to nearest, ties to even.
    xsimd::nearbyint_as_int(v).store_aligned(tmp);
    for (size_t l = 0; l < kLanes; ++l) y[i + l] = static_cast<T>(tmp[l] + p.zero_point);
  }
  f32_q8_vcvt_reference(i, n, x, y, p);
}

}  // namespace

// One kernel per kXsimd row of f32-q8-vcvt.inc.
#define QL_KERNEL(isa, name, T)                                                     \
  QL_ONLY(kXsimd, isa, void name(size_t n, const float* x, T* y, const F32Q8VcvtParams& p) { \
    convert(n, x, y, p);                                                            \
  })
#include "f32-q8-vcvt/f32-q8-vcvt.inc"
#undef QL_KERNEL

}  // namespace quantlab
