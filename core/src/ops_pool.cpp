// Pooling: MaxPool and AveragePool over 1 to 3 spatial dimensions (pads, strides,
// dilations, auto_pad, ceil_mode, count_include_pad), and GlobalAveragePool.
#include <algorithm>
#include <limits>

#include "ops_common.hpp"
#include "ops_spatial.hpp"

namespace quantlab::ops {
namespace {

/// A pooling problem padded to 3 spatial dims (leading unit dims), one (n, c) plane at a time.
struct Pool3 {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
          d[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
};

Result<Pool3> pool_problem(const SpatialAttrs& a, const Dims& x, Dims& y_shape) {
  const size_t nd = a.nd;
  Dims pads;
  auto out = spatial_output(a, std::span<const int64_t>(x).subspan(2), &pads);
  if (!out) return out.status();
  Pool3 p;
  const size_t off = 3 - nd;
  for (size_t i = 0; i < nd; ++i) {
    p.in[off + i] = x[2 + i];
    p.out[off + i] = (*out)[i];
    p.k[off + i] = a.kernel[i];
    p.s[off + i] = a.strides[i];
    p.d[off + i] = a.dilations[i];
    p.pb[off + i] = pads[i];
    p.pe[off + i] = pads[i + nd];
  }
  y_shape = {x[0], x[1]};
  y_shape.insert(y_shape.end(), out->begin(), out->end());
  return p;
}

template <class T, bool kMax>
void pool_plane(const Pool3& p, const T* x, T* y, bool count_include_pad) {
  for (int64_t o0 = 0; o0 < p.out[0]; ++o0) {
    for (int64_t o1 = 0; o1 < p.out[1]; ++o1) {
      for (int64_t o2 = 0; o2 < p.out[2]; ++o2) {
        const int64_t b0 = o0 * p.s[0] - p.pb[0];
        const int64_t b1 = o1 * p.s[1] - p.pb[1];
        const int64_t b2 = o2 * p.s[2] - p.pb[2];
        T best = std::numeric_limits<T>::lowest();
        float sum = 0.0f;
        int64_t valid = 0, padded = 0;
        for (int64_t k0 = 0; k0 < p.k[0]; ++k0) {
          const int64_t i0 = b0 + k0 * p.d[0];
          const bool in0 = i0 >= 0 && i0 < p.in[0];
          const bool pad0 = i0 >= -p.pb[0] && i0 < p.in[0] + p.pe[0];
          for (int64_t k1 = 0; k1 < p.k[1]; ++k1) {
            const int64_t i1 = b1 + k1 * p.d[1];
            const bool in1 = i1 >= 0 && i1 < p.in[1];
            const bool pad1 = i1 >= -p.pb[1] && i1 < p.in[1] + p.pe[1];
            for (int64_t k2 = 0; k2 < p.k[2]; ++k2) {
              const int64_t i2 = b2 + k2 * p.d[2];
              const bool in2 = i2 >= 0 && i2 < p.in[2];
              const bool pad2 = i2 >= -p.pb[2] && i2 < p.in[2] + p.pe[2];
              if (pad0 && pad1 && pad2) ++padded;
              if (!(in0 && in1 && in2)) continue;
              const T v = x[(i0 * p.in[1] + i1) * p.in[2] + i2];
              ++valid;
              if constexpr (kMax) {
                best = std::max(best, v);
              } else {
                sum += static_cast<float>(v);
              }
            }
          }
        }
        T& out = y[(o0 * p.out[1] + o1) * p.out[2] + o2];
        if constexpr (kMax) {
          out = best;
        } else {
          const int64_t count = count_include_pad ? padded : valid;
          out = count > 0 ? static_cast<T>(sum / static_cast<float>(count)) : T(0);
        }
      }
    }
  }
}

template <bool kMax>
Result<std::unique_ptr<Op>> make_pool(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  if (kMax) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"auto_pad", "ceil_mode", "dilations", "kernel_shape",
                                             "pads", "storage_order", "strides"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 2));
    if (ctx.has_output(1)) {
      return unsupported("the Indices output '" + ctx.node().outputs[1] + "' is not supported");
    }
    // (Two calls: a conditional between initializer lists would dangle.)
    if (ctx.version() >= 12) {
      QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32, DType::kUInt8, DType::kInt8}));
    } else {
      QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
    }
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes(
        {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
    QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  }
  const ValueInfo& xin = ctx.input(0);
  auto kernel = ctx.attr_ints("kernel_shape", {});
  if (!kernel) return kernel.status();
  const size_t nd = kernel->size();
  if (nd < 1 || nd > 3) {
    return unsupported("pooling over " + std::to_string(nd) +
                       " spatial dimensions; quantlab supports 1 to 3");
  }
  if (xin.rank_known && xin.dims.size() != nd + 2) {
    return shape_mismatch("input " + dims_string(xin.dims) + " does not have rank " +
                          std::to_string(nd + 2) + " for kernel_shape " + ints_string(*kernel));
  }
  auto attrs = read_spatial_attrs(ctx, nd, {}, kMax && ctx.version() >= 10, ctx.version() >= 10);
  if (!attrs) return attrs.status();
  auto include_pad = ctx.attr_int("count_include_pad", 0);
  if (!include_pad) return include_pad.status();
  out[0].dtype = xin.dtype;
  out[0].rank_known = true;
  if (xin.rank_known) {
    Dims y;
    auto o = spatial_output(*attrs, std::span<const int64_t>(xin.dims).subspan(2), nullptr);
    if (!o) return o.status();
    y = {xin.dims[0], xin.dims[1]};
    y.insert(y.end(), o->begin(), o->end());
    out[0].dims = std::move(y);
  } else {
    out[0].dims.assign(nd + 2, kUnknownDim);
  }
  const SpatialAttrs a = *attrs;
  const bool count_include_pad = *include_pad != 0;
  return make_op(
      [a, count_include_pad](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        const Tensor& x = *in[0];
        if (x.rank() != static_cast<int>(a.nd) + 2) {
          return shape_mismatch("input " + shape_string(x.shape()) + " does not have rank " +
                                std::to_string(a.nd + 2));
        }
        Dims y_shape;
        auto p = pool_problem(a, x.shape(), y_shape);
        if (!p) return p.status();
        auto r = new_tensor(x.dtype(), y_shape);
        if (!r) return r.status();
        const int64_t planes = x.shape()[0] * x.shape()[1];
        const int64_t in_plane = p->in[0] * p->in[1] * p->in[2];
        const int64_t out_plane = p->out[0] * p->out[1] * p->out[2];
        visit_dtype(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          if constexpr (std::is_same_v<T, float> || std::is_same_v<T, uint8_t> ||
                        std::is_same_v<T, int8_t>) {
            const T* src = x.data<T>().data();
            T* dst = r->template data<T>().data();
            for (int64_t i = 0; i < planes; ++i) {
              pool_plane<T, kMax>(*p, src + i * in_plane, dst + i * out_plane, count_include_pad);
            }
          }
        });
        y[0] = std::move(*r);
        return Status::ok();
      });
}

}  // namespace

Status global_pool_shape(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  const ValueInfo& xin = ctx.input(0);
  if (xin.rank_known && xin.dims.size() < 3) {
    return shape_mismatch("input " + dims_string(xin.dims) + " needs rank >= 3 (N, C, spatial)");
  }
  out[0] = xin;
  out[0].constant = false;
  for (size_t i = 2; i < out[0].dims.size(); ++i) out[0].dims[i] = 1;
  return Status::ok();
}

namespace {

Result<std::unique_ptr<Op>> make_global_average_pool(const NodeContext& ctx,
                                                     std::vector<ValueInfo>& out) {
  return make_global_pool(ctx, out, [](const Tensor& x) -> Result<Tensor> {
    Dims shape = x.shape();
    int64_t spatial = 1;
    for (size_t i = 2; i < shape.size(); ++i) {
      spatial *= shape[i];
      shape[i] = 1;
    }
    auto r = new_tensor(DType::kFloat32, shape);
    if (!r) return r.status();
    const float* src = x.data<float>().data();
    float* dst = r->data<float>().data();
    const size_t planes = r->size();
    for (size_t i = 0; i < planes; ++i) {
      float sum = 0.0f;
      const float* p = src + i * static_cast<size_t>(spatial);
      for (int64_t j = 0; j < spatial; ++j) sum += p[j];
      dst[i] = spatial > 0 ? sum / static_cast<float>(spatial) : 0.0f;
    }
    return r;
  });
}

}  // namespace

void register_pool_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "MaxPool", {1, 8, 10, 11, 12}, {1, 8, 10, 11, 12}, &make_pool<true>});
  r.push_back({"", "AveragePool", {1, 7, 10, 11}, {1, 7, 10, 11}, &make_pool<false>});
  r.push_back({"", "GlobalAveragePool", {1}, {1}, &make_global_average_pool});
}

}  // namespace quantlab::ops
