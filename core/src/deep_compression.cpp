// Deep Compression's pipeline: prune + retrain, k-means + trained quantization, Huffman, with
// the storage account of every stage.
#include "quantlab/deep_compression.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "compressed_internal.hpp"

namespace quantlab {
namespace {

/// The layer (Linear or Conv2d) whose weight is `param`, or null.
const Layer* layer_of(const Network& net, const std::string& param) {
  for (const Layer& l : net.layers()) {
    if ((l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d) && !l.params.empty() && l.params[0] >= 0 &&
        net.params()[static_cast<size_t>(l.params[0])].name == param) {
      return &l;
    }
  }
  return nullptr;
}

Result<std::vector<LayerPlan>> resolve_plan(const Network& net, const DeepCompressionOptions& o) {
  std::vector<LayerPlan> plan = o.layers;
  if (plan.empty()) {
    for (const Layer& l : net.layers()) {
      if (l.kind != LayerKind::kLinear && l.kind != LayerKind::kConv2d) continue;
      LayerPlan p;
      p.param = net.params()[static_cast<size_t>(l.params[0])].name;
      const bool conv = l.kind == LayerKind::kConv2d;
      p.sparsity = conv ? o.conv_sparsity : o.fc_sparsity;
      p.bits = conv ? o.conv_bits : o.fc_bits;
      plan.push_back(p);
    }
  }
  for (LayerPlan& p : plan) {
    const Layer* l = layer_of(net, p.param);
    if (!l) return invalid_argument("deep_compression: '" + p.param + "' is not the weight of a Linear or Conv2d layer");
    if (!(p.sparsity >= 0.0 && p.sparsity < 1.0)) {
      return invalid_argument("deep_compression: the sparsity of '" + p.param + "' must be in [0, 1)");
    }
    if (p.bits < 0 || p.bits > kMaxKMeansBits) return invalid_argument("deep_compression: bits of '" + p.param + "' must be 0..8");
    if (p.gap_bits < -1 || p.gap_bits > 16) return invalid_argument("deep_compression: gap_bits of '" + p.param + "' must be -1..16");
    if (p.gap_bits == 0) p.gap_bits = l->kind == LayerKind::kConv2d ? kGapBitsConv : kGapBitsFc;
  }
  return plan;
}

PruneMask mask_of(const Parameter& p) {
  if (!p.mask.empty()) return p.mask;
  PruneMask m(p.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = p.value[i] != 0.0f;
  return m;
}

Result<int> gap_bits_for(const LayerPlan& plan, const PruneMask& mask, int value_bits) {
  if (plan.gap_bits > 0) return plan.gap_bits;
  return best_gap_bits(mask, value_bits);
}

Result<EvalStats> eval(const Network& net, const ImageDataset& test, const DeepCompressionOptions& o,
                       const ProgressFn& progress) {
  return evaluate(net, test, o.eval_batch, progress);
}

Status train_epochs(Network& net, const ImageDataset& train, TrainOptions t, int epochs, const ProgressFn& progress) {
  if (epochs <= 0) return Status::ok();
  t.epochs = epochs;
  Trainer trainer(net, t);
  auto st = trainer.fit(train, progress);
  return st ? Status::ok() : st.status();
}

}  // namespace

Result<StorageAccount> storage_account(const Network& net, const std::vector<LayerPlan>& plan) {
  StorageAccount a;
  for (const Parameter& p : net.params()) {
    const size_t dense = 4 * p.size();
    a.fp32 += dense;
    const LayerPlan* lp = nullptr;
    for (const LayerPlan& x : plan) if (x.param == p.name) lp = &x;
    if (!lp) {
      a.pruned += dense;
      a.quantized += dense;
      continue;
    }
    LayerReport r;
    r.param = p.name;
    r.size = p.size();
    r.fp32_bytes = dense;
    const bool pruned = !p.mask.empty();
    const PruneMask mask = mask_of(p);
    r.kept = static_cast<size_t>(std::count(mask.begin(), mask.end(), uint8_t{1}));
    const int bits = p.codebook ? p.codebook->bits() : 0;
    r.bits = bits;
    if (pruned) {
      auto gap = gap_bits_for(*lp, mask, bits ? bits : 32);
      if (!gap) return gap.status();
      r.gap_bits = *gap;
      auto ri = encode_relative_indices(mask, *gap);
      if (!ri) return ri.status();
      r.pruned_bytes = sparse_storage(*ri, 32).bytes;
      r.quantized_bytes = bits ? sparse_storage(*ri, bits, (size_t{1} << bits) * 4).bytes : r.pruned_bytes;
    } else {
      r.pruned_bytes = dense;
      r.quantized_bytes = bits ? static_cast<size_t>(codebook_storage_bytes(p.size(), bits)) : dense;
    }
    a.pruned += r.pruned_bytes;
    a.quantized += r.quantized_bytes;
    a.layers.push_back(r);
  }
  return a;
}

Result<DeepCompressionReport> deep_compression(Network& net, const ImageDataset& train, const ImageDataset& test,
                                               const DeepCompressionOptions& o, const ProgressFn& progress) {
  QL_RETURN_IF_ERROR(validate_dataset(train));
  QL_RETURN_IF_ERROR(validate_dataset(test));
  if (o.prune_steps < 1 || o.retrain_epochs < 0 || o.quantized_epochs < 0) {
    return invalid_argument("deep_compression: prune_steps >= 1 and epochs >= 0");
  }
  if (!(o.quantized_lr_scale > 0.0f)) return invalid_argument("deep_compression: quantized_lr_scale must be > 0");
  if (o.bias_bits != 0 && o.bias_bits != 16 && o.bias_bits != 32) {
    return invalid_argument("deep_compression: bias_bits must be 0, 16 or 32");
  }
  if (o.entropy != EntropyCoder::kHuffman && o.entropy != EntropyCoder::kRans && o.entropy != EntropyCoder::kBest) {
    return invalid_argument("deep_compression: unknown entropy coder");
  }
  auto folded = net.fold_batch_norm();
  if (!folded) return folded.status();
  auto plan = resolve_plan(net, o);
  if (!plan) return plan.status();
  DeepCompressionReport report;
  auto add_stage = [&](const char* name, size_t bytes, const EvalStats& ev, size_t fp32) {
    StageReport s;
    s.stage = name;
    s.bytes = bytes;
    s.ratio = static_cast<double>(fp32) / static_cast<double>(std::max<size_t>(1, bytes));
    s.accuracy = ev.accuracy;
    s.loss = ev.loss;
    report.stages.push_back(s);
  };

  // fp32.
  auto ev = eval(net, test, o, progress);
  if (!ev) return ev.status();
  auto acct = storage_account(net, *plan);
  if (!acct) return acct.status();
  const size_t fp32 = acct->fp32;
  add_stage("fp32", fp32, *ev, fp32);

  // Pruning: step t prunes layer l to sparsity_l * f_t, keeping what earlier steps pruned,
  // then retrains with the masks held.
  auto fractions = prune_schedule(1.0, o.prune_steps, o.schedule);
  if (!fractions) return fractions.status();
  for (int t = 0; t < o.prune_steps; ++t) {
    if (progress) progress({"prune", t, o.prune_steps, std::numeric_limits<double>::quiet_NaN()});
    for (const LayerPlan& lp : *plan) {
      if (lp.sparsity <= 0.0) continue;
      const Parameter* p = net.param(lp.param);
      auto m = magnitude_prune_mask(p->value, lp.sparsity * (*fractions)[static_cast<size_t>(t)]);
      if (!m) return m.status();
      PruneMask mask = std::move(m).value();
      if (!p->mask.empty()) for (size_t i = 0; i < mask.size(); ++i) mask[i] &= p->mask[i];
      QL_RETURN_IF_ERROR(net.set_mask(lp.param, std::move(mask)));
    }
    TrainOptions to = o.train;
    to.seed = o.train.seed + static_cast<uint32_t>(t);
    QL_RETURN_IF_ERROR(train_epochs(net, train, to, o.retrain_epochs, progress));
  }
  if (progress) progress({"prune", o.prune_steps, o.prune_steps, std::numeric_limits<double>::quiet_NaN()});
  ev = eval(net, test, o, progress);
  if (!ev) return ev.status();
  acct = storage_account(net, *plan);
  if (!acct) return acct.status();
  add_stage("pruned", acct->pruned, *ev, fp32);

  // Quantization: a codebook per layer (a pinned zero for pruned layers), then trained
  // quantization: the centroids move with the per-cluster gradient sums.
  std::vector<double> mse(plan->size(), 0.0);
  for (size_t li = 0; li < plan->size(); ++li) {
    const LayerPlan& lp = (*plan)[li];
    if (lp.bits == 0) continue;
    const Parameter* p = net.param(lp.param);
    KMeansOptions ko = o.kmeans;
    ko.pinned_zero = !p->mask.empty();
    auto r = k_means(p->value, lp.bits, ko, progress);
    if (!r) return r.status();
    mse[li] = r->mse;
    QL_RETURN_IF_ERROR(net.set_codebook(lp.param, std::move(r->codebook)));
  }
  TrainOptions tq = o.train;
  tq.learning_rate = o.train.learning_rate * o.quantized_lr_scale;
  tq.seed = o.train.seed + 1000u;
  QL_RETURN_IF_ERROR(train_epochs(net, train, tq, o.quantized_epochs, progress));
  ev = eval(net, test, o, progress);
  if (!ev) return ev.status();
  acct = storage_account(net, *plan);
  if (!acct) return acct.status();
  add_stage("quantized", acct->quantized, *ev, fp32);

  // Huffman: the file, decoded and measured; beside it the file with the best coder.
  const GapBitsFn gaps = [&](const Layer&, const Parameter& p, int bits) -> Result<std::optional<int>> {
    const LayerPlan* lp = nullptr;
    for (const LayerPlan& x : *plan) if (x.param == p.name) lp = &x;
    if (!lp) return std::optional<int>();
    auto gap = gap_bits_for(*lp, mask_of(p), bits);
    if (!gap) return gap.status();
    return std::optional<int>(*gap);
  };
  TensorCoding coding;
  coding.huffman = o.huffman;
  coding.entropy = o.entropy;
  coding.bias_bits = o.bias_bits;
  auto tensors = network_tensors(net, coding, gaps);
  if (!tensors) return tensors.status();
  if (progress) progress({"encode", 0, 1, std::numeric_limits<double>::quiet_NaN()});
  auto file = encode_compressed(*tensors, &net);
  if (!file) return file.status();
  auto decoded = decode_compressed(*file);
  if (!decoded) return decoded.status();
  if (!decoded->network) return Status(ErrorCode::kInternal, "deep_compression: the file lost its architecture");
  coding.huffman = true;
  coding.entropy = EntropyCoder::kBest;
  auto best_tensors = network_tensors(net, coding, gaps);
  if (!best_tensors) return best_tensors.status();
  auto best_file = encode_compressed(*best_tensors, &net);
  if (!best_file) return best_file.status();
  auto best_decoded = decode_compressed(*best_file);
  if (!best_decoded) return best_decoded.status();
  for (size_t i = 0; i < decoded->tensors.size(); ++i) {
    if (best_decoded->tensors[i].values != decoded->tensors[i].values) {
      return Status(ErrorCode::kInternal, "deep_compression: the entropy-coded file decodes to other values");
    }
  }
  if (progress) progress({"encode", 1, 1, std::numeric_limits<double>::quiet_NaN()});
  ev = eval(*decoded->network, test, o, progress);
  if (!ev) return ev.status();
  add_stage("huffman", file->size(), *ev, fp32);
  report.stages.back().entropy_bytes = best_file->size();
  report.stages.back().entropy_ratio =
      static_cast<double>(fp32) / static_cast<double>(std::max<size_t>(1, best_file->size()));

  report.layers = acct->layers;
  for (size_t li = 0; li < report.layers.size(); ++li) {
    LayerReport& r = report.layers[li];
    for (size_t pi = 0; pi < plan->size(); ++pi) if ((*plan)[pi].param == r.param) r.kmeans_mse = mse[pi];
    for (const DecodedTensor& t : decoded->tensors) if (t.name == r.param) r.huffman_bytes = t.sizes.total();
    for (const DecodedTensor& t : best_decoded->tensors) if (t.name == r.param) r.entropy_bytes = t.sizes.total();
  }
  report.file = std::move(file).value();
  return report;
}

}  // namespace quantlab
