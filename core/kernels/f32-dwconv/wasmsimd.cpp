// f32-dwconv in WebAssembly SIMD128: output pixels in lanes, 8 per step; per tap one splat
// weight and f32x4.mul then f32x4.add, in the scalar reference's tap order (bit-exact).
// Stride 2 keeps the even lanes of 16 loaded inputs; strides above 2 use the scalar kernel.
#include <wasm_simd128.h>

#include <cstring>

#include "f32-dwconv/f32-dwconv.h"
#include "simd128.h"

namespace quantlab {
namespace {

constexpr size_t kMaxTaps = 128;

template <size_t kStride>
inline void load8(const float* p, v128_t& lo, v128_t& hi) {
  if constexpr (kStride == 1) {
    lo = wasm_v128_load(p);
    hi = wasm_v128_load(p + 4);
  } else {
    const v128_t a = wasm_v128_load(p), b = wasm_v128_load(p + 4);
    const v128_t c = wasm_v128_load(p + 8), d = wasm_v128_load(p + 12);
    lo = wasm_i32x4_shuffle(a, b, 0, 2, 4, 6);
    hi = wasm_i32x4_shuffle(c, d, 0, 2, 4, 6);
  }
}

template <size_t kStride>
void dwconv(const DwconvGeometry& g, const F32DwconvPlane& plane, const F32GemmParams* params) {
  const size_t ntaps = g.kernel_h * g.kernel_w;
  size_t offset[kMaxTaps];
  for (size_t t = 0; t < ntaps; ++t) {
    offset[t] = (t / g.kernel_w) * g.dilation_h * plane.x_stride + (t % g.kernel_w) * g.dilation_w;
  }
  const float* taps = plane.w + 4;
  const v128_t vbias = wasm_f32x4_splat(plane.w[0]);
  const v128_t vmin = wasm_f32x4_splat(params->min);
  const v128_t vmax = wasm_f32x4_splat(params->max);
  for (size_t oy = 0; oy < plane.out_h; ++oy) {
    const float* row = plane.x + oy * g.stride_h * plane.x_stride;
    for (size_t ox = 0; ox < plane.out_w; ox += 8) {
      const size_t n = plane.out_w - ox < 8 ? plane.out_w - ox : 8;
      const float* px = row + ox * kStride;
      v128_t acc0 = vbias, acc1 = vbias;
      for (size_t t = 0; t < ntaps; ++t) {
        v128_t x0, x1;
        load8<kStride>(px + offset[t], x0, x1);
        const v128_t wt = wasm_v128_load32_splat(taps + t);
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(x0, wt));
        acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(x1, wt));
      }
      acc0 = wasm_f32x4_pmin(wasm_f32x4_pmax(acc0, vmin), vmax);
      acc1 = wasm_f32x4_pmin(wasm_f32x4_pmax(acc1, vmin), vmax);
      simd128::store_8x32(plane.y + oy * plane.out_w + ox, acc0, acc1, n);
    }
  }
}

}  // namespace

void ql_f32_dwconv_minmax_ukernel__wasmsimd(const DwconvGeometry& g, const F32DwconvPlane& plane,
                                            const F32GemmParams* params) {
  if (g.kernel_h * g.kernel_w > kMaxTaps || g.stride_w > 2) {
    ql_f32_dwconv_minmax_ukernel__scalar(g, plane, params);
  } else if (g.stride_w == 1) {
    dwconv<1>(g, plane, params);
  } else {
    dwconv<2>(g, plane, params);
  }
}

}  // namespace quantlab
