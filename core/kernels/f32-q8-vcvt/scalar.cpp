// f32 -> q8 conversion, scalar reference (the test oracle and the fallback), and the
// variant registry of the family.
#include <cmath>
#include <vector>

#include "f32-q8-vcvt/f32-q8-vcvt.h"

namespace quantlab {
namespace {

template <class T>
void convert(size_t n, const float* x, T* y, const F32Q8VcvtParams& p) {
  const float lo = static_cast<float>(p.q_min - p.zero_point);
  const float hi = static_cast<float>(p.q_max - p.zero_point);
  for (size_t i = 0; i < n; ++i) {
    float v = x[i] / p.scale;
    v = v < lo ? lo : (v > hi ? hi : v);
    y[i] = static_cast<T>(static_cast<int32_t>(std::nearbyint(v)) + p.zero_point);
  }
}

}  // namespace

void ql_f32_qs8_vcvt_ukernel__scalar(size_t n, const float* x, int8_t* y,
                                     const F32Q8VcvtParams& p) {
  convert(n, x, y, p);
}

void ql_f32_qu8_vcvt_ukernel__scalar(size_t n, const float* x, uint8_t* y,
                                     const F32Q8VcvtParams& p) {
  convert(n, x, y, p);
}

template <class T>
std::span<const F32Q8VcvtVariant<T>> f32_q8_vcvt_variants() {
  static const std::vector<F32Q8VcvtVariant<T>> variants = [] {
    std::vector<F32Q8VcvtVariant<T>> v;
#define QL_KERNEL(isa, name, U) \
  if constexpr (std::is_same_v<T, U>) v.push_back({Isa::isa, #name, &name});
#include "f32-q8-vcvt/f32-q8-vcvt.inc"
#undef QL_KERNEL
    return v;
  }();
  return variants;
}

template std::span<const F32Q8VcvtVariant<int8_t>> f32_q8_vcvt_variants<int8_t>();
template std::span<const F32Q8VcvtVariant<uint8_t>> f32_q8_vcvt_variants<uint8_t>();

}  // namespace quantlab
