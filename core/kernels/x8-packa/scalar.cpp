// x8-packa scalar reference and the registry.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "x8-packa/x8-packa.h"

namespace quantlab {
namespace {

template <size_t MR, class T>
void packa(size_t rows, size_t k, const void* x, size_t x_stride, int16_t* panel) {
  const size_t kp = (k + 1) / 2;
  std::fill(panel, panel + kp * MR * 2, int16_t{0});
  for (size_t m = 0; m < std::min(rows, MR); ++m) {
    const T* row = reinterpret_cast<const T*>(static_cast<const uint8_t*>(x) + m * x_stride);
    for (size_t kk = 0; kk < k; ++kk) {
      panel[((kk / 2) * MR + m) * 2 + (kk % 2)] = static_cast<int16_t>(row[kk]);
    }
  }
}

}  // namespace

// One kernel per kScalar row of x8-packa.inc.
#define QL_KERNEL(isa, name, mr, is_signed)                                                 \
  QL_ONLY(kScalar, isa,                                                                     \
          void name(size_t rows, size_t k, const void* x, size_t x_stride, int16_t* panel) { \
            using T = std::conditional_t<is_signed, int8_t, uint8_t>;                       \
            packa<mr, T>(rows, k, x, x_stride, panel);                                      \
          })
#include "x8-packa/x8-packa.inc"
#undef QL_KERNEL

std::span<const X8PackaUkernel> x8_packa_ukernels() {
  static const std::vector<X8PackaUkernel> list = {
#define QL_KERNEL(isa, name, mr, is_signed) {Isa::isa, #name, mr, is_signed, &name},
#include "x8-packa/x8-packa.inc"
#undef QL_KERNEL
  };
  return list;
}

const X8PackaUkernel* x8_packa_find(Isa isa, uint32_t mr, bool is_signed) {
  auto fits = [&](const X8PackaUkernel& u) { return u.mr == mr && u.is_signed == is_signed; };
  return find_ukernel(
      x8_packa_ukernels(), [&](const X8PackaUkernel& u) { return fits(u) && u.isa == isa; },
      [&](const X8PackaUkernel& u) { return fits(u) && u.isa == Isa::kScalar; });
}

}  // namespace quantlab
