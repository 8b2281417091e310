// Row minimum of the 1-D k-means DP, scalar reference (test oracle and fallback), and the
// variant registry of the family.
#include <cstring>
#include <limits>
#include <vector>

#include "f64-kmeans-rowmin/f64-kmeans-rowmin.h"

namespace quantlab {

void ql_f64_kmeans_rowmin_recip_ukernel__scalar(size_t n, const double* q, const double* p1,
                                                const double* r,
                                                const F64KmeansRowminParams& params,
                                                double* min, size_t* arg) {
  double best = std::numeric_limits<double>::infinity();
  size_t at = 0;
  for (size_t m = 0; m < n; ++m) {
    const double s = params.p1i - p1[m];
    const double v = q[m] - s * s * r[m];
    at = v < best ? m : at;
    best = v < best ? v : best;
  }
  *min = best;
  *arg = at;
}

void ql_f64_kmeans_rowmin_div_ukernel__scalar(size_t n, const double* q, const double* p1,
                                              const double* p0,
                                              const F64KmeansRowminParams& params, double* min,
                                              size_t* arg) {
  double best = std::numeric_limits<double>::infinity();
  size_t at = 0;
  for (size_t m = 0; m < n; ++m) {
    const double s = params.p1i - p1[m];
    const double v = q[m] - s * s / (params.p0i - p0[m]);
    at = v < best ? m : at;
    best = v < best ? v : best;
  }
  *min = best;
  *arg = at;
}

std::span<const F64KmeansRowminVariant> f64_kmeans_rowmin_variants() {
  static const std::vector<F64KmeansRowminVariant> variants = [] {
    std::vector<F64KmeansRowminVariant> v;
#define QL_KERNEL(isa, name) \
  v.push_back({Isa::isa, #name, std::strstr(#name, "_div_") != nullptr, &name});
#include "f64-kmeans-rowmin/f64-kmeans-rowmin.inc"
#undef QL_KERNEL
    return v;
  }();
  return variants;
}

F64KmeansRowminFn f64_kmeans_rowmin_best(bool div) {
  F64KmeansRowminFn best = nullptr;
  for (const auto& v : f64_kmeans_rowmin_variants()) {
    if (v.div == div) best = v.fn;
  }
  return best;
}

}  // namespace quantlab
