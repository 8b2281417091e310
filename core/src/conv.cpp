// Quantized 2-D convolution driver: weight packing (bias folding, per-channel
// multipliers), on-the-fly im2col into the kernels' column panels, and the depthwise path.
// The fp32 driver is conv_f32.cpp, the ONNX operators conv_ops.cpp.
#include "quantlab/conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "conv_internal.hpp"
#include "layer_common.hpp"
#include "qs8-gemm/qs8-gemm.h"

namespace quantlab {

using namespace conv_internal;
using namespace layer_common;

Result<std::pair<int64_t, int64_t>> conv2d_output_size(int64_t h, int64_t w,
                                                       const Conv2dGeometry& g) {
  QL_RETURN_IF_ERROR(validate_geometry(g));
  if (h < 1 || w < 1) {
    return invalid_argument("conv2d: the input size must be >= 1, got " + str(h) + " x " + str(w));
  }
  const int64_t eh = h + g.pad_top + g.pad_bottom - g.dilation_h * (g.kernel_h - 1) - 1;
  const int64_t ew = w + g.pad_left + g.pad_right - g.dilation_w * (g.kernel_w - 1) - 1;
  if (eh < 0 || ew < 0) {
    return invalid_argument("conv2d: the dilated kernel (" + str(g.dilation_h * (g.kernel_h - 1) + 1) +
                            " x " + str(g.dilation_w * (g.kernel_w - 1) + 1) +
                            ") does not fit the padded input (" + str(h + g.pad_top + g.pad_bottom) +
                            " x " + str(w + g.pad_left + g.pad_right) + ")");
  }
  return std::pair<int64_t, int64_t>{eh / g.stride_h + 1, ew / g.stride_w + 1};
}

std::vector<std::string> conv_variants() { return gemm_variants(); }

// --- PackedQConv2d -------------------------------------------------------------------------

struct PackedQConv2d::Impl {
  int64_t c_out = 0, c_in = 0;
  Conv2dGeometry g;
  DType x_dtype = DType::kUInt8;
  int32_t x_zero_point = 0;
  QOutput out;
  Isa isa = Isa::kScalar;
  QS8GemmParams params;
  bool depthwise = false;
  // GEMM path
  const QS8GemmUkernel* uk = nullptr;
  X8Im2colFn im2col = nullptr;
  size_t cog = 0, cig = 0, K = 0, kp = 0, block_bytes = 0, group_bytes = 0;
  // Depthwise path
  const QS8DwconvUkernel* dw = nullptr;
  size_t channel_bytes = 0;
  AlignedBuffer packed;
};

Result<PackedQConv2d> PackedQConv2d::pack(std::span<const int8_t> w, int64_t c_out,
                                          int64_t c_in, const Conv2dGeometry& g,
                                          std::span<const float> w_scales,
                                          std::span<const int32_t> bias, DType x_dtype,
                                          float x_scale, int32_t x_zero_point,
                                          const QOutput& out, std::string_view variant) {
  QL_RETURN_IF_ERROR(validate_channels(c_out, c_in, g, w.size(), "PackedQConv2d"));
  const size_t K = static_cast<size_t>(c_in / g.groups * g.kernel_h * g.kernel_w);
  auto plan = plan_q8_layer("PackedQConv2d", w, c_out, "c_out", K, w_scales, bias, x_dtype,
                            x_scale, x_zero_point, out, variant);
  if (!plan) return plan.status();

  auto impl = std::make_shared<Impl>();
  Impl& I = *impl;
  I.c_out = c_out;
  I.c_in = c_in;
  I.g = g;
  I.x_dtype = x_dtype;
  I.x_zero_point = x_zero_point;
  I.out = out;
  I.isa = plan->isa;
  I.params = plan->params;
  const Isa isa = plan->isa;
  const QS8Requant rq = plan->rq;
  const auto co = static_cast<size_t>(c_out);
  I.cig = static_cast<size_t>(c_in / g.groups);
  I.cog = static_cast<size_t>(c_out / g.groups);
  I.K = K;
  I.kp = (I.K + 1) / 2;

  I.depthwise = g.groups == c_in && c_out == c_in;
  if (I.depthwise) {
    I.dw = qs8_dwconv_find(isa, rq);
    if (I.dw == nullptr) I.dw = qs8_dwconv_find(Isa::kScalar, rq);
    QL_CHECK(I.dw != nullptr);
    I.channel_bytes = qs8_dwconv_channel_bytes(I.K);
    I.packed.resize(co * I.channel_bytes);
    for (size_t o = 0; o < co; ++o) {
      qs8_dwconv_pack_channel(I.K, w.data() + o * I.K, plan->bias[o], rq,
                              plan->fp32.empty() ? 0.0f : plan->fp32[o], plan->M0[o],
                              plan->shift[o], I.packed.data() + o * I.channel_bytes);
    }
  } else {
    I.uk = qs8_gemm_find(isa, QS8GemmRole::kConv, rq);
    QL_CHECK(I.uk != nullptr);
    const X8Im2colUkernel* im2col = x8_im2col_find(isa, I.uk->nr, x_dtype == DType::kInt8);
    QL_CHECK(im2col != nullptr);
    I.im2col = im2col->fn;
    const size_t mr = I.uk->mr;
    I.block_bytes = qs8_packed_block_bytes(mr, I.kp, rq);
    I.group_bytes = (I.cog + mr - 1) / mr * I.block_bytes;
    const auto groups = static_cast<size_t>(g.groups);
    I.packed.resize(groups * I.group_bytes + 64);
    std::memset(I.packed.data() + groups * I.group_bytes, 0, 64);
    for (size_t gi = 0; gi < groups; ++gi) {
      qs8_pack_weights(QS8GemmRole::kConv, mr, rq, I.cog, I.K, w.data() + gi * I.cog * I.K,
                       plan->channels(gi * I.cog), I.packed.data() + gi * I.group_bytes);
    }
  }
  PackedQConv2d c;
  c.impl_ = std::move(impl);
  return c;
}

namespace {

template <class T>
void run_qconv(const PackedQConv2d::Impl& I, const T* x, size_t batch, int64_t h, int64_t w,
               int64_t oh, int64_t ow, std::byte* y) {
  const auto P = static_cast<size_t>(oh * ow);
  const size_t out_size = dtype_size(I.out.dtype);
  const auto pad = static_cast<T>(I.x_zero_point);
  if (I.depthwise) {
    const DwconvGeometry dg = dw_geometry(I.g);
    const auto channels = static_cast<size_t>(I.c_out);
    for_each_padded_plane(x, batch, channels, h, w, I.g, kQS8DwconvOverread, pad,
                          [&](size_t b, size_t c, const T* xp, size_t stride) {
                            QS8DwconvPlane pl;
                            pl.out_h = static_cast<size_t>(oh);
                            pl.out_w = static_cast<size_t>(ow);
                            pl.x = xp;
                            pl.x_stride = stride;
                            pl.x_signed = I.x_dtype == DType::kInt8;
                            pl.w = I.packed.data() + c * I.channel_bytes;
                            pl.y = y + (b * channels + c) * P * out_size;
                            I.dw->fn(dg, pl, &I.params);
                          });
    return;
  }
  const size_t mr = I.uk->mr, nr = I.uk->nr;
  const size_t block_panel = I.kp * nr * 2;  // int16 elements per pixel block
  const size_t chunk_blocks = std::max<size_t>(1, kPanelChunkBytes / (block_panel * 2));
  AlignedBuffer& buf = scratch();
  buf.reserve(chunk_blocks * block_panel * 2 + 64);
  auto* panel = reinterpret_cast<int16_t*>(buf.data());
  const size_t channel_blocks = (I.cog + mr - 1) / mr;
  for_each_pixel_chunk(
      x, batch, static_cast<size_t>(I.c_in), I.cig, h, w, I.g, ow, P, pad, kX8Im2colOverread, nr,
      chunk_blocks * nr, panel, block_panel, I.im2col,
      [&](size_t b, size_t gi, size_t p0, size_t pc) {
        std::byte* yg = y + (b * static_cast<size_t>(I.c_out) + gi * I.cog) * P * out_size;
        const std::byte* wg = I.packed.data() + gi * I.group_bytes;
        for (size_t cb = 0; cb < channel_blocks; ++cb) {
          I.uk->fn(std::min(mr, I.cog - cb * mr), pc, I.kp, wg + cb * I.block_bytes, panel,
                   yg + (cb * mr * P + p0) * out_size, P, &I.params);
        }
      });
}

/// A 1x1 layer over 1x1 images is a fully-connected layer (post-training quantization
/// exports Gemm / MatMul so): image by image it is `batch` GEMVs through a kernel
/// tiled for NR pixels. The batch [N, C] transposed is one image [C, N x 1], so the same
/// packed kernel runs one GEMM over N pixels, and its output [C_out, N] transposes back to
/// [N, C_out]. Same products, sums and requantization per output: bit-exact with the loop.
bool batch_as_pixels(const PackedQConv2d::Impl& I, size_t batch, int64_t h, int64_t w) {
  const Conv2dGeometry& g = I.g;
  return !I.depthwise && batch > 1 && h == 1 && w == 1 && g.kernel_h == 1 && g.kernel_w == 1 &&
         g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
         g.pad_bottom == 0 && g.pad_right == 0;
}

template <class T>
void run_qconv_batch_as_pixels(const PackedQConv2d::Impl& I, const T* x, size_t batch,
                               std::byte* y) {
  const auto c_in = static_cast<size_t>(I.c_in), c_out = static_cast<size_t>(I.c_out);
  const size_t out_size = dtype_size(I.out.dtype);
  thread_local AlignedBuffer xt_buffer, yt_buffer;
  xt_buffer.reserve(c_in * batch * sizeof(T) + 64);
  yt_buffer.reserve(c_out * batch * out_size + 64);
  auto* xt = reinterpret_cast<T*>(xt_buffer.data());
  for (size_t n = 0; n < batch; ++n) {
    for (size_t c = 0; c < c_in; ++c) xt[c * batch + n] = x[n * c_in + c];
  }
  const auto pixels = static_cast<int64_t>(batch);
  run_qconv(I, xt, 1, pixels, 1, pixels, 1, yt_buffer.data());
  const std::byte* yt = yt_buffer.data();
  if (out_size == 1) {
    for (size_t c = 0; c < c_out; ++c) {
      for (size_t n = 0; n < batch; ++n) y[n * c_out + c] = yt[c * batch + n];
    }
  } else {
    for (size_t c = 0; c < c_out; ++c) {
      for (size_t n = 0; n < batch; ++n) {
        std::memcpy(y + (n * c_out + c) * out_size, yt + (c * batch + n) * out_size, out_size);
      }
    }
  }
}

}  // namespace

Status PackedQConv2d::run(const void* x, int64_t batch, int64_t h, int64_t w, void* y) const {
  if (!impl_) return invalid_argument("PackedQConv2d::run: the layer is not packed");
  const Impl& I = *impl_;
  auto size = check_run(x, batch, h, w, y, I.c_in, I.c_out, I.g, 1, "PackedQConv2d::run");
  if (!size) return size.status();
  const auto b = static_cast<size_t>(batch);
  if (batch_as_pixels(I, b, h, w)) {
    if (I.x_dtype == DType::kUInt8) {
      run_qconv_batch_as_pixels(I, static_cast<const uint8_t*>(x), b, static_cast<std::byte*>(y));
    } else {
      run_qconv_batch_as_pixels(I, static_cast<const int8_t*>(x), b, static_cast<std::byte*>(y));
    }
    return Status::ok();
  }
  if (I.x_dtype == DType::kUInt8) {
    run_qconv(I, static_cast<const uint8_t*>(x), b, h, w, size->first, size->second,
              static_cast<std::byte*>(y));
  } else {
    run_qconv(I, static_cast<const int8_t*>(x), b, h, w, size->first, size->second,
              static_cast<std::byte*>(y));
  }
  return Status::ok();
}

int64_t PackedQConv2d::c_out() const { return impl_ ? impl_->c_out : 0; }
int64_t PackedQConv2d::c_in() const { return impl_ ? impl_->c_in : 0; }
Conv2dGeometry PackedQConv2d::geometry() const { return impl_ ? impl_->g : Conv2dGeometry{}; }
DType PackedQConv2d::x_dtype() const { return impl_ ? impl_->x_dtype : DType::kUInt8; }
QOutput PackedQConv2d::output() const { return impl_ ? impl_->out : QOutput{}; }
bool PackedQConv2d::depthwise() const { return impl_ && impl_->depthwise; }
std::string PackedQConv2d::variant() const { return impl_ ? isa_name(impl_->isa) : ""; }
std::string PackedQConv2d::ukernel_name() const {
  if (!impl_) return "";
  return impl_->depthwise ? impl_->dw->name : impl_->uk->name;
}

}  // namespace quantlab
