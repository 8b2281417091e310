// Window geometry of convolution and pooling (ONNX Conv / MaxPool / AveragePool attributes).
#include "ops_spatial.hpp"

namespace quantlab::ops {

Result<SpatialAttrs> read_spatial_attrs(const NodeContext& ctx, size_t nd,
                                        const Dims& kernel_from_weights, bool allow_dilations,
                                        bool allow_ceil_mode) {
  SpatialAttrs a;
  a.nd = nd;
  auto kernel = ctx.attr_ints("kernel_shape", {});
  auto strides = ctx.attr_ints("strides", Dims(nd, 1));
  auto dilations = ctx.attr_ints("dilations", Dims(nd, 1));
  auto pads = ctx.attr_ints("pads", Dims(2 * nd, 0));
  auto auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  auto ceil_mode = ctx.attr_int("ceil_mode", 0);
  for (const Status* s : {&kernel.status(), &strides.status(), &dilations.status(), &pads.status(),
                          &auto_pad.status(), &ceil_mode.status()}) {
    if (!s->is_ok()) return *s;
  }
  if (kernel_from_weights.empty()) {
    if (!ctx.has_attribute("kernel_shape")) {
      return invalid_argument("the kernel_shape attribute is required");
    }
    a.kernel = *kernel;
  } else {
    a.kernel = kernel_from_weights;
    if (ctx.has_attribute("kernel_shape")) {
      bool agree = kernel->size() == nd;
      for (size_t i = 0; agree && i < nd; ++i) {
        agree = !known(a.kernel[i]) || (*kernel)[i] == a.kernel[i];
      }
      if (!agree) {
        return shape_mismatch("kernel_shape " + ints_string(*kernel) +
                              " does not match the weights' spatial size " +
                              dims_string(kernel_from_weights));
      }
      a.kernel = *kernel;
    }
  }
  a.strides = *strides;
  a.dilations = *dilations;
  a.pads = *pads;
  a.auto_pad = *auto_pad;
  a.ceil_mode = *ceil_mode != 0;
  auto sized = [&](const Dims& v, size_t n, const char* what) -> Status {
    if (v.size() != n) {
      return invalid_argument(std::string(what) + " " + ints_string(v) + " must have " +
                              std::to_string(n) + " values for " + std::to_string(nd) +
                              " spatial dimensions");
    }
    return Status::ok();
  };
  QL_RETURN_IF_ERROR(sized(a.kernel, nd, "kernel_shape"));
  QL_RETURN_IF_ERROR(sized(a.strides, nd, "strides"));
  QL_RETURN_IF_ERROR(sized(a.dilations, nd, "dilations"));
  QL_RETURN_IF_ERROR(sized(a.pads, 2 * nd, "pads"));
  // Sizes from the attribute must be real sizes; only the weights' may still be unknown.
  const bool kernel_from_attribute =
      kernel_from_weights.empty() || ctx.has_attribute("kernel_shape");
  for (size_t i = 0; i < nd; ++i) {
    if ((kernel_from_attribute || known(a.kernel[i])) && a.kernel[i] < 1) {
      return invalid_argument("kernel_shape " +
                              (kernel_from_attribute ? ints_string(a.kernel) : dims_string(a.kernel)) +
                              " has a size < 1");
    }
    if (a.strides[i] < 1)
      return invalid_argument("strides " + ints_string(a.strides) + " must be >= 1");
    if (a.dilations[i] < 1) {
      return invalid_argument("dilations " + ints_string(a.dilations) + " must be >= 1");
    }
  }
  for (int64_t p : a.pads) {
    if (p < 0) return invalid_argument("pads " + ints_string(a.pads) + " must be >= 0");
  }
  // Window arithmetic stays far from int64 overflow with sizes below 2^24.
  constexpr int64_t kMaxWindow = int64_t{1} << 24;
  for (const Dims* v : {&a.kernel, &a.strides, &a.dilations, &a.pads}) {
    for (int64_t x : *v) {
      if (x > kMaxWindow) {
        return invalid_argument(
            "kernel_shape, strides, dilations and pads must be below 2^24, "
            "got " +
            std::to_string(x));
      }
    }
  }
  if (a.auto_pad != "NOTSET" && a.auto_pad != "VALID" && a.auto_pad != "SAME_UPPER" &&
      a.auto_pad != "SAME_LOWER") {
    return invalid_argument("auto_pad '" + a.auto_pad +
                            "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  }
  if (a.auto_pad != "NOTSET" && ctx.has_attribute("pads")) {
    return invalid_argument("pads cannot be given together with auto_pad " + a.auto_pad);
  }
  if (!allow_dilations && ctx.has_attribute("dilations")) {
    return unsupported("the dilations attribute is not part of this operator version");
  }
  if (!allow_ceil_mode && a.ceil_mode) {
    return unsupported("ceil_mode is not part of this operator version");
  }
  return a;
}

Result<Dims> spatial_output(const SpatialAttrs& a, std::span<const int64_t> in, Dims* pads) {
  const size_t nd = a.nd;
  Dims out(nd, kUnknownDim);
  Dims used = a.pads;
  if (a.auto_pad == "VALID") used.assign(2 * nd, 0);
  for (size_t i = 0; i < nd; ++i) {
    if (!known(in[i]) || !known(a.kernel[i])) continue;
    if (in[i] > (int64_t{1} << 40)) {
      return invalid_argument("spatial size " + std::to_string(in[i]) + " is absurdly large");
    }
    const int64_t window = (a.kernel[i] - 1) * a.dilations[i] + 1;
    const int64_t s = a.strides[i];
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      const int64_t o = (in[i] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (o - 1) * s + window - in[i]);
      const int64_t small = total / 2, large = total - small;
      used[i] = a.auto_pad == "SAME_UPPER" ? small : large;
      used[i + nd] = a.auto_pad == "SAME_UPPER" ? large : small;
      out[i] = o;
      continue;
    }
    const int64_t span = in[i] + used[i] + used[i + nd] - window;
    if (span < 0) {
      return shape_mismatch("spatial dimension " + std::to_string(i) + " of size " +
                            std::to_string(in[i]) + " (padded " +
                            std::to_string(in[i] + used[i] + used[i + nd]) +
                            ") is smaller than the window of " + std::to_string(window));
    }
    int64_t o = (a.ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (a.ceil_mode && (o - 1) * s >= in[i] + used[i]) --o;
    out[i] = o;
  }
  if (pads) *pads = used;
  return out;
}

// --- Convolution setup -------------------------------------------------------------------

Result<Conv2dGeometry> conv_geometry(const ConvSetup& s, std::span<const int64_t> in_spatial,
                                     Dims* out_spatial) {
  Dims pads;
  auto out = spatial_output(s.attrs, in_spatial, &pads);
  if (!out) return out.status();
  for (int64_t d : *out) {
    if (known(d) && d < 1) return shape_mismatch("the convolution output would be empty");
  }
  if (out_spatial) *out_spatial = *out;
  Conv2dGeometry g;
  g.groups = s.groups;
  const auto& a = s.attrs;
  if (s.nd == 2) {
    g.kernel_h = a.kernel[0];
    g.kernel_w = a.kernel[1];
    g.stride_h = a.strides[0];
    g.stride_w = a.strides[1];
    g.dilation_h = a.dilations[0];
    g.dilation_w = a.dilations[1];
    g.pad_top = pads[0];
    g.pad_left = pads[1];
    g.pad_bottom = pads[2];
    g.pad_right = pads[3];
  } else {
    g.kernel_w = a.kernel[0];
    g.stride_w = a.strides[0];
    g.dilation_w = a.dilations[0];
    g.pad_left = pads[0];
    g.pad_right = pads[1];
  }
  return g;
}

Result<ConvSetup> read_conv_setup(const NodeContext& ctx, const ValueInfo& x, const ValueInfo& w,
                                  Dims& y_dims) {
  QL_RETURN_IF_ERROR(
      ctx.check_attributes({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  if (!w.rank_known) return unsupported("the weights' rank is unknown");
  const size_t rank = w.dims.size();
  if (rank != 4 && rank != 3) {
    return unsupported("weights " + dims_string(w.dims) +
                       ": quantlab runs 1-D and 2-D "
                       "convolutions (weights of rank 3 or 4)");
  }
  if (x.rank_known && x.dims.size() != rank) {
    return shape_mismatch("input " + dims_string(x.dims) + " and weights " + dims_string(w.dims) +
                          " have different ranks");
  }
  ConvSetup s;
  s.nd = rank - 2;
  auto groups = ctx.attr_int("group", 1);
  if (!groups) return groups.status();
  if (*groups < 1) return invalid_argument("group must be >= 1, got " + std::to_string(*groups));
  s.groups = *groups;
  auto attrs = read_spatial_attrs(ctx, s.nd, Dims(w.dims.begin() + 2, w.dims.end()), true, false);
  if (!attrs) return attrs.status();
  s.attrs = *attrs;
  const int64_t m = w.dims[0];
  if (known(m) && m % s.groups != 0) {
    return shape_mismatch("weights have " + std::to_string(m) +
                          " output channels, not a multiple of group " + std::to_string(s.groups));
  }
  Dims xd = x.rank_known ? x.dims : Dims(rank, kUnknownDim);
  if (known(w.dims[1])) {
    const int64_t c = w.dims[1] * s.groups;
    auto same = same_dim(xd[1], c, "input channels vs weights (C_in / group) x group");
    if (!same) return same.status();
  }
  Dims out_spatial;
  auto g = conv_geometry(s, std::span<const int64_t>(xd).subspan(2), &out_spatial);
  if (!g) return g.status();
  y_dims = {xd[0], m};
  y_dims.insert(y_dims.end(), out_spatial.begin(), out_spatial.end());
  return s;
}

Result<Conv2dGeometry> run_geometry(const ConvSetup& s, const Tensor& x, const Tensor& w,
                                    int64_t& h, int64_t& wd, Dims& y_shape) {
  if (x.rank() != static_cast<int>(s.nd) + 2) {
    return shape_mismatch("input " + shape_string(x.shape()) + " does not have rank " +
                          std::to_string(s.nd + 2));
  }
  if (x.shape()[1] != w.shape()[1] * s.groups) {
    return shape_mismatch("input " + shape_string(x.shape()) + " has " +
                          std::to_string(x.shape()[1]) + " channels; weights " +
                          shape_string(w.shape()) + " with group " + std::to_string(s.groups) +
                          " expect " + std::to_string(w.shape()[1] * s.groups));
  }
  Dims out_spatial;
  auto g = conv_geometry(s, std::span<const int64_t>(x.shape()).subspan(2), &out_spatial);
  if (!g) return g.status();
  h = s.nd == 2 ? x.shape()[2] : 1;
  wd = x.shape().back();
  y_shape = {x.shape()[0], w.shape()[0]};
  y_shape.insert(y_shape.end(), out_spatial.begin(), out_spatial.end());
  return g;
}

std::optional<Conv2dGeometry> fixed_geometry(const ConvSetup& s) {
  if (s.attrs.auto_pad != "NOTSET" && s.attrs.auto_pad != "VALID") return std::nullopt;
  Dims probe(s.nd);
  for (size_t i = 0; i < s.nd; ++i) {
    probe[i] = (s.attrs.kernel[i] - 1) * s.attrs.dilations[i] + 1;  // any size with an output
  }
  auto g = conv_geometry(s, probe, nullptr);
  if (!g) return std::nullopt;
  return *g;
}

}  // namespace quantlab::ops
