// x8-im2col in WebAssembly SIMD128, 8 pixels per block. When the block's pixels are
// contiguous in the input (one output row, or a linear layer such as 1x1 without padding)
// and stride_w is 1 or 2, each tap is one 8-byte load (stride 2: a 16-byte load and an
// even-byte shuffle) at its precomputed offset, widened to int16; two consecutive taps are
// interleaved into the [pair][8][2] layout with two shuffles. Other blocks use the generic
// gather.
#include <wasm_simd128.h>

#include "simd128.h"
#include "x8-im2col/x8-im2col.h"

namespace quantlab {
namespace {

template <bool kSigned, size_t kStride>
inline v128_t tap(const uint8_t* p) {
  return simd128::load8x8_widen<kSigned, kStride>(p);
}

/// One block of 8 pixels whose taps are 8 consecutive (stride 1) or every other (stride 2)
/// input elements from `base` (the first pixel's top-left input).
template <bool kSigned, size_t kStride>
void contiguous_block(const Im2colGeometry& g, const uint8_t* base, int16_t* panel) {
  const size_t K = g.channels * g.kernel_h * g.kernel_w;
  const uint32_t* off = g.tap_offset;
  size_t k = 0;
  for (; k + 2 <= K; k += 2) {
    const v128_t a = tap<kSigned, kStride>(base + off[k]);
    const v128_t b = tap<kSigned, kStride>(base + off[k + 1]);
    wasm_v128_store(panel, wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(panel + 8, wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15));
    panel += 16;
  }
  if (k < K) {
    const v128_t a = tap<kSigned, kStride>(base + off[k]);
    const v128_t z = wasm_i16x8_splat(0);
    wasm_v128_store(panel, wasm_i16x8_shuffle(a, z, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(panel + 8, wasm_i16x8_shuffle(a, z, 4, 12, 5, 13, 6, 14, 7, 15));
  }
}

template <bool kSigned>
void im2col8(const Im2colGeometry& g, const void* x, size_t p0, size_t count, int16_t* panel) {
  const auto* xb = static_cast<const uint8_t*>(x);
  const size_t oy = p0 / g.out_w, ox0 = p0 % g.out_w;
  const bool contiguous = g.tap_offset != nullptr &&
                          (ox0 + count <= g.out_w || im2col_linear(g));
  if (contiguous && g.stride_w == 1) {
    contiguous_block<kSigned, 1>(g, xb + oy * g.stride_h * g.row_stride + ox0, panel);
  } else if (contiguous && g.stride_w == 2) {
    contiguous_block<kSigned, 2>(g, xb + oy * g.stride_h * g.row_stride + ox0 * 2, panel);
  } else if constexpr (kSigned) {
    im2col_gather<int8_t, int16_t, 2>(g, reinterpret_cast<const int8_t*>(xb), 8, p0, count, panel);
  } else {
    im2col_gather<uint8_t, int16_t, 2>(g, xb, 8, p0, count, panel);
  }
}

}  // namespace

void ql_qu8_im2col_ukernel_8c2__wasmsimd(const Im2colGeometry& g, const void* x, size_t,
                                         size_t p0, size_t count, int16_t* panel) {
  im2col8<false>(g, x, p0, count, panel);
}

void ql_qs8_im2col_ukernel_8c2__wasmsimd(const Im2colGeometry& g, const void* x, size_t,
                                         size_t p0, size_t count, int16_t* panel) {
  im2col8<true>(g, x, p0, count, panel);
}

}  // namespace quantlab
