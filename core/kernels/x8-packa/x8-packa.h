// x8-packa: packs rows of uint8 / int8 activations into the qs8-gemm A panel (see
// qs8-gemm/qs8-gemm.h): int16 [kp][MR][2], kp = ceil(k / 2), zero padded in k and in rows
// rows..MR-1. Widening happens here, once per GEMM call, so the micro-kernel's inner loop
// is plain loads and dot products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "isa.h"

namespace quantlab {

/// x: `rows` (<= MR) rows of k bytes, row stride x_stride bytes; panel: kp * MR * 2 int16.
using X8PackaFn = void (*)(size_t rows, size_t k, const void* x, size_t x_stride,
                           int16_t* panel);

#define QL_KERNEL(isa, name, mr, is_signed) \
  void name(size_t rows, size_t k, const void* x, size_t x_stride, int16_t* panel);
#include "x8-packa/x8-packa.inc"
#undef QL_KERNEL

struct X8PackaUkernel {
  Isa isa;
  const char* name;
  uint32_t mr;
  bool is_signed;
  X8PackaFn fn;
};

std::span<const X8PackaUkernel> x8_packa_ukernels();
/// The last listed kernel of `isa` for (mr, signedness); falls back to scalar; or null.
const X8PackaUkernel* x8_packa_find(Isa isa, uint32_t mr, bool is_signed);

}  // namespace quantlab
