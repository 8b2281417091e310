// Element-wise operators with numpy broadcasting: Add, Sub, Mul, Div, Pow, Min, Max, Sum,
// Mean; comparisons and logic (bool out); Where; Cast; unary math (Sqrt, Exp, Log, Abs, Neg,
// Reciprocal, Erf, Not); Relu, Clip, Identity, Dropout (inference: the identity).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops_broadcast.hpp"
#include "ops_common.hpp"

namespace quantlab::ops {
namespace {

constexpr std::initializer_list<DType> kNumeric = {DType::kFloat32, DType::kUInt8, DType::kInt8,
                                                   DType::kInt32, DType::kInt64};
constexpr std::initializer_list<DType> kNumericOrBool = {
    DType::kFloat32, DType::kUInt8, DType::kInt8, DType::kInt32, DType::kInt64, DType::kBool};

// --- Add, Sub, Mul, Div, Min, Max, Sum, Mean --------------------------------------------------

enum class Arith { kAdd, kSub, kMul, kDiv, kMin, kMax, kSum, kMean };

template <Arith kOp, class T>
T arith(T x, T z) {
  if constexpr (kOp == Arith::kAdd || kOp == Arith::kSum || kOp == Arith::kMean) {
    return static_cast<T>(x + z);
  } else if constexpr (kOp == Arith::kSub) {
    return static_cast<T>(x - z);
  } else if constexpr (kOp == Arith::kMul) {
    return static_cast<T>(x * z);
  } else if constexpr (kOp == Arith::kDiv) {
    if constexpr (std::is_integral_v<T>) {
      // Truncating, as onnxruntime; zero divisors are refused before, and MIN / -1 wraps.
      if constexpr (std::is_signed_v<T>) {
        if (z == T(-1)) return static_cast<T>(T(0) - x);
      }
      return static_cast<T>(x / z);
    } else {
      return x / z;
    }
  } else if constexpr (kOp == Arith::kMin) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(x) || std::isnan(z)) return std::numeric_limits<T>::quiet_NaN();
    }
    return std::min(x, z);
  } else {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(x) || std::isnan(z)) return std::numeric_limits<T>::quiet_NaN();
    }
    return std::max(x, z);
  }
}

/// Shared load-time checks of the n-ary element-wise operators: one element type from
/// `allowed`, output dims the broadcast of every input.
Status infer_nary(const NodeContext& ctx, std::initializer_list<DType> allowed, ValueInfo& out,
                  DType out_dtype, bool same_types = true) {
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, allowed));
  out.dtype = out_dtype;
  out.rank_known = true;
  Dims dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    QL_RETURN_IF_ERROR(ctx.require_input(i, "an operand"));
    const ValueInfo& v = ctx.input(i);
    if (same_types && v.dtype != ctx.input(0).dtype) {
      return unsupported(std::string("inputs have different element types (") +
                         dtype_name(ctx.input(0).dtype) + " and " + dtype_name(v.dtype) + ")");
    }
    out.rank_known = out.rank_known && v.rank_known;
    if (!out.rank_known) continue;
    auto d = broadcast_dims(dims, v.dims);
    if (!d) return d.status();
    dims = std::move(*d);
  }
  if (out.rank_known) out.dims = std::move(dims);
  return Status::ok();
}

template <Arith kOp>
Result<std::unique_ptr<Op>> make_arith(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  constexpr bool kVariadic = kOp == Arith::kMin || kOp == Arith::kMax || kOp == Arith::kSum ||
                             kOp == Arith::kMean;
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(kVariadic ? 1 : 2, kVariadic ? 1u << 16 : 2, 1, 1));
  if constexpr (kOp == Arith::kMean) {
    QL_RETURN_IF_ERROR(infer_nary(ctx, {DType::kFloat32}, out[0], DType::kFloat32));
  } else {
    QL_RETURN_IF_ERROR(infer_nary(ctx, kNumeric, out[0], ctx.input(0).dtype));
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = visit_dtype(in[0]->dtype(), [&](auto tag) -> Result<Tensor> {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        return unsupported("arithmetic on bool");
      } else {
        if constexpr (kOp == Arith::kDiv && std::is_integral_v<T>) {
          for (T z : in[1]->data<T>()) {
            if (z == T(0)) return invalid_argument("integer division by zero");
          }
        }
        Tensor acc = *in[0];
        for (size_t i = 1; i < in.size(); ++i) {
          auto next = broadcast_binary<T, T>(acc, *in[i], acc.dtype(), arith<kOp, T>);
          if (!next) return next.status();
          acc = std::move(*next);
        }
        if constexpr (kOp == Arith::kMean) {
          const float n = static_cast<float>(in.size());
          for (float& v : acc.data<float>()) v /= n;
        }
        return acc;
      }
    });
    return set_output(std::move(r), y[0]);
  });
}

// --- Pow ---------------------------------------------------------------------------------------

Result<std::unique_ptr<Op>> make_pow(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  static constexpr std::initializer_list<DType> kTypes = {DType::kFloat32, DType::kInt32,
                                                         DType::kInt64};
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, kTypes));
  if (ctx.version() < 12 && ctx.input(1).dtype != ctx.input(0).dtype) {
    return unsupported("Pow before opset 12 takes one element type");
  }
  QL_RETURN_IF_ERROR(infer_nary(ctx, kTypes, out[0], ctx.input(0).dtype, false));
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = visit_dtype(in[0]->dtype(), [&](auto x_tag) -> Result<Tensor> {
      using T = decltype(x_tag);
      return visit_dtype(in[1]->dtype(), [&](auto e_tag) -> Result<Tensor> {
        using E = decltype(e_tag);
        constexpr bool kOk = (std::is_same_v<T, float> || std::is_same_v<T, int32_t> ||
                              std::is_same_v<T, int64_t>) &&
                             (std::is_same_v<E, float> || std::is_same_v<E, int32_t> ||
                              std::is_same_v<E, int64_t>);
        if constexpr (kOk) {
          return broadcast_binary<T, E>(*in[0], *in[1], in[0]->dtype(), [](T x, E e) {
            if constexpr (std::is_same_v<T, float> && std::is_same_v<E, float>) {
              return std::pow(x, e);
            } else {
              return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(e)));
            }
          });
        } else {
          return unsupported("Pow on these element types");
        }
      });
    });
    return set_output(std::move(r), y[0]);
  });
}

// --- Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor ---------------------------

enum class Compare { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual, kAnd, kOr, kXor };

template <Compare kOp>
Result<std::unique_ptr<Op>> make_compare(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  constexpr bool kLogic = kOp == Compare::kAnd || kOp == Compare::kOr || kOp == Compare::kXor;
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  if constexpr (kLogic) {
    QL_RETURN_IF_ERROR(infer_nary(ctx, {DType::kBool}, out[0], DType::kBool));
  } else if constexpr (kOp == Compare::kEqual) {
    QL_RETURN_IF_ERROR(infer_nary(ctx, kNumericOrBool, out[0], DType::kBool));
  } else {
    QL_RETURN_IF_ERROR(infer_nary(ctx, kNumeric, out[0], DType::kBool));
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = visit_dtype(in[0]->dtype(), [&](auto tag) -> Result<Tensor> {
      using T = decltype(tag);
      return broadcast_binary<T, T>(*in[0], *in[1], DType::kBool, [](T a, T b) -> bool {
        if constexpr (kOp == Compare::kEqual) return a == b;
        else if constexpr (kOp == Compare::kLess) return a < b;
        else if constexpr (kOp == Compare::kGreater) return a > b;
        else if constexpr (kOp == Compare::kLessOrEqual) return a <= b;
        else if constexpr (kOp == Compare::kGreaterOrEqual) return a >= b;
        else if constexpr (kOp == Compare::kAnd) return a && b;
        else if constexpr (kOp == Compare::kOr) return a || b;
        else return a != b;
      });
    });
    return set_output(std::move(r), y[0]);
  });
}

// --- Where -------------------------------------------------------------------------------------

/// Offsets into a tensor of shape `s` for every element of the broadcast shape y.
std::vector<size_t> broadcast_offsets(const Dims& s, const Dims& y) {
  const size_t rank = y.size();
  Dims d(rank, 1);
  for (size_t i = 0; i < s.size(); ++i) d[rank - s.size() + i] = s[i];
  const Dims st = strides_of(d);
  int64_t total = 1;
  for (int64_t v : y) total *= v;
  std::vector<size_t> out(static_cast<size_t>(total));
  Dims idx(rank, 0);
  for (size_t o = 0; o < out.size(); ++o) {
    int64_t off = 0;
    for (size_t i = 0; i < rank; ++i) {
      if (d[i] != 1) off += idx[i] * st[i];
    }
    out[o] = static_cast<size_t>(off);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < y[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

Result<std::unique_ptr<Op>> make_where(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(3, 3, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kBool}));
  if (ctx.input(1).dtype != ctx.input(2).dtype) {
    return unsupported("X and Y have different element types");
  }
  QL_RETURN_IF_ERROR(infer_nary(ctx, {DType::kBool}, out[0], ctx.input(1).dtype, false));
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto d = broadcast_dims(in[0]->shape(), in[1]->shape());
    if (!d) return d.status();
    d = broadcast_dims(*d, in[2]->shape());
    if (!d) return d.status();
    auto r = new_tensor(in[1]->dtype(), *d);
    if (!r) return r.status();
    const auto c = broadcast_offsets(in[0]->shape(), *d);
    const auto a = broadcast_offsets(in[1]->shape(), *d);
    const auto b = broadcast_offsets(in[2]->shape(), *d);
    const size_t elem = dtype_size(in[1]->dtype());
    const bool* cond = in[0]->data<bool>().data();
    const auto* pa = static_cast<const std::byte*>(in[1]->raw());
    const auto* pb = static_cast<const std::byte*>(in[2]->raw());
    auto* dst = static_cast<std::byte*>(r->raw());
    for (size_t i = 0; i < c.size(); ++i) {
      std::memcpy(dst + i * elem, cond[c[i]] ? pa + a[i] * elem : pb + b[i] * elem, elem);
    }
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- Cast --------------------------------------------------------------------------------------

/// ONNX Cast up to opset 17 between float32, int64, int32, int8, uint8 and bool. Float to
/// integer truncates toward zero; a value outside the target's range is undefined in the
/// spec: here NaN gives 0 and others saturate to int64 first, then wrap modulo 2^bits as a
/// C++ integer conversion does (the result onnxruntime gives on x86 for in-range int32).
template <class To, class From>
To cast_value(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v)) return To(0);
    constexpr float kLimit = 9.2233720368547758e18f;  // 2^63
    if (v >= kLimit) return static_cast<To>(std::numeric_limits<int64_t>::max());
    if (v <= -kLimit) return static_cast<To>(std::numeric_limits<int64_t>::min());
    return static_cast<To>(static_cast<int64_t>(v));
  } else {
    return static_cast<To>(v);
  }
}

Result<std::unique_ptr<Op>> make_cast(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"to"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kNumericOrBool));
  if (!ctx.has_attribute("to")) return invalid_argument("the 'to' attribute is required");
  auto to_attr = ctx.attr_int("to", 0);
  if (!to_attr) return to_attr.status();
  DType to = DType::kFloat32;
  if (!dtype_from_onnx(*to_attr, to)) {
    return unsupported("Cast to " + onnx_type_name(static_cast<int32_t>(*to_attr)) +
                       ": quantlab casts between FLOAT, UINT8, INT8, INT32, INT64 and BOOL");
  }
  out[0] = ctx.input(0);
  out[0].dtype = to;
  out[0].constant = false;
  if (const Dims* sv = ctx.shape_value(0); sv && (to == DType::kInt64 || to == DType::kInt32)) {
    ctx.set_shape_value(0, *sv);
  }
  return make_op([to](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    auto r = new_tensor(to, x.shape());
    if (!r) return r.status();
    visit_dtype(x.dtype(), [&](auto from_tag) {
      using From = decltype(from_tag);
      visit_dtype(to, [&](auto to_tag) {
        using To = decltype(to_tag);
        const auto src = x.data<From>();
        auto dst = r->template data<To>();
        for (size_t i = 0; i < src.size(); ++i) dst[i] = cast_value<To>(src[i]);
      });
    });
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

// --- Sqrt, Exp, Log, Abs, Neg, Reciprocal, Erf, Not -----------------------------------------

enum class Unary { kSqrt, kExp, kLog, kAbs, kNeg, kReciprocal, kErf, kNot };

template <Unary kOp, class T>
T unary(T v) {
  if constexpr (kOp == Unary::kSqrt) return std::sqrt(v);
  else if constexpr (kOp == Unary::kExp) return std::exp(v);
  else if constexpr (kOp == Unary::kLog) return std::log(v);
  else if constexpr (kOp == Unary::kReciprocal) return T(1) / v;
  else if constexpr (kOp == Unary::kErf) return std::erf(v);
  else if constexpr (kOp == Unary::kNot) return !v;
  else if constexpr (kOp == Unary::kNeg) return static_cast<T>(T(0) - v);
  else if constexpr (std::is_unsigned_v<T>) return v;
  else return v < T(0) ? static_cast<T>(T(0) - v) : v;
}

template <Unary kOp>
Result<std::unique_ptr<Op>> make_unary(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  if constexpr (kOp == Unary::kNot) {
    QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kBool}));
  } else if constexpr (kOp == Unary::kAbs) {
    QL_RETURN_IF_ERROR(ctx.check_dtype(0, kNumeric));
  } else if constexpr (kOp == Unary::kNeg) {
    QL_RETURN_IF_ERROR(
        ctx.check_dtype(0, {DType::kFloat32, DType::kInt8, DType::kInt32, DType::kInt64}));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  }
  out[0] = ctx.input(0);
  out[0].constant = false;
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto r = visit_dtype(in[0]->dtype(), [&](auto tag) -> Result<Tensor> {
      using T = decltype(tag);
      constexpr bool kFloatOnly = kOp != Unary::kAbs && kOp != Unary::kNeg && kOp != Unary::kNot;
      if constexpr ((kFloatOnly && !std::is_same_v<T, float>) ||
                    (kOp == Unary::kNot) != std::is_same_v<T, bool>) {
        return unsupported("this element type");
      } else {
        return map_unary<T>(*in[0], unary<kOp, T>);
      }
    });
    return set_output(std::move(r), y[0]);
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
  r.push_back({"", "Add", {1, 6, 7, 13, 14}, {7, 13, 14}, &make_arith<Arith::kAdd>});
  r.push_back({"", "Sub", {1, 6, 7, 13, 14}, {7, 13, 14}, &make_arith<Arith::kSub>});
  r.push_back({"", "Mul", {1, 6, 7, 13, 14}, {7, 13, 14}, &make_arith<Arith::kMul>});
  r.push_back({"", "Div", {1, 6, 7, 13, 14}, {7, 13, 14}, &make_arith<Arith::kDiv>});
  r.push_back({"", "Pow", {1, 7, 12, 13, 15}, {7, 12, 13, 15}, &make_pow});
  r.push_back({"", "Min", {1, 6, 8, 12, 13}, {8, 12, 13}, &make_arith<Arith::kMin>});
  r.push_back({"", "Max", {1, 6, 8, 12, 13}, {8, 12, 13}, &make_arith<Arith::kMax>});
  r.push_back({"", "Sum", {1, 6, 8, 13}, {8, 13}, &make_arith<Arith::kSum>});
  r.push_back({"", "Mean", {1, 6, 8, 13}, {8, 13}, &make_arith<Arith::kMean>});
  r.push_back({"", "Sqrt", {1, 6, 13}, {6, 13}, &make_unary<Unary::kSqrt>});
  r.push_back({"", "Exp", {1, 6, 13}, {6, 13}, &make_unary<Unary::kExp>});
  r.push_back({"", "Log", {1, 6, 13}, {6, 13}, &make_unary<Unary::kLog>});
  r.push_back({"", "Abs", {1, 6, 13}, {6, 13}, &make_unary<Unary::kAbs>});
  r.push_back({"", "Neg", {1, 6, 13}, {6, 13}, &make_unary<Unary::kNeg>});
  r.push_back({"", "Reciprocal", {1, 6, 13}, {6, 13}, &make_unary<Unary::kReciprocal>});
  r.push_back({"", "Erf", {9, 13}, {9, 13}, &make_unary<Unary::kErf>});
  r.push_back({"", "Not", {1}, {1}, &make_unary<Unary::kNot>});
  r.push_back({"", "Equal", {1, 7, 11, 13}, {7, 11, 13}, &make_compare<Compare::kEqual>});
  r.push_back({"", "Less", {1, 7, 9, 13}, {7, 9, 13}, &make_compare<Compare::kLess>});
  r.push_back({"", "Greater", {1, 7, 9, 13}, {7, 9, 13}, &make_compare<Compare::kGreater>});
  r.push_back({"", "LessOrEqual", {12, 16}, {12, 16}, &make_compare<Compare::kLessOrEqual>});
  r.push_back({"", "GreaterOrEqual", {12, 16}, {12, 16},
               &make_compare<Compare::kGreaterOrEqual>});
  r.push_back({"", "And", {1, 7}, {7}, &make_compare<Compare::kAnd>});
  r.push_back({"", "Or", {1, 7}, {7}, &make_compare<Compare::kOr>});
  r.push_back({"", "Xor", {1, 7}, {7}, &make_compare<Compare::kXor>});
  r.push_back({"", "Where", {9, 16}, {9, 16}, &make_where});
  r.push_back({"", "Cast", {1, 6, 9, 13}, {6, 9, 13}, &make_cast});
  r.push_back({"", "Relu", {1, 6, 13, 14}, {6, 13, 14}, &make_relu});
  r.push_back({"", "Clip", {1, 6, 11, 12, 13}, {6, 11, 12, 13}, &make_clip});
  r.push_back({"", "Identity", {1, 13, 14, 16}, {1, 13, 14, 16}, &make_identity});
  r.push_back({"", "Dropout", {1, 6, 7, 10, 12, 13}, {7, 10, 12, 13}, &make_dropout});
}

}  // namespace quantlab::ops
