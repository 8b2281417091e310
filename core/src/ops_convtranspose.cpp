// ConvTranspose (opsets 1, 11), fp32, 1-D and 2-D: a GEMM per image and group on the packed
// fp32 kernels, then col2im (issue 10). With x_g [C_in/g, H W] and W_g [C_in/g, C_out/g kH kW]
// the columns are cols[H W, C_out/g kH kW] = x_g^T W_g (PackedGemmF32 with the weights packed
// once as [C_out/g kH kW, C_in/g]); col2im adds each column entry into the output pixel
// (h s - pad + kh d, w s - pad + kw d) it lands on, then the bias is added.
#include <algorithm>
#include <cstring>
#include <memory>

#include "ops_spatial.hpp"
#include "quantlab/gemm.hpp"

namespace quantlab::ops {
namespace {

/// The attributes of a ConvTranspose with nd (1 or 2) spatial dims: the window as Conv reads
/// it (read_spatial_attrs: kernel from the weights, strides, dilations, pads, auto_pad), plus
/// group, output_padding and output_shape. 1-D runs in 2-D form (H = 1, kernel 1, stride 1,
/// no padding along H).
struct ConvTransposeAttrs : SpatialAttrs {
  int64_t groups = 1;
  Dims output_padding, output_shape;
};

Result<ConvTransposeAttrs> read_attrs(const NodeContext& ctx, size_t nd, const Dims& w_spatial) {
  auto window = read_spatial_attrs(ctx, nd, w_spatial, /*allow_dilations=*/true, /*allow_ceil_mode=*/false);
  if (!window) return window.status();
  ConvTransposeAttrs a;
  static_cast<SpatialAttrs&>(a) = *window;
  auto g = ctx.attr_int("group", 1);
  auto op = ctx.attr_ints("output_padding", Dims(nd, 0));
  auto os = ctx.attr_ints("output_shape", {});
  for (const Status* st : {&g.status(), &op.status(), &os.status()}) {
    if (!st->is_ok()) return *st;
  }
  a.groups = *g;
  if (a.groups < 1) return invalid_argument("group " + std::to_string(a.groups) + " must be >= 1");
  a.output_padding = *op;
  a.output_shape = *os;
  if (a.output_padding.size() != nd) {
    return invalid_argument("output_padding " + ints_string(a.output_padding) + " needs " +
                            std::to_string(nd) + " values");
  }
  if (!a.output_shape.empty() && a.output_shape.size() != nd) {
    // output_shape may also list N and C (older exporters): keep the spatial tail.
    if (a.output_shape.size() == nd + 2) {
      a.output_shape.erase(a.output_shape.begin(), a.output_shape.begin() + 2);
    } else {
      return invalid_argument("output_shape " + ints_string(a.output_shape) + " must have " +
                              std::to_string(nd) + " values");
    }
  }
  for (size_t i = 0; i < nd; ++i) {
    if (a.output_padding[i] < 0 || a.output_padding[i] >= std::max(a.strides[i], a.dilations[i])) {
      return invalid_argument("output_padding " + ints_string(a.output_padding) +
                              " must be >= 0 and smaller than the stride or the dilation");
    }
  }
  return a;
}

/// Output spatial sizes and the begin / end pads used, for input spatial sizes `in` (ONNX
/// ConvTranspose-11: output_shape or SAME decide the total padding, split as the spec says).
Dims output_spatial(const ConvTransposeAttrs& a, std::span<const int64_t> in, Dims* pads) {
  const size_t nd = a.nd;
  Dims out(nd, kUnknownDim), p = a.pads;
  if (a.auto_pad == "VALID") std::fill(p.begin(), p.end(), 0);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t span = (a.kernel[i] - 1) * a.dilations[i] + 1;
    if (!known(in[i])) continue;
    const int64_t full = a.strides[i] * (in[i] - 1) + a.output_padding[i] + span;
    const bool same = a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER";
    if (!a.output_shape.empty() || same) {
      const int64_t target = !a.output_shape.empty() ? a.output_shape[i] : in[i] * a.strides[i];
      // A negative total (output_shape beyond the full output) extends the end, as the
      // spec's floor division gives.
      const int64_t total = full - target;
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (a.auto_pad == "SAME_UPPER") {
        p[i] = half;
        p[i + nd] = total - half;
      } else {
        p[i] = total - half;
        p[i + nd] = half;
      }
      out[i] = target;
    } else {
      out[i] = full - p[i] - p[i + nd];
    }
  }
  if (pads) *pads = p;
  return out;
}

/// The 2-D geometry a run uses: input (h, w), output (oh, ow), kernel, strides, dilations and
/// the begin pads (the end pads only shorten the output).
struct Geometry2d {
  int64_t h = 1, w = 1, oh = 1, ow = 1, kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
};

Geometry2d geometry_2d(const ConvTransposeAttrs& a, const Dims& in, const Dims& out, const Dims& pads) {
  Geometry2d g;
  const size_t nd = a.nd;
  if (nd == 2) {
    g.h = in[0];
    g.oh = out[0];
    g.kh = a.kernel[0];
    g.sh = a.strides[0];
    g.dh = a.dilations[0];
    g.ph = pads[0];
  }
  const size_t wi = nd - 1;
  g.w = in[wi];
  g.ow = out[wi];
  g.kw = a.kernel[wi];
  g.sw = a.strides[wi];
  g.dw = a.dilations[wi];
  g.pw = pads[wi];
  return g;
}

/// Weights packed once: for each group the GEMM of [C_out/g kH kW, C_in/g] (empty when a
/// dimension is 0).
struct PackedWeights {
  std::vector<PackedGemmF32> groups;
};

Result<std::shared_ptr<const PackedWeights>> pack(const Tensor& w, int64_t groups) {
  const Shape& ws = w.shape();
  const int64_t cig = ws[0] / groups;
  int64_t cols = 1;
  for (size_t i = 1; i < ws.size(); ++i) cols *= ws[i];  // C_out/g kH kW
  auto pw = std::make_shared<PackedWeights>();
  if (cig == 0 || cols == 0) return std::shared_ptr<const PackedWeights>(pw);
  const float* src = w.data<float>().data();
  std::vector<float> t(static_cast<size_t>(cols * cig));
  for (int64_t g = 0; g < groups; ++g) {
    const float* wg = src + g * cig * cols;
    for (int64_t c = 0; c < cig; ++c) {
      for (int64_t j = 0; j < cols; ++j) t[static_cast<size_t>(j * cig + c)] = wg[c * cols + j];
    }
    auto p = PackedGemmF32::pack(t, cols, cig, {}, FusedActivation::kNone);
    if (!p) return p.status();
    pw->groups.push_back(std::move(*p));
  }
  return std::shared_ptr<const PackedWeights>(pw);
}

Status check_run_shapes(const ConvTransposeAttrs& a, const Tensor& x, const Tensor& w, const Tensor* b) {
  const size_t rank = a.nd + 2;
  if (x.shape().size() != rank || w.shape().size() != rank) {
    return shape_mismatch("X " + shape_string(x.shape()) + " and W " + shape_string(w.shape()) +
                          " must both have rank " + std::to_string(rank));
  }
  if (x.shape()[1] != w.shape()[0] || w.shape()[0] % a.groups != 0) {
    return shape_mismatch("X " + shape_string(x.shape()) + " has " + std::to_string(x.shape()[1]) +
                          " channels; W " + shape_string(w.shape()) + " takes " +
                          std::to_string(w.shape()[0]) + " (divisible by group " +
                          std::to_string(a.groups) + ")");
  }
  for (size_t i = 0; i < a.nd; ++i) {
    if (w.shape()[2 + i] != a.kernel[i]) {
      return shape_mismatch("W " + shape_string(w.shape()) + " disagrees with kernel_shape " +
                            ints_string(a.kernel));
    }
  }
  const int64_t c_out = w.shape()[1] * a.groups;
  if (b && (b->rank() != 1 || b->shape()[0] != c_out)) {
    return shape_mismatch("B " + shape_string(b->shape()) + " must be [" + std::to_string(c_out) + "]");
  }
  return Status::ok();
}

Result<Tensor> conv_transpose(const ConvTransposeAttrs& a, const PackedWeights& pw, const Tensor& x,
                              const Tensor& w, const Tensor* b) {
  QL_RETURN_IF_ERROR(check_run_shapes(a, x, w, b));
  const Shape& xs = x.shape();
  const Dims in(xs.begin() + 2, xs.end());
  Dims pads;
  const Dims out = output_spatial(a, in, &pads);
  for (int64_t d : out) {
    if (d < 0) return invalid_argument("the output would have a negative size " + dims_string(out));
  }
  const int64_t n = xs[0], c_in = xs[1], cog = w.shape()[1], c_out = cog * a.groups;
  const int64_t cig = c_in / a.groups;
  Dims y_shape = {n, c_out};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  auto y = new_tensor(DType::kFloat32, y_shape);
  if (!y) return y.status();
  if (y->size() == 0) return y;
  const Geometry2d g = geometry_2d(a, in, out, pads);
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, kk = g.kh * g.kw, cols = cog * kk;
  const float* xp = x.data<float>().data();
  float* yp = y->data<float>().data();
  std::vector<float> xt(static_cast<size_t>(hw * cig)), col(static_cast<size_t>(hw * cols));
  if (!pw.groups.empty()) {
    for (int64_t bi = 0; bi < n; ++bi) {
      for (int64_t gi = 0; gi < a.groups; ++gi) {
        const float* xg = xp + (bi * c_in + gi * cig) * hw;
        for (int64_t c = 0; c < cig; ++c) {
          for (int64_t p = 0; p < hw; ++p) xt[static_cast<size_t>(p * cig + c)] = xg[c * hw + p];
        }
        QL_RETURN_IF_ERROR(pw.groups[static_cast<size_t>(gi)].run(xt.data(), hw, col.data()));
        float* yg = yp + (bi * c_out + gi * cog) * ohw;
        // col2im: pixel (ih, iw), column (co, kh, kw) -> output (ih sh - ph + kh dh, ...).
        for (int64_t ih = 0; ih < g.h; ++ih) {
          for (int64_t iw = 0; iw < g.w; ++iw) {
            const float* cp = col.data() + (ih * g.w + iw) * cols;
            for (int64_t co = 0; co < cog; ++co) {
              float* yc = yg + co * ohw;
              for (int64_t kh = 0; kh < g.kh; ++kh) {
                const int64_t oh = ih * g.sh - g.ph + kh * g.dh;
                if (oh < 0 || oh >= g.oh) continue;
                const float* cr = cp + (co * g.kh + kh) * g.kw;
                float* yr = yc + oh * g.ow;
                for (int64_t kw = 0; kw < g.kw; ++kw) {
                  const int64_t ow = iw * g.sw - g.pw + kw * g.dw;
                  if (ow >= 0 && ow < g.ow) yr[ow] += cr[kw];
                }
              }
            }
          }
        }
      }
    }
  }
  if (b) {
    const float* bp = b->data<float>().data();
    for (int64_t bi = 0; bi < n; ++bi) {
      for (int64_t c = 0; c < c_out; ++c) {
        float* yc = yp + (bi * c_out + c) * ohw;
        for (int64_t i = 0; i < ohw; ++i) yc[i] += bp[c];
      }
    }
  }
  return y;
}

Result<std::unique_ptr<Op>> make_conv_transpose(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_attributes({"auto_pad", "dilations", "group", "kernel_shape",
                                           "output_padding", "output_shape", "pads", "strides"}));
  QL_RETURN_IF_ERROR(ctx.check_arity(2, 3, 1, 1));
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.has_input(i)) QL_RETURN_IF_ERROR(ctx.check_dtype(i, {DType::kFloat32}));
  }
  const ValueInfo& x = ctx.input(0);
  const ValueInfo& w = ctx.input(1);
  if (!w.rank_known) return unsupported("ConvTranspose weights of unknown rank");
  if (w.dims.size() != 3 && w.dims.size() != 4) {
    return unsupported("ConvTranspose with weights " + dims_string(w.dims) +
                       " (quantlab runs 1-D and 2-D ConvTranspose)");
  }
  const size_t nd = w.dims.size() - 2;
  auto attrs = read_attrs(ctx, nd, Dims(w.dims.begin() + 2, w.dims.end()));
  if (!attrs) return attrs.status();
  const ConvTransposeAttrs a = *attrs;
  out[0].dtype = DType::kFloat32;
  out[0].rank_known = true;
  out[0].dims.assign(nd + 2, kUnknownDim);
  if (x.rank_known) {
    if (x.dims.size() != nd + 2) {
      return shape_mismatch("X " + dims_string(x.dims) + " must have rank " + std::to_string(nd + 2));
    }
    auto c = same_dim(x.dims[1], w.dims[0], "X channels and W's first dimension");
    if (!c) return c.status();
    const Dims sp = output_spatial(a, Dims(x.dims.begin() + 2, x.dims.end()), nullptr);
    out[0].dims[0] = x.dims[0];
    std::copy(sp.begin(), sp.end(), out[0].dims.begin() + 2);
  }
  if (known(w.dims[1])) out[0].dims[1] = w.dims[1] * a.groups;
  if (known(w.dims[0]) && w.dims[0] % a.groups != 0) {
    return shape_mismatch("W " + dims_string(w.dims) + ": " + std::to_string(w.dims[0]) +
                          " input channels do not divide into " + std::to_string(a.groups) + " groups");
  }
  std::shared_ptr<const PackedWeights> prepacked;
  if (const Tensor* wc = ctx.constant(1)) {
    auto p = pack(*wc, a.groups);
    if (!p) return p.status();
    prepacked = *p;
  }
  return make_op([a, prepacked](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor* b = in.size() > 2 ? in[2] : nullptr;
    std::shared_ptr<const PackedWeights> pw = prepacked;
    if (!pw) {
      QL_RETURN_IF_ERROR(check_run_shapes(a, *in[0], *in[1], b));
      auto p = pack(*in[1], a.groups);
      if (!p) return p.status();
      pw = *p;
    }
    return set_output(conv_transpose(a, *pw, *in[0], *in[1], b), y[0]);
  });
}

}  // namespace

void register_convtranspose_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "ConvTranspose", {1, 11}, {1, 11}, &make_conv_transpose});
}

}  // namespace quantlab::ops
