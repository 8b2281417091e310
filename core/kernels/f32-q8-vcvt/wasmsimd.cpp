// f32 -> q8 conversion in WebAssembly SIMD128, 16 elements per iteration.
#include <wasm_simd128.h>

#include <cmath>
#include <type_traits>

#include "f32-q8-vcvt/f32-q8-vcvt.h"

namespace quantlab {
namespace {

// Four f32x4 -> one i8x16 (or u8x16): divide, clamp to [q_min - Z, q_max - Z], round to
// nearest even, convert, add Z, then narrow with saturation (values already fit).
template <bool kSigned, class T>
void convert(size_t n, const float* x, T* y, const F32Q8VcvtParams& p) {
  const float lo_s = static_cast<float>(p.q_min - p.zero_point);
  const float hi_s = static_cast<float>(p.q_max - p.zero_point);
  const v128_t scale = wasm_f32x4_splat(p.scale);
  const v128_t lo = wasm_f32x4_splat(lo_s);
  const v128_t hi = wasm_f32x4_splat(hi_s);
  const v128_t zp = wasm_i32x4_splat(p.zero_point);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t q[4];
    for (int j = 0; j < 4; ++j) {
      v128_t v = wasm_f32x4_div(wasm_v128_load(x + i + 4 * j), scale);
      v = wasm_f32x4_pmin(wasm_f32x4_pmax(v, lo), hi);
      q[j] = wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(v)), zp);
    }
    const v128_t a = wasm_i16x8_narrow_i32x4(q[0], q[1]);
    const v128_t b = wasm_i16x8_narrow_i32x4(q[2], q[3]);
    const v128_t out = kSigned ? wasm_i8x16_narrow_i16x8(a, b) : wasm_u8x16_narrow_i16x8(a, b);
    wasm_v128_store(y + i, out);
  }
  f32_q8_vcvt_reference(i, n, x, y, p);
}

}  // namespace

// One kernel per kWasmSimd row of f32-q8-vcvt.inc.
#define QL_KERNEL(isa, name, T)                                                        \
  QL_ONLY(kWasmSimd, isa, void name(size_t n, const float* x, T* y, const F32Q8VcvtParams& p) { \
    convert<std::is_same_v<T, int8_t>>(n, x, y, p);                                    \
  })
#include "f32-q8-vcvt/f32-q8-vcvt.inc"
#undef QL_KERNEL

}  // namespace quantlab
