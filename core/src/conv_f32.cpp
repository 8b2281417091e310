// fp32 2-D convolution driver: weight packing, on-the-fly im2col into the fp32 kernels'
// column panels, and the depthwise path.
#include "quantlab/conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "conv_internal.hpp"
#include "layer_common.hpp"
#include "f32-gemm/f32-gemm.h"

namespace quantlab {

using namespace conv_internal;
using namespace layer_common;

// --- PackedConv2dF32 -----------------------------------------------------------------------

struct PackedConv2dF32::Impl {
  int64_t c_out = 0, c_in = 0;
  Conv2dGeometry g;
  Isa isa = Isa::kScalar;
  F32GemmParams params;
  bool depthwise = false;
  const F32GemmUkernel* uk = nullptr;
  X32Im2colFn im2col = nullptr;
  size_t cog = 0, cig = 0, K = 0, block_floats = 0, group_floats = 0;
  const F32DwconvUkernel* dw = nullptr;
  size_t channel_floats = 0;
  AlignedBuffer packed;
};

Result<PackedConv2dF32> PackedConv2dF32::pack(std::span<const float> w, int64_t c_out,
                                              int64_t c_in, const Conv2dGeometry& g,
                                              std::span<const float> bias, FusedActivation act,
                                              std::string_view variant) {
  QL_RETURN_IF_ERROR(validate_channels(c_out, c_in, g, w.size(), "PackedConv2dF32"));
  QL_RETURN_IF_ERROR(check_bias_size("PackedConv2dF32", bias.size(), c_out, "c_out"));
  QL_RETURN_IF_ERROR(check_finite_f32("PackedConv2dF32", w, bias));
  auto isa = select_isa(variant);
  if (!isa) return isa.status();
  auto impl = std::make_shared<Impl>();
  Impl& I = *impl;
  I.c_out = c_out;
  I.c_in = c_in;
  I.g = g;
  I.isa = *isa;
  I.params = f32_params(act);
  const auto co = static_cast<size_t>(c_out);
  I.cig = static_cast<size_t>(c_in / g.groups);
  I.cog = static_cast<size_t>(c_out / g.groups);
  I.K = I.cig * static_cast<size_t>(g.kernel_h * g.kernel_w);
  I.depthwise = g.groups == c_in && c_out == c_in;
  if (I.depthwise) {
    I.dw = f32_dwconv_find(*isa);
    if (I.dw == nullptr) I.dw = f32_dwconv_find(Isa::kScalar);
    QL_CHECK(I.dw != nullptr);
    I.channel_floats = f32_dwconv_channel_floats(I.K);
    I.packed.resize(co * I.channel_floats * 4);
    auto* p = reinterpret_cast<float*>(I.packed.data());
    std::fill(p, p + co * I.channel_floats, 0.0f);
    for (size_t o = 0; o < co; ++o) {
      float* ch = p + o * I.channel_floats;
      ch[0] = bias.empty() ? 0.0f : bias[o];
      std::copy(w.data() + o * I.K, w.data() + (o + 1) * I.K, ch + 4);
    }
  } else {
    I.uk = f32_gemm_find(*isa, QS8GemmRole::kConv);
    QL_CHECK(I.uk != nullptr);
    const X32Im2colUkernel* im2col = x32_im2col_find(*isa, I.uk->nr);
    QL_CHECK(im2col != nullptr);
    I.im2col = im2col->fn;
    const size_t mr = I.uk->mr;
    I.block_floats = mr * (I.K + 1);
    I.group_floats = (I.cog + mr - 1) / mr * I.block_floats;
    const auto groups = static_cast<size_t>(g.groups);
    I.packed.resize((groups * I.group_floats + 16) * 4);
    auto* p = reinterpret_cast<float*>(I.packed.data());
    std::fill(p, p + groups * I.group_floats + 16, 0.0f);
    for (size_t gi = 0; gi < groups; ++gi) {
      f32_pack_weights(QS8GemmRole::kConv, mr, I.cog, I.K, w.data() + gi * I.cog * I.K,
                       bias.empty() ? nullptr : bias.data() + gi * I.cog,
                       p + gi * I.group_floats);
    }
  }
  PackedConv2dF32 c;
  c.impl_ = std::move(impl);
  return c;
}

Status PackedConv2dF32::run(const float* x, int64_t batch, int64_t h, int64_t w,
                            float* y) const {
  if (!impl_) return invalid_argument("PackedConv2dF32::run: the layer is not packed");
  const Impl& I = *impl_;
  auto size = check_run(x, batch, h, w, y, I.c_in, I.c_out, I.g, 4, "PackedConv2dF32::run");
  if (!size) return size.status();
  const int64_t oh = size->first, ow = size->second;
  const auto P = static_cast<size_t>(oh * ow);
  const auto nb = static_cast<size_t>(batch);
  const auto* packed = reinterpret_cast<const float*>(I.packed.data());
  if (I.depthwise) {
    const DwconvGeometry dg = dw_geometry(I.g);
    const auto channels = static_cast<size_t>(I.c_out);
    for_each_padded_plane(x, nb, channels, h, w, I.g, kF32DwconvOverread, 0.0f,
                          [&](size_t b, size_t c, const float* xp, size_t stride) {
                            F32DwconvPlane pl;
                            pl.out_h = static_cast<size_t>(oh);
                            pl.out_w = static_cast<size_t>(ow);
                            pl.x = xp;
                            pl.x_stride = stride;
                            pl.w = packed + c * I.channel_floats;
                            pl.y = y + (b * channels + c) * P;
                            I.dw->fn(dg, pl, &I.params);
                          });
    return Status::ok();
  }
  const size_t mr = I.uk->mr, nr = I.uk->nr;
  const size_t block_panel = I.K * nr;
  const size_t chunk_blocks = std::max<size_t>(1, kPanelChunkBytes / (block_panel * 4));
  AlignedBuffer& buf = scratch();
  buf.reserve(chunk_blocks * block_panel * 4 + 64);
  auto* panel = reinterpret_cast<float*>(buf.data());
  const size_t channel_blocks = (I.cog + mr - 1) / mr;
  for_each_pixel_chunk(
      x, nb, static_cast<size_t>(I.c_in), I.cig, h, w, I.g, ow, P, 0.0f, kX32Im2colOverread, nr,
      chunk_blocks * nr, panel, block_panel, I.im2col,
      [&](size_t b, size_t gi, size_t p0, size_t pc) {
        float* yg = y + (b * static_cast<size_t>(I.c_out) + gi * I.cog) * P;
        const float* wg = packed + gi * I.group_floats;
        for (size_t cb = 0; cb < channel_blocks; ++cb) {
          I.uk->fn(std::min(mr, I.cog - cb * mr), pc, I.K, wg + cb * I.block_floats, panel,
                   yg + cb * mr * P + p0, P, &I.params);
        }
      });
  return Status::ok();
}

int64_t PackedConv2dF32::c_out() const { return impl_ ? impl_->c_out : 0; }
int64_t PackedConv2dF32::c_in() const { return impl_ ? impl_->c_in : 0; }
Conv2dGeometry PackedConv2dF32::geometry() const { return impl_ ? impl_->g : Conv2dGeometry{}; }
bool PackedConv2dF32::depthwise() const { return impl_ && impl_->depthwise; }
std::string PackedConv2dF32::variant() const { return impl_ ? isa_name(impl_->isa) : ""; }

}  // namespace quantlab
