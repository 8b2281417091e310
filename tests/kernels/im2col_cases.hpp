// The im2col geometries both gather families (x8-im2col, x32-im2col) are tested on, and the
// tap k of output pixel p each one must read.
#pragma once

#include <cstddef>

#include "x8-im2col/x8-im2col.h"

namespace quantlab::im2col_test {

struct Im2colCase {
  size_t channels, kh, kw, sh, sw, dh, dw, out_w, out_h;
};

inline const Im2colCase kIm2col[] = {{3, 3, 3, 1, 1, 1, 1, 13, 4}, {2, 3, 3, 2, 2, 1, 1, 9, 3},
                              {5, 1, 1, 1, 1, 1, 1, 20, 2}, {1, 3, 3, 1, 1, 2, 2, 8, 3},
                              {2, 2, 3, 3, 3, 1, 1, 7, 3},  {3, 1, 1, 2, 2, 1, 1, 11, 2}};

inline Im2colGeometry geometry(const Im2colCase& c) {
  Im2colGeometry g;
  g.channels = c.channels;
  g.kernel_h = c.kh;
  g.kernel_w = c.kw;
  g.stride_h = c.sh;
  g.stride_w = c.sw;
  g.dilation_h = c.dh;
  g.dilation_w = c.dw;
  g.out_w = c.out_w;
  g.row_stride = (c.out_w - 1) * c.sw + (c.kw - 1) * c.dw + 1;
  g.plane_stride = ((c.out_h - 1) * c.sh + (c.kh - 1) * c.dh + 1) * g.row_stride;
  return g;
}

/// Index into the padded planes of tap k of output pixel p.
inline size_t source(const Im2colCase& c, const Im2colGeometry& g, size_t k, size_t p) {
  const size_t ci = k / (c.kh * c.kw), kh = (k / c.kw) % c.kh, kw = k % c.kw;
  const size_t oy = p / c.out_w, ox = p % c.out_w;
  return ci * g.plane_stride + (oy * c.sh + kh * c.dh) * g.row_stride + ox * c.sw + kw * c.dw;
}

}  // namespace quantlab::im2col_test
