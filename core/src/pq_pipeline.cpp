// Product quantization of a whole network (Stock et al. 2020): layer by layer in network
// order, each layer's activation statistics taken through the already quantized earlier
// layers, then the codewords fine-tuned by the training engine through the shared-codebook
// mechanism of Deep Compression (pq_as_codebook), with progress and cancel.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "dc_random.hpp"
#include "train_internal.hpp"
#include "quantlab/compressed.hpp"
#include "quantlab/pq.hpp"

namespace quantlab {
namespace {


struct ResolvedLayer {
  std::string param;
  size_t layer = 0;  // index into network.layers()
  int d = 0, k = 0;
  int64_t rows = 0, cols = 0;
};

Result<std::vector<ResolvedLayer>> resolve_plan(const Network& net, const PQCompressionOptions& o) {
  std::vector<PQLayerPlan> plan = o.layers;
  const bool defaults = plan.empty();
  if (defaults) {
    for (const Layer& l : net.layers()) {
      if (l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d) {
        plan.push_back({net.params()[static_cast<size_t>(l.params[0])].name, 0, 0});
      }
    }
  }
  std::vector<ResolvedLayer> out;
  for (const PQLayerPlan& pl : plan) {
    ResolvedLayer r;
    r.param = pl.param;
    bool found = false;
    for (size_t li = 0; li < net.layers().size(); ++li) {
      const Layer& l = net.layers()[li];
      if ((l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d) && !l.params.empty() && l.params[0] >= 0 &&
          net.params()[static_cast<size_t>(l.params[0])].name == pl.param) {
        const Parameter& p = net.params()[static_cast<size_t>(l.params[0])];
        r.layer = li;
        r.rows = p.shape[0];
        r.cols = static_cast<int64_t>(p.size()) / r.rows;
        r.d = pl.d ? pl.d : (l.kind == LayerKind::kConv2d ? static_cast<int>(l.conv.kernel_h * l.conv.kernel_w) : o.fc_d);
        found = true;
      }
    }
    if (!found) return invalid_argument("pq_compress: '" + pl.param + "' is not the weight of a Linear or Conv2d layer");
    if (r.d < 1 || r.cols % r.d != 0) {
      return invalid_argument("pq_compress: d = " + std::to_string(r.d) + " does not divide the row length " +
                              std::to_string(r.cols) + " of '" + r.param + "'");
    }
    const int64_t n = r.rows * (r.cols / r.d);
    if (pl.k) {
      r.k = pl.k;
    } else {  // the default k, lowered to the largest power of two the layer can fill
      r.k = static_cast<int>(std::min<int64_t>(o.k, static_cast<int64_t>(std::bit_floor(static_cast<uint64_t>(n)))));
    }
    for (const ResolvedLayer& e : out) {
      if (e.param == r.param) return invalid_argument("pq_compress: '" + r.param + "' is planned twice");
    }
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const ResolvedLayer& a, const ResolvedLayer& b) { return a.layer < b.layer; });
  return out;
}

Result<Tensor> run_layer(const Network& net, size_t li, const Tensor& x) {
  auto one = single_layer_network(net, li);
  if (!one) return one.status();
  return one->forward(x);
}

double mse(std::span<const float> a, std::span<const float> b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = static_cast<double>(a[i]) - b[i];
    s += e * e;
  }
  return a.empty() ? 0.0 : s / static_cast<double>(a.size());
}

void clear_codebooks(Network& net, const std::vector<ResolvedLayer>& plan) {
  for (const ResolvedLayer& r : plan) (void)net.clear_codebook(r.param);
}

}  // namespace

Result<Network> single_layer_network(const Network& net, size_t index) {
  if (index >= net.layers().size()) {
    return out_of_range("single_layer_network: layer " + std::to_string(index) + " of " +
                        std::to_string(net.layers().size()));
  }
  const Layer& l = net.layers()[index];
  auto value = [&](size_t i) {
    return i < l.params.size() && l.params[i] >= 0 ? net.params()[static_cast<size_t>(l.params[i])].value
                                                   : std::vector<float>{};
  };
  Network out(l.input_shape);
  Status st;
  switch (l.kind) {
    case LayerKind::kLinear: st = out.add_linear(l.name, l.output_shape[0], value(0), value(1)); break;
    case LayerKind::kConv2d: {
      const Parameter& w = net.params()[static_cast<size_t>(l.params[0])];
      const bool has_bias = l.params.size() > 1 && l.params[1] >= 0;
      st = out.add_conv2d(l.name, w.shape[0], l.conv, value(0), value(1), has_bias);
      break;
    }
    case LayerKind::kRelu: st = out.add_relu(l.name); break;
    case LayerKind::kMaxPool: st = out.add_max_pool(l.pool_kernel, l.pool_stride, l.name); break;
    case LayerKind::kAvgPool: st = out.add_avg_pool(l.pool_kernel, l.pool_stride, l.name); break;
    case LayerKind::kGlobalAvgPool: st = out.add_global_avg_pool(l.name); break;
    case LayerKind::kFlatten: st = out.add_flatten(l.name); break;
    case LayerKind::kBatchNorm:
      st = out.add_batch_norm(l.name, value(0), value(1), value(2), value(3), l.eps);
      break;
  }
  if (!st) return st;
  return out;
}

Result<PQCompressionReport> pq_compress(Network& net, const ImageDataset& train, const ImageDataset& test,
                                        const PQCompressionOptions& o, const ProgressFn& progress,
                                        const CancelFn& cancel) {
  QL_RETURN_IF_ERROR(validate_dataset(train));
  QL_RETURN_IF_ERROR(validate_dataset(test));
  if (o.fc_d < 1) return invalid_argument("pq_compress: fc_d must be >= 1");
  if (o.k < 1 || o.k > kMaxPQCodewords) return invalid_argument("pq_compress: k must be 1..65536");
  if (o.calibration_count < 1 || o.heldout_count < 1) {
    return invalid_argument("pq_compress: calibration_count and heldout_count must be >= 1");
  }
  if (o.finetune_epochs < 0) return invalid_argument("pq_compress: finetune_epochs must be >= 0");
  if (o.eval_batch < 1 || o.train.batch_size < 1) return invalid_argument("pq_compress: batch sizes must be >= 1");
  if (o.finetune_epochs > 0 && !(o.train.learning_rate > 0.0f && std::isfinite(o.train.learning_rate))) {
    return invalid_argument("pq_compress: the fine-tuning learning rate must be > 0");
  }
  auto folded = net.fold_batch_norm();
  if (!folded) return folded.status();
  auto plan = resolve_plan(net, o);
  if (!plan) return plan.status();
  const bool activation = o.pq.objective == PQObjective::kActivation;

  PQCompressionReport rep;
  auto ev = evaluate(net, test, o.eval_batch, progress);
  if (!ev) return ev.status();
  rep.fp32_accuracy = ev->accuracy;

  auto cal = dataset_batch(train, 0, std::min(o.calibration_count, train.count));
  if (!cal) return cal.status();
  auto held = dataset_batch(test, 0, std::min(o.heldout_count, test.count));
  if (!held) return held.status();
  Tensor a_cal = std::move(cal).value(), a_held = std::move(held).value();

  // Sequential quantization: layer li sees the outputs of the quantized layers before it.
  size_t next = 0;
  for (size_t li = 0; li < net.layers().size(); ++li) {
    if (cancel && cancel()) return cancelled("pq_compress: cancelled");
    if (next < plan->size() && (*plan)[next].layer == li) {
      const ResolvedLayer& r = (*plan)[next];
      const Layer& layer = net.layers()[li];
      Parameter& w = *net.param(r.param);
      const auto t0 = std::chrono::steady_clock::now();
      std::optional<PQInputStats> stats;
      if (activation) {
        Result<PQInputStats> s = layer.kind == LayerKind::kConv2d
                                     ? pq_conv_input_stats(a_cal, layer.conv, r.d)
                                     : pq_input_stats(a_cal.data<float>(), a_cal.shape()[0], r.cols, r.d);
        if (!s) return s.status();
        stats = std::move(s).value();
      }
      PQParameters pp = o.pq;
      pp.d = r.d;
      pp.k = r.k;
      const std::string stage = "pq " + r.param;
      ProgressFn inner;
      if (progress) inner = [&](const Progress& p) { progress({stage.c_str(), p.done, p.total, p.value}); };
      auto q = pq_quantize(w.value, r.rows, r.cols, pp, stats ? &*stats : nullptr, inner, cancel);
      if (!q) return q.status();
      auto y_fp32 = run_layer(net, li, a_held);
      if (!y_fp32) return y_fp32.status();
      auto decoded = pq_decode(q->layer);
      if (!decoded) return decoded.status();
      if (activation && o.pq.center && layer.params.size() > 1 && layer.params[1] >= 0) {
        auto delta = pq_bias_correction(w.value, q->layer, *stats);
        if (!delta) return delta.status();
        Parameter& b = net.params()[static_cast<size_t>(layer.params[1])];
        for (size_t i = 0; i < b.value.size(); ++i) b.value[i] += (*delta)[i];
      }
      net.param(r.param)->value = std::move(decoded).value();
      auto y_q = run_layer(net, li, a_held);
      if (!y_q) return y_q.status();
      PQLayerReport lr;
      lr.param = r.param;
      lr.d = r.d;
      lr.k = r.k;
      lr.weights = w.size();
      lr.fp32_bytes = 4 * w.size();
      lr.storage = pq_storage(q->layer);
      lr.weight_mse = q->weight_mse;
      lr.output_mse = mse(y_fp32->data<float>(), y_q->data<float>());
      lr.objective = q->objective;
      lr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rep.layers.push_back(lr);
      rep.pq.push_back(std::move(q->layer));
      ++next;
    }
    auto c = run_layer(net, li, a_cal);
    if (!c) return c.status();
    a_cal = std::move(c).value();
    auto h = run_layer(net, li, a_held);
    if (!h) return h.status();
    a_held = std::move(h).value();
  }

  for (const Parameter& p : net.params()) {
    rep.fp32_bytes += 4 * p.size();
    size_t bytes = 4 * p.size();
    for (size_t i = 0; i < plan->size(); ++i) if ((*plan)[i].param == p.name) bytes = rep.layers[i].storage.total();
    rep.bytes += bytes;
  }
  rep.ratio = static_cast<double>(rep.fp32_bytes) / static_cast<double>(std::max<size_t>(1, rep.bytes));
  ev = evaluate(net, test, o.eval_batch, progress);
  if (!ev) return ev.status();
  rep.accuracy = ev->accuracy;

  // Fine-tuning: the codewords move by dL/dW summed per codeword coordinate.
  if (o.finetune_epochs > 0) {
    for (size_t i = 0; i < plan->size(); ++i) {
      QL_RETURN_IF_ERROR(net.set_codebook((*plan)[i].param, pq_as_codebook(rep.pq[i])));
    }
    Trainer trainer(net, o.train);
    const size_t n = static_cast<size_t>(train.count), bs = static_cast<size_t>(o.train.batch_size);
    const int64_t per_epoch = static_cast<int64_t>((n + bs - 1) / bs);
    int64_t total = per_epoch * o.finetune_epochs;
    if (o.train.max_steps > 0) total = std::min(total, o.train.max_steps);
    const int64_t every = std::max<int64_t>(1, total / 200);
    std::mt19937 rng(o.train.seed);
    std::vector<uint32_t> order(n);
    std::vector<uint8_t> labels;
    int64_t done = 0;
    double sum = 0.0;
    for (int e = 0; e < o.finetune_epochs && done < total; ++e) {
      std::iota(order.begin(), order.end(), 0u);
      dc::shuffle(order.data(), n, rng);
      for (size_t first = 0; first < n && done < total; first += bs) {
        if (cancel && cancel()) {
          clear_codebooks(net, *plan);
          return cancelled("pq_compress: cancelled");
        }
        const size_t len = std::min(bs, n - first);
        Tensor x = train_internal::gather_batch(train, std::span<const uint32_t>(order.data() + first, len), labels);
        auto loss = trainer.step(x, labels);
        if (!loss) {
          clear_codebooks(net, *plan);
          return loss.status();
        }
        sum += *loss;
        ++done;
        if (progress && (done % every == 0 || done == total)) {
          progress({"fine-tune", done, total, sum / static_cast<double>(done)});
        }
      }
    }
    for (size_t i = 0; i < plan->size(); ++i) {
      Parameter& w = *net.param((*plan)[i].param);
      QL_RETURN_IF_ERROR(pq_update_from_codebook(rep.pq[i], *w.codebook));
      auto decoded = pq_decode(rep.pq[i]);
      if (!decoded) return decoded.status();
      QL_RETURN_IF_ERROR(net.clear_codebook(w.name));
      w.value = std::move(decoded).value();
    }
    ev = evaluate(net, test, o.eval_batch, progress);
    if (!ev) return ev.status();
    rep.accuracy_ft = ev->accuracy;
  } else {
    rep.accuracy_ft = rep.accuracy;
  }

  // The container: PQ layers as coding 3, everything else float32, and the architecture.
  std::vector<TensorToCompress> tensors;
  for (const Layer& l : net.layers()) {
    for (int pi : l.params) {
      if (pi < 0) continue;
      const Parameter& p = net.params()[static_cast<size_t>(pi)];
      TensorToCompress t;
      t.name = p.name;
      t.shape = p.shape;
      for (size_t i = 0; i < plan->size(); ++i) if ((*plan)[i].param == p.name) t.pq = rep.pq[i];
      if (!t.pq) t.values = p.value;
      tensors.push_back(std::move(t));
    }
  }
  auto file = encode_compressed(tensors, &net);
  if (!file) return file.status();
  auto decoded = decode_compressed(*file);
  if (!decoded) return decoded.status();
  if (!decoded->network) return Status(ErrorCode::kInternal, "pq_compress: the file lost its architecture");
  ev = evaluate(*decoded->network, test, o.eval_batch, progress);
  if (!ev) return ev.status();
  rep.file_accuracy = ev->accuracy;
  rep.file = std::move(file).value();
  return rep;
}

}  // namespace quantlab
