// Linear quantization r = S (q - Z) (MIT 6.5940 lecture 5, section 5.8): parameters,
// quantize / dequantize, round and clip error, and choosing the clipping range from data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantlab/status.hpp"

namespace quantlab {

/// The integer grid of a quantized tensor.
struct QuantSpec {
  /// 2..8 for weights and activations, or 32 for biases (int32, S = S_W S_X, Z = 0).
  int bits = 8;
  /// Signed range [-2^(bits-1), 2^(bits-1) - 1], else unsigned [0, 2^bits - 1].
  bool is_signed = true;
  /// Symmetric: Z is the middle of the grid (0 when signed) and S = max|r| / (q_max - Z).
  /// Asymmetric: S = (r_max - r_min) / (q_max - q_min), Z = round(q_min - r_min / S).
  bool symmetric = false;
  /// Drop the most negative signed level, so the grid is symmetric ([-127, 127] for int8).
  bool narrow_range = false;
};

/// [q_min, q_max] of a spec. Errors: bits not in 2..8 or 32; narrow_range on unsigned.
struct IntRange {
  int64_t q_min = 0;
  int64_t q_max = 0;
};
Result<IntRange> integer_range(const QuantSpec& spec);

/// r = scale * (q - zero_point), q in [q_min, q_max].
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int32_t q_min = -128;
  int32_t q_max = 127;
  int bits = 8;
  bool is_signed = true;
};

/// A clipping range [r_min, r_max] in real units.
struct ClipRange {
  float r_min = 0.0f;
  float r_max = 0.0f;
  /// Empty, or why the range is not what the method asked for would give (KL's fallback).
  std::string note;
};

/// S and Z from a real range and the spec's integer range, as in the lecture. The range is
/// first widened to contain 0, so real 0 is exactly representable; Z is rounded (ties to
/// even, as ONNX) and clamped into [q_min, q_max]. A range of width 0 (all zeros) gives
/// S = 1. Arithmetic is float32, as in ONNX DynamicQuantizeLinear.
/// Errors: NaN or infinite bounds, r_min > r_max, an invalid spec.
Result<QuantParams> params_from_range(float r_min, float r_max, const QuantSpec& spec);

/// Checks that p is usable: finite positive scale, valid bits, Z inside [q_min, q_max].
Status validate_params(const QuantParams& p);

/// q = clamp(round(r / S) + Z, q_min, q_max), rounding ties to even (ONNX QuantizeLinear).
/// Errors: empty input, NaN in r (infinities saturate, as in ONNX), invalid params.
Result<std::vector<int32_t>> quantize(std::span<const float> r, const QuantParams& p);

/// r = S (q - Z). Errors: empty input, a q outside [q_min, q_max], invalid params.
Result<std::vector<float>> dequantize(std::span<const int32_t> q, const QuantParams& p);

/// Shape of a row-major tensor (NCHW for activations, OIHW for conv weights).
using Shape = std::vector<int64_t>;

/// Number of elements of a shape; errors on negative dimensions or overflow.
Result<size_t> shape_size(std::span<const int64_t> shape);

/// Per-channel parameters along `axis` (negative counts from the end): one QuantParams per
/// index of that axis, each from the channel's own range chosen by `calibrate`'s method.
struct CalibrationOptions;
Result<std::vector<QuantParams>> per_channel_params(std::span<const float> data,
                                                    std::span<const int64_t> shape, int axis,
                                                    const QuantSpec& spec,
                                                    const CalibrationOptions& options);

/// Quantize / dequantize along `axis` with one QuantParams per channel.
Result<std::vector<int32_t>> quantize_per_channel(std::span<const float> data,
                                                  std::span<const int64_t> shape, int axis,
                                                  std::span<const QuantParams> params);
Result<std::vector<float>> dequantize_per_channel(std::span<const int32_t> q,
                                                  std::span<const int64_t> shape, int axis,
                                                  std::span<const QuantParams> params);

// --- Round error and clip error -----------------------------------------------------------

/// The quantization error of data under p, split per element: an element whose rounded
/// value round(r / S) + Z falls outside [q_min, q_max] is clipped and contributes clip
/// error; every other element contributes round error (at most S / 2). MSEs are sums of squared errors over all elements / count, so
/// round_mse + clip_mse == total_mse.
struct ErrorSplit {
  double round_mse = 0;
  double clip_mse = 0;
  double total_mse = 0;
  size_t clipped = 0;  ///< number of elements outside the representable range
  size_t count = 0;
};
Result<ErrorSplit> quantization_error(std::span<const float> data, const QuantParams& p);

/// Summary of an array (a model output, say): count, min, max, mean and population standard
/// deviation, with float64 sums. Errors: empty data, non-finite values.
struct ArrayStats {
  size_t count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double std = 0;
};
Result<ArrayStats> array_stats(std::span<const float> data);

/// An approximation (an int8 model's dequantized output) against its reference (the fp32
/// output): MSE, SQNR = 10 log10(sum r^2 / sum (r - q)^2) in dB (+inf when they are equal;
/// the PTQ report's definition) and the largest |r - q|. Errors: different lengths, empty
/// arrays, non-finite values.
struct ArrayComparison {
  double mse = 0;
  double sqnr_db = 0;
  double max_abs_diff = 0;
};
Result<ArrayComparison> compare_arrays(std::span<const float> ref, std::span<const float> test);

/// The trade-off between round and clip error: for each of `steps` clipping ranges
/// [a r_min, a r_max], a = (i + 1) / steps (data range widened to contain 0), the params
/// and their error split. Layout: parallel arrays of length steps.
struct ErrorSweep {
  std::vector<float> clip_min, clip_max;
  std::vector<double> round_mse, clip_mse, total_mse;
};
Result<ErrorSweep> error_sweep(std::span<const float> data, const QuantSpec& spec, int steps);

// --- Choosing the clipping range -----------------------------------------------------------

enum class CalibrationMethod {
  kMinMax,      ///< [min, max] of the data
  kPercentile,  ///< [p_low, p_high] percentiles of the data (p_high = options.percentile)
  kMse,         ///< the range [a r_min, a r_max] minimizing quantization MSE
  kKl,          ///< entropy calibration (TensorRT, Migacz 2017): min KL(P || Q) over a histogram;
                ///< guarded, see below
};

// KL calibration, as quantlab does it. TensorRT's entropy calibrator (Migacz 2017): a
// histogram of |r| (histogram_bins bins); for each candidate threshold bin i, P is the
// histogram cut at i with the tail folded into its last bin, Q merges P into the grid's
// levels and spreads each level evenly over its non-empty bins; the threshold of smallest
// KL(P || Q) wins. Changes: the first bin takes the second's count (NVIDIA's calibrator
// does this too: the spike of exact zeros after a ReLU would otherwise dominate P); data of
// both signs on an asymmetric grid is searched from each end of a signed histogram (the side
// with the smaller KL clips). And a guard, because KL measures the information lost in
// the bins it keeps, not how far the clipped tail lies: on a layer whose few large values
// matter (the first conv of a CNN, a detector's positive logits) it can clip most of the
// range. The KL range is kept when its quantization MSE on the calibration data is at most
// 20 times min-max's (clipping two outliers of 50,000 normal values, what KL is for, costs
// 10 times at 8 bits; clipping conv1 of the demo LeNet-5 to [0, 1.56] of [0, 5.35] cost
// 1,700 times and 4 points of agreement with fp32); otherwise, and when there are fewer
// values than histogram bins (too few for a histogram), the MSE-optimal range is used
// instead and ClipRange::note says why. So KL's SQNR on its calibration data is never more
// than 13 dB below min-max's.

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  /// kPercentile: upper percentile in (50, 100]; the lower one is 100 - percentile.
  double percentile = 99.99;
  /// kKl: histogram bins over [0, max|r|] (TensorRT uses 2048).
  int histogram_bins = 2048;
  /// kMse: candidate ranges a = i / mse_steps, i = 1..mse_steps.
  int mse_steps = 200;
};

/// The clipping range chosen from data. Errors: empty data, NaN or infinite values,
/// invalid spec or options.
Result<ClipRange> calibrate(std::span<const float> data, const QuantSpec& spec,
                            const CalibrationOptions& options);

/// Streaming calibration over many batches (activations during post-training
/// quantization): running min and max, and a histogram of |r| whose range doubles (merging
/// bin pairs) when a batch exceeds it, so memory stays constant. range() then applies a
/// CalibrationMethod: min-max exactly, percentile, MSE and KL on the histogram.
class RangeObserver {
 public:
  explicit RangeObserver(int bins = 2048);
  /// Errors: NaN or infinite values (the observer is left unchanged).
  Status observe(std::span<const float> data);
  Result<ClipRange> range(const QuantSpec& spec, const CalibrationOptions& options) const;
  size_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }

 private:
  void grow_to(float abs_max);
  int bins_;
  float bin_width_ = 0.0f;  // histogram covers [0, bins_ * bin_width_)
  std::vector<double> pos_, neg_;  // counts of r >= 0 and of r < 0, by |r|
  size_t count_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
};

}  // namespace quantlab
