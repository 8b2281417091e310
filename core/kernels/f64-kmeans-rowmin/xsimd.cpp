// Row minimum of the 1-D k-means DP with xsimd (native ISA; SSE4.1 lowered to SIMD128 under
// Emscripten): two vectors of candidates per step, a running minimum and argmin per lane
// (indices carried as doubles, exact below 2^53), then the lanes are merged with ties going
// to the smaller index, which is the scalar loop's first minimum.
#include <xsimd/xsimd.hpp>

#include <limits>

#include "f64-kmeans-rowmin/f64-kmeans-rowmin.h"

namespace quantlab {
namespace {

template <bool kDiv>
void rowmin(size_t n, const double* q, const double* p1, const double* w,
            const F64KmeansRowminParams& params, double* min, size_t* arg) {
  using batch = xsimd::batch<double>;
  constexpr size_t kLanes = batch::size;
  const double inf = std::numeric_limits<double>::infinity();
  const batch p1i(params.p1i), p0i(params.p0i);
  batch best0(inf), best1(inf), at0(0.0), at1(0.0);
  alignas(64) double iota_init[kLanes];
  for (size_t l = 0; l < kLanes; ++l) iota_init[l] = static_cast<double>(l);
  batch idx = batch::load_aligned(iota_init);
  const batch step(static_cast<double>(2 * kLanes)), half(static_cast<double>(kLanes));
  size_t m = 0;
  for (; m + 2 * kLanes <= n; m += 2 * kLanes) {
    const batch s0 = p1i - batch::load_unaligned(p1 + m);
    const batch s1 = p1i - batch::load_unaligned(p1 + m + kLanes);
    batch v0, v1;
    if constexpr (kDiv) {
      v0 = batch::load_unaligned(q + m) - s0 * s0 / (p0i - batch::load_unaligned(w + m));
      v1 = batch::load_unaligned(q + m + kLanes) -
           s1 * s1 / (p0i - batch::load_unaligned(w + m + kLanes));
    } else {
      v0 = batch::load_unaligned(q + m) - s0 * s0 * batch::load_unaligned(w + m);
      v1 = batch::load_unaligned(q + m + kLanes) -
           s1 * s1 * batch::load_unaligned(w + m + kLanes);
    }
    const auto lt0 = v0 < best0;
    const auto lt1 = v1 < best1;
    best0 = xsimd::select(lt0, v0, best0);
    at0 = xsimd::select(lt0, idx, at0);
    best1 = xsimd::select(lt1, v1, best1);
    at1 = xsimd::select(lt1, idx + half, at1);
    idx += step;
  }
  alignas(64) double b[2 * kLanes], a[2 * kLanes];
  best0.store_aligned(b);
  best1.store_aligned(b + kLanes);
  at0.store_aligned(a);
  at1.store_aligned(a + kLanes);
  double best = inf;
  size_t at = 0;
  for (size_t l = 0; l < 2 * kLanes; ++l) {
    const size_t al = static_cast<size_t>(a[l]);
    if (b[l] < best || (b[l] == best && al < at)) {
      best = b[l];
      at = al;
    }
  }
  for (; m < n; ++m) {
    const double s = params.p1i - p1[m];
    const double v = kDiv ? q[m] - s * s / (params.p0i - w[m]) : q[m] - s * s * w[m];
    at = v < best ? m : at;
    best = v < best ? v : best;
  }
  *min = best;
  *arg = at;
}

}  // namespace

void ql_f64_kmeans_rowmin_recip_ukernel__xsimd_x2v(size_t n, const double* q, const double* p1,
                                                   const double* r,
                                                   const F64KmeansRowminParams& params,
                                                   double* min, size_t* arg) {
  rowmin<false>(n, q, p1, r, params, min, arg);
}

void ql_f64_kmeans_rowmin_div_ukernel__xsimd_x2v(size_t n, const double* q, const double* p1,
                                                 const double* p0,
                                                 const F64KmeansRowminParams& params,
                                                 double* min, size_t* arg) {
  rowmin<true>(n, q, p1, p0, params, min, arg);
}

}  // namespace quantlab
