// Training engine, training: data sets and batches, the optimizers (SGD with momentum, Adam,
// cosine decay) over masked and codebook-shared weights, fit and evaluate.
#include "quantlab/train.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "dc_random.hpp"
#include "train_internal.hpp"

namespace quantlab {

using namespace train_internal;

namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

// --- Training ------------------------------------------------------------------------------------

Status validate_dataset(const ImageDataset& d) {
  if (d.count <= 0) return empty_input("data set: no samples");
  if (d.channels <= 0 || d.height <= 0 || d.width <= 0) return invalid_argument("data set: bad image shape");
  if (!(d.std > 0.0f) || !std::isfinite(d.mean)) return invalid_argument("data set: std must be > 0");
  const uint64_t per = static_cast<uint64_t>(d.channels * d.height * d.width);
  if (d.images.size() != per * static_cast<uint64_t>(d.count)) {
    return shape_mismatch("data set: " + std::to_string(d.images.size()) + " image bytes for " +
                          std::to_string(d.count) + " images of " + std::to_string(per) + " pixels");
  }
  if (d.labels.size() != static_cast<size_t>(d.count)) {
    return shape_mismatch("data set: " + std::to_string(d.labels.size()) + " labels for " + std::to_string(d.count) + " images");
  }
  return Status::ok();
}

Tensor train_internal::gather_batch(const ImageDataset& d, std::span<const uint32_t> idx, std::vector<uint8_t>& labels) {
  const size_t per = static_cast<size_t>(d.channels * d.height * d.width);
  std::vector<float> v(idx.size() * per);
  labels.resize(idx.size());
  for (size_t n = 0; n < idx.size(); ++n) {
    const uint8_t* src = d.images.data() + static_cast<size_t>(idx[n]) * per;
    float* dst = v.data() + n * per;
    for (size_t i = 0; i < per; ++i) dst[i] = (static_cast<float>(src[i]) / 255.0f - d.mean) / d.std;
    labels[n] = d.labels[idx[n]];
  }
  return Tensor::from<float>({static_cast<int64_t>(idx.size()), d.channels, d.height, d.width}, std::move(v));
}

Result<Tensor> dataset_batch(const ImageDataset& data, int64_t first, int64_t n) {
  QL_RETURN_IF_ERROR(validate_dataset(data));
  if (first < 0 || n < 1 || first + n > data.count) {
    return out_of_range("dataset_batch: samples [" + std::to_string(first) + ", " + std::to_string(first + n) +
                        ") of " + std::to_string(data.count));
  }
  std::vector<uint32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), static_cast<uint32_t>(first));
  std::vector<uint8_t> labels;
  return gather_batch(data, idx, labels);
}

Trainer::Trainer(Network& network, const TrainOptions& options) : net_(&network), options_(options) {}

float Trainer::current_lr() const {
  if (!options_.cosine_decay || planned_steps_ <= 0) return options_.learning_rate;
  const double f = std::min(1.0, static_cast<double>(t_) / static_cast<double>(planned_steps_));
  return static_cast<float>(options_.learning_rate * 0.5 * (1.0 + std::cos(kPi * f)));
}

Status Trainer::apply_gradients() {
  auto& params = net_->params();
  m_.resize(params.size());
  v_.resize(params.size());
  shared_.resize(params.size(), 0);
  ++t_;
  const float lr = current_lr();
  const bool adam = options_.optimizer == OptimizerKind::kAdam;
  const double bc1 = 1.0 - std::pow(static_cast<double>(options_.beta1), static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(options_.beta2), static_cast<double>(t_));
  for (size_t pi = 0; pi < params.size(); ++pi) {
    Parameter& p = params[pi];
    if (!p.trainable) continue;
    // The gradient of what the optimizer moves: the values, or the shared centroids.
    std::vector<float> g(p.grad);
    if (!p.mask.empty()) for (size_t i = 0; i < g.size(); ++i) if (!p.mask[i]) g[i] = 0.0f;
    std::vector<float>* target = &p.value;
    std::vector<float> cg;
    if (p.codebook) {
      auto sums = cluster_gradient_sums(g, *p.codebook);
      if (!sums) return sums.status();
      cg.assign(sums->begin(), sums->end());
      g = std::move(cg);
      target = &p.codebook->centroids;
    } else if (options_.weight_decay != 0.0f) {
      for (size_t i = 0; i < g.size(); ++i) g[i] += options_.weight_decay * p.value[i];
    }
    std::vector<float>& m = m_[pi];
    std::vector<float>& v = v_[pi];
    const char shared = p.codebook ? 1 : 0;
    if (m.size() != g.size() || shared_[pi] != shared) {  // new, or sharing switched: fresh state
      m.assign(g.size(), 0.0f);
      v.assign(adam ? g.size() : 0, 0.0f);
      shared_[pi] = shared;
    }
    std::vector<float>& w = *target;
    const size_t first = (p.codebook && p.codebook->pinned_zero) ? 1 : 0;
    for (size_t i = first; i < g.size(); ++i) {
      if (adam) {
        m[i] = options_.beta1 * m[i] + (1.0f - options_.beta1) * g[i];
        v[i] = options_.beta2 * v[i] + (1.0f - options_.beta2) * g[i] * g[i];
        const double mh = m[i] / bc1, vh = v[i] / bc2;
        w[i] -= static_cast<float>(lr * mh / (std::sqrt(vh) + options_.epsilon));
      } else {
        m[i] = options_.momentum * m[i] + g[i];
        w[i] -= lr * m[i];
      }
    }
    if (p.codebook) {
      for (size_t i = 0; i < p.value.size(); ++i) p.value[i] = p.codebook->centroids[static_cast<size_t>(p.codebook->labels[i])];
    }
    if (!p.mask.empty()) QL_RETURN_IF_ERROR(apply_mask(p.value, p.mask));
    std::fill(p.grad.begin(), p.grad.end(), 0.0f);
  }
  return Status::ok();
}

Result<double> Trainer::step(const Tensor& x, std::span<const uint8_t> labels) {
  net_->zero_grad();
  auto loss = net_->loss_and_gradients(x, labels);
  if (!loss) return loss.status();
  if (!std::isfinite(*loss)) return not_finite("training diverged: the loss is not finite (lower the learning rate)");
  QL_RETURN_IF_ERROR(apply_gradients());
  return *loss;
}

Result<TrainStats> Trainer::fit(const ImageDataset& data, const ProgressFn& progress) {
  QL_RETURN_IF_ERROR(validate_dataset(data));
  if (options_.epochs < 1) return invalid_argument("fit: epochs must be >= 1");
  if (options_.batch_size < 1) return invalid_argument("fit: batch_size must be >= 1");
  if (!(options_.learning_rate > 0.0f) || !std::isfinite(options_.learning_rate)) {
    return invalid_argument("fit: learning_rate must be > 0");
  }
  const size_t bs = static_cast<size_t>(options_.batch_size);
  const size_t n = static_cast<size_t>(data.count);
  const int64_t per_epoch = static_cast<int64_t>((n + bs - 1) / bs);
  int64_t total = per_epoch * options_.epochs;
  if (options_.max_steps > 0) total = std::min(total, options_.max_steps);
  planned_steps_ = t_ + total;
  std::mt19937 rng(options_.seed);
  std::vector<uint32_t> order(n);
  TrainStats stats;
  std::vector<uint8_t> labels;
  int64_t done = 0;
  const int64_t every = std::max<int64_t>(1, total / 200);
  for (int e = 0; e < options_.epochs && done < total; ++e) {
    std::iota(order.begin(), order.end(), 0u);
    dc::shuffle(order.data(), n, rng);
    double sum = 0.0;
    int64_t batches = 0;
    for (size_t first = 0; first < n && done < total; first += bs) {
      const size_t len = std::min(bs, n - first);
      Tensor x = gather_batch(data, std::span<const uint32_t>(order.data() + first, len), labels);
      auto loss = step(x, labels);
      if (!loss) return loss.status();
      sum += *loss;
      ++batches;
      ++done;
      if (progress && (done % every == 0 || done == total)) {
        progress({"train", done, total, sum / static_cast<double>(batches)});
      }
    }
    stats.epoch_loss.push_back(sum / static_cast<double>(std::max<int64_t>(1, batches)));
  }
  stats.steps = done;
  return stats;
}

Result<EvalStats> evaluate(const Network& net, const ImageDataset& data, int batch_size,
                           const ProgressFn& progress) {
  QL_RETURN_IF_ERROR(validate_dataset(data));
  if (batch_size < 1) return invalid_argument("evaluate: batch_size must be >= 1");
  if (net.output_shape().size() != 1) return shape_mismatch("evaluate: the network's output is not a vector of logits");
  const size_t C = static_cast<size_t>(net.output_shape()[0]);
  const size_t n = static_cast<size_t>(data.count), bs = static_cast<size_t>(batch_size);
  EvalStats st;
  st.predictions.resize(n);
  double loss = 0.0;
  size_t correct = 0;
  std::vector<uint32_t> idx;
  std::vector<uint8_t> labels;
  for (size_t first = 0; first < n; first += bs) {
    const size_t len = std::min(bs, n - first);
    idx.resize(len);
    std::iota(idx.begin(), idx.end(), static_cast<uint32_t>(first));
    Tensor x = gather_batch(data, idx, labels);
    QL_RETURN_IF_ERROR(check_labels(labels, len, C));
    auto logits = net.forward(x);
    if (!logits) return logits.status();
    auto z = logits->data<float>();
    std::vector<float> zv(z.begin(), z.end());
    std::vector<uint8_t> pred(len);
    loss += softmax_cross_entropy(zv, len, C, labels, nullptr, &pred) * static_cast<double>(len);
    for (size_t i = 0; i < len; ++i) {
      st.predictions[first + i] = pred[i];
      if (pred[i] == labels[i]) ++correct;
    }
    if (progress) progress({"evaluate", static_cast<int64_t>(first + len), static_cast<int64_t>(n), 0.0});
  }
  st.loss = loss / static_cast<double>(n);
  st.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(n);
  return st;
}

}  // namespace quantlab
