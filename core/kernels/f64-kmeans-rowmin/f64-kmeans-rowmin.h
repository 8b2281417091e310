// Row minimum of the optimal 1-D k-means dynamic program (kmeans.cpp): for a fixed end i,
//   argmin over m in [0, n) of  v[m] = q[m] - (p1i - p1[m])^2 * r[m]        (recip variants)
//                           or  v[m] = q[m] - (p1i - p1[m])^2 / (p0i - p0[m]) (div variants)
// where q[m] = D_{j-1}[m] - p2[m], p* are prefix sums of the sorted weights and r[m] =
// 1 / (i - m) (all multiplicities 1). Every variant returns the same minimum and the same
// (smallest) argmin as scalar, bit for bit: the core is compiled with -ffp-contract=off, so each
// v[m] is the same product, quotient and difference everywhere.
#pragma once

#include <cstddef>
#include <span>

#include "isa.h"

namespace quantlab {

struct F64KmeansRowminParams {
  double p1i = 0.0;  ///< p1[i]
  double p0i = 0.0;  ///< p0[i] (div variants)
};

/// n >= 1 candidates; q, p1 and w (r for recip, p0 for div) point at candidate 0.
/// Writes the minimum to *min and its smallest index in [0, n) to *arg.
using F64KmeansRowminFn = void (*)(size_t n, const double* q, const double* p1, const double* w,
                                   const F64KmeansRowminParams& params, double* min, size_t* arg);

#define QL_KERNEL(isa, name) \
  void name(size_t n, const double* q, const double* p1, const double* w, \
            const F64KmeansRowminParams& params, double* min, size_t* arg);
#include "f64-kmeans-rowmin/f64-kmeans-rowmin.inc"
#undef QL_KERNEL

struct F64KmeansRowminVariant {
  Isa isa;
  const char* name;
  bool div;  ///< division form (weighted), else reciprocal form
  F64KmeansRowminFn fn;
};

/// Every variant compiled into this build, scalar first.
std::span<const F64KmeansRowminVariant> f64_kmeans_rowmin_variants();

/// The fastest compiled variant of the reciprocal (div = false) or division form.
F64KmeansRowminFn f64_kmeans_rowmin_best(bool div);

}  // namespace quantlab
