// f32-dwconv scalar reference (test oracle and fallback) and the registry.
#include <vector>

#include "f32-dwconv/f32-dwconv.h"

namespace quantlab {

void ql_f32_dwconv_minmax_ukernel__scalar(const DwconvGeometry& g, const F32DwconvPlane& plane,
                                          const F32GemmParams* params) {
  const float* taps = plane.w + 4;
  for (size_t oh = 0; oh < plane.out_h; ++oh) {
    for (size_t ow = 0; ow < plane.out_w; ++ow) {
      float acc = plane.w[0];
      for (size_t kh = 0; kh < g.kernel_h; ++kh) {
        const float* row = plane.x + (oh * g.stride_h + kh * g.dilation_h) * plane.x_stride;
        for (size_t kw = 0; kw < g.kernel_w; ++kw) {
          const float prod = row[ow * g.stride_w + kw * g.dilation_w] * taps[kh * g.kernel_w + kw];
          acc = acc + prod;
        }
      }
      acc = acc < params->min ? params->min : acc;
      acc = params->max < acc ? params->max : acc;
      plane.y[oh * plane.out_w + ow] = acc;
    }
  }
}

std::span<const F32DwconvUkernel> f32_dwconv_ukernels() {
  static const std::vector<F32DwconvUkernel> list = {
#define QL_KERNEL(isa, name) {Isa::isa, #name, &name},
#include "f32-dwconv/f32-dwconv.inc"
#undef QL_KERNEL
  };
  return list;
}

const F32DwconvUkernel* f32_dwconv_find(Isa isa) {
  const F32DwconvUkernel* found = nullptr;
  for (const auto& u : f32_dwconv_ukernels()) {
    if (u.isa == isa) found = &u;
  }
  return found;
}

}  // namespace quantlab
