// Quantized operators, QLinearConv and ConvInteger (1-D and 2-D; constant int8 weights
// packed once as PackedQConv2d) and com.microsoft QLinearAdd.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "f32-q8-vcvt/f32-q8-vcvt.h"
#include "ops_broadcast.hpp"
#include "ops_quant_internal.hpp"
#include "ops_spatial.hpp"
#include "quantlab/conv.hpp"

namespace quantlab::ops {
namespace {

// --- QLinearConv, ConvInteger ----------------------------------------------------------------

/// A 1-D convolution operand [N, C, L] seen as 2-D [N, C, 1, L].
Tensor as_4d(const Tensor& t) {
  if (t.rank() != 3) return t;
  Tensor r = t;
  QL_CHECK(r.reshape({t.shape()[0], t.shape()[1], 1, t.shape()[2]}).is_ok());
  return r;
}

Result<Tensor> back_to_rank(Tensor y, size_t rank) {
  if (rank == 4) return y;
  Dims s = y.shape();
  s.erase(s.begin() + 2);
  QL_RETURN_IF_ERROR(y.reshape(std::move(s)));
  return y;
}

}  // namespace

Result<std::unique_ptr<Op>> make_qlinear_conv(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_arity(8, 9, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(3, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, "x_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 2, "x_zero_point", false, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 4, "w_scale", true, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 5, "w_zero_point", true, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 6, "y_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 7, "y_zero_point", false, kQ8));
  if (ctx.has_input(8)) QL_RETURN_IF_ERROR(ctx.check_dtype(8, {DType::kInt32}));
  if (ctx.input(2).dtype != ctx.input(0).dtype || ctx.input(5).dtype != ctx.input(3).dtype) {
    return unsupported("each zero point must have its operand's element type");
  }
  Dims y_dims;
  auto setup = read_conv_setup(ctx, ctx.input(0), ctx.input(3), y_dims);
  if (!setup) return setup.status();
  const DType y_type = ctx.input(7).dtype;
  out[0].dtype = y_type;
  out[0].dims = y_dims;
  std::shared_ptr<const PackedQConv2d> packed;
  bool fixed = true;
  for (size_t i : {1, 2, 3, 4, 5, 6, 7}) fixed = fixed && ctx.constant(i);
  if (ctx.has_input(8)) fixed = fixed && ctx.constant(8);
  const auto geometry = fixed_geometry(*setup);
  if (fixed && geometry && ctx.constant(3)->dtype() == DType::kInt8) {
    const std::vector<int32_t> w_zp = int_values(*ctx.constant(5));
    const bool zero = std::all_of(w_zp.begin(), w_zp.end(), [](int32_t z) { return z == 0; });
    const Tensor& w = *ctx.constant(3);
    const std::vector<float> w_scales = float_values(*ctx.constant(4));
    auto x_scale = scalar_float(*ctx.constant(1), "x_scale");
    auto x_zp = scalar_int(*ctx.constant(2), "x_zero_point");
    auto y_scale = scalar_float(*ctx.constant(6), "y_scale");
    auto y_zp = scalar_int(*ctx.constant(7), "y_zero_point");
    for (const Status* s : {&x_scale.status(), &x_zp.status(), &y_scale.status(), &y_zp.status()}) {
      if (!s->is_ok()) return *s;
    }
    if (zero) {
      QOutput q{y_type, *y_scale, *y_zp, ctx.options().requant_mode, FusedActivation::kNone};
      const Tensor* b = ctx.has_input(8) ? ctx.constant(8) : nullptr;
      auto p = PackedQConv2d::pack(w.data<int8_t>(), w.shape()[0], w.shape()[1] * setup->groups,
                                   *geometry, w_scales,
                                   b ? b->data<int32_t>() : std::span<const int32_t>(),
                                   ctx.input(0).dtype, *x_scale, *x_zp, q);
      if (!p) return p.status();
      packed = std::make_shared<const PackedQConv2d>(std::move(*p));
    }
  }
  const ConvSetup s = *setup;
  return make_op(
      [s, packed, y_type](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
        const Tensor& x = *in[0];
        const Tensor& w = *in[3];
        int64_t h = 0, wd = 0;
        Dims y_shape;
        auto g = run_geometry(s, x, w, h, wd, y_shape);
        if (!g) return g.status();
        if (packed) {
          if (x.dtype() != packed->x_dtype()) {
            return unsupported(std::string("x is ") + dtype_name(x.dtype()) +
                               ", the layer was packed for " + dtype_name(packed->x_dtype()));
          }
          auto r = new_tensor(y_type, y_shape);
          if (!r) return r.status();
          QL_RETURN_IF_ERROR(packed->run(x.raw(), x.shape()[0], h, wd, r->raw()));
          y[0] = std::move(*r);
          return Status::ok();
        }
        auto x_scale = scalar_float(*in[1], "x_scale");
        if (!x_scale) return x_scale.status();
        auto x_zp = scalar_int(*in[2], "x_zero_point");
        if (!x_zp) return x_zp.status();
        auto y_scale = scalar_float(*in[6], "y_scale");
        if (!y_scale) return y_scale.status();
        auto y_zp = scalar_int(*in[7], "y_zero_point");
        if (!y_zp) return y_zp.status();
        const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
        auto r = qlinear_conv(as_4d(x), *x_scale, *x_zp, as_4d(w), float_values(*in[4]),
                              int_values(*in[5]), *y_scale, *y_zp, y_type, bias, *g);
        if (!r) return r.status();
        auto shaped = back_to_rank(std::move(*r), static_cast<size_t>(x.rank()));
        if (!shaped) return shaped.status();
        y[0] = std::move(*shaped);
        return Status::ok();
      });
}

Result<std::unique_ptr<Op>> make_conv_integer(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 4, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, kQ8));
  if (ctx.has_input(2)) QL_RETURN_IF_ERROR(check_param(ctx, 2, "x_zero_point", false, kQ8));
  if (ctx.has_input(3)) QL_RETURN_IF_ERROR(check_param(ctx, 3, "w_zero_point", true, kQ8));
  Dims y_dims;
  auto setup = read_conv_setup(ctx, ctx.input(0), ctx.input(1), y_dims);
  if (!setup) return setup.status();
  out[0].dtype = DType::kInt32;
  out[0].dims = y_dims;
  std::shared_ptr<const PackedQConv2d> packed;
  const auto geometry = fixed_geometry(*setup);
  const Tensor* w_const = ctx.constant(1);
  const bool zps_fixed =
      (!ctx.has_input(2) || ctx.constant(2)) && (!ctx.has_input(3) || ctx.constant(3));
  if (w_const && zps_fixed && geometry && w_const->dtype() == DType::kInt8) {
    const std::vector<int32_t> w_zp =
        ctx.has_input(3) ? int_values(*ctx.constant(3)) : std::vector<int32_t>{0};
    if (std::all_of(w_zp.begin(), w_zp.end(), [](int32_t z) { return z == 0; })) {
      const int32_t x_zp = ctx.has_input(2) ? int_values(*ctx.constant(2))[0] : 0;
      const float one = 1.0f;
      QOutput q{DType::kInt32, 1.0f, 0, RequantMode::kFp32, FusedActivation::kNone};
      auto p = PackedQConv2d::pack(w_const->data<int8_t>(), w_const->shape()[0],
                                   w_const->shape()[1] * setup->groups, *geometry, {&one, 1}, {},
                                   ctx.input(0).dtype, 1.0f, x_zp, q);
      if (!p) return p.status();
      packed = std::make_shared<const PackedQConv2d>(std::move(*p));
    }
  }
  const ConvSetup s = *setup;
  return make_op([s, packed](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    const Tensor& w = *in[1];
    int64_t h = 0, wd = 0;
    Dims y_shape;
    auto g = run_geometry(s, x, w, h, wd, y_shape);
    if (!g) return g.status();
    if (packed) {
      if (x.dtype() != packed->x_dtype()) {
        return unsupported(std::string("x is ") + dtype_name(x.dtype()) +
                           ", the layer was packed for " + dtype_name(packed->x_dtype()));
      }
      auto r = new_tensor(DType::kInt32, y_shape);
      if (!r) return r.status();
      QL_RETURN_IF_ERROR(packed->run(x.raw(), x.shape()[0], h, wd, r->raw()));
      y[0] = std::move(*r);
      return Status::ok();
    }
    const Tensor* xzp = in.size() > 2 ? in[2] : nullptr;
    const Tensor* wzp = in.size() > 3 ? in[3] : nullptr;
    int32_t x_zp = 0;
    if (xzp) {
      auto v = scalar_int(*xzp, "x_zero_point");
      if (!v) return v.status();
      x_zp = *v;
    }
    const std::vector<int32_t> w_zp = wzp ? int_values(*wzp) : std::vector<int32_t>{0};
    auto r = conv_integer(as_4d(x), x_zp, as_4d(w), w_zp, *g);
    if (!r) return r.status();
    auto shaped = back_to_rank(std::move(*r), static_cast<size_t>(x.rank()));
    if (!shaped) return shaped.status();
    y[0] = std::move(*shaped);
    return Status::ok();
  });
}

// --- QLinearAdd (com.microsoft) --------------------------------------------------------------

namespace {

/// onnxruntime's x86 (SSE2) definition, the one its QDQ/QOperator quantizer is checked on:
/// with r_A = S_A / S_C and r_B = S_B / S_C in float32 and
/// f = Z_C - (r_A Z_A + r_B Z_B), C = saturate(round_half_even((f + r_A A) + r_B B)).
/// Where one input repeats over a run of the broadcast output (a scalar, or a per-channel
/// value), onnxruntime folds it into f first: C = round((f + r_s s) + r_v v).
template <class T>
Result<Tensor> qlinear_add(const Tensor& a, float sa, int32_t za, const Tensor& b, float sb,
                           int32_t zb, float sc, int32_t zc) {
  const float ra = sa / sc, rb = sb / sc;
  const float fixed =
      static_cast<float>(zc) - (ra * static_cast<float>(za) + rb * static_cast<float>(zb));
  const float lo = static_cast<float>(q_min(dtype_of<T>()));
  const float hi = static_cast<float>(q_max(dtype_of<T>()));
  auto dims = broadcast_dims(a.shape(), b.shape());
  if (!dims) return dims.status();
  auto y = new_tensor(dtype_of<T>(), *dims);
  if (!y) return y.status();
  const T* pa = a.data<T>().data();
  const T* pb = b.data<T>().data();
  T* py = y->template data<T>().data();
  auto out = [&](float v) {
    v = std::min(std::max(v, lo), hi);
    return static_cast<T>(static_cast<int32_t>(std::nearbyint(v)));
  };
  for_each_broadcast_run(
      a.shape(), b.shape(), *dims, [&](size_t ao, int as, size_t bo, int bs, size_t yo, size_t n) {
        const T* x = pa + ao;
        const T* z = pb + bo;
        T* o = py + yo;
        if (as && bs) {
          for (size_t i = 0; i < n; ++i) {
            o[i] = out((fixed + static_cast<float>(x[i]) * ra) + static_cast<float>(z[i]) * rb);
          }
        } else if (as) {
          const float f = fixed + static_cast<float>(z[0]) * rb;
          for (size_t i = 0; i < n; ++i) o[i] = out(f + static_cast<float>(x[i]) * ra);
        } else {
          const float f = fixed + static_cast<float>(x[0]) * ra;
          for (size_t i = 0; i < n; ++i) {
            o[i] = out(f + static_cast<float>(z[bs ? i : 0]) * rb);
          }
        }
      });
  return y;
}

}  // namespace

Result<std::unique_ptr<Op>> make_qlinear_add(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(7, 8, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(3, {ctx.input(0).dtype}));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, "A_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 4, "B_scale", false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 6, "C_scale", false, {DType::kFloat32}));
  for (size_t i : {2, 5, 7}) {
    if (ctx.has_input(i))
      QL_RETURN_IF_ERROR(check_param(ctx, i, "zero point", false, {ctx.input(0).dtype}));
  }
  out[0].dtype = ctx.input(0).dtype;
  out[0].rank_known = ctx.input(0).rank_known && ctx.input(3).rank_known;
  if (out[0].rank_known) {
    auto d = broadcast_dims(ctx.input(0).dims, ctx.input(3).dims);
    if (!d) return d.status();
    out[0].dims = std::move(*d);
  }
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    float s[3];
    int32_t z[3] = {0, 0, 0};
    const size_t scale_at[3] = {1, 4, 6}, zp_at[3] = {2, 5, 7};
    for (int i = 0; i < 3; ++i) {
      auto v = scalar_float(*in[scale_at[i]], "scale");
      if (!v) return v.status();
      QL_RETURN_IF_ERROR(check_scale_values({&*v, 1}, "scale"));
      s[i] = *v;
      if (zp_at[i] < in.size() && in[zp_at[i]]) {
        auto q = scalar_int(*in[zp_at[i]], "zero point");
        if (!q) return q.status();
        z[i] = *q;
      }
    }
    const Tensor& a = *in[0];
    const Tensor& b = *in[3];
    auto r = a.dtype() == DType::kUInt8
                 ? qlinear_add<uint8_t>(a, s[0], z[0], b, s[1], z[1], s[2], z[2])
                 : qlinear_add<int8_t>(a, s[0], z[0], b, s[1], z[1], s[2], z[2]);
    if (!r) return r.status();
    y[0] = std::move(*r);
    return Status::ok();
  });
}

}  // namespace quantlab::ops
