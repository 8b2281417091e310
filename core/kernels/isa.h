// Instruction sets a kernel variant can target, and which of them this build compiled.
#pragma once

#include <span>

namespace quantlab {

enum class Isa { kScalar, kXsimd, kWasmSimd };

constexpr const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kXsimd: return "xsimd";
    case Isa::kWasmSimd: return "wasmsimd";
  }
  return "?";
}

/// The families' *_find lookups: the last of `kernels` for which found(u) holds, else the
/// last for which fallback(u) holds, else null.
template <class U, class Found, class Fallback>
const U* find_ukernel(std::span<const U> kernels, Found found, Fallback fallback) {
  const U* hit = nullptr;
  const U* spare = nullptr;
  for (const U& u : kernels) {
    if (found(u)) hit = &u;
    if (fallback(u)) spare = &u;
  }
  return hit != nullptr ? hit : spare;
}

}  // namespace quantlab

// Row guards for <family>.inc lists: a row for an ISA this build lacks expands to nothing.
#define QL_IF_SCALAR(row) row
#if defined(QL_HAVE_XSIMD)
#define QL_IF_XSIMD(row) row
#else
#define QL_IF_XSIMD(row)
#endif
#if defined(QL_HAVE_WASMSIMD)
#define QL_IF_WASMSIMD(row) row
#else
#define QL_IF_WASMSIMD(row)
#endif

// QL_ONLY(want, isa, ...): the tokens after isa when isa is `want` (both Isa enumerator names),
// else nothing. A variant file defines its kernels from its family's .inc rows with it, so the
// list of kernels is written once.
#define QL_ONLY(want, isa, ...) QL_ONLY_##want##_##isa(__VA_ARGS__)
#define QL_ONLY_kScalar_kScalar(...) __VA_ARGS__
#define QL_ONLY_kScalar_kXsimd(...)
#define QL_ONLY_kScalar_kWasmSimd(...)
#define QL_ONLY_kXsimd_kScalar(...)
#define QL_ONLY_kXsimd_kXsimd(...) __VA_ARGS__
#define QL_ONLY_kXsimd_kWasmSimd(...)
#define QL_ONLY_kWasmSimd_kScalar(...)
#define QL_ONLY_kWasmSimd_kXsimd(...)
#define QL_ONLY_kWasmSimd_kWasmSimd(...) __VA_ARGS__
