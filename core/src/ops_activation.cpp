// fp32 activations: the element-wise ones (Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu,
// PRelu, Elu, Selu, Celu, Softplus, Softsign, ThresholdedRelu) and the softmax family along an
// axis (Softmax, LogSoftmax, Hardmax), as ONNX defines them up to opset 17.
#include <algorithm>
#include <cmath>
#include <limits>

#include "f32-vunary/f32-vunary.h"
#include "ops_broadcast.hpp"
#include "ops_common.hpp"

namespace quantlab::ops {
namespace {

// --- Element-wise activations --------------------------------------------------------------

enum class Act {
  kSigmoid,
  kTanh,
  kHardSigmoid,
  kHardSwish,
  kLeakyRelu,
  kElu,
  kSelu,
  kCelu,
  kSoftplus,
  kSoftsign,
  kThresholdedRelu,
};

/// The float attributes of an activation (unused ones keep their defaults).
struct ActParams {
  float alpha = 0.0f;
  float beta = 0.0f;
  float gamma = 0.0f;
};

/// One element, as the ONNX operator definitions write it.
template <Act A>
inline float activate(float x, const ActParams& p) {
  if constexpr (A == Act::kSigmoid) {
    return 1.0f / (1.0f + std::exp(-x));
  } else if constexpr (A == Act::kTanh) {
    return std::tanh(x);
  } else if constexpr (A == Act::kHardSigmoid) {
    return std::max(0.0f, std::min(1.0f, p.alpha * x + p.beta));
  } else if constexpr (A == Act::kHardSwish) {
    // HardSwish-14: x * HardSigmoid(x) with alpha = 1/6, beta = 0.5.
    return x * std::max(0.0f, std::min(1.0f, x * (1.0f / 6.0f) + 0.5f));
  } else if constexpr (A == Act::kLeakyRelu) {
    return x < 0.0f ? p.alpha * x : x;
  } else if constexpr (A == Act::kElu) {
    return x < 0.0f ? p.alpha * (std::exp(x) - 1.0f) : x;
  } else if constexpr (A == Act::kSelu) {
    return x > 0.0f ? p.gamma * x : p.gamma * (p.alpha * std::exp(x) - p.alpha);
  } else if constexpr (A == Act::kCelu) {
    return std::max(0.0f, x) + std::min(0.0f, p.alpha * (std::exp(x / p.alpha) - 1.0f));
  } else if constexpr (A == Act::kSoftplus) {
    // log(1 + exp(x)) without overflow for large x (onnxruntime's form).
    return x > 0.0f ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  } else if constexpr (A == Act::kSoftsign) {
    return x / (1.0f + std::fabs(x));
  } else {
    static_assert(A == Act::kThresholdedRelu);
    return x > p.alpha ? x : 0.0f;
  }
}

/// Attribute names and defaults of each activation (ONNX's).
struct ActAttr {
  const char* name;
  float ActParams::*field;
  float fallback;
};

std::vector<ActAttr> act_attributes(Act a) {
  switch (a) {
    case Act::kHardSigmoid:
      return {{"alpha", &ActParams::alpha, 0.2f}, {"beta", &ActParams::beta, 0.5f}};
    case Act::kLeakyRelu: return {{"alpha", &ActParams::alpha, 0.01f}};
    case Act::kElu: return {{"alpha", &ActParams::alpha, 1.0f}};
    case Act::kSelu:
      return {{"alpha", &ActParams::alpha, 1.67326319217681884765625f},
              {"gamma", &ActParams::gamma, 1.05070102214813232421875f}};
    case Act::kCelu: return {{"alpha", &ActParams::alpha, 1.0f}};
    case Act::kThresholdedRelu: return {{"alpha", &ActParams::alpha, 1.0f}};
    default: return {};
  }
}

Status check_attribute_names(const NodeContext& ctx, const std::vector<ActAttr>& attrs) {
  for (const auto& a : ctx.node().attributes) {
    const bool ok = std::any_of(attrs.begin(), attrs.end(),
                                [&](const ActAttr& x) { return a.name == x.name; });
    if (!ok) {
      return unsupported("attribute '" + a.name + "' is not part of " + ctx.node().op_type + "-" +
                         std::to_string(ctx.version()) + " as quantlab implements it");
    }
  }
  return Status::ok();
}

template <Act A>
Result<std::unique_ptr<Op>> make_activation(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  const std::vector<ActAttr> attrs = act_attributes(A);
  QL_RETURN_IF_ERROR(check_attribute_names(ctx, attrs));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  ActParams p;
  for (const ActAttr& a : attrs) {
    auto v = ctx.attr_float(a.name, a.fallback);
    if (!v) return v.status();
    p.*a.field = *v;
  }
  if (A == Act::kCelu && p.alpha == 0.0f) return invalid_argument("Celu's alpha must not be 0");
  out[0] = ctx.input(0);
  out[0].constant = false;
  // Sigmoid and Tanh run on the f32-vunary kernels (polynomial exp / tanh in SIMD); the
  // others are loops the compiler vectorizes, or that call std::exp per element.
  F32VUnaryFn kernel = nullptr;
  if constexpr (A == Act::kSigmoid) kernel = f32_vunary_best(VUnaryFunction::kSigmoid);
  if constexpr (A == Act::kTanh) kernel = f32_vunary_best(VUnaryFunction::kTanh);
  return make_op([p, kernel](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    auto r = new_tensor(DType::kFloat32, x.shape());
    if (!r) return r.status();
    const float* src = x.data<float>().data();
    float* dst = r->data<float>().data();
    const size_t n = x.size();
    if (kernel) {
      kernel(n, src, dst);
    } else {
      const ActParams q = p;  // a local copy: the loop has no aliasing to reason about
      for (size_t i = 0; i < n; ++i) dst[i] = activate<A>(src[i], q);
    }
    y[0] = std::move(*r);
    return Status::ok();
  });
}

// --- PRelu -----------------------------------------------------------------------------------

/// True when `from` broadcasts to `to` without changing it (ONNX unidirectional
/// broadcasting); unknown dims pass.
bool unidirectional(const Dims& from, const Dims& to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    const int64_t f = from[i], t = to[to.size() - from.size() + i];
    if (f != 1 && known(f) && known(t) && f != t) return false;
  }
  return true;
}

Result<std::unique_ptr<Op>> make_prelu(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  QL_RETURN_IF_ERROR(ctx.check_dtype(1, {DType::kFloat32}));
  const ValueInfo& x = ctx.input(0);
  const ValueInfo& slope = ctx.input(1);
  if (x.rank_known && slope.rank_known && !unidirectional(slope.dims, x.dims)) {
    return shape_mismatch("slope " + dims_string(slope.dims) + " does not broadcast to X " +
                          dims_string(x.dims));
  }
  out[0] = x;
  out[0].constant = false;
  return make_op([](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& xt = *in[0];
    const Tensor& st = *in[1];
    if (!unidirectional(st.shape(), xt.shape())) {
      return shape_mismatch("slope " + shape_string(st.shape()) + " does not broadcast to X " +
                            shape_string(xt.shape()));
    }
    return set_output(broadcast_binary<float, float>(xt, st, DType::kFloat32,
                                                     [](float v, float s) {
                                                       return v < 0.0f ? s * v : v;
                                                     }),
                      y[0]);
  });
}

// --- Softmax, LogSoftmax, Hardmax ----------------------------------------------------------

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

/// One softmax row of `len` elements `inner` apart; a contiguous row (inner = 1) takes its
/// exponentials from the f32-vunary exp kernel.
template <SoftmaxKind K>
void softmax_row(const float* src, float* dst, size_t len, size_t inner, F32VUnaryFn vexp) {
  float mx = -std::numeric_limits<float>::infinity();
  size_t arg = 0;
  for (size_t i = 0; i < len; ++i) {
    if (src[i * inner] > mx) {
      mx = src[i * inner];
      arg = i;
    }
  }
  if constexpr (K == SoftmaxKind::kHardmax) {
    // 1 at the first maximum, 0 elsewhere.
    for (size_t i = 0; i < len; ++i) dst[i * inner] = i == arg ? 1.0f : 0.0f;
  } else if (inner == 1) {
    for (size_t i = 0; i < len; ++i) dst[i] = src[i] - mx;
    vexp(len, dst, dst);
    float sum = 0.0f;
    for (size_t i = 0; i < len; ++i) sum += dst[i];
    if constexpr (K == SoftmaxKind::kSoftmax) {
      for (size_t i = 0; i < len; ++i) dst[i] /= sum;
    } else {
      const float log_sum = std::log(sum);
      for (size_t i = 0; i < len; ++i) dst[i] = src[i] - mx - log_sum;
    }
  } else {
    float sum = 0.0f;
    for (size_t i = 0; i < len; ++i) {
      const float e = std::exp(src[i * inner] - mx);
      if constexpr (K == SoftmaxKind::kSoftmax) dst[i * inner] = e;
      sum += e;
    }
    if constexpr (K == SoftmaxKind::kSoftmax) {
      for (size_t i = 0; i < len; ++i) dst[i * inner] /= sum;
    } else {
      const float log_sum = std::log(sum);
      for (size_t i = 0; i < len; ++i) dst[i * inner] = src[i * inner] - mx - log_sum;
    }
  }
}

/// Softmax-1 / -11 (and LogSoftmax, Hardmax before 13) coerce the input to 2-D at `axis` and
/// normalize each row of the flattened [outer, len] matrix; version 13 normalizes along the
/// single axis (inner > 1 when it is not the last).
template <SoftmaxKind K>
Result<std::unique_ptr<Op>> make_softmax(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"axis"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(1, 1, 1, 1));
  QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  const bool per_axis = ctx.version() >= 13;  // before: the input is coerced to 2-D at axis
  auto axis = ctx.attr_int("axis", per_axis ? -1 : 1);
  if (!axis) return axis.status();
  const ValueInfo& xin = ctx.input(0);
  if (xin.rank_known) {
    auto a = normalize_axis(*axis, static_cast<int>(xin.dims.size()), "axis");
    if (!a) return a.status();
  }
  out[0] = xin;
  out[0].constant = false;
  const int64_t axis_attr = *axis;
  const F32VUnaryFn vexp = f32_vunary_best(VUnaryFunction::kExp);
  return make_op(
      [per_axis, axis_attr, vexp](std::span<const Tensor* const> in,
                                  std::span<Tensor> y) -> Status {
        const Tensor& x = *in[0];
        auto a = normalize_axis(axis_attr, x.rank(), "axis");
        if (!a) return a.status();
        const Dims& s = x.shape();
        size_t outer = 1, len = 1, inner = 1;
        for (int i = 0; i < *a; ++i) outer *= static_cast<size_t>(s[static_cast<size_t>(i)]);
        if (per_axis) {
          len = static_cast<size_t>(s[static_cast<size_t>(*a)]);
          for (size_t i = static_cast<size_t>(*a) + 1; i < s.size(); ++i)
            inner *= static_cast<size_t>(s[i]);
        } else {
          for (size_t i = static_cast<size_t>(*a); i < s.size(); ++i)
            len *= static_cast<size_t>(s[i]);
        }
        auto r = new_tensor(DType::kFloat32, s);
        if (!r) return r.status();
        const float* src = x.data<float>().data();
        float* dst = r->data<float>().data();
        for (size_t o = 0; o < outer; ++o) {
          for (size_t j = 0; j < inner; ++j) {
            const size_t base = o * len * inner + j;
            softmax_row<K>(src + base, dst + base, len, inner, vexp);
          }
        }
        y[0] = std::move(*r);
        return Status::ok();
      });
}

}  // namespace

void register_activation_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "Sigmoid", {1, 6, 13}, {6, 13}, &make_activation<Act::kSigmoid>});
  r.push_back({"", "Tanh", {1, 6, 13}, {6, 13}, &make_activation<Act::kTanh>});
  r.push_back({"", "HardSigmoid", {1, 6}, {6}, &make_activation<Act::kHardSigmoid>});
  r.push_back({"", "HardSwish", {14}, {14}, &make_activation<Act::kHardSwish>});
  r.push_back({"", "LeakyRelu", {1, 6, 16}, {6, 16}, &make_activation<Act::kLeakyRelu>});
  r.push_back({"", "PRelu", {1, 6, 7, 9, 16}, {6, 7, 9, 16}, &make_prelu});
  r.push_back({"", "Elu", {1, 6}, {6}, &make_activation<Act::kElu>});
  r.push_back({"", "Selu", {1, 6}, {6}, &make_activation<Act::kSelu>});
  r.push_back({"", "Celu", {12}, {12}, &make_activation<Act::kCelu>});
  r.push_back({"", "Softplus", {1}, {1}, &make_activation<Act::kSoftplus>});
  r.push_back({"", "Softsign", {1}, {1}, &make_activation<Act::kSoftsign>});
  r.push_back({"", "ThresholdedRelu", {10}, {10}, &make_activation<Act::kThresholdedRelu>});
  r.push_back({"", "Softmax", {1, 11, 13}, {1, 11, 13}, &make_softmax<SoftmaxKind::kSoftmax>});
  r.push_back(
      {"", "LogSoftmax", {1, 11, 13}, {1, 11, 13}, &make_softmax<SoftmaxKind::kLogSoftmax>});
  r.push_back({"", "Hardmax", {1, 11, 13}, {1, 11, 13}, &make_softmax<SoftmaxKind::kHardmax>});
}

}  // namespace quantlab::ops
