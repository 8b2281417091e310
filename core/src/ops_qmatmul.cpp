// Quantized operators, QLinearMatMul and MatMulInteger: numpy-broadcast batches of 2-D
// products, constant int8 weights packed once (PackedQGemm).
#include <algorithm>
#include <cstring>
#include <optional>

#include "ops_broadcast.hpp"
#include "ops_quant_internal.hpp"
#include "quantlab/gemm.hpp"

namespace quantlab::ops {
namespace {

/// A 2-D slice [rows, cols] starting at element `offset` of t, as its own tensor.
Result<Tensor> slice2d(const Tensor& t, size_t offset, int64_t rows, int64_t cols) {
  auto s = new_tensor(t.dtype(), {rows, cols});
  if (!s) return s.status();
  const size_t elem = dtype_size(t.dtype());
  if (s->bytes()) {
    std::memcpy(s->raw(), static_cast<const std::byte*>(t.raw()) + offset * elem, s->bytes());
  }
  return s;
}

// --- QLinearMatMul, MatMulInteger ------------------------------------------------------------

/// Numpy matmul shape of 2+-D operands with broadcast batch dims (1-D operands are refused
/// for the quantized operators' simplicity: ONNX exporters never emit them).
Result<MatMulShape> qmatmul_shape(const Dims& a, const Dims& b) {
  if (a.size() < 2 || b.size() < 2) {
    return unsupported("quantized MatMul operands must have rank >= 2, got " + dims_string(a) +
                       " and " + dims_string(b));
  }
  return matmul_shape(a, b);
}

/// Runs f(a_slice, b_slice) -> [M, N] over the broadcast batch and stacks the results.
template <class F>
Result<Tensor> batched_matmul(const Tensor& A, const Tensor& B, DType y_type, F f) {
  auto s = qmatmul_shape(A.shape(), B.shape());
  if (!s) return s.status();
  auto y = new_tensor(y_type, s->y);
  if (!y) return y.status();
  const auto mk = static_cast<size_t>(s->m * s->k), kn = static_cast<size_t>(s->k * s->n);
  const size_t out_bytes = static_cast<size_t>(s->m * s->n) * dtype_size(y_type);
  QL_RETURN_IF_ERROR(for_each_matmul_batch(
      A.shape(), B.shape(), *s, [&](size_t t, size_t ao, size_t bo) -> Status {
        auto a2 = slice2d(A, ao * mk, s->m, s->k);
        if (!a2) return a2.status();
        auto b2 = slice2d(B, bo * kn, s->k, s->n);
        if (!b2) return b2.status();
        auto r = f(*a2, *b2);
        if (!r) return r.status();
        if (out_bytes) {
          std::memcpy(static_cast<std::byte*>(y->raw()) + t * out_bytes, r->raw(), out_bytes);
        }
        return Status::ok();
      }));
  return y;
}

/// W [N, K] int8 from a constant b [K, N] (batch dims of size 1 allowed), when b is int8
/// with all zero points 0: the layout PackedQGemm wants.
std::optional<std::vector<int8_t>> packable_weights(const Tensor* b, const Tensor* b_zp) {
  if (!b || b->dtype() != DType::kInt8 || b->rank() < 2) return std::nullopt;
  const Dims& s = b->shape();
  if (dims_product(Dims(s.begin(), s.end() - 2)) != 1) return std::nullopt;
  if (b_zp) {
    for (int32_t z : int_values(*b_zp)) {
      if (z != 0) return std::nullopt;
    }
  }
  const auto k = static_cast<size_t>(s[s.size() - 2]), n = static_cast<size_t>(s.back());
  const auto src = b->data<int8_t>();
  std::vector<int8_t> w(n * k);
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < n; ++j) w[j * k + i] = src[i * n + j];
  }
  return w;
}

/// Runs a packed GEMM over every row of A (any batch dims; B has none).
Result<Tensor> run_packed_rows(const PackedQGemm& g, const Tensor& A, DType x_type, DType y_type) {
  if (A.rank() < 2) return unsupported("A must have rank >= 2, got " + shape_string(A.shape()));
  if (A.dtype() != x_type) {
    return unsupported(std::string("A is ") + dtype_name(A.dtype()) +
                       ", the layer was packed for " + dtype_name(x_type));
  }
  if (A.shape().back() != g.k()) {
    return shape_mismatch("A " + shape_string(A.shape()) + " has inner dimension " +
                          std::to_string(A.shape().back()) + "; B has " + std::to_string(g.k()) +
                          " rows");
  }
  Dims ys = A.shape();
  ys.back() = g.n();
  auto y = new_tensor(y_type, ys);
  if (!y) return y.status();
  const int64_t rows = g.k() == 0 ? 0 : static_cast<int64_t>(A.size()) / g.k();
  QL_RETURN_IF_ERROR(g.run(A.raw(), rows, y->raw()));
  return y;
}

}  // namespace

Result<std::unique_ptr<Op>> make_qlinear_matmul(const NodeContext& ctx,
                                                std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(8, 8, 1, 1));
  QL_RETURN_IF_ERROR(check_qlinear_inputs(ctx, "a", "b"));
  if (ctx.input(2).dtype != ctx.input(0).dtype || ctx.input(5).dtype != ctx.input(3).dtype) {
    return unsupported("each zero point must have its operand's element type");
  }
  const DType y_type = ctx.input(7).dtype;
  out[0].dtype = y_type;
  QL_RETURN_IF_ERROR(infer_matmul_dims(ctx, 0, 3, out[0], &qmatmul_shape));
  // Constant int8 weights with zero point 0 and constant scales: pack once.
  std::shared_ptr<const PackedQGemm> packed;
  bool params_fixed = true;
  for (size_t i : {1, 2, 4, 5, 6, 7}) params_fixed = params_fixed && ctx.constant(i);
  if (params_fixed) {
    if (auto w = packable_weights(ctx.constant(3), ctx.constant(5))) {
      const Tensor& b = *ctx.constant(3);
      const int64_t k = b.shape()[b.shape().size() - 2], n = b.shape().back();
      const std::vector<float> w_scales = float_values(*ctx.constant(4));
      auto qs = read_qscalars(*ctx.constant(1), *ctx.constant(2), *ctx.constant(6),
                              *ctx.constant(7), "a");
      if (!qs) return qs.status();
      if (n > 0 && k > 0 && (w_scales.size() == 1 || w_scales.size() == static_cast<size_t>(n))) {
        QOutput q{y_type, qs->out_scale, qs->out_zero_point, ctx.options().requant_mode,
                  FusedActivation::kNone};
        auto p = PackedQGemm::pack(*w, n, k, w_scales, {}, ctx.input(0).dtype, qs->in_scale,
                                   qs->in_zero_point, q);
        if (!p) return p.status();
        packed = std::make_shared<const PackedQGemm>(std::move(*p));
      }
    }
  }
  const DType x_type = ctx.input(0).dtype;
  return make_op(
      [packed, x_type, y_type](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        if (packed) {
          return set_output(run_packed_rows(*packed, *in[0], x_type, y_type), y[0]);
        }
        auto qs = read_qscalars(*in[1], *in[2], *in[6], *in[7], "a");
        if (!qs) return qs.status();
        const std::vector<float> b_scale = float_values(*in[4]);
        const std::vector<int32_t> b_zp = int_values(*in[5]);
        if (in[7]->dtype() != y_type) return unsupported("y_zero_point changed type");
        return set_output(
            batched_matmul(*in[0], *in[3], y_type,
                           [&](const Tensor& a, const Tensor& b) {
                             return qlinear_matmul(a, qs->in_scale, qs->in_zero_point, b, b_scale,
                                                   b_zp, qs->out_scale, qs->out_zero_point, y_type);
                           }),
            y[0]);
      });
}

Result<std::unique_ptr<Op>> make_matmul_integer(const NodeContext& ctx,
                                                std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 4, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, kQ8));
  if (ctx.has_input(2)) QL_RETURN_IF_ERROR(check_param(ctx, 2, "a_zero_point", true, kQ8));
  if (ctx.has_input(3)) QL_RETURN_IF_ERROR(check_param(ctx, 3, "b_zero_point", true, kQ8));
  out[0].dtype = DType::kInt32;
  QL_RETURN_IF_ERROR(infer_matmul_dims(ctx, 0, 1, out[0], &qmatmul_shape));
  std::shared_ptr<const PackedQGemm> packed;
  const bool a_zp_fixed = !ctx.has_input(2) || (ctx.constant(2) && ctx.constant(2)->size() == 1);
  const bool b_zp_fixed = !ctx.has_input(3) || ctx.constant(3);
  if (a_zp_fixed && b_zp_fixed) {
    if (auto w = packable_weights(ctx.constant(1), ctx.has_input(3) ? ctx.constant(3) : nullptr)) {
      const Tensor& b = *ctx.constant(1);
      const int64_t k = b.shape()[b.shape().size() - 2], n = b.shape().back();
      const int32_t a_zp = ctx.has_input(2) ? int_values(*ctx.constant(2))[0] : 0;
      if (n > 0 && k > 0) {
        const float one = 1.0f;
        QOutput q{DType::kInt32, 1.0f, 0, RequantMode::kFp32, FusedActivation::kNone};
        auto p = PackedQGemm::pack(*w, n, k, {&one, 1}, {}, ctx.input(0).dtype, 1.0f, a_zp, q);
        if (!p) return p.status();
        packed = std::make_shared<const PackedQGemm>(std::move(*p));
      }
    }
  }
  const DType x_type = ctx.input(0).dtype;
  return make_op([packed, x_type](std::span<const Tensor* const> in,
                                  std::span<Tensor> y) -> Status {
    if (packed) {
      return set_output(run_packed_rows(*packed, *in[0], x_type, DType::kInt32), y[0]);
    }
    const Tensor* azp = in.size() > 2 ? in[2] : nullptr;
    const Tensor* bzp = in.size() > 3 ? in[3] : nullptr;
    const std::vector<int32_t> a_zp = azp ? int_values(*azp) : std::vector<int32_t>{0};
    const std::vector<int32_t> b_zp = bzp ? int_values(*bzp) : std::vector<int32_t>{0};
    if (azp && azp->dtype() != in[0]->dtype())
      return unsupported("a_zero_point must have A's type");
    if (bzp && bzp->dtype() != in[1]->dtype())
      return unsupported("b_zero_point must have B's type");
    return set_output(batched_matmul(*in[0], *in[1], DType::kInt32,
                                     [&](const Tensor& a, const Tensor& b) {
                                       return matmul_integer(a, a_zp, b, b_zp);
                                     }),
                      y[0]);
  });
}

}  // namespace quantlab::ops
