// Which layer hurts: the per-layer sensitivity report and the mixed-precision search of
// ptq.hpp. Both calibrate once (quantize_static with the caller's options), then make each
// variant with those ranges given, and measure it on the first samples of the data.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "quantlab/ptq.hpp"

namespace quantlab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double sqnr_of(double signal, double noise) {
  if (noise == 0.0) return std::numeric_limits<double>::infinity();
  if (signal == 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

struct Metrics {
  double sqnr_db = 0;
  double accuracy = kNaN;
};

/// The evaluation samples, the fp32 model's first output on them, and the labels.
class Evaluator {
 public:
  static Result<Evaluator> make(const Model& fp32, std::span<const float> data, const Shape& shape,
                                int64_t batch_size, int64_t eval_samples,
                                std::span<const int32_t> labels, RequantMode mode) {
    if (eval_samples < 1) return invalid_argument("evalSamples must be >= 1, got " + std::to_string(eval_samples));
    if (shape.empty() || shape[0] < 1) return shape_mismatch("the data need at least one sample");
    auto whole = shape_size(shape);
    if (!whole) return whole.status();
    if (data.size() != *whole) {
      return shape_mismatch("the data have " + std::to_string(data.size()) + " values but the shape " +
                            shape_string(shape) + " holds " + std::to_string(*whole));
    }
    if (!labels.empty() && labels.size() != static_cast<size_t>(shape[0])) {
      return shape_mismatch("labels: expected one per sample (" + std::to_string(shape[0]) + "), got " +
                            std::to_string(labels.size()));
    }
    Evaluator e;
    e.mode_ = mode;
    int64_t n = std::min(eval_samples, shape[0]);
    const auto& in = fp32.inputs();
    if (in.size() == 1 && in[0].rank_known && !in[0].dims.empty() && in[0].dims[0] > 0) {
      const int64_t fixed = in[0].dims[0];
      n = std::max(n / fixed, int64_t{1}) * fixed;  // whole batches (model_batches checks shape[0])
      n = std::min(n, shape[0]);
    }
    Shape s = shape;
    s[0] = n;
    const size_t per = data.size() / static_cast<size_t>(shape[0]);
    auto batches = model_batches(fp32, data.first(static_cast<size_t>(n) * per), s, batch_size);
    if (!batches) return batches.status();
    e.batches_ = std::move(*batches);
    auto ref = e.outputs(fp32);
    if (!ref) return ref.status();
    e.reference_ = std::move(*ref);
    e.samples_ = 0;
    for (const Tensor& b : e.batches_) e.samples_ += b.dim(0);
    for (float v : e.reference_) e.signal_ += static_cast<double>(v) * v;
    if (!labels.empty()) {
      if (e.reference_.size() % static_cast<size_t>(e.samples_) != 0) {
        return shape_mismatch("labels need an output with one row per sample");
      }
      e.classes_ = static_cast<int64_t>(e.reference_.size()) / e.samples_;
      e.labels_.assign(labels.begin(), labels.begin() + e.samples_);
      for (int32_t l : e.labels_) {
        if (l < 0 || l >= e.classes_) {
          return invalid_argument("labels: class " + std::to_string(l) + " is outside the output's " +
                                  std::to_string(e.classes_) + " classes");
        }
      }
      e.fp32_accuracy_ = e.accuracy(e.reference_);
    }
    return e;
  }

  /// SQNR and accuracy of a quantized model (QOperator form).
  Result<Metrics> measure(const OnnxModel& q) const {
    ModelOptions mo;
    mo.requant_mode = mode_;
    auto m = Model::from_onnx(q, mo);
    if (!m) return m.status();
    auto out = outputs(*m);
    if (!out) return out.status();
    if (out->size() != reference_.size()) {
      return Status(ErrorCode::kInternal, "the quantized model's output differs in size");
    }
    double noise = 0;
    for (size_t i = 0; i < out->size(); ++i) {
      const double d = static_cast<double>((*out)[i]) - reference_[i];
      noise += d * d;
    }
    Metrics r;
    r.sqnr_db = sqnr_of(signal_, noise);
    if (!labels_.empty()) r.accuracy = accuracy(*out);
    return r;
  }

  double fp32_accuracy() const { return fp32_accuracy_; }
  int64_t samples() const { return samples_; }

 private:
  Result<std::vector<float>> outputs(const Model& m) const {
    std::vector<float> all;
    for (const Tensor& b : batches_) {
      auto out = m.run({&b, 1});
      if (!out) return out.status();
      const Tensor& y = out->at(0);
      if (y.dtype() != DType::kFloat32) {
        return unsupported(std::string("the model's first output is ") + dtype_name(y.dtype()) + ", not float32");
      }
      const auto v = y.data<float>();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }

  double accuracy(const std::vector<float>& y) const {
    int64_t right = 0;
    for (int64_t i = 0; i < samples_; ++i) {
      const float* row = y.data() + i * classes_;
      const auto best = std::max_element(row, row + classes_) - row;
      right += best == labels_[static_cast<size_t>(i)];
    }
    return static_cast<double>(right) / static_cast<double>(samples_);
  }

  RequantMode mode_ = RequantMode::kFp32;
  std::vector<Tensor> batches_;
  std::vector<float> reference_;
  std::vector<int32_t> labels_;
  double signal_ = 0;
  double fp32_accuracy_ = kNaN;
  int64_t samples_ = 0;
  int64_t classes_ = 0;
};

Status check_bits(const std::vector<int>& bits, const char* what) {
  if (bits.empty()) return invalid_argument(std::string(what) + ": at least one width is needed");
  for (int b : bits) {
    if (b < 2 || b > 8) return invalid_argument(std::string(what) + ": widths must be 2..8, got " + std::to_string(b));
  }
  return Status::ok();
}

/// Every quantized activation of a made model, given as its scale and zero point.
std::vector<GivenRange> given_ranges(const PtqResult& r) {
  std::vector<GivenRange> g;
  for (const PtqValueRange& v : r.ranges) {
    GivenRange x;
    x.value = v.value;
    x.scale = v.params.scale;
    x.zero_point = v.params.zero_point;
    g.push_back(std::move(x));
  }
  return g;
}

/// The calibration, the evaluator and the options every variant starts from.
struct Baseline {
  PtqResult result;
  std::vector<Tensor> calibration;
  Evaluator eval;
  PtqOptions variant;  // options with every range given
};

Result<Baseline> make_baseline(const Model& fp32, std::span<const float> data, const Shape& shape,
                               const PtqOptions& options, int64_t eval_samples,
                               std::span<const int32_t> labels) {
  auto batches = model_batches(fp32, data, shape, options.batch_size);
  if (!batches) return batches.status();
  auto eval = Evaluator::make(fp32, data, shape, options.batch_size, eval_samples, labels, options.requant_mode);
  if (!eval) return eval.status();
  auto base = quantize_static(fp32, *batches, options);
  if (!base) return base.status();
  PtqOptions variant = options;
  variant.ranges = given_ranges(*base);
  variant.progress = nullptr;
  variant.report_samples = 1;
  return Baseline{std::move(*base), std::move(*batches), std::move(*eval), std::move(variant)};
}

/// Quantizes with `o` and measures the model. Every range the variant used is then given in
/// `o`, so the next variant of the same plan (another width) does not calibrate again.
Result<Metrics> measure(const Model& fp32, const Baseline& b, PtqOptions& o) {
  auto q = quantize_static(fp32, b.calibration, o);
  if (!q) return q.status();
  o.ranges = given_ranges(*q);
  return b.eval.measure(q->model);
}

}  // namespace

Result<SensitivityReport> ptq_sensitivity(const Model& fp32, std::span<const float> data,
                                          const Shape& shape, const PtqOptions& options,
                                          const SensitivityOptions& sensitivity,
                                          std::span<const int32_t> labels) {
  QL_RETURN_IF_ERROR(check_bits(sensitivity.bits, "sensitivity bits"));
  auto base = make_baseline(fp32, data, shape, options, sensitivity.eval_samples, labels);
  if (!base) return base.status();
  SensitivityReport report;
  report.samples = base->eval.samples();
  report.fp32_accuracy = base->eval.fp32_accuracy();
  auto all = base->eval.measure(base->result.model);
  if (!all) return all.status();
  report.all_sqnr_db = all->sqnr_db;
  report.all_accuracy = all->accuracy;
  const auto& layers = base->result.layers;
  const auto& qinits = base->result.model.graph.initializers;
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerSensitivity s;
    s.name = layers[i].name;
    s.op_type = layers[i].op_type;
    s.accumulated_sqnr_db = layers[i].sqnr_db;
    for (const OnnxTensor& t : qinits) {
      if (t.tensor.dtype() == DType::kInt8 && t.name.ends_with("_" + s.name + "_weight_quantized")) {
        s.weights = static_cast<int64_t>(t.tensor.size());
      }
    }
    PtqOptions o = base->variant;
    for (size_t j = 0; j < layers.size(); ++j) {
      if (j != i) o.exclude_nodes.push_back(layers[j].name);
    }
    for (int bits : sensitivity.bits) {
      o.layers = {PtqLayerOptions{s.name, bits, WeightGranularity::kDefault}};
      auto m = measure(fp32, *base, o);
      if (!m) return Status(m.status().code(), "layer '" + s.name + "' alone: " + m.status().message());
      s.bits.push_back(bits);
      s.sqnr_db.push_back(m->sqnr_db);
      s.accuracy.push_back(m->accuracy);
    }
    report.layers.push_back(std::move(s));
    if (options.progress) {
      Progress p;
      p.stage = "sensitivity";
      p.done = static_cast<int64_t>(i) + 1;
      p.total = static_cast<int64_t>(layers.size());
      p.value = std::nan("");
      options.progress(p);
    }
  }
  return report;
}

Result<MixedPrecisionResult> ptq_mixed_precision(const Model& fp32, std::span<const float> data,
                                                 const Shape& shape, const PtqOptions& options,
                                                 const MixedPrecisionOptions& mixed,
                                                 std::span<const int32_t> labels) {
  QL_RETURN_IF_ERROR(check_bits(mixed.bits, "mixed-precision bits"));
  const bool by_accuracy = !std::isnan(mixed.max_accuracy_drop);
  if (by_accuracy && labels.empty()) {
    return invalid_argument("maxAccuracyDrop needs labels");
  }
  if (by_accuracy && !(mixed.max_accuracy_drop >= 0.0 && mixed.max_accuracy_drop <= 100.0)) {
    return invalid_argument("maxAccuracyDrop must be 0..100 points");
  }
  if (!by_accuracy && std::isnan(mixed.min_sqnr_db)) return invalid_argument("minSqnrDb must be a number");
  std::vector<int> widths = mixed.bits;
  std::sort(widths.begin(), widths.end(), std::greater<>());
  widths.erase(std::unique(widths.begin(), widths.end()), widths.end());

  SensitivityOptions so;
  so.bits = widths;
  so.eval_samples = mixed.eval_samples;
  auto sens = ptq_sensitivity(fp32, data, shape, options, so, labels);
  if (!sens) return sens.status();
  // The widest candidate for every layer is the start (and the budget's reference).
  PtqOptions start = options;
  start.layers.clear();
  for (const LayerSensitivity& s : sens->layers) start.layers.push_back({s.name, widths[0], WeightGranularity::kDefault});
  auto base = make_baseline(fp32, data, shape, start, mixed.eval_samples, labels);
  if (!base) return base.status();

  MixedPrecisionResult r;
  r.sensitivity = std::move(*sens);
  const auto& layers = r.sensitivity.layers;
  const size_t n = layers.size();
  std::vector<size_t> at(n, 0);
  std::vector<bool> blocked(n, false);
  auto plan_of = [&](const std::vector<size_t>& w) {
    std::vector<PtqLayerOptions> p;
    for (size_t i = 0; i < n; ++i) p.push_back({layers[i].name, widths[w[i]], WeightGranularity::kDefault});
    return p;
  };
  const double floor_acc = r.sensitivity.fp32_accuracy - mixed.max_accuracy_drop / 100.0;
  auto within = [&](const Metrics& m) {
    return by_accuracy ? m.accuracy >= floor_acc - 1e-12 : m.sqnr_db >= mixed.min_sqnr_db;
  };
  PtqOptions o = base->variant;
  o.layers = plan_of(at);
  auto current = measure(fp32, *base, o);
  if (!current) return current.status();
  r.measured = 1;
  // Relative noise power of a layer alone at width index k: 10^(-SQNR / 10).
  auto noise = [&](size_t i, size_t k) { return std::pow(10.0, -layers[i].sqnr_db[k] / 10.0); };
  while (within(*current)) {
    size_t best = n;
    double best_gain = -1;
    for (size_t i = 0; i < n; ++i) {
      if (blocked[i] || at[i] + 1 >= widths.size()) continue;
      const double saved = static_cast<double>(layers[i].weights) * (widths[at[i]] - widths[at[i] + 1]);
      const double added = std::max(noise(i, at[i] + 1) - noise(i, at[i]), 1e-12);
      const double gain = saved / added;
      if (gain > best_gain) {
        best_gain = gain;
        best = i;
      }
    }
    if (best == n) break;
    std::vector<size_t> trial = at;
    ++trial[best];
    o.layers = plan_of(trial);
    auto m = measure(fp32, *base, o);
    if (!m) return m.status();
    ++r.measured;
    if (within(*m)) {
      at = std::move(trial);
      current = std::move(m);
    } else {
      blocked[best] = true;
    }
  }
  r.layers = plan_of(at);
  r.sqnr_db = current->sqnr_db;
  r.accuracy = current->accuracy;
  for (size_t i = 0; i < n; ++i) {
    r.weight_bits += layers[i].weights * widths[at[i]];
    r.int8_weight_bits += layers[i].weights * 8;
  }
  return r;
}

}  // namespace quantlab
