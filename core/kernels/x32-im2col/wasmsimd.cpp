// x32-im2col in WebAssembly SIMD128, 8 pixels per block: for contiguous pixels (one output
// row, or a linear layer) with stride_w 1 each tap is two 4-float loads at its precomputed
// offset; with stride_w 2, four loads and two even-lane shuffles. Other blocks use the
// generic gather.
#include <wasm_simd128.h>

#include "x32-im2col/x32-im2col.h"

namespace quantlab {

void ql_x32_im2col_ukernel_8__wasmsimd(const Im2colGeometry& g, const float* x, size_t,
                                       size_t p0, size_t count, float* panel) {
  const size_t oy = p0 / g.out_w, ox0 = p0 % g.out_w;
  const bool contiguous = g.tap_offset != nullptr &&
                          (ox0 + count <= g.out_w || im2col_linear(g));
  if (!contiguous || g.stride_w > 2) {
    im2col_gather<float, float, 1>(g, x, 8, p0, count, panel);
    return;
  }
  const float* base = x + oy * g.stride_h * g.row_stride + ox0 * g.stride_w;
  const size_t K = g.channels * g.kernel_h * g.kernel_w;
  for (size_t k = 0; k < K; ++k) {
    const float* p = base + g.tap_offset[k];
    if (g.stride_w == 1) {
      wasm_v128_store(panel, wasm_v128_load(p));
      wasm_v128_store(panel + 4, wasm_v128_load(p + 4));
    } else {
      const v128_t a = wasm_v128_load(p), b = wasm_v128_load(p + 4);
      const v128_t c = wasm_v128_load(p + 8), d = wasm_v128_load(p + 12);
      wasm_v128_store(panel, wasm_i32x4_shuffle(a, b, 0, 2, 4, 6));
      wasm_v128_store(panel + 4, wasm_i32x4_shuffle(c, d, 0, 2, 4, 6));
    }
    panel += 8;
  }
}

}  // namespace quantlab
