// qs8-dwconv with xsimd: output pixels in int32 lanes (one xsimd::batch<int32_t> at a time).
// The channel's padded plane is widened to int32 once per call, then every tap is one
// unaligned load, one multiply by the splatted weight and one add. Stride > 1 (xsimd 8.1
// has no lane shuffles) and the fixed-point tail use the reference arithmetic per pixel.
#include <xsimd/xsimd.hpp>

#include <cstring>
#include <vector>

#include "qs8-dwconv/qs8-dwconv.h"
#include "quantlab/requantize.hpp"

namespace quantlab {
namespace {

using A = xsimd::default_arch;
using B32 = xsimd::batch<int32_t, A>;
using BF = xsimd::batch<float, A>;
constexpr size_t kV = B32::size;

template <QS8Requant kRq, class T>
void dwconv(const DwconvGeometry& g, const QS8DwconvPlane& plane, const QS8GemmParams* params) {
  // Rows needed and the widened copy (+ kV of slack per plane end for the last vector).
  const size_t rows = (plane.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1;
  thread_local std::vector<int32_t> wide;
  wide.resize(rows * plane.x_stride + kV);
  const T* x = static_cast<const T*>(plane.x);
  for (size_t i = 0; i < rows * plane.x_stride; ++i) wide[i] = x[i];
  std::fill(wide.begin() + static_cast<std::ptrdiff_t>(rows * plane.x_stride), wide.end(), 0);

  const auto* w = static_cast<const std::byte*>(plane.w);
  int32_t bias;
  float scale;
  FixedPointMultiplier fm;
  std::memcpy(&bias, w, 4);
  std::memcpy(&scale, w + 4, 4);
  std::memcpy(&fm.M0, w + 4, 4);
  std::memcpy(&fm.shift, w + 8, 4);
  const auto* taps = reinterpret_cast<const int16_t*>(w + 16);
  const size_t ntaps = g.kernel_h * g.kernel_w;
  const int32_t zp = params->zero_point;
  const BF vscale(scale);
  const BF vlo(static_cast<float>(params->q_min - zp)), vhi(static_cast<float>(params->q_max - zp));
  const BF vmagic(12582912.0f);
  const B32 vmagic_zp(0x4B400000 - zp);
  alignas(64) int32_t out[kV];
  for (size_t oy = 0; oy < plane.out_h; ++oy) {
    const int32_t* row = wide.data() + oy * g.stride_h * plane.x_stride;
    for (size_t ox = 0; ox < plane.out_w; ox += kV) {
      const size_t n = plane.out_w - ox < kV ? plane.out_w - ox : kV;
      B32 acc(bias);
      if (g.stride_w == 1) {
        for (size_t t = 0; t < ntaps; ++t) {
          const int32_t* p = row + ox + (t / g.kernel_w) * g.dilation_h * plane.x_stride +
                             (t % g.kernel_w) * g.dilation_w;
          acc += B32::load_unaligned(p) * B32(static_cast<int32_t>(taps[t]));
        }
        acc.store_aligned(out);
      } else {
        for (size_t j = 0; j < n; ++j) {
          uint32_t s = static_cast<uint32_t>(bias);
          for (size_t t = 0; t < ntaps; ++t) {
            const int32_t* p = row + (ox + j) * g.stride_w + (t / g.kernel_w) * g.dilation_h * plane.x_stride +
                               (t % g.kernel_w) * g.dilation_w;
            s += static_cast<uint32_t>(*p * taps[t]);
          }
          out[j] = static_cast<int32_t>(s);
        }
        acc = B32::load_aligned(out);
      }
      if constexpr (kRq == QS8Requant::kFp32) {
        BF f = xsimd::batch_cast<float>(acc) * vscale;
        f = xsimd::select(f < vlo, vlo, f);
        f = xsimd::select(vhi < f, vhi, f);
        (xsimd::bitwise_cast<B32>(f + vmagic) - vmagic_zp).store_aligned(out);
      }
      const size_t i = oy * plane.out_w + ox;
      for (size_t j = 0; j < n; ++j) {
        int32_t q = out[j];
        if constexpr (kRq == QS8Requant::kS32) {
          static_cast<int32_t*>(plane.y)[i + j] = q;
          continue;
        } else if constexpr (kRq == QS8Requant::kGemmlowp) {
          q = requantize_fixed_point(q, fm, zp, params->q_min, params->q_max);
        }
        if (params->out_signed) {
          static_cast<int8_t*>(plane.y)[i + j] = static_cast<int8_t>(q);
        } else {
          static_cast<uint8_t*>(plane.y)[i + j] = static_cast<uint8_t>(q);
        }
      }
    }
  }
}

}  // namespace

// One kernel per kXsimd row of qs8-dwconv.inc.
#define QL_KERNEL(isa, name, rq) \
  QL_ONLY(kXsimd, isa, QL_QS8_DWCONV_DEFINE_TYPED(name, dwconv, rq))
#include "qs8-dwconv/qs8-dwconv.inc"
#undef QL_KERNEL

}  // namespace quantlab
