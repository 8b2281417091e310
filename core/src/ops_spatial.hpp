// Window geometry shared by Conv, QLinearConv, ConvInteger, MaxPool and AveragePool:
// kernel_shape, strides, dilations, pads, auto_pad and ceil_mode, and the output size.
#pragma once

#include <optional>
#include <string>

#include "ops_common.hpp"
#include "quantlab/conv.hpp"

namespace quantlab::ops {

struct SpatialAttrs {
  size_t nd = 2;   ///< number of spatial dimensions
  Dims kernel;     ///< nd sizes
  Dims strides;    ///< nd, default 1
  Dims dilations;  ///< nd, default 1
  Dims pads;       ///< 2 nd: all begins, then all ends (ONNX order), default 0
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

/// Reads the attributes for `nd` spatial dims. kernel: the kernel_shape attribute when
/// `kernel_from_weights` is empty (pooling), else those sizes (conv: W's spatial dims; an
/// explicit kernel_shape must agree). dilations and ceil_mode are refused when not allowed.
Result<SpatialAttrs> read_spatial_attrs(const NodeContext& ctx, size_t nd,
                                        const Dims& kernel_from_weights, bool allow_dilations,
                                        bool allow_ceil_mode);

/// Output spatial sizes for input spatial sizes `in` (unknown dims give unknown outputs) and
/// the begin/end pads actually used (auto_pad resolved), written to *pads when not null.
/// ceil_mode drops a last window that would start in the end padding (as PyTorch).
Result<Dims> spatial_output(const SpatialAttrs& a, std::span<const int64_t> in, Dims* pads);

/// Conv, QLinearConv and ConvInteger: attributes of a 1-D or 2-D convolution (1-D runs as a
/// 2-D convolution with H = 1).
struct ConvSetup {
  SpatialAttrs attrs;
  int64_t groups = 1;
  size_t nd = 2;
};

/// The kernel geometry for input spatial sizes `in_spatial` (auto_pad resolved); the output
/// spatial sizes go to *out_spatial when not null.
Result<Conv2dGeometry> conv_geometry(const ConvSetup& s, std::span<const int64_t> in_spatial,
                                     Dims* out_spatial);

/// Reads the attributes for input x and weights w (W's spatial dims give the kernel), checks
/// channels against groups, and infers y's dims (load time, dims may be unknown).
Result<ConvSetup> read_conv_setup(const NodeContext& ctx, const ValueInfo& x, const ValueInfo& w,
                                  Dims& y_dims);

/// The geometry when it does not depend on the input size (auto_pad NOTSET or VALID), so
/// weights can be packed before the input's spatial size is known.
std::optional<Conv2dGeometry> fixed_geometry(const ConvSetup& s);

/// Run time: checks x against w, returns the geometry, the 2-D (h, w) of x (h = 1 for 1-D)
/// and y's shape.
Result<Conv2dGeometry> run_geometry(const ConvSetup& s, const Tensor& x, const Tensor& w,
                                    int64_t& h, int64_t& wd, Dims& y_shape);

/// GlobalAveragePool / GlobalMaxPool at load: one float32 input of rank >= 3 (N, C,
/// spatial...); the output keeps N and C and has every spatial dimension 1.
Status global_pool_shape(const NodeContext& ctx, std::vector<ValueInfo>& out);

/// GlobalAveragePool / GlobalMaxPool: global_pool_shape at load, then each run checks the
/// input's rank and writes pool(x) (a Result<Tensor>) to the output.
template <class Pool>
Result<std::unique_ptr<Op>> make_global_pool(const NodeContext& ctx, std::vector<ValueInfo>& out,
                                             Pool pool) {
  QL_RETURN_IF_ERROR(global_pool_shape(ctx, out));
  return make_op([pool](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    const Tensor& x = *in[0];
    if (x.rank() < 3) {
      return shape_mismatch("input " + shape_string(x.shape()) + " needs rank >= 3");
    }
    return set_output(pool(x), y[0]);
  });
}

}  // namespace quantlab::ops
