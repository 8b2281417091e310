// Product quantization of one layer: k-means++ and Lloyd over the subvectors with the weight
// or the activation-aware distance, storage accounting, fp16 codebooks, the bridge to the
// training engine's codebooks (LUT inference: pq_lut.cpp; input statistics: pq_stats.cpp).
//
// Assignment cost: the distances to all k codewords are computed in float32 as
// |c|^2 - 2 v.c (weight) or c^T H c - 2 (H v).c (activation), vectorizable over the codewords
// (codebook transposed to (d, k)); every codeword within a rounding tolerance of the float
// minimum is then re-checked exactly in double, (v - c)^T H (v - c), ties to the lower
// index. So the labels are those of the exact nearest-codeword rule, which is what lets
// d = 1 reproduce the scalar k-means of kmeans.cpp.
#include "quantlab/pq.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "dc_random.hpp"
#include "pq_impl.hpp"

namespace quantlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// std::bit_cast is missing from Emscripten 3.1.6's libc++: memcpy is the portable form.
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

uint16_t float_to_half_bits(float f) {
  const uint32_t x = bits_of(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x7fffffu;
  const int32_t exp = static_cast<int32_t>((x >> 23) & 0xffu);
  if (exp == 255) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int32_t e = exp - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // binary16 subnormal (or zero): h * 2^-24
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry rounds up the exponent
  return static_cast<uint16_t>(sign | h);
}

float half_bits_to_float(uint16_t h) {
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    const float v = std::ldexp(static_cast<float>(m), -24);
    return sign ? -v : v;
  }
  if (e == 31) return float_of(sign | 0x7f800000u | (m << 13));
  return float_of(sign | ((e + 112u) << 23) | (m << 13));
}

/// Lower Cholesky of the d x d matrix a (in place); false when not positive definite.
bool cholesky(std::vector<double>& a, int d) {
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = a[static_cast<size_t>(i * d + j)];
      for (int t = 0; t < j; ++t) s -= a[static_cast<size_t>(i * d + t)] * a[static_cast<size_t>(j * d + t)];
      if (i == j) {
        if (!(s > 0.0)) return false;
        a[static_cast<size_t>(i * d + i)] = std::sqrt(s);
      } else {
        a[static_cast<size_t>(i * d + j)] = s / a[static_cast<size_t>(j * d + j)];
      }
    }
  }
  return true;
}

/// Solves L L^T x = b with the factor from cholesky(); b is overwritten by x.
void cholesky_solve(const std::vector<double>& l, int d, double* b) {
  for (int i = 0; i < d; ++i) {
    double s = b[i];
    for (int t = 0; t < i; ++t) s -= l[static_cast<size_t>(i * d + t)] * b[t];
    b[i] = s / l[static_cast<size_t>(i * d + i)];
  }
  for (int i = d - 1; i >= 0; --i) {
    double s = b[i];
    for (int t = i + 1; t < d; ++t) s -= l[static_cast<size_t>(t * d + i)] * b[t];
    b[i] = s / l[static_cast<size_t>(i * d + i)];
  }
}

/// The k-means problem over the n subvectors (Layout (n, d): subvector s is w[s d, (s+1) d)).
struct Problem {
  const float* w = nullptr;
  int64_t n = 0, M = 1;
  int d = 1, k = 1;
  bool weighted = false;
  std::vector<double> H;    // (M, d, d): damped moments (weighted)
  std::vector<double> H0;   // (M, d, d): undamped, for the reported objective
  std::vector<double> u;    // (n, d): H_j v_s
  std::vector<double> vhv;  // (n): v_s^T H_j v_s

  int64_t pos(int64_t s) const { return s % M; }
  const float* v(int64_t s) const { return w + s * d; }
  const double* h(int64_t j) const { return H.data() + j * d * d; }

  /// Exact distance of subvector s to codeword c (double, d values).
  double dist(int64_t s, const double* c, const std::vector<double>& hm) const {
    const float* x = v(s);
    if (!weighted) {
      double acc = 0.0;
      for (int t = 0; t < d; ++t) {
        const double e = static_cast<double>(x[t]) - c[t];
        acc += e * e;
      }
      return acc;
    }
    const double* hj = hm.data() + pos(s) * d * d;
    double acc = 0.0;
    for (int a = 0; a < d; ++a) {
      const double ea = static_cast<double>(x[a]) - c[a];
      double row = 0.0;
      for (int b = 0; b < d; ++b) row += hj[a * d + b] * (static_cast<double>(x[b]) - c[b]);
      acc += ea * row;
    }
    return acc;
  }
};

/// x^T h x for one d x d matrix h.
double quad_form(const double* h, int d, const double* x) {
  double acc = 0.0;
  for (int a = 0; a < d; ++a) {
    double row = 0.0;
    for (int b = 0; b < d; ++b) row += h[a * d + b] * x[b];
    acc += x[a] * row;
  }
  return acc;
}

/// c^T H_j c for every codeword (k values) at position j.
void quad_forms(const Problem& p, int64_t j, const std::vector<double>& cb, std::vector<double>& out) {
  out.resize(static_cast<size_t>(p.k));
  for (int c = 0; c < p.k; ++c) out[static_cast<size_t>(c)] = quad_form(p.h(j), p.d, cb.data() + static_cast<size_t>(c) * p.d);
}

/// Subvector indices in lexicographic order of their values (ties by index).
std::vector<int64_t> lexicographic_order(const Problem& p) {
  std::vector<int64_t> order(static_cast<size_t>(p.n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return std::lexicographical_compare(p.v(a), p.v(a) + p.d, p.v(b), p.v(b) + p.d);
  });
  return order;
}

/// k-means++ (Arthur and Vassilvitskii 2007) over the subvectors in lexicographic order,
/// drawing as kmeans.cpp's init_plus_plus does (so d = 1 picks the same weights). Returns
/// the codebook (k, d) in double, sorted lexicographically.
std::vector<double> init_plus_plus(const Problem& p, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<int64_t> order = lexicographic_order(p);
  const int d = p.d;
  const size_t n = static_cast<size_t>(p.n);
  std::vector<double> cb;
  cb.reserve(static_cast<size_t>(p.k) * d);
  auto push = [&](int64_t s) { for (int t = 0; t < d; ++t) cb.push_back(p.v(s)[t]); };
  auto push_last = [&] { for (int t = 0; t < d; ++t) cb.push_back(cb[cb.size() - static_cast<size_t>(d)]); };
  push(order[static_cast<size_t>(std::floor(dc::uniform01(rng) * static_cast<double>(n)))]);
  // The subvectors (or H_j v for the weighted distance) in that order, transposed to (d, n),
  // so the distance loops below run over contiguous subvectors (vectorized).
  std::vector<double> xt(static_cast<size_t>(d) * n), extra(p.weighted ? n : 0);
  std::vector<int64_t> posn(p.weighted ? n : 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t s = order[i];
    for (int t = 0; t < d; ++t) {
      xt[static_cast<size_t>(t) * n + i] = p.weighted ? p.u[static_cast<size_t>(s) * d + t] : p.v(s)[t];
    }
    if (p.weighted) {
      extra[i] = p.vhv[static_cast<size_t>(s)];
      posn[i] = p.pos(s);
    }
  }
  std::vector<double> d2(n, std::numeric_limits<double>::infinity()), e(n);
  std::vector<double> g;  // weighted: c^T H_j c of the last centre per position
  for (int t = 1; t < p.k; ++t) {
    const double* last = cb.data() + cb.size() - static_cast<size_t>(d);
    std::fill(e.begin(), e.end(), 0.0);
    if (p.weighted) {  // (v - c)^T H (v - c) = v^T H v - 2 (H v).c + c^T H c
      g.resize(static_cast<size_t>(p.M));
      for (int64_t j = 0; j < p.M; ++j) g[static_cast<size_t>(j)] = quad_form(p.h(j), d, last);
      for (int a = 0; a < d; ++a) {
        const double ca = last[a];
        const double* col = xt.data() + static_cast<size_t>(a) * n;
        for (size_t i = 0; i < n; ++i) e[i] += col[i] * ca;
      }
      for (size_t i = 0; i < n; ++i) e[i] = std::max(0.0, extra[i] - 2.0 * e[i] + g[static_cast<size_t>(posn[i])]);
    } else {
      for (int a = 0; a < d; ++a) {
        const double ca = last[a];
        const double* col = xt.data() + static_cast<size_t>(a) * n;
        for (size_t i = 0; i < n; ++i) {
          const double diff = col[i] - ca;
          e[i] += diff * diff;
        }
      }
    }
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) {
      d2[i] = std::min(d2[i], e[i]);
      total += d2[i];
    }
    if (total <= 0.0) {  // every subvector sits on a centre already
      push_last();
      continue;
    }
    const double r = dc::uniform01(rng) * total;
    double acc = 0.0;
    size_t pick = n - 1;
    for (size_t i = 0; i < n; ++i) {
      acc += d2[i];
      if (acc > r) {
        pick = i;
        break;
      }
    }
    push(order[pick]);
  }
  // Sort the codewords lexicographically (kmeans.cpp sorts its centroids ascending).
  std::vector<int> idx(static_cast<size_t>(p.k));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) {
    return std::lexicographical_compare(cb.begin() + a * d, cb.begin() + (a + 1) * d, cb.begin() + b * d,
                                        cb.begin() + (b + 1) * d);
  });
  std::vector<double> sorted(cb.size());
  for (size_t c = 0; c < idx.size(); ++c) {
    std::copy_n(cb.begin() + idx[c] * d, d, sorted.begin() + static_cast<std::ptrdiff_t>(c) * d);
  }
  return sorted;
}

/// acc[c] = base[c] + sum_t vec[t] cbt[t k + c] for c < k (cbt Layout (d, k)), in float32,
/// t ascending. Restrict pointers and a block of codewords in registers let it vectorize.
void distances_f32(const float* __restrict base, const float* __restrict vec, const float* __restrict cbt, int d,
                   size_t k, float* __restrict acc) {
  constexpr size_t kBlock = 32;
  size_t c0 = 0;
  for (; c0 + kBlock <= k; c0 += kBlock) {
    float r[kBlock];
    for (size_t l = 0; l < kBlock; ++l) r[l] = base[c0 + l];
    for (int t = 0; t < d; ++t) {
      const float a = vec[t];
      const float* row = cbt + static_cast<size_t>(t) * k + c0;
      for (size_t l = 0; l < kBlock; ++l) r[l] += a * row[l];
    }
    for (size_t l = 0; l < kBlock; ++l) acc[c0 + l] = r[l];
  }
  for (size_t c = c0; c < k; ++c) {
    float r = base[c];
    for (int t = 0; t < d; ++t) r += vec[t] * cbt[static_cast<size_t>(t) * k + c];
    acc[c] = r;
  }
}

/// Minimum of acc[0..k) (no NaNs), over 16 lanes elementwise so it vectorizes.
float min_f32(const float* __restrict acc, size_t k) {
  constexpr size_t kLanes = 16;
  float mn[kLanes];
  for (size_t l = 0; l < kLanes; ++l) mn[l] = std::numeric_limits<float>::infinity();
  size_t c = 0;
  for (; c + kLanes <= k; c += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) mn[l] = acc[c + l] < mn[l] ? acc[c + l] : mn[l];
  }
  float m = std::numeric_limits<float>::infinity();
  for (size_t l = 0; l < kLanes; ++l) m = std::min(m, mn[l]);
  for (; c < k; ++c) m = std::min(m, acc[c]);
  return m;
}

/// How many acc[c] <= thr; arg = the last such c.
int32_t count_below_f32(const float* __restrict acc, size_t k, float thr, int32_t& arg) {
  int32_t near = 0, last = -1;
  for (size_t c = 0; c < k; ++c) {
    const bool in = acc[c] <= thr;
    near += in ? 1 : 0;
    last = std::max(last, in ? static_cast<int32_t>(c) : -1);
  }
  arg = last;
  return near;
}

/// Assigns every subvector to its exact nearest codeword of `cb` (double, (k, d)); writes
/// codes and the exact distances; returns how many codes changed.
int64_t assign(const Problem& p, const std::vector<double>& cb, std::vector<uint16_t>& codes,
               std::vector<double>& best) {
  const int d = p.d, k = p.k;
  const size_t K = static_cast<size_t>(k);
  std::vector<float> cbt(static_cast<size_t>(d) * K);  // (d, k)
  for (int c = 0; c < k; ++c) {
    for (int t = 0; t < d; ++t) cbt[static_cast<size_t>(t) * K + c] = static_cast<float>(cb[static_cast<size_t>(c) * d + t]);
  }
  std::vector<double> g;         // per codeword: |c|^2 or c^T H_j c
  std::vector<float> base(K), acc(K), vec(static_cast<size_t>(d));
  int64_t changed = 0;
  auto one = [&](int64_t s, float gmax) {
    float vnorm = 0.0f;
    if (p.weighted) {
      const double* us = p.u.data() + s * d;
      for (int t = 0; t < d; ++t) vec[static_cast<size_t>(t)] = static_cast<float>(-2.0 * us[t]);
      vnorm = static_cast<float>(p.vhv[static_cast<size_t>(s)]);
    } else {
      const float* x = p.v(s);
      for (int t = 0; t < d; ++t) {
        vec[static_cast<size_t>(t)] = -2.0f * x[t];
        vnorm += x[t] * x[t];
      }
    }
    distances_f32(base.data(), vec.data(), cbt.data(), d, K, acc.data());
    const float m = min_f32(acc.data(), K);
    // Rounding of the float expansion: a few ulps of |v|^2 + |c|^2 per term.
    const float tol = 4e-6f * static_cast<float>(d + 4) * (vnorm + gmax) + 1e-30f;
    int32_t arg = -1;
    const int32_t near = count_below_f32(acc.data(), K, m + tol, arg);
    const float thr = m + tol;
    double bd;
    int bc;
    if (near == 1) {
      bc = arg;
      bd = p.dist(s, cb.data() + static_cast<size_t>(bc) * d, p.H);
    } else {
      bd = std::numeric_limits<double>::infinity();
      bc = 0;
      for (int c = 0; c < k; ++c) {
        if (acc[static_cast<size_t>(c)] > thr) continue;
        const double e = p.dist(s, cb.data() + static_cast<size_t>(c) * d, p.H);
        if (e < bd) {
          bd = e;
          bc = c;
        }
      }
    }
    const size_t si = static_cast<size_t>(s);
    if (codes[si] != bc) ++changed;
    codes[si] = static_cast<uint16_t>(bc);
    best[si] = bd;
  };
  if (p.weighted) {
    for (int64_t j = 0; j < p.M; ++j) {
      quad_forms(p, j, cb, g);
      float gmax = 0.0f;
      for (size_t c = 0; c < K; ++c) {
        base[c] = static_cast<float>(g[c]);
        gmax = std::max(gmax, std::abs(base[c]));
      }
      for (int64_t s = j; s < p.n; s += p.M) one(s, gmax);
    }
  } else {
    float gmax = 0.0f;
    for (size_t c = 0; c < K; ++c) {
      float nc = 0.0f;
      for (int t = 0; t < d; ++t) nc += cbt[static_cast<size_t>(t) * K + c] * cbt[static_cast<size_t>(t) * K + c];
      base[c] = nc;
      gmax = std::max(gmax, nc);
    }
    for (int64_t s = 0; s < p.n; ++s) one(s, gmax);
  }
  return changed;
}

/// Empty clusters take the subvectors farthest from their codewords (one each, distance
/// > 0). Returns how many were re-seeded.
int reseed_empty(const Problem& p, std::vector<double>& cb, std::vector<uint16_t>& codes,
                 std::vector<double>& best) {
  std::vector<int64_t> count(static_cast<size_t>(p.k), 0);
  for (uint16_t c : codes) ++count[c];
  std::vector<int> empty;
  for (int c = 0; c < p.k; ++c) if (count[static_cast<size_t>(c)] == 0) empty.push_back(c);
  if (empty.empty()) return 0;
  std::vector<int64_t> far(static_cast<size_t>(p.n));
  std::iota(far.begin(), far.end(), int64_t{0});
  const size_t e = std::min(empty.size(), far.size());
  std::partial_sort(far.begin(), far.begin() + static_cast<std::ptrdiff_t>(e), far.end(), [&](int64_t a, int64_t b) {
    const double da = best[static_cast<size_t>(a)], db = best[static_cast<size_t>(b)];
    return da != db ? da > db : a < b;
  });
  int done = 0;
  for (size_t i = 0; i < e; ++i) {
    const int64_t s = far[i];
    if (!(best[static_cast<size_t>(s)] > 0.0)) break;
    const size_t old = codes[static_cast<size_t>(s)];
    if (count[old] <= 1) continue;  // would empty another cluster
    --count[old];
    const int c = empty[i];
    for (int t = 0; t < p.d; ++t) cb[static_cast<size_t>(c) * p.d + t] = p.v(s)[t];
    codes[static_cast<size_t>(s)] = static_cast<uint16_t>(c);
    best[static_cast<size_t>(s)] = 0.0;
    ++count[static_cast<size_t>(c)];
    ++done;
  }
  return done;
}

/// Lloyd update: the mean (weight) or the weighted least-squares solution (activation) of
/// each non-empty cluster; empty clusters keep their codeword.
void update(const Problem& p, std::vector<double>& cb, const std::vector<uint16_t>& codes) {
  const int d = p.d, k = p.k;
  const size_t D = static_cast<size_t>(d);
  std::vector<double> sum(static_cast<size_t>(k) * D, 0.0);
  std::vector<int64_t> count(static_cast<size_t>(k), 0);
  for (int64_t s = 0; s < p.n; ++s) {
    const size_t c = codes[static_cast<size_t>(s)];
    ++count[c];
    if (p.weighted) {
      const double* us = p.u.data() + s * d;
      for (size_t t = 0; t < D; ++t) sum[c * D + t] += us[t];
    } else {
      const float* x = p.v(s);
      for (size_t t = 0; t < D; ++t) sum[c * D + t] += x[t];
    }
  }
  if (!p.weighted) {
    for (size_t c = 0; c < static_cast<size_t>(k); ++c) {
      if (!count[c]) continue;
      for (size_t t = 0; t < D; ++t) cb[c * D + t] = sum[c * D + t] / static_cast<double>(count[c]);
    }
    return;
  }
  // A_c = sum_j cnt[c][j] H_j, then c = A_c^-1 sum_{s in c} H_j v_s.
  std::vector<int64_t> cnt(static_cast<size_t>(k) * static_cast<size_t>(p.M), 0);
  for (int64_t s = 0; s < p.n; ++s) ++cnt[codes[static_cast<size_t>(s)] * static_cast<size_t>(p.M) + static_cast<size_t>(p.pos(s))];
  std::vector<double> a(D * D);
  for (size_t c = 0; c < static_cast<size_t>(k); ++c) {
    if (!count[c]) continue;
    std::fill(a.begin(), a.end(), 0.0);
    for (int64_t j = 0; j < p.M; ++j) {
      const int64_t m = cnt[c * static_cast<size_t>(p.M) + static_cast<size_t>(j)];
      if (!m) continue;
      const double* hj = p.h(j);
      for (size_t i = 0; i < D * D; ++i) a[i] += static_cast<double>(m) * hj[i];
    }
    double* b = sum.data() + c * D;
    if (cholesky(a, d)) {
      cholesky_solve(a, d, b);
      std::copy_n(b, D, cb.begin() + static_cast<std::ptrdiff_t>(c * D));
    }  // else (damping 0 and singular moments): keep the codeword
  }
}

double mean_objective(const Problem& p, const std::vector<double>& cb, const std::vector<uint16_t>& codes) {
  double acc = 0.0;
  for (int64_t s = 0; s < p.n; ++s) {
    acc += p.dist(s, cb.data() + static_cast<size_t>(codes[static_cast<size_t>(s)]) * p.d, p.H0);
  }
  return acc / static_cast<double>(p.n);
}

}  // namespace

Status pq_check_layer(const PQLayer& l, const char* what) {
  if (l.d < 1 || l.k < 1 || l.rows < 1 || l.cols < 1 || l.cols % l.d != 0) {
    return invalid_argument(std::string(what) + ": inconsistent PQ layer (rows, cols, d, k)");
  }
  if (l.codebook.size() != static_cast<size_t>(l.k) * static_cast<size_t>(l.d)) {
    return shape_mismatch(std::string(what) + ": the codebook has " + std::to_string(l.codebook.size()) +
                          " values, not k x d = " + std::to_string(static_cast<int64_t>(l.k) * l.d));
  }
  if (static_cast<int64_t>(l.codes.size()) != l.n()) {
    return shape_mismatch(std::string(what) + ": " + std::to_string(l.codes.size()) + " codes for " +
                          std::to_string(l.n()) + " subvectors");
  }
  for (size_t i = 0; i < l.codes.size(); ++i) {
    if (l.codes[i] >= l.k) {
      return out_of_range(std::string(what) + ": code " + std::to_string(l.codes[i]) + " at " + std::to_string(i) +
                          " is outside [0, " + std::to_string(l.k) + ")");
    }
  }
  return Status::ok();
}

int pq_index_bits(int k) { return k <= 1 ? 0 : static_cast<int>(std::bit_width(static_cast<unsigned>(k - 1))); }

int PQLayer::nbits() const { return pq_index_bits(k); }

float round_to_fp16(float x) { return half_bits_to_float(float_to_half_bits(x)); }
uint16_t fp16_bits(float x) { return float_to_half_bits(x); }
float fp16_value(uint16_t bits) { return half_bits_to_float(bits); }

PQStorage pq_storage(int64_t subvectors, int k, int d, CodebookPrecision precision) {
  PQStorage s;
  s.index_bytes = (static_cast<size_t>(subvectors) * static_cast<size_t>(pq_index_bits(k)) + 7) / 8;
  s.codebook_bytes = static_cast<size_t>(k) * static_cast<size_t>(d) * (precision == CodebookPrecision::kFloat16 ? 2 : 4);
  return s;
}

PQStorage pq_storage(const PQLayer& l) { return pq_storage(l.n(), l.k, l.d, l.precision); }

Result<PQResult> pq_quantize(std::span<const float> weights, int64_t rows, int64_t cols, const PQParameters& o,
                             const PQInputStats* stats, const ProgressFn& progress, const CancelFn& cancel) {
  if (rows < 1 || cols < 1) return empty_input("pq_quantize: no weights");
  if (weights.size() != static_cast<size_t>(rows) * static_cast<size_t>(cols)) {
    return shape_mismatch("pq_quantize: " + std::to_string(weights.size()) + " weights for " + std::to_string(rows) +
                          " x " + std::to_string(cols));
  }
  if (o.d < 1 || cols % o.d != 0) {
    return invalid_argument("pq_quantize: d = " + std::to_string(o.d) + " does not divide the row length " +
                            std::to_string(cols));
  }
  if (o.k < 1 || o.k > kMaxPQCodewords) {
    return invalid_argument("pq_quantize: k must be 1.." + std::to_string(kMaxPQCodewords) + ", got " +
                            std::to_string(o.k));
  }
  const int64_t M = cols / o.d, n = rows * M;
  if (n < o.k) {
    return invalid_argument("pq_quantize: the layer has " + std::to_string(n) + " subvectors of d = " +
                            std::to_string(o.d) + ", fewer than k = " + std::to_string(o.k));
  }
  if (o.iterations < 0) return invalid_argument("pq_quantize: iterations must be >= 0");
  if (!(o.damping >= 0.0) || !std::isfinite(o.damping)) return invalid_argument("pq_quantize: damping must be >= 0");
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i])) return not_finite("pq_quantize: weight " + std::to_string(i) + " is not finite");
  }
  Problem p;
  p.w = weights.data();
  p.n = n;
  p.M = M;
  p.d = o.d;
  p.k = o.k;
  p.weighted = o.objective == PQObjective::kActivation;
  const size_t D = static_cast<size_t>(o.d);
  if (p.weighted) {
    if (!stats) return invalid_argument("pq_quantize: the activation objective needs the layer's input statistics");
    if (stats->d != o.d || stats->M != M || stats->count < 1 ||
        stats->sums.size() != static_cast<size_t>(M) * D * D) {
      return shape_mismatch("pq_quantize: input statistics of d = " + std::to_string(stats->d) + ", M = " +
                            std::to_string(stats->M) + " for a layer of d = " + std::to_string(o.d) + ", M = " +
                            std::to_string(M));
    }
    if (o.center && stats->mean_sums.size() != static_cast<size_t>(cols)) {
      return shape_mismatch("pq_quantize: input statistics without the mean of " + std::to_string(cols) + " inputs");
    }
    p.H0.resize(stats->sums.size());
    const double cnt = static_cast<double>(stats->count);
    for (size_t i = 0; i < p.H0.size(); ++i) p.H0[i] = stats->sums[i] / cnt;
    if (o.center) {  // covariance: E[x x^T] - E[x] E[x]^T per position
      for (int64_t j = 0; j < M; ++j) {
        const double* mu = stats->mean_sums.data() + static_cast<size_t>(j) * D;
        double* h = p.H0.data() + static_cast<size_t>(j) * D * D;
        for (size_t a = 0; a < D; ++a) for (size_t b = 0; b < D; ++b) h[a * D + b] -= (mu[a] / cnt) * (mu[b] / cnt);
      }
    }
    p.H = p.H0;
    for (int64_t j = 0; j < M; ++j) {
      double* h = p.H.data() + static_cast<size_t>(j) * D * D;
      double tr = 0.0;
      for (size_t a = 0; a < D; ++a) tr += h[a * D + a];
      double lambda = o.damping * tr / static_cast<double>(D);
      if (!(lambda > 0.0)) lambda = o.damping > 0.0 ? o.damping : 0.0;  // all-zero inputs
      for (size_t a = 0; a < D; ++a) h[a * D + a] += lambda;
    }
    p.u.resize(static_cast<size_t>(n) * D);
    p.vhv.resize(static_cast<size_t>(n));
    for (int64_t s = 0; s < n; ++s) {
      const double* h = p.h(p.pos(s));
      const float* x = p.v(s);
      double q = 0.0;
      for (size_t a = 0; a < D; ++a) {
        double r = 0.0;
        for (size_t b = 0; b < D; ++b) r += h[a * D + b] * x[b];
        p.u[static_cast<size_t>(s) * D + a] = r;
        q += r * x[a];
      }
      p.vhv[static_cast<size_t>(s)] = q;
    }
  }

  std::vector<double> cb = init_plus_plus(p, o.seed);
  std::vector<uint16_t> codes(static_cast<size_t>(n), 0);
  std::vector<double> best(static_cast<size_t>(n), 0.0);
  PQResult r;
  // The first assignment counts every subvector as changed (kmeans.cpp never stops there).
  bool first = true;
  for (int it = 0; it < o.iterations; ++it) {
    if (cancel && cancel()) return cancelled("pq_quantize: cancelled");
    int64_t changed = assign(p, cb, codes, best);
    if (first) changed = n;
    first = false;
    ++r.iterations;
    if (progress) {
      double obj = 0.0;
      for (double b : best) obj += b;
      progress({"pq", it + 1, o.iterations, obj / static_cast<double>(n)});
    }
    if (changed == 0) break;
    r.reseeded += reseed_empty(p, cb, codes, best);
    update(p, cb, codes);
  }
  if (progress && r.iterations < o.iterations) progress({"pq", o.iterations, o.iterations, kNaN});

  // Round to the stored precision, then the final assignment against what is stored.
  PQLayer& l = r.layer;
  l.rows = rows;
  l.cols = cols;
  l.d = o.d;
  l.k = o.k;
  l.precision = o.precision;
  l.codebook.resize(cb.size());
  for (size_t i = 0; i < cb.size(); ++i) {
    const float f = static_cast<float>(cb[i]);
    l.codebook[i] = o.precision == CodebookPrecision::kFloat16 ? round_to_fp16(f) : f;
    cb[i] = l.codebook[i];
  }
  assign(p, cb, codes, best);
  l.codes = std::move(codes);
  if (!p.weighted) p.H0.clear();
  r.objective = mean_objective(p, cb, l.codes);
  double se = 0.0;
  for (int64_t s = 0; s < n; ++s) {
    const float* x = p.v(s);
    const float* c = l.codebook.data() + static_cast<size_t>(l.codes[static_cast<size_t>(s)]) * D;
    for (size_t t = 0; t < D; ++t) {
      const double e = static_cast<double>(x[t]) - c[t];
      se += e * e;
    }
  }
  r.weight_mse = se / static_cast<double>(weights.size());
  return r;
}

Result<std::vector<float>> pq_bias_correction(std::span<const float> weights, const PQLayer& l,
                                              const PQInputStats& stats) {
  QL_RETURN_IF_ERROR(pq_check_layer(l, "pq_bias_correction"));
  if (weights.size() != static_cast<size_t>(l.rows * l.cols) || stats.mean_sums.size() != static_cast<size_t>(l.cols) ||
      stats.count < 1) {
    return shape_mismatch("pq_bias_correction: weights or statistics of another layer");
  }
  const size_t D = static_cast<size_t>(l.d), M = static_cast<size_t>(l.M()), cols = static_cast<size_t>(l.cols);
  const double cnt = static_cast<double>(stats.count);
  std::vector<float> delta(static_cast<size_t>(l.rows));
  for (size_t o = 0; o < delta.size(); ++o) {
    double acc = 0.0;
    for (size_t j = 0; j < M; ++j) {
      const float* c = l.codebook.data() + static_cast<size_t>(l.codes[o * M + j]) * D;
      for (size_t t = 0; t < D; ++t) {
        const size_t i = j * D + t;
        acc += (static_cast<double>(weights[o * cols + i]) - c[t]) * (stats.mean_sums[i] / cnt);
      }
    }
    delta[o] = static_cast<float>(acc);
  }
  return delta;
}

Result<std::vector<float>> pq_decode(const PQLayer& l) {
  QL_RETURN_IF_ERROR(pq_check_layer(l, "pq_decode"));
  std::vector<float> w(static_cast<size_t>(l.rows * l.cols));
  const size_t D = static_cast<size_t>(l.d);
  for (size_t s = 0; s < l.codes.size(); ++s) {
    std::copy_n(l.codebook.data() + l.codes[s] * D, D, w.data() + s * D);
  }
  return w;
}

Codebook pq_as_codebook(const PQLayer& l) {
  Codebook cb;
  cb.centroids = l.codebook;
  cb.labels.resize(l.codes.size() * static_cast<size_t>(l.d));
  for (size_t s = 0; s < l.codes.size(); ++s) {
    for (int t = 0; t < l.d; ++t) {
      cb.labels[s * static_cast<size_t>(l.d) + static_cast<size_t>(t)] = static_cast<int32_t>(l.codes[s]) * l.d + t;
    }
  }
  return cb;
}

Status pq_update_from_codebook(PQLayer& l, const Codebook& cb) {
  if (cb.centroids.size() != l.codebook.size()) {
    return shape_mismatch("pq_update_from_codebook: " + std::to_string(cb.centroids.size()) +
                          " centroids for a codebook of k x d = " + std::to_string(l.codebook.size()));
  }
  for (size_t i = 0; i < cb.centroids.size(); ++i) {
    const float f = cb.centroids[i];
    if (!std::isfinite(f)) return not_finite("pq_update_from_codebook: a codeword is not finite");
    l.codebook[i] = l.precision == CodebookPrecision::kFloat16 ? round_to_fp16(f) : f;
  }
  return Status::ok();
}

}  // namespace quantlab
