// Reductions and normalizations: ReduceSum / Mean / Max / Min / Prod / L1 / L2 /
// SumSquare / LogSum / LogSumExp (keepdims, negative axes, ReduceSum-13's axes input and
// noop_with_empty_axes), ArgMax / ArgMin, GlobalMaxPool, LRN, InstanceNormalization and
// LayerNormalization-17. Reductions take float32 and (except L2, LogSum, LogSumExp) int32 /
// int64, ReduceMax / Min also int8 / uint8; the rest is float32.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops_broadcast.hpp"
#include "ops_common.hpp"
#include "ops_spatial.hpp"

namespace quantlab::ops {
namespace {

// --- Which axes a reduction removes ----------------------------------------------------------

/// The reduced-axis mask for `axes` on a tensor of `rank`: empty axes reduce every axis, or
/// none when noop_with_empty_axes (ReduceSum-13). Axes in [-rank, rank), repeats allowed.
Result<std::vector<bool>> reduce_mask(std::span<const int64_t> axes, int rank, bool noop_if_empty) {
  std::vector<bool> mask(static_cast<size_t>(rank), axes.empty() && !noop_if_empty);
  for (int64_t a : axes) {
    auto n = normalize_axis(a, rank, "axis");
    if (!n) return n.status();
    mask[static_cast<size_t>(*n)] = true;
  }
  return mask;
}

/// Output dims: reduced axes become 1 (keepdims) or are removed.
Dims reduced_dims(std::span<const int64_t> x, const std::vector<bool>& mask, bool keepdims) {
  Dims y;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!mask[i]) y.push_back(x[i]);
    else if (keepdims) y.push_back(1);
  }
  return y;
}

// --- The reduction kernel --------------------------------------------------------------------

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

/// Accumulation of one reduction over elements of type T: in double for float32 (the sum
/// of many terms loses nothing to rounding before the final one), in int64 for integers
/// (Mean divides as integers, as onnxruntime does).
template <Reduce R, class T>
struct Reducer {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  static Acc init() {
    if constexpr (R == Reduce::kMax) {
      if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<double>::infinity();
      else return std::numeric_limits<T>::lowest();
    } else if constexpr (R == Reduce::kMin) {
      if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<double>::infinity();
      else return std::numeric_limits<T>::max();
    } else if constexpr (R == Reduce::kProd) {
      return 1;
    } else {
      return 0;
    }
  }
  /// `shift` is LogSumExp's per-output maximum (0 for the others).
  static Acc map(Acc x, Acc shift) {
    if constexpr (R == Reduce::kL1) return x < 0 ? sub(0, x) : x;
    else if constexpr (R == Reduce::kL2 || R == Reduce::kSumSquare) return mul(x, x);
    else if constexpr (R == Reduce::kLogSumExp) return std::exp(x - shift);
    else return x;
  }
  static Acc combine(Acc acc, Acc v) {
    if constexpr (R == Reduce::kMax) return std::max(acc, v);
    else if constexpr (R == Reduce::kMin) return std::min(acc, v);
    else if constexpr (R == Reduce::kProd) return mul(acc, v);
    else return add(acc, v);
  }
  // Integer sums and products wrap around (two's complement) rather than overflow.
  static Acc add(Acc a, Acc b) {
    if constexpr (std::is_floating_point_v<Acc>) return a + b;
    else return static_cast<Acc>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  }
  static Acc sub(Acc a, Acc b) {
    if constexpr (std::is_floating_point_v<Acc>) return a - b;
    else return static_cast<Acc>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  }
  static Acc mul(Acc a, Acc b) {
    if constexpr (std::is_floating_point_v<Acc>) return a * b;
    else return static_cast<Acc>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  }
  static T finish(Acc acc, size_t count, Acc shift) {
    if constexpr (R == Reduce::kMean) {
      if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(acc / static_cast<double>(count));
      } else {
        return count ? static_cast<T>(acc / static_cast<Acc>(count)) : T(0);
      }
    } else if constexpr (R == Reduce::kL2) {
      return static_cast<T>(std::sqrt(acc));
    } else if constexpr (R == Reduce::kLogSum) {
      return static_cast<T>(std::log(acc));
    } else if constexpr (R == Reduce::kLogSumExp) {
      if (!std::isfinite(shift)) return static_cast<T>(shift);  // all -inf, or an inf
      return static_cast<T>(shift + std::log(acc));
    } else {
      return static_cast<T>(acc);
    }
  }
};

/// L2, LogSum and LogSumExp are defined on float32 only here; the rest on integers too.
constexpr bool float_only(Reduce r) {
  return r == Reduce::kL2 || r == Reduce::kLogSum || r == Reduce::kLogSumExp;
}

/// Dims of x merged into runs that are all reduced or all kept (size-1 dims dropped), the
/// layout the kernel walks: input in memory order, one output offset per run.
struct ReduceRuns {
  Dims size;
  std::vector<bool> reduced;
  Dims out_stride;  // 0 for reduced runs
  size_t out_count = 1, count = 1;  // output elements, input elements per output
};

ReduceRuns reduce_runs(const Dims& x, const std::vector<bool>& mask) {
  ReduceRuns r;
  for (size_t i = 0; i < x.size(); ++i) {
    if (mask[i]) r.count *= static_cast<size_t>(x[i]);
    else r.out_count *= static_cast<size_t>(x[i]);
    if (x[i] == 1) continue;
    if (!r.size.empty() && r.reduced.back() == mask[i]) {
      r.size.back() *= x[i];
    } else {
      r.size.push_back(x[i]);
      r.reduced.push_back(mask[i]);
    }
  }
  if (r.size.empty()) {  // a single element
    r.size.push_back(1);
    r.reduced.push_back(false);
  }
  r.out_stride.assign(r.size.size(), 0);
  int64_t s = 1;
  for (size_t i = r.size.size(); i-- > 0;) {
    if (r.reduced[i]) continue;
    r.out_stride[i] = s;
    s *= r.size[i];
  }
  return r;
}

/// acc[o] = combine over the inputs x that reduce to o of map(x, shift[o]).
template <Reduce R, class T, class Acc>
void accumulate(const ReduceRuns& r, const T* x, const std::vector<Acc>& shift,
                std::vector<Acc>& acc) {
  using Red = Reducer<R, T>;
  const size_t last = r.size.size() - 1;
  const auto inner = static_cast<size_t>(r.size[last]);
  int64_t outer = 1;
  for (size_t i = 0; i < last; ++i) outer *= r.size[i];
  Dims idx(last, 0);
  const bool with_shift = !shift.empty();
  for (int64_t o = 0; o < outer; ++o) {
    size_t oo = 0;
    for (size_t i = 0; i < last; ++i) oo += static_cast<size_t>(idx[i] * r.out_stride[i]);
    const T* p = x + static_cast<size_t>(o) * inner;
    if (r.reduced[last]) {
      const Acc sh = with_shift ? shift[oo] : Acc(0);
      Acc a = acc[oo];
      for (size_t j = 0; j < inner; ++j) a = Red::combine(a, Red::map(Acc(p[j]), sh));
      acc[oo] = a;
    } else {
      Acc* ap = acc.data() + oo;
      for (size_t j = 0; j < inner; ++j) {
        ap[j] = Red::combine(ap[j], Red::map(Acc(p[j]), with_shift ? shift[oo + j] : Acc(0)));
      }
    }
    for (size_t i = last; i-- > 0;) {
      if (++idx[i] < r.size[i]) break;
      idx[i] = 0;
    }
  }
}

/// y (out_count elements) = the reduction R of x over the masked axes.
template <Reduce R, class T>
void reduce_kernel(const T* x, const Dims& shape, const std::vector<bool>& mask, T* y) {
  using Red = Reducer<R, T>;
  using Acc = typename Red::Acc;
  const ReduceRuns r = reduce_runs(shape, mask);
  if (r.out_count == 0) return;
  std::vector<Acc> shift;
  if constexpr (R == Reduce::kLogSumExp) {
    shift.assign(r.out_count, Reducer<Reduce::kMax, T>::init());
    if (r.count > 0) accumulate<Reduce::kMax, T, Acc>(r, x, {}, shift);
  }
  std::vector<Acc> acc(r.out_count, Red::init());
  if (r.count > 0) accumulate<R, T, Acc>(r, x, shift, acc);
  for (size_t o = 0; o < r.out_count; ++o) {
    y[o] = Red::finish(acc[o], r.count, shift.empty() ? Acc(0) : shift[o]);
  }
}

/// The reduction of a tensor to a new one of the same element type.
template <Reduce R>
Result<Tensor> reduce_tensor(const Tensor& x, const std::vector<bool>& mask, bool keepdims) {
  auto y = new_tensor(x.dtype(), reduced_dims(x.shape(), mask, keepdims));
  if (!y) return y.status();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T> || !float_only(R)) {
      reduce_kernel<R, T>(x.data<T>().data(), x.shape(), mask, y->template data<T>().data());
    }
  });
  return y;
}

// --- ReduceX operators -----------------------------------------------------------------------

template <Reduce R>
Result<std::unique_ptr<Op>> make_reduce(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  // ReduceSum-13 takes axes as an optional input; every other reduction up to opset 17 as an
  // attribute.
  const bool axes_input = R == Reduce::kSum && ctx.version() >= 13;
  if (axes_input) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"keepdims", "noop_with_empty_axes"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 2, 1, 1));
    if (ctx.has_input(1)) QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kInt64}));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"axes", "keepdims"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  }
  if (float_only(R)) {
    QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  } else if (R == Reduce::kMax || R == Reduce::kMin) {
    QL_RETURN_IF_ERROR(ctx.check_dtype(
        0, {DType::kFloat32, DType::kUInt8, DType::kInt8, DType::kInt32, DType::kInt64}));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32, DType::kInt32, DType::kInt64}));
  }
  auto keepdims_attr = ctx.attr_int("keepdims", 1);
  auto noop_attr = ctx.attr_int("noop_with_empty_axes", 0);
  auto axes_attr = ctx.attr_ints("axes", {});
  if (!keepdims_attr) return keepdims_attr.status();
  if (!noop_attr) return noop_attr.status();
  if (!axes_attr) return axes_attr.status();
  const bool keepdims = *keepdims_attr != 0, noop = *noop_attr != 0;
  const std::vector<int64_t> attr_axes = *axes_attr;

  const ValueInfo& xin = ctx.input(0);
  out[0].dtype = xin.dtype;
  const bool axes_known = !axes_input || !ctx.has_input(1) || ctx.constant(1);
  if (xin.rank_known && axes_known) {
    std::vector<int64_t> axes = attr_axes;
    if (axes_input && ctx.has_input(1)) {
      const auto v = ctx.constant(1)->data<int64_t>();
      axes.assign(v.begin(), v.end());
    }
    auto mask = reduce_mask(axes, static_cast<int>(xin.dims.size()), noop);
    if (!mask) return mask.status();
    out[0].dims = reduced_dims(xin.dims, *mask, keepdims);
  } else if (xin.rank_known && keepdims) {
    out[0].dims.assign(xin.dims.size(), kUnknownDim);  // each axis is kept or becomes 1
  } else {
    out[0].rank_known = false;
  }
  return make_op([=](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    std::vector<int64_t> axes = attr_axes;
    if (axes_input && in.size() > 1 && in[1]) {
      if (in[1]->rank() > 1) {
        return shape_mismatch("axes " + shape_string(in[1]->shape()) + " must be 1-D");
      }
      const auto v = in[1]->data<int64_t>();
      axes.assign(v.begin(), v.end());
    }
    auto mask = reduce_mask(axes, x.rank(), noop);
    if (!mask) return mask.status();
    return set_output(reduce_tensor<R>(x, *mask, keepdims), y[0]);
  });
}

// --- ArgMax, ArgMin --------------------------------------------------------------------------

template <bool kMax>
Result<std::unique_ptr<Op>> make_arg(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  if (ctx.version() >= 12) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"axis", "keepdims", "select_last_index"}));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"axis", "keepdims"}));
  }
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(
      0, {DType::kFloat32, DType::kUInt8, DType::kInt8, DType::kInt32, DType::kInt64}));
  auto axis = ctx.attr_int("axis", 0);
  auto keepdims = ctx.attr_int("keepdims", 1);
  auto last = ctx.attr_int("select_last_index", 0);
  for (const Status* s : {&axis.status(), &keepdims.status(), &last.status()}) {
    if (!s->is_ok()) return *s;
  }
  const ValueInfo& xin = ctx.input(0);
  out[0].dtype = DType::kInt64;
  out[0].rank_known = xin.rank_known;
  if (xin.rank_known) {
    auto a = normalize_axis(*axis, static_cast<int>(xin.dims.size()), "axis");
    if (!a) return a.status();
    std::vector<bool> mask(xin.dims.size(), false);
    mask[static_cast<size_t>(*a)] = true;
    out[0].dims = reduced_dims(xin.dims, mask, *keepdims != 0);
  }
  const int64_t axis_attr = *axis;
  const bool keep = *keepdims != 0, select_last = *last != 0;
  return make_op([=](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    auto a = normalize_axis(axis_attr, x.rank(), "axis");
    if (!a) return a.status();
    const Dims& s = x.shape();
    const auto ax = static_cast<size_t>(*a);
    if (s[ax] == 0) {
      return invalid_argument("axis " + std::to_string(axis_attr) + " of " + shape_string(s) +
                              " is empty: it has no " + (kMax ? "maximum" : "minimum"));
    }
    std::vector<bool> mask(s.size(), false);
    mask[ax] = true;
    auto r = new_tensor(DType::kInt64, reduced_dims(s, mask, keep));
    if (!r) return r.status();
    size_t outer = 1, inner = 1;
    for (size_t i = 0; i < ax; ++i) outer *= static_cast<size_t>(s[i]);
    for (size_t i = ax + 1; i < s.size(); ++i) inner *= static_cast<size_t>(s[i]);
    const auto len = static_cast<size_t>(s[ax]);
    int64_t* dst = r->data<int64_t>().data();
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>().data();
      for (size_t o = 0; o < outer; ++o) {
        for (size_t j = 0; j < inner; ++j) {
          const T* p = src + o * len * inner + j;
          size_t best = 0;
          for (size_t i = 1; i < len; ++i) {
            const T v = p[i * inner], b = p[best * inner];
            const bool better = kMax ? (select_last ? v >= b : v > b)
                                     : (select_last ? v <= b : v < b);
            if (better) best = i;
          }
          dst[o * inner + j] = static_cast<int64_t>(best);
        }
      }
    });
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- GlobalMaxPool ---------------------------------------------------------------------------

Result<std::unique_ptr<Op>> make_global_max_pool(const NodeContext& ctx,
                                                 std::vector<ValueInfo>& out) {
  return make_global_pool(ctx, out, [](const Tensor& x) {
    std::vector<bool> spatial(x.shape().size(), true);
    spatial[0] = spatial[1] = false;
    return reduce_tensor<Reduce::kMax>(x, spatial, true);
  });
}

// --- LRN -------------------------------------------------------------------------------------

Result<std::unique_ptr<Op>> make_lrn(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"alpha", "beta", "bias", "size"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  if (!ctx.has_attribute("size")) return invalid_argument("attribute 'size' is required");
  auto size = ctx.attr_int("size", 1);
  auto alpha = ctx.attr_float("alpha", 1e-4f);
  auto beta = ctx.attr_float("beta", 0.75f);
  auto bias = ctx.attr_float("bias", 1.0f);
  for (const Status* s : {&size.status(), &alpha.status(), &beta.status(), &bias.status()}) {
    if (!s->is_ok()) return *s;
  }
  if (*size < 1) return invalid_argument("size " + std::to_string(*size) + " must be >= 1");
  const ValueInfo& xin = ctx.input(0);
  if (xin.rank_known && xin.dims.size() < 2) {
    return shape_mismatch("input " + dims_string(xin.dims) + " needs rank >= 2 (N, C, ...)");
  }
  out[0] = xin;
  out[0].constant = false;
  // The window of channel c is [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)].
  const int64_t before = (*size - 1) / 2, after = *size - 1 - before;
  const double scale = static_cast<double>(*alpha) / static_cast<double>(*size);
  const double b = *bias, be = *beta;
  return make_op([=](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    if (x.rank() < 2) {
      return shape_mismatch("input " + shape_string(x.shape()) + " needs rank >= 2");
    }
    auto r = new_tensor(DType::kFloat32, x.shape());
    if (!r) return r.status();
    const int64_t n = x.shape()[0], c = x.shape()[1];
    const size_t plane = n * c == 0 ? 0 : x.size() / static_cast<size_t>(n * c);
    const float* src = x.data<float>().data();
    float* dst = r->data<float>().data();
    std::vector<double> sq(plane);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t ch = 0; ch < c; ++ch) {
        std::fill(sq.begin(), sq.end(), 0.0);
        const int64_t lo = std::max<int64_t>(0, ch - before), hi = std::min(c - 1, ch + after);
        for (int64_t k = lo; k <= hi; ++k) {
          const float* p = src + static_cast<size_t>(i * c + k) * plane;
          for (size_t j = 0; j < plane; ++j) sq[j] += double(p[j]) * double(p[j]);
        }
        const size_t off = static_cast<size_t>(i * c + ch) * plane;
        for (size_t j = 0; j < plane; ++j) {
          dst[off + j] = static_cast<float>(src[off + j] / std::pow(b + scale * sq[j], be));
        }
      }
    }
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- InstanceNormalization, LayerNormalization -----------------------------------------------

/// Mean and 1 / sqrt(variance + epsilon) of n values (two passes in double).
std::pair<double, double> moments(const float* p, size_t n, double epsilon) {
  double sum = 0.0;
  for (size_t j = 0; j < n; ++j) sum += p[j];
  const double mean = n ? sum / static_cast<double>(n) : 0.0;
  double var = 0.0;
  for (size_t j = 0; j < n; ++j) var += (p[j] - mean) * (p[j] - mean);
  var = n ? var / static_cast<double>(n) : 0.0;
  return {mean, 1.0 / std::sqrt(var + epsilon)};
}

Result<std::unique_ptr<Op>> make_instance_norm(const NodeContext& ctx,
                                               std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"epsilon"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(3, 3, 1, 1));
  for (size_t i = 0; i < 3; ++i) QL_RETURN_IF_ERROR(ctx.check_dtype(i, {DType::kFloat32}));
  auto eps = read_channel_norm(ctx, 2, 3, out);
  if (!eps) return eps.status();
  const double epsilon = *eps;
  return make_op([epsilon](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    if (x.rank() < 3) {
      return shape_mismatch("input " + shape_string(x.shape()) + " needs rank >= 3");
    }
    const int64_t n = x.shape()[0], c = x.shape()[1];
    for (size_t i = 1; i < 3; ++i) {
      if (in[i]->size() != static_cast<size_t>(c)) {
        return shape_mismatch(std::string(i == 1 ? "scale " : "B ") +
                              shape_string(in[i]->shape()) + " must hold one value per channel (" +
                              std::to_string(c) + ")");
      }
    }
    auto r = new_tensor(DType::kFloat32, x.shape());
    if (!r) return r.status();
    const size_t plane = n * c == 0 ? 0 : x.size() / static_cast<size_t>(n * c);
    const float* src = x.data<float>().data();
    float* dst = r->data<float>().data();
    const auto scale = in[1]->data<float>();
    const auto bias = in[2]->data<float>();
    for (int64_t i = 0; i < n * c; ++i) {
      const size_t off = static_cast<size_t>(i) * plane;
      const auto [mean, inv] = moments(src + off, plane, epsilon);
      const auto ch = static_cast<size_t>(i % c);
      const double a = scale[ch] * inv, b = bias[ch] - mean * a;
      for (size_t j = 0; j < plane; ++j) dst[off + j] = static_cast<float>(src[off + j] * a + b);
    }
    y[0] = std::move(*r);
    return Status::ok();
  });
}

/// LayerNormalization-17: X normalized over the axes [axis, rank), then * Scale + B (both
/// broadcast unidirectionally to X); optional outputs Mean and InvStdDev have X's dims with
/// the normalized ones set to 1.
Result<std::unique_ptr<Op>> make_layer_norm(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"axis", "epsilon", "stash_type"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 3, 1, 3));
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.has_input(i)) QL_RETURN_IF_ERROR(ctx.check_dtype(i, {DType::kFloat32}));
  }
  auto axis = ctx.attr_int("axis", -1);
  auto eps = ctx.attr_float("epsilon", 1e-5f);
  auto stash = ctx.attr_int("stash_type", 1);
  for (const Status* s : {&axis.status(), &eps.status(), &stash.status()}) {
    if (!s->is_ok()) return *s;
  }
  if (*stash != 1) {
    return unsupported("stash_type " + std::to_string(*stash) +
                       " is not supported (quantlab computes the statistics in float)");
  }
  const ValueInfo& xin = ctx.input(0);
  out[0] = xin;
  out[0].constant = false;
  for (size_t i = 1; i < out.size(); ++i) {
    out[i].dtype = DType::kFloat32;
    out[i].rank_known = xin.rank_known;
  }
  if (xin.rank_known) {
    auto a = normalize_axis(*axis, static_cast<int>(xin.dims.size()), "axis");
    if (!a) return a.status();
    for (size_t i = 1; i < 3; ++i) {
      if (ctx.has_input(i) && ctx.input(i).rank_known &&
          !(broadcast_dims(ctx.input(i).dims, xin.dims).is_ok() &&
            ctx.input(i).dims.size() <= xin.dims.size())) {
        return shape_mismatch(std::string(i == 1 ? "Scale " : "B ") +
                              dims_string(ctx.input(i).dims) + " does not broadcast to X " +
                              dims_string(xin.dims));
      }
    }
    Dims stat = xin.dims;
    for (size_t i = static_cast<size_t>(*a); i < stat.size(); ++i) stat[i] = 1;
    for (size_t i = 1; i < out.size(); ++i) out[i].dims = stat;
  }
  const int64_t axis_attr = *axis;
  const double epsilon = *eps;
  return make_op([=](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    auto a = normalize_axis(axis_attr, x.rank(), "axis");
    if (!a) return a.status();
    const Dims& s = x.shape();
    size_t rows = 1, len = 1;
    for (size_t i = 0; i < s.size(); ++i) (i < static_cast<size_t>(*a) ? rows : len) *= s[i];
    Dims stat_shape = s;
    for (size_t i = static_cast<size_t>(*a); i < s.size(); ++i) stat_shape[i] = 1;
    auto normalized = new_tensor(DType::kFloat32, s);
    auto mean_t = new_tensor(DType::kFloat32, stat_shape);
    auto inv_t = new_tensor(DType::kFloat32, stat_shape);
    for (const Status* st : {&normalized.status(), &mean_t.status(), &inv_t.status()}) {
      if (!st->is_ok()) return *st;
    }
    const float* src = x.data<float>().data();
    float* dst = normalized->data<float>().data();
    for (size_t r = 0; r < rows; ++r) {
      const auto [mean, inv] = moments(src + r * len, len, epsilon);
      mean_t->data<float>()[r] = static_cast<float>(mean);
      inv_t->data<float>()[r] = static_cast<float>(inv);
      for (size_t j = 0; j < len; ++j) {
        dst[r * len + j] = static_cast<float>((src[r * len + j] - mean) * inv);
      }
    }
    Tensor result = std::move(*normalized);
    for (size_t i = 1; i < 3 && i < in.size(); ++i) {
      if (!in[i]) continue;
      auto next = i == 1 ? broadcast_binary<float, float>(result, *in[i], DType::kFloat32,
                                                          [](float v, float g) { return v * g; })
                         : broadcast_binary<float, float>(result, *in[i], DType::kFloat32,
                                                          [](float v, float b) { return v + b; });
      if (!next) return next.status();
      if (next->shape() != s) {
        return shape_mismatch(std::string(i == 1 ? "Scale " : "B ") +
                              shape_string(in[i]->shape()) + " does not broadcast to X " +
                              shape_string(s));
      }
      result = std::move(*next);
    }
    y[0] = std::move(result);
    if (y.size() > 1) y[1] = std::move(*mean_t);
    if (y.size() > 2) y[2] = std::move(*inv_t);
    return Status::ok();
  });
}

}  // namespace

void register_reduce_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "ReduceSum", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kSum>});
  r.push_back({"", "ReduceMean", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kMean>});
  r.push_back({"", "ReduceMax", {1, 11, 12, 13}, {1, 11, 12, 13}, &make_reduce<Reduce::kMax>});
  r.push_back({"", "ReduceMin", {1, 11, 12, 13}, {1, 11, 12, 13}, &make_reduce<Reduce::kMin>});
  r.push_back({"", "ReduceProd", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kProd>});
  r.push_back({"", "ReduceL1", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kL1>});
  r.push_back({"", "ReduceL2", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kL2>});
  r.push_back(
      {"", "ReduceSumSquare", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kSumSquare>});
  r.push_back({"", "ReduceLogSum", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kLogSum>});
  r.push_back(
      {"", "ReduceLogSumExp", {1, 11, 13}, {1, 11, 13}, &make_reduce<Reduce::kLogSumExp>});
  r.push_back({"", "ArgMax", {1, 11, 12, 13}, {1, 11, 12, 13}, &make_arg<true>});
  r.push_back({"", "ArgMin", {1, 11, 12, 13}, {1, 11, 12, 13}, &make_arg<false>});
  r.push_back({"", "GlobalMaxPool", {1}, {1}, &make_global_max_pool});
  r.push_back({"", "LRN", {1, 13}, {1, 13}, &make_lrn});
  r.push_back({"", "InstanceNormalization", {1, 6}, {6}, &make_instance_norm});
  r.push_back({"", "LayerNormalization", {17}, {17}, &make_layer_norm});
}

}  // namespace quantlab::ops
