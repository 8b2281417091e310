// Training engine: layers' forward and backward passes, softmax cross-entropy, SGD / Adam
// with masks and codebook-shared weights, evaluation, and the bridge to ONNX models.
#include "quantlab/train.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "dc_random.hpp"

namespace quantlab {
namespace {

constexpr double kPi = 3.14159265358979323846;

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

struct ConvShape {
  int64_t c, h, w;       // input
  int64_t co, oh, ow;    // output
  int64_t kh, kw, sh, sw, pt, pl;
  size_t k() const { return static_cast<size_t>(c * kh * kw); }
  size_t p() const { return static_cast<size_t>(oh * ow); }
};

ConvShape conv_shape(const Layer& l) {
  ConvShape s;
  s.c = l.input_shape[0];
  s.h = l.input_shape[1];
  s.w = l.input_shape[2];
  s.co = l.output_shape[0];
  s.oh = l.output_shape[1];
  s.ow = l.output_shape[2];
  s.kh = l.conv.kernel_h;
  s.kw = l.conv.kernel_w;
  s.sh = l.conv.stride_h;
  s.sw = l.conv.stride_w;
  s.pt = l.conv.pad_top;
  s.pl = l.conv.pad_left;
  return s;
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

size_t numel(const Shape& s) {
  size_t n = 1;
  for (int64_t d : s) n *= static_cast<size_t>(d);
  return n;
}

// --- Layers -----------------------------------------------------------------------------------

/// Activations of one pass: acts[0] is the input, acts[l + 1] the output of layer l;
/// argmax[l] the max-pool winners (flat input index per output).
struct Pass {
  size_t batch = 0;
  std::vector<std::vector<float>> acts;
  std::vector<std::vector<uint32_t>> argmax;
};

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
      const int64_t C = l.input_shape[0], H = l.input_shape[1], W = l.input_shape[2];
      const int64_t OH = l.output_shape[1], OW = l.output_shape[2], k = l.pool_kernel, st = l.pool_stride;
      const bool is_max = l.kind == LayerKind::kMaxPool;
      std::vector<uint32_t>* am = (is_max && keep_argmax) ? &pass.argmax[li] : nullptr;
      if (am) am->assign(y.size(), 0);
      const float inv = 1.0f / static_cast<float>(k * k);
      size_t o = 0;
      for (size_t n = 0; n < B; ++n) {
        for (int64_t c = 0; c < C; ++c) {
          const size_t base = n * in + static_cast<size_t>(c * H * W);
          for (int64_t oy = 0; oy < OH; ++oy) {
            for (int64_t ox = 0; ox < OW; ++ox, ++o) {
              float best = -std::numeric_limits<float>::infinity(), sum = 0.0f;
              size_t arg = 0;
              for (int64_t r = 0; r < k; ++r) {
                for (int64_t q = 0; q < k; ++q) {
                  const size_t idx = base + static_cast<size_t>((oy * st + r) * W + ox * st + q);
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
            }
          }
        }
      }
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
        const int64_t C = l.input_shape[0], H = l.input_shape[1], W = l.input_shape[2];
        const int64_t OH = l.output_shape[1], OW = l.output_shape[2], k = l.pool_kernel, st = l.pool_stride;
        const float inv = 1.0f / static_cast<float>(k * k);
        size_t o = 0;
        for (size_t n = 0; n < B; ++n) {
          for (int64_t c = 0; c < C; ++c) {
            const size_t base = n * in + static_cast<size_t>(c * H * W);
            for (int64_t oy = 0; oy < OH; ++oy) {
              for (int64_t ox = 0; ox < OW; ++ox, ++o) {
                const float g = dy[o] * inv;
                for (int64_t r = 0; r < k; ++r) {
                  for (int64_t q = 0; q < k; ++q) dx[base + static_cast<size_t>((oy * st + r) * W + ox * st + q)] += g;
                }
              }
            }
          }
        }
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

void run_forward(const Network& net, Pass& pass, bool keep_argmax) {
  pass.argmax.resize(net.layers().size());
  for (size_t li = 0; li < net.layers().size(); ++li) forward_layer(net, li, pass, keep_argmax);
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

}  // namespace

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::kLinear: return "Linear";
    case LayerKind::kConv2d: return "Conv2d";
    case LayerKind::kRelu: return "ReLU";
    case LayerKind::kMaxPool: return "MaxPool";
    case LayerKind::kAvgPool: return "AvgPool";
    case LayerKind::kGlobalAvgPool: return "GlobalAvgPool";
    case LayerKind::kFlatten: return "Flatten";
    case LayerKind::kBatchNorm: return "BatchNorm";
  }
  return "?";
}

// --- Network ----------------------------------------------------------------------------------

Network::Network(Shape input_shape, uint32_t seed) : input_shape_(std::move(input_shape)), seed_(seed) {}

const Shape& Network::output_shape() const {
  return layers_.empty() ? input_shape_ : layers_.back().output_shape;
}

Parameter* Network::param(std::string_view name) {
  for (auto& p : params_) if (p.name == name) return &p;
  return nullptr;
}

const Parameter* Network::param(std::string_view name) const {
  for (const auto& p : params_) if (p.name == name) return &p;
  return nullptr;
}

size_t Network::parameter_count() const {
  size_t n = 0;
  for (const auto& p : params_) n += p.size();
  return n;
}

Status Network::check_name(const std::string& name) const {
  if (name.empty()) return invalid_argument("a layer needs a name");
  for (const auto& l : layers_) {
    if (l.name == name) return invalid_argument("two layers are called '" + name + "'");
  }
  return Status::ok();
}

std::string Network::default_name(const char* prefix) const {
  for (size_t i = layers_.size();; ++i) {
    std::string n = std::string(prefix) + std::to_string(i);
    if (check_name(n).is_ok()) return n;
  }
}

int Network::add_param(std::string name, Shape shape, std::vector<float> value, bool trainable) {
  Parameter p;
  p.name = std::move(name);
  p.shape = std::move(shape);
  p.value = std::move(value);
  p.grad.assign(p.value.size(), 0.0f);
  p.trainable = trainable;
  params_.push_back(std::move(p));
  return static_cast<int>(params_.size() - 1);
}

Status Network::add_layer(Layer layer) {
  QL_RETURN_IF_ERROR(check_name(layer.name));
  layers_.push_back(std::move(layer));
  return Status::ok();
}

namespace {

std::vector<float> he_normal(size_t n, size_t fan_in, std::mt19937& rng) {
  std::vector<float> v(n);
  const double sd = std::sqrt(2.0 / static_cast<double>(fan_in));
  for (auto& x : v) x = static_cast<float>(sd * dc::normal01(rng));
  return v;
}

Status check_values(const std::vector<float>& v, size_t want, const std::string& what) {
  if (v.size() != want) {
    return shape_mismatch(what + " has " + std::to_string(v.size()) + " values, expected " + std::to_string(want));
  }
  for (float x : v) if (!std::isfinite(x)) return not_finite(what + " has a value that is not finite");
  return Status::ok();
}

}  // namespace

Status Network::add_linear(std::string name, int64_t out_features, std::vector<float> weight,
                           std::vector<float> bias) {
  QL_RETURN_IF_ERROR(check_name(name));
  const Shape& cur = output_shape();
  if (cur.size() != 1) {
    return shape_mismatch("Linear '" + name + "' needs a flat input, got " + shape_string(cur) + " (add a Flatten)");
  }
  if (out_features < 1) return invalid_argument("Linear '" + name + "': out_features must be >= 1");
  const size_t in = static_cast<size_t>(cur[0]), out = static_cast<size_t>(out_features);
  if (weight.empty()) {
    std::mt19937 rng(seed_ + 7919u * ++init_count_);
    weight = he_normal(in * out, in, rng);
  }
  if (bias.empty()) bias.assign(out, 0.0f);
  QL_RETURN_IF_ERROR(check_values(weight, in * out, "Linear '" + name + "' weight"));
  QL_RETURN_IF_ERROR(check_values(bias, out, "Linear '" + name + "' bias"));
  Layer l;
  l.kind = LayerKind::kLinear;
  l.name = name;
  l.input_shape = cur;
  l.output_shape = {out_features};
  l.params = {add_param(name + ".weight", {out_features, cur[0]}, std::move(weight)),
              add_param(name + ".bias", {out_features}, std::move(bias))};
  return add_layer(std::move(l));
}

Status Network::add_conv2d(std::string name, int64_t out_channels, const Conv2dGeometry& g,
                           std::vector<float> weight, std::vector<float> bias, bool has_bias) {
  QL_RETURN_IF_ERROR(check_name(name));
  const Shape& cur = output_shape();
  if (cur.size() != 3) return shape_mismatch("Conv2d '" + name + "' needs a [C, H, W] input, got " + shape_string(cur));
  if (g.groups != 1 || g.dilation_h != 1 || g.dilation_w != 1) {
    return unsupported("Conv2d '" + name + "': training supports groups = 1 and dilation = 1");
  }
  if (out_channels < 1) return invalid_argument("Conv2d '" + name + "': out_channels must be >= 1");
  auto hw = conv2d_output_size(cur[1], cur[2], g);
  if (!hw) return Status(hw.status().code(), "Conv2d '" + name + "': " + hw.status().message());
  const size_t k = static_cast<size_t>(cur[0] * g.kernel_h * g.kernel_w);
  const size_t n = static_cast<size_t>(out_channels) * k;
  if (weight.empty()) {
    std::mt19937 rng(seed_ + 7919u * ++init_count_);
    weight = he_normal(n, k, rng);
  }
  QL_RETURN_IF_ERROR(check_values(weight, n, "Conv2d '" + name + "' weight"));
  Layer l;
  l.kind = LayerKind::kConv2d;
  l.name = name;
  l.conv = g;
  l.input_shape = cur;
  l.output_shape = {out_channels, hw->first, hw->second};
  l.params.push_back(add_param(name + ".weight", {out_channels, cur[0], g.kernel_h, g.kernel_w}, std::move(weight)));
  if (has_bias) {
    if (bias.empty()) bias.assign(static_cast<size_t>(out_channels), 0.0f);
    Status st = check_values(bias, static_cast<size_t>(out_channels), "Conv2d '" + name + "' bias");
    if (!st) {
      params_.pop_back();
      return st;
    }
    l.params.push_back(add_param(name + ".bias", {out_channels}, std::move(bias)));
  } else {
    l.params.push_back(-1);
  }
  return add_layer(std::move(l));
}

Status Network::add_relu(std::string name) {
  Layer l;
  l.kind = LayerKind::kRelu;
  l.name = name.empty() ? default_name("relu") : name;
  l.input_shape = l.output_shape = output_shape();
  return add_layer(std::move(l));
}

Status Network::add_max_pool(int64_t kernel, int64_t stride, std::string name) {
  const Shape& cur = output_shape();
  if (name.empty()) name = default_name("maxpool");
  if (cur.size() != 3) return shape_mismatch("MaxPool '" + name + "' needs a [C, H, W] input, got " + shape_string(cur));
  if (kernel < 1 || stride < 1 || cur[1] < kernel || cur[2] < kernel) {
    return invalid_argument("MaxPool '" + name + "': kernel " + std::to_string(kernel) + " stride " +
                            std::to_string(stride) + " does not fit " + shape_string(cur));
  }
  Layer l;
  l.kind = LayerKind::kMaxPool;
  l.name = name;
  l.pool_kernel = kernel;
  l.pool_stride = stride;
  l.input_shape = cur;
  l.output_shape = {cur[0], (cur[1] - kernel) / stride + 1, (cur[2] - kernel) / stride + 1};
  return add_layer(std::move(l));
}

Status Network::add_avg_pool(int64_t kernel, int64_t stride, std::string name) {
  if (name.empty()) name = default_name("avgpool");
  QL_RETURN_IF_ERROR(add_max_pool(kernel, stride, name));
  layers_.back().kind = LayerKind::kAvgPool;
  return Status::ok();
}

Status Network::add_global_avg_pool(std::string name) {
  const Shape& cur = output_shape();
  if (name.empty()) name = default_name("gap");
  if (cur.size() != 3) return shape_mismatch("GlobalAvgPool '" + name + "' needs a [C, H, W] input, got " + shape_string(cur));
  Layer l;
  l.kind = LayerKind::kGlobalAvgPool;
  l.name = name;
  l.input_shape = cur;
  l.output_shape = {cur[0], 1, 1};
  return add_layer(std::move(l));
}

Status Network::add_flatten(std::string name) {
  Layer l;
  l.kind = LayerKind::kFlatten;
  l.name = name.empty() ? default_name("flatten") : name;
  l.input_shape = output_shape();
  l.output_shape = {static_cast<int64_t>(numel(l.input_shape))};
  return add_layer(std::move(l));
}

Status Network::add_batch_norm(std::string name, std::vector<float> scale, std::vector<float> bias,
                               std::vector<float> mean, std::vector<float> var, float eps) {
  QL_RETURN_IF_ERROR(check_name(name));
  const Shape& cur = output_shape();
  if (cur.empty()) return shape_mismatch("BatchNorm '" + name + "' needs an input with channels");
  if (!(eps > 0.0f)) return invalid_argument("BatchNorm '" + name + "': eps must be > 0");
  const size_t c = static_cast<size_t>(cur[0]);
  if (scale.empty()) scale.assign(c, 1.0f);
  if (bias.empty()) bias.assign(c, 0.0f);
  if (mean.empty()) mean.assign(c, 0.0f);
  if (var.empty()) var.assign(c, 1.0f);
  QL_RETURN_IF_ERROR(check_values(scale, c, "BatchNorm '" + name + "' scale"));
  QL_RETURN_IF_ERROR(check_values(bias, c, "BatchNorm '" + name + "' bias"));
  QL_RETURN_IF_ERROR(check_values(mean, c, "BatchNorm '" + name + "' mean"));
  QL_RETURN_IF_ERROR(check_values(var, c, "BatchNorm '" + name + "' var"));
  for (float v : var) if (v < 0.0f) return invalid_argument("BatchNorm '" + name + "': a variance is negative");
  Layer l;
  l.kind = LayerKind::kBatchNorm;
  l.name = name;
  l.eps = eps;
  l.input_shape = l.output_shape = cur;
  const int64_t C = cur[0];
  l.params = {add_param(name + ".weight", {C}, std::move(scale)), add_param(name + ".bias", {C}, std::move(bias)),
              add_param(name + ".running_mean", {C}, std::move(mean), false),
              add_param(name + ".running_var", {C}, std::move(var), false)};
  return add_layer(std::move(l));
}

Result<Tensor> Network::forward(const Tensor& x) const {
  auto B = batch_of(*this, x);
  if (!B) return B.status();
  Pass pass;
  pass.batch = *B;
  pass.acts.resize(layers_.size() + 1);
  auto xs = x.data<float>();
  pass.acts[0].assign(xs.begin(), xs.end());
  run_forward(*this, pass, false);
  Shape shape = {static_cast<int64_t>(*B)};
  for (int64_t d : output_shape()) shape.push_back(d);
  return Tensor::from<float>(shape, std::move(pass.acts.back()));
}

Result<double> Network::loss_and_gradients(const Tensor& x, std::span<const uint8_t> labels,
                                           std::vector<float>* input_grad) {
  auto B = batch_of(*this, x);
  if (!B) return B.status();
  const size_t C = numel(output_shape());
  if (output_shape().size() != 1) {
    return shape_mismatch("the network's output " + shape_string(output_shape()) + " is not a vector of logits");
  }
  QL_RETURN_IF_ERROR(check_labels(labels, *B, C));
  Pass pass;
  pass.batch = *B;
  pass.acts.resize(layers_.size() + 1);
  auto xs = x.data<float>();
  pass.acts[0].assign(xs.begin(), xs.end());
  run_forward(*this, pass, true);
  std::vector<float> dy;
  const double loss = softmax_cross_entropy(pass.acts.back(), *B, C, labels, &dy, nullptr);
  for (size_t li = layers_.size(); li-- > 0;) {
    const bool need_dx = li > 0 || input_grad != nullptr;
    std::vector<float> dx;
    if (need_dx) dx.assign(pass.acts[li].size(), 0.0f);
    backward_layer(*this, li, pass, dy, dx, need_dx);
    dy = std::move(dx);
  }
  if (input_grad) *input_grad = std::move(dy);
  return loss;
}

void Network::zero_grad() {
  for (auto& p : params_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

Result<int> Network::fold_batch_norm() {
  int folded = 0;
  for (size_t li = 1; li < layers_.size(); ++li) {
    if (layers_[li].kind != LayerKind::kBatchNorm) continue;
    Layer& prev = layers_[li - 1];
    if (prev.kind != LayerKind::kConv2d && prev.kind != LayerKind::kLinear) continue;
    Parameter& w = params_[static_cast<size_t>(prev.params[0])];
    if (!w.mask.empty() || w.codebook) {
      return unsupported("fold_batch_norm: '" + prev.name + "' is pruned or shared; fold before compressing");
    }
    const Layer bn = layers_[li];
    // Copies: add_param below may move the parameters.
    const std::vector<float> g = params_[static_cast<size_t>(bn.params[0])].value;
    const std::vector<float> be = params_[static_cast<size_t>(bn.params[1])].value;
    const std::vector<float> mu = params_[static_cast<size_t>(bn.params[2])].value;
    const std::vector<float> var = params_[static_cast<size_t>(bn.params[3])].value;
    const size_t C = g.size(), per = w.value.size() / C;
    if (prev.params[1] < 0) {
      const int b = add_param(prev.name + ".bias", {static_cast<int64_t>(C)}, std::vector<float>(C, 0.0f));
      layers_[li - 1].params[1] = b;
    }
    Parameter& wp = params_[static_cast<size_t>(layers_[li - 1].params[0])];
    Parameter& bp = params_[static_cast<size_t>(layers_[li - 1].params[1])];
    for (size_t c = 0; c < C; ++c) {
      const float s = g[c] / std::sqrt(var[c] + bn.eps);
      for (size_t i = 0; i < per; ++i) wp.value[c * per + i] *= s;
      bp.value[c] = (bp.value[c] - mu[c]) * s + be[c];
    }
    // Remove the BatchNorm layer and its four parameters (renumbering the rest).
    std::vector<int> gone(bn.params.begin(), bn.params.end());
    std::vector<int> remap(params_.size(), -1);
    std::vector<Parameter> kept;
    for (size_t p = 0; p < params_.size(); ++p) {
      if (std::find(gone.begin(), gone.end(), static_cast<int>(p)) != gone.end()) continue;
      remap[p] = static_cast<int>(kept.size());
      kept.push_back(std::move(params_[p]));
    }
    params_ = std::move(kept);
    layers_.erase(layers_.begin() + static_cast<std::ptrdiff_t>(li));
    for (auto& l : layers_) {
      for (int& p : l.params) if (p >= 0) p = remap[static_cast<size_t>(p)];
    }
    ++folded;
    --li;
  }
  return folded;
}

Status Network::set_mask(std::string_view name, PruneMask mask) {
  Parameter* p = param(name);
  if (!p) return invalid_argument("set_mask: no parameter '" + std::string(name) + "'");
  if (mask.size() != p->size()) {
    return shape_mismatch("set_mask: '" + p->name + "' has " + std::to_string(p->size()) + " values, the mask " +
                          std::to_string(mask.size()));
  }
  QL_RETURN_IF_ERROR(apply_mask(p->value, mask));
  if (p->codebook && p->codebook->pinned_zero) {
    for (size_t i = 0; i < mask.size(); ++i) if (!mask[i]) p->codebook->labels[i] = 0;
  }
  p->mask = std::move(mask);
  return Status::ok();
}

Status Network::set_codebook(std::string_view name, Codebook cb) {
  Parameter* p = param(name);
  if (!p) return invalid_argument("set_codebook: no parameter '" + std::string(name) + "'");
  auto dense = codebook_weights(cb);
  if (!dense) return dense.status();
  if (dense->size() != p->size()) {
    return shape_mismatch("set_codebook: '" + p->name + "' has " + std::to_string(p->size()) + " values, the codebook " +
                          std::to_string(dense->size()) + " labels");
  }
  if (!p->mask.empty()) {
    for (size_t i = 0; i < p->mask.size(); ++i) {
      if (!p->mask[i] && (*dense)[i] != 0.0f) {
        return invalid_argument("set_codebook: pruned weight " + std::to_string(i) + " of '" + p->name +
                                "' would not be 0 (use a pinned-zero codebook)");
      }
    }
  }
  p->value = std::move(dense).value();
  p->codebook = std::move(cb);
  return Status::ok();
}

Status Network::clear_codebook(std::string_view name) {
  Parameter* p = param(name);
  if (!p) return invalid_argument("clear_codebook: no parameter '" + std::string(name) + "'");
  p->codebook.reset();
  return Status::ok();
}

// --- Training ------------------------------------------------------------------------------------

Status validate_dataset(const ImageDataset& d) {
  if (d.count <= 0) return empty_input("data set: no samples");
  if (d.channels <= 0 || d.height <= 0 || d.width <= 0) return invalid_argument("data set: bad image shape");
  if (!(d.std > 0.0f) || !std::isfinite(d.mean)) return invalid_argument("data set: std must be > 0");
  const uint64_t per = static_cast<uint64_t>(d.channels * d.height * d.width);
  if (d.images.size() != per * static_cast<uint64_t>(d.count)) {
    return shape_mismatch("data set: " + std::to_string(d.images.size()) + " image bytes for " +
                          std::to_string(d.count) + " images of " + std::to_string(per) + " pixels");
  }
  if (d.labels.size() != static_cast<size_t>(d.count)) {
    return shape_mismatch("data set: " + std::to_string(d.labels.size()) + " labels for " + std::to_string(d.count) + " images");
  }
  return Status::ok();
}

namespace {

Tensor gather_batch(const ImageDataset& d, std::span<const uint32_t> idx, std::vector<uint8_t>& labels) {
  const size_t per = static_cast<size_t>(d.channels * d.height * d.width);
  std::vector<float> v(idx.size() * per);
  labels.resize(idx.size());
  for (size_t n = 0; n < idx.size(); ++n) {
    const uint8_t* src = d.images.data() + static_cast<size_t>(idx[n]) * per;
    float* dst = v.data() + n * per;
    for (size_t i = 0; i < per; ++i) dst[i] = (static_cast<float>(src[i]) / 255.0f - d.mean) / d.std;
    labels[n] = d.labels[idx[n]];
  }
  return Tensor::from<float>({static_cast<int64_t>(idx.size()), d.channels, d.height, d.width}, std::move(v));
}

}  // namespace

Result<Tensor> dataset_batch(const ImageDataset& data, int64_t first, int64_t n) {
  QL_RETURN_IF_ERROR(validate_dataset(data));
  if (first < 0 || n < 1 || first + n > data.count) {
    return out_of_range("dataset_batch: samples [" + std::to_string(first) + ", " + std::to_string(first + n) +
                        ") of " + std::to_string(data.count));
  }
  std::vector<uint32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), static_cast<uint32_t>(first));
  std::vector<uint8_t> labels;
  return gather_batch(data, idx, labels);
}

Trainer::Trainer(Network& network, const TrainOptions& options) : net_(&network), options_(options) {}

float Trainer::current_lr() const {
  if (!options_.cosine_decay || planned_steps_ <= 0) return options_.learning_rate;
  const double f = std::min(1.0, static_cast<double>(t_) / static_cast<double>(planned_steps_));
  return static_cast<float>(options_.learning_rate * 0.5 * (1.0 + std::cos(kPi * f)));
}

Status Trainer::apply_gradients() {
  auto& params = net_->params();
  m_.resize(params.size());
  v_.resize(params.size());
  shared_.resize(params.size(), 0);
  ++t_;
  const float lr = current_lr();
  const bool adam = options_.optimizer == OptimizerKind::kAdam;
  const double bc1 = 1.0 - std::pow(static_cast<double>(options_.beta1), static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(options_.beta2), static_cast<double>(t_));
  for (size_t pi = 0; pi < params.size(); ++pi) {
    Parameter& p = params[pi];
    if (!p.trainable) continue;
    // The gradient of what the optimizer moves: the values, or the shared centroids.
    std::vector<float> g(p.grad);
    if (!p.mask.empty()) for (size_t i = 0; i < g.size(); ++i) if (!p.mask[i]) g[i] = 0.0f;
    std::vector<float>* target = &p.value;
    std::vector<float> cg;
    if (p.codebook) {
      auto sums = cluster_gradient_sums(g, *p.codebook);
      if (!sums) return sums.status();
      cg.assign(sums->begin(), sums->end());
      g = std::move(cg);
      target = &p.codebook->centroids;
    } else if (options_.weight_decay != 0.0f) {
      for (size_t i = 0; i < g.size(); ++i) g[i] += options_.weight_decay * p.value[i];
    }
    std::vector<float>& m = m_[pi];
    std::vector<float>& v = v_[pi];
    const char shared = p.codebook ? 1 : 0;
    if (m.size() != g.size() || shared_[pi] != shared) {  // new, or sharing switched: fresh state
      m.assign(g.size(), 0.0f);
      v.assign(adam ? g.size() : 0, 0.0f);
      shared_[pi] = shared;
    }
    std::vector<float>& w = *target;
    const size_t first = (p.codebook && p.codebook->pinned_zero) ? 1 : 0;
    for (size_t i = first; i < g.size(); ++i) {
      if (adam) {
        m[i] = options_.beta1 * m[i] + (1.0f - options_.beta1) * g[i];
        v[i] = options_.beta2 * v[i] + (1.0f - options_.beta2) * g[i] * g[i];
        const double mh = m[i] / bc1, vh = v[i] / bc2;
        w[i] -= static_cast<float>(lr * mh / (std::sqrt(vh) + options_.epsilon));
      } else {
        m[i] = options_.momentum * m[i] + g[i];
        w[i] -= lr * m[i];
      }
    }
    if (p.codebook) {
      for (size_t i = 0; i < p.value.size(); ++i) p.value[i] = p.codebook->centroids[static_cast<size_t>(p.codebook->labels[i])];
    }
    if (!p.mask.empty()) QL_RETURN_IF_ERROR(apply_mask(p.value, p.mask));
    std::fill(p.grad.begin(), p.grad.end(), 0.0f);
  }
  return Status::ok();
}

Result<double> Trainer::step(const Tensor& x, std::span<const uint8_t> labels) {
  net_->zero_grad();
  auto loss = net_->loss_and_gradients(x, labels);
  if (!loss) return loss.status();
  if (!std::isfinite(*loss)) return not_finite("training diverged: the loss is not finite (lower the learning rate)");
  QL_RETURN_IF_ERROR(apply_gradients());
  return *loss;
}

Result<TrainStats> Trainer::fit(const ImageDataset& data, const ProgressFn& progress) {
  QL_RETURN_IF_ERROR(validate_dataset(data));
  if (options_.epochs < 1) return invalid_argument("fit: epochs must be >= 1");
  if (options_.batch_size < 1) return invalid_argument("fit: batch_size must be >= 1");
  if (!(options_.learning_rate > 0.0f) || !std::isfinite(options_.learning_rate)) {
    return invalid_argument("fit: learning_rate must be > 0");
  }
  const size_t bs = static_cast<size_t>(options_.batch_size);
  const size_t n = static_cast<size_t>(data.count);
  const int64_t per_epoch = static_cast<int64_t>((n + bs - 1) / bs);
  int64_t total = per_epoch * options_.epochs;
  if (options_.max_steps > 0) total = std::min(total, options_.max_steps);
  planned_steps_ = t_ + total;
  std::mt19937 rng(options_.seed);
  std::vector<uint32_t> order(n);
  TrainStats stats;
  std::vector<uint8_t> labels;
  int64_t done = 0;
  const int64_t every = std::max<int64_t>(1, total / 200);
  for (int e = 0; e < options_.epochs && done < total; ++e) {
    std::iota(order.begin(), order.end(), 0u);
    dc::shuffle(order.data(), n, rng);
    double sum = 0.0;
    int64_t batches = 0;
    for (size_t first = 0; first < n && done < total; first += bs) {
      const size_t len = std::min(bs, n - first);
      Tensor x = gather_batch(data, std::span<const uint32_t>(order.data() + first, len), labels);
      auto loss = step(x, labels);
      if (!loss) return loss.status();
      sum += *loss;
      ++batches;
      ++done;
      if (progress && (done % every == 0 || done == total)) {
        progress({"train", done, total, sum / static_cast<double>(batches)});
      }
    }
    stats.epoch_loss.push_back(sum / static_cast<double>(std::max<int64_t>(1, batches)));
  }
  stats.steps = done;
  return stats;
}

Result<EvalStats> evaluate(const Network& net, const ImageDataset& data, int batch_size,
                           const ProgressFn& progress) {
  QL_RETURN_IF_ERROR(validate_dataset(data));
  if (batch_size < 1) return invalid_argument("evaluate: batch_size must be >= 1");
  if (net.output_shape().size() != 1) return shape_mismatch("evaluate: the network's output is not a vector of logits");
  const size_t C = static_cast<size_t>(net.output_shape()[0]);
  const size_t n = static_cast<size_t>(data.count), bs = static_cast<size_t>(batch_size);
  EvalStats st;
  st.predictions.resize(n);
  double loss = 0.0;
  size_t correct = 0;
  std::vector<uint32_t> idx;
  std::vector<uint8_t> labels;
  for (size_t first = 0; first < n; first += bs) {
    const size_t len = std::min(bs, n - first);
    idx.resize(len);
    std::iota(idx.begin(), idx.end(), static_cast<uint32_t>(first));
    Tensor x = gather_batch(data, idx, labels);
    QL_RETURN_IF_ERROR(check_labels(labels, len, C));
    auto logits = net.forward(x);
    if (!logits) return logits.status();
    auto z = logits->data<float>();
    std::vector<float> zv(z.begin(), z.end());
    std::vector<uint8_t> pred(len);
    loss += softmax_cross_entropy(zv, len, C, labels, nullptr, &pred) * static_cast<double>(len);
    for (size_t i = 0; i < len; ++i) {
      st.predictions[first + i] = pred[i];
      if (pred[i] == labels[i]) ++correct;
    }
    if (progress) progress({"evaluate", static_cast<int64_t>(first + len), static_cast<int64_t>(n), 0.0});
  }
  st.loss = loss / static_cast<double>(n);
  st.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(n);
  return st;
}

// --- ONNX bridge ------------------------------------------------------------------------------

namespace {

const OnnxTensor* find_initializer(const OnnxModel& m, const std::string& name) {
  for (const auto& t : m.graph.initializers) if (t.name == name) return &t;
  return nullptr;
}

int64_t int_attr(const OnnxNode& n, std::string_view name, int64_t dflt) {
  const OnnxAttribute* a = n.attribute(name);
  return a ? a->i : dflt;
}

std::vector<int64_t> ints_attr(const OnnxNode& n, std::string_view name, std::vector<int64_t> dflt) {
  const OnnxAttribute* a = n.attribute(name);
  return a ? a->ints : dflt;
}

Status node_error(const OnnxNode& n, const std::string& what) {
  return unsupported("node '" + n.name + "' (" + n.op_type + "): " + what);
}

Result<std::vector<float>> float_init(const OnnxModel& m, const OnnxNode& n, size_t input) {
  if (input >= n.inputs.size() || n.inputs[input].empty()) return std::vector<float>{};
  const OnnxTensor* t = find_initializer(m, n.inputs[input]);
  if (!t) return node_error(n, "input '" + n.inputs[input] + "' is not an initializer");
  if (t->tensor.dtype() != DType::kFloat32) return node_error(n, "initializer '" + t->name + "' is not float32");
  auto d = t->tensor.data<float>();
  return std::vector<float>(d.begin(), d.end());
}

/// "fc1" from "fc1.weight"; else the node's name.
std::string layer_name_for(const OnnxNode& n, size_t weight_input) {
  if (weight_input < n.inputs.size()) {
    const std::string& w = n.inputs[weight_input];
    const auto dot = w.rfind('.');
    if (dot != std::string::npos && dot > 0) return w.substr(0, dot);
  }
  std::string s = n.name.empty() ? n.op_type : n.name;
  for (char& c : s) if (c == '/') c = '_';
  return s;
}

void rename_params(Network& net, size_t first_param, const OnnxNode& n, std::initializer_list<size_t> inputs) {
  auto& params = net.params();
  size_t p = first_param;
  for (size_t in : inputs) {
    if (p >= params.size()) break;
    if (in < n.inputs.size() && !n.inputs[in].empty()) params[p].name = n.inputs[in];
    ++p;
  }
}

}  // namespace

Result<Network> network_from_onnx(const OnnxModel& m) {
  const OnnxGraph& g = m.graph;
  const OnnxValueInfo* input = nullptr;
  for (const auto& in : g.inputs) {
    if (!find_initializer(m, in.name)) {
      input = &in;
      break;
    }
  }
  if (!input) return unsupported("network_from_onnx: the graph has no input");
  if (!input->has_shape || input->dims.size() < 2) return unsupported("network_from_onnx: the input '" + input->name + "' has no shape");
  Shape shape;
  for (size_t i = 1; i < input->dims.size(); ++i) {
    if (input->dims[i].value <= 0) return unsupported("network_from_onnx: the input's dimension " + std::to_string(i) + " is not a number");
    shape.push_back(input->dims[i].value);
  }
  Network net(shape);
  std::string current = input->name;
  for (const OnnxNode& n : g.nodes) {
    if (n.inputs.empty() || n.inputs[0] != current) {
      return node_error(n, "not a sequential graph (its first input is not the previous node's output '" + current + "')");
    }
    if (n.outputs.size() != 1) return node_error(n, "expected one output");
    if (!n.domain.empty() && n.domain != "ai.onnx") return node_error(n, "unsupported domain");
    const size_t first_param = net.params().size();
    Status st;
    if (n.op_type == "Flatten") {
      if (int_attr(n, "axis", 1) != 1) return node_error(n, "axis must be 1");
      st = net.add_flatten(layer_name_for(n, 99));
    } else if (n.op_type == "Relu") {
      st = net.add_relu(layer_name_for(n, 99));
    } else if (n.op_type == "Gemm") {
      if (int_attr(n, "transA", 0) != 0) return node_error(n, "transA must be 0");
      const OnnxAttribute* alpha = n.attribute("alpha");
      const OnnxAttribute* beta = n.attribute("beta");
      if ((alpha && alpha->f != 1.0f) || (beta && beta->f != 1.0f)) return node_error(n, "alpha and beta must be 1");
      const OnnxTensor* wt = n.inputs.size() > 1 ? find_initializer(m, n.inputs[1]) : nullptr;
      if (!wt || wt->tensor.rank() != 2) return node_error(n, "the weight must be a 2-D initializer");
      auto w = float_init(m, n, 1);
      auto b = float_init(m, n, 2);
      if (!w) return w.status();
      if (!b) return b.status();
      int64_t out = wt->tensor.dim(0), in = wt->tensor.dim(1);
      std::vector<float> wv = std::move(w).value();
      if (int_attr(n, "transB", 0) == 0) {  // stored [in, out]: transpose to [out, in]
        std::swap(out, in);
        std::vector<float> t(wv.size());
        transpose(static_cast<size_t>(in), static_cast<size_t>(out), wv.data(), t.data());
        wv = std::move(t);
      }
      if (!b->empty() && b->size() != static_cast<size_t>(out)) return node_error(n, "the bias must have one value per output");
      st = net.add_linear(layer_name_for(n, 1), out, std::move(wv), std::move(b).value());
      if (st) rename_params(net, first_param, n, {1, 2});
    } else if (n.op_type == "Conv") {
      const OnnxTensor* wt = n.inputs.size() > 1 ? find_initializer(m, n.inputs[1]) : nullptr;
      if (!wt || wt->tensor.rank() != 4) return node_error(n, "the weight must be a 4-D initializer");
      const OnnxAttribute* ap = n.attribute("auto_pad");
      if (ap && !ap->s.empty() && ap->s != "NOTSET") return node_error(n, "auto_pad is not supported");
      Conv2dGeometry geo;
      geo.kernel_h = wt->tensor.dim(2);
      geo.kernel_w = wt->tensor.dim(3);
      const auto strides = ints_attr(n, "strides", {1, 1});
      const auto pads = ints_attr(n, "pads", {0, 0, 0, 0});
      const auto dil = ints_attr(n, "dilations", {1, 1});
      if (strides.size() != 2 || pads.size() != 4 || dil.size() != 2) return node_error(n, "expected 2-D attributes");
      geo.stride_h = strides[0];
      geo.stride_w = strides[1];
      geo.pad_top = pads[0];
      geo.pad_left = pads[1];
      geo.pad_bottom = pads[2];
      geo.pad_right = pads[3];
      geo.dilation_h = dil[0];
      geo.dilation_w = dil[1];
      geo.groups = int_attr(n, "group", 1);
      auto w = float_init(m, n, 1);
      auto b = float_init(m, n, 2);
      if (!w) return w.status();
      if (!b) return b.status();
      const bool has_bias = !b->empty();
      if (wt->tensor.dim(1) != (net.output_shape().empty() ? 0 : net.output_shape()[0])) {
        return node_error(n, "the weight's input channels do not match the input");
      }
      st = net.add_conv2d(layer_name_for(n, 1), wt->tensor.dim(0), geo, std::move(w).value(), std::move(b).value(), has_bias);
      if (st) rename_params(net, first_param, n, {1, 2});
    } else if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
      const auto k = ints_attr(n, "kernel_shape", {});
      const auto s = ints_attr(n, "strides", {1, 1});
      const auto pads = ints_attr(n, "pads", {0, 0, 0, 0});
      if (k.size() != 2 || k[0] != k[1] || s.size() != 2 || s[0] != s[1]) return node_error(n, "only square windows and strides");
      for (int64_t p : pads) if (p != 0) return node_error(n, "padding is not supported");
      if (int_attr(n, "ceil_mode", 0) != 0) return node_error(n, "ceil_mode is not supported");
      for (int64_t d : ints_attr(n, "dilations", {1, 1})) if (d != 1) return node_error(n, "dilations must be 1");
      st = n.op_type == "MaxPool" ? net.add_max_pool(k[0], s[0], layer_name_for(n, 99))
                                  : net.add_avg_pool(k[0], s[0], layer_name_for(n, 99));
    } else if (n.op_type == "GlobalAveragePool") {
      st = net.add_global_avg_pool(layer_name_for(n, 99));
    } else if (n.op_type == "BatchNormalization") {
      if (n.inputs.size() != 5) return node_error(n, "expected the inference form (5 inputs)");
      if (int_attr(n, "training_mode", 0) != 0) return node_error(n, "training_mode is not supported");
      const OnnxAttribute* eps = n.attribute("epsilon");
      std::vector<std::vector<float>> v;
      for (size_t i = 1; i < 5; ++i) {
        auto t = float_init(m, n, i);
        if (!t) return t.status();
        v.push_back(std::move(t).value());
      }
      st = net.add_batch_norm(layer_name_for(n, 1), v[0], v[1], v[2], v[3], eps ? eps->f : 1e-5f);
      if (st) rename_params(net, first_param, n, {1, 2, 3, 4});
    } else {
      return node_error(n, "operator not supported by the training engine");
    }
    if (!st) return Status(st.code(), "node '" + n.name + "' (" + n.op_type + "): " + st.message());
    current = n.outputs[0];
  }
  if (g.outputs.empty() || g.outputs[0].name != current) {
    return unsupported("network_from_onnx: the last node's output is not the graph's output");
  }
  if (net.layers().empty()) return unsupported("network_from_onnx: the graph has no nodes");
  return net;
}

Result<OnnxModel> network_to_onnx(const Network& net) {
  if (net.layers().empty()) return invalid_argument("network_to_onnx: the network has no layers");
  OnnxModel m;
  m.ir_version = 7;
  m.opset_imports = {{"", 13}};
  m.producer_name = "quantlab";
  OnnxGraph& g = m.graph;
  g.name = "quantlab";
  OnnxValueInfo in;
  in.name = "input";
  in.elem_type = 1;
  in.has_shape = true;
  in.dims.push_back(OnnxDim{-1, "N"});
  for (int64_t d : net.input_shape()) in.dims.push_back(OnnxDim{d, ""});
  g.inputs.push_back(in);
  std::string current = "input";
  for (size_t li = 0; li < net.layers().size(); ++li) {
    const Layer& l = net.layers()[li];
    OnnxNode n;
    n.name = l.name;
    n.inputs.push_back(current);
    for (int p : l.params) {
      if (p >= 0) n.inputs.push_back(net.params()[static_cast<size_t>(p)].name);
    }
    const std::string out = li + 1 == net.layers().size() ? "logits" : l.name + "_output";
    n.outputs.push_back(out);
    switch (l.kind) {
      case LayerKind::kLinear:
        n.op_type = "Gemm";
        n.attributes = {OnnxAttribute::make_float("alpha", 1.0f), OnnxAttribute::make_float("beta", 1.0f),
                        OnnxAttribute::make_int("transB", 1)};
        break;
      case LayerKind::kConv2d:
        n.op_type = "Conv";
        n.attributes = {OnnxAttribute::make_ints("dilations", {1, 1}), OnnxAttribute::make_int("group", 1),
                        OnnxAttribute::make_ints("kernel_shape", {l.conv.kernel_h, l.conv.kernel_w}),
                        OnnxAttribute::make_ints("pads", {l.conv.pad_top, l.conv.pad_left, l.conv.pad_bottom, l.conv.pad_right}),
                        OnnxAttribute::make_ints("strides", {l.conv.stride_h, l.conv.stride_w})};
        break;
      case LayerKind::kRelu: n.op_type = "Relu"; break;
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool:
        n.op_type = l.kind == LayerKind::kMaxPool ? "MaxPool" : "AveragePool";
        n.attributes = {OnnxAttribute::make_ints("kernel_shape", {l.pool_kernel, l.pool_kernel}),
                        OnnxAttribute::make_ints("pads", {0, 0, 0, 0}),
                        OnnxAttribute::make_ints("strides", {l.pool_stride, l.pool_stride})};
        break;
      case LayerKind::kGlobalAvgPool: n.op_type = "GlobalAveragePool"; break;
      case LayerKind::kFlatten:
        n.op_type = "Flatten";
        n.attributes = {OnnxAttribute::make_int("axis", 1)};
        break;
      case LayerKind::kBatchNorm:
        n.op_type = "BatchNormalization";
        n.attributes = {OnnxAttribute::make_float("epsilon", l.eps)};
        break;
    }
    g.nodes.push_back(std::move(n));
    current = out;
  }
  for (const auto& p : net.params()) {
    OnnxTensor t;
    t.name = p.name;
    t.tensor = Tensor::from<float>(p.shape, p.value);
    g.initializers.push_back(std::move(t));
  }
  OnnxValueInfo out;
  out.name = "logits";
  out.elem_type = 1;
  out.has_shape = true;
  out.dims.push_back(OnnxDim{-1, "N"});
  for (int64_t d : net.output_shape()) out.dims.push_back(OnnxDim{d, ""});
  g.outputs.push_back(out);
  return m;
}

}  // namespace quantlab
