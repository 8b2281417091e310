// Quantized and fp32 GEMM drivers: validation, packing (bias folding, per-channel
// multipliers), variant selection, cache blocking, and the ONNX QLinearMatMul /
// MatMulInteger operators with their scalar references for non-zero weight zero points.
#include "quantlab/gemm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "f32-gemm/f32-gemm.h"
#include "qs8-gemm/qs8-gemm.h"
#include "layer_common.hpp"
#include "x8-packa/x8-packa.h"
#include "number_string.hpp"

namespace quantlab {

using namespace layer_common;

namespace {

bool finite_positive(float v) { return std::isfinite(v) && v > 0.0f; }

/// Per-thread scratch for the per-call panels.
AlignedBuffer& scratch() {
  thread_local AlignedBuffer buffer;
  return buffer;
}

/// Weights w [n, k] of elem_bytes each (the packed form's element size).
Status check_gemm_weights(const char* what, int64_t n, int64_t k, size_t w_size,
                          uint64_t elem_bytes) {
  if (n < 1 || k < 1) {
    return invalid_argument(std::string(what) + ": n and k must be >= 1, got n = " +
                            std::to_string(n) + ", k = " + std::to_string(k));
  }
  if (static_cast<uint64_t>(n) * static_cast<uint64_t>(k) > kMaxTensorBytes / elem_bytes) {
    return too_large(std::string(what) + ": " + std::to_string(n) + " x " + std::to_string(k) +
                     " weights are too large");
  }
  if (w_size != static_cast<size_t>(n * k)) {
    return shape_mismatch(std::string(what) + ": w has " + std::to_string(w_size) +
                          " values, expected n * k = " + std::to_string(n * k));
  }
  return Status::ok();
}

/// run(x, m, y) of a layer [n, k]: m >= 0, x and y given when m > 0, and not too large.
Status check_gemm_run(const char* what, const void* x, int64_t m, const void* y, int64_t n,
                      int64_t k) {
  if (m < 0) return invalid_argument(std::string(what) + ": m must be >= 0, got " + std::to_string(m));
  if (m == 0) return Status::ok();
  if (x == nullptr || y == nullptr) return invalid_argument(std::string(what) + ": null x or y");
  if (static_cast<uint64_t>(m) * static_cast<uint64_t>(std::max(n, k)) * 4 > kMaxTensorBytes) {
    return too_large(std::string(what) + ": m = " + std::to_string(m) + " is too large");
  }
  return Status::ok();
}

// Two-level cache blocking (GotoBLAS style, without splitting K): a block of A panels
// (kABlockBytes, packed once per call) and a chunk of packed weights (kWeightChunkBytes)
// both stay in L2 while every row block of the A block sweeps the weight chunk. Half of a
// 512 KB L2, since the two vCPUs of this machine kind may share it with another process.
constexpr size_t kWeightChunkBytes = size_t{96} << 10;
constexpr size_t kABlockBytes = size_t{128} << 10;

/// The two-level blocking of run() (see kABlockBytes): per block of block_rows rows, pack
/// each row block b (rows r0 .. r0 + mr_b) once, then sweep the columns in chunks of
/// chunk_cols, running every row block on each chunk: tile(b, r0, mr_b, n0, nc).
template <class Pack, class Tile>
void for_each_tile(size_t rows, size_t n, size_t mr, size_t block_rows, size_t chunk_cols,
                   Pack pack, Tile tile) {
  for (size_t m0 = 0; m0 < rows; m0 += block_rows) {
    const size_t mb = std::min(block_rows, rows - m0);
    const size_t row_blocks = (mb + mr - 1) / mr;
    for (size_t b = 0; b < row_blocks; ++b) {
      const size_t r0 = m0 + b * mr;
      pack(b, r0, std::min(mr, rows - r0));
    }
    for (size_t n0 = 0; n0 < n; n0 += chunk_cols) {
      const size_t nc = std::min(chunk_cols, n - n0);
      for (size_t b = 0; b < row_blocks; ++b) {
        const size_t r0 = m0 + b * mr;
        tile(b, r0, std::min(mr, rows - r0), n0, nc);
      }
    }
  }
}

}  // namespace

// --- Output grid and multipliers -----------------------------------------------------------

Result<IntRange> output_range(const QOutput& out) {
  IntRange r;
  if (out.dtype == DType::kUInt8) {
    r = {0, 255};
  } else if (out.dtype == DType::kInt8) {
    r = {-128, 127};
  } else {
    return invalid_argument(std::string("the output of a quantized layer must be uint8 or int8 "
                                        "to requantize, got ") + dtype_name(out.dtype));
  }
  if (!finite_positive(out.scale)) {
    return invalid_argument("the output scale must be finite and > 0, got " + number_string(out.scale));
  }
  if (out.zero_point < r.q_min || out.zero_point > r.q_max) {
    return invalid_argument("the output zero point " + std::to_string(out.zero_point) +
                            " is outside the " + dtype_name(out.dtype) + " grid");
  }
  if (out.act == FusedActivation::kRelu || out.act == FusedActivation::kRelu6) {
    r.q_min = std::max<int64_t>(r.q_min, out.zero_point);
  }
  if (out.act == FusedActivation::kRelu6) {
    const float six = std::nearbyint(6.0f / out.scale);
    const double top = static_cast<double>(out.zero_point) + static_cast<double>(six);
    if (top < static_cast<double>(r.q_max)) r.q_max = static_cast<int64_t>(top);
  }
  return r;
}

Result<ChannelMultipliers> channel_multipliers(std::span<const float> w_scales, int64_t n,
                                               float x_scale, const QOutput& out) {
  if (n < 1) return invalid_argument("the number of output channels must be >= 1");
  if (w_scales.size() != 1 && w_scales.size() != static_cast<size_t>(n)) {
    return shape_mismatch("weight scales: expected 1 (per tensor) or " + std::to_string(n) +
                          " (per output channel) values, got " +
                          std::to_string(w_scales.size()));
  }
  for (size_t i = 0; i < w_scales.size(); ++i) {
    if (!finite_positive(w_scales[i])) {
      return invalid_argument("weight scale [" + std::to_string(i) +
                              "] must be finite and > 0, got " + number_string(w_scales[i]));
    }
  }
  if (!finite_positive(x_scale)) {
    return invalid_argument("the input scale must be finite and > 0, got " + number_string(x_scale));
  }
  ChannelMultipliers m;
  if (out.dtype == DType::kInt32) return m;
  auto range = output_range(out);
  if (!range) return range.status();
  const auto count = static_cast<size_t>(n);
  m.fp32.resize(count);
  m.fixed.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const float s_w = w_scales[w_scales.size() == 1 ? 0 : i];
    m.fp32[i] = out.mode == RequantMode::kQnnpack ? qnnpack_multiplier(s_w, x_scale, out.scale)
                                                  : fp32_multiplier(s_w, x_scale, out.scale);
    if (!std::isfinite(m.fp32[i])) {
      return invalid_argument("the requantization multiplier of channel " + std::to_string(i) +
                              " overflows float32");
    }
    auto fixed = quantize_multiplier(static_cast<double>(s_w) * static_cast<double>(x_scale) /
                                     static_cast<double>(out.scale));
    if (!fixed) return fixed.status();
    m.fixed[i] = *fixed;
  }
  return m;
}

std::vector<std::string> gemm_variants() {
  std::vector<std::string> v;
  for (Isa isa : qs8_gemm_isas()) v.emplace_back(isa_name(isa));
  return v;
}

// --- PackedQGemm ---------------------------------------------------------------------------

struct PackedQGemm::Impl {
  int64_t n = 0, k = 0;
  size_t kp = 0;
  DType x_dtype = DType::kUInt8;
  QOutput out;
  Isa isa = Isa::kScalar;
  QS8GemmParams params;
  const QS8GemmUkernel* main = nullptr;
  const QS8GemmUkernel* gemv = nullptr;  // MR = 1 kernel, or null
  X8PackaFn packa = nullptr;             // A panels for `main`
  X8PackaFn packa1 = nullptr;            // and for `gemv`
  size_t block_bytes = 0;
  size_t chunk_blocks = 1;  // column blocks per L2 chunk
  AlignedBuffer packed;
};

Result<PackedQGemm> PackedQGemm::pack(std::span<const int8_t> w, int64_t n, int64_t k,
                                      std::span<const float> w_scales,
                                      std::span<const int32_t> bias, DType x_dtype,
                                      float x_scale, int32_t x_zero_point, const QOutput& out,
                                      std::string_view variant) {
  QL_RETURN_IF_ERROR(check_gemm_weights("PackedQGemm", n, k, w.size(), 2));
  const auto nn = static_cast<size_t>(n);
  const auto kk = static_cast<size_t>(k);
  auto plan = plan_q8_layer("PackedQGemm", w, n, "n", kk, w_scales, bias, x_dtype, x_scale,
                            x_zero_point, out, variant);
  if (!plan) return plan.status();
  const Isa isa = plan->isa;

  auto impl = std::make_shared<Impl>();
  impl->n = n;
  impl->k = k;
  impl->kp = static_cast<size_t>((k + 1) / 2);
  impl->x_dtype = x_dtype;
  impl->out = out;
  impl->isa = isa;
  impl->params = plan->params;
  const QS8Requant rq = plan->rq;
  impl->main = qs8_gemm_find(isa, QS8GemmRole::kLinear, rq);
  impl->gemv = qs8_gemm_find(isa, QS8GemmRole::kLinear, rq, 1);
  QL_CHECK(impl->main != nullptr);
  const bool x_signed = x_dtype == DType::kInt8;
  const X8PackaUkernel* packa = x8_packa_find(isa, impl->main->mr, x_signed);
  QL_CHECK(packa != nullptr);
  impl->packa = packa->fn;
  if (impl->gemv != nullptr) {
    const X8PackaUkernel* packa1 = x8_packa_find(isa, 1, x_signed);
    QL_CHECK(packa1 != nullptr);
    impl->packa1 = packa1->fn;
  }
  const size_t nr = impl->main->nr;
  impl->block_bytes = qs8_packed_block_bytes(nr, impl->kp, rq, impl->main->w_bytes);
  const size_t blocks = (nn + nr - 1) / nr;
  impl->chunk_blocks = std::max<size_t>(1, kWeightChunkBytes / impl->block_bytes);
  impl->packed.resize(blocks * impl->block_bytes + 64);  // + slack for vector over-reads
  std::memset(impl->packed.data() + blocks * impl->block_bytes, 0, 64);
  QL_CHECK(impl->gemv == nullptr || impl->gemv->w_bytes == impl->main->w_bytes);
  qs8_pack_weights(QS8GemmRole::kLinear, nr, rq, nn, kk, w.data(), plan->channels(0), impl->packed.data(),
                   impl->main->w_bytes);

  PackedQGemm g;
  g.impl_ = std::move(impl);
  return g;
}

Status PackedQGemm::run(const void* x, int64_t m, void* y) const {
  if (!impl_) return invalid_argument("PackedQGemm::run: the layer is not packed");
  const Impl& I = *impl_;
  QL_RETURN_IF_ERROR(check_gemm_run("PackedQGemm::run", x, m, y, I.n, I.k));
  if (m == 0) return Status::ok();
  const auto rows = static_cast<size_t>(m);
  const auto n = static_cast<size_t>(I.n);
  const auto k = static_cast<size_t>(I.k);
  const size_t kp = I.kp;
  const size_t out_size = dtype_size(I.out.dtype);
  auto* out = static_cast<std::byte*>(y);
  const auto* in = static_cast<const std::byte*>(x);
  AlignedBuffer& buf = scratch();

  if (rows == 1 && I.gemv != nullptr) {
    buf.reserve(kp * 4 + 64);
    auto* panel = reinterpret_cast<int16_t*>(buf.data());
    I.packa1(1, k, in, k, panel);
    I.gemv->fn(1, n, kp, panel, I.packed.data(), out, n, &I.params);
    return Status::ok();
  }
  const size_t mr = I.main->mr;
  const size_t nr = I.main->nr;
  const size_t panel_elems = kp * mr * 2;
  const size_t block_rows = std::max<size_t>(1, kABlockBytes / (panel_elems * 2)) * mr;
  const size_t chunk_cols = I.chunk_blocks * nr;
  buf.reserve((std::min(rows, block_rows) + mr - 1) / mr * panel_elems * 2 + 64);
  auto* panels = reinterpret_cast<int16_t*>(buf.data());
  for_each_tile(
      rows, n, mr, block_rows, chunk_cols,
      [&](size_t b, size_t r0, size_t mb) {
        I.packa(mb, k, in + r0 * k, k, panels + b * panel_elems);
      },
      [&](size_t b, size_t r0, size_t mb, size_t n0, size_t nc) {
        I.main->fn(mb, nc, kp, panels + b * panel_elems,
                   I.packed.data() + (n0 / nr) * I.block_bytes, out + (r0 * n + n0) * out_size,
                   n, &I.params);
      });
  return Status::ok();
}

int64_t PackedQGemm::n() const { return impl_ ? impl_->n : 0; }
int64_t PackedQGemm::k() const { return impl_ ? impl_->k : 0; }
DType PackedQGemm::x_dtype() const { return impl_ ? impl_->x_dtype : DType::kUInt8; }
QOutput PackedQGemm::output() const { return impl_ ? impl_->out : QOutput{}; }
std::string PackedQGemm::variant() const { return impl_ ? isa_name(impl_->isa) : ""; }
std::string PackedQGemm::ukernel_name() const { return impl_ ? impl_->main->name : ""; }

// --- PackedGemmF32 -------------------------------------------------------------------------

struct PackedGemmF32::Impl {
  int64_t n = 0, k = 0;
  Isa isa = Isa::kScalar;
  F32GemmParams params;
  const F32GemmUkernel* main = nullptr;
  const F32GemmUkernel* gemv = nullptr;
  size_t block_floats = 0;
  size_t chunk_blocks = 1;
  AlignedBuffer packed;
};

Result<PackedGemmF32> PackedGemmF32::pack(std::span<const float> w, int64_t n, int64_t k,
                                          std::span<const float> bias, FusedActivation act,
                                          std::string_view variant) {
  QL_RETURN_IF_ERROR(check_gemm_weights("PackedGemmF32", n, k, w.size(), 4));
  QL_RETURN_IF_ERROR(check_bias_size("PackedGemmF32", bias.size(), n, "n"));
  QL_RETURN_IF_ERROR(check_finite_f32("PackedGemmF32", w, bias));
  auto isa = select_isa(variant);
  if (!isa) return isa.status();
  auto impl = std::make_shared<Impl>();
  impl->n = n;
  impl->k = k;
  impl->isa = *isa;
  impl->params = f32_params(act);
  impl->main = f32_gemm_find(*isa, QS8GemmRole::kLinear);
  impl->gemv = f32_gemm_find(*isa, QS8GemmRole::kLinear, 1);
  QL_CHECK(impl->main != nullptr);
  const size_t nr = impl->main->nr;
  const auto nn = static_cast<size_t>(n);
  const auto kk = static_cast<size_t>(k);
  impl->block_floats = nr * (kk + 1);
  impl->chunk_blocks = std::max<size_t>(1, kWeightChunkBytes / (4 * impl->block_floats));
  const size_t blocks = (nn + nr - 1) / nr;
  impl->packed.resize(blocks * impl->block_floats * 4 + 64);
  std::memset(impl->packed.data(), 0, impl->packed.size());
  f32_pack_weights(QS8GemmRole::kLinear, nr, nn, kk, w.data(),
                   bias.empty() ? nullptr : bias.data(),
                   reinterpret_cast<float*>(impl->packed.data()));
  PackedGemmF32 g;
  g.impl_ = std::move(impl);
  return g;
}

Status PackedGemmF32::run(const float* x, int64_t m, float* y) const {
  if (!impl_) return invalid_argument("PackedGemmF32::run: the layer is not packed");
  const Impl& I = *impl_;
  QL_RETURN_IF_ERROR(check_gemm_run("PackedGemmF32::run", x, m, y, I.n, I.k));
  if (m == 0) return Status::ok();
  const auto rows = static_cast<size_t>(m);
  const auto n = static_cast<size_t>(I.n);
  const auto k = static_cast<size_t>(I.k);
  const auto* w = reinterpret_cast<const float*>(I.packed.data());
  AlignedBuffer& buf = scratch();
  if (rows == 1 && I.gemv != nullptr) {
    I.gemv->fn(1, n, k, x, w, y, n, &I.params);  // a [k][1] panel is the row itself
    return Status::ok();
  }
  const size_t mr = I.main->mr;
  const size_t nr = I.main->nr;
  const size_t panel_floats = k * mr;
  const size_t block_rows = std::max<size_t>(1, kABlockBytes / (panel_floats * 4)) * mr;
  const size_t chunk_cols = I.chunk_blocks * nr;
  buf.reserve((std::min(rows, block_rows) + mr - 1) / mr * panel_floats * 4 + 64);
  auto* panels = reinterpret_cast<float*>(buf.data());
  for_each_tile(
      rows, n, mr, block_rows, chunk_cols,
      [&](size_t b, size_t r0, size_t mb) {
        f32_pack_a(mb, mr, k, x + r0 * k, k, panels + b * panel_floats);
      },
      [&](size_t b, size_t r0, size_t mb, size_t n0, size_t nc) {
        I.main->fn(mb, nc, k, panels + b * panel_floats, w + (n0 / nr) * I.block_floats,
                   y + r0 * n + n0, n, &I.params);
      });
  return Status::ok();
}

int64_t PackedGemmF32::n() const { return impl_ ? impl_->n : 0; }
int64_t PackedGemmF32::k() const { return impl_ ? impl_->k : 0; }
std::string PackedGemmF32::variant() const { return impl_ ? isa_name(impl_->isa) : ""; }

// --- ONNX operators ------------------------------------------------------------------------

namespace {

Status check_q8_matrix(const Tensor& t, const char* what) {
  if (t.rank() != 2) {
    return invalid_argument(std::string(what) + " must be 2-D, got " + shape_string(t.shape()));
  }
  if (t.dtype() != DType::kUInt8 && t.dtype() != DType::kInt8) {
    return invalid_argument(std::string(what) + " must be uint8 or int8, got " +
                            dtype_name(t.dtype()));
  }
  return Status::ok();
}

/// W [N, K] int8 from b [K, N].
std::vector<int8_t> transpose_int8(const Tensor& b) {
  const auto k = static_cast<size_t>(b.dim(0));
  const auto n = static_cast<size_t>(b.dim(1));
  const auto src = b.data<int8_t>();
  std::vector<int8_t> w(n * k);
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < n; ++j) w[j * k + i] = src[i * n + j];
  }
  return w;
}

}  // namespace

Result<Tensor> qlinear_matmul(const Tensor& a, float a_scale, int32_t a_zero_point,
                              const Tensor& b, std::span<const float> b_scale,
                              std::span<const int32_t> b_zero_point, float y_scale,
                              int32_t y_zero_point, DType y_dtype) {
  QL_RETURN_IF_ERROR(check_q8_matrix(a, "QLinearMatMul: a"));
  QL_RETURN_IF_ERROR(check_q8_matrix(b, "QLinearMatMul: b"));
  const int64_t M = a.dim(0), K = a.dim(1), N = b.dim(0) == K ? b.dim(1) : -1;
  if (N < 0) {
    return shape_mismatch("QLinearMatMul: a " + shape_string(a.shape()) + " and b " +
                          shape_string(b.shape()) + " do not multiply");
  }
  if (b_zero_point.size() != b_scale.size()) {
    return shape_mismatch("QLinearMatMul: b_scale and b_zero_point differ in length");
  }
  QL_RETURN_IF_ERROR(check_zero_points({&a_zero_point, 1}, a.dtype(), "QLinearMatMul: a"));
  QL_RETURN_IF_ERROR(check_zero_points(b_zero_point, b.dtype(), "QLinearMatMul: b"));
  QOutput out;
  out.dtype = y_dtype;
  out.scale = y_scale;
  out.zero_point = y_zero_point;
  out.mode = RequantMode::kFp32;
  if (K == 0) return empty_input("QLinearMatMul: K must be >= 1");
  auto range = output_range(out);
  if (!range) return range.status();
  auto y = Tensor::create(y_dtype, {M, N});
  if (!y) return y.status();
  if (M == 0 || N == 0) return y;
  auto mult = channel_multipliers(b_scale, N, a_scale, out);
  if (!mult) return mult.status();
  const bool fast = b.dtype() == DType::kInt8 &&
                    std::all_of(b_zero_point.begin(), b_zero_point.end(),
                                [](int32_t z) { return z == 0; });
  if (fast) {
    const auto w = transpose_int8(b);
    auto packed = PackedQGemm::pack(w, N, K, b_scale, {}, a.dtype(), a_scale, a_zero_point, out);
    if (!packed) return packed.status();
    QL_RETURN_IF_ERROR(packed->run(a.raw(), M, y->raw()));
    return y;
  }
  // Scalar reference for any zero points (uint8 weights, or non-zero b_zero_point).
  const auto m_ = static_cast<size_t>(M), n_ = static_cast<size_t>(N), k_ = static_cast<size_t>(K);
  for (size_t i = 0; i < m_; ++i) {
    for (size_t j = 0; j < n_; ++j) {
      const int32_t bz = b_zero_point[b_zero_point.size() == 1 ? 0 : j];
      uint32_t acc = 0;
      for (size_t kk = 0; kk < k_; ++kk) {
        acc += static_cast<uint32_t>((q8_at(a, i * k_ + kk) - a_zero_point) *
                                     (q8_at(b, kk * n_ + j) - bz));
      }
      const int32_t q = requantize_fp32(static_cast<int32_t>(acc), mult->fp32[j], y_zero_point,
                                        static_cast<int32_t>(range->q_min),
                                        static_cast<int32_t>(range->q_max));
      if (y_dtype == DType::kInt8) {
        y->data<int8_t>()[i * n_ + j] = static_cast<int8_t>(q);
      } else {
        y->data<uint8_t>()[i * n_ + j] = static_cast<uint8_t>(q);
      }
    }
  }
  return y;
}

Result<Tensor> matmul_integer(const Tensor& a, std::span<const int32_t> a_zero_point,
                              const Tensor& b, std::span<const int32_t> b_zero_point) {
  QL_RETURN_IF_ERROR(check_q8_matrix(a, "MatMulInteger: a"));
  QL_RETURN_IF_ERROR(check_q8_matrix(b, "MatMulInteger: b"));
  const int64_t M = a.dim(0), K = a.dim(1), N = b.dim(0) == K ? b.dim(1) : -1;
  if (N < 0) {
    return shape_mismatch("MatMulInteger: a " + shape_string(a.shape()) + " and b " +
                          shape_string(b.shape()) + " do not multiply");
  }
  if (a_zero_point.size() != 1 && a_zero_point.size() != static_cast<size_t>(M)) {
    return shape_mismatch("MatMulInteger: a_zero_point must have 1 or M = " +
                          std::to_string(M) + " values");
  }
  if (b_zero_point.size() != 1 && b_zero_point.size() != static_cast<size_t>(N)) {
    return shape_mismatch("MatMulInteger: b_zero_point must have 1 or N = " +
                          std::to_string(N) + " values");
  }
  QL_RETURN_IF_ERROR(check_zero_points(a_zero_point, a.dtype(), "MatMulInteger: a"));
  QL_RETURN_IF_ERROR(check_zero_points(b_zero_point, b.dtype(), "MatMulInteger: b"));
  auto y = Tensor::create(DType::kInt32, {M, N});
  if (!y) return y.status();
  if (M == 0 || N == 0 || K == 0) return y;
  const bool fast = b.dtype() == DType::kInt8 && a_zero_point.size() == 1 &&
                    std::all_of(b_zero_point.begin(), b_zero_point.end(),
                                [](int32_t z) { return z == 0; });
  if (fast) {
    QOutput out;
    out.dtype = DType::kInt32;
    const auto w = transpose_int8(b);
    const float one = 1.0f;
    auto packed = PackedQGemm::pack(w, N, K, {&one, 1}, {}, a.dtype(), 1.0f, a_zero_point[0], out);
    if (!packed) return packed.status();
    QL_RETURN_IF_ERROR(packed->run(a.raw(), M, y->raw()));
    return y;
  }
  const auto m_ = static_cast<size_t>(M), n_ = static_cast<size_t>(N), k_ = static_cast<size_t>(K);
  for (size_t i = 0; i < m_; ++i) {
    const int32_t az = a_zero_point[a_zero_point.size() == 1 ? 0 : i];
    for (size_t j = 0; j < n_; ++j) {
      const int32_t bz = b_zero_point[b_zero_point.size() == 1 ? 0 : j];
      uint32_t acc = 0;
      for (size_t kk = 0; kk < k_; ++kk) {
        acc += static_cast<uint32_t>((q8_at(a, i * k_ + kk) - az) *
                                     (q8_at(b, kk * n_ + j) - bz));
      }
      y->data<int32_t>()[i * n_ + j] = static_cast<int32_t>(acc);
    }
  }
  return y;
}

}  // namespace quantlab
