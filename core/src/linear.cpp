// Linear quantization: parameters, quantize / dequantize, error split, calibration.
#include "quantlab/linear.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "quantlab/requantize.hpp"
#include "number_string.hpp"

namespace quantlab {
namespace {

Status check_finite(std::span<const float> data, const char* what) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (!std::isfinite(data[i])) {
      return not_finite(std::string(what) + "[" + std::to_string(i) + "] is " + number_string(data[i]) +
                        "; values must be finite");
    }
  }
  return Status::ok();
}

// Same arithmetic as requantize_fp32, with a division as in ONNX QuantizeLinear.
inline int32_t quantize_one(float r, const QuantParams& p, float lo, float hi) {
  float v = r / p.scale;
  v = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<int32_t>(std::nearbyint(v)) + p.zero_point;
}

// 32-bit grids do not fit float's integer range; compute in double.
inline int32_t quantize_one_wide(float r, const QuantParams& p) {
  double v = std::nearbyint(static_cast<double>(r) / static_cast<double>(p.scale)) + p.zero_point;
  v = std::clamp(v, static_cast<double>(p.q_min), static_cast<double>(p.q_max));
  return static_cast<int32_t>(v);
}

struct AxisLayout {
  size_t outer = 1, channels = 1, inner = 1;
};

Result<AxisLayout> axis_layout(std::span<const int64_t> shape, int axis, size_t count) {
  const int rank = static_cast<int>(shape.size());
  if (rank == 0) return invalid_argument("per-channel quantization needs a shape of rank >= 1");
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    return out_of_range("axis " + std::to_string(axis) + " is out of range for a tensor of rank " +
                        std::to_string(rank));
  }
  auto n = shape_size(shape);
  if (!n) return n.status();
  if (*n != count) {
    return shape_mismatch("shape has " + std::to_string(*n) + " elements but the data has " +
                          std::to_string(count));
  }
  AxisLayout l;
  for (int i = 0; i < a; ++i) l.outer *= static_cast<size_t>(shape[i]);
  l.channels = static_cast<size_t>(shape[a]);
  for (int i = a + 1; i < rank; ++i) l.inner *= static_cast<size_t>(shape[i]);
  return l;
}

}  // namespace

Result<IntRange> integer_range(const QuantSpec& spec) {
  if (!((spec.bits >= 2 && spec.bits <= 8) || spec.bits == 32)) {
    return invalid_argument("bits must be 2..8 (or 32 for biases), got " +
                            std::to_string(spec.bits));
  }
  if (spec.narrow_range && !spec.is_signed) {
    return invalid_argument("narrow_range applies to signed grids only");
  }
  if (spec.bits == 32 && !spec.is_signed) {
    return invalid_argument("32-bit grids are signed (int32 biases)");
  }
  IntRange r;
  if (spec.is_signed) {
    r.q_min = -(int64_t{1} << (spec.bits - 1));
    r.q_max = (int64_t{1} << (spec.bits - 1)) - 1;
    if (spec.narrow_range) r.q_min += 1;
  } else {
    r.q_min = 0;
    r.q_max = (int64_t{1} << spec.bits) - 1;
  }
  return r;
}

Result<QuantParams> params_from_range(float r_min, float r_max, const QuantSpec& spec) {
  if (!std::isfinite(r_min) || !std::isfinite(r_max)) {
    return not_finite("the range [" + number_string(r_min) + ", " + number_string(r_max) + "] must be finite");
  }
  if (r_min > r_max) {
    return invalid_argument("r_min (" + number_string(r_min) + ") is greater than r_max (" + number_string(r_max) +
                            ")");
  }
  auto range = integer_range(spec);
  if (!range) return range.status();
  QuantParams p;
  p.bits = spec.bits;
  p.is_signed = spec.is_signed;
  p.q_min = static_cast<int32_t>(range->q_min);
  p.q_max = static_cast<int32_t>(range->q_max);
  // Real 0 must be exactly representable (zero padding, ReLU outputs).
  r_min = std::min(r_min, 0.0f);
  r_max = std::max(r_max, 0.0f);
  if (spec.symmetric) {
    // Z is the middle of the grid: 0 for signed, 2^(bits-1) for unsigned.
    const int64_t z = spec.is_signed ? 0 : (int64_t{1} << (spec.bits - 1));
    const float abs_max = std::max(-r_min, r_max);
    const float q_pos = static_cast<float>(range->q_max - z);
    p.zero_point = static_cast<int32_t>(z);
    p.scale = abs_max > 0.0f ? abs_max / q_pos : 1.0f;
  } else {
    const float q_span = static_cast<float>(range->q_max - range->q_min);
    const float width = r_max - r_min;
    p.scale = width > 0.0f ? width / q_span : 1.0f;
    const double z = std::nearbyint(static_cast<double>(p.q_min) - r_min / p.scale);
    p.zero_point = static_cast<int32_t>(std::clamp(z, static_cast<double>(p.q_min),
                                                   static_cast<double>(p.q_max)));
  }
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) {
    // Subnormal widths underflow to 0 after the division.
    return invalid_argument("the range [" + number_string(r_min) + ", " + number_string(r_max) +
                            "] is too narrow for a float32 scale");
  }
  return p;
}

Status validate_params(const QuantParams& p) {
  QuantSpec spec;
  spec.bits = p.bits;
  spec.is_signed = p.is_signed;
  auto range = integer_range(spec);
  if (!range) return range.status();
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) {
    return invalid_argument("scale must be finite and > 0, got " + number_string(p.scale));
  }
  if (p.q_min > p.q_max || p.q_min < range->q_min || p.q_max > range->q_max) {
    return invalid_argument("[q_min, q_max] = [" + std::to_string(p.q_min) + ", " +
                            std::to_string(p.q_max) + "] is not inside the " +
                            std::to_string(p.bits) + "-bit range");
  }
  if (p.zero_point < p.q_min || p.zero_point > p.q_max) {
    return invalid_argument("zero_point " + std::to_string(p.zero_point) + " is outside [" +
                            std::to_string(p.q_min) + ", " + std::to_string(p.q_max) + "]");
  }
  return Status::ok();
}

Result<std::vector<int32_t>> quantize(std::span<const float> r, const QuantParams& p) {
  QL_RETURN_IF_ERROR(validate_params(p));
  if (r.empty()) return empty_input("quantize: the input is empty");
  for (size_t i = 0; i < r.size(); ++i) {
    if (std::isnan(r[i])) return not_finite("quantize: input[" + std::to_string(i) + "] is NaN");
  }
  std::vector<int32_t> q(r.size());
  if (p.bits == 32) {
    for (size_t i = 0; i < r.size(); ++i) q[i] = quantize_one_wide(r[i], p);
  } else {
    const float lo = static_cast<float>(p.q_min - p.zero_point);
    const float hi = static_cast<float>(p.q_max - p.zero_point);
    for (size_t i = 0; i < r.size(); ++i) q[i] = quantize_one(r[i], p, lo, hi);
  }
  return q;
}

Result<std::vector<float>> dequantize(std::span<const int32_t> q, const QuantParams& p) {
  QL_RETURN_IF_ERROR(validate_params(p));
  if (q.empty()) return empty_input("dequantize: the input is empty");
  std::vector<float> r(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    if (q[i] < p.q_min || q[i] > p.q_max) {
      return out_of_range("dequantize: q[" + std::to_string(i) + "] = " + std::to_string(q[i]) +
                          " is outside [" + std::to_string(p.q_min) + ", " +
                          std::to_string(p.q_max) + "]");
    }
    // Subtract in int64 so int32 grids cannot overflow; ONNX computes (q - Z) * S.
    r[i] = static_cast<float>(static_cast<int64_t>(q[i]) - p.zero_point) * p.scale;
  }
  return r;
}

Result<size_t> shape_size(std::span<const int64_t> shape) {
  // Count in 64 bits: size_t is 32 bits in wasm32, where a dimension of 2^32 would wrap.
  uint64_t n = 1;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("shape has a negative dimension " + std::to_string(d));
    if (d == 0) {
      zero = true;
      continue;
    }
    const uint64_t du = static_cast<uint64_t>(d);
    if (n > std::numeric_limits<uint64_t>::max() / du) {
      return too_large("shape has more elements than fit in memory");
    }
    n *= du;
  }
  if (zero) return size_t{0};
  if (n > std::numeric_limits<size_t>::max()) {
    return too_large("shape has more elements than fit in memory");
  }
  return static_cast<size_t>(n);
}

Result<std::vector<QuantParams>> per_channel_params(std::span<const float> data,
                                                    std::span<const int64_t> shape, int axis,
                                                    const QuantSpec& spec,
                                                    const CalibrationOptions& options) {
  if (data.empty()) return empty_input("per_channel_params: the data is empty");
  auto layout = axis_layout(shape, axis, data.size());
  if (!layout) return layout.status();
  const auto [outer, channels, inner] = *layout;
  std::vector<QuantParams> params(channels);
  std::vector<float> channel(outer * inner);
  for (size_t c = 0; c < channels; ++c) {
    for (size_t o = 0; o < outer; ++o) {
      std::copy_n(data.data() + (o * channels + c) * inner, inner, channel.data() + o * inner);
    }
    auto range = calibrate(channel, spec, options);
    if (!range) {
      return Status(range.status().code(),
                    "channel " + std::to_string(c) + ": " + range.status().message());
    }
    auto p = params_from_range(range->r_min, range->r_max, spec);
    if (!p) return p.status();
    params[c] = *p;
  }
  return params;
}

namespace {

/// out = f(channel) per channel along `axis` (f: a channel's values, gathered, to a
/// Result of as many values), scattered back in place.
template <class Out, class In, class F>
Result<std::vector<Out>> map_per_channel(std::span<const In> data, std::span<const int64_t> shape,
                                         int axis, std::span<const QuantParams> params,
                                         const char* empty_message, F f) {
  if (data.empty()) return empty_input(empty_message);
  auto layout = axis_layout(shape, axis, data.size());
  if (!layout) return layout.status();
  const auto [outer, channels, inner] = *layout;
  if (params.size() != channels) {
    return shape_mismatch("expected " + std::to_string(channels) + " channel parameters, got " +
                          std::to_string(params.size()));
  }
  std::vector<Out> out(data.size());
  for (size_t c = 0; c < channels; ++c) {
    std::vector<In> channel(outer * inner);
    for (size_t o = 0; o < outer; ++o) {
      std::copy_n(data.data() + (o * channels + c) * inner, inner, channel.data() + o * inner);
    }
    auto mapped = f(channel, params[c]);
    if (!mapped) {
      return Status(mapped.status().code(),
                    "channel " + std::to_string(c) + ": " + mapped.status().message());
    }
    for (size_t o = 0; o < outer; ++o) {
      std::copy_n(mapped->data() + o * inner, inner, out.data() + (o * channels + c) * inner);
    }
  }
  return out;
}

}  // namespace

Result<std::vector<int32_t>> quantize_per_channel(std::span<const float> data,
                                                  std::span<const int64_t> shape, int axis,
                                                  std::span<const QuantParams> params) {
  return map_per_channel<int32_t>(data, shape, axis, params,
                                  "quantize_per_channel: the data is empty", &quantize);
}

Result<std::vector<float>> dequantize_per_channel(std::span<const int32_t> q,
                                                  std::span<const int64_t> shape, int axis,
                                                  std::span<const QuantParams> params) {
  return map_per_channel<float>(q, shape, axis, params,
                                "dequantize_per_channel: the input is empty", &dequantize);
}

// --- Error split ------------------------------------------------------------------------

namespace {

// Weighted points: exact data has weight 1; histograms pass bin centres and counts.
ErrorSplit error_split_weighted(std::span<const float> values, std::span<const double> weights,
                                const QuantParams& p) {
  const float lo = static_cast<float>(p.q_min - p.zero_point);
  const float hi = static_cast<float>(p.q_max - p.zero_point);
  ErrorSplit e;
  double total_weight = 0.0;
  for (size_t i = 0; i < values.size(); ++i) {
    const float r = values[i];
    const double w = weights.empty() ? 1.0 : weights[i];
    if (w == 0.0) continue;
    const int32_t q = quantize_one(r, p, lo, hi);
    const double back = static_cast<double>(p.scale) * (q - p.zero_point);
    const double err = static_cast<double>(r) - back;
    // Clipped: the rounded value before clamping falls outside the grid.
    const float unclamped = std::nearbyint(r / p.scale);
    if (unclamped < lo || unclamped > hi) {
      e.clip_mse += w * err * err;
      e.clipped += static_cast<size_t>(w);
    } else {
      e.round_mse += w * err * err;
    }
    total_weight += w;
  }
  e.count = static_cast<size_t>(total_weight);
  if (total_weight > 0) {
    e.round_mse /= total_weight;
    e.clip_mse /= total_weight;
  }
  e.total_mse = e.round_mse + e.clip_mse;
  return e;
}

struct DataRange {
  float lo, hi;
};

DataRange widened_range(std::span<const float> data) {
  auto [mn, mx] = std::minmax_element(data.begin(), data.end());
  return {std::min(*mn, 0.0f), std::max(*mx, 0.0f)};
}

// MSE-optimal clipping by search over [a lo, a hi], a = i / steps.
Result<ClipRange> mse_search(std::span<const float> values, std::span<const double> weights,
                             DataRange range, const QuantSpec& spec, int steps) {
  ClipRange best{range.lo, range.hi};
  double best_mse = std::numeric_limits<double>::infinity();
  for (int i = steps; i >= 1; --i) {
    const float a = static_cast<float>(i) / static_cast<float>(steps);
    auto p = params_from_range(a * range.lo, a * range.hi, spec);
    if (!p) continue;  // a too-narrow candidate range
    const double mse = error_split_weighted(values, weights, *p).total_mse;
    // Strict: among equal errors, prefer the wider range (fewer clipped outliers).
    if (mse < best_mse) {
      best_mse = mse;
      best = {a * range.lo, a * range.hi};
    }
  }
  return best;
}

// Smallest KL(P || Q) threshold over a histogram of |r| (Migacz 2017, TensorRT): for each
// candidate threshold bin i >= levels, P is the histogram cut at i with the outliers folded
// into its last bin; Q merges P's bins into `levels` groups and spreads each group's count
// evenly over the group's non-empty bins. Returns the threshold in real units.
// The first bin's count is replaced by the second's, as NVIDIA's entropy calibrator does:
// after a ReLU most activations are exactly 0, and that spike (which every threshold
// represents exactly) would otherwise dominate P, so the KL would ignore the tail and clip
// the range far too much.
float kl_threshold(std::span<const double> raw_hist, float bin_width, int levels,
                   double* kl_out = nullptr) {
  const int bins = static_cast<int>(raw_hist.size());
  if (kl_out) *kl_out = 0.0;
  if (bins <= levels) return bin_width * static_cast<float>(bins);
  std::vector<double> hist(raw_hist.begin(), raw_hist.end());
  hist[0] = hist[1];
  double total_tail = 0.0;
  for (int b = 0; b < bins; ++b) total_tail += hist[b];
  int best_i = bins;
  double best_kl = std::numeric_limits<double>::infinity();
  std::vector<double> p, q;
  double prefix = 0.0;
  for (int b = 0; b < levels; ++b) prefix += hist[b];
  for (int i = levels; i <= bins; ++i) {
    if (i > levels) prefix += hist[i - 1];
    const double outliers = total_tail - prefix;
    p.assign(hist.begin(), hist.begin() + i);
    p[i - 1] += outliers;
    q.assign(i, 0.0);
    // Merge i bins into `levels` groups (the last group takes the remainder).
    const double group = static_cast<double>(i) / levels;
    for (int g = 0; g < levels; ++g) {
      const int start = static_cast<int>(std::floor(g * group));
      const int stop = g == levels - 1 ? i : static_cast<int>(std::floor((g + 1) * group));
      double sum = 0.0;
      int nonzero = 0;
      for (int b = start; b < stop; ++b) {
        sum += hist[b];
        if (hist[b] != 0.0) ++nonzero;
      }
      if (nonzero == 0) continue;
      for (int b = start; b < stop; ++b) {
        if (hist[b] != 0.0) q[b] = sum / nonzero;
      }
    }
    double p_sum = 0.0, q_sum = 0.0;
    for (int b = 0; b < i; ++b) {
      p_sum += p[b];
      q_sum += q[b];
    }
    if (p_sum == 0.0 || q_sum == 0.0) continue;
    double kl = 0.0;
    bool infinite = false;
    for (int b = 0; b < i; ++b) {
      if (p[b] == 0.0) continue;
      const double pb = p[b] / p_sum;
      const double qb = q[b] / q_sum;
      if (qb == 0.0) {  // an outlier bin with no quantized mass: smooth as TensorRT does
        infinite = true;
        break;
      }
      kl += pb * std::log(pb / qb);
    }
    if (infinite) continue;
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  if (kl_out) *kl_out = best_kl;
  return bin_width * (static_cast<float>(best_i) + 0.5f);
}

// KL calibration on an asymmetric grid for data of both signs, from a signed histogram of
// `hist.size()` bins of `width` starting at `lo_edge`: the threshold is searched from each
// end (clipping the upper tail, or the lower one) with the whole grid (2^bits levels) over
// the kept part, and the side with the smaller KL wins. TensorRT's symmetric |r| search
// would cut a skewed distribution (a normalized image: a spike of background at -0.81,
// bright pixels up to 2.0) at its smaller side's magnitude and clip half the grid away.
ClipRange kl_asymmetric(std::vector<double> hist, float lo_edge, float width, int levels,
                        DataRange d) {
  double kl_up = 0.0, kl_down = 0.0;
  const float t_up = kl_threshold(hist, width, levels, &kl_up);
  std::reverse(hist.begin(), hist.end());
  const float t_down = kl_threshold(hist, width, levels, &kl_down);
  const float hi_edge = lo_edge + width * static_cast<float>(hist.size());
  ClipRange r{d.lo, d.hi};
  if (kl_up <= kl_down) r.r_max = std::min(d.hi, lo_edge + t_up);
  else r.r_min = std::max(d.lo, hi_edge - t_down);
  r.r_min = std::min(r.r_min, 0.0f);
  r.r_max = std::max(r.r_max, 0.0f);
  return r;
}

std::string range_string(float lo, float hi) {
  return "[" + number_string(lo, 6) + ", " + number_string(hi, 6) + "]";
}

// KL's guard (linear.hpp): the KL range when its quantization MSE on the data (values with
// weights) is at most kKlMaxMseRatio times min-max's; else, and for fewer values than
// histogram bins, the MSE-optimal range with a note saying why.
constexpr double kKlMaxMseRatio = 20.0;

Result<ClipRange> guarded_kl(const ClipRange& kl, std::span<const float> values,
                             std::span<const double> weights, DataRange d, const QuantSpec& spec,
                             const CalibrationOptions& o, double count) {
  std::string why;
  if (count < static_cast<double>(o.histogram_bins)) {
    why = "KL calibration needs a histogram, and " + number_string(count) +
          " values are fewer than its " + std::to_string(o.histogram_bins) + " bins";
  } else {
    auto p_kl = params_from_range(kl.r_min, kl.r_max, spec);
    auto p_mm = params_from_range(d.lo, d.hi, spec);
    if (!p_kl || !p_mm) return kl;
    const double e_kl = error_split_weighted(values, weights, *p_kl).total_mse;
    const double e_mm = error_split_weighted(values, weights, *p_mm).total_mse;
    if (e_kl <= kKlMaxMseRatio * e_mm) return kl;
    const double ratio = e_kl / e_mm;
    const std::string times = ratio >= 100.0 ? std::to_string(std::llround(ratio)) : number_string(ratio, 3);
    why = "KL's range " + range_string(kl.r_min, kl.r_max) + " quantizes this data with " +
          times + " times the MSE of min-max " + range_string(d.lo, d.hi) +
          " (" + number_string(e_kl, 4) + " against " + number_string(e_mm, 4) + ")";
  }
  auto r = mse_search(values, weights, d, spec, o.mse_steps);
  if (!r) return r;
  r->note = why + ": the MSE-optimal range " + range_string(r->r_min, r->r_max) + " instead";
  return r;
}

int kl_levels(const QuantSpec& spec, bool both_signs) {
  // A one-sided distribution uses the whole grid; a two-sided one half of it per side.
  return both_signs ? (1 << (spec.bits - 1)) : (1 << spec.bits);
}

Status check_options(const QuantSpec& spec, const CalibrationOptions& o) {
  auto range = integer_range(spec);
  if (!range) return range.status();
  if (o.method == CalibrationMethod::kPercentile &&
      !(o.percentile > 50.0 && o.percentile <= 100.0)) {
    return invalid_argument("percentile must be in (50, 100], got " + number_string(o.percentile));
  }
  if (o.method == CalibrationMethod::kKl && spec.bits == 32) {
    return invalid_argument("KL calibration applies to 2..8-bit grids");
  }
  if (o.histogram_bins < 16 || o.histogram_bins > (1 << 16)) {
    return invalid_argument("histogram_bins must be in 16..65536, got " +
                            std::to_string(o.histogram_bins));
  }
  if (o.mse_steps < 1 || o.mse_steps > 100000) {
    return invalid_argument("mse_steps must be in 1..100000, got " + std::to_string(o.mse_steps));
  }
  return Status::ok();
}

ClipRange clamp_to_data(float t, DataRange d) { return {std::max(d.lo, -t), std::min(d.hi, t)}; }

}  // namespace

Result<ErrorSplit> quantization_error(std::span<const float> data, const QuantParams& p) {
  QL_RETURN_IF_ERROR(validate_params(p));
  if (data.empty()) return empty_input("quantization_error: the data is empty");
  QL_RETURN_IF_ERROR(check_finite(data, "data"));
  return error_split_weighted(data, {}, p);
}

Result<ArrayStats> array_stats(std::span<const float> data) {
  if (data.empty()) return empty_input("array_stats: the data is empty");
  QL_RETURN_IF_ERROR(check_finite(data, "data"));
  ArrayStats st;
  st.count = data.size();
  st.min = st.max = data[0];
  double sum = 0, sq = 0;
  for (float v : data) {
    st.min = std::min(st.min, double(v));
    st.max = std::max(st.max, double(v));
    sum += v;
  }
  st.mean = sum / double(data.size());
  for (float v : data) sq += (double(v) - st.mean) * (double(v) - st.mean);
  st.std = std::sqrt(sq / double(data.size()));
  return st;
}

Result<ArrayComparison> compare_arrays(std::span<const float> ref, std::span<const float> test) {
  if (ref.size() != test.size()) {
    return shape_mismatch("compare_arrays: the reference has " + std::to_string(ref.size()) +
                          " values and the other array " + std::to_string(test.size()));
  }
  if (ref.empty()) return empty_input("compare_arrays: the arrays are empty");
  QL_RETURN_IF_ERROR(check_finite(ref, "reference"));
  QL_RETURN_IF_ERROR(check_finite(test, "test"));
  double signal = 0, noise = 0, worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = double(ref[i]) - double(test[i]);
    signal += double(ref[i]) * double(ref[i]);
    noise += d * d;
    worst = std::max(worst, std::fabs(d));
  }
  ArrayComparison c;
  c.mse = noise / double(ref.size());
  c.sqnr_db = noise == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(signal / noise);
  c.max_abs_diff = worst;
  return c;
}

Result<ErrorSweep> error_sweep(std::span<const float> data, const QuantSpec& spec, int steps) {
  if (data.empty()) return empty_input("error_sweep: the data is empty");
  if (steps < 1 || steps > 10000) {
    return invalid_argument("steps must be in 1..10000, got " + std::to_string(steps));
  }
  QL_RETURN_IF_ERROR(check_finite(data, "data"));
  auto range = integer_range(spec);
  if (!range) return range.status();
  const DataRange d = widened_range(data);
  ErrorSweep s;
  for (int i = 1; i <= steps; ++i) {
    const float a = static_cast<float>(i) / static_cast<float>(steps);
    auto p = params_from_range(a * d.lo, a * d.hi, spec);
    if (!p) continue;
    const ErrorSplit e = error_split_weighted(data, {}, *p);
    s.clip_min.push_back(a * d.lo);
    s.clip_max.push_back(a * d.hi);
    s.round_mse.push_back(e.round_mse);
    s.clip_mse.push_back(e.clip_mse);
    s.total_mse.push_back(e.total_mse);
  }
  return s;
}

Result<ClipRange> calibrate(std::span<const float> data, const QuantSpec& spec,
                            const CalibrationOptions& options) {
  if (data.empty()) return empty_input("calibrate: the data is empty");
  QL_RETURN_IF_ERROR(check_finite(data, "data"));
  QL_RETURN_IF_ERROR(check_options(spec, options));
  const DataRange d = widened_range(data);
  switch (options.method) {
    case CalibrationMethod::kMinMax:
      return ClipRange{d.lo, d.hi};
    case CalibrationMethod::kPercentile: {
      std::vector<float> sorted(data.begin(), data.end());
      std::sort(sorted.begin(), sorted.end());
      // Linear interpolation between closest ranks (numpy's default).
      auto at = [&](double pct) {
        const double pos = pct / 100.0 * static_cast<double>(sorted.size() - 1);
        const size_t i = static_cast<size_t>(std::floor(pos));
        const size_t j = std::min(i + 1, sorted.size() - 1);
        const double f = pos - static_cast<double>(i);
        return static_cast<float>(sorted[i] + f * (static_cast<double>(sorted[j]) - sorted[i]));
      };
      return ClipRange{std::min(at(100.0 - options.percentile), 0.0f),
                       std::max(at(options.percentile), 0.0f)};
    }
    case CalibrationMethod::kMse:
      return mse_search(data, {}, d, spec, options.mse_steps);
    case CalibrationMethod::kKl: {
      const float abs_max = std::max(-d.lo, d.hi);
      if (abs_max == 0.0f) return ClipRange{0.0f, 0.0f};
      const int bins = options.histogram_bins;
      ClipRange kl;
      if (!spec.symmetric && d.lo < 0.0f && d.hi > 0.0f) {
        const float width = (d.hi - d.lo) / static_cast<float>(bins);
        std::vector<double> hist(bins, 0.0);
        for (float r : data) {
          const int b = std::clamp(static_cast<int>((r - d.lo) / width), 0, bins - 1);
          hist[b] += 1.0;
        }
        kl = kl_asymmetric(std::move(hist), d.lo, width, kl_levels(spec, false), d);
      } else {
        const float width = abs_max / static_cast<float>(bins);
        std::vector<double> hist(bins, 0.0);
        for (float r : data) {
          const int b = std::min(bins - 1, static_cast<int>(std::fabs(r) / width));
          hist[b] += 1.0;
        }
        const bool both = d.lo < 0.0f && d.hi > 0.0f;
        kl = clamp_to_data(kl_threshold(hist, width, kl_levels(spec, both)), d);
      }
      return guarded_kl(kl, data, {}, d, spec, options, static_cast<double>(data.size()));
    }
  }
  return invalid_argument("unknown calibration method");
}

// --- RangeObserver ---------------------------------------------------------------------------

RangeObserver::RangeObserver(int bins) : bins_(std::clamp(bins, 16, 1 << 16)) {
  pos_.assign(bins_, 0.0);
  neg_.assign(bins_, 0.0);
}

void RangeObserver::grow_to(float abs_max) {
  if (bin_width_ == 0.0f) {
    // First data: the histogram covers [0, abs_max] with a little headroom.
    bin_width_ = abs_max > 0.0f ? abs_max * 1.0001f / static_cast<float>(bins_) : 0.0f;
    return;
  }
  while (abs_max >= bin_width_ * static_cast<float>(bins_)) {
    // Double the range: bin pairs merge into one.
    for (int b = 0; b < bins_ / 2; ++b) {
      pos_[b] = pos_[2 * b] + pos_[2 * b + 1];
      neg_[b] = neg_[2 * b] + neg_[2 * b + 1];
    }
    std::fill(pos_.begin() + bins_ / 2, pos_.end(), 0.0);
    std::fill(neg_.begin() + bins_ / 2, neg_.end(), 0.0);
    bin_width_ *= 2.0f;
  }
}

Status RangeObserver::observe(std::span<const float> data) {
  if (data.empty()) return Status::ok();
  QL_RETURN_IF_ERROR(check_finite(data, "data"));
  auto [mn, mx] = std::minmax_element(data.begin(), data.end());
  const float batch_abs = std::max(std::fabs(*mn), std::fabs(*mx));
  if (count_ == 0) {
    min_ = *mn;
    max_ = *mx;
  } else {
    min_ = std::min(min_, *mn);
    max_ = std::max(max_, *mx);
  }
  grow_to(batch_abs);
  count_ += data.size();
  if (bin_width_ == 0.0f) {
    pos_[0] += static_cast<double>(data.size());  // all zeros so far
    return Status::ok();
  }
  for (float r : data) {
    const int b = std::min(bins_ - 1, static_cast<int>(std::fabs(r) / bin_width_));
    (r < 0.0f ? neg_ : pos_)[b] += 1.0;
  }
  return Status::ok();
}

Result<ClipRange> RangeObserver::range(const QuantSpec& spec,
                                       const CalibrationOptions& options) const {
  if (count_ == 0) return empty_input("the observer has seen no data");
  QL_RETURN_IF_ERROR(check_options(spec, options));
  const DataRange d{std::min(min_, 0.0f), std::max(max_, 0.0f)};
  if (options.method == CalibrationMethod::kMinMax || bin_width_ == 0.0f) {
    return ClipRange{d.lo, d.hi};
  }
  // Bin centres as weighted points, on the signed axis.
  std::vector<float> values;
  std::vector<double> weights;
  for (int b = bins_ - 1; b >= 0; --b) {
    if (neg_[b] > 0) {
      values.push_back(-(static_cast<float>(b) + 0.5f) * bin_width_);
      weights.push_back(neg_[b]);
    }
  }
  for (int b = 0; b < bins_; ++b) {
    if (pos_[b] > 0) {
      values.push_back((static_cast<float>(b) + 0.5f) * bin_width_);
      weights.push_back(pos_[b]);
    }
  }
  switch (options.method) {
    case CalibrationMethod::kMinMax:
      break;
    case CalibrationMethod::kPercentile: {
      const double total = static_cast<double>(count_);
      auto at = [&](double pct) {
        const double target = pct / 100.0 * total;
        double acc = 0.0;
        for (size_t i = 0; i < values.size(); ++i) {
          acc += weights[i];
          if (acc >= target) return values[i];
        }
        return values.back();
      };
      return ClipRange{std::clamp(at(100.0 - options.percentile), d.lo, 0.0f),
                       std::clamp(at(options.percentile), 0.0f, d.hi)};
    }
    case CalibrationMethod::kMse:
      return mse_search(values, weights, d, spec, options.mse_steps);
    case CalibrationMethod::kKl: {
      std::vector<double> hist(bins_);
      for (int b = 0; b < bins_; ++b) hist[b] = pos_[b] + neg_[b];
      // Trim empty top bins so the candidate thresholds span the data.
      int used = bins_;
      while (used > 1 && hist[used - 1] == 0.0) --used;
      hist.resize(used);
      const bool both = d.lo < 0.0f && d.hi > 0.0f;
      if (!spec.symmetric && both) {
        // The signed histogram: neg_ reversed, then pos_, empty bins trimmed at both ends.
        int neg_used = bins_, pos_used = bins_;
        while (neg_used > 0 && neg_[neg_used - 1] == 0.0) --neg_used;
        while (pos_used > 0 && pos_[pos_used - 1] == 0.0) --pos_used;
        std::vector<double> signed_hist;
        signed_hist.reserve(static_cast<size_t>(neg_used + pos_used));
        for (int b = neg_used - 1; b >= 0; --b) signed_hist.push_back(neg_[b]);
        for (int b = 0; b < pos_used; ++b) signed_hist.push_back(pos_[b]);
        const ClipRange kl = kl_asymmetric(std::move(signed_hist), -bin_width_ * static_cast<float>(neg_used),
                                           bin_width_, kl_levels(spec, false), d);
        return guarded_kl(kl, values, weights, d, spec, options, static_cast<double>(count_));
      }
      const ClipRange kl = clamp_to_data(kl_threshold(hist, bin_width_, kl_levels(spec, both)), d);
      return guarded_kl(kl, values, weights, d, spec, options, static_cast<double>(count_));
    }
  }
  return ClipRange{d.lo, d.hi};
}

}  // namespace quantlab
