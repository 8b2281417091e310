// Internals shared by the convolution drivers (conv.cpp: quantized, conv_f32.cpp: fp32) and
// the ONNX convolution operators (conv_ops.cpp): geometry and argument checks, per-thread
// scratch buffers, and the padded planes the im2col and depthwise kernels read.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "f32-dwconv/f32-dwconv.h"
#include "qs8-dwconv/qs8-dwconv.h"
#include "quantlab/conv.hpp"
#include "x32-im2col/x32-im2col.h"
#include "x8-im2col/x8-im2col.h"

namespace quantlab::conv_internal {

inline std::string str(int64_t v) { return std::to_string(v); }

inline AlignedBuffer& scratch() {
  thread_local AlignedBuffer buffer;
  return buffer;
}

inline AlignedBuffer& plane_scratch() {
  thread_local AlignedBuffer buffer;
  return buffer;
}

inline Status validate_geometry(const Conv2dGeometry& g) {
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

inline Status validate_channels(int64_t c_out, int64_t c_in, const Conv2dGeometry& g, size_t w_size,
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
inline Result<std::pair<int64_t, int64_t>> check_run(const void* x, int64_t batch, int64_t h,
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

/// The kernel window of g (kernel size, strides, dilations) into a kernel's geometry.
template <class KernelGeometry>
void set_window(const Conv2dGeometry& g, KernelGeometry& d) {
  d.kernel_h = static_cast<size_t>(g.kernel_h);
  d.kernel_w = static_cast<size_t>(g.kernel_w);
  d.stride_h = static_cast<size_t>(g.stride_h);
  d.stride_w = static_cast<size_t>(g.stride_w);
  d.dilation_h = static_cast<size_t>(g.dilation_h);
  d.dilation_w = static_cast<size_t>(g.dilation_w);
}

/// The group's `channels` planes with the padding materialized, rows of exactly the padded
/// width, plus `slack` elements after the last row; returns the im2col geometry.
template <class T>
Im2colGeometry pad_group(const T* x, size_t channels, int64_t h, int64_t w,
                         const Conv2dGeometry& g, int64_t ow, T pad, size_t slack,
                         AlignedBuffer& buf) {
  Im2colGeometry ig;
  ig.channels = channels;
  set_window(g, ig);
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

inline AlignedBuffer& group_scratch() {
  thread_local AlignedBuffer buffer;
  return buffer;
}

inline DwconvGeometry dw_geometry(const Conv2dGeometry& g) {
  DwconvGeometry d;
  set_window(g, d);
  return d;
}

inline size_t padded_stride(int64_t w, const Conv2dGeometry& g, size_t overread) {
  const auto wp = static_cast<size_t>(w + g.pad_left + g.pad_right);
  return (wp + overread + 7) / 8 * 8;
}

// Column panel budget per chunk of output pixels (fits L1/L2 alongside the weights).
inline constexpr size_t kPanelChunkBytes = size_t{48} << 10;

/// The depthwise path of run(): each (image, channel) plane copied into one padded plane
/// whose padding is written once, then plane_fn(b, c, xp, stride) on it.
template <class T, class PlaneFn>
void for_each_padded_plane(const T* x, size_t batch, size_t channels, int64_t h, int64_t w,
                           const Conv2dGeometry& g, size_t overread, T pad, PlaneFn plane_fn) {
  const size_t stride = padded_stride(w, g, overread);
  const auto hp = static_cast<size_t>(h + g.pad_top + g.pad_bottom);
  AlignedBuffer& buf = plane_scratch();
  buf.reserve((hp * stride + overread) * sizeof(T) + 64);
  auto* xp = reinterpret_cast<T*>(buf.data());
  const auto plane = static_cast<size_t>(h * w);
  fill_padding(h, g, stride, overread, pad, xp);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t c = 0; c < channels; ++c) {
      copy_image(x + (b * channels + c) * plane, h, w, g, stride, xp);
      plane_fn(b, c, static_cast<const T*>(xp), stride);
    }
  }
}

/// The GEMM path of run(): per (image, group) the group's padded planes (pad_group), then per
/// chunk of up to chunk_pixels of the `pixels` output pixels (a multiple of nr) its im2col
/// panels, one per block of nr pixels, block_panel elements apart; tile_fn(b, gi, p0, pc)
/// then runs the channel blocks on the chunk's pc pixels from p0.
template <class T, class Panel, class Im2colFn, class TileFn>
void for_each_pixel_chunk(const T* x, size_t batch, size_t c_in, size_t cig, int64_t h, int64_t w,
                          const Conv2dGeometry& g, int64_t ow, size_t pixels, T pad,
                          size_t overread, size_t nr, size_t chunk_pixels, Panel* panel,
                          size_t block_panel, Im2colFn im2col, TileFn tile_fn) {
  const auto plane = static_cast<size_t>(h * w);
  const auto groups = static_cast<size_t>(g.groups);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t gi = 0; gi < groups; ++gi) {
      const T* xg = x + (b * c_in + gi * cig) * plane;
      const Im2colGeometry ig = pad_group(xg, cig, h, w, g, ow, pad, overread, group_scratch());
      const auto* xpad = reinterpret_cast<const T*>(group_scratch().data());
      for (size_t p0 = 0; p0 < pixels; p0 += chunk_pixels) {
        const size_t pc = std::min(chunk_pixels, pixels - p0);
        for (size_t j = 0; j * nr < pc; ++j) {
          im2col(ig, xpad, nr, p0 + j * nr, std::min(nr, pc - j * nr), panel + j * block_panel);
        }
        tile_fn(b, gi, p0, pc);
      }
    }
  }
}

}  // namespace quantlab::conv_internal
