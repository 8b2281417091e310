// K-means weight quantization: Lloyd on sorted weights, four initializations, the exact
// optimal 1-D k-means, and the centroid fine-tuning updates.
//
// Everything works on the sorted distinct weights x_0 < ... < x_{u-1} with multiplicities
// c_i and prefix sums of c, c x and c x^2 (in double, about the mean, which keeps the
// cancellation in "sum of squares minus square of sums" small). Optimal 1-D k-means
// clusters are contiguous runs of the sorted values, and equal values never need to be split
// (moving a split tie group to one side keeps the cost with fixed centroids and recentering
// can only lower it), so deduplication is exact. On the prefix sums a Lloyd step is O(k log u)
// (binary search of the k - 1 midpoints, then k segment means), and the SSE of any segment is
// O(1), which is what the dynamic program needs.
#include "quantlab/kmeans.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "dc_random.hpp"
#include "f64-kmeans-rowmin/f64-kmeans-rowmin.h"
#include "weight_checks.hpp"

namespace quantlab {
namespace {

/// Sorted distinct weights with multiplicities and prefix sums over (x - shift).
struct SortedWeights {
  std::vector<double> x;   // distinct values, ascending, minus shift
  std::vector<double> p0;  // p0[i] = sum_{t < i} c_t            (size u + 1)
  std::vector<double> p1;  // p1[i] = sum_{t < i} c_t x_t
  std::vector<double> p2;  // p2[i] = sum_{t < i} c_t x_t^2
  double shift = 0.0;
  size_t u() const { return x.size(); }
  /// Sum of squared distances to the mean of the segment [a, b), a < b.
  double sse(size_t a, size_t b) const {
    const double w = p0[b] - p0[a];
    const double s = p1[b] - p1[a];
    const double v = (p2[b] - p2[a]) - s * s / w;
    return v > 0.0 ? v : 0.0;
  }
  double mean(size_t a, size_t b) const { return (p1[b] - p1[a]) / (p0[b] - p0[a]); }
};

/// dedup: merge equal values into one entry with a multiplicity. Without it every entry has
/// multiplicity 1 (p0[i] = i), which lets the dynamic program replace a division by a table.
SortedWeights sort_weights(std::span<const float> w, bool dedup) {
  std::vector<float> s(w.begin(), w.end());
  std::sort(s.begin(), s.end());
  double mean = 0.0;
  for (float v : s) mean += v;
  mean /= static_cast<double>(s.size());
  SortedWeights sw;
  sw.shift = mean;
  sw.x.reserve(s.size());
  sw.p0.reserve(s.size() + 1);
  sw.p1.reserve(s.size() + 1);
  sw.p2.reserve(s.size() + 1);
  sw.p0.push_back(0.0);
  sw.p1.push_back(0.0);
  sw.p2.push_back(0.0);
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    while (dedup && j < s.size() && s[j] == s[i]) ++j;  // -0.0 == 0.0: one value
    const double c = static_cast<double>(j - i);
    const double x = static_cast<double>(s[i]) - mean;
    sw.x.push_back(x);
    sw.p0.push_back(sw.p0.back() + c);
    sw.p1.push_back(sw.p1.back() + c * x);
    sw.p2.push_back(sw.p2.back() + c * x * x);
    i = j;
  }
  return sw;
}

/// Deduplicate only when it shrinks the problem by at least a quarter: trained weights are
/// nearly all distinct, and then the unit-multiplicity fast path of the DP wins.
SortedWeights sort_weights(std::span<const float> w) {
  SortedWeights sw = sort_weights(w, true);
  if (sw.u() * 4 > w.size() * 3) sw = sort_weights(w, false);
  return sw;
}

Status check_bits(int bits, const char* what) {
  if (bits < 1 || bits > kMaxKMeansBits) {
    return invalid_argument(std::string(what) + ": bits must be 1.." +
                            std::to_string(kMaxKMeansBits) + ", got " + std::to_string(bits));
  }
  return Status::ok();
}

// --- Initializations (on shifted values) ------------------------------------------------------

std::vector<double> init_linear(const SortedWeights& sw, int k) {
  std::vector<double> c(static_cast<size_t>(k));
  const double lo = sw.x.front(), hi = sw.x.back();
  for (int t = 0; t < k; ++t) {
    c[static_cast<size_t>(t)] = k == 1 ? 0.5 * (lo + hi) : lo + (hi - lo) * t / (k - 1);
  }
  return c;
}

/// Index of the distinct value holding sorted position `pos` (0 <= pos < n).
size_t value_at_rank(const SortedWeights& sw, double pos) {
  const auto it = std::upper_bound(sw.p0.begin() + 1, sw.p0.end(), pos);
  return static_cast<size_t>(it - sw.p0.begin()) - 1;
}

std::vector<double> init_density(const SortedWeights& sw, int k) {
  std::vector<double> c(static_cast<size_t>(k));
  const double n = sw.p0.back();
  for (int t = 0; t < k; ++t) {
    const double pos = std::floor((t + 0.5) * n / k);
    c[static_cast<size_t>(t)] = sw.x[value_at_rank(sw, pos)];
  }
  return c;
}

std::vector<double> init_random(const SortedWeights& sw, int k, std::mt19937& rng) {
  // k distinct positions of the sorted multiset, drawn uniformly (rejecting repeats; k is
  // at most 256); with fewer weights than k, positions repeat.
  const uint32_t n = static_cast<uint32_t>(sw.p0.back());
  std::vector<uint32_t> picked;
  std::vector<double> c;
  for (int t = 0; t < k; ++t) {
    uint32_t pos = dc::uniform_below(rng, n);
    if (static_cast<uint32_t>(t) < n) {
      while (std::find(picked.begin(), picked.end(), pos) != picked.end()) {
        pos = dc::uniform_below(rng, n);
      }
    }
    picked.push_back(pos);
    c.push_back(sw.x[value_at_rank(sw, pos)]);
  }
  return c;
}

std::vector<double> init_plus_plus(const SortedWeights& sw, int k, std::mt19937& rng) {
  const size_t u = sw.u();
  std::vector<double> c;
  std::vector<double> d2(u, std::numeric_limits<double>::infinity());
  // First centre: a weight drawn uniformly (weighted by multiplicity).
  c.push_back(sw.x[value_at_rank(sw, std::floor(dc::uniform01(rng) * sw.p0.back()))]);
  for (int t = 1; t < k; ++t) {
    double total = 0.0;
    const double last = c.back();
    for (size_t i = 0; i < u; ++i) {
      const double d = sw.x[i] - last;
      d2[i] = std::min(d2[i], d * d);
      total += (sw.p0[i + 1] - sw.p0[i]) * d2[i];
    }
    if (total <= 0.0) {  // every weight sits on a centre already
      c.push_back(last);
      continue;
    }
    const double r = dc::uniform01(rng) * total;
    double acc = 0.0;
    size_t pick = u - 1;
    for (size_t i = 0; i < u; ++i) {
      acc += (sw.p0[i + 1] - sw.p0[i]) * d2[i];
      if (acc > r) {
        pick = i;
        break;
      }
    }
    c.push_back(sw.x[pick]);
  }
  std::sort(c.begin(), c.end());
  return c;
}

std::vector<double> initial_centroids(const SortedWeights& sw, int k, KMeansInit init,
                                      uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<double> c;
  switch (init) {
    case KMeansInit::kLinear: c = init_linear(sw, k); break;
    case KMeansInit::kDensity: c = init_density(sw, k); break;
    case KMeansInit::kRandom: c = init_random(sw, k, rng); break;
    case KMeansInit::kPlusPlus: c = init_plus_plus(sw, k, rng); break;
  }
  std::sort(c.begin(), c.end());
  return c;
}

// --- Lloyd ------------------------------------------------------------------------------

/// Lloyd iterations on sorted weights; c ascending in and out. Returns the steps run.
int lloyd(const SortedWeights& sw, std::vector<double>& c, int iterations,
          const ProgressFn& progress) {
  const size_t k = c.size();
  std::vector<size_t> bounds(k + 1), prev;
  int steps = 0;
  for (int it = 0; it < iterations; ++it) {
    // Assignment: weight x goes to the nearest centroid, ties to the lower one, so the
    // boundary after cluster t is the first x strictly above the midpoint.
    bounds[0] = 0;
    bounds[k] = sw.u();
    for (size_t t = 1; t < k; ++t) {
      const double mid = 0.5 * (c[t - 1] + c[t]);
      bounds[t] = static_cast<size_t>(
          std::upper_bound(sw.x.begin(), sw.x.end(), mid) - sw.x.begin());
    }
    ++steps;
    if (bounds == prev) break;  // converged: the update would not move any centroid
    // Update: each non-empty cluster's centroid becomes its mean.
    for (size_t t = 0; t < k; ++t) {
      if (bounds[t + 1] > bounds[t]) c[t] = sw.mean(bounds[t], bounds[t + 1]);
    }
    std::sort(c.begin(), c.end());  // means of ordered segments stay ordered; guard rounding
    prev = bounds;
    if (progress && (it % 16 == 0)) {
      progress({"k-means", it + 1, iterations, std::numeric_limits<double>::quiet_NaN()});
    }
  }
  return steps;
}

// --- Exact optimal 1-D k-means ------------------------------------------------------------

/// One row of argmins T[lo .. lo + count) of the dynamic program, nondecreasing, stored in
/// about 2 bits per entry: for each i the increment T[i] - T[i - 1] in unary (that many
/// 0 bits, then a 1). A sample every 64 entries makes a lookup O(64 + words).
class MonotoneRow {
 public:
  void encode(size_t lo, const uint32_t* t, size_t count) {
    lo_ = lo;
    base_ = count ? t[0] : 0;
    const size_t nbits = count + (count ? t[count - 1] - base_ : 0) + 1;
    words_.assign(nbits / 64 + 1, 0);
    samples_.assign(count / 64 + 1, 0);
    size_t pos = 0;
    uint32_t prev = base_;
    for (size_t r = 0; r < count; ++r) {
      if (r % 64 == 0) samples_[r / 64] = static_cast<uint32_t>(pos);
      pos += t[r] - prev;
      prev = t[r];
      words_[pos / 64] |= uint64_t{1} << (pos % 64);
      ++pos;
    }
  }
  /// T[i] for lo <= i < lo + count.
  uint32_t get(size_t i) const {
    const size_t r = i - lo_;
    size_t pos = samples_[r / 64];
    size_t need = r % 64 + 1;  // find the need-th one at or after pos
    size_t w = pos / 64;
    uint64_t word = words_[w] & (~uint64_t{0} << (pos % 64));
    for (;;) {
      const size_t ones = static_cast<size_t>(std::popcount(word));
      if (ones >= need) break;
      need -= ones;
      word = words_[++w];
    }
    for (size_t s = 1; s < need; ++s) word &= word - 1;
    const size_t one = w * 64 + static_cast<size_t>(std::countr_zero(word));
    return static_cast<uint32_t>(base_ + (one - r));
  }
  size_t bytes() const { return words_.size() * 8 + samples_.size() * 4; }

 private:
  size_t lo_ = 0;
  uint32_t base_ = 0;
  std::vector<uint64_t> words_;
  std::vector<uint32_t> samples_;
};

struct DpRow {
  const SortedWeights* sw;
  const double* q;        // D_{j-1}[m] - p2[m], indexed by m
  bool unit;              // every multiplicity is 1: p0[i] = i
  const double* recip;    // recip[t] = 1 / (u1 - t), t < u1
  size_t u1;
  F64KmeansRowminFn kernel;
  const uint32_t* tprev;  // argmins of row j - 1 (lower bounds), indexed by i; or null
  double* cur;            // D_j[i]
  uint32_t* tcur;         // argmins of row j

  // D_j[i] = min_{m in [mlo, mhi]} D_{j-1}[m] + SSE(m, i); smallest argmin on ties. The
  // argmin is nondecreasing in i (the SSE cost satisfies the quadrangle inequality) and in
  // j, so divide and conquer needs O(u log u) evaluations per row.
  /// min over m in [lo, hi] of D_{j-1}[m] + SSE(m, i) (smallest argmin), stored in
  /// cur[i] and tcur[i]. D_{j-1}[m] + SSE(m, i) = q[m] + p2[i] - (p1[i] - p1[m])^2 / (p0[i] -
  /// p0[m]), with q[m] = D_{j-1}[m] - p2[m]: two streams (three with multiplicities).
  void rowmin(size_t i, size_t lo, size_t hi) {
    F64KmeansRowminParams params;
    params.p1i = sw->p1[i];
    params.p0i = sw->p0[i];
    const double* w = unit ? recip + (u1 - i) : sw->p0.data();  // w[m] = 1 / (i - m) or p0[m]
    double best;
    size_t arg;
    kernel(hi - lo + 1, q + lo, sw->p1.data() + lo, w + lo, params, &best, &arg);
    cur[i] = best + sw->p2[i];
    tcur[i] = static_cast<uint32_t>(lo + arg);
  }

  /// Search range of i given the argmins of solved neighbours: [mlo, mhi] and row j - 1's
  /// argmin (a lower bound too; clamped, as rounding may break the inequality).
  void bounds(size_t i, size_t mlo, size_t mhi, size_t& lo, size_t& hi) const {
    hi = std::min(mhi, i - 1);
    lo = mlo;
    if (tprev && tprev[i] > lo) lo = std::min<size_t>(tprev[i], hi);
  }

  // The argmin is nondecreasing in i (the SSE cost satisfies the quadrangle inequality) and
  // in j, so divide and conquer needs O(u log u) evaluations per row. Short runs of i are
  // swept left to right instead (each i starts at its left neighbour's argmin), which saves
  // the recursion's bookkeeping where the ranges are a few entries wide.
  void solve(size_t ilo, size_t ihi, size_t mlo, size_t mhi) {
    while (ilo <= ihi) {
      if (mlo == mhi) {  // every i in the run has the same argmin: no search
        for (size_t i = ilo; i <= ihi; ++i) rowmin(i, mlo, mlo);
        return;
      }
      if (ihi - ilo < kLeaf) {
        size_t m = mlo;
        for (size_t i = ilo; i <= ihi; ++i) {
          size_t lo, hi;
          bounds(i, m, mhi, lo, hi);
          rowmin(i, lo, hi);
          m = tcur[i];
        }
        return;
      }
      const size_t mid = ilo + (ihi - ilo) / 2;
      size_t lo, hi;
      bounds(mid, mlo, mhi, lo, hi);
      rowmin(mid, lo, hi);
      const size_t arg = tcur[mid];
      // Recurse on the smaller half, loop on the larger (bounded stack depth).
      if (mid - ilo < ihi - mid) {
        if (mid > ilo) solve(ilo, mid - 1, mlo, arg);
        ilo = mid + 1;
        mlo = arg;
      } else {
        if (mid < ihi) solve(mid + 1, ihi, arg, mhi);
        if (mid == ilo) break;
        ihi = mid - 1;
        mhi = arg;
      }
    }
  }
  static constexpr size_t kLeaf = 4;
};

/// Segment boundaries b_0 = 0 < b_1 < ... < b_k = u of an optimal partition into k <= u
/// clusters, by the dynamic program over k rows.
std::vector<size_t> optimal_bounds_dp(const SortedWeights& sw, size_t k, const ProgressFn& progress) {
  const size_t u = sw.u();
  std::vector<size_t> b(k + 1, 0);
  b[k] = u;
  if (k == 1) return b;
  // Row j (1-based) covers i in [j, u - k + j]; D rows are full length, indexed by i.
  std::vector<double> prev(u + 1), cur(u + 1), q(u + 1);
  const bool unit = sw.p0.back() == static_cast<double>(u);
  const F64KmeansRowminFn kernel = f64_kmeans_rowmin_best(!unit);
  std::vector<double> recip(unit ? u + 1 : 0);
  for (size_t t = 0; t < recip.size(); ++t) recip[t] = 1.0 / static_cast<double>(u + 1 - t);
  std::vector<uint32_t> tprev(u + 1, 0), tcur(u + 1, 0);
  std::vector<MonotoneRow> rows(k + 1);
  for (size_t i = 1; i <= u - k + 1; ++i) prev[i] = sw.sse(0, i);
  for (size_t j = 2; j < k; ++j) {
    const size_t lo = j, hi = u - k + j;
    for (size_t m = j - 1; m < hi; ++m) q[m] = prev[m] - sw.p2[m];
    DpRow row{&sw, q.data(), unit, recip.data(), u + 1, kernel, j > 2 ? tprev.data() : nullptr, cur.data(), tcur.data()};
    row.solve(lo, hi, j - 1, hi - 1);
    rows[j].encode(lo, tcur.data() + lo, hi - lo + 1);
    std::swap(prev, cur);
    std::swap(tprev, tcur);
    if (progress) progress({"k-means", static_cast<int64_t>(j), static_cast<int64_t>(k), prev[hi]});
  }
  // Last row: only i = u. Row k - 1's argmin at its last entry i = u - 1 is a lower bound
  // (monotone in i and j).
  double best = std::numeric_limits<double>::infinity();
  size_t arg = k - 1;
  const size_t first_m = std::max<size_t>(k - 1, k > 2 ? tprev[u - 1] : 0);
  for (size_t m = first_m; m <= u - 1; ++m) {
    const double v = prev[m] + sw.sse(m, u);
    if (v < best) {
      best = v;
      arg = m;
    }
  }
  b[k - 1] = arg;
  for (size_t j = k - 1; j >= 2; --j) b[j - 1] = rows[j].get(b[j]);
  if (progress) progress({"k-means", static_cast<int64_t>(k), static_cast<int64_t>(k), best});
  return b;
}

/// The penalized problem: min over partitions of SSE + lambda * (number of segments), for
/// every prefix, with one pass and a queue of candidate predecessors (Galil and Park 1990):
/// the SSE of segments satisfies the quadrangle inequality, so a newer candidate that is at
/// least as good as an older one at position j stays so at every position after j. Each
/// candidate's first winning position is found by galloping and bisection, about
/// 2 log2(cluster size) evaluations per weight.
class PenalizedDp {
 public:
  explicit PenalizedDp(const SortedWeights& sw)
      : sw_(sw), u_(sw.u()), d_(u_ + 1), count_(u_ + 1), pred_(u_ + 1) {
    queue_.reserve(u_ + 1);
  }

  /// Solves for lambda; returns the number of segments of the optimum found.
  size_t solve(double lambda) {
    d_[0] = 0.0;
    count_[0] = 0;
    queue_.clear();
    queue_.push_back({0, 1});
    size_t head = 0;
    for (size_t i = 1; i <= u_; ++i) {
      while (head + 1 < queue_.size() && queue_[head + 1].start <= i) ++head;
      const size_t m = queue_[head].m;
      d_[i] = f(m, i) + lambda;
      count_[i] = count_[m] + 1;
      pred_[i] = static_cast<uint32_t>(m);
      if (i == u_) break;
      bool placed = false;
      while (queue_.size() > head) {
        const Candidate c = queue_.back();
        const size_t s = std::max<size_t>(c.start, i + 1);
        if (better(i, c.m, s)) {  // i wins from s on: c is never needed again
          queue_.pop_back();
          continue;
        }
        placed = true;
        if (!better(i, c.m, u_)) break;  // c wins everywhere after i: i is never needed
        size_t lo = s, hi = u_, step = 1;  // i loses at lo, wins at hi
        for (;;) {
          const size_t probe = lo + step;
          if (probe >= u_) break;
          if (better(i, c.m, probe)) {
            hi = probe;
            break;
          }
          lo = probe;
          step *= 2;
        }
        while (hi - lo > 1) {
          const size_t mid = lo + (hi - lo) / 2;
          if (better(i, c.m, mid)) hi = mid;
          else lo = mid;
        }
        queue_.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(hi)});
        break;
      }
      if (!placed) queue_.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)});
    }
    return count_[u_];
  }

  /// Boundaries of the last solution, which has k segments.
  std::vector<size_t> bounds(size_t k) const {
    std::vector<size_t> b(k + 1, 0);
    size_t i = u_;
    for (size_t s = k; s > 0; --s) {
      b[s] = i;
      i = pred_[i];
    }
    QL_CHECK(i == 0);
    return b;
  }

 private:
  struct Candidate {
    uint32_t m, start;
  };
  double f(size_t m, size_t j) const { return d_[m] + sw_.sse(m, j); }
  bool better(size_t newer, size_t older, size_t j) const { return f(newer, j) <= f(older, j); }

  const SortedWeights& sw_;
  size_t u_;
  std::vector<double> d_;
  std::vector<uint32_t> count_, pred_;
  std::vector<Candidate> queue_;
};

/// Lagrangian relaxation (the "Aliens trick"): the optimal k-means cost is convex in k, so
/// some penalty lambda per segment makes a k-segment partition optimal for the penalized
/// problem, and such a partition is optimal for k. lambda is searched with the model
/// segments ~ lambda^(-1/3) (high-resolution quantization) inside a bracket, falling back to
/// bisection. Returns false when no lambda gives exactly k segments (a non-strictly convex
/// cost, e.g. many repeated values) within the iteration budget.
bool optimal_bounds_lagrangian(const SortedWeights& sw, size_t k, std::vector<size_t>& bounds,
                               const ProgressFn& progress) {
  const double total = sw.sse(0, sw.u());
  if (!(total > 0.0)) return false;
  PenalizedDp dp(sw);
  const double kd = static_cast<double>(k);
  double lambda = 2.0 * total / (kd * kd * kd);
  double lo = 0.0, hi = std::numeric_limits<double>::infinity();  // count(lo) > k > count(hi)
  int same_side = 0, last_side = 0;
  constexpr int kMaxIterations = 80;
  for (int it = 0; it < kMaxIterations; ++it) {
    const size_t c = dp.solve(lambda);
    if (progress) progress({"k-means", it + 1, kMaxIterations, lambda});
    if (c == k) {
      bounds = dp.bounds(k);
      if (progress) progress({"k-means", kMaxIterations, kMaxIterations, lambda});
      return true;
    }
    const int side = c > k ? 1 : -1;
    if (side > 0) lo = lambda;
    else hi = lambda;
    same_side = side == last_side ? same_side + 1 : 0;
    last_side = side;
    double next = lambda * std::pow(static_cast<double>(c) / kd, 3.0);
    const bool inside = next > lo && next < hi;
    if (!inside || same_side >= 2) {  // bisect (geometrically) once the model stalls
      if (std::isinf(hi)) next = lambda * 8.0;
      else if (lo == 0.0) next = hi / 8.0;
      else next = std::sqrt(lo * hi);
    }
    if (std::isfinite(hi) && lo > 0.0 && hi - lo <= 1e-13 * hi) break;
    lambda = next;
  }
  return false;
}

std::vector<size_t> optimal_bounds(const SortedWeights& sw, size_t k, KMeansSolver solver,
                                   const ProgressFn& progress) {
  std::vector<size_t> b;
  if (k >= 2 && solver == KMeansSolver::kAuto && optimal_bounds_lagrangian(sw, k, b, progress)) return b;
  return optimal_bounds_dp(sw, k, progress);
}

// --- Finishing ------------------------------------------------------------------------------

/// Nearest centroid (ties to the lower index) among ascending c[first..].
int32_t nearest(const std::vector<float>& c, size_t first, float w) {
  const auto begin = c.begin() + static_cast<std::ptrdiff_t>(first);
  auto it = std::lower_bound(begin, c.end(), w);
  if (it == c.end()) return static_cast<int32_t>(c.size() - 1);
  if (it == begin) return static_cast<int32_t>(first);
  // *it >= w > *(it - 1); the first of a run of equal centroids is the lower index.
  auto lower = it - 1;
  while (lower != begin && *(lower - 1) == *lower) --lower;
  const double dl = static_cast<double>(w) - *lower, du = static_cast<double>(*it) - w;
  return static_cast<int32_t>((dl <= du ? lower : it) - c.begin());
}

/// Centroids (shifted doubles, ascending, `k_fit` of them) to the final float codebook over
/// all weights, with labels and MSE.
KMeansResult finish(std::span<const float> weights, const std::vector<double>& fit,
                    double shift, size_t k, bool pinned_zero) {
  KMeansResult r;
  Codebook& cb = r.codebook;
  cb.pinned_zero = pinned_zero;
  const size_t first = pinned_zero ? 1 : 0;
  cb.centroids.assign(k, 0.0f);
  for (size_t t = 0; t < k - first; ++t) {
    const size_t src = std::min(t, fit.size() - 1);
    cb.centroids[first + t] = static_cast<float>(fit[src] + shift);
  }
  std::sort(cb.centroids.begin() + static_cast<std::ptrdiff_t>(first), cb.centroids.end());
  cb.labels.resize(weights.size());
  double sum = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const float w = weights[i];
    const int32_t l = (pinned_zero && w == 0.0f) ? 0 : nearest(cb.centroids, first, w);
    cb.labels[i] = l;
    const double e = static_cast<double>(w) - cb.centroids[static_cast<size_t>(l)];
    sum += e * e;
  }
  r.mse = sum / static_cast<double>(weights.size());
  return r;
}

Status check_codebook(const Codebook& cb, size_t n, const char* what) {
  if (cb.labels.size() != n) {
    return shape_mismatch(std::string(what) + ": " + std::to_string(n) + " values but " +
                          std::to_string(cb.labels.size()) + " labels");
  }
  const int32_t k = static_cast<int32_t>(cb.centroids.size());
  if (k == 0) return invalid_argument(std::string(what) + ": the codebook has no centroids");
  for (size_t i = 0; i < n; ++i) {
    if (cb.labels[i] < 0 || cb.labels[i] >= k) {
      return out_of_range(std::string(what) + ": label " + std::to_string(cb.labels[i]) +
                          " at " + std::to_string(i) + " is outside [0, " + std::to_string(k) +
                          ")");
    }
  }
  return Status::ok();
}

}  // namespace

int Codebook::bits() const {
  return centroids.empty() ? 0 : static_cast<int>(std::bit_width(centroids.size())) - 1;
}

Result<KMeansResult> k_means(std::span<const float> weights, int bits,
                             const KMeansOptions& options, const ProgressFn& progress) {
  QL_RETURN_IF_ERROR(check_weights(weights, "k_means"));
  QL_RETURN_IF_ERROR(check_bits(bits, "k_means"));
  if (options.iterations < 0) {
    return invalid_argument("k_means: iterations must be >= 0, got " +
                            std::to_string(options.iterations));
  }
  const size_t k = size_t{1} << bits;
  const size_t k_fit = options.pinned_zero ? k - 1 : k;
  std::vector<float> fit_weights;
  std::span<const float> fit = weights;
  if (options.pinned_zero) {
    for (float w : weights) if (w != 0.0f) fit_weights.push_back(w);
    fit = fit_weights;
  }
  if (fit.empty()) {  // all pruned: every centroid is the zero
    KMeansResult r;
    r.codebook.centroids.assign(k, 0.0f);
    r.codebook.labels.assign(weights.size(), 0);
    r.codebook.pinned_zero = true;
    return r;
  }
  const SortedWeights sw = sort_weights(fit);
  std::vector<double> c;
  int steps = 0;
  if (sw.u() <= k_fit) {
    c = sw.x;  // every distinct value is its own centroid: MSE 0
  } else if (options.method == KMeansMethod::kOptimal) {
    const std::vector<size_t> b = optimal_bounds(sw, k_fit, options.solver, progress);
    for (size_t t = 0; t < k_fit; ++t) c.push_back(sw.mean(b[t], b[t + 1]));
  } else {
    c = initial_centroids(sw, static_cast<int>(k_fit), options.init, options.seed);
    steps = lloyd(sw, c, options.iterations, progress);
  }
  KMeansResult r = finish(weights, c, sw.shift, k, options.pinned_zero);
  r.iterations = steps;
  return r;
}

Result<Codebook> k_means_quantize(std::span<const float> weights, int bits,
                                  const KMeansOptions& options) {
  auto r = k_means(weights, bits, options);
  if (!r) return r.status();
  return std::move(r->codebook);
}

Result<Codebook> k_means_quantize(Tensor& tensor, int bits, const KMeansOptions& options) {
  if (tensor.dtype() != DType::kFloat32) {
    return unsupported(std::string("k_means_quantize: the tensor is ") +
                       dtype_name(tensor.dtype()) + ", not float32");
  }
  auto data = tensor.data<float>();
  auto cb = k_means_quantize(std::span<const float>(data.data(), data.size()), bits, options);
  if (!cb) return cb.status();
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = cb->centroids[static_cast<size_t>(cb->labels[i])];
  }
  return cb;
}

Result<std::vector<float>> k_means_init(std::span<const float> weights, int k, KMeansInit init,
                                        uint32_t seed) {
  QL_RETURN_IF_ERROR(check_weights(weights, "k_means_init"));
  if (k < 1 || k > (1 << kMaxKMeansBits)) {
    return invalid_argument("k_means_init: k must be 1..256, got " + std::to_string(k));
  }
  const SortedWeights sw = sort_weights(weights);
  const std::vector<double> c = initial_centroids(sw, k, init, seed);
  std::vector<float> out(c.size());
  for (size_t t = 0; t < c.size(); ++t) out[t] = static_cast<float>(c[t] + sw.shift);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<float>> codebook_weights(const Codebook& cb) {
  QL_RETURN_IF_ERROR(check_codebook(cb, cb.labels.size(), "codebook_weights"));
  std::vector<float> w(cb.labels.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = cb.centroids[static_cast<size_t>(cb.labels[i])];
  return w;
}

Result<double> codebook_mse(std::span<const float> weights, const Codebook& cb) {
  QL_RETURN_IF_ERROR(check_codebook(cb, weights.size(), "codebook_mse"));
  if (weights.empty()) return empty_input("codebook_mse: no weights");
  double sum = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double e = static_cast<double>(weights[i]) - cb.centroids[static_cast<size_t>(cb.labels[i])];
    sum += e * e;
  }
  return sum / static_cast<double>(weights.size());
}

uint64_t codebook_storage_bytes(uint64_t n, int bits) {
  const uint64_t b = static_cast<uint64_t>(bits);
  return (n * b + 7) / 8 + (uint64_t{1} << b) * uint64_t{sizeof(float)};
}

Status update_codebook(std::span<const float> weights, Codebook& cb) {
  QL_RETURN_IF_ERROR(check_codebook(cb, weights.size(), "update_codebook"));
  QL_RETURN_IF_ERROR(check_weights(weights, "update_codebook"));
  const size_t k = cb.centroids.size();
  std::vector<double> err(k, 0.0);
  std::vector<size_t> count(k, 0);
  for (size_t i = 0; i < weights.size(); ++i) {
    const size_t l = static_cast<size_t>(cb.labels[i]);
    err[l] += static_cast<double>(weights[i]) - cb.centroids[l];
    ++count[l];
  }
  for (size_t t = cb.pinned_zero ? 1 : 0; t < k; ++t) {
    if (count[t]) {
      cb.centroids[t] = static_cast<float>(cb.centroids[t] + err[t] / static_cast<double>(count[t]));
    }
  }
  return Status::ok();
}

Result<std::vector<double>> cluster_gradient_sums(std::span<const float> grad, const Codebook& cb) {
  QL_RETURN_IF_ERROR(check_codebook(cb, grad.size(), "cluster_gradient_sums"));
  std::vector<double> sums(cb.centroids.size(), 0.0);
  for (size_t i = 0; i < grad.size(); ++i) sums[static_cast<size_t>(cb.labels[i])] += grad[i];
  if (cb.pinned_zero) sums[0] = 0.0;
  return sums;
}

Status apply_centroid_gradients(Codebook& cb, std::span<const double> sums, float lr) {
  if (sums.size() != cb.centroids.size()) {
    return shape_mismatch("apply_centroid_gradients: " + std::to_string(cb.centroids.size()) +
                          " centroids but " + std::to_string(sums.size()) + " gradient sums");
  }
  if (!std::isfinite(lr)) return not_finite("apply_centroid_gradients: lr is not finite");
  for (size_t t = cb.pinned_zero ? 1 : 0; t < sums.size(); ++t) {
    cb.centroids[t] = static_cast<float>(cb.centroids[t] - static_cast<double>(lr) * sums[t]);
  }
  return Status::ok();
}

}  // namespace quantlab
