// x32-im2col scalar reference and the registry.
#include <vector>

#include "x32-im2col/x32-im2col.h"

namespace quantlab {

void ql_x32_im2col_ukernel_x__scalar(const Im2colGeometry& g, const float* x, size_t nr,
                                     size_t p0, size_t count, float* panel) {
  im2col_gather<float, float, 1>(g, x, nr, p0, count, panel);
}

std::span<const X32Im2colUkernel> x32_im2col_ukernels() {
  static const std::vector<X32Im2colUkernel> list = {
#define QL_KERNEL(isa, name, nr) {Isa::isa, #name, nr, &name},
#include "x32-im2col/x32-im2col.inc"
#undef QL_KERNEL
  };
  return list;
}

const X32Im2colUkernel* x32_im2col_find(Isa isa, uint32_t nr) {
  return find_ukernel(
      x32_im2col_ukernels(), [&](const X32Im2colUkernel& u) { return u.isa == isa && u.nr == nr; },
      [](const X32Im2colUkernel& u) { return u.nr == 0; });
}

}  // namespace quantlab
