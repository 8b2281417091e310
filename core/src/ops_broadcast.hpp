// Numpy (ONNX multidirectional) broadcasting of two tensors, as runs of contiguous output
// elements in which each input is either contiguous too or a single repeated element.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ops_common.hpp"

namespace quantlab::ops {

/// Calls run(a_offset, a_step, b_offset, b_step, y_offset, length) for every run of the
/// output; a_step / b_step is 1 (the input advances with the output) or 0 (one element of
/// the input is repeated over the run). Shapes must broadcast to y (checked by the caller).
template <class F>
void for_each_broadcast_run(const Dims& a, const Dims& b, const Dims& y, F run) {
  const size_t rank = y.size();
  Dims ad(rank, 1), bd(rank, 1);
  for (size_t i = 0; i < a.size(); ++i) ad[rank - a.size() + i] = a[i];
  for (size_t i = 0; i < b.size(); ++i) bd[rank - b.size() + i] = b[i];
  const Dims as = strides_of(ad), bs = strides_of(bd);
  int64_t total = 1;
  for (int64_t d : y) total *= d;
  if (total == 0) return;
  // Coalesce trailing dimensions whose broadcast pattern matches (dims of size 1 fit any).
  int a_kind = -1, b_kind = -1;  // -1 undecided, 0 repeated, 1 contiguous
  size_t split = rank;
  int64_t length = 1;
  while (split > 0) {
    const size_t j = split - 1;
    if (y[j] != 1) {
      const int ak = ad[j] == 1 ? 0 : 1;
      const int bk = bd[j] == 1 ? 0 : 1;
      if ((a_kind != -1 && ak != a_kind) || (b_kind != -1 && bk != b_kind)) break;
      a_kind = ak;
      b_kind = bk;
    }
    length *= y[j];
    --split;
  }
  const int a_step = a_kind == 0 ? 0 : 1;
  const int b_step = b_kind == 0 ? 0 : 1;
  // Odometer over the outer dimensions [0, split).
  std::vector<int64_t> idx(split, 0);
  const int64_t outer = total / length;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t a_off = 0, b_off = 0;
    for (size_t i = 0; i < split; ++i) {
      if (ad[i] != 1) a_off += idx[i] * as[i];
      if (bd[i] != 1) b_off += idx[i] * bs[i];
    }
    run(static_cast<size_t>(a_off), a_step, static_cast<size_t>(b_off), b_step,
        static_cast<size_t>(o * length), static_cast<size_t>(length));
    for (size_t i = split; i-- > 0;) {
      if (++idx[i] < y[i]) break;
      idx[i] = 0;
    }
  }
}

/// y = f(a, b) elementwise with broadcasting; A and B element types, output dtype y_dtype
/// whose C++ type is the result type of f.
template <class A, class B, class F>
Result<Tensor> broadcast_binary(const Tensor& a, const Tensor& b, DType y_dtype, F f) {
  auto dims = broadcast_dims(a.shape(), b.shape());
  if (!dims) return dims.status();
  auto y = new_tensor(y_dtype, *dims);
  if (!y) return y.status();
  using Y = decltype(f(A{}, B{}));
  const A* pa = a.data<A>().data();
  const B* pb = b.data<B>().data();
  Y* py = y->template data<Y>().data();
  for_each_broadcast_run(a.shape(), b.shape(), *dims,
                         [&](size_t ao, int as, size_t bo, int bs, size_t yo, size_t n) {
                           const A* x = pa + ao;
                           const B* z = pb + bo;
                           Y* out = py + yo;
                           if (as && bs) {
                             for (size_t i = 0; i < n; ++i) out[i] = f(x[i], z[i]);
                           } else if (as) {
                             const B zv = z[0];
                             for (size_t i = 0; i < n; ++i) out[i] = f(x[i], zv);
                           } else if (bs) {
                             const A xv = x[0];
                             for (size_t i = 0; i < n; ++i) out[i] = f(xv, z[i]);
                           } else {
                             const Y v = f(x[0], z[0]);
                             for (size_t i = 0; i < n; ++i) out[i] = v;
                           }
                         });
  return y;
}

}  // namespace quantlab::ops
