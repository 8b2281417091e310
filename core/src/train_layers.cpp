// Training engine, layers: dense kernels (blocked GEMM, transpose, im2col / col2im) and each
// layer's forward and backward pass, softmax cross-entropy.
#include <algorithm>
#include <cmath>
#include <limits>

#include "train_internal.hpp"

namespace quantlab::train_internal {
namespace {

// --- Dense kernels ------------------------------------------------------------------------------
// C[M, N] += A B with a(i, k) = A[i * ars + k * acs] (row-major A: ars = lda, acs = 1; A^T
// of a row-major [K, M] matrix: ars = 1, acs = lda) and B row-major [K, N]. Four rows of C
// share each row of B; columns are blocked so those rows stay in L1. A zero multiplier (a
// pruned weight, a ReLU zero) skips its row of B.
void gemm(size_t M, size_t N, size_t K, const float* A, size_t ars, size_t acs, const float* B,
          size_t ldb, float* C, size_t ldc) {
  constexpr size_t kNb = 512;
  for (size_t j0 = 0; j0 < N; j0 += kNb) {
    const size_t nb = std::min(kNb, N - j0);
    size_t i = 0;
    for (; i + 4 <= M; i += 4) {
      float* __restrict c0 = C + i * ldc + j0;
      float* __restrict c1 = c0 + ldc;
      float* __restrict c2 = c1 + ldc;
      float* __restrict c3 = c2 + ldc;
      for (size_t k = 0; k < K; ++k) {
        const float a0 = A[i * ars + k * acs], a1 = A[(i + 1) * ars + k * acs];
        const float a2 = A[(i + 2) * ars + k * acs], a3 = A[(i + 3) * ars + k * acs];
        if (a0 == 0.0f && a1 == 0.0f && a2 == 0.0f && a3 == 0.0f) continue;
        const float* __restrict b = B + k * ldb + j0;
        for (size_t j = 0; j < nb; ++j) {
          const float bj = b[j];
          c0[j] += a0 * bj;
          c1[j] += a1 * bj;
          c2[j] += a2 * bj;
          c3[j] += a3 * bj;
        }
      }
    }
    for (; i < M; ++i) {
      float* __restrict c0 = C + i * ldc + j0;
      for (size_t k = 0; k < K; ++k) {
        const float a0 = A[i * ars + k * acs];
        if (a0 == 0.0f) continue;
        const float* __restrict b = B + k * ldb + j0;
        for (size_t j = 0; j < nb; ++j) c0[j] += a0 * b[j];
      }
    }
  }
}

struct ConvShape {
  int64_t c, h, w;       // input
  int64_t co, oh, ow;    // output
  int64_t kh, kw, sh, sw, pt, pl;
  size_t k() const { return static_cast<size_t>(c * kh * kw); }
  size_t p() const { return static_cast<size_t>(oh * ow); }
};

ConvShape conv_shape(const Layer& l) {
  const Shape& in = l.input_shape;
  const Shape& out = l.output_shape;
  const Conv2dGeometry& g = l.conv;
  return {in[0],      in[1],      in[2],      out[0],    out[1],    out[2],
          g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_top, g.pad_left};
}

/// f(o, first) for every window of a pooling layer over a batch of B samples of `in`
/// values: o the flat output index, first the flat input index of the window's top-left
/// (its rows are the input width apart).
template <class F>
void for_each_pool_window(const Layer& l, size_t B, size_t in, F f) {
  const int64_t C = l.input_shape[0], H = l.input_shape[1], W = l.input_shape[2];
  const int64_t OH = l.output_shape[1], OW = l.output_shape[2], st = l.pool_stride;
  size_t o = 0;
  for (size_t n = 0; n < B; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const size_t base = n * in + static_cast<size_t>(c * H * W);
      for (int64_t oy = 0; oy < OH; ++oy) {
        for (int64_t ox = 0; ox < OW; ++ox, ++o) f(o, base + static_cast<size_t>(oy * st * W + ox * st));
      }
    }
  }
}

/// cols[(c kh + r) kw + s][oy ow + ox] = x[c][oy sh - pt + r][ox sw - pl + s] (0 outside).
void im2col(const ConvShape& s, const float* x, float* cols) {
  size_t row = 0;
  for (int64_t c = 0; c < s.c; ++c) {
    for (int64_t r = 0; r < s.kh; ++r) {
      for (int64_t q = 0; q < s.kw; ++q, ++row) {
        float* dst = cols + row * s.p();
        for (int64_t oy = 0; oy < s.oh; ++oy) {
          const int64_t iy = oy * s.sh - s.pt + r;
          for (int64_t ox = 0; ox < s.ow; ++ox) {
            const int64_t ix = ox * s.sw - s.pl + q;
            *dst++ = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) ? x[(c * s.h + iy) * s.w + ix] : 0.0f;
          }
        }
      }
    }
  }
}

/// The adjoint of im2col: dx += scatter of dcols.
void col2im(const ConvShape& s, const float* dcols, float* dx) {
  size_t row = 0;
  for (int64_t c = 0; c < s.c; ++c) {
    for (int64_t r = 0; r < s.kh; ++r) {
      for (int64_t q = 0; q < s.kw; ++q, ++row) {
        const float* src = dcols + row * s.p();
        for (int64_t oy = 0; oy < s.oh; ++oy) {
          const int64_t iy = oy * s.sh - s.pt + r;
          for (int64_t ox = 0; ox < s.ow; ++ox, ++src) {
            const int64_t ix = ox * s.sw - s.pl + q;
            if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) dx[(c * s.h + iy) * s.w + ix] += *src;
          }
        }
      }
    }
  }
}

}  // namespace

/// out[c][r] = in[r][c] for in [rows, cols].
void transpose(size_t rows, size_t cols, const float* in, float* out) {
  constexpr size_t kB = 32;
  for (size_t r0 = 0; r0 < rows; r0 += kB) {
    for (size_t c0 = 0; c0 < cols; c0 += kB) {
      const size_t r1 = std::min(rows, r0 + kB), c1 = std::min(cols, c0 + kB);
      for (size_t r = r0; r < r1; ++r) {
        for (size_t c = c0; c < c1; ++c) out[c * rows + r] = in[r * cols + c];
      }
    }
  }
}

size_t numel(const Shape& s) {
  size_t n = 1;
  for (int64_t d : s) n *= static_cast<size_t>(d);
  return n;
}

// --- Layers -----------------------------------------------------------------------------------


void forward_layer(const Network& net, size_t li, Pass& pass, bool keep_argmax) {
  const Layer& l = net.layers()[li];
  const auto& params = net.params();
  const std::vector<float>& x = pass.acts[li];
  std::vector<float>& y = pass.acts[li + 1];
  const size_t B = pass.batch;
  const size_t in = numel(l.input_shape), out = numel(l.output_shape);
  y.assign(B * out, 0.0f);
  switch (l.kind) {
    case LayerKind::kLinear: {
      const Parameter& w = params[static_cast<size_t>(l.params[0])];
      const Parameter& b = params[static_cast<size_t>(l.params[1])];
      for (size_t n = 0; n < B; ++n) std::copy(b.value.begin(), b.value.end(), y.begin() + static_cast<std::ptrdiff_t>(n * out));
      std::vector<float> wt(in * out);
      transpose(out, in, w.value.data(), wt.data());
      gemm(B, out, in, x.data(), in, 1, wt.data(), out, y.data(), out);
      break;
    }
    case LayerKind::kConv2d: {
      const ConvShape s = conv_shape(l);
      const Parameter& w = params[static_cast<size_t>(l.params[0])];
      const Parameter* b = l.params[1] >= 0 ? &params[static_cast<size_t>(l.params[1])] : nullptr;
      std::vector<float> cols(s.k() * s.p());
      for (size_t n = 0; n < B; ++n) {
        float* yn = y.data() + n * out;
        if (b) {
          for (int64_t c = 0; c < s.co; ++c) std::fill_n(yn + static_cast<size_t>(c) * s.p(), s.p(), b->value[static_cast<size_t>(c)]);
        }
        im2col(s, x.data() + n * in, cols.data());
        gemm(static_cast<size_t>(s.co), s.p(), s.k(), w.value.data(), s.k(), 1, cols.data(), s.p(), yn, s.p());
      }
      break;
    }
    case LayerKind::kRelu:
      for (size_t i = 0; i < y.size(); ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case LayerKind::kMaxPool:
    case LayerKind::kAvgPool: {
      const auto W = static_cast<size_t>(l.input_shape[2]), k = static_cast<size_t>(l.pool_kernel);
      const bool is_max = l.kind == LayerKind::kMaxPool;
      std::vector<uint32_t>* am = (is_max && keep_argmax) ? &pass.argmax[li] : nullptr;
      if (am) am->assign(y.size(), 0);
      const float inv = 1.0f / static_cast<float>(k * k);
      for_each_pool_window(l, B, in, [&](size_t o, size_t first) {
        float best = -std::numeric_limits<float>::infinity(), sum = 0.0f;
        size_t arg = 0;
        for (size_t r = 0; r < k; ++r) {
          for (size_t q = 0; q < k; ++q) {
            const size_t idx = first + r * W + q;
            const float v = x[idx];
            sum += v;
            if (v > best) {
              best = v;
              arg = idx;
            }
          }
        }
        y[o] = is_max ? best : sum * inv;
        if (am) (*am)[o] = static_cast<uint32_t>(arg);
      });
      break;
    }
    case LayerKind::kGlobalAvgPool: {
      const size_t C = static_cast<size_t>(l.input_shape[0]), HW = in / C;
      const float inv = 1.0f / static_cast<float>(HW);
      for (size_t n = 0; n < B; ++n) {
        for (size_t c = 0; c < C; ++c) {
          const float* p = x.data() + n * in + c * HW;
          float sum = 0.0f;
          for (size_t i = 0; i < HW; ++i) sum += p[i];
          y[n * C + c] = sum * inv;
        }
      }
      break;
    }
    case LayerKind::kFlatten:
      y = x;
      break;
    case LayerKind::kBatchNorm: {
      const size_t C = static_cast<size_t>(l.input_shape[0]), HW = in / C;
      const auto& g = params[static_cast<size_t>(l.params[0])].value;
      const auto& be = params[static_cast<size_t>(l.params[1])].value;
      const auto& mu = params[static_cast<size_t>(l.params[2])].value;
      const auto& var = params[static_cast<size_t>(l.params[3])].value;
      for (size_t c = 0; c < C; ++c) {
        const float s = g[c] / std::sqrt(var[c] + l.eps);
        for (size_t n = 0; n < B; ++n) {
          const float* p = x.data() + n * in + c * HW;
          float* q = y.data() + n * in + c * HW;
          for (size_t i = 0; i < HW; ++i) q[i] = (p[i] - mu[c]) * s + be[c];
        }
      }
      break;
    }
  }
}

/// dx (zeroed by the caller) from dy; parameter gradients added to grad.
void backward_layer(Network& net, size_t li, const Pass& pass, const std::vector<float>& dy,
                    std::vector<float>& dx, bool need_dx) {
  const Layer& l = net.layers()[li];
  auto& params = net.params();
  const std::vector<float>& x = pass.acts[li];
  const std::vector<float>& y = pass.acts[li + 1];
  const size_t B = pass.batch;
  const size_t in = numel(l.input_shape), out = numel(l.output_shape);
  switch (l.kind) {
    case LayerKind::kLinear: {
      Parameter& w = params[static_cast<size_t>(l.params[0])];
      Parameter& b = params[static_cast<size_t>(l.params[1])];
      if (w.trainable) gemm(out, in, B, dy.data(), 1, out, x.data(), in, w.grad.data(), in);  // dy^T x
      if (b.trainable) {
        for (size_t n = 0; n < B; ++n) {
          for (size_t o = 0; o < out; ++o) b.grad[o] += dy[n * out + o];
        }
      }
      if (need_dx) gemm(B, in, out, dy.data(), out, 1, w.value.data(), in, dx.data(), in);  // dy W
      break;
    }
    case LayerKind::kConv2d: {
      const ConvShape s = conv_shape(l);
      Parameter& w = params[static_cast<size_t>(l.params[0])];
      Parameter* b = l.params[1] >= 0 ? &params[static_cast<size_t>(l.params[1])] : nullptr;
      std::vector<float> cols(s.k() * s.p()), cols_t(s.k() * s.p()), dcols(s.k() * s.p());
      for (size_t n = 0; n < B; ++n) {
        const float* dyn = dy.data() + n * out;
        if (w.trainable) {
          im2col(s, x.data() + n * in, cols.data());
          transpose(s.k(), s.p(), cols.data(), cols_t.data());
          gemm(static_cast<size_t>(s.co), s.k(), s.p(), dyn, s.p(), 1, cols_t.data(), s.k(), w.grad.data(), s.k());
        }
        if (b && b->trainable) {
          for (int64_t c = 0; c < s.co; ++c) {
            const float* p = dyn + static_cast<size_t>(c) * s.p();
            float sum = 0.0f;
            for (size_t i = 0; i < s.p(); ++i) sum += p[i];
            b->grad[static_cast<size_t>(c)] += sum;
          }
        }
        if (need_dx) {
          std::fill(dcols.begin(), dcols.end(), 0.0f);
          // dcols[K, P] = W^T dy: W is [co, K], read transposed.
          gemm(s.k(), s.p(), static_cast<size_t>(s.co), w.value.data(), 1, s.k(), dyn, s.p(), dcols.data(), s.p());
          col2im(s, dcols.data(), dx.data() + n * in);
        }
      }
      break;
    }
    case LayerKind::kRelu:
      if (need_dx) for (size_t i = 0; i < dx.size(); ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case LayerKind::kMaxPool:
      if (need_dx) {
        const auto& am = pass.argmax[li];
        for (size_t o = 0; o < dy.size(); ++o) dx[am[o]] += dy[o];
      }
      break;
    case LayerKind::kAvgPool:
      if (need_dx) {
        const auto W = static_cast<size_t>(l.input_shape[2]), k = static_cast<size_t>(l.pool_kernel);
        const float inv = 1.0f / static_cast<float>(k * k);
        for_each_pool_window(l, B, in, [&](size_t o, size_t first) {
          const float g = dy[o] * inv;
          for (size_t r = 0; r < k; ++r) {
            for (size_t q = 0; q < k; ++q) dx[first + r * W + q] += g;
          }
        });
      }
      break;
    case LayerKind::kGlobalAvgPool:
      if (need_dx) {
        const size_t C = static_cast<size_t>(l.input_shape[0]), HW = in / C;
        const float inv = 1.0f / static_cast<float>(HW);
        for (size_t n = 0; n < B; ++n) {
          for (size_t c = 0; c < C; ++c) {
            const float g = dy[n * C + c] * inv;
            float* p = dx.data() + n * in + c * HW;
            for (size_t i = 0; i < HW; ++i) p[i] = g;
          }
        }
      }
      break;
    case LayerKind::kFlatten:
      if (need_dx) dx = dy;
      break;
    case LayerKind::kBatchNorm: {
      const size_t C = static_cast<size_t>(l.input_shape[0]), HW = in / C;
      Parameter& g = params[static_cast<size_t>(l.params[0])];
      Parameter& be = params[static_cast<size_t>(l.params[1])];
      const auto& mu = params[static_cast<size_t>(l.params[2])].value;
      const auto& var = params[static_cast<size_t>(l.params[3])].value;
      for (size_t c = 0; c < C; ++c) {
        const float inv_std = 1.0f / std::sqrt(var[c] + l.eps);
        const float s = g.value[c] * inv_std;
        double dg = 0.0, db = 0.0;
        for (size_t n = 0; n < B; ++n) {
          const float* p = x.data() + n * in + c * HW;
          const float* d = dy.data() + n * in + c * HW;
          for (size_t i = 0; i < HW; ++i) {
            dg += static_cast<double>(d[i]) * (p[i] - mu[c]) * inv_std;
            db += d[i];
            if (need_dx) dx[n * in + c * HW + i] = d[i] * s;
          }
        }
        if (g.trainable) g.grad[c] += static_cast<float>(dg);
        if (be.trainable) be.grad[c] += static_cast<float>(db);
      }
      break;
    }
  }
}

Result<size_t> batch_of(const Network& net, const Tensor& x) {
  if (x.dtype() != DType::kFloat32) return unsupported("network input must be float32");
  const size_t per = numel(net.input_shape());
  if (net.layers().empty()) return invalid_argument("the network has no layers");
  if (x.size() == 0 || x.size() % per != 0) {
    return shape_mismatch("network input has " + std::to_string(x.size()) + " values, not a multiple of one sample " +
                          shape_string(net.input_shape()));
  }
  if (x.rank() >= 1 && x.dim(0) > 0 && static_cast<size_t>(x.dim(0)) * per == x.size()) return static_cast<size_t>(x.dim(0));
  return x.size() / per;
}

Pass run_forward(const Network& net, const Tensor& x, size_t batch, bool keep_argmax) {
  Pass pass;
  pass.batch = batch;
  pass.acts.resize(net.layers().size() + 1);
  auto xs = x.data<float>();
  pass.acts[0].assign(xs.begin(), xs.end());
  pass.argmax.resize(net.layers().size());
  for (size_t li = 0; li < net.layers().size(); ++li) forward_layer(net, li, pass, keep_argmax);
  return pass;
}

/// Mean softmax cross-entropy over the batch; dlogits (if non-null) = (softmax - onehot) / B.
double softmax_cross_entropy(const std::vector<float>& logits, size_t B, size_t C,
                             std::span<const uint8_t> labels, std::vector<float>* dlogits,
                             std::vector<uint8_t>* predictions) {
  double loss = 0.0;
  if (dlogits) dlogits->assign(B * C, 0.0f);
  std::vector<double> e(C);
  for (size_t n = 0; n < B; ++n) {
    const float* z = logits.data() + n * C;
    size_t arg = 0;
    for (size_t c = 1; c < C; ++c) if (z[c] > z[arg]) arg = c;
    if (predictions) (*predictions)[n] = static_cast<uint8_t>(arg);
    const double zmax = z[arg];
    double sum = 0.0;
    for (size_t c = 0; c < C; ++c) sum += (e[c] = std::exp(static_cast<double>(z[c]) - zmax));
    if (!labels.empty()) loss += std::log(sum) + zmax - z[labels[n]];
    if (dlogits) {
      for (size_t c = 0; c < C; ++c) {
        (*dlogits)[n * C + c] = static_cast<float>((e[c] / sum - (c == labels[n] ? 1.0 : 0.0)) / static_cast<double>(B));
      }
    }
  }
  return loss / static_cast<double>(B);
}

Status check_labels(std::span<const uint8_t> labels, size_t B, size_t C) {
  if (labels.size() != B) {
    return shape_mismatch(std::to_string(labels.size()) + " labels for a batch of " + std::to_string(B));
  }
  for (size_t n = 0; n < B; ++n) {
    if (labels[n] >= C) {
      return out_of_range("label " + std::to_string(labels[n]) + " of sample " + std::to_string(n) +
                          " is outside the " + std::to_string(C) + " classes");
    }
  }
  return Status::ok();
}

}  // namespace quantlab::train_internal
