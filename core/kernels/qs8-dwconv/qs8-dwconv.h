// qs8-dwconv: int8 depthwise 2-D convolution micro-kernels over one NCHW channel plane, with
// the same requantization as qs8-gemm (fp32, gemmlowp fixed point, or raw int32).
//
// Layouts:
//  x: the channel's uint8 / int8 input plane (x_signed) with its padding materialized
//     (padding holds Z_X, so the folded bias stays exact): rows of x_stride bytes; the kernel reads
//     rows oh * stride_h + kh * dilation_h and columns ow * stride_w + kw * dilation_w, and
//     may read up to kQS8DwconvOverread elements past the last column it needs in a row
//     (callers allocate that slack, zero filled).
//  w: the packed channel (qs8_dwconv_channel_bytes): int32 bias (q_b - Z_X sum w),
//     rq (kFp32: float scale; kGemmlowp: int32 M0, int32 shift; zero padded to 12 bytes),
//     then int16 taps[kh][kw], zero padded to a multiple of 8.
//  y: the output plane [out_h][out_w] of the output type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "isa.h"
#include "qs8-gemm/qs8-gemm.h"  // QS8Requant, QS8GemmParams

namespace quantlab {

/// Kernel size, stride and dilation of a depthwise convolution.
struct DwconvGeometry {
  size_t kernel_h = 3, kernel_w = 3;
  size_t stride_h = 1, stride_w = 1;
  size_t dilation_h = 1, dilation_w = 1;
};

inline constexpr size_t kQS8DwconvOverread = 16;

struct QS8DwconvPlane {
  size_t out_h = 0, out_w = 0;
  const void* x = nullptr;
  size_t x_stride = 0;
  bool x_signed = false;
  const void* w = nullptr;
  void* y = nullptr;
};

using QS8DwconvUkernelFn = void (*)(const DwconvGeometry& g, const QS8DwconvPlane& plane,
                                    const QS8GemmParams* params);

#define QL_KERNEL(isa, name, requant)                                   \
  void name(const DwconvGeometry& g, const QS8DwconvPlane& plane, \
            const QS8GemmParams* params);
#include "qs8-dwconv/qs8-dwconv.inc"
#undef QL_KERNEL

/// The definition of kernel `name` as a call of `impl`, for the variant files' QL_KERNEL over
/// qs8-dwconv.inc (see QL_ONLY in isa.h).
#define QL_QS8_DWCONV_DEFINE(name, impl)                                           \
  void name(const DwconvGeometry& g, const QS8DwconvPlane& plane,                 \
            const QS8GemmParams* params) {                                         \
    impl(g, plane, params);                                                        \
  }
/// The same with impl<QS8Requant::rq, T> for the plane's input type T (int8_t or uint8_t).
#define QL_QS8_DWCONV_DEFINE_TYPED(name, impl, rq)                                 \
  void name(const DwconvGeometry& g, const QS8DwconvPlane& plane,                 \
            const QS8GemmParams* params) {                                         \
    if (plane.x_signed) {                                                          \
      impl<QS8Requant::rq, int8_t>(g, plane, params);                              \
    } else {                                                                       \
      impl<QS8Requant::rq, uint8_t>(g, plane, params);                             \
    }                                                                              \
  }

struct QS8DwconvUkernel {
  Isa isa;
  const char* name;
  QS8Requant requant;
  QS8DwconvUkernelFn fn;
};

std::span<const QS8DwconvUkernel> qs8_dwconv_ukernels();
/// The last listed kernel of `isa` for `requant`, or null.
const QS8DwconvUkernel* qs8_dwconv_find(Isa isa, QS8Requant requant);

/// Bytes of one packed channel: 16-byte header plus the taps rounded up to 8 int16.
constexpr size_t qs8_dwconv_channel_bytes(size_t taps) {
  return 16 + 2 * ((taps + 7) / 8 * 8);
}

/// Packs one channel (see the banner). rq_fp32 is used for kFp32, rq_M0 / rq_shift for
/// kGemmlowp.
void qs8_dwconv_pack_channel(size_t taps, const int8_t* w, int32_t bias, QS8Requant r,
                             float rq_fp32, int32_t rq_M0, int32_t rq_shift, void* out);

}  // namespace quantlab
