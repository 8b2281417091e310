// f32-dwconv with xsimd: output pixels in lanes, one xsimd::batch<float> at a time; per tap
// one unaligned load, a multiply by the splatted weight, then an add, in the reference's
// tap order. Strides other than 1 use the scalar kernel (xsimd 8.1 has no lane shuffles).
#include <xsimd/xsimd.hpp>

#include <cstring>

#include "f32-dwconv/f32-dwconv.h"

namespace quantlab {

void ql_f32_dwconv_minmax_ukernel__xsimd(const DwconvGeometry& g, const F32DwconvPlane& plane,
                                         const F32GemmParams* params) {
  using BF = xsimd::batch<float, xsimd::default_arch>;
  constexpr size_t kV = BF::size;
  if (g.stride_w != 1 || kV > kF32DwconvOverread) {
    ql_f32_dwconv_minmax_ukernel__scalar(g, plane, params);
    return;
  }
  const size_t ntaps = g.kernel_h * g.kernel_w;
  const float* taps = plane.w + 4;
  const BF vbias(plane.w[0]), vmin(params->min), vmax(params->max);
  alignas(64) float out[kV];
  for (size_t oy = 0; oy < plane.out_h; ++oy) {
    const float* row = plane.x + oy * g.stride_h * plane.x_stride;
    for (size_t ox = 0; ox < plane.out_w; ox += kV) {
      const size_t n = plane.out_w - ox < kV ? plane.out_w - ox : kV;
      BF acc = vbias;
      for (size_t t = 0; t < ntaps; ++t) {
        const float* p = row + ox + (t / g.kernel_w) * g.dilation_h * plane.x_stride +
                         (t % g.kernel_w) * g.dilation_w;
        const BF prod = BF::load_unaligned(p) * BF(taps[t]);
        acc = acc + prod;
      }
      acc = xsimd::select(acc < vmin, vmin, acc);
      acc = xsimd::select(vmax < acc, vmax, acc);
      acc.store_aligned(out);
      std::memcpy(plane.y + oy * plane.out_w + ox, out, n * sizeof(float));
    }
  }
}

}  // namespace quantlab
