// Quantized (int8) and fp32 matrix multiplication (lecture 5, section 5.9):
// q_Y = Z_Y + (S_W S_X / S_Y) (sum_k q_W (q_X - Z_X) + q_b), int32 accumulation.
//
// Layouts: row-major throughout. A layer y = x W^T + b has x [M, K], W [N, K] (PyTorch
// Linear, ONNX Gemm with transB = 1), y [M, N]. The ONNX MatMul helpers take b as [K, N].
//
// Weights are packed once (PackedQGemm::pack) into the layout of the kernel variant that
// will run them; run() may then be called any number of times. Every compiled variant
// ("scalar", "xsimd", "wasmsimd") produces bit-identical results (tests/core/gemm_test.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantlab/requantize.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {

/// How an int32 accumulator reaches the output grid; the exact contract is the banner of
/// requantize.hpp. kFixedPoint: M = S_W S_X / S_Y (computed in double) decomposed by
/// quantize_multiplier into (M0, shift). kFp32: m = fp32_multiplier(S_W, S_X, S_Y).
/// kQnnpack: the fp32 requantization of PyTorch's qnnpack backend, whose multiplier rounds
/// differently: m = qnnpack_multiplier(S_W, S_X, S_Y) (reproduces torch qnnpack models).
enum class RequantMode { kFixedPoint, kFp32, kQnnpack };

/// An activation folded into the output clamp: kRelu raises q_min to Z_Y; kRelu6 also
/// lowers q_max to Z_Y + round_half_even(6 / S_Y) (6.0 quantized as ONNX QuantizeLinear
/// would, in float32).
enum class FusedActivation { kNone, kRelu, kRelu6 };

/// Output side of a quantized layer. dtype kUInt8 / kInt8 requantizes; kInt32 writes the raw
/// accumulators sum_k q_W (q_X - Z_X) + q_b (scale, zero_point, mode ignored; act must be
/// kNone).
struct QOutput {
  DType dtype = DType::kUInt8;
  float scale = 1.0f;
  int32_t zero_point = 0;
  RequantMode mode = RequantMode::kFp32;
  FusedActivation act = FusedActivation::kNone;
};

/// The output clamp [q_min, q_max] of `out` after its fused activation. Errors: an output
/// dtype other than uint8 / int8, Z_Y outside the grid, a non-finite or non-positive scale.
Result<IntRange> output_range(const QOutput& out);

/// Per-channel requantization multipliers of a layer with weight scales w_scales (1 value,
/// or n per output channel), input scale S_X and output `out`: fp32[i] =
/// fp32_multiplier(S_W[i], S_X, S_Y) and fixed[i] = quantize_multiplier(S_W[i] S_X / S_Y in
/// double); n entries each (empty for an int32 output). Errors: non-finite or non-positive
/// scales, w_scales neither 1 nor n values, a multiplier quantize_multiplier rejects.
struct ChannelMultipliers {
  std::vector<float> fp32;
  std::vector<FixedPointMultiplier> fixed;
};
Result<ChannelMultipliers> channel_multipliers(std::span<const float> w_scales, int64_t n,
                                               float x_scale, const QOutput& out);

/// Kernel variants compiled into this build, slowest first: "scalar", then "xsimd" (native,
/// or SSE4.1 lowered to SIMD128 under Emscripten), then "wasmsimd" (wasm_simd128.h). The last
/// one is the default. Tests and benchmarks pin a variant by name.
std::vector<std::string> gemm_variants();

/// Symmetric int8 weights packed once for repeated use: y[M,N] = x[M,K] * W[N,K]^T.
/// W row-major [N, K], zero point 0, scales per tensor (1 value) or per output channel (N);
/// bias int32 q_b (scale S_W S_X, zero point 0) of length N, or empty. The term
/// -Z_X * sum_k W[n,k] is folded into the bias here, and per-channel multipliers
/// (fixed-point M0/shift or fp32) are precomputed. x: uint8 or int8 with (S_X, Z_X).
class PackedQGemm {
 public:
  PackedQGemm() = default;

  /// Errors: sizes that do not agree (w.size() != n * k, scales neither 1 nor n, bias
  /// neither empty nor n), n or k < 1, x_dtype not uint8 / int8, Z_X outside x's grid,
  /// non-finite or non-positive scales, a multiplier quantize_multiplier rejects, an
  /// unknown `variant` (empty = the best compiled one).
  static Result<PackedQGemm> pack(std::span<const int8_t> w, int64_t n, int64_t k,
                                  std::span<const float> w_scales,
                                  std::span<const int32_t> bias, DType x_dtype, float x_scale,
                                  int32_t x_zero_point, const QOutput& out,
                                  std::string_view variant = {});

  /// x: [m, k] of x_dtype; y: [m, n] of out.dtype (uint8, int8 or int32).
  /// Errors: m < 0, null pointers with m > 0. m == 0 does nothing.
  Status run(const void* x, int64_t m, void* y) const;

  /// Shapes and settings of the packed layer (0 / defaults before pack()).
  int64_t n() const;
  int64_t k() const;
  DType x_dtype() const;
  QOutput output() const;
  /// The variant's name, e.g. "wasmsimd".
  std::string variant() const;
  /// Name of the micro-kernel used for m >= 2 rows, e.g.
  /// "ql_qs8_gemm_minmax_fp32_ukernel_4x8c2__wasmsimd_dot16x2".
  std::string ukernel_name() const;

  struct Impl;

 private:
  // Immutable once packed; copies share it.
  std::shared_ptr<const Impl> impl_;
};

/// fp32 baseline of the same shapes: y[M,N] = x[M,K] * W[N,K]^T + b, then the activation
/// (kRelu: max(y, 0); kRelu6: min(max(y, 0), 6)). Accumulation order is fixed (bias, then
/// k = 0, 1, ...; multiply and add rounded separately), so every variant agrees exactly.
class PackedGemmF32 {
 public:
  PackedGemmF32() = default;

  /// Errors: w.size() != n * k, bias neither empty nor n, n or k < 1, non-finite weights or
  /// bias, an unknown variant.
  static Result<PackedGemmF32> pack(std::span<const float> w, int64_t n, int64_t k,
                                    std::span<const float> bias, FusedActivation act,
                                    std::string_view variant = {});
  /// x: [m, k]; y: [m, n].
  Status run(const float* x, int64_t m, float* y) const;

  int64_t n() const;
  int64_t k() const;
  std::string variant() const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// ONNX QLinearMatMul on 2-D operands (the caller loops over broadcast batch dimensions).
/// a: [M, K] uint8 or int8; b: [K, N] uint8 or int8 (ONNX MatMul layout); b_scale and
/// b_zero_point: 1 value or N (per column). Output y_dtype (uint8 / int8) with fp32
/// requantization exactly as onnxruntime (requantize_fp32 with m = (S_A S_B[n]) / S_Y).
/// Uses the fast kernels when b is int8 with zero point 0, else the scalar reference.
Result<Tensor> qlinear_matmul(const Tensor& a, float a_scale, int32_t a_zero_point,
                              const Tensor& b, std::span<const float> b_scale,
                              std::span<const int32_t> b_zero_point, float y_scale,
                              int32_t y_zero_point, DType y_dtype);

/// ONNX MatMulInteger on 2-D operands: int32 y = (a - a_zp)(b - b_zp). a: [M, K] and b:
/// [K, N], each uint8 or int8; a_zero_point: 1 value or M (per row); b_zero_point: 1 or N.
Result<Tensor> matmul_integer(const Tensor& a, std::span<const int32_t> a_zero_point,
                              const Tensor& b, std::span<const int32_t> b_zero_point);

}  // namespace quantlab
