// x8-packa in WebAssembly SIMD128: 8 k values of each row widened with i16x8.load8x8, then
// a 4 x 4 transpose of 32-bit lanes (one lane = one k pair) gives [pair][row][2] directly.
#include <wasm_simd128.h>

#include <algorithm>
#include <cstring>

#include "simd128.h"
#include "x8-packa/x8-packa.h"

namespace quantlab {
namespace {

template <bool kSigned>
inline v128_t widen8(const uint8_t* p) {
  return simd128::load8x8_widen<kSigned, 1>(p);
}

/// The [pair][4][2] interleave of 4 rows of 8 int16 (v0..v3) into 32 int16 at out.
inline void store_pairs4(v128_t v0, v128_t v1, v128_t v2, v128_t v3, int16_t* out) {
  const v128_t t0 = wasm_i32x4_shuffle(v0, v1, 0, 4, 1, 5);  // r0p0 r1p0 r0p1 r1p1
  const v128_t t1 = wasm_i32x4_shuffle(v2, v3, 0, 4, 1, 5);
  const v128_t t2 = wasm_i32x4_shuffle(v0, v1, 2, 6, 3, 7);
  const v128_t t3 = wasm_i32x4_shuffle(v2, v3, 2, 6, 3, 7);
  wasm_v128_store(out, wasm_i64x2_shuffle(t0, t1, 0, 2));
  wasm_v128_store(out + 8, wasm_i64x2_shuffle(t0, t1, 1, 3));
  wasm_v128_store(out + 16, wasm_i64x2_shuffle(t2, t3, 0, 2));
  wasm_v128_store(out + 24, wasm_i64x2_shuffle(t2, t3, 1, 3));
}

template <bool kSigned>
void packa4(size_t rows, size_t k, const void* x, size_t x_stride, int16_t* panel) {
  const auto* base = static_cast<const uint8_t*>(x);
  const uint8_t* r[4];
  for (size_t m = 0; m < 4; ++m) r[m] = base + std::min(m, rows - 1) * x_stride;
  const v128_t keep[4] = {wasm_i32x4_splat(-1), wasm_i32x4_splat(rows > 1 ? -1 : 0),
                          wasm_i32x4_splat(rows > 2 ? -1 : 0), wasm_i32x4_splat(rows > 3 ? -1 : 0)};
  size_t kk = 0;
  for (; kk + 8 <= k; kk += 8) {
    const v128_t v0 = widen8<kSigned>(r[0] + kk);
    const v128_t v1 = wasm_v128_and(widen8<kSigned>(r[1] + kk), keep[1]);
    const v128_t v2 = wasm_v128_and(widen8<kSigned>(r[2] + kk), keep[2]);
    const v128_t v3 = wasm_v128_and(widen8<kSigned>(r[3] + kk), keep[3]);
    store_pairs4(v0, v1, v2, v3, panel);
    panel += 32;
  }
  if (kk < k) {  // tail: zero-padded copy of the last < 8 values of each row
    uint8_t tail[4][8] = {};
    for (size_t m = 0; m < std::min<size_t>(rows, 4); ++m) std::memcpy(tail[m], r[m] + kk, k - kk);
    const size_t pairs = (k - kk + 1) / 2;
    alignas(16) int16_t out[32];
    const v128_t v0 = widen8<kSigned>(tail[0]), v1 = widen8<kSigned>(tail[1]);
    const v128_t v2 = widen8<kSigned>(tail[2]), v3 = widen8<kSigned>(tail[3]);
    store_pairs4(v0, v1, v2, v3, out);
    std::memcpy(panel, out, pairs * 8 * sizeof(int16_t));
  }
}

template <bool kSigned>
void packa1(size_t k, const void* x, int16_t* panel) {
  const auto* row = static_cast<const uint8_t*>(x);
  size_t kk = 0;
  for (; kk + 8 <= k; kk += 8) wasm_v128_store(panel + kk, widen8<kSigned>(row + kk));
  for (; kk < k; ++kk) {
    panel[kk] = kSigned ? static_cast<int16_t>(static_cast<int8_t>(row[kk])) : row[kk];
  }
  if (k % 2) panel[k] = 0;
}

template <size_t MR, bool kSigned>
void packa(size_t rows, size_t k, const void* x, size_t x_stride, int16_t* panel) {
  if constexpr (MR == 1) {
    packa1<kSigned>(k, x, panel);
  } else {
    static_assert(MR == 4);
    packa4<kSigned>(rows, k, x, x_stride, panel);
  }
}

}  // namespace

// One kernel per kWasmSimd row of x8-packa.inc.
#define QL_KERNEL(isa, name, mr, is_signed)                                                 \
  QL_ONLY(kWasmSimd, isa,                                                                   \
          void name(size_t rows, size_t k, const void* x, size_t x_stride, int16_t* panel) { \
            packa<mr, is_signed>(rows, k, x, x_stride, panel);                              \
          })
#include "x8-packa/x8-packa.inc"
#undef QL_KERNEL

}  // namespace quantlab
