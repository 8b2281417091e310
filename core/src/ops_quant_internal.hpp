// Internals shared by the quantized operators' files: the load-time checks of scale and
// zero-point inputs, and the factories of the operators registered by register_quant_ops
// (ops_quant.cpp): QLinearMatMul / MatMulInteger (ops_qmatmul.cpp), QLinearConv /
// ConvInteger / QLinearAdd (ops_qconv.cpp).
#pragma once

#include <cmath>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ops_common.hpp"

namespace quantlab::ops {

inline constexpr std::initializer_list<DType> kQ8 = {DType::kUInt8, DType::kInt8};

inline int32_t q_min(DType t) { return t == DType::kUInt8 ? 0 : -128; }
inline int32_t q_max(DType t) { return t == DType::kUInt8 ? 255 : 127; }

/// Load-time check of a scale / zero-point input: present, of the right type, a scalar (or,
/// when per_channel_ok, also a 1-D tensor).
inline Status check_param(const NodeContext& ctx, size_t i, const char* what, bool per_channel_ok,
                   std::initializer_list<DType> types) {
  QL_RETURN_IF_ERROR(ctx.require_input(i, what));
  QL_RETURN_IF_ERROR(ctx.check_dtype(i, types));
  const ValueInfo& v = ctx.input(i);
  if (!v.rank_known) return Status::ok();
  if (per_channel_ok ? v.dims.size() > 1
                     : !(v.dims.size() <= 1 && (!all_known(v.dims) || dims_product(v.dims) == 1))) {
    return shape_mismatch(std::string(what) + " '" + v.name + "' must be " +
                          (per_channel_ok ? "a scalar or 1-D" : "a scalar") + ", got " +
                          dims_string(v.dims));
  }
  return Status::ok();
}

inline Status check_scale_values(std::span<const float> s, const char* what) {
  for (float v : s) {
    if (!std::isfinite(v) || v <= 0.0f) {
      return invalid_argument(std::string(what) + " must be finite and positive, got " +
                              std::to_string(v));
    }
  }
  return Status::ok();
}

/// Load-time checks of a QLinear operator's first 8 inputs: the operands 0 and 3 (uint8 or
/// int8, named `in` and `w`: "a" and "b", or "x" and "w"), their scales and zero points (w's
/// per channel or not), and the output's y_scale and y_zero_point.
inline Status check_qlinear_inputs(const NodeContext& ctx, const std::string& in,
                                   const std::string& w) {
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, kQ8));
  QL_RETURN_IF_ERROR(ctx.check_dtype(3, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 1, (in + "_scale").c_str(), false, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 2, (in + "_zero_point").c_str(), false, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 4, (w + "_scale").c_str(), true, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(check_param(ctx, 5, (w + "_zero_point").c_str(), true, kQ8));
  QL_RETURN_IF_ERROR(check_param(ctx, 6, "y_scale", false, {DType::kFloat32}));
  return check_param(ctx, 7, "y_zero_point", false, kQ8);
}

/// The scalar scales and zero points of a QLinear operator's input (`in`: "x" or "a") and
/// output ("y"), read in that order (the first error is returned).
struct QScalars {
  float in_scale = 0.0f;
  int32_t in_zero_point = 0;
  float out_scale = 0.0f;
  int32_t out_zero_point = 0;
};
inline Result<QScalars> read_qscalars(const Tensor& in_scale, const Tensor& in_zero_point,
                                      const Tensor& out_scale, const Tensor& out_zero_point,
                                      const std::string& in) {
  QScalars q;
  auto s = scalar_float(in_scale, (in + "_scale").c_str());
  if (!s) return s.status();
  auto z = scalar_int(in_zero_point, (in + "_zero_point").c_str());
  if (!z) return z.status();
  auto ys = scalar_float(out_scale, "y_scale");
  if (!ys) return ys.status();
  auto yz = scalar_int(out_zero_point, "y_zero_point");
  if (!yz) return yz.status();
  return QScalars{*s, *z, *ys, *yz};
}

Result<std::unique_ptr<Op>> make_qlinear_matmul(const NodeContext& ctx, std::vector<ValueInfo>& out);
Result<std::unique_ptr<Op>> make_matmul_integer(const NodeContext& ctx, std::vector<ValueInfo>& out);
Result<std::unique_ptr<Op>> make_qlinear_conv(const NodeContext& ctx, std::vector<ValueInfo>& out);
Result<std::unique_ptr<Op>> make_conv_integer(const NodeContext& ctx, std::vector<ValueInfo>& out);
Result<std::unique_ptr<Op>> make_qlinear_add(const NodeContext& ctx, std::vector<ValueInfo>& out);

}  // namespace quantlab::ops
