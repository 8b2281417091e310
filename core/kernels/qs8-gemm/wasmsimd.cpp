// qs8-gemm in WebAssembly SIMD128: MR x 8 tiles over c2 pairs ("dot16x2"). The inner loop
// per pair of k: two weight loads of 8 columns x 2 k (kLinear: int8 widened by
// i16x8.load8x8_s, one instruction like v128.load, half the bytes; kConv: the im2col panel,
// int16, v128.load), per row one v128.load32_splat of the row's int16 pair, and per (row,
// column vector) one i32x4.dot_i16x8_s plus one i32x4.add; 4 x 8 keeps 8 accumulators + 4
// operands live, within the ~13 v128 registers V8 can hold on x64 (more spill).
// Requantization: fp32 with clamping before the magic-number rounding (adding 1.5 * 2^23
// rounds to nearest even exactly as nearbyint for |v| < 2^22), or gemmlowp fixed point
// with 64-bit products (i64x2.extmul) and per-lane shifts; both match requantize.hpp bit
// for bit.
#include <wasm_simd128.h>

#include <algorithm>
#include <cstring>

#include "qs8-gemm/qs8-gemm.h"
#include "simd128.h"

namespace quantlab {
namespace {

constexpr size_t kNR = 8;

/// Per-lane constants of the fixed-point requantization of 4 channels.
struct GemmlowpLanes {
  v128_t M0, pow_left, hi_lim, lo_lim, right, mask, half;
};

GemmlowpLanes gemmlowp_lanes(const int32_t* M0, const int32_t* shift, size_t stride = 1) {
  alignas(16) int32_t m0[4], pw[4], hi[4], lo[4], rt[4], mk[4], hf[4];
  for (size_t i = 0; i < 4; ++i) {
    const int32_t s = shift[i * stride];
    const int left = s > 0 ? s : 0;
    const int right = s > 0 ? 0 : -s;
    m0[i] = M0[i * stride];
    pw[i] = static_cast<int32_t>(uint32_t{1} << left);
    hi[i] = INT32_MAX >> left;
    lo[i] = INT32_MIN >> left;
    rt[i] = right;
    mk[i] = static_cast<int32_t>((int64_t{1} << right) - 1);
    hf[i] = mk[i] >> 1;
  }
  return {wasm_v128_load(m0), wasm_v128_load(pw), wasm_v128_load(hi), wasm_v128_load(lo),
          wasm_v128_load(rt), wasm_v128_load(mk), wasm_v128_load(hf)};
}

/// acc * M per lane (before Z_Y), exactly multiply_by_quantized_multiplier.
inline v128_t gemmlowp_multiply(v128_t acc, const GemmlowpLanes& l) {
  // x' = saturate(acc << left)
  const v128_t shifted = wasm_i32x4_mul(acc, l.pow_left);
  v128_t x = wasm_v128_bitselect(wasm_i32x4_splat(INT32_MAX), shifted, wasm_i32x4_gt(acc, l.hi_lim));
  x = wasm_v128_bitselect(wasm_i32x4_splat(INT32_MIN), x, wasm_i32x4_lt(acc, l.lo_lim));
  // y1 = (x' * M0 + 2^30) >> 31 in 64 bits (round half up; never saturates as M0 >= 0)
  const v128_t nudge = wasm_i64x2_splat(int64_t{1} << 30);
  const v128_t p_lo = wasm_i64x2_shr(wasm_i64x2_add(wasm_i64x2_extmul_low_i32x4(x, l.M0), nudge), 31);
  const v128_t p_hi = wasm_i64x2_shr(wasm_i64x2_add(wasm_i64x2_extmul_high_i32x4(x, l.M0), nudge), 31);
  const v128_t q = wasm_i32x4_shuffle(p_lo, p_hi, 0, 2, 4, 6);
  // rounding_divide_by_pot(q, right) with per-lane right: arithmetic shifts compose.
  v128_t s = q;
  for (int bit = 0; bit < 5; ++bit) {
    const v128_t sel = wasm_i32x4_shr(wasm_i32x4_shl(l.right, static_cast<uint32_t>(31 - bit)), 31);
    s = wasm_v128_bitselect(wasm_i32x4_shr(s, static_cast<uint32_t>(1 << bit)), s, sel);
  }
  const v128_t remainder = wasm_v128_and(q, l.mask);
  const v128_t threshold = wasm_i32x4_sub(l.half, wasm_i32x4_lt(q, wasm_i32x4_splat(0)));
  return wasm_i32x4_sub(s, wasm_i32x4_gt(remainder, threshold));
}

template <QS8GemmRole kRole, QS8Requant kRq, size_t MR>
void gemm(size_t mr, size_t nc, size_t kp, const void* a, const void* b, void* c,
          size_t c_stride, const QS8GemmParams* params) {
  constexpr size_t kRqBytes = qs8_rq_bytes(kRq);
  const auto* ap = static_cast<const std::byte*>(a);
  const auto* bp = static_cast<const std::byte*>(b);
  const int16_t* aw = reinterpret_cast<const int16_t*>(ap);
  int32_t row_bias[MR] = {};
  float row_scale[MR] = {};
  const int32_t* row_M0 = nullptr;
  const int32_t* row_shift = nullptr;
  if constexpr (kRole == QS8GemmRole::kConv) {
    std::memcpy(row_bias, ap, 4 * MR);
    if constexpr (kRq == QS8Requant::kFp32) std::memcpy(row_scale, ap + 4 * MR, 4 * MR);
    row_M0 = reinterpret_cast<const int32_t*>(ap + 4 * MR);
    row_shift = reinterpret_cast<const int32_t*>(ap + 8 * MR);
    aw = reinterpret_cast<const int16_t*>(ap + MR * (4 + kRqBytes));
  }
  const bool out_signed = params->out_signed;
  const size_t rows = std::min(mr, MR);

  for (size_t n0 = 0; n0 < nc; n0 += kNR) {
    const size_t nb = std::min(kNR, nc - n0);
    const std::byte* bw;
    v128_t vacc[MR][2];
    if constexpr (kRole == QS8GemmRole::kLinear) {
      const v128_t vb0 = wasm_v128_load(bp);
      const v128_t vb1 = wasm_v128_load(bp + 16);
      for (size_t m = 0; m < MR; ++m) {
        vacc[m][0] = vb0;
        vacc[m][1] = vb1;
      }
      bw = bp + 4 * kNR;
    } else {
      for (size_t m = 0; m < MR; ++m) {
        vacc[m][0] = vacc[m][1] = wasm_i32x4_splat(row_bias[m]);
      }
      bw = bp;
    }
    // An end pointer instead of a counter: V8 then keeps one induction variable less and
    // compares registers (2 of ~58 instructions per 16 dots; kp >= 1 always).
    const int16_t* ak = aw;
    const int16_t* const a_end = aw + kp * 2 * MR;
    do {
      v128_t vb0, vb1;
      if constexpr (kRole == QS8GemmRole::kLinear) {  // int8 weights, widened by the load
        vb0 = wasm_i16x8_load8x8(bw);
        vb1 = wasm_i16x8_load8x8(bw + 8);
        bw += 16;
      } else {
        vb0 = wasm_v128_load(bw);
        vb1 = wasm_v128_load(bw + 16);
        bw += 32;
      }
      for (size_t m = 0; m < MR; ++m) {
        const v128_t va = wasm_v128_load32_splat(ak + 2 * m);
        vacc[m][0] = wasm_i32x4_add(vacc[m][0], wasm_i32x4_dot_i16x8(va, vb0));
        vacc[m][1] = wasm_i32x4_add(vacc[m][1], wasm_i32x4_dot_i16x8(va, vb1));
      }
      ak += 2 * MR;
    } while (ak != a_end);
    const std::byte* rq = bw;  // linear: rq follows the weights

    // The output constants are loaded here, after the K loop, not kept live through it.
    if constexpr (kRq == QS8Requant::kS32) {
      for (size_t m = 0; m < rows; ++m) {
        simd128::store_8x32(static_cast<int32_t*>(c) + m * c_stride + n0, vacc[m][0], vacc[m][1], nb);
      }
    } else {
      v128_t vq[MR];  // int16 per row: 8 channels
      if constexpr (kRq == QS8Requant::kFp32) {
        const v128_t vlo_f = wasm_v128_load32_splat(&params->fp32_lo);
        const v128_t vhi_f = wasm_v128_load32_splat(&params->fp32_hi);
        const v128_t vmagic = wasm_f32x4_splat(12582912.0f);
        const v128_t vmagic_zp = wasm_v128_load32_splat(&params->magic_bias);
        v128_t vs0, vs1;
        if constexpr (kRole == QS8GemmRole::kLinear) {
          vs0 = wasm_v128_load(rq);
          vs1 = wasm_v128_load(rq + 16);
        }
        for (size_t m = 0; m < MR; ++m) {
          if constexpr (kRole == QS8GemmRole::kConv) vs0 = vs1 = wasm_f32x4_splat(row_scale[m]);
          v128_t r[2];
          for (int j = 0; j < 2; ++j) {
            v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(vacc[m][j]), j ? vs1 : vs0);
            f = wasm_f32x4_pmin(wasm_f32x4_pmax(f, vlo_f), vhi_f);
            r[j] = wasm_i32x4_sub(wasm_f32x4_add(f, vmagic), vmagic_zp);
          }
          vq[m] = wasm_i16x8_narrow_i32x4(r[0], r[1]);
        }
      } else {
        const v128_t vlo_i = wasm_v128_load32_splat(&params->lo);
        const v128_t vhi_i = wasm_v128_load32_splat(&params->hi);
        const v128_t vzp = wasm_v128_load32_splat(&params->zero_point);
        GemmlowpLanes l0, l1;
        if constexpr (kRole == QS8GemmRole::kLinear) {
          const auto* M0 = reinterpret_cast<const int32_t*>(rq);
          const auto* sh = M0 + kNR;
          l0 = gemmlowp_lanes(M0, sh);
          l1 = gemmlowp_lanes(M0 + 4, sh + 4);
        }
        for (size_t m = 0; m < MR; ++m) {
          if constexpr (kRole == QS8GemmRole::kConv) {
            l0 = l1 = gemmlowp_lanes(row_M0 + m, row_shift + m, 0);
          }
          v128_t r[2];
          for (int j = 0; j < 2; ++j) {
            const v128_t y = gemmlowp_multiply(vacc[m][j], j ? l1 : l0);
            r[j] = wasm_i32x4_add(wasm_i32x4_min(wasm_i32x4_max(y, vlo_i), vhi_i), vzp);
          }
          vq[m] = wasm_i16x8_narrow_i32x4(r[0], r[1]);
        }
      }
      for (size_t m = 0; m < rows; m += 2) {
        const v128_t hi = m + 1 < MR ? vq[m + 1] : vq[m];
        const v128_t bytes = out_signed ? wasm_i8x16_narrow_i16x8(vq[m], hi)
                                        : wasm_u8x16_narrow_i16x8(vq[m], hi);
        auto* row0 = static_cast<uint8_t*>(c) + m * c_stride + n0;
        simd128::store_low_bytes(row0, bytes, nb);
        if (m + 1 < rows) simd128::store_low_bytes(row0 + c_stride, wasm_i64x2_shuffle(bytes, bytes, 1, 1), nb);
      }
    }
    bp += qs8_column_block_bytes(kRole, kNR, kp, kRq, 1);
  }
}

}  // namespace

// One kernel per kWasmSimd row of qs8-gemm.inc.
#define QL_KERNEL(isa, name, role, rq, mr, nr, w_bytes) \
  QL_ONLY(kWasmSimd, isa, QL_QS8_GEMM_DEFINE(name, (gemm<QS8GemmRole::role, QS8Requant::rq, mr>)))
#include "qs8-gemm/qs8-gemm.inc"
#undef QL_KERNEL

}  // namespace quantlab
