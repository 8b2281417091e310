// Resize (opsets 10, 11, 13) and Upsample (7, 9): nearest, linear and cubic interpolation on
// any rank, one axis at a time (issue 10). Each resized axis gets a list of taps per output
// index (source indices and weights) computed as onnxruntime's upsample.cc does: the
// coordinate transformation in float, linear clamping the source coordinate to the axis, cubic
// with edge-clamped taps (or excluded and renormalized), and tf_crop_and_resize writing
// extrapolation_value outside the axis. Interpolating separably equals onnxruntime's
// bilinear / bicubic products up to float rounding; nearest copies elements (any dtype).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops_common.hpp"

namespace quantlab::ops {
namespace {

enum class Interp { kNearest, kLinear, kCubic };
enum class Coord { kHalfPixel, kAsymmetric, kAlignCorners, kPytorchHalfPixel, kTfHalfPixelForNn, kTfCropAndResize };
/// kSimple: Resize-10 and Upsample (floor when upsampling, ceil when downsampling).
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct ResizeAttrs {
  Interp mode = Interp::kNearest;
  Coord coord = Coord::kHalfPixel;
  Nearest nearest = Nearest::kRoundPreferFloor;
  float cubic_a = -0.75f;            ///< cubic_coeff_a
  bool exclude_outside = false;      ///< cubic: taps outside the axis get weight 0
  float extrapolation_value = 0.0f;  ///< tf_crop_and_resize outside the input
};

/// The taps of one resized axis: for output index o, taps [o * n, o * n + n) of idx / w;
/// idx < 0 marks an output position outside the input (extrapolation_value).
struct AxisTaps {
  size_t n = 1;
  std::vector<int64_t> idx;
  std::vector<float> w;
};

/// out_len is the resized length as ONNX's reference takes it: in_len * scale in float (not
/// the floored output size; they differ when downsampling by scales).
float source_coord(Coord c, float x, float scale, int64_t in_len, float out_len, float roi_start,
                   float roi_end) {
  switch (c) {
    case Coord::kHalfPixel: return (x + 0.5f) / scale - 0.5f;
    case Coord::kAsymmetric: return x / scale;
    case Coord::kPytorchHalfPixel: return out_len > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case Coord::kTfHalfPixelForNn: return (x + 0.5f) / scale;
    case Coord::kAlignCorners:
      return out_len == 1.0f ? 0.0f : x * static_cast<float>(in_len - 1) / (out_len - 1.0f);
    case Coord::kTfCropAndResize:
      return out_len > 1 ? roi_start * static_cast<float>(in_len - 1) +
                               x * (roi_end - roi_start) * static_cast<float>(in_len - 1) /
                                   (out_len - 1.0f)
                         : 0.5f * (roi_start + roi_end) * static_cast<float>(in_len - 1);
  }
  return x;
}

int64_t nearest_index(Nearest m, float x, bool downsample) {
  switch (m) {
    case Nearest::kRoundPreferFloor:
      if (x == static_cast<float>(static_cast<int64_t>(x)) + 0.5f) return static_cast<int64_t>(x);
      return static_cast<int64_t>(std::round(x));
    case Nearest::kRoundPreferCeil: return static_cast<int64_t>(std::round(x));
    case Nearest::kFloor: return static_cast<int64_t>(std::floor(x));
    case Nearest::kCeil: return static_cast<int64_t>(std::ceil(x));
    case Nearest::kSimple:
      return downsample ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(x);
  }
  return 0;
}

/// Keys' cubic convolution weights for taps at floor(x) - 1 .. floor(x) + 2, s = x - floor(x).
void cubic_weights(float s, float a, float* w) {
  const float s1 = s + 1, s2 = 1 - s, s3 = 2 - s;
  w[0] = ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a;
  w[1] = ((a + 2) * s - (a + 3)) * s * s + 1;
  w[2] = ((a + 2) * s2 - (a + 3)) * s2 * s2 + 1;
  w[3] = ((a * s3 - 5 * a) * s3 + 8 * a) * s3 - 4 * a;
}

AxisTaps axis_taps(const ResizeAttrs& at, int64_t in_len, int64_t out_len, float scale,
                   float roi_start, float roi_end) {
  AxisTaps t;
  t.n = at.mode == Interp::kNearest ? 1 : at.mode == Interp::kLinear ? 2 : 4;
  t.idx.resize(static_cast<size_t>(out_len) * t.n);
  t.w.resize(t.idx.size());
  const float last = static_cast<float>(in_len - 1);
  const float resized = at.coord == Coord::kTfCropAndResize
                            ? static_cast<float>(out_len)
                            : static_cast<float>(in_len) * scale;
  for (int64_t o = 0; o < out_len; ++o) {
    const float x = source_coord(at.coord, static_cast<float>(o), scale, in_len, resized, roi_start,
                                 roi_end);
    int64_t* idx = t.idx.data() + o * static_cast<int64_t>(t.n);
    float* w = t.w.data() + o * static_cast<int64_t>(t.n);
    if (at.coord == Coord::kTfCropAndResize && (x < 0.0f || x > last)) {
      std::fill(idx, idx + t.n, -1);
      std::fill(w, w + t.n, 0.0f);
      continue;
    }
    if (at.mode == Interp::kNearest) {
      idx[0] = std::clamp(nearest_index(at.nearest, x, scale < 1.0f), int64_t{0}, in_len - 1);
      w[0] = 1.0f;
    } else if (at.mode == Interp::kLinear) {
      const float xc = std::max(0.0f, std::min(x, last));
      const int64_t x1 = std::min(static_cast<int64_t>(xc), in_len - 1);
      const int64_t x2 = std::min(x1 + 1, in_len - 1);
      float d1 = std::fabs(xc - static_cast<float>(x1)), d2 = std::fabs(xc - static_cast<float>(x2));
      if (x1 == x2) d1 = d2 = 0.5f;
      idx[0] = x1;
      idx[1] = x2;
      w[0] = d2;
      w[1] = d1;
    } else {
      const float f = std::floor(x);
      cubic_weights(x - f, at.cubic_a, w);
      float sum = 0.0f;
      for (int k = 0; k < 4; ++k) {
        const int64_t i = static_cast<int64_t>(f) - 1 + k;
        if (at.exclude_outside && (i < 0 || i >= in_len)) w[k] = 0.0f;
        sum += w[k];
        idx[k] = std::clamp(i, int64_t{0}, in_len - 1);
      }
      if (at.exclude_outside && sum != 0.0f) {
        for (int k = 0; k < 4; ++k) w[k] /= sum;
      }
    }
  }
  return t;
}

/// Resizes axis `a` of x (viewed as [outer, in_len, inner]) to out_len.
Result<Tensor> resize_axis(const Tensor& x, size_t a, int64_t out_len, const AxisTaps& t,
                           const ResizeAttrs& at) {
  Dims shape(x.shape().begin(), x.shape().end());
  const auto in_len = static_cast<size_t>(shape[a]);
  shape[a] = out_len;
  auto y = new_tensor(x.dtype(), shape);
  if (!y) return y.status();
  if (y->size() == 0) return y;
  size_t outer = 1, inner = 1;
  for (size_t i = 0; i < a; ++i) outer *= static_cast<size_t>(shape[i]);
  for (size_t i = a + 1; i < shape.size(); ++i) inner *= static_cast<size_t>(shape[i]);
  const auto n_out = static_cast<size_t>(out_len);
  if (at.mode == Interp::kNearest && at.coord != Coord::kTfCropAndResize) {
    const size_t elem = dtype_size(x.dtype());
    const auto* src = static_cast<const std::byte*>(x.raw());
    auto* dst = static_cast<std::byte*>(y->raw());
    const size_t row = inner * elem;
    for (size_t o = 0; o < outer; ++o) {
      for (size_t j = 0; j < n_out; ++j) {
        std::memcpy(dst + (o * n_out + j) * row,
                    src + (o * in_len + static_cast<size_t>(t.idx[j])) * row, row);
      }
    }
    return y;
  }
  if (x.dtype() != DType::kFloat32) {
    return unsupported(std::string("Resize of ") + dtype_name(x.dtype()) +
                       " data other than nearest (quantlab interpolates float32)");
  }
  const float* src = x.data<float>().data();
  float* dst = y->data<float>().data();
  for (size_t o = 0; o < outer; ++o) {
    for (size_t j = 0; j < n_out; ++j) {
      float* out = dst + (o * n_out + j) * inner;
      const int64_t* idx = t.idx.data() + j * t.n;
      const float* w = t.w.data() + j * t.n;
      if (idx[0] < 0) {
        std::fill(out, out + inner, at.extrapolation_value);
        continue;
      }
      std::fill(out, out + inner, 0.0f);
      for (size_t k = 0; k < t.n; ++k) {
        const float* in = src + (o * in_len + static_cast<size_t>(idx[k])) * inner;
        for (size_t i = 0; i < inner; ++i) out[i] += w[k] * in[i];
      }
    }
  }
  return y;
}

/// Output sizes and per-axis scales of x from `scales` (floor(d s), as onnxruntime in float)
/// or `sizes` (scale = size / d).
Status output_geometry(const Dims& x, const std::vector<float>* scales,
                       const std::vector<int64_t>* sizes, Dims& out, std::vector<float>& s) {
  const size_t rank = x.size();
  out.assign(rank, 0);
  s.assign(rank, 1.0f);
  if (sizes) {
    if (sizes->size() != rank) {
      return invalid_argument("sizes " + ints_string(*sizes) + " must hold one value per axis of " +
                              dims_string(x));
    }
    for (size_t a = 0; a < rank; ++a) {
      if ((*sizes)[a] < 0) return invalid_argument("sizes " + ints_string(*sizes) + " has a negative size");
      out[a] = (*sizes)[a];
      s[a] = x[a] == 0 ? 1.0f : static_cast<float>((*sizes)[a]) / static_cast<float>(x[a]);
    }
    return Status::ok();
  }
  if (!scales || scales->size() != rank) {
    return invalid_argument("scales must hold one value per axis of " + dims_string(x) +
                            " (or sizes must be given)");
  }
  for (size_t a = 0; a < rank; ++a) {
    const float v = (*scales)[a];
    if (!(v > 0.0f) || !std::isfinite(v)) {
      return invalid_argument("scale " + std::to_string(v) + " must be positive and finite");
    }
    out[a] = static_cast<int64_t>(v * static_cast<float>(x[a]));
    s[a] = v;
  }
  return Status::ok();
}

struct ResizeInputs {
  int roi = -1, scales = -1, sizes = -1;  ///< input indices, -1: none
  std::vector<float> attr_scales;         ///< Upsample-7's attribute
  bool scales_from_attr = false;
};

Result<Tensor> resize(const Tensor& x, const ResizeAttrs& at, const ResizeInputs& ri,
                      std::span<const Tensor* const> in) {
  auto get = [&](int i) -> const Tensor* {
    return i >= 0 && static_cast<size_t>(i) < in.size() && in[static_cast<size_t>(i)] &&
                   in[static_cast<size_t>(i)]->size() > 0
               ? in[static_cast<size_t>(i)]
               : nullptr;
  };
  std::vector<float> scales = ri.attr_scales;
  std::vector<int64_t> sizes;
  const Tensor* sc = get(ri.scales);
  const Tensor* sz = get(ri.sizes);
  if (sc && sz) return invalid_argument("only one of scales and sizes may be given");
  if (sc) {
    if (sc->dtype() != DType::kFloat32) return unsupported("scales must be float32");
    scales = float_values(*sc);
  }
  if (sz) {
    if (sz->dtype() != DType::kInt64) return unsupported("sizes must be int64");
    const auto d = sz->data<int64_t>();
    sizes.assign(d.begin(), d.end());
  }
  if (!sc && !sz && !ri.scales_from_attr) return invalid_argument("one of scales and sizes is required");
  const size_t rank = x.shape().size();
  std::vector<float> roi;
  if (at.coord == Coord::kTfCropAndResize) {
    const Tensor* r = get(ri.roi);
    if (!r || r->dtype() != DType::kFloat32 || r->size() != 2 * rank) {
      return invalid_argument("tf_crop_and_resize needs roi with 2 x rank float32 values");
    }
    roi = float_values(*r);
  }
  Dims out;
  std::vector<float> s;
  QL_RETURN_IF_ERROR(output_geometry(x.shape(), sz ? nullptr : &scales, sz ? &sizes : nullptr, out, s));
  auto n = checked_elements(out);
  if (!n) return n.status();
  Tensor cur = x;
  for (size_t a = 0; a < rank; ++a) {
    const bool identity = out[a] == x.shape()[a] && s[a] == 1.0f && at.coord != Coord::kTfCropAndResize;
    if (identity) continue;
    if (x.shape()[a] == 0) return invalid_argument("cannot resize an empty axis");
    const AxisTaps t = axis_taps(at, x.shape()[a], out[a], s[a], roi.empty() ? 0.0f : roi[a],
                                 roi.empty() ? 1.0f : roi[a + rank]);
    auto next = resize_axis(cur, a, out[a], t, at);
    if (!next) return next.status();
    cur = std::move(*next);
  }
  return cur;
}

Result<Interp> interp_of(const std::string& m, bool allow_cubic) {
  if (m == "nearest") return Interp::kNearest;
  if (m == "linear" || m == "bilinear") return Interp::kLinear;
  if (m == "cubic" && allow_cubic) return Interp::kCubic;
  return invalid_argument("mode '" + m + "' (quantlab resizes nearest, linear" +
                          (allow_cubic ? ", cubic)" : ")"));
}

Result<ResizeAttrs> read_resize_attrs(const NodeContext& ctx, bool is_resize) {
  ResizeAttrs at;
  auto mode = ctx.attr_string("mode", "nearest");
  if (!mode) return mode.status();
  const bool v11 = is_resize && ctx.version() >= 11;
  auto m = interp_of(*mode, v11);
  if (!m) return m.status();
  at.mode = *m;
  if (!v11) {
    at.coord = Coord::kAsymmetric;
    at.nearest = Nearest::kSimple;
    return at;
  }
  auto coord = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  auto nearest = ctx.attr_string("nearest_mode", "round_prefer_floor");
  auto a = ctx.attr_float("cubic_coeff_a", -0.75f);
  auto ex = ctx.attr_int("exclude_outside", 0);
  auto ev = ctx.attr_float("extrapolation_value", 0.0f);
  if (!coord) return coord.status();
  if (!nearest) return nearest.status();
  if (!a) return a.status();
  if (!ex) return ex.status();
  if (!ev) return ev.status();
  const std::pair<const char*, Coord> coords[] = {
      {"half_pixel", Coord::kHalfPixel},       {"asymmetric", Coord::kAsymmetric},
      {"align_corners", Coord::kAlignCorners}, {"pytorch_half_pixel", Coord::kPytorchHalfPixel},
      {"tf_half_pixel_for_nn", Coord::kTfHalfPixelForNn},
      {"tf_crop_and_resize", Coord::kTfCropAndResize}};
  bool found = false;
  for (const auto& [name, c] : coords) {
    if (*coord == name) {
      at.coord = c;
      found = true;
    }
  }
  if (!found) return unsupported("coordinate_transformation_mode '" + *coord + "'");
  const std::pair<const char*, Nearest> nearests[] = {
      {"round_prefer_floor", Nearest::kRoundPreferFloor}, {"round_prefer_ceil", Nearest::kRoundPreferCeil},
      {"floor", Nearest::kFloor}, {"ceil", Nearest::kCeil}};
  found = false;
  for (const auto& [name, n] : nearests) {
    if (*nearest == name) {
      at.nearest = n;
      found = true;
    }
  }
  if (!found) return unsupported("nearest_mode '" + *nearest + "'");
  at.cubic_a = *a;
  at.exclude_outside = *ex != 0;
  at.extrapolation_value = *ev;
  return at;
}

/// A shape-value element as a load-time dim (literal -1 and unknown become kUnknownDim).
int64_t value_dim(int64_t v) {
  return v >= 0 || (v <= kFirstSymbolDim && v != kUnknownValue) ? v : kUnknownDim;
}

/// Load-time output dims: from constant scales (floor(d s) for known d; s == 1 keeps the
/// dim, symbol included) or from sizes' elements (constant or computed from shapes).
void infer_resize_dims(const NodeContext& ctx, const ResizeInputs& ri, const ValueInfo& x,
                       ValueInfo& y) {
  y.rank_known = x.rank_known;
  y.dims.assign(x.dims.size(), kUnknownDim);
  if (!x.rank_known) return;
  auto present = [&](int i) {
    if (i < 0 || !ctx.has_input(static_cast<size_t>(i))) return false;
    const ValueInfo& v = ctx.input(static_cast<size_t>(i));
    return !(v.rank_known && v.dims.size() == 1 && v.dims[0] == 0);
  };
  std::vector<float> scales = ri.attr_scales;
  bool have_scales = ri.scales_from_attr;
  if (present(ri.scales)) {
    const Tensor* c = ctx.constant(static_cast<size_t>(ri.scales));
    if (!c || c->dtype() != DType::kFloat32) return;
    scales = float_values(*c);
    have_scales = true;
  }
  if (have_scales && scales.size() == x.dims.size()) {
    for (size_t a = 0; a < x.dims.size(); ++a) {
      const int64_t d = x.dims[a];
      y.dims[a] = scales[a] == 1.0f ? d
                  : known(d)        ? static_cast<int64_t>(scales[a] * static_cast<float>(d))
                                    : kUnknownDim;
    }
    return;
  }
  if (present(ri.sizes)) {
    if (const Dims* sv = ctx.shape_value(static_cast<size_t>(ri.sizes)); sv && sv->size() == x.dims.size()) {
      for (size_t a = 0; a < sv->size(); ++a) y.dims[a] = value_dim((*sv)[a]);
    }
  }
}

Result<std::unique_ptr<Op>> make_resize_like(const NodeContext& ctx, std::vector<ValueInfo>& out,
                                             bool is_resize) {
  const int64_t v = ctx.version();
  ResizeInputs ri;
  if (!is_resize) {
    QL_RETURN_IF_ERROR(ctx.check_attributes(v < 9 ? std::initializer_list<const char*>{"mode", "scales"}
                                                  : std::initializer_list<const char*>{"mode"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(v < 9 ? 1 : 2, v < 9 ? 1 : 2, 1, 1));
    if (v < 9) {
      const OnnxAttribute* a = ctx.node().attribute("scales");
      if (!a || a->type != OnnxAttributeType::kFloats) {
        return invalid_argument("Upsample-7 needs the FLOATS attribute scales");
      }
      ri.attr_scales = a->floats;
      ri.scales_from_attr = true;
    } else {
      ri.scales = 1;
    }
  } else if (v < 11) {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"mode"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(2, 2, 1, 1));
    ri.scales = 1;
  } else {
    QL_RETURN_IF_ERROR(ctx.check_attributes({"mode", "coordinate_transformation_mode", "nearest_mode",
                                             "cubic_coeff_a", "exclude_outside",
                                             "extrapolation_value"}));
    QL_RETURN_IF_ERROR(ctx.check_arity(v < 13 ? 3 : 1, 4, 1, 1));
    ri.roi = 1;
    ri.scales = 2;
    ri.sizes = 3;
  }
  if (ri.scales >= 0 && ctx.has_input(static_cast<size_t>(ri.scales))) {
    QL_RETURN_IF_ERROR(ctx.check_dtype(static_cast<size_t>(ri.scales), {DType::kFloat32}));
  }
  if (ri.sizes >= 0 && ctx.has_input(static_cast<size_t>(ri.sizes))) {
    QL_RETURN_IF_ERROR(ctx.check_dtype(static_cast<size_t>(ri.sizes), {DType::kInt64}));
  }
  auto at = read_resize_attrs(ctx, is_resize);
  if (!at) return at.status();
  const ValueInfo& x = ctx.input(0);
  if (at->mode != Interp::kNearest) QL_RETURN_IF_ERROR(ctx.check_dtype(0, {DType::kFloat32}));
  out[0].dtype = x.dtype;
  infer_resize_dims(ctx, ri, x, out[0]);
  const ResizeAttrs a = *at;
  return make_op([a, ri](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    return set_output(resize(*in[0], a, ri, in), y[0]);
  });
}

Result<std::unique_ptr<Op>> make_resize(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  return make_resize_like(ctx, out, true);
}

Result<std::unique_ptr<Op>> make_upsample(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  return make_resize_like(ctx, out, false);
}

}  // namespace

void register_resize_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "Resize", {10, 11, 13}, {10, 11, 13}, &make_resize});
  r.push_back({"", "Upsample", {1, 7, 9, 10}, {7, 9}, &make_upsample});
}

}  // namespace quantlab::ops
