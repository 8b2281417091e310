// x8-im2col: gathers the column panel of a quantized convolution GEMM (qs8-gemm kConv role)
// for one block of NR output pixels: int16 [kp][NR][2] with k = (ci, kh, kw) in OIHW order,
// kp = ceil(K / 2), widened from a padded uint8 / int8 input.
//
// The input is the group's channels with the convolution padding materialized (holding
// Z_X), so no tap is ever out of bounds: channel ci, padded row r, padded column c at
// x[ci * plane_stride + r * row_stride + c]. Kernels may read up to kX8Im2colOverread
// bytes past the last padded column of a row (callers allocate that slack). Lanes >= count
// may hold anything (their outputs are never stored); entries k >= K are zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "isa.h"

namespace quantlab {

inline constexpr size_t kX8Im2colOverread = 32;

struct Im2colGeometry {
  size_t channels = 1;  ///< input channels of the group (C_in / groups)
  size_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  size_t out_w = 1;     ///< output width: pixel p is (p / out_w, p % out_w)
  size_t plane_stride = 0, row_stride = 0;  ///< of the padded input, in elements
  /// Optional (may be null): K entries, tap k = (ci, kh, kw) at ci * plane_stride +
  /// kh * dilation_h * row_stride + kw * dilation_w from its pixel's top-left input.
  const uint32_t* tap_offset = nullptr;
};

/// True when output pixel p reads its top-left input at offset p (stride 1 and rows exactly
/// as wide as the output, e.g. a 1x1 convolution without padding): then any run of pixels
/// is contiguous in the input, even across output rows.
inline bool im2col_linear(const Im2colGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.out_w == g.row_stride;
}

/// The tap offsets of Im2colGeometry::tap_offset.
inline void im2col_tap_offsets(const Im2colGeometry& g, uint32_t* out) {
  size_t k = 0;
  for (size_t ci = 0; ci < g.channels; ++ci) {
    for (size_t kh = 0; kh < g.kernel_h; ++kh) {
      for (size_t kw = 0; kw < g.kernel_w; ++kw) {
        out[k++] = static_cast<uint32_t>(ci * g.plane_stride + kh * g.dilation_h * g.row_stride +
                                         kw * g.dilation_w);
      }
    }
  }
}

/// nr: the panel's block width; a kernel listed with NR = 0 handles any nr, the others
/// only their own.
using X8Im2colFn = void (*)(const Im2colGeometry& g, const void* x, size_t nr, size_t p0,
                            size_t count, int16_t* panel);

#define QL_KERNEL(isa, name, nr, is_signed)                                                \
  void name(const Im2colGeometry& g, const void* x, size_t nr_, size_t p0, size_t count, \
            int16_t* panel);
#include "x8-im2col/x8-im2col.inc"
#undef QL_KERNEL

struct X8Im2colUkernel {
  Isa isa;
  const char* name;
  uint32_t nr;
  bool is_signed;
  X8Im2colFn fn;
};

std::span<const X8Im2colUkernel> x8_im2col_ukernels();
/// The last listed kernel of `isa` for (nr, signedness), else the any-NR scalar kernel.
const X8Im2colUkernel* x8_im2col_find(Isa isa, uint32_t nr, bool is_signed);

/// The generic gather (any NR), used by the scalar rows and by SIMD kernels off their
/// fast paths.
template <class T, class Out, size_t KR>
void im2col_gather(const Im2colGeometry& g, const T* x, size_t nr, size_t p0, size_t count,
                   Out* panel) {
  const size_t taps = g.kernel_h * g.kernel_w;
  const size_t K = g.channels * taps;
  const size_t kpad = (K + KR - 1) / KR * KR;
  for (size_t lane = 0; lane < nr; ++lane) {
    const size_t p = p0 + (lane < count ? lane : 0);
    const size_t oy = p / g.out_w, ox = p % g.out_w;
    size_t k = 0;
    for (size_t ci = 0; ci < g.channels; ++ci) {
      const T* plane = x + ci * g.plane_stride;
      for (size_t kh = 0; kh < g.kernel_h; ++kh) {
        const T* row = plane + (oy * g.stride_h + kh * g.dilation_h) * g.row_stride + ox * g.stride_w;
        for (size_t kw = 0; kw < g.kernel_w; ++kw, ++k) {
          panel[((k / KR) * nr + lane) * KR + k % KR] = static_cast<Out>(row[kw * g.dilation_w]);
        }
      }
    }
    for (; k < kpad; ++k) panel[((k / KR) * nr + lane) * KR + k % KR] = Out{0};
  }
}

}  // namespace quantlab
