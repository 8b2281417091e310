// Quantized and fp32 2-D convolution drivers: geometry checks, weight packing (bias
// folding, per-channel multipliers), on-the-fly im2col into the kernels' column panels,
// the depthwise path, and the ONNX QLinearConv / ConvInteger operators with their scalar
// references for non-zero weight zero points.
#include "quantlab/conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "f32-dwconv/f32-dwconv.h"
#include "f32-gemm/f32-gemm.h"
#include "qs8-dwconv/qs8-dwconv.h"
#include "qs8-gemm/qs8-gemm.h"
#include "x32-im2col/x32-im2col.h"
#include "x8-im2col/x8-im2col.h"

namespace quantlab {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

Result<Isa> select_isa(std::string_view variant) {
  const auto isas = qs8_gemm_isas();
  if (variant.empty()) return isas.back();
  std::string names;
  for (Isa isa : isas) {
    if (variant == isa_name(isa)) return isa;
    names += (names.empty() ? "" : ", ") + std::string(isa_name(isa));
  }
  return invalid_argument("unknown kernel variant '" + std::string(variant) +
                          "' (this build has: " + names + ")");
}

AlignedBuffer& scratch() {
  thread_local AlignedBuffer buffer;
  return buffer;
}

AlignedBuffer& plane_scratch() {
  thread_local AlignedBuffer buffer;
  return buffer;
}

int32_t wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

F32GemmParams f32_params(FusedActivation act) {
  F32GemmParams p;
  if (act != FusedActivation::kNone) p.min = 0.0f;
  if (act == FusedActivation::kRelu6) p.max = 6.0f;
  return p;
}

Status validate_geometry(const Conv2dGeometry& g) {
  if (g.kernel_h < 1 || g.kernel_w < 1) {
    return invalid_argument("conv2d: the kernel size must be >= 1, got " + str(g.kernel_h) +
                            " x " + str(g.kernel_w));
  }
  if (g.stride_h < 1 || g.stride_w < 1) {
    return invalid_argument("conv2d: strides must be >= 1, got " + str(g.stride_h) + ", " +
                            str(g.stride_w));
  }
  if (g.dilation_h < 1 || g.dilation_w < 1) {
    return invalid_argument("conv2d: dilations must be >= 1, got " + str(g.dilation_h) + ", " +
                            str(g.dilation_w));
  }
  if (g.pad_top < 0 || g.pad_left < 0 || g.pad_bottom < 0 || g.pad_right < 0) {
    return invalid_argument("conv2d: pads must be >= 0");
  }
  if (g.groups < 1) return invalid_argument("conv2d: groups must be >= 1, got " + str(g.groups));
  constexpr int64_t kLimit = int64_t{1} << 20;
  if (g.kernel_h > kLimit || g.kernel_w > kLimit || g.stride_h > kLimit || g.stride_w > kLimit ||
      g.dilation_h > kLimit || g.dilation_w > kLimit || g.pad_top > kLimit ||
      g.pad_left > kLimit || g.pad_bottom > kLimit || g.pad_right > kLimit) {
    return too_large("conv2d: geometry values must be <= 2^20");
  }
  return Status::ok();
}

Status validate_channels(int64_t c_out, int64_t c_in, const Conv2dGeometry& g, size_t w_size,
                         const char* what) {
  QL_RETURN_IF_ERROR(validate_geometry(g));
  if (c_out < 1 || c_in < 1) {
    return invalid_argument(std::string(what) + ": channel counts must be >= 1, got c_out = " +
                            str(c_out) + ", c_in = " + str(c_in));
  }
  if (c_in % g.groups != 0 || c_out % g.groups != 0) {
    return invalid_argument(std::string(what) + ": c_in = " + str(c_in) + " and c_out = " +
                            str(c_out) + " must be divisible by groups = " + str(g.groups));
  }
  const uint64_t expected = static_cast<uint64_t>(c_out) *
                            static_cast<uint64_t>(c_in / g.groups) *
                            static_cast<uint64_t>(g.kernel_h) * static_cast<uint64_t>(g.kernel_w);
  if (expected > kMaxTensorBytes / 4) return too_large(std::string(what) + ": too many weights");
  if (w_size != expected) {
    return shape_mismatch(std::string(what) + ": w has " + std::to_string(w_size) +
                          " values, expected c_out * c_in / groups * kh * kw = " +
                          std::to_string(expected));
  }
  return Status::ok();
}

/// Checks run() arguments and returns (oh, ow).
Result<std::pair<int64_t, int64_t>> check_run(const void* x, int64_t batch, int64_t h,
                                              int64_t w, const void* y, int64_t c_in,
                                              int64_t c_out, const Conv2dGeometry& g,
                                              size_t elem, const char* what) {
  if (batch < 0) return invalid_argument(std::string(what) + ": batch must be >= 0");
  auto size = conv2d_output_size(h, w, g);
  if (!size) return size.status();
  const double in_bytes = static_cast<double>(batch) * static_cast<double>(c_in) *
                          static_cast<double>(h) * static_cast<double>(w) * static_cast<double>(elem);
  const double out_bytes = static_cast<double>(batch) * static_cast<double>(c_out) *
                           static_cast<double>(size->first) * static_cast<double>(size->second) * 4.0;
  if (in_bytes > static_cast<double>(kMaxTensorBytes) ||
      out_bytes > static_cast<double>(kMaxTensorBytes)) {
    return too_large(std::string(what) + ": the problem is too large");
  }
  if (batch > 0 && (x == nullptr || y == nullptr)) {
    return invalid_argument(std::string(what) + ": null x or y");
  }
  return size;
}

/// A padded plane: rows of `stride` elements; `pad` around the image and in the row slack,
/// and `slack` more elements after the last row. fill_padding() writes everything but the
/// image once; copy_image() then writes only the image rows (the padding is the same for
/// every channel of a layer, so it is written once per call, not once per channel).
template <class Out>
void fill_padding(int64_t h, const Conv2dGeometry& g, size_t stride, size_t slack, Out pad,
                  Out* out) {
  const auto hp = static_cast<size_t>(h + g.pad_top + g.pad_bottom);
  std::fill(out, out + hp * stride + slack, pad);
}

template <class T, class Out>
void copy_image(const T* x, int64_t h, int64_t w, const Conv2dGeometry& g, size_t stride,
                Out* out) {
  const auto pl = static_cast<size_t>(g.pad_left);
  for (int64_t iy = 0; iy < h; ++iy) {
    Out* row = out + static_cast<size_t>(iy + g.pad_top) * stride + pl;
    const T* src = x + iy * w;
    if constexpr (std::is_same_v<T, Out>) {
      std::memcpy(row, src, static_cast<size_t>(w) * sizeof(T));
    } else {
      for (size_t i = 0; i < static_cast<size_t>(w); ++i) row[i] = static_cast<Out>(src[i]);
    }
  }
}

/// The group's `channels` planes with the padding materialized, rows of exactly the padded
/// width, plus `slack` elements after the last row; returns the im2col geometry.
template <class T>
Im2colGeometry pad_group(const T* x, size_t channels, int64_t h, int64_t w,
                         const Conv2dGeometry& g, int64_t ow, T pad, size_t slack,
                         AlignedBuffer& buf) {
  Im2colGeometry ig;
  ig.channels = channels;
  ig.kernel_h = static_cast<size_t>(g.kernel_h);
  ig.kernel_w = static_cast<size_t>(g.kernel_w);
  ig.stride_h = static_cast<size_t>(g.stride_h);
  ig.stride_w = static_cast<size_t>(g.stride_w);
  ig.dilation_h = static_cast<size_t>(g.dilation_h);
  ig.dilation_w = static_cast<size_t>(g.dilation_w);
  ig.out_w = static_cast<size_t>(ow);
  const auto hp = static_cast<size_t>(h + g.pad_top + g.pad_bottom);
  ig.row_stride = static_cast<size_t>(w + g.pad_left + g.pad_right);
  ig.plane_stride = hp * ig.row_stride;
  buf.reserve((channels * ig.plane_stride + slack) * sizeof(T) + 64);
  T* out = reinterpret_cast<T*>(buf.data());
  const auto plane = static_cast<size_t>(h * w);
  const size_t total = channels * ig.plane_stride;
  if (g.pad_left == 0 && g.pad_right == 0) {
    // Padded rows are image rows: one copy per plane (one for the group without padding).
    const auto top = static_cast<size_t>(g.pad_top) * ig.row_stride;
    if (top == 0 && hp == static_cast<size_t>(h)) {
      std::memcpy(out, x, total * sizeof(T));
    } else {
      for (size_t c = 0; c < channels; ++c) {
        T* dst = out + c * ig.plane_stride;
        std::fill(dst, dst + top, pad);
        std::memcpy(dst + top, x + c * plane, plane * sizeof(T));
        std::fill(dst + top + plane, dst + ig.plane_stride, pad);
      }
    }
  } else {
    std::fill(out, out + total, pad);
    for (size_t c = 0; c < channels; ++c) {
      copy_image(x + c * plane, h, w, g, ig.row_stride, out + c * ig.plane_stride);
    }
  }
  std::fill(out + total, out + total + slack, pad);
  thread_local std::vector<uint32_t> offsets;
  offsets.resize(channels * ig.kernel_h * ig.kernel_w);
  im2col_tap_offsets(ig, offsets.data());
  ig.tap_offset = offsets.data();
  return ig;
}

AlignedBuffer& group_scratch() {
  thread_local AlignedBuffer buffer;
  return buffer;
}

DwconvGeometry dw_geometry(const Conv2dGeometry& g) {
  DwconvGeometry d;
  d.kernel_h = static_cast<size_t>(g.kernel_h);
  d.kernel_w = static_cast<size_t>(g.kernel_w);
  d.stride_h = static_cast<size_t>(g.stride_h);
  d.stride_w = static_cast<size_t>(g.stride_w);
  d.dilation_h = static_cast<size_t>(g.dilation_h);
  d.dilation_w = static_cast<size_t>(g.dilation_w);
  return d;
}

size_t padded_stride(int64_t w, const Conv2dGeometry& g, size_t overread) {
  const auto wp = static_cast<size_t>(w + g.pad_left + g.pad_right);
  return (wp + overread + 7) / 8 * 8;
}

// Column panel budget per chunk of output pixels (fits L1/L2 alongside the weights).
constexpr size_t kPanelChunkBytes = size_t{48} << 10;

}  // namespace

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
  if (!bias.empty() && bias.size() != static_cast<size_t>(c_out)) {
    return shape_mismatch("PackedQConv2d: bias has " + std::to_string(bias.size()) +
                          " values, expected 0 or c_out = " + str(c_out));
  }
  if (x_dtype != DType::kUInt8 && x_dtype != DType::kInt8) {
    return invalid_argument(std::string("PackedQConv2d: x must be uint8 or int8, got ") +
                            dtype_name(x_dtype));
  }
  const int32_t x_min = x_dtype == DType::kUInt8 ? 0 : -128;
  const int32_t x_max = x_dtype == DType::kUInt8 ? 255 : 127;
  if (x_zero_point < x_min || x_zero_point > x_max) {
    return invalid_argument("PackedQConv2d: the input zero point " + std::to_string(x_zero_point) +
                            " is outside the " + dtype_name(x_dtype) + " grid");
  }
  if (out.dtype == DType::kInt32 && out.act != FusedActivation::kNone) {
    return invalid_argument("PackedQConv2d: an int32 output cannot fuse an activation");
  }
  auto mult = channel_multipliers(w_scales, c_out, x_scale, out);
  if (!mult) return mult.status();
  auto isa = select_isa(variant);
  if (!isa) return isa.status();

  auto impl = std::make_shared<Impl>();
  Impl& I = *impl;
  I.c_out = c_out;
  I.c_in = c_in;
  I.g = g;
  I.x_dtype = x_dtype;
  I.x_zero_point = x_zero_point;
  I.out = out;
  I.isa = *isa;
  const QS8Requant rq = out.dtype == DType::kInt32
                            ? QS8Requant::kS32
                            : (out.mode == RequantMode::kFp32 ? QS8Requant::kFp32
                                                              : QS8Requant::kRndnu);
  if (out.dtype != DType::kInt32) {
    auto range = output_range(out);
    I.params = qs8_gemm_params(out.zero_point, static_cast<int32_t>(range->q_min),
                             static_cast<int32_t>(range->q_max), out.dtype == DType::kInt8);
  }
  const auto co = static_cast<size_t>(c_out);
  I.cig = static_cast<size_t>(c_in / g.groups);
  I.cog = static_cast<size_t>(c_out / g.groups);
  I.K = I.cig * static_cast<size_t>(g.kernel_h * g.kernel_w);
  I.kp = (I.K + 1) / 2;

  std::vector<int32_t> folded(co), M0(co), shift(co);
  for (size_t o = 0; o < co; ++o) {
    int64_t sum = 0;
    for (size_t j = 0; j < I.K; ++j) sum += w[o * I.K + j];
    folded[o] = wrap32((bias.empty() ? 0 : int64_t{bias[o]}) - int64_t{x_zero_point} * sum);
    if (!mult->fixed.empty()) {
      M0[o] = mult->fixed[o].M0;
      shift[o] = mult->fixed[o].shift;
    }
  }

  I.depthwise = g.groups == c_in && c_out == c_in;
  if (I.depthwise) {
    I.dw = qs8_dwconv_find(*isa, rq);
    if (I.dw == nullptr) I.dw = qs8_dwconv_find(Isa::kScalar, rq);
    QL_CHECK(I.dw != nullptr);
    I.channel_bytes = qs8_dwconv_channel_bytes(I.K);
    I.packed.resize(co * I.channel_bytes);
    for (size_t o = 0; o < co; ++o) {
      qs8_dwconv_pack_channel(I.K, w.data() + o * I.K, folded[o], rq,
                              mult->fp32.empty() ? 0.0f : mult->fp32[o], M0[o], shift[o],
                              I.packed.data() + o * I.channel_bytes);
    }
  } else {
    I.uk = qs8_gemm_find(*isa, QS8GemmRole::kConv, rq);
    QL_CHECK(I.uk != nullptr);
    const X8Im2colUkernel* im2col = x8_im2col_find(*isa, I.uk->nr, x_dtype == DType::kInt8);
    QL_CHECK(im2col != nullptr);
    I.im2col = im2col->fn;
    const size_t mr = I.uk->mr;
    I.block_bytes = qs8_packed_block_bytes(mr, I.kp, rq);
    I.group_bytes = (I.cog + mr - 1) / mr * I.block_bytes;
    const auto groups = static_cast<size_t>(g.groups);
    I.packed.resize(groups * I.group_bytes + 64);
    std::memset(I.packed.data() + groups * I.group_bytes, 0, 64);
    for (size_t gi = 0; gi < groups; ++gi) {
      QS8PackChannels ch;
      ch.bias = folded.data() + gi * I.cog;
      ch.rq_fp32 = mult->fp32.empty() ? nullptr : mult->fp32.data() + gi * I.cog;
      ch.rq_M0 = M0.data() + gi * I.cog;
      ch.rq_shift = shift.data() + gi * I.cog;
      qs8_pack_weights(QS8GemmRole::kConv, mr, rq, I.cog, I.K, w.data() + gi * I.cog * I.K, ch,
                       I.packed.data() + gi * I.group_bytes);
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
  const auto plane = static_cast<size_t>(h * w);
  const size_t out_size = dtype_size(I.out.dtype);
  if (I.depthwise) {
    const size_t stride = padded_stride(w, I.g, kQS8DwconvOverread);
    const auto hp = static_cast<size_t>(h + I.g.pad_top + I.g.pad_bottom);
    AlignedBuffer& buf = plane_scratch();
    buf.reserve(hp * stride + kQS8DwconvOverread + 64);
    auto* xp = reinterpret_cast<T*>(buf.data());
    const DwconvGeometry dg = dw_geometry(I.g);
    const auto channels = static_cast<size_t>(I.c_out);
    fill_padding(h, I.g, stride, kQS8DwconvOverread, static_cast<T>(I.x_zero_point), xp);
    for (size_t b = 0; b < batch; ++b) {
      for (size_t c = 0; c < channels; ++c) {
        copy_image(x + (b * channels + c) * plane, h, w, I.g, stride, xp);
        QS8DwconvPlane pl;
        pl.out_h = static_cast<size_t>(oh);
        pl.out_w = static_cast<size_t>(ow);
        pl.x = xp;
        pl.x_stride = stride;
        pl.x_signed = I.x_dtype == DType::kInt8;
        pl.w = I.packed.data() + c * I.channel_bytes;
        pl.y = y + (b * channels + c) * P * out_size;
        I.dw->fn(dg, pl, &I.params);
      }
    }
    return;
  }
  const size_t mr = I.uk->mr, nr = I.uk->nr;
  const size_t block_panel = I.kp * nr * 2;  // int16 elements per pixel block
  const size_t chunk_blocks = std::max<size_t>(1, kPanelChunkBytes / (block_panel * 2));
  AlignedBuffer& buf = scratch();
  buf.reserve(chunk_blocks * block_panel * 2 + 64);
  auto* panel = reinterpret_cast<int16_t*>(buf.data());
  const auto groups = static_cast<size_t>(I.g.groups);
  const size_t channel_blocks = (I.cog + mr - 1) / mr;
  for (size_t b = 0; b < batch; ++b) {
    for (size_t gi = 0; gi < groups; ++gi) {
      const T* xg = x + (b * static_cast<size_t>(I.c_in) + gi * I.cig) * plane;
      const Im2colGeometry ig = pad_group(xg, I.cig, h, w, I.g, ow, static_cast<T>(I.x_zero_point),
                                          kX8Im2colOverread, group_scratch());
      const void* xpad = group_scratch().data();
      std::byte* yg = y + (b * static_cast<size_t>(I.c_out) + gi * I.cog) * P * out_size;
      const std::byte* wg = I.packed.data() + gi * I.group_bytes;
      for (size_t p0 = 0; p0 < P; p0 += chunk_blocks * nr) {
        const size_t pc = std::min(chunk_blocks * nr, P - p0);
        for (size_t j = 0; j * nr < pc; ++j) {
          I.im2col(ig, xpad, nr, p0 + j * nr, std::min(nr, pc - j * nr), panel + j * block_panel);
        }
        for (size_t cb = 0; cb < channel_blocks; ++cb) {
          I.uk->fn(std::min(mr, I.cog - cb * mr), pc, I.kp, wg + cb * I.block_bytes, panel,
                   yg + (cb * mr * P + p0) * out_size, P, &I.params);
        }
      }
    }
  }
}

/// A 1x1 layer over 1x1 images is a fully-connected layer (post-training quantization
/// exports Gemm / MatMul so, issue 4): image by image it is `batch` GEMVs through a kernel
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
  if (!bias.empty() && bias.size() != static_cast<size_t>(c_out)) {
    return shape_mismatch("PackedConv2dF32: bias has " + std::to_string(bias.size()) +
                          " values, expected 0 or c_out = " + str(c_out));
  }
  for (float v : w) {
    if (!std::isfinite(v)) return not_finite("PackedConv2dF32: the weights must be finite");
  }
  for (float v : bias) {
    if (!std::isfinite(v)) return not_finite("PackedConv2dF32: the bias must be finite");
  }
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
  const auto plane = static_cast<size_t>(h * w);
  const auto nb = static_cast<size_t>(batch);
  const auto* packed = reinterpret_cast<const float*>(I.packed.data());
  if (I.depthwise) {
    const size_t stride = padded_stride(w, I.g, kF32DwconvOverread);
    const auto hp = static_cast<size_t>(h + I.g.pad_top + I.g.pad_bottom);
    AlignedBuffer& buf = plane_scratch();
    buf.reserve((hp * stride + kF32DwconvOverread) * 4 + 64);
    auto* xp = reinterpret_cast<float*>(buf.data());
    const DwconvGeometry dg = dw_geometry(I.g);
    const auto channels = static_cast<size_t>(I.c_out);
    fill_padding(h, I.g, stride, kF32DwconvOverread, 0.0f, xp);
    for (size_t b = 0; b < nb; ++b) {
      for (size_t c = 0; c < channels; ++c) {
        copy_image(x + (b * channels + c) * plane, h, w, I.g, stride, xp);
        F32DwconvPlane pl;
        pl.out_h = static_cast<size_t>(oh);
        pl.out_w = static_cast<size_t>(ow);
        pl.x = xp;
        pl.x_stride = stride;
        pl.w = packed + c * I.channel_floats;
        pl.y = y + (b * channels + c) * P;
        I.dw->fn(dg, pl, &I.params);
      }
    }
    return Status::ok();
  }
  const size_t mr = I.uk->mr, nr = I.uk->nr;
  const size_t block_panel = I.K * nr;
  const size_t chunk_blocks = std::max<size_t>(1, kPanelChunkBytes / (block_panel * 4));
  AlignedBuffer& buf = scratch();
  buf.reserve(chunk_blocks * block_panel * 4 + 64);
  auto* panel = reinterpret_cast<float*>(buf.data());
  const auto groups = static_cast<size_t>(I.g.groups);
  const size_t channel_blocks = (I.cog + mr - 1) / mr;
  for (size_t b = 0; b < nb; ++b) {
    for (size_t gi = 0; gi < groups; ++gi) {
      const float* xg = x + (b * static_cast<size_t>(I.c_in) + gi * I.cig) * plane;
      const Im2colGeometry ig = pad_group(xg, I.cig, h, w, I.g, ow, 0.0f, kX32Im2colOverread,
                                          group_scratch());
      const auto* xpad = reinterpret_cast<const float*>(group_scratch().data());
      float* yg = y + (b * static_cast<size_t>(I.c_out) + gi * I.cog) * P;
      const float* wg = packed + gi * I.group_floats;
      for (size_t p0 = 0; p0 < P; p0 += chunk_blocks * nr) {
        const size_t pc = std::min(chunk_blocks * nr, P - p0);
        for (size_t j = 0; j * nr < pc; ++j) {
          I.im2col(ig, xpad, nr, p0 + j * nr, std::min(nr, pc - j * nr), panel + j * block_panel);
        }
        for (size_t cb = 0; cb < channel_blocks; ++cb) {
          I.uk->fn(std::min(mr, I.cog - cb * mr), pc, I.K, wg + cb * I.block_floats, panel,
                   yg + cb * mr * P + p0, P, &I.params);
        }
      }
    }
  }
  return Status::ok();
}

int64_t PackedConv2dF32::c_out() const { return impl_ ? impl_->c_out : 0; }
int64_t PackedConv2dF32::c_in() const { return impl_ ? impl_->c_in : 0; }
Conv2dGeometry PackedConv2dF32::geometry() const { return impl_ ? impl_->g : Conv2dGeometry{}; }
bool PackedConv2dF32::depthwise() const { return impl_ && impl_->depthwise; }
std::string PackedConv2dF32::variant() const { return impl_ ? isa_name(impl_->isa) : ""; }

// --- ONNX operators ------------------------------------------------------------------------

namespace {

Status check_conv_operands(const Tensor& x, const Tensor& w, const Conv2dGeometry& g,
                           const char* what) {
  if (x.rank() != 4 || w.rank() != 4) {
    return invalid_argument(std::string(what) + ": x and w must be 4-D (NCHW, OIHW), got " +
                            shape_string(x.shape()) + " and " + shape_string(w.shape()));
  }
  for (const Tensor* t : {&x, &w}) {
    if (t->dtype() != DType::kUInt8 && t->dtype() != DType::kInt8) {
      return invalid_argument(std::string(what) + ": x and w must be uint8 or int8, got " +
                              dtype_name(t->dtype()));
    }
  }
  if (w.dim(2) != g.kernel_h || w.dim(3) != g.kernel_w) {
    return shape_mismatch(std::string(what) + ": w " + shape_string(w.shape()) +
                          " does not match the kernel size " + str(g.kernel_h) + " x " +
                          str(g.kernel_w));
  }
  if (x.dim(1) != w.dim(1) * g.groups) {
    return shape_mismatch(std::string(what) + ": x has " + str(x.dim(1)) +
                          " channels, w expects " + str(w.dim(1)) + " x " + str(g.groups) +
                          " groups");
  }
  return Status::ok();
}

int32_t q8_at(const Tensor& t, size_t i) {
  return t.dtype() == DType::kUInt8 ? int32_t{t.data<uint8_t>()[i]}
                                    : int32_t{t.data<int8_t>()[i]};
}

/// Direct convolution of (x - x_zp) with (w - w_zp[o]) plus bias: int32 accumulators.
std::vector<int32_t> reference_conv(const Tensor& x, int32_t x_zp, const Tensor& w,
                                    std::span<const int32_t> w_zp, const Tensor* bias,
                                    const Conv2dGeometry& g, int64_t oh, int64_t ow) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = w.dim(0), cig = w.dim(1), cog = O / g.groups;
  std::vector<int32_t> acc(static_cast<size_t>(N * O * oh * ow));
  size_t i = 0;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t o = 0; o < O; ++o) {
      const int64_t grp = o / cog;
      const int32_t wz = w_zp[w_zp.size() == 1 ? 0 : static_cast<size_t>(o)];
      const int32_t b = bias != nullptr ? bias->data<int32_t>()[static_cast<size_t>(o)] : 0;
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t xo = 0; xo < ow; ++xo, ++i) {
          uint32_t a = static_cast<uint32_t>(b);
          for (int64_t ci = 0; ci < cig; ++ci) {
            const int64_t c = grp * cig + ci;
            for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
              const int64_t iy = y * g.stride_h - g.pad_top + kh * g.dilation_h;
              if (iy < 0 || iy >= H) continue;
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t ix = xo * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (ix < 0 || ix >= W) continue;
                const int32_t xv = q8_at(x, static_cast<size_t>(((n * C + c) * H + iy) * W + ix));
                const int32_t wv =
                    q8_at(w, static_cast<size_t>(((o * cig + ci) * g.kernel_h + kh) * g.kernel_w + kw));
                a += static_cast<uint32_t>((xv - x_zp) * (wv - wz));
              }
            }
          }
          acc[i] = static_cast<int32_t>(a);
        }
      }
    }
  }
  return acc;
}

Status check_zero_points(std::span<const int32_t> zp, DType dtype, const char* what) {
  const int32_t lo = dtype == DType::kUInt8 ? 0 : -128;
  const int32_t hi = dtype == DType::kUInt8 ? 255 : 127;
  for (int32_t z : zp) {
    if (z < lo || z > hi) {
      return invalid_argument(std::string(what) + " zero point " + std::to_string(z) +
                              " is outside the " + dtype_name(dtype) + " grid");
    }
  }
  return Status::ok();
}

}  // namespace

Result<Tensor> qlinear_conv(const Tensor& x, float x_scale, int32_t x_zero_point,
                            const Tensor& w, std::span<const float> w_scale,
                            std::span<const int32_t> w_zero_point, float y_scale,
                            int32_t y_zero_point, DType y_dtype, const Tensor* bias,
                            const Conv2dGeometry& g) {
  QL_RETURN_IF_ERROR(validate_geometry(g));
  QL_RETURN_IF_ERROR(check_conv_operands(x, w, g, "QLinearConv"));
  const int64_t O = w.dim(0);
  if (w_zero_point.size() != 1 && w_zero_point.size() != static_cast<size_t>(O)) {
    return shape_mismatch("QLinearConv: w_zero_point must have 1 or C_out values");
  }
  QL_RETURN_IF_ERROR(check_zero_points({&x_zero_point, 1}, x.dtype(), "QLinearConv: x"));
  QL_RETURN_IF_ERROR(check_zero_points(w_zero_point, w.dtype(), "QLinearConv: w"));
  if (bias != nullptr && (bias->dtype() != DType::kInt32 || bias->size() != static_cast<size_t>(O))) {
    return shape_mismatch("QLinearConv: bias must be int32 with C_out = " + str(O) + " values");
  }
  QOutput out;
  out.dtype = y_dtype;
  out.scale = y_scale;
  out.zero_point = y_zero_point;
  out.mode = RequantMode::kFp32;
  auto range = output_range(out);
  if (!range) return range.status();
  auto mult = channel_multipliers(w_scale, O, x_scale, out);
  if (!mult) return mult.status();
  if (O % g.groups != 0) return invalid_argument("QLinearConv: C_out must be divisible by groups");
  auto size = conv2d_output_size(x.dim(2), x.dim(3), g);
  if (!size) return size.status();
  auto y = Tensor::create(y_dtype, {x.dim(0), O, size->first, size->second});
  if (!y) return y.status();
  const bool fast = w.dtype() == DType::kInt8 &&
                    std::all_of(w_zero_point.begin(), w_zero_point.end(),
                                [](int32_t z) { return z == 0; });
  if (fast) {
    std::span<const int32_t> b;
    if (bias != nullptr) b = bias->data<int32_t>();
    auto packed = PackedQConv2d::pack(w.data<int8_t>(), O, x.dim(1), g, w_scale, b, x.dtype(),
                                      x_scale, x_zero_point, out);
    if (!packed) return packed.status();
    QL_RETURN_IF_ERROR(packed->run(x.raw(), x.dim(0), x.dim(2), x.dim(3), y->raw()));
    return y;
  }
  const auto acc = reference_conv(x, x_zero_point, w, w_zero_point, bias, g, size->first,
                                  size->second);
  const size_t per_channel = static_cast<size_t>(size->first * size->second);
  for (size_t i = 0; i < acc.size(); ++i) {
    const size_t o = (i / per_channel) % static_cast<size_t>(O);
    const int32_t q = requantize_fp32(acc[i], mult->fp32[o], y_zero_point,
                                      static_cast<int32_t>(range->q_min),
                                      static_cast<int32_t>(range->q_max));
    if (y_dtype == DType::kInt8) {
      y->data<int8_t>()[i] = static_cast<int8_t>(q);
    } else {
      y->data<uint8_t>()[i] = static_cast<uint8_t>(q);
    }
  }
  return y;
}

Result<Tensor> conv_integer(const Tensor& x, int32_t x_zero_point, const Tensor& w,
                            std::span<const int32_t> w_zero_point, const Conv2dGeometry& g) {
  QL_RETURN_IF_ERROR(validate_geometry(g));
  QL_RETURN_IF_ERROR(check_conv_operands(x, w, g, "ConvInteger"));
  const int64_t O = w.dim(0);
  if (w_zero_point.size() != 1 && w_zero_point.size() != static_cast<size_t>(O)) {
    return shape_mismatch("ConvInteger: w_zero_point must have 1 or C_out values");
  }
  QL_RETURN_IF_ERROR(check_zero_points({&x_zero_point, 1}, x.dtype(), "ConvInteger: x"));
  QL_RETURN_IF_ERROR(check_zero_points(w_zero_point, w.dtype(), "ConvInteger: w"));
  if (O % g.groups != 0) return invalid_argument("ConvInteger: C_out must be divisible by groups");
  auto size = conv2d_output_size(x.dim(2), x.dim(3), g);
  if (!size) return size.status();
  auto y = Tensor::create(DType::kInt32, {x.dim(0), O, size->first, size->second});
  if (!y) return y.status();
  const bool fast = w.dtype() == DType::kInt8 &&
                    std::all_of(w_zero_point.begin(), w_zero_point.end(),
                                [](int32_t z) { return z == 0; });
  if (fast) {
    QOutput out;
    out.dtype = DType::kInt32;
    const float one = 1.0f;
    auto packed = PackedQConv2d::pack(w.data<int8_t>(), O, x.dim(1), g, {&one, 1}, {},
                                      x.dtype(), 1.0f, x_zero_point, out);
    if (!packed) return packed.status();
    QL_RETURN_IF_ERROR(packed->run(x.raw(), x.dim(0), x.dim(2), x.dim(3), y->raw()));
    return y;
  }
  const auto acc = reference_conv(x, x_zero_point, w, w_zero_point, nullptr, g, size->first,
                                  size->second);
  std::copy(acc.begin(), acc.end(), y->data<int32_t>().begin());
  return y;
}

}  // namespace quantlab
