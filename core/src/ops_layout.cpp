// Layout operators that move elements without arithmetic: Split, Tile, Pad (constant, reflect,
// edge), DepthToSpace (DCR and CRD) and SpaceToDepth (issue 10). All work on any element type
// (bytes are copied); output dims are inferred at load when the parameters are constants, so
// the loader folds them when the data is constant too.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "ops_common.hpp"

namespace quantlab::ops {
namespace {

/// The elements of an int64 parameter tensor (split, repeats, pads, axes).
Result<std::vector<int64_t>> int64_param(const Tensor& t, const char* what) {
  if (t.dtype() != DType::kInt64) {
    return unsupported(std::string(what) + " must be int64, got " + dtype_name(t.dtype()));
  }
  if (t.rank() > 1) {
    return invalid_argument(std::string(what) + " must be 1-D, got " + shape_string(t.shape()));
  }
  const auto d = t.data<int64_t>();
  return std::vector<int64_t>(d.begin(), d.end());
}

/// Copies x's elements into y (shape y_shape, same dtype): y[o] = x[src(o)] where the source
/// index along each axis is map[axis][o_axis] (-1: write `fill`, an element of x's dtype).
Result<Tensor> gather_axes(const Tensor& x, const Dims& y_shape,
                           const std::vector<std::vector<int64_t>>& map, const void* fill) {
  auto y = new_tensor(x.dtype(), y_shape);
  if (!y) return y.status();
  if (y->size() == 0) return y;
  const size_t elem = dtype_size(x.dtype());
  const size_t rank = y_shape.size();
  const Dims xs = strides_of(x.shape());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y->raw());
  if (rank == 0) {
    std::memcpy(dst, src, elem);
    return y;
  }
  const auto inner = static_cast<size_t>(y_shape[rank - 1]);
  const std::vector<int64_t>& last = map[rank - 1];
  const size_t outer = y->size() / inner;
  Dims idx(rank - 1, 0);
  for (size_t o = 0; o < outer; ++o) {
    int64_t off = 0;
    bool filled = false;
    for (size_t a = 0; a + 1 < rank; ++a) {
      const int64_t s = map[a][static_cast<size_t>(idx[a])];
      if (s < 0) filled = true;
      off += s * xs[a];
    }
    std::byte* row = dst + o * inner * elem;
    for (size_t i = 0; i < inner; ++i) {
      const int64_t s = last[i];
      if (filled || s < 0) {
        std::memcpy(row + i * elem, fill, elem);
      } else {
        std::memcpy(row + i * elem, src + static_cast<size_t>(off + s) * elem, elem);
      }
    }
    for (size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < y_shape[a]) break;
      idx[a] = 0;
    }
  }
  return y;
}

// --- Split -------------------------------------------------------------------------------------

/// The part sizes of Split along an axis of size `dim` (known): `split` when given (it must
/// add up to dim), else `parts` equal parts (the last smaller when dim does not divide, as
/// Split-18 says; older opsets require equal parts).
Result<Dims> split_sizes(int64_t dim, const std::vector<int64_t>& split, bool has_split,
                         size_t parts, bool allow_uneven) {
  if (has_split) {
    if (split.size() != parts) {
      return invalid_argument("split has " + std::to_string(split.size()) + " sizes for " +
                              std::to_string(parts) + " outputs");
    }
    int64_t total = 0;
    for (int64_t s : split) {
      if (s < 0) return invalid_argument("split " + ints_string(split) + " has a negative size");
      total += s;
    }
    if (total != dim) {
      return shape_mismatch("split " + ints_string(split) + " adds up to " +
                            std::to_string(total) + ", the axis has " + std::to_string(dim));
    }
    return Dims(split);
  }
  const auto n = static_cast<int64_t>(parts);
  if (dim % n != 0 && !allow_uneven) {
    return shape_mismatch("an axis of " + std::to_string(dim) + " does not split into " +
                          std::to_string(n) + " equal parts");
  }
  const int64_t each = (dim + n - 1) / n;
  Dims sizes;
  for (int64_t left = dim, i = 0; i < n; ++i) {
    sizes.push_back(std::min(each, left));
    left -= sizes.back();
  }
  return sizes;
}

Result<std::unique_ptr<Op>> make_split(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  const int64_t v = ctx.version();
  if (v < 13) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"axis", "split"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, SIZE_MAX));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes(v >= 18 ? std::initializer_list<const char*>{"axis", "num_outputs"}
                                                    : std::initializer_list<const char*>{"axis"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 2, 1, SIZE_MAX));
  }
  auto axis_attr = ctx.attr_int("axis", 0);
  if (!axis_attr) return axis_attr.status();
  auto split_attr = ctx.attr_ints("split", {});
  if (!split_attr) return split_attr.status();
  const bool split_from_input = v >= 13 && ctx.has_input(1);
  bool has_split = v < 13 && ctx.has_attribute("split");
  std::vector<int64_t> split = *split_attr;
  bool split_known = true;
  if (split_from_input) {
    QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kInt64}));
    if (const Tensor* c = ctx.constant(1)) {
      auto s = int64_param(*c, "split");
      if (!s) return s.status();
      split = std::move(*s);
      has_split = true;
    } else {
      split_known = false;
    }
  }
  const size_t parts = ctx.num_outputs();
  const ValueInfo& xi = ctx.input(0);
  for (size_t i = 0; i < parts; ++i) {
    out[i].dtype = xi.dtype;
    out[i].rank_known = xi.rank_known;
    out[i].dims = xi.dims;
  }
  int axis = 0;
  if (xi.rank_known) {
    auto a = normalize_axis(*axis_attr, static_cast<int>(xi.dims.size()), "axis");
    if (!a) return a.status();
    axis = *a;
    const int64_t d = xi.dims[static_cast<size_t>(axis)];
    if (split_known && known(d)) {
      auto sizes = split_sizes(d, split, has_split, parts, v >= 18);
      if (!sizes) return sizes.status();
      for (size_t i = 0; i < parts; ++i) out[i].dims[static_cast<size_t>(axis)] = (*sizes)[i];
    } else if (split_known && has_split) {
      for (size_t i = 0; i < parts; ++i) out[i].dims[static_cast<size_t>(axis)] = split[i];
    } else {
      for (size_t i = 0; i < parts; ++i) out[i].dims[static_cast<size_t>(axis)] = kUnknownDim;
    }
  }
  const int64_t axis0 = *axis_attr;
  const bool uneven = v >= 18;
  return make_op([axis0, split, has_split, split_from_input, uneven](
                     std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    auto a = normalize_axis(axis0, x.rank(), "axis");
    if (!a) return a.status();
    std::vector<int64_t> s = split;
    bool given = has_split;
    if (split_from_input && in.size() > 1 && in[1]) {
      auto p = int64_param(*in[1], "split");
      if (!p) return p.status();
      s = std::move(*p);
      given = true;
    }
    const auto ax = static_cast<size_t>(*a);
    auto sizes = split_sizes(x.shape()[ax], s, given, y.size(), uneven);
    if (!sizes) return sizes.status();
    const Shape& xs = x.shape();
    size_t outer = 1, inner = dtype_size(x.dtype());
    for (size_t i = 0; i < ax; ++i) outer *= static_cast<size_t>(xs[i]);
    for (size_t i = ax + 1; i < xs.size(); ++i) inner *= static_cast<size_t>(xs[i]);
    const auto* src = static_cast<const std::byte*>(x.raw());
    const size_t row = static_cast<size_t>(xs[ax]) * inner;
    size_t begin = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      Dims shape(xs.begin(), xs.end());
      shape[ax] = (*sizes)[i];
      auto t = new_tensor(x.dtype(), shape);
      if (!t) return t.status();
      const size_t part = static_cast<size_t>((*sizes)[i]) * inner;
      auto* dst = static_cast<std::byte*>(t->raw());
      if (part) {
        for (size_t o = 0; o < outer; ++o) std::memcpy(dst + o * part, src + o * row + begin, part);
      }
      begin += part;
      y[i] = std::move(*t);
    }
    return Status::ok();
  });
}

// --- Tile --------------------------------------------------------------------------------------

Result<Tensor> tile(const Tensor& x, const std::vector<int64_t>& repeats) {
  if (repeats.size() != x.shape().size()) {
    return invalid_argument("repeats " + ints_string(repeats) + " must have one value per axis of " +
                            shape_string(x.shape()));
  }
  Dims shape(x.shape().size());
  std::vector<std::vector<int64_t>> map(shape.size());
  for (size_t a = 0; a < shape.size(); ++a) {
    if (repeats[a] < 0) return invalid_argument("repeats " + ints_string(repeats) + " has a negative value");
    shape[a] = x.shape()[a] * repeats[a];
    if (shape[a] < 0 || (repeats[a] != 0 && shape[a] / repeats[a] != x.shape()[a])) {
      return too_large("Tile to " + dims_string(shape) + " overflows");
    }
  }
  auto n = checked_elements(shape);
  if (!n) return n.status();
  for (size_t a = 0; a < shape.size(); ++a) {
    map[a].resize(static_cast<size_t>(shape[a]));
    for (int64_t i = 0; i < shape[a]; ++i) map[a][static_cast<size_t>(i)] = i % x.shape()[a];
  }
  return gather_axes(x, shape, map, nullptr);
}

Result<std::unique_ptr<Op>> make_tile(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kInt64}));
  const ValueInfo& x = ctx.input(0);
  out[0].dtype = x.dtype;
  out[0].rank_known = x.rank_known;
  out[0].dims.assign(x.dims.size(), kUnknownDim);
  if (const Tensor* r = ctx.constant(1); r && x.rank_known) {
    auto reps = int64_param(*r, "repeats");
    if (!reps) return reps.status();
    if (reps->size() != x.dims.size()) {
      return invalid_argument("repeats " + ints_string(*reps) + " must have one value per axis of " +
                              dims_string(x.dims));
    }
    for (size_t a = 0; a < x.dims.size(); ++a) {
      const int64_t d = x.dims[a], k = (*reps)[a];
      out[0].dims[a] = k == 1 ? d : known(d) ? d * k : k == 0 ? 0 : kUnknownDim;
    }
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto reps = int64_param(*in[1], "repeats");
    if (!reps) return reps.status();
    return set_output(tile(*in[0], *reps), y[0]);
  });
}

// --- Pad ---------------------------------------------------------------------------------------

enum class PadMode { kConstant, kReflect, kEdge };

/// Source index along an axis of size n for output index o with `begin` padding: -1 for a
/// constant fill; reflect mirrors without repeating the edge (numpy 'reflect').
int64_t pad_source(int64_t o, int64_t begin, int64_t n, PadMode mode) {
  int64_t i = o - begin;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant: return -1;
    case PadMode::kEdge: return std::clamp(i, int64_t{0}, n - 1);
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      i %= period;
      if (i < 0) i += period;
      return i < n ? i : period - i;
    }
  }
  return -1;
}

struct PadSpec {
  PadMode mode = PadMode::kConstant;
  std::vector<int64_t> pads;  ///< 2 rank values (all begins, then all ends) after axes
};

/// Pad-18's axes: spreads pads given for `axes` over a rank-`rank` tensor.
Result<std::vector<int64_t>> full_pads(const std::vector<int64_t>& pads,
                                       const std::vector<int64_t>* axes, int rank) {
  if (!axes) {
    if (pads.size() != 2 * static_cast<size_t>(rank)) {
      return invalid_argument("pads " + ints_string(pads) + " must hold 2 x rank = " +
                              std::to_string(2 * rank) + " values");
    }
    return pads;
  }
  if (pads.size() != 2 * axes->size()) {
    return invalid_argument("pads " + ints_string(pads) + " must hold 2 values per axis of " +
                            ints_string(*axes));
  }
  std::vector<int64_t> full(2 * static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < axes->size(); ++i) {
    auto a = normalize_axis((*axes)[i], rank, "axis");
    if (!a) return a.status();
    full[static_cast<size_t>(*a)] = pads[i];
    full[static_cast<size_t>(*a + rank)] = pads[i + axes->size()];
  }
  return full;
}

Result<Tensor> pad(const Tensor& x, const PadSpec& s, const Tensor* value) {
  const size_t rank = x.shape().size();
  Dims shape(rank);
  std::vector<std::vector<int64_t>> map(rank);
  for (size_t a = 0; a < rank; ++a) {
    const int64_t n = x.shape()[a], b = s.pads[a], e = s.pads[a + rank];
    shape[a] = n + b + e;
    if (shape[a] < 0) {
      return invalid_argument("pads " + ints_string(s.pads) + " remove more than axis " +
                              std::to_string(a) + " holds");
    }
    if (s.mode != PadMode::kConstant && n == 0 && shape[a] > 0) {
      return invalid_argument("cannot reflect or edge-pad an empty axis");
    }
  }
  auto cnt = checked_elements(shape);
  if (!cnt) return cnt.status();
  for (size_t a = 0; a < rank; ++a) {
    map[a].resize(static_cast<size_t>(shape[a]));
    for (int64_t o = 0; o < shape[a]; ++o) {
      map[a][static_cast<size_t>(o)] = pad_source(o, s.pads[a], x.shape()[a], s.mode);
    }
  }
  std::byte fill[8] = {};
  if (value) {
    if (value->dtype() != x.dtype()) {
      return unsupported(std::string("constant_value is ") + dtype_name(value->dtype()) +
                         ", the data " + dtype_name(x.dtype()));
    }
    if (value->size() > 1) {
      return invalid_argument("constant_value must be a scalar, got " + shape_string(value->shape()));
    }
    if (value->size() == 1) std::memcpy(fill, value->raw(), dtype_size(x.dtype()));
  }
  return gather_axes(x, shape, map, fill);
}

Result<std::unique_ptr<Op>> make_pad(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  const int64_t v = ctx.version();
  if (v < 11) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"mode", "pads", "value"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"mode"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(2, v >= 18 ? 4 : 3, 1, 1));
    QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kInt64}));
    if (ctx.has_input(3)) QL_RETURN_IF_ERROR(ctx.check_dtype(3, {DType::kInt64, DType::kInt32}));
  }
  auto mode_name = ctx.attr_string("mode", "constant");
  if (!mode_name) return mode_name.status();
  PadMode mode = PadMode::kConstant;
  if (*mode_name == "reflect") {
    mode = PadMode::kReflect;
  } else if (*mode_name == "edge") {
    mode = PadMode::kEdge;
  } else if (*mode_name != "constant") {
    return unsupported("Pad mode '" + *mode_name + "' (quantlab pads constant, reflect and edge)");
  }
  const ValueInfo& xi = ctx.input(0);
  if (xi.dtype != DType::kFloat32 && v < 11) {
    return unsupported("Pad-2 takes float32 data");
  }
  Tensor attr_value;
  std::vector<int64_t> attr_pads;
  if (v < 11) {
    auto p = ctx.attr_ints("pads", {});
    if (!p) return p.status();
    if (!ctx.has_attribute("pads")) return invalid_argument("the pads attribute is required");
    attr_pads = *p;
    auto val = ctx.attr_float("value", 0.0f);
    if (!val) return val.status();
    attr_value = Tensor::from<float>({}, {*val});
  } else if (ctx.has_input(2) && ctx.input(2).dtype != xi.dtype) {
    return unsupported(std::string("constant_value is ") + dtype_name(ctx.input(2).dtype) +
                       ", the data " + dtype_name(xi.dtype));
  }
  out[0].dtype = xi.dtype;
  out[0].rank_known = xi.rank_known;
  out[0].dims.assign(xi.dims.size(), kUnknownDim);
  const Tensor* pads_c = v < 11 ? nullptr : ctx.constant(1);
  const Tensor* axes_c = ctx.has_input(3) ? ctx.constant(3) : nullptr;
  if (xi.rank_known && (v < 11 || (pads_c && (!ctx.has_input(3) || axes_c)))) {
    std::vector<int64_t> p = attr_pads;
    if (pads_c) {
      auto pp = int64_param(*pads_c, "pads");
      if (!pp) return pp.status();
      p = std::move(*pp);
    }
    std::vector<int64_t> axes;
    if (axes_c) {
      for (int32_t a : int_values(*axes_c)) axes.push_back(a);
    }
    const auto rank = static_cast<int>(xi.dims.size());
    auto full = full_pads(p, axes_c ? &axes : nullptr, rank);
    if (!full) return full.status();
    for (size_t a = 0; a < xi.dims.size(); ++a) {
      const int64_t b = (*full)[a], e = (*full)[a + xi.dims.size()];
      out[0].dims[a] = b == 0 && e == 0 ? xi.dims[a] : known(xi.dims[a]) ? xi.dims[a] + b + e : kUnknownDim;
      if (known(out[0].dims[a]) && out[0].dims[a] < 0) {
        return invalid_argument("pads " + ints_string(p) + " remove more than axis " +
                                std::to_string(a) + " holds");
      }
    }
  }
  return make_op([v, mode, attr_pads, attr_value](std::span<const Tensor* const> in,
                                                  std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    PadSpec s;
    s.mode = mode;
    const Tensor* value = v < 11 ? &attr_value : (in.size() > 2 ? in[2] : nullptr);
    std::vector<int64_t> p = attr_pads;
    std::vector<int64_t> axes;
    const bool has_axes = in.size() > 3 && in[3];
    if (v >= 11) {
      auto pp = int64_param(*in[1], "pads");
      if (!pp) return pp.status();
      p = std::move(*pp);
      if (has_axes) {
        for (int32_t a : int_values(*in[3])) axes.push_back(a);
      }
    }
    auto full = full_pads(p, has_axes ? &axes : nullptr, x.rank());
    if (!full) return full.status();
    s.pads = std::move(*full);
    return set_output(pad(x, s, value), y[0]);
  });
}

// --- DepthToSpace, SpaceToDepth ----------------------------------------------------------------

/// DepthToSpace (kDcr / kCrd) and SpaceToDepth on NCHW with block size b, any element type.
enum class Rearrange { kDcr, kCrd, kSpaceToDepth };

Result<Dims> rearranged_dims(const Dims& x, int64_t b, Rearrange r) {
  if (x.size() != 4) return shape_mismatch("input " + dims_string(x) + " must be 4-D (NCHW)");
  Dims y = x;
  if (r == Rearrange::kSpaceToDepth) {
    for (size_t a : {size_t{2}, size_t{3}}) {
      if (known(x[a]) && x[a] % b != 0) {
        return shape_mismatch("input " + dims_string(x) + ": H and W must be multiples of blocksize " +
                              std::to_string(b));
      }
      y[a] = known(x[a]) ? x[a] / b : kUnknownDim;
    }
    y[1] = known(x[1]) ? x[1] * b * b : kUnknownDim;
  } else {
    if (known(x[1]) && x[1] % (b * b) != 0) {
      return shape_mismatch("input " + dims_string(x) + ": C must be a multiple of blocksize^2 = " +
                            std::to_string(b * b));
    }
    y[1] = known(x[1]) ? x[1] / (b * b) : kUnknownDim;
    y[2] = known(x[2]) ? x[2] * b : kUnknownDim;
    y[3] = known(x[3]) ? x[3] * b : kUnknownDim;
  }
  return y;
}

Result<Tensor> rearrange(const Tensor& x, int64_t b, Rearrange r) {
  auto dims = rearranged_dims(x.shape(), b, r);
  if (!dims) return dims.status();
  auto y = new_tensor(x.dtype(), *dims);
  if (!y) return y.status();
  const size_t elem = dtype_size(x.dtype());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y->raw());
  // Index the larger-spatial side (s) against the larger-channel side (d): d[n, cd, h, w] ==
  // s[n, c, h b + i, w b + j] with cd = (i b + j) C + c (DCR / SpaceToDepth) or c b^2 + i b + j
  // (CRD), C = the channels of the spatial side.
  const bool to_space = r != Rearrange::kSpaceToDepth;
  const Dims& sd = to_space ? *dims : Dims(x.shape());
  const Dims& dd = to_space ? Dims(x.shape()) : *dims;
  const int64_t N = sd[0], C = sd[1], H = dd[2], W = dd[3];
  const int64_t SH = sd[2], SW = sd[3], CD = dd[1];
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t i = 0; i < b; ++i) {
        for (int64_t j = 0; j < b; ++j) {
          const int64_t cd = r == Rearrange::kCrd ? c * b * b + i * b + j : (i * b + j) * C + c;
          for (int64_t h = 0; h < H; ++h) {
            for (int64_t w = 0; w < W; ++w) {
              const auto di = static_cast<size_t>(((n * CD + cd) * H + h) * W + w);
              const auto si = static_cast<size_t>(((n * C + c) * SH + h * b + i) * SW + w * b + j);
              if (to_space) {
                std::memcpy(dst + si * elem, src + di * elem, elem);
              } else {
                std::memcpy(dst + di * elem, src + si * elem, elem);
              }
            }
          }
        }
      }
    }
  }
  return y;
}

template <bool kToSpace>
Result<std::unique_ptr<Op>> make_rearrange(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  if (kToSpace && ctx.version() >= 11) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"blocksize", "mode"}));
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"blocksize"}));
  }
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  if (!ctx.has_attribute("blocksize")) return invalid_argument("the blocksize attribute is required");
  auto b = ctx.attr_int("blocksize", 1);
  if (!b) return b.status();
  if (*b < 1) return invalid_argument("blocksize " + std::to_string(*b) + " must be >= 1");
  Rearrange r = Rearrange::kSpaceToDepth;
  if (kToSpace) {
    auto mode = ctx.attr_string("mode", "DCR");
    if (!mode) return mode.status();
    if (*mode != "DCR" && *mode != "CRD") {
      return invalid_argument("mode '" + *mode + "' must be DCR or CRD");
    }
    r = *mode == "CRD" ? Rearrange::kCrd : Rearrange::kDcr;
  }
  const ValueInfo& x = ctx.input(0);
  out[0].dtype = x.dtype;
  out[0].rank_known = x.rank_known;
  if (x.rank_known) {
    auto d = rearranged_dims(x.dims, *b, r);
    if (!d) return d.status();
    out[0].dims = std::move(*d);
  }
  const int64_t bs = *b;
  return make_op([bs, r](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    return set_output(rearrange(*in[0], bs, r), y[0]);
  });
}

}  // namespace

void register_layout_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "Split", {1, 2, 11, 13}, {2, 11, 13}, &make_split});
  r.push_back({"", "Tile", {1, 6, 13}, {6, 13}, &make_tile});
  r.push_back({"", "Pad", {1, 2, 11, 13}, {2, 11, 13}, &make_pad});
  r.push_back({"", "DepthToSpace", {1, 11, 13}, {1, 11, 13}, &make_rearrange<true>});
  r.push_back({"", "SpaceToDepth", {1, 13}, {1, 13}, &make_rearrange<false>});
}

}  // namespace quantlab::ops
