// f32 transcendental functions in WebAssembly SIMD128, 4 lanes per step: Cephes' expf
// polynomial (range reduction by ln 2 in two parts, 2^n applied as two factors so that the
// whole float range, overflow to inf and the subnormals included, comes out of the
// arithmetic) and Cephes' tanhf (a polynomial below |x| = 0.625, 1 - 2 / (exp(2|x|) + 1)
// above). Written for SIMD128 because xsimd's SSE path converts float to int lane by lane
// under Emscripten (_mm_cvtps_epi32 is scalar there) and is no faster than the C library.
#include <wasm_simd128.h>

#include <cstdint>

#include "f32-vunary/f32-vunary.h"

namespace quantlab {
namespace {

inline v128_t splat(float v) { return wasm_f32x4_splat(v); }

/// exp of 4 lanes; NaN stays NaN, x > 88.72 gives inf, x < -103.9 gives 0.
inline v128_t exp4(v128_t x) {
  const v128_t xc = wasm_f32x4_pmin(wasm_f32x4_pmax(x, splat(-104.0f)), splat(88.8f));
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(xc, splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(xc, wasm_f32x4_mul(n, splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splat(-2.12194440e-4f)));
  v128_t p = splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(5.0000001201e-1f));
  v128_t y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r),
                            splat(1.0f));
  // 2^n = 2^n1 2^n2 with n1 = n >> 1: each factor stays a normal float for n in [-150, 128].
  const v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  const v128_t n1 = wasm_i32x4_shr(ni, 1);
  const v128_t n2 = wasm_i32x4_sub(ni, n1);
  const v128_t bias = wasm_i32x4_splat(127);
  y = wasm_f32x4_mul(y, wasm_i32x4_shl(wasm_i32x4_add(n1, bias), 23));
  y = wasm_f32x4_mul(y, wasm_i32x4_shl(wasm_i32x4_add(n2, bias), 23));
  return y;
}

inline v128_t sigmoid4(v128_t x) {
  const v128_t one = splat(1.0f);
  return wasm_f32x4_div(one, wasm_f32x4_add(one, exp4(wasm_f32x4_neg(x))));
}

inline v128_t tanh4(v128_t x) {
  const v128_t ax = wasm_f32x4_abs(x);
  const v128_t z = wasm_f32x4_mul(x, x);
  v128_t p = splat(-5.70498872745e-3f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), splat(2.06390887954e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), splat(-5.37397155531e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), splat(1.33314422036e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, z), splat(-3.33332819422e-1f));
  const v128_t small = wasm_f32x4_add(x, wasm_f32x4_mul(wasm_f32x4_mul(x, z), p));
  const v128_t e = exp4(wasm_f32x4_add(ax, ax));
  v128_t large = wasm_f32x4_sub(splat(1.0f),
                                wasm_f32x4_div(splat(2.0f), wasm_f32x4_add(e, splat(1.0f))));
  large = wasm_v128_or(large, wasm_v128_and(x, wasm_i32x4_splat(INT32_MIN)));  // sign of x
  return wasm_v128_bitselect(small, large, wasm_f32x4_lt(ax, splat(0.625f)));
}

template <VUnaryFunction F>
void apply(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    v128_t r;
    if constexpr (F == VUnaryFunction::kExp) r = exp4(v);
    else if constexpr (F == VUnaryFunction::kSigmoid) r = sigmoid4(v);
    else r = tanh4(v);
    wasm_v128_store(y + i, r);
  }
  f32_vunary_reference<F>(i, n, x, y);
}

}  // namespace

// One kernel per kWasmSimd row of f32-vunary.inc.
#define QL_KERNEL(isa, name, function)                                     \
  QL_ONLY(kWasmSimd, isa, void name(size_t n, const float* x, float* y) {  \
    apply<VUnaryFunction::function>(n, x, y);                              \
  })
#include "f32-vunary/f32-vunary.inc"
#undef QL_KERNEL

}  // namespace quantlab
