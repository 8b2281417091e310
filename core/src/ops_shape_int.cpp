// Shape-computing operators: Shape, Size, Gather, Unsqueeze, Squeeze, Slice, Range, Expand,
// ConstantOfShape. Exporters (torch.onnx, tf2onnx) build Reshape targets from these; each
// factory also computes its output's elements from shapes when it can (NodeContext::
// set_shape_value), so the loader folds static chains into constants and keeps the batch
// symbol through dynamic ones (issue 10).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops_broadcast.hpp"
#include "ops_common.hpp"

namespace quantlab::ops {
namespace {

constexpr std::initializer_list<DType> kIndexTypes = {DType::kInt32, DType::kInt64};

/// A load-time dim as a shape-value element (unknown sizes become kUnknownValue).
int64_t dim_value(int64_t d) { return d == kUnknownDim ? kUnknownValue : d; }
/// A shape-value element as a load-time dim (literal -1 and unknown become kUnknownDim).
int64_t value_dim(int64_t v) { return v >= 0 || (v <= kFirstSymbolDim && v != kUnknownValue) ? v : kUnknownDim; }

/// The integer elements of an index-typed tensor (int32 or int64).
std::vector<int64_t> index_values(const Tensor& t) {
  std::vector<int64_t> v(t.size());
  if (t.dtype() == DType::kInt64) {
    const auto d = t.data<int64_t>();
    std::copy(d.begin(), d.end(), v.begin());
  } else {
    const auto d = t.data<int32_t>();
    std::copy(d.begin(), d.end(), v.begin());
  }
  return v;
}

Status check_index_tensor(const Tensor* t, const char* what) {
  if (!t) return invalid_argument(std::string(what) + " is required");
  if (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32) {
    return unsupported(std::string(what) + " must be int32 or int64, got " + dtype_name(t->dtype()));
  }
  if (t->rank() > 1) {
    return invalid_argument(std::string(what) + " must be 1-D, got " + shape_string(t->shape()));
  }
  return Status::ok();
}

/// Axes normalized to [0, rank), every one distinct.
Result<std::vector<int>> normalize_axes(std::span<const int64_t> axes, int rank) {
  std::vector<int> out;
  for (int64_t a : axes) {
    auto n = normalize_axis(a, rank, "axis");
    if (!n) return n.status();
    if (std::find(out.begin(), out.end(), *n) != out.end()) {
      return invalid_argument("axes " + ints_string(axes) + " repeat axis " + std::to_string(a));
    }
    out.push_back(*n);
  }
  return out;
}

/// Same bytes, new shape.
Status reshape_to(const Tensor& x, Dims shape, Tensor& y) {
  y = x;
  return y.reshape(std::move(shape));
}

// --- Shape, Size -------------------------------------------------------------------------------

/// Shape-15's [start, end) of a rank-`rank` shape, clamped as the spec says.
std::pair<size_t, size_t> shape_range(int64_t start, int64_t end, size_t rank) {
  const auto r = static_cast<int64_t>(rank);
  auto clamp = [r](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t{0}, r); };
  const int64_t s = clamp(start), e = std::max(clamp(end), clamp(start));
  return {static_cast<size_t>(s), static_cast<size_t>(e)};
}

Result<std::unique_ptr<Op>> make_shape(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  if (ctx.version() >= 15) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"start", "end"}));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  }
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  auto start = ctx.attr_int("start", 0);
  if (!start) return start.status();
  auto end = ctx.attr_int("end", std::numeric_limits<int64_t>::max());
  if (!end) return end.status();
  const ValueInfo& x = ctx.input(0);
  out[0].dtype = DType::kInt64;
  out[0].rank_known = true;
  if (x.rank_known) {
    const auto [s, e] = shape_range(*start, *end, x.dims.size());
    Dims values;
    for (size_t i = s; i < e; ++i) values.push_back(dim_value(x.dims[i]));
    out[0].dims = {static_cast<int64_t>(values.size())};
    ctx.set_shape_value(0, std::move(values));
  } else {
    out[0].dims = {kUnknownDim};
  }
  const int64_t s0 = *start, e0 = *end;
  return make_op([s0, e0](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Shape& shape = in[0]->shape();
    const auto [s, e] = shape_range(s0, e0, shape.size());
    y[0] = Tensor::from<int64_t>({static_cast<int64_t>(e - s)},
                                 std::vector<int64_t>(shape.begin() + static_cast<ptrdiff_t>(s),
                                                      shape.begin() + static_cast<ptrdiff_t>(e)));
    return Status::ok();
  });
}

Result<std::unique_ptr<Op>> make_size(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  out[0].dtype = DType::kInt64;
  out[0].rank_known = true;
  out[0].dims = {};
  if (ctx.input(0).rank_known) ctx.set_shape_value(0, {dim_value(dims_product(ctx.input(0).dims))});
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    y[0] = Tensor::from<int64_t>({}, {static_cast<int64_t>(in[0]->size())});
    return Status::ok();
  });
}

// --- Gather ------------------------------------------------------------------------------------

Result<Tensor> gather(const Tensor& x, const Tensor& indices, int64_t axis_attr) {
  auto axis = normalize_axis(axis_attr, x.rank(), "axis");
  if (!axis) return axis.status();
  const Shape& xs = x.shape();
  const int64_t n = xs[static_cast<size_t>(*axis)];
  Dims shape(xs.begin(), xs.begin() + *axis);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), xs.begin() + *axis + 1, xs.end());
  std::vector<int64_t> idx = index_values(indices);
  for (int64_t& i : idx) {
    if (i < -n || i >= n) {
      return out_of_range("index " + std::to_string(i) + " is out of range for axis " +
                          std::to_string(*axis) + " of size " + std::to_string(n));
    }
    if (i < 0) i += n;
  }
  auto y = new_tensor(x.dtype(), shape);
  if (!y) return y.status();
  if (y->size() == 0) return y;
  size_t outer = 1, inner = dtype_size(x.dtype());
  for (int i = 0; i < *axis; ++i) outer *= static_cast<size_t>(xs[static_cast<size_t>(i)]);
  for (size_t i = static_cast<size_t>(*axis) + 1; i < xs.size(); ++i) {
    inner *= static_cast<size_t>(xs[i]);
  }
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y->raw());
  for (size_t o = 0; o < outer; ++o) {
    for (int64_t i : idx) {
      std::memcpy(dst, src + (o * static_cast<size_t>(n) + static_cast<size_t>(i)) * inner, inner);
      dst += inner;
    }
  }
  return y;
}

Result<std::unique_ptr<Op>> make_gather(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"axis"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, kIndexTypes));
  auto axis = ctx.attr_int("axis", 0);
  if (!axis) return axis.status();
  const ValueInfo& x = ctx.input(0);
  const ValueInfo& ind = ctx.input(1);
  out[0].dtype = x.dtype;
  out[0].rank_known = x.rank_known && ind.rank_known;
  if (out[0].rank_known) {
    auto a = normalize_axis(*axis, static_cast<int>(x.dims.size()), "axis");
    if (!a) return a.status();
    Dims d(x.dims.begin(), x.dims.begin() + *a);
    d.insert(d.end(), ind.dims.begin(), ind.dims.end());
    d.insert(d.end(), x.dims.begin() + *a + 1, x.dims.end());
    out[0].dims = std::move(d);
    // Gather(Shape(x), i): elements of a shape.
    const Dims* sv = ctx.shape_value(0);
    const Tensor* ic = ctx.constant(1);
    if (sv && ic && x.dims.size() == 1 && ic->rank() <= 1) {
      const auto n = static_cast<int64_t>(sv->size());
      Dims values;
      for (int64_t i : index_values(*ic)) {
        if (i < -n || i >= n) {
          return out_of_range("index " + std::to_string(i) + " is out of range for axis 0 of size " +
                              std::to_string(n));
        }
        values.push_back((*sv)[static_cast<size_t>(i < 0 ? i + n : i)]);
      }
      ctx.set_shape_value(0, std::move(values));
    }
  }
  const int64_t a = *axis;
  return make_op([a](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    return set_output(gather(*in[0], *in[1], a), y[0]);
  });
}

// --- Unsqueeze, Squeeze ------------------------------------------------------------------------

/// The axes of Unsqueeze / Squeeze: the attribute before opset 13, input 1 from 13 on. Sets
/// `known` false when they are an input not known at load time.
Result<std::vector<int64_t>> axes_of(const NodeContext& ctx, bool& present, bool& known_now) {
  present = true;
  known_now = true;
  if (ctx.version() < 13) {
    present = ctx.has_attribute("axes");
    return ctx.attr_ints("axes", {});
  }
  if (!ctx.has_input(1)) {
    present = false;
    return std::vector<int64_t>{};
  }
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kInt64}));
  if (const Tensor* c = ctx.constant(1)) {
    QL_RETURN_IF_ERROR(check_index_tensor(c, "axes"));
    return index_values(*c);
  }
  known_now = false;
  return std::vector<int64_t>{};
}

std::vector<int64_t> run_axes(std::span<const Tensor* const> in, const std::vector<int64_t>& attr,
                              bool from_input) {
  if (!from_input || in.size() < 2 || !in[1]) return attr;
  return index_values(*in[1]);
}

Result<Dims> unsqueeze_dims(const Dims& x, std::span<const int64_t> axes) {
  const int rank = static_cast<int>(x.size() + axes.size());
  auto ax = normalize_axes(axes, rank);
  if (!ax) return ax.status();
  Dims out(static_cast<size_t>(rank), 1);
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int a : *ax) inserted[static_cast<size_t>(a)] = true;
  size_t j = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!inserted[i]) out[i] = x[j++];
  }
  return out;
}

/// Squeeze's output; with no axes every dim of size 1 goes (unknown dims make it fail:
/// the caller marks the rank unknown instead).
Result<Dims> squeeze_dims(const Dims& x, std::span<const int64_t> axes, bool has_axes) {
  Dims out;
  if (!has_axes) {
    for (int64_t d : x) {
      if (!known(d)) return invalid_argument("cannot squeeze an unknown dimension");
      if (d != 1) out.push_back(d);
    }
    return out;
  }
  auto ax = normalize_axes(axes, static_cast<int>(x.size()));
  if (!ax) return ax.status();
  for (size_t i = 0; i < x.size(); ++i) {
    const bool drop = std::find(ax->begin(), ax->end(), static_cast<int>(i)) != ax->end();
    if (!drop) {
      out.push_back(x[i]);
    } else if (known(x[i]) && x[i] != 1) {
      return invalid_argument("cannot squeeze axis " + std::to_string(i) + " of size " +
                              std::to_string(x[i]));
    }
  }
  return out;
}

template <bool kUnsqueeze>
Result<std::unique_ptr<Op>> make_squeeze(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  if (ctx.version() < 13) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"axes"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({}));
    QL_RETURN_IF_ERROR(ctx.check_arity(kUnsqueeze ? 2 : 1, 2, 1, 1));
  }
  bool present = false, known_now = false;
  auto axes = axes_of(ctx, present, known_now);
  if (!axes) return axes.status();
  if (kUnsqueeze && known_now && !present) return invalid_argument("axes are required");
  const ValueInfo& x = ctx.input(0);
  out[0].dtype = x.dtype;
  out[0].rank_known = false;
  if (x.rank_known && known_now) {
    auto d = kUnsqueeze ? unsqueeze_dims(x.dims, *axes) : squeeze_dims(x.dims, *axes, present);
    if (d) {
      out[0].rank_known = true;
      out[0].dims = std::move(*d);
    } else if (kUnsqueeze || present) {
      return d.status();
    }
  }
  // A scalar or vector of shape elements stays one when it changes rank between 0 and 1.
  if (const Dims* sv = ctx.shape_value(0); sv && out[0].rank_known && out[0].dims.size() <= 1) {
    ctx.set_shape_value(0, *sv);
  }
  const std::vector<int64_t> attr = *axes;
  const bool from_input = ctx.version() >= 13;
  return make_op([attr, from_input, present](std::span<const Tensor* const> in,
                                             std::span<Tensor> y) -> Status {
    const std::vector<int64_t> a = run_axes(in, attr, from_input);
    const bool has_axes = from_input ? in.size() > 1 && in[1] != nullptr : present;
    auto d = kUnsqueeze ? unsqueeze_dims(in[0]->shape(), a)
                        : squeeze_dims(in[0]->shape(), a, has_axes);
    if (!d) return d.status();
    return reshape_to(*in[0], std::move(*d), y[0]);
  });
}

// --- Slice -------------------------------------------------------------------------------------

/// One axis of a slice: first element, step and count.
struct SliceAxis {
  int64_t start = 0, step = 1, count = 0;
};

/// ONNX Slice-10+ clamping (negative values count from the end; INT64_MAX means "to the end").
SliceAxis slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step) {
  SliceAxis s;
  s.step = step;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp(start, int64_t{0}, dim);
    end = std::clamp(end, int64_t{0}, dim);
    s.count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp(start, int64_t{0}, dim - 1);
    end = std::clamp(end, int64_t{-1}, dim - 1);
    s.count = start > end ? (start - end - step - 1) / -step : 0;
  }
  s.start = start;
  return s;
}

struct SliceSpec {
  std::vector<int64_t> starts, ends, axes, steps;
};

/// Per-dimension slices of a rank-`rank` tensor; errors for bad axes and zero steps.
Result<std::vector<int>> slice_axes(const SliceSpec& s, int rank) {
  if (s.ends.size() != s.starts.size() || (!s.axes.empty() && s.axes.size() != s.starts.size()) ||
      (!s.steps.empty() && s.steps.size() != s.starts.size())) {
    return invalid_argument("starts, ends, axes and steps must have the same length");
  }
  std::vector<int64_t> axes = s.axes;
  if (axes.empty()) {
    for (size_t i = 0; i < s.starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  for (int64_t st : s.steps) {
    if (st == 0) return invalid_argument("a slice step is 0");
  }
  return normalize_axes(axes, rank);
}

Result<Dims> slice_dims(const Dims& x, const SliceSpec& s) {
  auto axes = slice_axes(s, static_cast<int>(x.size()));
  if (!axes) return axes.status();
  Dims out = x;
  for (size_t i = 0; i < axes->size(); ++i) {
    const auto a = static_cast<size_t>((*axes)[i]);
    const int64_t step = s.steps.empty() ? 1 : s.steps[i];
    if (known(x[a])) {
      out[a] = slice_axis(x[a], s.starts[i], s.ends[i], step).count;
    } else if (!(s.starts[i] == 0 && step == 1 && s.ends[i] >= std::numeric_limits<int32_t>::max())) {
      out[a] = kUnknownDim;  // (x[0:] keeps a symbolic dim)
    }
  }
  return out;
}

Result<Tensor> slice(const Tensor& x, const SliceSpec& s) {
  auto axes = slice_axes(s, x.rank());
  if (!axes) return axes.status();
  const size_t rank = x.shape().size();
  std::vector<SliceAxis> per(rank);
  for (size_t a = 0; a < rank; ++a) per[a] = {0, 1, x.shape()[a]};
  for (size_t i = 0; i < axes->size(); ++i) {
    const auto a = static_cast<size_t>((*axes)[i]);
    per[a] = slice_axis(x.shape()[a], s.starts[i], s.ends[i], s.steps.empty() ? 1 : s.steps[i]);
  }
  Dims shape(rank);
  for (size_t a = 0; a < rank; ++a) shape[a] = per[a].count;
  auto y = new_tensor(x.dtype(), shape);
  if (!y) return y.status();
  if (y->size() == 0) return y;
  const size_t elem = dtype_size(x.dtype());
  const Dims xs = strides_of(x.shape());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y->raw());
  Dims idx(rank, 0);
  for (size_t o = 0; o < y->size(); ++o) {
    int64_t off = 0;
    for (size_t a = 0; a < rank; ++a) off += (per[a].start + idx[a] * per[a].step) * xs[a];
    std::memcpy(dst + o * elem, src + static_cast<size_t>(off) * elem, elem);
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return y;
}

Result<SliceSpec> slice_spec(std::span<const Tensor* const> in) {
  SliceSpec s;
  std::vector<int64_t>* parts[] = {&s.starts, &s.ends, &s.axes, &s.steps};
  const char* names[] = {"starts", "ends", "axes", "steps"};
  for (size_t i = 1; i < 5; ++i) {
    if (i >= in.size() || !in[i]) continue;
    QL_RETURN_IF_ERROR(check_index_tensor(in[i], names[i - 1]));
    *parts[i - 1] = index_values(*in[i]);
  }
  return s;
}

Result<std::unique_ptr<Op>> make_slice(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(3, 5, 1, 1));
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i)) QL_RETURN_IF_ERROR(ctx.check_dtype(i, kIndexTypes));
  }
  const ValueInfo& x = ctx.input(0);
  out[0].dtype = x.dtype;
  out[0].rank_known = x.rank_known;
  out[0].dims = x.dims;
  std::vector<const Tensor*> params(ctx.num_inputs(), nullptr);
  bool params_known = true;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    params[i] = ctx.constant(i);
    params_known = params_known && params[i] != nullptr;
  }
  if (x.rank_known) {
    if (params_known) {
      auto spec = slice_spec(params);
      if (!spec) return spec.status();
      auto d = slice_dims(x.dims, *spec);
      if (!d) return d.status();
      out[0].dims = std::move(*d);
      // Slice(Shape(x), ...): elements of a shape.
      if (const Dims* sv = ctx.shape_value(0); sv && x.dims.size() == 1 && spec->starts.size() == 1) {
        const SliceAxis a = slice_axis(static_cast<int64_t>(sv->size()), spec->starts.at(0),
                                       spec->ends.at(0), spec->steps.empty() ? 1 : spec->steps[0]);
        Dims values;
        for (int64_t k = 0; k < a.count; ++k) values.push_back((*sv)[static_cast<size_t>(a.start + k * a.step)]);
        ctx.set_shape_value(0, std::move(values));
      }
    } else {
      out[0].dims.assign(x.dims.size(), kUnknownDim);
    }
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto spec = slice_spec(in);
    if (!spec) return spec.status();
    return set_output(slice(*in[0], *spec), y[0]);
  });
}

// --- Range -------------------------------------------------------------------------------------

template <class T>
Result<Tensor> range(T start, T limit, T delta) {
  if (delta == T(0)) return invalid_argument("Range's delta is 0");
  const double n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) /
                             static_cast<double>(delta));
  if (!(n <= static_cast<double>(kMaxTensorBytes))) {
    return too_large("Range would produce " + std::to_string(n) + " elements");
  }
  const auto count = static_cast<int64_t>(std::max(n, 0.0));
  auto y = new_tensor(dtype_of<T>(), {count});
  if (!y) return y.status();
  auto d = y->template data<T>();
  for (int64_t i = 0; i < count; ++i) {
    d[static_cast<size_t>(i)] = static_cast<T>(start + static_cast<T>(i) * delta);
  }
  return y;
}

Result<std::unique_ptr<Op>> make_range(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(3, 3, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32, DType::kInt32, DType::kInt64}));
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.input(i).dtype != ctx.input(0).dtype) {
      return unsupported("start, limit and delta must have one element type");
    }
  }
  out[0].dtype = ctx.input(0).dtype;
  out[0].rank_known = true;
  out[0].dims = {kUnknownDim};
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    for (size_t i = 0; i < 3; ++i) {
      if (in[i]->size() != 1) {
        return invalid_argument("start, limit and delta must be scalars, got " +
                                shape_string(in[i]->shape()));
      }
    }
    return set_output(visit_dtype(in[0]->dtype(), [&](auto tag) -> Result<Tensor> {
                        using T = decltype(tag);
                        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, int32_t> ||
                                      std::is_same_v<T, int64_t>) {
                          return range<T>(in[0]->data<T>()[0], in[1]->data<T>()[0],
                                          in[2]->data<T>()[0]);
                        } else {
                          return unsupported("Range on this element type");
                        }
                      }),
                      y[0]);
  });
}

// --- Expand, ConstantOfShape -------------------------------------------------------------------

/// Load-time dims from a shape input: its elements when known, else `n` unknown dims.
bool dims_from_shape_input(const NodeContext& ctx, size_t i, Dims& dims) {
  if (const Dims* sv = ctx.shape_value(i)) {
    dims.clear();
    for (int64_t v : *sv) dims.push_back(value_dim(v));
    return true;
  }
  const ValueInfo& s = ctx.input(i);
  if (s.rank_known && s.dims.size() == 1 && known(s.dims[0])) {
    dims.assign(static_cast<size_t>(s.dims[0]), kUnknownDim);
    return true;
  }
  return false;
}

Status check_shape_tensor(const Tensor& s) {
  if (s.rank() != 1) {
    return invalid_argument("the shape input must be 1-D, got " + shape_string(s.shape()));
  }
  for (int64_t d : s.data<int64_t>()) {
    if (d < 0) return invalid_argument("the shape " + ints_string(s.data<int64_t>()) + " has a negative size");
  }
  return Status::ok();
}

Result<std::unique_ptr<Op>> make_expand(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kInt64}));
  const ValueInfo& x = ctx.input(0);
  out[0].dtype = x.dtype;
  Dims target;
  out[0].rank_known = x.rank_known && dims_from_shape_input(ctx, 1, target);
  if (out[0].rank_known) {
    auto d = broadcast_dims(x.dims, target);
    if (!d) return d.status();
    out[0].dims = std::move(*d);
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    QL_RETURN_IF_ERROR(check_shape_tensor(*in[1]));
    const Tensor& data = *in[0];
    auto dims = broadcast_dims(data.shape(), in[1]->data<int64_t>());
    if (!dims) return dims.status();
    auto r = new_tensor(data.dtype(), *dims);
    if (!r) return r.status();
    const size_t elem = dtype_size(data.dtype());
    const auto* src = static_cast<const std::byte*>(data.raw());
    auto* dst = static_cast<std::byte*>(r->raw());
    for_each_broadcast_run(data.shape(), *dims, *dims,
                           [&](size_t xo, int xs, size_t, int, size_t yo, size_t n) {
                             if (xs) {
                               std::memcpy(dst + yo * elem, src + xo * elem, n * elem);
                             } else {
                               for (size_t i = 0; i < n; ++i) {
                                 std::memcpy(dst + (yo + i) * elem, src + xo * elem, elem);
                               }
                             }
                           });
    y[0] = std::move(*r);
    return Status::ok();
  });
}

Result<std::unique_ptr<Op>> make_constant_of_shape(const NodeContext& ctx,
                                                   std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"value"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kInt64}));
  Tensor value = Tensor::from<float>({1}, {0.0f});
  if (const OnnxAttribute* a = ctx.node().attribute("value")) {
    if (a->type != OnnxAttributeType::kTensor || a->t.size() != 1) {
      return invalid_argument("value must be a one-element TENSOR");
    }
    value = a->t;
  }
  out[0].dtype = value.dtype();
  out[0].rank_known = dims_from_shape_input(ctx, 0, out[0].dims);
  return make_op([value](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    QL_RETURN_IF_ERROR(check_shape_tensor(*in[0]));
    const auto s = in[0]->data<int64_t>();
    auto r = new_tensor(value.dtype(), Dims(s.begin(), s.end()));
    if (!r) return r.status();
    const size_t elem = dtype_size(value.dtype());
    auto* dst = static_cast<std::byte*>(r->raw());
    for (size_t i = 0; i < r->size(); ++i) std::memcpy(dst + i * elem, value.raw(), elem);
    y[0] = std::move(*r);
    return Status::ok();
  });
}

}  // namespace

void register_shape_int_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "Shape", {1, 13, 15}, {1, 13, 15}, &make_shape});
  r.push_back({"", "Size", {1, 13}, {1, 13}, &make_size});
  r.push_back({"", "Gather", {1, 11, 13}, {11, 13}, &make_gather});
  r.push_back({"", "Unsqueeze", {1, 11, 13}, {1, 11, 13}, &make_squeeze<true>});
  r.push_back({"", "Squeeze", {1, 11, 13}, {1, 11, 13}, &make_squeeze<false>});
  r.push_back({"", "Slice", {1, 10, 11, 13}, {10, 11, 13}, &make_slice});
  r.push_back({"", "Range", {11}, {11}, &make_range});
  r.push_back({"", "Expand", {8, 13}, {8, 13}, &make_expand});
  r.push_back({"", "ConstantOfShape", {9}, {9}, &make_constant_of_shape});
}

}  // namespace quantlab::ops
