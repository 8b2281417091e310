// Shape operators: Flatten, Reshape, Transpose, Concat, and Constant (the shape-computing
// ones, Shape to ConstantOfShape, are in ops_shape_int.cpp).
#include <algorithm>
#include <cstring>
#include <set>

#include "ops_common.hpp"

namespace quantlab::ops {
namespace {

/// Same bytes, new shape.
Result<Tensor> reshaped(const Tensor& x, Dims shape) {
  auto n = checked_elements(shape);  // (Tensor::reshape alone could wrap around on wasm32)
  if (!n) return n.status();
  if (static_cast<uint64_t>(*n) != x.size()) {
    return shape_mismatch("cannot reshape " + shape_string(x.shape()) + " (" +
                          std::to_string(x.size()) + " elements) to " + shape_string(shape));
  }
  Tensor y = x;
  QL_RETURN_IF_ERROR(y.reshape(std::move(shape)));
  return y;
}

// --- Flatten -----------------------------------------------------------------------------------

Result<Dims> flatten_dims(const Dims& x, int64_t axis_attr) {
  auto axis = normalize_axis(axis_attr, static_cast<int>(x.size()), "axis", true);
  if (!axis) return axis.status();
  const auto split = x.begin() + *axis;
  return Dims{dims_product(Dims(x.begin(), split)), dims_product(Dims(split, x.end()))};
}

Result<std::unique_ptr<Op>> make_flatten(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"axis"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  auto axis = ctx.attr_int("axis", 1);
  if (!axis) return axis.status();
  if (ctx.version() < 11 && *axis < 0) {
    return out_of_range("axis " + std::to_string(*axis) + " must be >= 0 before opset 11");
  }
  out[0].dtype = ctx.input(0).dtype;
  out[0].rank_known = true;
  if (ctx.input(0).rank_known) {
    auto d = flatten_dims(ctx.input(0).dims, *axis);
    if (!d) return d.status();
    out[0].dims = std::move(*d);
  } else {
    out[0].dims = {kUnknownDim, kUnknownDim};
  }
  const int64_t a = *axis;
  return make_op([a](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    auto d = flatten_dims(in[0]->shape(), a);
    if (!d) return d.status();
    return set_output(reshaped(*in[0], std::move(*d)), y[0]);
  });
}

// --- Reshape -----------------------------------------------------------------------------------

/// Known factor and symbols of a product of dims; `unknown` when a dim is kUnknownDim.
struct Factored {
  int64_t known = 1;
  std::multiset<int64_t> symbols;
  bool unknown = false;
};

Factored factor(std::span<const int64_t> dims) {
  Factored f;
  for (int64_t d : dims) {
    if (known(d)) {
      if (d != 0 && f.known > (int64_t{1} << 62) / d)
        f.unknown = true;  // absurd: give up
      else
        f.known *= d;
    } else if (d == kUnknownDim)
      f.unknown = true;
    else
      f.symbols.insert(d);
  }
  return f;
}

/// The output dims of Reshape(x, spec); works with symbolic input dims at load time.
/// At load time `symbolic` lets spec hold symbols (<= kFirstSymbolDim) taken from a shape
/// value, e.g. {N, -1} from Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]).
Result<Dims> reshape_dims(const Dims& x, std::span<const int64_t> spec, bool allow_zero,
                          bool symbolic = false) {
  Dims out(spec.begin(), spec.end());
  int infer = -1;
  bool has_zero = false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer != -1)
        return invalid_argument("the shape " + ints_string(spec) + " has more than one -1");
      infer = static_cast<int>(i);
    } else if (out[i] < -1) {
      if (symbolic && out[i] <= kFirstSymbolDim && out[i] != kUnknownValue) continue;
      return invalid_argument("the shape " + ints_string(spec) + " has a negative size");
    } else if (out[i] == 0) {
      has_zero = true;
      if (!allow_zero) {
        if (i >= x.size()) {
          return invalid_argument("the shape " + ints_string(spec) + " copies dimension " +
                                  std::to_string(i) + " (0) of a rank-" + std::to_string(x.size()) +
                                  " input");
        }
        out[i] = x[i];
      }
    }
  }
  if (allow_zero && has_zero && infer != -1) {
    return invalid_argument("with allowzero = 1 the shape cannot hold both 0 and -1");
  }
  const Factored in = factor(x);
  if (infer == -1) {
    if (!in.unknown && in.symbols.empty() && all_known(out)) {
      const Factored o = factor(out);
      if (o.known != in.known) {
        return shape_mismatch("cannot reshape " + dims_string(x) + " (" + std::to_string(in.known) +
                              " elements) to " + dims_string(out));
      }
    }
    return out;
  }
  Dims others = out;
  others.erase(others.begin() + infer);
  const Factored o = factor(others);
  int64_t inferred = kUnknownDim;
  bool symbols_fit =
      std::includes(in.symbols.begin(), in.symbols.end(), o.symbols.begin(), o.symbols.end());
  if (!in.unknown && !o.unknown && symbols_fit) {
    if (o.known == 0) {
      return invalid_argument("cannot infer the -1 of " + dims_string(out) +
                              " next to a 0 dimension");
    }
    if (in.known % o.known != 0) {
      return shape_mismatch("cannot reshape " + dims_string(x) + " to " + ints_string(spec) + ": " +
                            std::to_string(in.known) + " elements are not a multiple of " +
                            std::to_string(o.known));
    }
    std::multiset<int64_t> rest = in.symbols;
    for (int64_t s : o.symbols) rest.erase(rest.find(s));
    const int64_t q = in.known / o.known;
    if (rest.empty())
      inferred = q;
    else if (rest.size() == 1 && q == 1)
      inferred = *rest.begin();
  }
  out[static_cast<size_t>(infer)] = inferred;
  return out;
}

Result<std::unique_ptr<Op>> make_reshape(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"allowzero"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kInt64}));
  auto allow_zero_attr = ctx.attr_int("allowzero", 0);
  if (!allow_zero_attr) return allow_zero_attr.status();
  const bool allow_zero = *allow_zero_attr != 0;
  const ValueInfo& shape = ctx.input(1);
  if (shape.rank_known && shape.dims.size() != 1) {
    return invalid_argument("the shape input must be 1-D, got " + dims_string(shape.dims));
  }
  out[0].dtype = ctx.input(0).dtype;
  if (const Tensor* spec = ctx.constant(1)) {
    out[0].rank_known = true;
    if (ctx.input(0).rank_known) {
      auto d = reshape_dims(ctx.input(0).dims, spec->data<int64_t>(), allow_zero);
      if (!d) return d.status();
      out[0].dims = std::move(*d);
    } else {
      out[0].dims.assign(spec->size(), kUnknownDim);
    }
  } else if (const Dims* sv = ctx.shape_value(1)) {
    out[0].rank_known = true;
    const bool unknown = std::find(sv->begin(), sv->end(), kUnknownValue) != sv->end();
    if (ctx.input(0).rank_known && !unknown) {
      auto d = reshape_dims(ctx.input(0).dims, *sv, allow_zero, true);
      if (!d) return d.status();
      out[0].dims = std::move(*d);
    } else {
      // Known sizes and symbols stay; -1, unknown elements and 0s of an unknown rank do not.
      const ValueInfo& x = ctx.input(0);
      for (size_t i = 0; i < sv->size(); ++i) {
        const int64_t v = (*sv)[i];
        const bool copy = v == 0 && !allow_zero && x.rank_known && i < x.dims.size();
        const bool keep = (v > 0 || (v == 0 && allow_zero)) ||
                          (v <= kFirstSymbolDim && v != kUnknownValue);
        out[0].dims.push_back(copy ? x.dims[i] : keep ? v : kUnknownDim);
      }
    }
  } else if (shape.rank_known && known(shape.dims[0])) {
    out[0].rank_known = true;
    out[0].dims.assign(static_cast<size_t>(shape.dims[0]), kUnknownDim);
  } else {
    out[0].rank_known = false;
  }
  return make_op([allow_zero](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    if (in[1]->rank() != 1) {
      return invalid_argument("the shape input must be 1-D, got " + shape_string(in[1]->shape()));
    }
    auto d = reshape_dims(in[0]->shape(), in[1]->data<int64_t>(), allow_zero);
    if (!d) return d.status();
    return set_output(reshaped(*in[0], std::move(*d)), y[0]);
  });
}

// --- Transpose ---------------------------------------------------------------------------------

Status check_perm(const std::vector<int64_t>& perm, size_t rank) {
  if (perm.size() != rank) {
    return invalid_argument("perm " + ints_string(perm) + " does not match input rank " +
                            std::to_string(rank));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) {
      return invalid_argument("perm " + ints_string(perm) + " is not a permutation of 0.." +
                              std::to_string(rank - 1));
    }
    seen[static_cast<size_t>(p)] = true;
  }
  return Status::ok();
}

Result<Tensor> transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  const size_t rank = perm.size();
  Dims shape(rank);
  for (size_t i = 0; i < rank; ++i) shape[i] = x.shape()[static_cast<size_t>(perm[i])];
  auto y = new_tensor(x.dtype(), shape);
  if (!y) return y.status();
  if (y->size() == 0) return y;
  const size_t elem = dtype_size(x.dtype());
  const Dims xs = strides_of(x.shape());
  Dims src_stride(rank);
  for (size_t i = 0; i < rank; ++i) src_stride[i] = xs[static_cast<size_t>(perm[i])];
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y->raw());
  if (rank == 0) {
    std::memcpy(dst, src, elem);
    return y;
  }
  const int64_t inner = shape[rank - 1];
  const int64_t inner_stride = src_stride[rank - 1];
  std::vector<int64_t> idx(rank - 1, 0);
  const size_t outer = y->size() / static_cast<size_t>(inner);
  size_t o = 0;
  for (size_t r = 0; r < outer; ++r) {
    int64_t base = 0;
    for (size_t i = 0; i + 1 < rank; ++i) base += idx[i] * src_stride[i];
    for (int64_t j = 0; j < inner; ++j, ++o) {
      std::memcpy(dst + o * elem, src + static_cast<size_t>(base + j * inner_stride) * elem, elem);
    }
    for (size_t i = rank - 1; i-- > 0;) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
  return y;
}

Result<std::unique_ptr<Op>> make_transpose(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"perm"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  auto perm_attr = ctx.attr_ints("perm", {});
  if (!perm_attr) return perm_attr.status();
  const bool has_perm = ctx.has_attribute("perm");
  const ValueInfo& x = ctx.input(0);
  out[0].dtype = x.dtype;
  out[0].rank_known = x.rank_known;
  if (x.rank_known) {
    std::vector<int64_t> perm = *perm_attr;
    if (!has_perm) {
      perm.resize(x.dims.size());
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    }
    QL_RETURN_IF_ERROR(check_perm(perm, x.dims.size()));
    for (int64_t p : perm) out[0].dims.push_back(x.dims[static_cast<size_t>(p)]);
  }
  std::vector<int64_t> perm0 = *perm_attr;
  return make_op(
      [perm0, has_perm](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        std::vector<int64_t> perm = perm0;
        const size_t rank = in[0]->shape().size();
        if (!has_perm) {
          perm.resize(rank);
          for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
        }
        QL_RETURN_IF_ERROR(check_perm(perm, rank));
        return set_output(transpose(*in[0], perm), y[0]);
      });
}

// --- Concat ------------------------------------------------------------------------------------

Result<Dims> concat_dims(const std::vector<Dims>& shapes, int64_t axis_attr) {
  const size_t rank = shapes[0].size();
  auto axis = normalize_axis(axis_attr, static_cast<int>(rank), "axis");
  if (!axis) return axis.status();
  Dims out = shapes[0];
  for (size_t k = 1; k < shapes.size(); ++k) {
    if (shapes[k].size() != rank) {
      return shape_mismatch("input " + std::to_string(k) + " has rank " +
                            std::to_string(shapes[k].size()) + ", input 0 has rank " +
                            std::to_string(rank));
    }
    for (size_t i = 0; i < rank; ++i) {
      if (static_cast<int>(i) == *axis) {
        out[i] = known(out[i]) && known(shapes[k][i]) ? out[i] + shapes[k][i] : kUnknownDim;
        continue;
      }
      auto d = same_dim(out[i], shapes[k][i],
                        "input " + std::to_string(k) + " dimension " + std::to_string(i) +
                            " differs from input 0");
      if (!d) return d.status();
      out[i] = *d;
    }
  }
  return out;
}

Result<std::unique_ptr<Op>> make_concat(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"axis"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1u << 16, 1, 1));
  if (!ctx.has_attribute("axis")) return invalid_argument("the axis attribute is required");
  auto axis = ctx.attr_int("axis", 0);
  if (!axis) return axis.status();
  std::vector<Dims> shapes;
  bool ranks_known = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    QL_RETURN_IF_ERROR(ctx.require_input(i, "a tensor to concatenate"));
    if (ctx.input(i).dtype != ctx.input(0).dtype) {
      return unsupported("input " + std::to_string(i) + " is " + dtype_name(ctx.input(i).dtype) +
                         ", input 0 is " + dtype_name(ctx.input(0).dtype));
    }
    ranks_known = ranks_known && ctx.input(i).rank_known;
    shapes.push_back(ctx.input(i).dims);
  }
  out[0].dtype = ctx.input(0).dtype;
  out[0].rank_known = ranks_known;
  if (ranks_known) {
    auto d = concat_dims(shapes, *axis);
    if (!d) return d.status();
    out[0].dims = std::move(*d);
  }
  // Shapes being assembled (torch's x.reshape(x.shape[0], -1)): the elements, when every
  // input's are known to the loader.
  if (out[0].dtype == DType::kInt64 && ranks_known && out[0].dims.size() == 1) {
    Dims values;
    bool all = true;
    for (size_t i = 0; all && i < ctx.num_inputs(); ++i) {
      const Dims* sv = ctx.shape_value(i);
      all = sv != nullptr;
      if (all) values.insert(values.end(), sv->begin(), sv->end());
    }
    if (all) ctx.set_shape_value(0, std::move(values));
  }
  const int64_t a = *axis;
  return make_op([a](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    std::vector<Dims> s;
    for (const Tensor* t : in) s.push_back(t->shape());
    auto d = concat_dims(s, a);
    if (!d) return d.status();
    const int axis_n = *normalize_axis(a, static_cast<int>(d->size()), "axis");
    auto r = new_tensor(in[0]->dtype(), *d);
    if (!r) return r.status();
    const size_t elem = dtype_size(in[0]->dtype());
    size_t outer = 1;
    for (int i = 0; i < axis_n; ++i) outer *= static_cast<size_t>((*d)[static_cast<size_t>(i)]);
    auto* dst = static_cast<std::byte*>(r->raw());
    const size_t out_block = outer == 0 ? 0 : r->bytes() / outer;
    size_t offset = 0;
    for (const Tensor* t : in) {
      const size_t block = outer == 0 ? 0 : t->size() / outer * elem;
      const auto* src = static_cast<const std::byte*>(t->raw());
      for (size_t o = 0; o < outer && block > 0; ++o) {
        std::memcpy(dst + o * out_block + offset, src + o * block, block);
      }
      offset += block;
    }
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- Constant ----------------------------------------------------------------------------------

Result<std::unique_ptr<Op>> make_constant(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(
      ctx.check_attributes({"value", "value_float", "value_floats", "value_int", "value_ints"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(0, 0, 1, 1));
  if (ctx.node().attributes.size() != 1) {
    return invalid_argument("needs exactly one value attribute, has " +
                            std::to_string(ctx.node().attributes.size()));
  }
  const OnnxAttribute& a = ctx.node().attributes[0];
  Tensor value;
  if (a.name == "value") {
    if (a.type != OnnxAttributeType::kTensor) return invalid_argument("value must be a TENSOR");
    value = a.t;
  } else if (a.name == "value_float" && a.type == OnnxAttributeType::kFloat) {
    value = Tensor::from<float>({}, {a.f});
  } else if (a.name == "value_floats" && a.type == OnnxAttributeType::kFloats) {
    value = Tensor::from<float>({static_cast<int64_t>(a.floats.size())}, a.floats);
  } else if (a.name == "value_int" && a.type == OnnxAttributeType::kInt) {
    value = Tensor::from<int64_t>({}, {a.i});
  } else if (a.name == "value_ints" && a.type == OnnxAttributeType::kInts) {
    value = Tensor::from<int64_t>({static_cast<int64_t>(a.ints.size())}, a.ints);
  } else {
    return invalid_argument("attribute '" + a.name + "' has the wrong type " +
                            onnx_attribute_type_name(a.type));
  }
  if (ctx.version() < 12 && a.name != "value") {
    return unsupported("attribute '" + a.name + "' needs opset 12 or later");
  }
  out[0].dtype = value.dtype();
  out[0].rank_known = true;
  out[0].dims = value.shape();
  return make_op([value](std::span<const Tensor* const>, std::span<Tensor> y) -> Status {
    y[0] = value;
    return Status::ok();
  });
}

}  // namespace

void register_shape_int_ops(std::vector<OpRegistration>& r);  // ops_shape_int.cpp

void register_shape_ops(std::vector<OpRegistration>& r) {
  register_shape_int_ops(r);
  r.push_back({"", "Flatten", {1, 9, 11, 13}, {1, 9, 11, 13}, &make_flatten});
  r.push_back({"", "Reshape", {1, 5, 13, 14}, {5, 13, 14}, &make_reshape});
  r.push_back({"", "Transpose", {1, 13}, {1, 13}, &make_transpose});
  r.push_back({"", "Concat", {1, 4, 11, 13}, {4, 11, 13}, &make_concat});
  r.push_back({"", "Constant", {1, 9, 11, 12, 13}, {1, 9, 11, 12, 13}, &make_constant});
}

}  // namespace quantlab::ops
