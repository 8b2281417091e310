// fp32 layers: Conv (on PackedConv2dF32), Gemm and MatMul (on PackedGemmF32) and
// BatchNormalization (inference). Softmax is with its family in ops_activation.cpp.
#include <algorithm>
#include <cmath>
#include <optional>

#include "ops_common.hpp"
#include "ops_spatial.hpp"
#include "quantlab/conv.hpp"
#include "quantlab/gemm.hpp"

namespace quantlab::ops {
namespace {

std::vector<float> transposed(std::span<const float> m, int64_t rows, int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      t[static_cast<size_t>(c * rows + r)] = m[static_cast<size_t>(r * cols + c)];
  }
  return t;
}

float activate(float v, FusedActivation act) {
  if (act == FusedActivation::kNone) return v;
  v = std::max(v, 0.0f);
  return act == FusedActivation::kRelu6 ? std::min(v, 6.0f) : v;
}

/// y[m, n] = act(x[m, k] * w[n, k]^T + bias), with k or n possibly 0 (no kernel call then).
Status gemm_rows(const PackedGemmF32* packed, const float* x, int64_t m, int64_t n,
                 std::span<const float> bias, FusedActivation act, float* y) {
  if (packed) return packed->run(x, m, y);
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      y[r * n + c] = activate(bias.empty() ? 0.0f : bias[static_cast<size_t>(c)], act);
    }
  }
  return Status::ok();
}

/// Packs w [n, k] unless a dimension is 0 (then gemm_rows writes the bias only).
Result<std::optional<PackedGemmF32>> pack_gemm(std::span<const float> w, int64_t n, int64_t k,
                                               std::span<const float> bias, FusedActivation act) {
  if (n == 0 || k == 0) return std::optional<PackedGemmF32>();
  auto p = PackedGemmF32::pack(w, n, k, bias, act);
  if (!p) return p.status();
  return std::optional<PackedGemmF32>(std::move(*p));
}

}  // namespace

namespace {

Result<std::unique_ptr<Op>> make_conv(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 3, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kFloat32}));
  if (ctx.has_input(2)) QL_RETURN_IF_ERROR(ctx.check_dtype(2, {DType::kFloat32}));
  Dims y_dims;
  auto setup = read_conv_setup(ctx, ctx.input(0), ctx.input(1), y_dims);
  if (!setup) return setup.status();
  if (ctx.has_input(2)) {
    const ValueInfo& b = ctx.input(2);
    if (b.rank_known &&
        (b.dims.size() != 1 || !same_dim(b.dims[0], ctx.input(1).dims[0], "").is_ok())) {
      return shape_mismatch("bias " + dims_string(b.dims) + " must be [" +
                            dims_string(Dims{ctx.input(1).dims[0]}) + "] (one per output channel)");
    }
  }
  out[0].dtype = DType::kFloat32;
  out[0].dims = y_dims;
  // Weights known at load time are packed once; the geometry too when the input's spatial
  // size is known (auto_pad depends on it).
  // A Relu / Clip(0, 6) reading only this output runs inside the kernel.
  const FusedActivation act = ctx.offered_activation();
  if (act != FusedActivation::kNone) ctx.accept_activation();
  const Tensor* w_const = ctx.constant(1);
  const Tensor* b_const = ctx.has_input(2) ? ctx.constant(2) : nullptr;
  const bool weights_fixed = w_const && (!ctx.has_input(2) || b_const);
  std::shared_ptr<const PackedConv2dF32> prepacked;
  const ValueInfo& xi = ctx.input(0);
  const bool spatial_known = xi.rank_known && all_known(Dims(xi.dims.begin() + 2, xi.dims.end()));
  const auto fixed = fixed_geometry(*setup);
  if (weights_fixed && (spatial_known || fixed)) {
    std::optional<Conv2dGeometry> g = fixed;
    if (spatial_known) {
      auto known_g = conv_geometry(*setup, Dims(xi.dims.begin() + 2, xi.dims.end()), nullptr);
      if (!known_g) return known_g.status();
      g = *known_g;
    }
    auto packed = PackedConv2dF32::pack(
        w_const->data<float>(), w_const->shape()[0], w_const->shape()[1] * setup->groups, *g,
        b_const ? b_const->data<float>() : std::span<const float>(), act);
    if (!packed) return packed.status();
    prepacked = std::make_shared<const PackedConv2dF32>(std::move(*packed));
  }
  const ConvSetup s = *setup;
  return make_op(
      [s, prepacked, act](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        const Tensor& x = *in[0];
        const Tensor& w = *in[1];
        const Tensor* b = in.size() > 2 ? in[2] : nullptr;
        int64_t h = 0, wd = 0;
        Dims y_shape;
        auto g = run_geometry(s, x, w, h, wd, y_shape);
        if (!g) return g.status();
        if (b && b->size() != static_cast<size_t>(w.shape()[0])) {
          return shape_mismatch("bias " + shape_string(b->shape()) +
                                " must hold one value per "
                                "output channel (" +
                                std::to_string(w.shape()[0]) + ")");
        }
        auto r = new_tensor(DType::kFloat32, y_shape);
        if (!r) return r.status();
        const PackedConv2dF32* packed = prepacked.get();
        PackedConv2dF32 local;
        if (!packed) {
          auto p = PackedConv2dF32::pack(w.data<float>(), w.shape()[0], x.shape()[1], *g,
                                         b ? b->data<float>() : std::span<const float>(), act);
          if (!p) return p.status();
          local = std::move(*p);
          packed = &local;
        }
        QL_RETURN_IF_ERROR(
            packed->run(x.data<float>().data(), x.shape()[0], h, wd, r->data<float>().data()));
        y[0] = std::move(*r);
        return Status::ok();
      });
}

// --- Gemm ------------------------------------------------------------------------------------

Result<std::unique_ptr<Op>> make_gemm(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"alpha", "beta", "transA", "transB"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(ctx.version() >= 11 ? 2 : 3, 3, 1, 1));
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.has_input(i)) QL_RETURN_IF_ERROR(ctx.check_dtype(i, {DType::kFloat32}));
  }
  auto alpha = ctx.attr_float("alpha", 1.0f);
  auto beta = ctx.attr_float("beta", 1.0f);
  auto ta = ctx.attr_int("transA", 0);
  auto tb = ctx.attr_int("transB", 0);
  for (const Status* s : {&alpha.status(), &beta.status(), &ta.status(), &tb.status()}) {
    if (!s->is_ok()) return *s;
  }
  const bool trans_a = *ta != 0, trans_b = *tb != 0;
  const ValueInfo& a = ctx.input(0);
  const ValueInfo& b = ctx.input(1);
  int64_t m = kUnknownDim, k = kUnknownDim, n = kUnknownDim;
  if (a.rank_known) {
    if (a.dims.size() != 2) return shape_mismatch("A " + dims_string(a.dims) + " must be 2-D");
    m = a.dims[trans_a ? 1 : 0];
    k = a.dims[trans_a ? 0 : 1];
  }
  if (b.rank_known) {
    if (b.dims.size() != 2) return shape_mismatch("B " + dims_string(b.dims) + " must be 2-D");
    auto kk = same_dim(k, b.dims[trans_b ? 1 : 0], "inner dimensions of A and B");
    if (!kk) return kk.status();
    k = *kk;
    n = b.dims[trans_b ? 0 : 1];
  }
  if (ctx.has_input(2) && ctx.input(2).rank_known) {
    const Dims& c = ctx.input(2).dims;
    if (c.size() > 2) return shape_mismatch("C " + dims_string(c) + " has rank > 2");
    auto bc = broadcast_dims(c, Dims{m, n});
    if (!bc || (bc->size() == 2 && known((*bc)[0]) && known(m) && (*bc)[0] != m) ||
        (bc->size() == 2 && known((*bc)[1]) && known(n) && (*bc)[1] != n)) {
      return shape_mismatch("C " + dims_string(c) +
                            " does not broadcast to [M, N] = " + dims_string(Dims{m, n}));
    }
  }
  out[0].dtype = DType::kFloat32;
  out[0].dims = {m, n};

  // Constant B: pack W = B as [N, K] once. alpha = beta = 1 with a constant per-column C
  // (the usual Linear layer) folds C into the kernel's bias.
  const Tensor* bw = ctx.constant(1);
  const Tensor* c = ctx.has_input(2) ? ctx.constant(2) : nullptr;
  std::shared_ptr<const std::optional<PackedGemmF32>> prepacked;
  bool bias_fused = false;
  std::vector<float> bias;
  const int64_t bn = bw ? bw->shape()[trans_b ? 0 : 1] : 0;
  const int64_t bk = bw ? bw->shape()[trans_b ? 1 : 0] : 0;
  if (bw && c && *alpha == 1.0f && *beta == 1.0f &&
      (c->size() == 1 || (c->size() == static_cast<size_t>(bn) &&
                          (c->rank() == 1 || (c->rank() == 2 && c->shape()[0] == 1))))) {
    const auto cv = c->data<float>();
    bias.resize(static_cast<size_t>(bn));
    for (size_t j = 0; j < bias.size(); ++j) bias[j] = cv[c->size() == 1 ? 0 : j];
    bias_fused = true;
  }
  // An activation can run in the kernel when nothing is added or scaled after it.
  FusedActivation act = FusedActivation::kNone;
  if (*alpha == 1.0f && (!ctx.has_input(2) || bias_fused)) {
    act = ctx.offered_activation();
    if (act != FusedActivation::kNone) ctx.accept_activation();
  }
  if (bw) {
    std::vector<float> wt =
        trans_b ? std::vector<float>(bw->data<float>().begin(), bw->data<float>().end())
                : transposed(bw->data<float>(), bk, bn);
    auto p = pack_gemm(wt, bn, bk, bias, act);
    if (!p) return p.status();
    prepacked = std::make_shared<const std::optional<PackedGemmF32>>(std::move(*p));
  }
  const float al = *alpha, be = *beta;
  return make_op([=](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& A = *in[0];
    const Tensor& B = *in[1];
    const Tensor* C = in.size() > 2 ? in[2] : nullptr;
    if (A.rank() != 2 || B.rank() != 2) {
      return shape_mismatch("A " + shape_string(A.shape()) + " and B " + shape_string(B.shape()) +
                            " must be 2-D");
    }
    const int64_t M = A.shape()[trans_a ? 1 : 0], K = A.shape()[trans_a ? 0 : 1];
    const int64_t N = B.shape()[trans_b ? 0 : 1];
    if (B.shape()[trans_b ? 1 : 0] != K) {
      return shape_mismatch(
          "A " + shape_string(A.shape()) + " and B " + shape_string(B.shape()) +
          " have different inner dimensions (transA = " + std::to_string(trans_a) +
          ", transB = " + std::to_string(trans_b) + ")");
    }
    auto r = new_tensor(DType::kFloat32, {M, N});
    if (!r) return r.status();
    std::vector<float> a_rows;
    const float* ap = A.data<float>().data();
    if (trans_a) {
      a_rows = transposed(A.data<float>(), K, M);
      ap = a_rows.data();
    }
    std::optional<PackedGemmF32> local;
    const std::optional<PackedGemmF32>* packed = prepacked.get();
    if (!packed) {
      std::vector<float> wt =
          trans_b ? std::vector<float>(B.data<float>().begin(), B.data<float>().end())
                  : transposed(B.data<float>(), K, N);
      auto p = pack_gemm(wt, N, K, {}, act);
      if (!p) return p.status();
      local = std::move(*p);
      packed = &local;
    }
    float* yp = r->data<float>().data();
    std::vector<float> fused_bias;
    if (bias_fused && !packed->has_value()) {
      // K or N is 0: the kernel never ran, write the bias.
      const auto cv = C->data<float>();
      fused_bias.resize(static_cast<size_t>(N));
      for (size_t j = 0; j < fused_bias.size(); ++j) fused_bias[j] = cv[C->size() == 1 ? 0 : j];
    }
    QL_RETURN_IF_ERROR(
        gemm_rows(packed->has_value() ? &**packed : nullptr, ap, M, N, fused_bias, act, yp));
    if (bias_fused) {
      y[0] = std::move(*r);
      return Status::ok();
    }
    if (al != 1.0f) {
      for (size_t i = 0; i < r->size(); ++i) yp[i] *= al;
    }
    if (C && be != 0.0f) {
      if (C->rank() > 2) return shape_mismatch("C " + shape_string(C->shape()) + " has rank > 2");
      const Dims cs = C->shape();
      const int64_t cr = cs.size() == 2 ? cs[0] : 1;
      const int64_t cc = cs.empty() ? 1 : cs.back();
      if ((cr != 1 && cr != M) || (cc != 1 && cc != N)) {
        return shape_mismatch("C " + shape_string(cs) + " does not broadcast to [" +
                              std::to_string(M) + ", " + std::to_string(N) + "]");
      }
      const float* cp = C->data<float>().data();
      for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
          yp[i * N + j] += be * cp[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
        }
      }
    }
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- MatMul ------------------------------------------------------------------------------------

Result<std::unique_ptr<Op>> make_matmul(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kFloat32}));
  out[0].dtype = DType::kFloat32;
  QL_RETURN_IF_ERROR(infer_matmul_dims(ctx, 0, 1, out[0], &matmul_shape));
  const FusedActivation act = ctx.offered_activation();
  if (act != FusedActivation::kNone) ctx.accept_activation();
  // A constant B without batch dims (a weight matrix) is packed once and every row of A,
  // whatever its batch dims, goes through one GEMM.
  std::shared_ptr<const std::optional<PackedGemmF32>> prepacked;
  if (const Tensor* b = ctx.constant(1)) {
    const Dims& bs = b->shape();
    const bool matrix =
        bs.size() == 2 || (bs.size() > 2 && dims_product(Dims(bs.begin(), bs.end() - 2)) == 1);
    if (matrix && bs.size() >= 2) {
      const int64_t k = bs[bs.size() - 2], n = bs.back();
      auto p = pack_gemm(transposed(b->data<float>(), k, n), n, k, {}, act);
      if (!p) return p.status();
      prepacked = std::make_shared<const std::optional<PackedGemmF32>>(std::move(*p));
    }
  }
  return make_op(
      [prepacked, act](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        const Tensor& A = *in[0];
        const Tensor& B = *in[1];
        auto s = matmul_shape(A.shape(), B.shape());
        if (!s) return s.status();
        auto r = new_tensor(DType::kFloat32, s->y);
        if (!r) return r.status();
        float* yp = r->data<float>().data();
        const float* ap = A.data<float>().data();
        const float* bp = B.data<float>().data();
        const bool b_is_matrix = B.rank() >= 2 && static_cast<size_t>(s->k * s->n) == B.size();
        if (prepacked && b_is_matrix && A.rank() >= 1) {
          // Rows of A in order are rows of Y in order when B has no batch dims.
          const int64_t rows = s->k == 0 ? dims_product(s->y) / std::max<int64_t>(s->n, 1)
                                         : static_cast<int64_t>(A.size()) / s->k;
          QL_RETURN_IF_ERROR(gemm_rows(prepacked->has_value() ? &**prepacked : nullptr, ap, rows,
                                       s->n, {}, act, yp));
          y[0] = std::move(*r);
          return Status::ok();
        }
        // General case: loop over the broadcast batch, packing each B matrix.
        const size_t mk = static_cast<size_t>(s->m * s->k), kn = static_cast<size_t>(s->k * s->n),
                     mn = static_cast<size_t>(s->m * s->n);
        QL_RETURN_IF_ERROR(for_each_matmul_batch(
            A.shape(), B.shape(), *s, [&](size_t t, size_t ao, size_t bo) -> Status {
              auto p = pack_gemm(transposed(std::span<const float>(bp + bo * kn, kn), s->k, s->n),
                                 s->n, s->k, {}, act);
              if (!p) return p.status();
              return gemm_rows(p->has_value() ? &**p : nullptr, ap + ao * mk, s->m, s->n, {}, act,
                               yp + t * mn);
            }));
        y[0] = std::move(*r);
        return Status::ok();
      });
}

// --- BatchNormalization --------------------------------------------------------------------

/// y = x a + b per channel, a = scale / sqrt(var + eps), b = B - mean a (computed in double,
/// rounded to float, as PyTorch's inference kernel folds them).
Status bn_coefficients(const Tensor& scale, const Tensor& bias, const Tensor& mean,
                       const Tensor& var, float epsilon, int64_t channels, std::vector<float>& a,
                       std::vector<float>& b) {
  for (const Tensor* t : {&scale, &bias, &mean, &var}) {
    if (t->size() != static_cast<size_t>(channels)) {
      return shape_mismatch("scale, B, mean and var must hold one value per channel (" +
                            std::to_string(channels) + "), got shape " + shape_string(t->shape()));
    }
  }
  a.resize(static_cast<size_t>(channels));
  b.resize(static_cast<size_t>(channels));
  for (size_t c = 0; c < a.size(); ++c) {
    const double v = static_cast<double>(var.data<float>()[c]) + static_cast<double>(epsilon);
    if (!(v > 0.0)) {
      return invalid_argument("var + epsilon of channel " + std::to_string(c) + " is not positive");
    }
    const double inv = 1.0 / std::sqrt(v);
    const double ac = static_cast<double>(scale.data<float>()[c]) * inv;
    a[c] = static_cast<float>(ac);
    b[c] = static_cast<float>(static_cast<double>(bias.data<float>()[c]) -
                              static_cast<double>(mean.data<float>()[c]) * ac);
  }
  return Status::ok();
}

Result<std::unique_ptr<Op>> make_batchnorm(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"epsilon", "momentum", "spatial", "training_mode"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(5, 5, 1, 5));
  for (size_t i = 0; i < 5; ++i) QL_RETURN_IF_ERROR(ctx.check_dtype(i, {DType::kFloat32}));
  auto training = ctx.attr_int("training_mode", 0);
  if (!training) return training.status();
  if (*training != 0) {
    return unsupported(
        "training_mode = 1 is not supported: quantlab runs BatchNormalization "
        "in inference mode (running statistics)");
  }
  for (size_t i = 1; i < ctx.num_outputs(); ++i) {
    if (ctx.has_output(i)) {
      return unsupported("output '" + ctx.node().outputs[i] +
                         "' (training statistics) is not "
                         "supported: quantlab runs BatchNormalization in inference mode");
    }
  }
  auto spatial = ctx.attr_int("spatial", 1);
  if (!spatial) return spatial.status();
  if (*spatial != 1) return unsupported("spatial = 0 (per-activation statistics) is not supported");
  auto eps = read_channel_norm(ctx, 4, 2, out);
  if (!eps) return eps.status();
  const float epsilon = *eps;
  std::shared_ptr<const std::pair<std::vector<float>, std::vector<float>>> folded;
  if (ctx.constant(1) && ctx.constant(2) && ctx.constant(3) && ctx.constant(4)) {
    std::vector<float> a, b;
    QL_RETURN_IF_ERROR(bn_coefficients(*ctx.constant(1), *ctx.constant(2), *ctx.constant(3),
                                       *ctx.constant(4), epsilon,
                                       static_cast<int64_t>(ctx.constant(1)->size()), a, b));
    folded = std::make_shared<const std::pair<std::vector<float>, std::vector<float>>>(
        std::move(a), std::move(b));
  }
  return make_op([folded, epsilon](std::span<const Tensor* const> in,
                                   std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    if (x.rank() < 2)
      return shape_mismatch("input " + shape_string(x.shape()) + " needs rank >= 2");
    const int64_t channels = x.shape()[1];
    std::vector<float> a, b;
    if (folded) {
      if (folded->first.size() != static_cast<size_t>(channels)) {
        return shape_mismatch("input " + shape_string(x.shape()) + " has " +
                              std::to_string(channels) + " channels; the statistics have " +
                              std::to_string(folded->first.size()));
      }
    } else {
      QL_RETURN_IF_ERROR(bn_coefficients(*in[1], *in[2], *in[3], *in[4], epsilon, channels, a, b));
    }
    const std::vector<float>& ca = folded ? folded->first : a;
    const std::vector<float>& cb = folded ? folded->second : b;
    auto r = new_tensor(DType::kFloat32, x.shape());
    if (!r) return r.status();
    const size_t inner =
        channels == 0 ? 0 : x.size() / static_cast<size_t>(x.shape()[0] * channels);
    const float* src = x.data<float>().data();
    float* dst = r->data<float>().data();
    size_t i = 0;
    for (int64_t n = 0; n < x.shape()[0]; ++n) {
      for (size_t c = 0; c < static_cast<size_t>(channels); ++c) {
        const float av = ca[c], bv = cb[c];
        for (size_t j = 0; j < inner; ++j, ++i) dst[i] = src[i] * av + bv;
      }
    }
    y[0] = std::move(*r);
    return Status::ok();
  });
}

}  // namespace

void register_nn_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "Conv", {1, 11}, {1, 11}, &make_conv});
  r.push_back({"", "Gemm", {1, 6, 7, 9, 11, 13}, {7, 9, 11, 13}, &make_gemm});
  r.push_back({"", "MatMul", {1, 9, 13}, {1, 9, 13}, &make_matmul});
  r.push_back({"", "BatchNormalization", {1, 6, 7, 9, 14, 15}, {7, 9, 14, 15}, &make_batchnorm});
}

}  // namespace quantlab::ops
