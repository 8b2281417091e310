// x8-im2col scalar reference and the registry.
#include <vector>

#include "x8-im2col/x8-im2col.h"

namespace quantlab {

void ql_qu8_im2col_ukernel_xc2__scalar(const Im2colGeometry& g, const void* x, size_t nr,
                                       size_t p0, size_t count, int16_t* panel) {
  im2col_gather<uint8_t, int16_t, 2>(g, static_cast<const uint8_t*>(x), nr, p0, count, panel);
}

void ql_qs8_im2col_ukernel_xc2__scalar(const Im2colGeometry& g, const void* x, size_t nr,
                                       size_t p0, size_t count, int16_t* panel) {
  im2col_gather<int8_t, int16_t, 2>(g, static_cast<const int8_t*>(x), nr, p0, count, panel);
}

std::span<const X8Im2colUkernel> x8_im2col_ukernels() {
  static const std::vector<X8Im2colUkernel> list = {
#define QL_KERNEL(isa, name, nr, is_signed) {Isa::isa, #name, nr, is_signed, &name},
#include "x8-im2col/x8-im2col.inc"
#undef QL_KERNEL
  };
  return list;
}

const X8Im2colUkernel* x8_im2col_find(Isa isa, uint32_t nr, bool is_signed) {
  return find_ukernel(
      x8_im2col_ukernels(),
      [&](const X8Im2colUkernel& u) { return u.is_signed == is_signed && u.isa == isa && u.nr == nr; },
      [&](const X8Im2colUkernel& u) { return u.is_signed == is_signed && u.nr == 0; });
}

}  // namespace quantlab
