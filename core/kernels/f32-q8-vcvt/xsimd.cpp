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
  for (; i < n; ++i) {
    float v = x[i] / p.scale;
    v = v < lo_s ? lo_s : (v > hi_s ? hi_s : v);
    y[i] = static_cast<T>(static_cast<int32_t>(std::nearbyint(v)) + p.zero_point);
  }
}

}  // namespace

void ql_f32_qs8_vcvt_ukernel__xsimd(size_t n, const float* x, int8_t* y,
                                    const F32Q8VcvtParams& p) {
  convert(n, x, y, p);
}

void ql_f32_qu8_vcvt_ukernel__xsimd(size_t n, const float* x, uint8_t* y,
                                    const F32Q8VcvtParams& p) {
  convert(n, x, y, p);
}

}  // namespace quantlab
