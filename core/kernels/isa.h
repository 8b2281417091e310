// Instruction sets a kernel variant can target, and which of them this build compiled.
#pragma once

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
