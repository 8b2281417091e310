// Deep Compression one step at a time on a Network: prune some parameters, share one
// parameter's weights, replace values. The masks and the pinned zero follow the paper's
// rules here, so every caller (the lessons, the JavaScript API) gets the same policy.
#include <cmath>
#include <string>

#include "quantlab/deep_compression.hpp"

namespace quantlab {
namespace {

Status no_parameter(std::string_view name) {
  std::string m = "no parameter '";
  m += name;
  m += "'";
  return invalid_argument(std::move(m));
}

}  // namespace

Result<std::vector<double>> prune_parameters(Network& net, std::span<const std::string> names,
                                             double sparsity, bool global) {
  std::vector<std::span<const float>> spans;
  for (const auto& name : names) {
    const Parameter* p = net.param(name);
    if (!p) return no_parameter(name);
    spans.push_back(p->value);
  }
  std::vector<PruneMask> masks;
  if (global) {
    auto m = global_magnitude_prune_masks(spans, sparsity);
    if (!m) return m.status();
    masks = std::move(m).value();
  } else {
    for (const auto& s : spans) {
      auto m = magnitude_prune_mask(s, sparsity);
      if (!m) return m.status();
      masks.push_back(std::move(m).value());
    }
  }
  std::vector<double> out;
  for (size_t i = 0; i < names.size(); ++i) {
    // Keep earlier pruning: a weight pruned before stays pruned.
    const Parameter* p = net.param(names[i]);
    if (!p->mask.empty()) {
      for (size_t j = 0; j < masks[i].size(); ++j) masks[i][j] &= p->mask[j];
    }
    out.push_back(mask_sparsity(masks[i]));
    QL_RETURN_IF_ERROR(net.set_mask(names[i], std::move(masks[i])));
  }
  return out;
}

Result<KMeansResult> quantize_parameter(Network& net, std::string_view name, int bits,
                                        const KMeansOptions& options, const ProgressFn& progress) {
  const Parameter* p = net.param(name);
  if (!p) return no_parameter(name);
  KMeansOptions o = options;
  if (!p->mask.empty()) o.pinned_zero = true;  // pruned weights stay at the pinned zero
  auto r = k_means(p->value, bits, o, progress);
  if (!r) return r.status();
  QL_RETURN_IF_ERROR(net.set_codebook(name, r->codebook));
  return r;
}

Status set_parameter_values(Network& net, std::string_view name, std::vector<float> values) {
  Parameter* p = net.param(name);
  if (!p) return no_parameter(name);
  if (values.size() != p->size()) {
    std::string m = "'";
    m += name;
    m += "' has " + std::to_string(p->size()) + " values";
    return shape_mismatch(std::move(m));
  }
  for (float x : values) {
    if (!std::isfinite(x)) return not_finite("values are not finite");
  }
  p->value = std::move(values);
  p->codebook.reset();
  if (!p->mask.empty()) QL_RETURN_IF_ERROR(apply_mask(p->value, p->mask));
  return Status::ok();
}

}  // namespace quantlab
