// f32-dwconv: fp32 depthwise 2-D convolution micro-kernels over one NCHW channel plane (the
// baseline of qs8-dwconv). Layouts as in qs8-dwconv/qs8-dwconv.h, in float: x is the padded
// plane (zeros in the padding) with slack of kF32DwconvOverread floats per row; w is
// float bias, 3 floats of padding, then taps[kh][kw] zero padded to a multiple of 4.
// Every variant computes acc = bias, then acc = acc + x * w tap by tap in [kh][kw] order
// (multiply and add rounded separately), then clamps: bit-exact across variants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "f32-gemm/f32-gemm.h"       // F32GemmParams
#include "isa.h"
#include "qs8-dwconv/qs8-dwconv.h"   // DwconvGeometry

namespace quantlab {

inline constexpr size_t kF32DwconvOverread = 16;

struct F32DwconvPlane {
  size_t out_h = 0, out_w = 0;
  const float* x = nullptr;
  size_t x_stride = 0;
  const float* w = nullptr;
  float* y = nullptr;
};

using F32DwconvUkernelFn = void (*)(const DwconvGeometry& g, const F32DwconvPlane& plane,
                                    const F32GemmParams* params);

#define QL_KERNEL(isa, name) \
  void name(const DwconvGeometry& g, const F32DwconvPlane& plane, const F32GemmParams* params);
#include "f32-dwconv/f32-dwconv.inc"
#undef QL_KERNEL

struct F32DwconvUkernel {
  Isa isa;
  const char* name;
  F32DwconvUkernelFn fn;
};

std::span<const F32DwconvUkernel> f32_dwconv_ukernels();
/// The last listed kernel of `isa`, or null.
const F32DwconvUkernel* f32_dwconv_find(Isa isa);

/// Floats of one packed channel.
constexpr size_t f32_dwconv_channel_floats(size_t taps) { return 4 + (taps + 3) / 4 * 4; }

}  // namespace quantlab
