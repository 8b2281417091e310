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

/// y = the 4-D result r reshaped back to x's rank (a 1-D convolution drops H = 1).
Status set_result(Result<Tensor> r, const Tensor& x, Tensor& y) {
  if (!r) return r.status();
  if (x.rank() != 4) {
    Dims s = r->shape();
    s.erase(s.begin() + 2);
    QL_RETURN_IF_ERROR(r->reshape(std::move(s)));
  }
  y = std::move(*r);
  return Status::ok();
}

/// y = the packed layer on x (y's dtype and shape given).
Status run_packed(const PackedQConv2d& packed, const Tensor& x, DType y_type, const Dims& y_shape,
                  int64_t h, int64_t wd, Tensor& y) {
  if (x.dtype() != packed.x_dtype()) {
    return unsupported(std::string("x is ") + dtype_name(x.dtype()) +
                       ", the layer was packed for " + dtype_name(packed.x_dtype()));
  }
  auto r = new_tensor(y_type, y_shape);
  if (!r) return r.status();
  QL_RETURN_IF_ERROR(packed.run(x.raw(), x.shape()[0], h, wd, r->raw()));
  y = std::move(*r);
  return Status::ok();
}

/// The op of QLinearConv and ConvInteger (x: input 0, w: input w_index): the packed layer
/// when there is one, else fallback(in, x, w, geometry) on x and w seen as 4-D.
template <class F>
std::unique_ptr<Op> make_qconv_op(const ConvSetup& s, std::shared_ptr<const PackedQConv2d> packed,
                                  size_t w_index, DType y_type, F fallback) {
  return make_op([s, packed, w_index, y_type, fallback](std::span<const Tensor* const> in,
                                                       std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    const Tensor& w = *in[w_index];
    int64_t h = 0, wd = 0;
    Dims y_shape;
    auto g = run_geometry(s, x, w, h, wd, y_shape);
    if (!g) return g.status();
    if (packed) return run_packed(*packed, x, y_type, y_shape, h, wd, y[0]);
    return set_result(fallback(in, as_4d(x), as_4d(w), *g), x, y[0]);
  });
}

bool all_zero(const std::vector<int32_t>& v) {
  return std::all_of(v.begin(), v.end(), [](int32_t z) { return z == 0; });
}

}  // namespace

Result<std::unique_ptr<Op>> make_qlinear_conv(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_arity(8, 9, 1, 1));
  QL_RETURN_IF_ERROR(check_qlinear_inputs(ctx, "x", "w"));
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
    const bool zero = all_zero(w_zp);
    const Tensor& w = *ctx.constant(3);
    const std::vector<float> w_scales = float_values(*ctx.constant(4));
    auto qs = read_qscalars(*ctx.constant(1), *ctx.constant(2), *ctx.constant(6),
                            *ctx.constant(7), "x");
    if (!qs) return qs.status();
    if (zero) {
      QOutput q{y_type, qs->out_scale, qs->out_zero_point, ctx.options().requant_mode,
                FusedActivation::kNone};
      const Tensor* b = ctx.has_input(8) ? ctx.constant(8) : nullptr;
      auto p = PackedQConv2d::pack(w.data<int8_t>(), w.shape()[0], w.shape()[1] * setup->groups,
                                   *geometry, w_scales,
                                   b ? b->data<int32_t>() : std::span<const int32_t>(),
                                   ctx.input(0).dtype, qs->in_scale, qs->in_zero_point, q);
      if (!p) return p.status();
      packed = std::make_shared<const PackedQConv2d>(std::move(*p));
    }
  }
  return make_qconv_op(
      *setup, packed, 3, y_type,
      [y_type](std::span<const Tensor* const> in, const Tensor& x, const Tensor& w,
               const Conv2dGeometry& g) -> Result<Tensor> {
        auto qs = read_qscalars(*in[1], *in[2], *in[6], *in[7], "x");
        if (!qs) return qs.status();
        const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
        return qlinear_conv(x, qs->in_scale, qs->in_zero_point, w, float_values(*in[4]),
                            int_values(*in[5]), qs->out_scale, qs->out_zero_point, y_type, bias, g);
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
    if (all_zero(w_zp)) {
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
  return make_qconv_op(
      *setup, packed, 1, DType::kInt32,
      [](std::span<const Tensor* const> in, const Tensor& x, const Tensor& w,
         const Conv2dGeometry& g) -> Result<Tensor> {
        const Tensor* xzp = in.size() > 2 ? in[2] : nullptr;
        const Tensor* wzp = in.size() > 3 ? in[3] : nullptr;
        int32_t x_zp = 0;
        if (xzp) {
          auto v = scalar_int(*xzp, "x_zero_point");
          if (!v) return v.status();
          x_zp = *v;
        }
        const std::vector<int32_t> w_zp = wzp ? int_values(*wzp) : std::vector<int32_t>{0};
        return conv_integer(x, x_zp, w, w_zp, g);
      });
}

// --- QLinearAdd (com.microsoft) --------------------------------------------------------------

namespace {

/// fma(x, y, z) in float32, rounded once, without an fma instruction (WebAssembly has none,
/// and libm's software fma is slow): x y is exact in double (24 + 24 bits), Knuth's two-sum
/// gives p + z = s + e exactly, and where s lies exactly halfway between two floats the sign
/// of e decides the rounding.
inline float fused_multiply_add(float x, float y, float z) {
  const double p = static_cast<double>(x) * static_cast<double>(y);
  const double s = p + static_cast<double>(z);
  const double bb = s - p;
  const double e = (p - (s - bb)) + (static_cast<double>(z) - bb);
  const float r = static_cast<float>(s);
  if (e == 0.0 || static_cast<double>(r) == s) return r;
  const float other = std::nextafter(r, s > static_cast<double>(r) ? HUGE_VALF : -HUGE_VALF);
  if (s != (static_cast<double>(r) + static_cast<double>(other)) * 0.5) return r;
  return (e > 0.0) == (other > r) ? other : r;
}

/// onnxruntime's definition on x86-64 (MlasQLinearAddKernelAvx2Helper, which every CPU with
/// AVX2 and FMA runs, and whose constant the compiler contracts into an fma): with
/// r_A = S_A / S_C and r_B = S_B / S_C in float32 and f = Z_C - fma(r_A, Z_A, r_B Z_B),
/// C = saturate(round_half_even(fma(A, r_A, fma(B, r_B, f)))). Measured against
/// onnxruntime-node 1.30 on 40 random scale sets x 65,536 random pairs: 0 differences for
/// int8 and uint8 (ONNX's unfused formula differs in 13 uint8 / 2 int8 of them).
/// Where one input repeats over a run of the broadcast output (a scalar, or a per-channel
/// value), onnxruntime folds it into f first, with a separate multiply and add:
/// C = round(fma(v, r_v, f + s r_s)).
template <class T>
Result<Tensor> qlinear_add(const Tensor& a, float sa, int32_t za, const Tensor& b, float sb,
                           int32_t zb, float sc, int32_t zc) {
  const float ra = sa / sc, rb = sb / sc;
  const float fixed = static_cast<float>(zc) -
                      fused_multiply_add(ra, static_cast<float>(za), rb * static_cast<float>(zb));
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
  auto f32 = [](T v) { return static_cast<float>(v); };
  for_each_broadcast_run(
      a.shape(), b.shape(), *dims, [&](size_t ao, int as, size_t bo, int bs, size_t yo, size_t n) {
        const T* x = pa + ao;
        const T* z = pb + bo;
        T* o = py + yo;
        if (as && bs) {
          for (size_t i = 0; i < n; ++i) {
            o[i] = out(fused_multiply_add(f32(x[i]), ra, fused_multiply_add(f32(z[i]), rb, fixed)));
          }
        } else if (as) {
          const float f = fixed + f32(z[0]) * rb;
          for (size_t i = 0; i < n; ++i) o[i] = out(fused_multiply_add(f32(x[i]), ra, f));
        } else {
          const float f = fixed + f32(x[0]) * ra;
          for (size_t i = 0; i < n; ++i) o[i] = out(fused_multiply_add(f32(z[bs ? i : 0]), rb, f));
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
    return set_output(a.dtype() == DType::kUInt8
                 ? qlinear_add<uint8_t>(a, s[0], z[0], b, s[1], z[1], s[2], z[2])
                 : qlinear_add<int8_t>(a, s[0], z[0], b, s[1], z[1], s[2], z[2]), y[0]);
  });
}

}  // namespace quantlab::ops
