// Post-training static quantization (MIT 6.5940 lecture 5, section 5.9) and ONNX
// export of the result.
//
// quantize_static() takes an fp32 model, folds each BatchNormalization into the conv before
// it, runs calibration batches through the model observing every activation, chooses each
// activation's clipping range with the foundation's calibrators (min-max, percentile, MSE,
// KL), quantizes weights per output channel symmetrically to int8 and biases to int32
// (S_b = S_W S_X, Z_b = 0), and rewrites the graph in ONNX's QOperator form:
//
//   input -> QuantizeLinear -> QLinearConv / (FC layers: see quantize_static) ... -> DequantizeLinear
//
// so that every Conv / Gemm / MatMul runs integer-only on the int8 kernels:
//   q_Y = Z_Y + (S_W S_X / S_Y)(sum (q_X - Z_X) q_W + q_b),  q_b = round(b / (S_W S_X)).
// In detail:
//   - Conv -> QLinearConv (per-channel w_scale, int32 bias);
//   - Gemm, and MatMul (+ Add of a constant bias) on a 2-D input -> Reshape [-1, K, 1, 1] ->
//     QLinearConv 1x1 with the int32 bias -> Flatten: exact integer arithmetic with the bias
//     folded, which quantlab and onnxruntime both run (QLinearMatMul has no bias input);
//   - a Relu / Clip that alone reads a quantized layer (or a QLinearAdd) is absorbed: the
//     output's range is clipped to the activation's bounds (Relu => [0, max]), so the
//     output grid's clamp applies it;
//   - MaxPool (opset >= 12), Flatten and Reshape run on int8 tensors directly, keeping
//     their input's scale and zero point;
//   - Add of two int8 activations (residual) -> com.microsoft QLinearAdd;
//   - anything else (GlobalAveragePool, Softmax, ...) stays fp32 between DequantizeLinear
//     and QuantizeLinear.
// Activations are asymmetric (zero point) int8 or uint8, ranges from the calibrator.
// The result is an OnnxModel: load it with Model::from_onnx (either RequantMode), write it
// with serialize_onnx_model, or convert it to the QDQ form with to_qdq() for export.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "quantlab/linear.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/progress.hpp"
#include "quantlab/requantize.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {

/// A layer's own weight quantization (torch's per-module qconfig), by node name.
enum class WeightGranularity { kDefault, kPerChannel, kPerTensor };
struct PtqLayerOptions {
  std::string node;  ///< the Conv / Gemm / MatMul node's name, as in the report
  /// 2..8 bits (lecture 5.5, "how many bits?"); 0: PtqOptions::weight_bits. The weights stay
  /// int8 tensors in the file holding values of the narrower grid.
  int weight_bits = 0;
  WeightGranularity weights = WeightGranularity::kDefault;
};

/// A range or quantization parameters given for an fp32 value (a calibration table entry,
/// e.g. from onnxruntime's calibrator or a PyTorch model's observers): either the clipping
/// range [min, max] (S and Z then follow from the activation grid), or scale and zero_point
/// as they are. The value is then not calibrated.
struct GivenRange {
  std::string value;  ///< the fp32 tensor's name in the graph
  float min = std::numeric_limits<float>::quiet_NaN();
  float max = std::numeric_limits<float>::quiet_NaN();
  /// > 0 gives scale and zero_point (min / max must then be NaN).
  float scale = std::numeric_limits<float>::quiet_NaN();
  int32_t zero_point = 0;
};

struct PtqOptions {
  /// How each activation's clipping range is chosen from the calibration data.
  CalibrationOptions calibration;
  /// Activations int8 (true) or uint8 with a zero point (false). Weights are always int8,
  /// symmetric (Z = 0), narrow range [-127, 127].
  bool activations_signed = true;
  /// Symmetric activations (Z = 0 for int8, 128 for uint8; S = max|r| / 127) instead of
  /// asymmetric (S and Z from [r_min, r_max]). A symmetric grid reaches below 0, so its
  /// clamp cannot apply a Relu: activations after layers then run in fp32 between
  /// DequantizeLinear and QuantizeLinear instead of being absorbed (slower, and more error).
  bool activations_symmetric = false;
  /// Weights per output channel (true) or per tensor.
  bool per_channel = true;
  /// Weight bits, 2..8: symmetric narrow grid [-(2^(b-1) - 1), 2^(b-1) - 1] (kQnnpack: the
  /// full grid [-2^(b-1), 2^(b-1) - 1], as torch's observers).
  int weight_bits = 8;
  /// Per-layer overrides of weight_bits and per_channel; a node the model lacks (or one that
  /// is not a quantized layer) is kInvalidArgument.
  std::vector<PtqLayerOptions> layers;
  /// Given ranges or scales, by value name; the rest are calibrated. A name the model lacks
  /// is kInvalidArgument; a value the plan does not quantize is ignored.
  std::vector<GivenRange> ranges;
  /// Weights in 7 bits ([-63, 63]): some peers' x86 kernels (AVX2 without VNNI) saturate
  /// int16 pair sums of full-range int8 weights; with reduce_range they are exact.
  bool reduce_range = false;
  /// The report compares fp32 and int8 layer outputs on the first report_samples samples
  /// (along dimension 0) of the first calibration batch; a model whose input batch is fixed
  /// runs the report on the whole first batch.
  int64_t report_samples = 32;
  /// Requantization of the model run for the report (the returned OnnxModel itself runs
  /// in any mode: choose when loading it). kQnnpack also quantizes as PyTorch's qnnpack
  /// backend does, so a torch model with the same scales is reproduced bit for bit:
  /// weight scale max|w| / ((2^b - 1) / 2) over the full grid, q = round_half_even(w *
  /// float32(1 / S)), biases q_b = round_half_even(b * float32(1 / float32(S_W S_X))).
  RequantMode requant_mode = RequantMode::kFp32;
  /// Calibration samples per batch when the data arrive as one array (calibration_batches).
  int64_t batch_size = 64;
  /// Layers left in fp32 (onnxruntime's nodes_to_exclude): by node name (as in the report
  /// and Model::layers()), or every node of an operator type ("Conv", "Gemm", "MatMul",
  /// "Add", "MaxPool", ...). An excluded node runs in fp32 between DequantizeLinear and
  /// QuantizeLinear. A name or type the model does not have is kInvalidArgument.
  std::vector<std::string> exclude_nodes;
  std::vector<std::string> exclude_op_types;
  /// Called with stage "calibrate" (done/total = batches), "quantize" (layers), "report".
  ProgressFn progress;
};

/// One quantized layer (Conv, Gemm or MatMul) of the report.
struct PtqLayerReport {
  std::string name;     ///< the fp32 node's name
  std::string op_type;  ///< the fp32 operator ("Conv", "Gemm", "MatMul")
  float input_scale = 0;
  int32_t input_zero_point = 0;
  float output_scale = 0;
  int32_t output_zero_point = 0;
  ClipRange output_range;             ///< the calibrated clipping range of the output
  std::vector<float> weight_scales;   ///< one per output channel (or one)
  /// M = S_W S_X / S_Y per output channel, and its fixed-point form M0 (Q31) and shift.
  std::vector<double> multipliers;
  std::vector<int32_t> m0;
  std::vector<int32_t> shift;
  /// fp32 output against the int8 model's dequantized output on the report samples:
  /// MSE and SQNR in dB (10 log10(signal power / noise power); +inf if the output is
  /// reproduced exactly). Both are of the layer's final output (after an absorbed
  /// activation), so they include the error accumulated by earlier layers.
  double mse = 0;
  double sqnr_db = 0;
  int weight_bits = 8;
  bool per_channel = true;
};

/// One quantized activation: the calibration table the model was made with.
struct PtqValueRange {
  std::string value;
  ClipRange range;     ///< the range used (given, or calibrated)
  QuantParams params;  ///< its scale and zero point
  bool given = false;  ///< from PtqOptions::ranges
};

struct PtqResult {
  OnnxModel model;                      ///< QOperator form
  std::vector<PtqLayerReport> layers;   ///< in execution order
  std::vector<PtqValueRange> ranges;    ///< every quantized activation, by name
  int folded_batch_norms = 0;
  RequantMode requant_mode = RequantMode::kFp32;  ///< as PtqOptions (the report's runs)
};

/// Quantize `fp32` using calibration batches (each a full input tensor for the model's
/// single input, e.g. [64, 1, 28, 28]); the first report_samples samples of the first
/// batch also serve for the report.
/// Errors: no batches (kEmptyInput), a model with several inputs or an already quantized
/// model (kUnsupported), a batch of the wrong shape (kShapeMismatch) or type
/// (kInvalidArgument), NaN or infinite inputs or activations (kNotFinite); each message
/// names the batch and the value.
Result<PtqResult> quantize_static(const Model& fp32, std::span<const Tensor> calibration,
                                  const PtqOptions& options = {});

/// The calibration array `data` of `shape` (rank >= 1) split along dimension 0 into
/// batches of at most batch_size samples. Errors: data that disagree with the shape
/// (kShapeMismatch), no samples (kEmptyInput), batch_size < 1.
Result<std::vector<Tensor>> calibration_batches(std::span<const float> data, const Shape& shape,
                                                int64_t batch_size);

/// quantize_static on one calibration array of `shape`, fed in batches of
/// options.batch_size samples; for a model whose input batch is fixed at b, in batches of
/// b (the samples that do not fill a last batch are left out; fewer than b is
/// kShapeMismatch, naming the input and b).
Result<PtqResult> quantize_static(const Model& fp32, std::span<const float> data,
                                  const Shape& shape, const PtqOptions& options);

/// The array of `shape` in the batches fp32 runs: options' batch_size samples each, or the
/// model's fixed batch (the samples that do not fill a last batch are left out).
Result<std::vector<Tensor>> model_batches(const Model& fp32, std::span<const float> data,
                                          const Shape& shape, int64_t batch_size);

// --- Which layer hurts: sensitivity and mixed precision ---------------------------------------
//
// Every activation range comes from one calibration (quantize_static with `options`); each
// variant is then made with those ranges given, so variants differ only in what is asked.
// The model is evaluated on the first eval_samples samples of the data (the calibration
// data, as onnxruntime's quantization debugger does): the SQNR of its first output against
// fp32, and top-1 accuracy of that output when labels (one class per sample) are given.

struct SensitivityOptions {
  /// Weight bits tried for each layer alone (each 2..8).
  std::vector<int> bits = {8, 6, 4, 2};
  /// Samples evaluated (the first ones of the data), >= 1.
  int64_t eval_samples = 256;
};

struct LayerSensitivity {
  std::string name, op_type;
  int64_t weights = 0;              ///< weight count
  std::vector<int> bits;            ///< as SensitivityOptions::bits
  /// Model output SQNR (dB) against fp32 with only this layer quantized, at each bits
  /// (weights at that width, its input and output activations at 8 bits).
  std::vector<double> sqnr_db;
  /// Top-1 accuracy in [0, 1] with only this layer quantized (NaN without labels).
  std::vector<double> accuracy;
  /// This layer's own output SQNR with every layer quantized (options' bits): the error
  /// accumulated through the network up to here.
  double accumulated_sqnr_db = 0;
};

struct SensitivityReport {
  std::vector<LayerSensitivity> layers;  ///< in execution order
  double all_sqnr_db = 0;                ///< every layer quantized as options say
  double fp32_accuracy = std::numeric_limits<double>::quiet_NaN();
  double all_accuracy = std::numeric_limits<double>::quiet_NaN();
  int64_t samples = 0;                   ///< evaluated
};

/// Errors: as quantize_static; labels neither empty nor one per evaluated-or-more sample
/// (kShapeMismatch), labels outside the output's classes, bits outside 2..8, no bits.
Result<SensitivityReport> ptq_sensitivity(const Model& fp32, std::span<const float> data,
                                          const Shape& shape, const PtqOptions& options,
                                          const SensitivityOptions& sensitivity = {},
                                          std::span<const int32_t> labels = {});

/// The smallest weights (bits per layer) within a budget: the output's SQNR at least
/// min_sqnr_db, or with labels (when max_accuracy_drop is set) top-1 accuracy at most that
/// many points below fp32's. Greedy on measurements: starting from every layer at the
/// widest candidate, it lowers the layer whose next narrower width saves the most weight
/// bits per unit of added output noise (predicted from the sensitivity report, noises
/// taken as additive), measures the model with that change, keeps it when the budget holds
/// and otherwise stops lowering that layer.
struct MixedPrecisionOptions {
  std::vector<int> bits = {8, 6, 5, 4, 3, 2};  ///< candidate widths (2..8)
  double min_sqnr_db = 30.0;
  /// Points (0..100) of top-1 accuracy that may be lost; NaN: the SQNR budget applies.
  double max_accuracy_drop = std::numeric_limits<double>::quiet_NaN();
  int64_t eval_samples = 256;
};

struct MixedPrecisionResult {
  std::vector<PtqLayerOptions> layers;  ///< the chosen width of every layer (for PtqOptions)
  SensitivityReport sensitivity;        ///< at the candidate widths
  double sqnr_db = 0;                   ///< the chosen model, measured
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  int64_t weight_bits = 0;              ///< sum over layers of weights x width
  int64_t int8_weight_bits = 0;         ///< the same at 8 bits
  int measured = 0;                     ///< models evaluated by the search
};

/// Errors: as ptq_sensitivity; a budget that even 8-bit weights miss is not an error (the
/// result is every layer at the widest candidate, with its measured SQNR / accuracy).
Result<MixedPrecisionResult> ptq_mixed_precision(const Model& fp32, std::span<const float> data,
                                                 const Shape& shape, const PtqOptions& options,
                                                 const MixedPrecisionOptions& mixed = {},
                                                 std::span<const int32_t> labels = {});

/// The same quantized model in QDQ form: fp32 Conv / Gemm / MatMul between
/// DequantizeLinear (of int8 weights, int32 biases and activations) and QuantizeLinear,
/// which runtimes fuse back into integer kernels. Errors: a model not made by
/// quantize_static.
Result<OnnxModel> to_qdq(const OnnxModel& qoperator);

/// The same quantized model with uint8 activations: each int8 activation q with zero point
/// Z becomes q + 128 with zero point Z + 128 (weights stay int8), which every integer
/// operator but QLinearAdd computes identically (QLinearAdd's fused multiply-adds round a few
/// halfway values differently with the shifted zero points: export_checks says so). onnxruntime runs
/// uint8-activation models through its fast u8s8 kernels and fuses every uint8 QDQ group;
/// int8 activations take slower paths there (s8s8 QLinearConv, unfused QDQ groups run in
/// float). Errors: a model not made by quantize_static.
Result<OnnxModel> with_uint8_activations(const OnnxModel& qoperator);

/// Whether onnxruntime reproduces a quantized model's own int8 outputs from an export.
enum class ExportExactness : uint8_t {
  kExact,          ///< bit for bit
  kCpuDependent,   ///< bit for bit where onnxruntime's CPU kernels have VNNI (x86-64 AVX-512
                   ///< VNNI or AVX-VNNI) or on ARM; not on x86-64 AVX2 without VNNI
  kInexact,        ///< a few values may move by one quantization step
};

/// One export (QOperator or QDQ form, activations re-expressed as uint8 or as quantized)
/// and what onnxruntime gives for it against this model's outputs, with the reasons.
struct ExportCheck {
  std::string form;         ///< "qoperator" | "qdq"
  std::string activations;  ///< "uint8" | "as-quantized"
  ExportExactness exactness = ExportExactness::kExact;
  std::vector<std::string> reasons;  ///< empty when exact; else each cause and its remedy
};

/// The four exports of r, judged from the graph and what is known of onnxruntime 1.2x's CPU
/// kernels (tests/js/export.test.mjs checks every claim of exactness against onnxruntime-node):
///   - requantization other than fp32 (fixed-point, qnnpack): onnxruntime requantizes in
///     float as ONNX defines it, so a value may land one step away: inexact;
///   - int8 activations re-expressed as uint8 through a QLinearAdd: inexact (see
///     with_uint8_activations);
///   - QDQ form with int8 activations: onnxruntime does not turn every int8 QDQ group back
///     into its integer operator (some run in float): inexact;
///   - uint8 activations with weights beyond [-64, 63]: its x86-64 AVX2 u8s8 kernels
///     (vpmaddubsw) saturate int16 pair sums: CPU-dependent; reduce_range avoids it;
///   - float layers left in the graph (excluded Conv / Gemm / MatMul, Softmax, transcendental
///     activations): float arithmetic in two runtimes may differ in the last bits: inexact.
std::vector<ExportCheck> export_checks(const PtqResult& r);

/// Rewrites QDQ groups back into integer operators, as onnxruntime's QDQ optimizer does:
///   DequantizeLinear(x), DequantizeLinear(int8 W), [DequantizeLinear(int32 b) on the grid
///   S_W S_X with zero point 0] -> Conv -> QuantizeLinear   becomes QLinearConv;
///   DequantizeLinear(a), DequantizeLinear(b) -> Add -> QuantizeLinear  becomes
///   com.microsoft QLinearAdd.
/// Scales and zero points must be initializers; anything else is left as it is. The result
/// computes with integer accumulators (not the float arithmetic of the QDQ graph), so the
/// QDQ form of a quantize_static model runs exactly as its QOperator form. Returns the
/// number of groups fused. Model::from_onnx applies it when ModelOptions::fuse_qdq is set.
int fuse_qdq(OnnxModel& model);

}  // namespace quantlab
