// x8-packa scalar reference and the registry.
#include <algorithm>
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

void ql_qu8_packa_ukernel_1c2__scalar(size_t rows, size_t k, const void* x, size_t x_stride,
                                      int16_t* panel) {
  packa<1, uint8_t>(rows, k, x, x_stride, panel);
}
void ql_qs8_packa_ukernel_1c2__scalar(size_t rows, size_t k, const void* x, size_t x_stride,
                                      int16_t* panel) {
  packa<1, int8_t>(rows, k, x, x_stride, panel);
}
void ql_qu8_packa_ukernel_4c2__scalar(size_t rows, size_t k, const void* x, size_t x_stride,
                                      int16_t* panel) {
  packa<4, uint8_t>(rows, k, x, x_stride, panel);
}
void ql_qs8_packa_ukernel_4c2__scalar(size_t rows, size_t k, const void* x, size_t x_stride,
                                      int16_t* panel) {
  packa<4, int8_t>(rows, k, x, x_stride, panel);
}

std::span<const X8PackaUkernel> x8_packa_ukernels() {
  static const std::vector<X8PackaUkernel> list = {
#define QL_KERNEL(isa, name, mr, is_signed) {Isa::isa, #name, mr, is_signed, &name},
#include "x8-packa/x8-packa.inc"
#undef QL_KERNEL
  };
  return list;
}

const X8PackaUkernel* x8_packa_find(Isa isa, uint32_t mr, bool is_signed) {
  const X8PackaUkernel* found = nullptr;
  const X8PackaUkernel* fallback = nullptr;
  for (const auto& u : x8_packa_ukernels()) {
    if (u.mr != mr || u.is_signed != is_signed) continue;
    if (u.isa == isa) found = &u;
    if (u.isa == Isa::kScalar) fallback = &u;
  }
  return found != nullptr ? found : fallback;
}

}  // namespace quantlab
