// qs8-dwconv in WebAssembly SIMD128: output pixels in lanes, 8 per step (NCHW needs no
// transpose). Each tap's 8 inputs are one i16x8.load8x8 (stride 2: 16 bytes, even bytes
// kept, then widened). Taps go two at a time, (t, t+1) in [kh][kw] order: the two int16
// vectors are interleaved so that each 32-bit lane holds one pixel's pair of inputs, and
// one i32x4.dot_i16x8_s with the splatted weight pair adds both taps. Requantization as in
// qs8-gemm/wasmsimd.cpp, bit for bit with requantize.hpp (fp32 tail: simd128.h; gemmlowp
// with one multiplier per plane: gemmlowp() below). Strides above 2 use the scalar kernel.
#include <wasm_simd128.h>

#include <cstring>

#include "qs8-dwconv/qs8-dwconv.h"
#include "simd128.h"

namespace quantlab {
namespace {

constexpr size_t kMaxPairs = 64;  // kernels up to 128 taps take the fast path

template <bool kSigned, size_t kStride>
inline v128_t load8(const uint8_t* p) {
  return simd128::load8x8_widen<kSigned, kStride>(p);
}

/// acc * M (before Z_Y) in gemmlowp fixed point, one multiplier for all lanes.
inline v128_t gemmlowp(v128_t acc, int32_t M0, int32_t shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const v128_t shifted = wasm_i32x4_shl(acc, static_cast<uint32_t>(left));
  v128_t x = wasm_v128_bitselect(wasm_i32x4_splat(INT32_MAX), shifted,
                                 wasm_i32x4_gt(acc, wasm_i32x4_splat(INT32_MAX >> left)));
  x = wasm_v128_bitselect(wasm_i32x4_splat(INT32_MIN), x,
                          wasm_i32x4_lt(acc, wasm_i32x4_splat(INT32_MIN >> left)));
  const v128_t vm = wasm_i32x4_splat(M0);
  const v128_t nudge = wasm_i64x2_splat(int64_t{1} << 30);
  const v128_t lo = wasm_i64x2_shr(wasm_i64x2_add(wasm_i64x2_extmul_low_i32x4(x, vm), nudge), 31);
  const v128_t hi = wasm_i64x2_shr(wasm_i64x2_add(wasm_i64x2_extmul_high_i32x4(x, vm), nudge), 31);
  const v128_t q = wasm_i32x4_shuffle(lo, hi, 0, 2, 4, 6);
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  const v128_t remainder = wasm_v128_and(q, wasm_i32x4_splat(mask));
  const v128_t threshold = wasm_i32x4_sub(wasm_i32x4_splat(mask >> 1),
                                          wasm_i32x4_lt(q, wasm_i32x4_splat(0)));
  return wasm_i32x4_sub(wasm_i32x4_shr(q, static_cast<uint32_t>(right)),
                        wasm_i32x4_gt(remainder, threshold));
}

/// The per-plane output constants of both kernels below (one channel: one multiplier).
struct OutputConstants {
  simd128::Fp32Requant fp32;
  v128_t lo_i, hi_i, zp;  // gemmlowp: q_min - Z_Y, q_max - Z_Y, Z_Y
  int32_t M0, shift;
  bool out_signed;
};

/// A packed channel's 16-byte header (bias, then the fp32 scale or M0 and shift) and taps.
struct ChannelHeader {
  int32_t bias, M0, shift;
  float scale;
  const int16_t* taps;
};

inline ChannelHeader read_header(const void* packed) {
  const auto* w = static_cast<const std::byte*>(packed);
  ChannelHeader h;
  std::memcpy(&h.bias, w, 4);
  std::memcpy(&h.scale, w + 4, 4);
  std::memcpy(&h.M0, w + 4, 4);
  std::memcpy(&h.shift, w + 8, 4);
  h.taps = reinterpret_cast<const int16_t*>(w + 16);
  return h;
}

inline OutputConstants output_constants(const QS8GemmParams* params, const ChannelHeader& h,
                                        v128_t vmagic, v128_t vmagic_zp) {
  const int32_t zp = params->zero_point;
  OutputConstants c;
  c.fp32.scale = wasm_f32x4_splat(h.scale);
  c.fp32.lo = wasm_f32x4_splat(static_cast<float>(params->q_min - zp));
  c.fp32.hi = wasm_f32x4_splat(static_cast<float>(params->q_max - zp));
  c.fp32.magic = vmagic;
  c.fp32.magic_zp = vmagic_zp;
  c.lo_i = wasm_i32x4_splat(params->q_min - zp);
  c.hi_i = wasm_i32x4_splat(params->q_max - zp);
  c.zp = wasm_i32x4_splat(zp);
  c.M0 = h.M0;
  c.shift = h.shift;
  c.out_signed = params->out_signed;
  return c;
}

/// Requantize (or not, kS32) 8 pixels' accumulators and store the first n at output i.
template <QS8Requant kRq>
inline void store_output(const QS8DwconvPlane& plane, size_t i, size_t n, v128_t acc0, v128_t acc1,
                         const OutputConstants& c) {
  if constexpr (kRq == QS8Requant::kS32) {
    simd128::store_8x32(static_cast<int32_t*>(plane.y) + i, acc0, acc1, n);
  } else {
    v128_t r0, r1;
    if constexpr (kRq == QS8Requant::kFp32) {
      r0 = simd128::fp32_requantize(acc0, c.fp32);
      r1 = simd128::fp32_requantize(acc1, c.fp32);
    } else {
      r0 = wasm_i32x4_add(wasm_i32x4_min(wasm_i32x4_max(gemmlowp(acc0, c.M0, c.shift), c.lo_i), c.hi_i), c.zp);
      r1 = wasm_i32x4_add(wasm_i32x4_min(wasm_i32x4_max(gemmlowp(acc1, c.M0, c.shift), c.lo_i), c.hi_i), c.zp);
    }
    simd128::store_codes(static_cast<uint8_t*>(plane.y) + i, r0, r1, c.out_signed, n);
  }
}

/// kTaps: kh * kw when known at compile time (the tap loop is then unrolled, offsets and
/// weight pairs live in registers), or 0 for any kernel size.
template <QS8Requant kRq, bool kSigned, size_t kStride, size_t kTaps>
void dwconv(const DwconvGeometry& g, const QS8DwconvPlane& plane, const QS8GemmParams* params) {
  const ChannelHeader h = read_header(plane.w);
  const int16_t* taps = h.taps;
  const size_t ntaps = kTaps != 0 ? kTaps : g.kernel_h * g.kernel_w;
  const size_t npairs = (ntaps + 1) / 2;
  // Input offset of each tap (elements) and the splatted weight pairs.
  size_t offset[2 * kMaxPairs];
  v128_t wpair[kMaxPairs];
  for (size_t t = 0; t < 2 * npairs; ++t) {
    const size_t tt = t < ntaps ? t : ntaps - 1;  // the padding tap has weight 0
    offset[t] = (tt / g.kernel_w) * g.dilation_h * plane.x_stride + (tt % g.kernel_w) * g.dilation_w;
  }
  for (size_t p = 0; p < npairs; ++p) {
    const int32_t w0 = taps[2 * p], w1 = 2 * p + 1 < ntaps ? taps[2 * p + 1] : 0;
    wpair[p] = wasm_i32x4_splat(static_cast<int32_t>((static_cast<uint32_t>(w1) << 16) |
                                                     (static_cast<uint32_t>(w0) & 0xffffu)));
  }
  const v128_t vbias = wasm_i32x4_splat(h.bias);
  const OutputConstants out =
      output_constants(params, h, wasm_f32x4_splat(12582912.0f),
                       wasm_i32x4_splat(0x4B400000 - params->zero_point));
  for (size_t oy = 0; oy < plane.out_h; ++oy) {
    const uint8_t* row = static_cast<const uint8_t*>(plane.x) + oy * g.stride_h * plane.x_stride;
    for (size_t ox = 0; ox < plane.out_w; ox += 8) {
      const size_t n = plane.out_w - ox < 8 ? plane.out_w - ox : 8;
      const uint8_t* px = row + ox * kStride;
      v128_t acc0 = vbias, acc1 = vbias;
      for (size_t p = 0; p < npairs; ++p) {
        const v128_t a = load8<kSigned, kStride>(px + offset[2 * p]);
        // An odd last tap pairs with zeros (its partner's weight is 0 anyway).
        const v128_t b = 2 * p + 1 < ntaps ? load8<kSigned, kStride>(px + offset[2 * p + 1])
                                           : wasm_i16x8_splat(0);
        const v128_t lo = wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
        const v128_t hi = wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
        acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(lo, wpair[p]));
        acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(hi, wpair[p]));
      }
      store_output<kRq>(plane, oy * plane.out_w + ox, n, acc0, acc1, out);
    }
  }
}

/// 3x3, horizontal stride 1, dilation_w 1 or 2: per kernel row, two overlapping loads (pixels 0..7 and
/// 4..11 of the row, widened) give every tap pair with single-source shuffles:
/// (kw0, kw1) = lanes (0,1,1,2,2,3,3,4) and (kw2, -) = lanes (2,3,3,4,4,5,5,6) of each load
/// (dilation d scales the lane offsets, so d <= 2 here; larger dilations take the generic
/// path). Each shuffled pair feeds its dot product at once, keeping about a dozen vectors
/// live. The constants come from the caller as values, so they stay out of the loop.
template <QS8Requant kRq, bool kSigned, size_t kDilation>
void dwconv3x3s1(const DwconvGeometry& g, const QS8DwconvPlane& plane,
                 const QS8GemmParams* params, v128_t vmagic) {
  const ChannelHeader h = read_header(plane.w);
  const int16_t* taps = h.taps;
  auto pair = [](int32_t w0, int32_t w1) {
    return wasm_i32x4_splat(static_cast<int32_t>((static_cast<uint32_t>(w1) << 16) |
                                                 (static_cast<uint32_t>(w0) & 0xffffu)));
  };
  const v128_t w01[3] = {pair(taps[0], taps[1]), pair(taps[3], taps[4]), pair(taps[6], taps[7])};
  const v128_t w2x[3] = {pair(taps[2], 0), pair(taps[5], 0), pair(taps[8], 0)};
  const size_t row_step = g.dilation_h * plane.x_stride;
  const v128_t vbias = wasm_i32x4_splat(h.bias);
  const OutputConstants out =
      output_constants(params, h, vmagic,
                       wasm_i32x4_sub(vmagic, wasm_i32x4_splat(params->zero_point)));
  for (size_t oy = 0; oy < plane.out_h; ++oy) {
    const uint8_t* row = static_cast<const uint8_t*>(plane.x) + oy * g.stride_h * plane.x_stride;
    for (size_t ox = 0; ox < plane.out_w; ox += 8) {
      const size_t n = plane.out_w - ox < 8 ? plane.out_w - ox : 8;
      v128_t acc0 = vbias, acc1 = vbias;
      for (size_t r = 0; r < 3; ++r) {
        const uint8_t* px = row + r * row_step + ox;
        const v128_t a = load8<kSigned, 1>(px);      // pixels 0..7
        const v128_t b = load8<kSigned, 1>(px + 4);  // pixels 4..11
        if constexpr (kDilation == 1) {
          acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(a, a, 0, 1, 1, 2, 2, 3, 3, 4), w01[r]));
          acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(b, b, 0, 1, 1, 2, 2, 3, 3, 4), w01[r]));
          acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(a, a, 2, 3, 3, 4, 4, 5, 5, 6), w2x[r]));
          acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(b, b, 2, 3, 3, 4, 4, 5, 5, 6), w2x[r]));
        } else {  // dilation 2: taps at 0, 2, 4
          acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(a, a, 0, 2, 1, 3, 2, 4, 3, 5), w01[r]));
          acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(b, b, 0, 2, 1, 3, 2, 4, 3, 5), w01[r]));
          acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(a, a, 4, 5, 5, 6, 6, 7, 7, 7), w2x[r]));
          const v128_t c = load8<kSigned, 1>(px + 8);  // pixels 8..15
          acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(c, c, 0, 1, 1, 2, 2, 3, 3, 3), w2x[r]));
        }
      }
      store_output<kRq>(plane, oy * plane.out_w + ox, n, acc0, acc1, out);
    }
  }
}

/// 1.5 * 2^23 as a value the compiler cannot fold into each use (see dwconv3x3s1).
__attribute__((noinline)) v128_t magic_number() { return wasm_f32x4_splat(12582912.0f); }

/// The scalar kernel that runs what the SIMD128 kernels do not (strides above 2, more taps).
template <QS8Requant kRq>
constexpr QS8DwconvUkernelFn scalar_fallback() {
  if constexpr (kRq == QS8Requant::kFp32) return &ql_qs8_dwconv_minmax_fp32_ukernel__scalar;
  if constexpr (kRq == QS8Requant::kGemmlowp) return &ql_qs8_dwconv_minmax_gemmlowp_ukernel__scalar;
  if constexpr (kRq == QS8Requant::kS32) return &ql_qs8_dwconv_s32_ukernel__scalar;
}

/// The kernel for the plane's geometry, input type kSigned.
template <QS8Requant kRq, bool kSigned>
void dispatch_typed(const DwconvGeometry& g, const QS8DwconvPlane& plane,
                    const QS8GemmParams* params) {
  const bool k3x3 = g.kernel_h == 3 && g.kernel_w == 3;
  if (g.stride_w == 1) {
    if (k3x3 && g.dilation_w == 1) {
      dwconv3x3s1<kRq, kSigned, 1>(g, plane, params, magic_number());
    } else if (k3x3 && g.dilation_w == 2) {
      dwconv3x3s1<kRq, kSigned, 2>(g, plane, params, magic_number());
    } else if (k3x3) {
      dwconv<kRq, kSigned, 1, 9>(g, plane, params);
    } else {
      dwconv<kRq, kSigned, 1, 0>(g, plane, params);
    }
  } else if (k3x3) {
    dwconv<kRq, kSigned, 2, 9>(g, plane, params);
  } else {
    dwconv<kRq, kSigned, 2, 0>(g, plane, params);
  }
}

template <QS8Requant kRq>
void dispatch(const DwconvGeometry& g, const QS8DwconvPlane& plane, const QS8GemmParams* params) {
  if (g.kernel_h * g.kernel_w > 2 * kMaxPairs || g.stride_w > 2) {
    scalar_fallback<kRq>()(g, plane, params);
  } else if (plane.x_signed) {
    dispatch_typed<kRq, true>(g, plane, params);
  } else {
    dispatch_typed<kRq, false>(g, plane, params);
  }
}

}  // namespace

// One kernel per kWasmSimd row of qs8-dwconv.inc.
#define QL_KERNEL(isa, name, rq) \
  QL_ONLY(kWasmSimd, isa, QL_QS8_DWCONV_DEFINE(name, dispatch<QS8Requant::rq>))
#include "qs8-dwconv/qs8-dwconv.inc"
#undef QL_KERNEL

}  // namespace quantlab
