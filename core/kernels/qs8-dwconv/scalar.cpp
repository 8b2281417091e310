// qs8-dwconv scalar reference (test oracle and fallback), channel packing and the registry.
#include <cstring>
#include <vector>

#include "qs8-dwconv/qs8-dwconv.h"
#include "quantlab/requantize.hpp"

namespace quantlab {
namespace {

template <QS8Requant kRq, class T>
void dwconv(const DwconvGeometry& g, const QS8DwconvPlane& plane, const QS8GemmParams* params) {
  const T* x = static_cast<const T*>(plane.x);
  const auto* w = static_cast<const std::byte*>(plane.w);
  int32_t bias;
  std::memcpy(&bias, w, 4);
  float scale = 0.0f;
  FixedPointMultiplier fixed;
  std::memcpy(&scale, w + 4, 4);
  std::memcpy(&fixed.M0, w + 4, 4);
  std::memcpy(&fixed.shift, w + 8, 4);
  const auto* taps = reinterpret_cast<const int16_t*>(w + 16);
  for (size_t oh = 0; oh < plane.out_h; ++oh) {
    for (size_t ow = 0; ow < plane.out_w; ++ow) {
      uint32_t acc = static_cast<uint32_t>(bias);  // wraps modulo 2^32 like i32x4.add
      for (size_t kh = 0; kh < g.kernel_h; ++kh) {
        const T* row = x + (oh * g.stride_h + kh * g.dilation_h) * plane.x_stride;
        for (size_t kw = 0; kw < g.kernel_w; ++kw) {
          const int32_t prod = static_cast<int32_t>(row[ow * g.stride_w + kw * g.dilation_w]) *
                               taps[kh * g.kernel_w + kw];
          acc += static_cast<uint32_t>(prod);
        }
      }
      const auto a = static_cast<int32_t>(acc);
      const size_t i = oh * plane.out_w + ow;
      if constexpr (kRq == QS8Requant::kS32) {
        static_cast<int32_t*>(plane.y)[i] = a;
      } else {
        const int32_t q =
            kRq == QS8Requant::kFp32
                ? requantize_fp32(a, scale, params->zero_point, params->q_min, params->q_max)
                : requantize_fixed_point(a, fixed, params->zero_point, params->q_min,
                                         params->q_max);
        if (params->out_signed) {
          static_cast<int8_t*>(plane.y)[i] = static_cast<int8_t>(q);
        } else {
          static_cast<uint8_t*>(plane.y)[i] = static_cast<uint8_t>(q);
        }
      }
    }
  }
}

}  // namespace

// One kernel per kScalar row of qs8-dwconv.inc.
#define QL_KERNEL(isa, name, rq) \
  QL_ONLY(kScalar, isa, QL_QS8_DWCONV_DEFINE_TYPED(name, dwconv, rq))
#include "qs8-dwconv/qs8-dwconv.inc"
#undef QL_KERNEL

std::span<const QS8DwconvUkernel> qs8_dwconv_ukernels() {
  static const std::vector<QS8DwconvUkernel> list = {
#define QL_KERNEL(isa, name, rq) {Isa::isa, #name, QS8Requant::rq, &name},
#include "qs8-dwconv/qs8-dwconv.inc"
#undef QL_KERNEL
  };
  return list;
}

const QS8DwconvUkernel* qs8_dwconv_find(Isa isa, QS8Requant requant) {
  const QS8DwconvUkernel* found = nullptr;
  for (const auto& u : qs8_dwconv_ukernels()) {
    if (u.isa == isa && u.requant == requant) found = &u;
  }
  return found;
}

void qs8_dwconv_pack_channel(size_t taps, const int8_t* w, int32_t bias, QS8Requant r,
                             float rq_fp32, int32_t rq_M0, int32_t rq_shift, void* out) {
  auto* o = static_cast<std::byte*>(out);
  std::memset(o, 0, qs8_dwconv_channel_bytes(taps));
  std::memcpy(o, &bias, 4);
  if (r == QS8Requant::kFp32) {
    std::memcpy(o + 4, &rq_fp32, 4);
  } else if (r == QS8Requant::kGemmlowp) {
    std::memcpy(o + 4, &rq_M0, 4);
    std::memcpy(o + 8, &rq_shift, 4);
  }
  auto* t = reinterpret_cast<int16_t*>(o + 16);
  for (size_t i = 0; i < taps; ++i) t[i] = w[i];
}

}  // namespace quantlab
