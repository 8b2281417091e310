// x32-im2col: gathers the column panel of an fp32 convolution GEMM (f32-gemm kConv role)
// for one block of NR output pixels: float [K][NR], k = (ci, kh, kw), from a padded input
// laid out as in x8-im2col/x8-im2col.h (zeros in the padding). Kernels may read up to
// kX32Im2colOverread floats past the last padded column of a row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "isa.h"
#include "x8-im2col/x8-im2col.h"  // Im2colGeometry, im2col_gather

namespace quantlab {

inline constexpr size_t kX32Im2colOverread = 32;

/// nr: the panel's block width; a kernel listed with NR = 0 handles any nr.
using X32Im2colFn = void (*)(const Im2colGeometry& g, const float* x, size_t nr, size_t p0,
                             size_t count, float* panel);

#define QL_KERNEL(isa, name, nr)                                                          \
  void name(const Im2colGeometry& g, const float* x, size_t nr_, size_t p0, size_t count, \
            float* panel);
#include "x32-im2col/x32-im2col.inc"
#undef QL_KERNEL

struct X32Im2colUkernel {
  Isa isa;
  const char* name;
  uint32_t nr;
  X32Im2colFn fn;
};

std::span<const X32Im2colUkernel> x32_im2col_ukernels();
/// The last listed kernel of `isa` for nr, else the any-NR scalar kernel.
const X32Im2colUkernel* x32_im2col_find(Isa isa, uint32_t nr);

}  // namespace quantlab
