// Element-wise operators: Add, Mul (numpy broadcasting), Relu, Clip, Identity, Dropout
// (inference: the identity).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops_broadcast.hpp"
#include "ops_common.hpp"

namespace quantlab::ops {
namespace {

constexpr std::initializer_list<DType> kNumeric = {DType::kFloat32, DType::kUInt8, DType::kInt8,
                                                   DType::kInt32, DType::kInt64};

// --- Add, Mul ----------------------------------------------------------------------------------

template <bool kMul>
Result<std::unique_ptr<Op>> make_arith(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kNumeric));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, kNumeric));
  const ValueInfo& a = ctx.input(0);
  const ValueInfo& b = ctx.input(1);
  if (a.dtype != b.dtype) {
    return unsupported(std::string("inputs have different element types (") + dtype_name(a.dtype) +
                       " and " + dtype_name(b.dtype) + ")");
  }
  out[0].dtype = a.dtype;
  out[0].rank_known = a.rank_known && b.rank_known;
  if (out[0].rank_known) {
    auto dims = broadcast_dims(a.dims, b.dims);
    if (!dims) return dims.status();
    out[0].dims = std::move(*dims);
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = visit_dtype(in[0]->dtype(), [&](auto tag) -> Result<Tensor> {
      using T = decltype(tag);
      return broadcast_binary<T, T>(*in[0], *in[1], in[0]->dtype(), [](T x, T z) {
        if constexpr (kMul) {
          return static_cast<T>(x * z);
        } else {
          return static_cast<T>(x + z);
        }
      });
    });
    if (!r) return r.status();
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- Relu, Clip --------------------------------------------------------------------------------

template <class T, class F>
Result<Tensor> map_unary(const Tensor& x, F f) {
  auto y = new_tensor(x.dtype(), x.shape());
  if (!y) return y.status();
  const auto src = x.data<T>();
  auto dst = y->template data<T>();
  for (size_t i = 0; i < src.size(); ++i) dst[i] = f(src[i]);
  return y;
}

Result<std::unique_ptr<Op>> make_relu(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(
      ctx.check_dtype(0, {DType::kFloat32, DType::kInt8, DType::kInt32, DType::kInt64}));
  out[0] = ctx.input(0);
  out[0].constant = false;
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = visit_dtype(in[0]->dtype(), [&](auto tag) -> Result<Tensor> {
      using T = decltype(tag);
      return map_unary<T>(*in[0], [](T v) { return v > T(0) ? v : T(0); });
    });
    if (!r) return r.status();
    y[0] = std::move(*r);
    return Status::ok();
  });
}

Result<std::unique_ptr<Op>> make_clip(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  const bool attribute_form = ctx.version() < 11;  // Clip-6: min / max are attributes
  if (attribute_form) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"min", "max"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
    QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 3, 1, 1));
    if (ctx.version() >= 12) {
      QL_RETURN_IF_ERROR(ctx.check_dtype(0, kNumeric));
    } else {
      QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
    }
    for (size_t i = 1; i < 3; ++i) {
      if (!ctx.has_input(i)) continue;
      if (ctx.input(i).dtype != ctx.input(0).dtype) {
        return unsupported("input " + std::to_string(i) + " '" + ctx.input(i).name + "' is " +
                           dtype_name(ctx.input(i).dtype) + " but the data is " +
                           dtype_name(ctx.input(0).dtype));
      }
      if (ctx.input(i).rank_known && dims_product(ctx.input(i).dims) != 1 &&
          all_known(ctx.input(i).dims)) {
        return shape_mismatch("input " + std::to_string(i) + " '" + ctx.input(i).name +
                              "' must be a scalar, got " + dims_string(ctx.input(i).dims));
      }
    }
  }
  out[0] = ctx.input(0);
  out[0].constant = false;
  float attr_min = std::numeric_limits<float>::lowest();
  float attr_max = std::numeric_limits<float>::max();
  if (attribute_form) {
    auto lo = ctx.attr_float("min", attr_min);
    auto hi = ctx.attr_float("max", attr_max);
    if (!lo) return lo.status();
    if (!hi) return hi.status();
    attr_min = *lo;
    attr_max = *hi;
  }
  return make_op([attribute_form, attr_min, attr_max](std::span<const Tensor* const> in,
                                                      std::span<Tensor> y) -> Status {
    auto r = visit_dtype(in[0]->dtype(), [&](auto tag) -> Result<Tensor> {
      using T = decltype(tag);
      T lo = std::numeric_limits<T>::lowest();
      T hi = std::numeric_limits<T>::max();
      if (attribute_form) {
        lo = static_cast<T>(attr_min);
        hi = static_cast<T>(attr_max);
      } else {
        for (size_t i = 1; i < 3 && i < in.size(); ++i) {
          if (!in[i]) continue;
          if (in[i]->size() != 1) {
            return shape_mismatch(std::string(i == 1 ? "min" : "max") +
                                  " must be a scalar, got shape " + shape_string(in[i]->shape()));
          }
          (i == 1 ? lo : hi) = in[i]->template data<T>()[0];
        }
      }
      // min(max(x, lo), hi): when lo > hi every element becomes hi, as ONNX specifies.
      return map_unary<T>(*in[0], [lo, hi](T v) { return std::min(std::max(v, lo), hi); });
    });
    if (!r) return r.status();
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- Identity, Dropout ----------------------------------------------------------------------

std::unique_ptr<Op> copy_op() {
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    y[0] = *in[0];
    return Status::ok();
  });
}

Result<std::unique_ptr<Op>> make_identity(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  out[0] = ctx.input(0);
  out[0].constant = false;
  return copy_op();
}

Result<std::unique_ptr<Op>> make_dropout(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  if (ctx.version() >= 12) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"seed"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 3, 1, 2));
    if (ctx.has_input(1)) QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kFloat32}));
    if (ctx.has_input(2)) {
      return unsupported(
          "the training_mode input is not supported: quantlab runs Dropout in "
          "inference mode only");
    }
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"ratio", "is_test"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 2));
  }
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  if (ctx.has_output(1)) {
    return unsupported("the mask output '" + ctx.node().outputs[1] +
                       "' (a bool tensor) is not supported: quantlab runs Dropout in "
                       "inference mode only, where it is the identity");
  }
  out[0] = ctx.input(0);
  out[0].constant = false;
  return copy_op();
}

}  // namespace

void register_elementwise_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "Add", {1, 6, 7, 13, 14}, {7, 13, 14}, &make_arith<false>});
  r.push_back({"", "Mul", {1, 6, 7, 13, 14}, {7, 13, 14}, &make_arith<true>});
  r.push_back({"", "Relu", {1, 6, 13, 14}, {6, 13, 14}, &make_relu});
  r.push_back({"", "Clip", {1, 6, 11, 12, 13}, {6, 11, 12, 13}, &make_clip});
  r.push_back({"", "Identity", {1, 13, 14, 16}, {1, 13, 14, 16}, &make_identity});
  r.push_back({"", "Dropout", {1, 6, 7, 10, 12, 13}, {7, 10, 12, 13}, &make_dropout});
}

}  // namespace quantlab::ops
