// Operator interface helpers: symbolic dimensions, broadcasting, attribute access, and the
// registry of every operator the runtime implements.
#include "ops_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace quantlab::ops {

bool all_known(std::span<const int64_t> dims) {
  return std::all_of(dims.begin(), dims.end(), [](int64_t d) { return known(d); });
}

std::string dims_string(std::span<const int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    if (known(dims[i]))
      s += std::to_string(dims[i]);
    else if (dims[i] == kUnknownDim)
      s += "?";
    else {
      s += 's';  // (one append at a time: GCC 12 flags "s" + std::string with -Wrestrict)
      s += std::to_string(kFirstSymbolDim - dims[i]);
    }
  }
  return s + "]";
}

std::string ints_string(std::span<const int64_t> values) {
  return shape_string(values);  // the same "[a, b, ...]" of plain numbers
}

Result<int64_t> same_dim(int64_t a, int64_t b, const std::string& what) {
  if (known(a) && known(b)) {
    if (a != b) {
      return shape_mismatch(what + ": " + std::to_string(a) + " != " + std::to_string(b));
    }
    return a;
  }
  if (known(a)) return a;
  if (known(b)) return b;
  if (a == b) return a;
  return a != kUnknownDim ? a : b;
}

int64_t dims_product(std::span<const int64_t> dims) {
  int64_t p = 1;
  int64_t symbol = 0;  // 0: none seen
  for (int64_t d : dims) {
    if (known(d)) {
      if (d != 0 && p > (int64_t{1} << 62) / d) return kUnknownDim;
      p *= d;
    } else if (d == kUnknownDim || symbol != 0) {
      return p == 0 ? 0 : kUnknownDim;
    } else {
      symbol = d;
    }
  }
  if (symbol == 0) return p;
  if (p == 0) return 0;
  return p == 1 ? symbol : kUnknownDim;
}

Result<int64_t> checked_elements(std::span<const int64_t> shape) {
  constexpr auto kMax = static_cast<int64_t>(kMaxTensorBytes);
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("shape " + dims_string(shape) + " has a negative dimension");
    if (d == 0) return int64_t{0};
  }
  for (int64_t d : shape) {
    if (n > kMax / d) {
      return too_large("shape " + dims_string(shape) + " has more than " + std::to_string(kMax) +
                       " elements");
    }
    n *= d;
  }
  return n;
}

Result<Dims> broadcast_dims(std::span<const int64_t> a, std::span<const int64_t> b) {
  const size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (known(da) && known(db)) {
      if (da != db) {
        return shape_mismatch("shapes " + dims_string(a) + " and " + dims_string(b) +
                              " cannot be broadcast (dimension " + std::to_string(i) + ": " +
                              std::to_string(da) + " vs " + std::to_string(db) + ")");
      }
      out[i] = da;
    } else if (known(da)) {
      out[i] = da;  // the other is unknown: it must be 1 or da, and the result is da
    } else if (known(db)) {
      out[i] = db;
    } else {
      out[i] = da == db ? da : kUnknownDim;
    }
  }
  return out;
}

Result<MatMulShape> matmul_shape(const Dims& a, const Dims& b) {
  if (a.empty() || b.empty()) return shape_mismatch("MatMul operands must have rank >= 1");
  Dims ap = a.size() == 1 ? Dims{1, a[0]} : a;
  Dims bp = b.size() == 1 ? Dims{b[0], 1} : b;
  MatMulShape s;
  s.m = ap[ap.size() - 2];
  s.k = ap.back();
  s.n = bp.back();
  auto k = same_dim(s.k, bp[bp.size() - 2],
                    "inner dimensions of " + dims_string(a) + " and " + dims_string(b));
  if (!k) return k.status();
  s.k = *k;
  auto batch = broadcast_dims(Dims(ap.begin(), ap.end() - 2), Dims(bp.begin(), bp.end() - 2));
  if (!batch) return batch.status();
  s.batch = *batch;
  s.y = s.batch;
  if (a.size() > 1) s.y.push_back(s.m);
  if (b.size() > 1) s.y.push_back(s.n);
  return s;
}

Result<float> read_channel_norm(const NodeContext& ctx, size_t params, size_t min_rank,
                                std::vector<ValueInfo>& out) {
  auto eps = ctx.attr_float("epsilon", 1e-5f);
  if (!eps) return eps.status();
  const ValueInfo& xin = ctx.input(0);
  if (xin.rank_known && xin.dims.size() < min_rank) {
    return shape_mismatch("input " + dims_string(xin.dims) + " needs rank >= " + std::to_string(min_rank) +
                          (min_rank >= 3 ? " (N, C, spatial)" : " (N, C, ...)"));
  }
  for (size_t i = 1; i <= params; ++i) {
    const ValueInfo& p = ctx.input(i);
    if (p.rank_known &&
        (p.dims.size() != 1 || (xin.rank_known && !same_dim(p.dims[0], xin.dims[1], "").is_ok()))) {
      return shape_mismatch("input " + std::to_string(i) + " '" + p.name + "' " +
                            dims_string(p.dims) + " must be [C] for input " +
                            dims_string(xin.rank_known ? xin.dims : Dims{}));
    }
  }
  out[0] = xin;
  out[0].constant = false;
  return *eps;
}

Result<int> normalize_axis(int64_t axis, int rank, const char* what, bool allow_end) {
  const int64_t hi = allow_end ? rank : rank - 1;
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a > hi) {
    return out_of_range(std::string(what) + " " + std::to_string(axis) +
                        " is out of range for rank " + std::to_string(rank));
  }
  return static_cast<int>(a);
}

Status NodeContext::check_attributes(std::initializer_list<const char*> allowed) const {
  for (const auto& a : node_.attributes) {
    const bool ok =
        std::any_of(allowed.begin(), allowed.end(), [&](const char* n) { return a.name == n; });
    if (!ok) {
      return unsupported("attribute '" + a.name + "' is not part of " + node_.op_type + "-" +
                         std::to_string(version_) + " as quantlab implements it");
    }
  }
  return Status::ok();
}

Status NodeContext::check_arity(size_t min_in, size_t max_in, size_t min_out,
                                size_t max_out) const {
  // Trailing omitted inputs do not count.
  size_t n_in = inputs_.size();
  while (n_in > 0 && inputs_[n_in - 1] == nullptr) --n_in;
  if (n_in < min_in || inputs_.size() > max_in) {
    return invalid_argument("has " + std::to_string(inputs_.size()) + " inputs; " + node_.op_type +
                            "-" + std::to_string(version_) + " takes " +
                            (min_in == max_in
                                 ? std::to_string(min_in)
                                 : std::to_string(min_in) + " to " + std::to_string(max_in)));
  }
  if (node_.outputs.size() < min_out || node_.outputs.size() > max_out) {
    return invalid_argument("has " + std::to_string(node_.outputs.size()) + " outputs; " +
                            node_.op_type + " produces " +
                            (min_out == max_out
                                 ? std::to_string(min_out)
                                 : std::to_string(min_out) + " to " + std::to_string(max_out)));
  }
  for (size_t i = 0; i < min_in; ++i) {
    if (inputs_[i] == nullptr) {
      return invalid_argument("input " + std::to_string(i) + " is required but omitted");
    }
  }
  return Status::ok();
}

Status NodeContext::require_input(size_t i, const char* what) const {
  if (!has_input(i)) {
    return invalid_argument(std::string("input ") + std::to_string(i) + " (" + what +
                            ") is required but omitted");
  }
  return Status::ok();
}

Status NodeContext::check_dtype(size_t i, std::initializer_list<DType> allowed) const {
  const ValueInfo& v = input(i);
  if (std::find(allowed.begin(), allowed.end(), v.dtype) != allowed.end()) return Status::ok();
  std::string list;
  for (DType d : allowed) list += (list.empty() ? "" : ", ") + std::string(dtype_name(d));
  return unsupported("input " + std::to_string(i) + " '" + v.name + "' is " + dtype_name(v.dtype) +
                     "; " + node_.op_type + " takes " + list);
}

namespace {
Status wrong_attr_type(const OnnxAttribute& a, const char* want) {
  return invalid_argument("attribute '" + a.name + "' is " + onnx_attribute_type_name(a.type) +
                          ", expected " + want);
}
}  // namespace

Result<int64_t> NodeContext::attr_int(const char* name, int64_t fallback) const {
  const OnnxAttribute* a = node_.attribute(name);
  if (!a) return fallback;
  if (a->type != OnnxAttributeType::kInt) return wrong_attr_type(*a, "INT");
  return a->i;
}

Result<float> NodeContext::attr_float(const char* name, float fallback) const {
  const OnnxAttribute* a = node_.attribute(name);
  if (!a) return fallback;
  if (a->type != OnnxAttributeType::kFloat) return wrong_attr_type(*a, "FLOAT");
  return a->f;
}

Result<std::string> NodeContext::attr_string(const char* name, std::string fallback) const {
  const OnnxAttribute* a = node_.attribute(name);
  if (!a) return fallback;
  if (a->type != OnnxAttributeType::kString) return wrong_attr_type(*a, "STRING");
  return a->s;
}

Result<std::vector<int64_t>> NodeContext::attr_ints(const char* name,
                                                    std::vector<int64_t> fallback) const {
  const OnnxAttribute* a = node_.attribute(name);
  if (!a) return fallback;
  if (a->type != OnnxAttributeType::kInts) return wrong_attr_type(*a, "INTS");
  return a->ints;
}

Result<float> scalar_float(const Tensor& t, const char* what) {
  if (t.size() != 1) {
    return shape_mismatch(std::string(what) + " must hold one value, got shape " +
                          shape_string(t.shape()));
  }
  if (t.dtype() != DType::kFloat32) {
    return unsupported(std::string(what) + " must be float32, got " + dtype_name(t.dtype()));
  }
  return t.data<float>()[0];
}

Result<int32_t> scalar_int(const Tensor& t, const char* what) {
  if (t.size() != 1) {
    return shape_mismatch(std::string(what) + " must hold one value, got shape " +
                          shape_string(t.shape()));
  }
  const auto v = int_values(t);
  return v[0];
}

namespace {

template <class Out>
std::vector<Out> values_as(const Tensor& t) {
  std::vector<Out> v(t.size());
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const auto d = t.data<T>();
    for (size_t i = 0; i < d.size(); ++i) v[i] = static_cast<Out>(d[i]);
  });
  return v;
}

}  // namespace

std::vector<int32_t> int_values(const Tensor& t) { return values_as<int32_t>(t); }
std::vector<float> float_values(const Tensor& t) { return values_as<float>(t); }

Dims strides_of(std::span<const int64_t> shape) {
  Dims s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

const std::vector<OpRegistration>& op_registry() {
  static const std::vector<OpRegistration> registry = [] {
    std::vector<OpRegistration> r;
    register_elementwise_ops(r);
    register_shape_ops(r);
    register_pool_ops(r);
    register_nn_ops(r);
    register_quant_ops(r);
    register_activation_ops(r);
    register_reduce_ops(r);
    register_layout_ops(r);
    register_resize_ops(r);
    register_convtranspose_ops(r);
    register_recurrent_ops(r);
    return r;
  }();
  return registry;
}

}  // namespace quantlab::ops
