// qs8-gemm: int8-weight GEMM micro-kernels with int32 accumulation and per-channel
// requantization (lecture 5, section 5.9). Activations are uint8 or int8; both operands are
// widened to int16 when packed, so one kernel serves both activation types exactly and the
// SIMD128 inner loop is a plain i32x4.dot_i16x8_s (8 multiply-adds) plus i32x4.add.
//
// "c2": the reduction dimension K is split into kp = ceil(K / 2) pairs. One 32-bit lane of a
// vector holds one pair (two int16), so a dot16x2 of a broadcast row pair with a column
// vector yields one int32 partial sum per column lane, with no horizontal reduction.
//
// Two roles share the kernels (the tile computes C[m][n] = sum_k R[m][k] S[n][k]):
//  kLinear (y = x W^T, XNNPACK "gemm"): rows R = activations, packed per call; columns S =
//    weights, packed once; channels (bias, multipliers) run along the columns.
//    A panel (rows), per block of MR rows:   int16 [kp][MR][2]  (row m >= mr is zero)
//    W stream (columns), per block of NR:    int32 bias[NR] | wt w[kp][NR][2] | rq[NR]
//    where wt is int16, or int8 for kernels listed with W_BYTES 1, which widen the weights
//    as they load them (i16x8.load8x8_s is one instruction, like v128.load, and halves the
//    weight traffic that dominates large GEMMs and GEMV).
//  kConv (NCHW convolution): rows R = weights (output channels), packed once; columns S =
//    input pixels gathered per call (im2col); channels run along the rows, so a tile row is
//    a run of NR pixels of one NCHW output channel.
//    W stream (rows), per block of MR:       int32 bias[MR] | rq[MR] | int16 w[kp][MR][2]
//    X panel (columns), per block of NR:     int16 [kp][NR][2]
//  rq, per channel: kFp32 float scale; kGemmlowp int32 M0[], then int32 shift[]; kS32 nothing.
//  (For kGemmlowp the block holds M0[NR] then shift[NR], i.e. 8 bytes per channel.)
//  Padding (k >= K, channels >= N) is zero, so padded lanes contribute nothing.
//
// A micro-kernel computes mr (<= MR) rows and nc columns, walking ceil(nc / NR) column
// blocks, and writes c[m * c_stride + n] (elements of the output type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "isa.h"

namespace quantlab {

/// NR of the xsimd kernels: two xsimd::batch<int32_t> of the build's best architecture.
#if defined(__AVX512BW__)
#define QL_QS8_XSIMD_NR 32
#elif defined(__AVX2__)
#define QL_QS8_XSIMD_NR 16
#else
#define QL_QS8_XSIMD_NR 8
#endif

/// Requantization of a micro-kernel: fp32 (ONNX / XNNPACK "fp32"), gemmlowp fixed point
/// (Q31 multiplier M0 and right shift: SaturatingRoundingDoublingHighMul then
/// RoundingDivideByPOT, XNNPACK "gemmlowp"; not XNNPACK's "rndnu", which rounds once, half
/// up, after a 64-bit multiply), or none (raw int32 accumulators, "s32").
enum class QS8Requant : uint8_t { kFp32, kGemmlowp, kS32 };
/// Which operand carries the weights and the channels (see the banner).
enum class QS8GemmRole : uint8_t { kLinear, kConv };

/// Per-call constants; per-channel values live in the packed weights. Build it with
/// qs8_gemm_params(): SIMD kernels load the derived values after the K loop instead of
/// keeping them in registers through it (V8 has too few on x64; they would spill).
struct QS8GemmParams {
  int32_t zero_point = 0;  ///< Z_Y
  int32_t q_min = 0;       ///< output clamp after the fused activation
  int32_t q_max = 255;
  bool out_signed = false;  ///< int8 (true) or uint8 output; ignored by kS32 kernels
  // Derived:
  float fp32_lo = 0.0f, fp32_hi = 255.0f;  ///< q_min - Z_Y, q_max - Z_Y as float
  int32_t lo = 0, hi = 255;                ///< q_min - Z_Y, q_max - Z_Y
  int32_t magic_bias = 0x4B400000;         ///< bits of 1.5 * 2^23, minus Z_Y
};

inline QS8GemmParams qs8_gemm_params(int32_t zero_point, int32_t q_min, int32_t q_max,
                                     bool out_signed) {
  QS8GemmParams p;
  p.zero_point = zero_point;
  p.q_min = q_min;
  p.q_max = q_max;
  p.out_signed = out_signed;
  p.lo = q_min - zero_point;
  p.hi = q_max - zero_point;
  p.fp32_lo = static_cast<float>(p.lo);
  p.fp32_hi = static_cast<float>(p.hi);
  p.magic_bias = 0x4B400000 - zero_point;
  return p;
}

/// Bytes of per-channel requantization data of a kernel.
constexpr size_t qs8_rq_bytes(QS8Requant r) {
  return r == QS8Requant::kFp32 ? 4 : (r == QS8Requant::kGemmlowp ? 8 : 0);
}

/// kp >= 1 (the SIMD128 kernels run their K loop at least once).
using QS8GemmUkernelFn = void (*)(size_t mr, size_t nc, size_t kp, const void* a,
                                  const void* b, void* c, size_t c_stride,
                                  const QS8GemmParams* params);

#define QL_KERNEL(isa, name, role, requant, mr, nr, w_bytes)                          \
  void name(size_t mr_, size_t nc, size_t kp, const void* a, const void* b, void* c, \
            size_t c_stride, const QS8GemmParams* params);
#include "qs8-gemm/qs8-gemm.inc"
#undef QL_KERNEL

/// The definition of kernel `name` as a call of `impl` (a template instance, in parentheses),
/// for the variant files' QL_KERNEL over qs8-gemm.inc (see QL_ONLY in isa.h).
#define QL_QS8_GEMM_DEFINE(name, impl)                                                 \
  void name(size_t mr_, size_t nc, size_t kp, const void* a, const void* b, void* c, \
            size_t c_stride, const QS8GemmParams* params) {                          \
    impl(mr_, nc, kp, a, b, c, c_stride, params);                                    \
  }

struct QS8GemmUkernel {
  Isa isa;
  const char* name;
  QS8GemmRole role;
  QS8Requant requant;
  uint32_t mr, nr;
  uint32_t w_bytes;  ///< bytes per packed weight of the kLinear W stream (2: int16, 1: int8)
  QS8GemmUkernelFn fn;
};

/// Every micro-kernel compiled into this build, in list order (scalar first).
std::span<const QS8GemmUkernel> qs8_gemm_ukernels();

/// The kernel of `isa` for `role` and `requant` with MR == mr, or with the largest MR when
/// mr == 0; null when this build has none.
const QS8GemmUkernel* qs8_gemm_find(Isa isa, QS8GemmRole role, QS8Requant requant,
                                    uint32_t mr = 0);

/// ISAs that have qs8-gemm kernels in this build, in list order (scalar first).
std::vector<Isa> qs8_gemm_isas();

/// A 64-byte aligned byte buffer (packed weights, per-call panels).
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) { resize(bytes); }
  /// Grows to at least `bytes` (contents are not kept).
  void reserve(size_t bytes) {
    if (bytes > size_) resize(bytes);
  }
  void resize(size_t bytes) {
    data_.reset(bytes ? static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{64}))
                      : nullptr);
    size_ = bytes;
  }
  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<std::byte[], Free> data_;
  size_t size_ = 0;
};

// --- Packing (shared by all variants; the layouts above, for a variant's MR and NR) -------

/// Bytes of one packed block of `nr` (kLinear) or `mr` (kConv) channels with w_bytes per
/// weight.
constexpr size_t qs8_packed_block_bytes(size_t channels, size_t kp, QS8Requant r,
                                        size_t w_bytes = 2) {
  return channels * (4 + qs8_rq_bytes(r) + 2 * w_bytes * kp);
}

/// How far a micro-kernel's B operand advances per block of nr columns: a packed weight
/// block (kLinear), or nr pixels of the int16 im2col panel (kConv).
constexpr size_t qs8_column_block_bytes(QS8GemmRole role, size_t nr, size_t kp, QS8Requant r,
                                        size_t w_bytes = 2) {
  return role == QS8GemmRole::kLinear ? qs8_packed_block_bytes(nr, kp, r, w_bytes) : 4 * kp * nr;
}

/// Per-channel inputs of weight packing. bias: folded int32 bias (q_b - Z_X sum W), n values.
/// rq_fp32: n multipliers (kFp32); rq_M0 / rq_shift: n values (kGemmlowp).
struct QS8PackChannels {
  const int32_t* bias = nullptr;
  const float* rq_fp32 = nullptr;
  const int32_t* rq_M0 = nullptr;
  const int32_t* rq_shift = nullptr;
};

/// Packs W [n, k] (row stride k) into blocks of `block` channels for `role`, w_bytes per
/// weight (2, or 1 for kLinear kernels that widen as they load); out must hold
/// ceil(n / block) * qs8_packed_block_bytes(block, kp, r, w_bytes) bytes.
void qs8_pack_weights(QS8GemmRole role, size_t block, QS8Requant r, size_t n, size_t k,
                      const int8_t* w, const QS8PackChannels& ch, void* out,
                      size_t w_bytes = 2);

// The A panels (kLinear rows) are packed by the x8-packa family, the conv column panels by
// x8-im2col.

}  // namespace quantlab
