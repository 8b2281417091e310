// WebAssembly SIMD128 helpers shared by the families' wasmsimd.cpp variants: the loads that
// widen 8 int8 / uint8 inputs to int16 lanes, partial stores of a vector tile's tail, and
// the fp32 requantization tail of 8 int32 accumulators. All are inline and take their
// constants as arguments, so each kernel keeps its own constant set in registers exactly as
// if they were written out. The gemmlowp fixed-point multiply stays in each kernel
// (qs8-gemm/wasmsimd.cpp: per-lane multipliers; qs8-dwconv/wasmsimd.cpp: one per plane,
// with scalar shifts): the two are different instruction sequences, chosen per kernel.
//
// Bit-exactness contract: every helper computes exactly what the scalar reference of the
// kernel using it computes (requantize.hpp's round-half-even fp32 path: clamp, then add
// 1.5 * 2^23, which rounds to nearest even like nearbyint for |v| < 2^22).
#pragma once

#include <wasm_simd128.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quantlab::simd128 {

/// 8 inputs widened to int16 lanes: 8 consecutive bytes (kStride 1) or the even bytes of 16
/// (kStride 2), sign- or zero-extended.
template <bool kSigned, size_t kStride>
inline v128_t load8x8_widen(const uint8_t* p) {
  static_assert(kStride == 1 || kStride == 2);
  if constexpr (kStride == 1) {
    return kSigned ? wasm_i16x8_load8x8(p) : wasm_u16x8_load8x8(p);
  } else {
    const v128_t v = wasm_v128_load(p);
    const v128_t even = wasm_i8x16_shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
    return kSigned ? wasm_i16x8_extend_low_i8x16(even) : wasm_u16x8_extend_low_u8x16(even);
  }
}

/// Store the first n (<= 8) bytes of the low half of v.
inline void store_low_bytes(void* p, v128_t v, size_t n) {
  auto* o = static_cast<uint8_t*>(p);
  if (n == 8) {
    wasm_v128_store64_lane(o, v, 0);
    return;
  }
  if (n & 4) {
    wasm_v128_store32_lane(o, v, 0);
    v = wasm_u64x2_shr(v, 32);
    o += 4;
  }
  if (n & 2) {
    wasm_v128_store16_lane(o, v, 0);
    v = wasm_u64x2_shr(v, 16);
    o += 2;
  }
  if (n & 1) wasm_v128_store8_lane(o, v, 0);
}

/// Store the first n (<= 8) 32-bit lanes of (v0, v1) (int32 or float elements).
template <class T>
inline void store_8x32(T* p, v128_t v0, v128_t v1, size_t n) {
  static_assert(sizeof(T) == 4);
  if (n == 8) {
    wasm_v128_store(p, v0);
    wasm_v128_store(p + 4, v1);
    return;
  }
  alignas(16) T tmp[8];
  wasm_v128_store(tmp, v0);
  wasm_v128_store(tmp + 4, v1);
  std::memcpy(p, tmp, n * sizeof(T));
}

/// Constants of the fp32 requantization of one output channel (see fp32_requantize).
struct Fp32Requant {
  v128_t scale;     // f32 multiplier
  v128_t lo, hi;    // f32 q_min - Z_Y, q_max - Z_Y
  v128_t magic;     // f32 1.5 * 2^23
  v128_t magic_zp;  // i32 bits of magic, minus Z_Y
};

/// The int32 output codes of 4 accumulators: clamp(acc * scale) rounded half to even, + Z_Y.
inline v128_t fp32_requantize(v128_t acc, const Fp32Requant& r) {
  v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), r.scale);
  f = wasm_f32x4_pmin(wasm_f32x4_pmax(f, r.lo), r.hi);
  return wasm_i32x4_sub(wasm_f32x4_add(f, r.magic), r.magic_zp);
}

/// 8 output codes (int32 lanes r0, r1 already on the output grid) narrowed to bytes and
/// stored: the first n of them.
inline void store_codes(void* p, v128_t r0, v128_t r1, bool out_signed, size_t n) {
  const v128_t s = wasm_i16x8_narrow_i32x4(r0, r1);
  const v128_t bytes = out_signed ? wasm_i8x16_narrow_i16x8(s, s) : wasm_u8x16_narrow_i16x8(s, s);
  store_low_bytes(p, bytes, n);
}

}  // namespace quantlab::simd128
