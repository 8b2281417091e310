// Seeded random numbers for the compression and training code, identical on every standard
// library: std::mt19937's raw output is specified by the standard, but the distributions
// (uniform_real_distribution, normal_distribution, shuffle) are not, and libc++ (Emscripten)
// and libstdc++ (native) differ. So the native and wasm builds draw the same uniform numbers
// (normal01 goes through log and cos, whose last bit may differ between the two libms).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace quantlab::dc {

/// Uniform double in [0, 1) with 53 random bits (genrand_res53 of the MT reference code).
inline double uniform01(std::mt19937& rng) {
  const uint32_t a = static_cast<uint32_t>(rng()) >> 5, b = static_cast<uint32_t>(rng()) >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/// Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift with rejection: unbiased).
inline uint32_t uniform_below(std::mt19937& rng, uint32_t n) {
  uint64_t m = uint64_t{static_cast<uint32_t>(rng())} * n;
  uint32_t low = static_cast<uint32_t>(m);
  if (low < n) {
    const uint32_t threshold = static_cast<uint32_t>(-n) % n;
    while (low < threshold) {
      m = uint64_t{static_cast<uint32_t>(rng())} * n;
      low = static_cast<uint32_t>(m);
    }
  }
  return static_cast<uint32_t>(m >> 32);
}

/// Standard normal deviate (Box-Muller on two uniform01 draws).
inline double normal01(std::mt19937& rng) {
  double u = uniform01(rng);
  while (u <= 0.0) u = uniform01(rng);
  const double v = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
}

/// Fisher-Yates shuffle of [first, first + n).
template <class T>
void shuffle(T* first, size_t n, std::mt19937& rng) {
  for (size_t i = n; i > 1; --i) {
    const size_t j = uniform_below(rng, static_cast<uint32_t>(i));
    T tmp = first[i - 1];
    first[i - 1] = first[j];
    first[j] = tmp;
  }
}

}  // namespace quantlab::dc
