// Magnitude pruning masks, schedules, and the relative-index sparse format.
#include "quantlab/prune.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "weight_checks.hpp"

namespace quantlab {
namespace {

Status check_sparsity(double sparsity, const char* what) {
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
    return invalid_argument(std::string(what) + ": sparsity must be in [0, 1], got " +
                            std::to_string(sparsity));
  }
  return Status::ok();
}

size_t prune_count(size_t n, double sparsity) {
  return std::min(n, static_cast<size_t>(std::llround(sparsity * static_cast<double>(n))));
}

}  // namespace

Result<PruneMask> magnitude_prune_mask(std::span<const float> w, double sparsity) {
  QL_RETURN_IF_ERROR(check_weights(w, "magnitude_prune_mask"));
  QL_RETURN_IF_ERROR(check_sparsity(sparsity, "magnitude_prune_mask"));
  const size_t n = w.size();
  const size_t count = prune_count(n, sparsity);
  PruneMask mask(n, 1);
  if (count == 0) return mask;
  std::vector<uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  auto less = [&](uint32_t a, uint32_t b) {
    const float fa = std::abs(w[a]), fb = std::abs(w[b]);
    return fa < fb || (fa == fb && a < b);
  };
  if (count < n) std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(count), idx.end(), less);
  for (size_t i = 0; i < count; ++i) mask[idx[i]] = 0;
  return mask;
}

Result<std::vector<PruneMask>> global_magnitude_prune_masks(
    std::span<const std::span<const float>> layers, double sparsity) {
  QL_RETURN_IF_ERROR(check_sparsity(sparsity, "global_magnitude_prune_masks"));
  if (layers.empty()) return empty_input("global_magnitude_prune_masks: no layers");
  struct Ref {
    float mag;
    uint32_t layer;
    uint32_t index;
  };
  std::vector<Ref> all;
  for (size_t l = 0; l < layers.size(); ++l) {
    QL_RETURN_IF_ERROR(check_weights(layers[l], "global_magnitude_prune_masks"));
    for (size_t i = 0; i < layers[l].size(); ++i) {
      all.push_back({std::abs(layers[l][i]), static_cast<uint32_t>(l), static_cast<uint32_t>(i)});
    }
  }
  const size_t count = prune_count(all.size(), sparsity);
  std::vector<PruneMask> masks;
  for (const auto& layer : layers) masks.emplace_back(layer.size(), 1);
  if (count == 0) return masks;
  auto less = [](const Ref& a, const Ref& b) {
    if (a.mag != b.mag) return a.mag < b.mag;
    if (a.layer != b.layer) return a.layer < b.layer;
    return a.index < b.index;
  };
  if (count < all.size()) std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(count), all.end(), less);
  for (size_t i = 0; i < count; ++i) masks[all[i].layer][all[i].index] = 0;
  return masks;
}

Status apply_mask(std::span<float> w, std::span<const uint8_t> mask) {
  if (w.size() != mask.size()) {
    return shape_mismatch("apply_mask: " + std::to_string(w.size()) + " weights but a mask of " +
                          std::to_string(mask.size()));
  }
  for (size_t i = 0; i < w.size(); ++i) if (!mask[i]) w[i] = 0.0f;
  return Status::ok();
}

double mask_sparsity(std::span<const uint8_t> mask) {
  if (mask.empty()) return 0.0;
  const size_t zeros = static_cast<size_t>(std::count(mask.begin(), mask.end(), uint8_t{0}));
  return static_cast<double>(zeros) / static_cast<double>(mask.size());
}

Result<std::vector<double>> prune_schedule(double final_sparsity, int steps, PruneSchedule kind) {
  QL_RETURN_IF_ERROR(check_sparsity(final_sparsity, "prune_schedule"));
  if (steps < 1 || steps > kMaxPruneScheduleSteps) {
    return invalid_argument("prune_schedule: steps must be in 1.." + std::to_string(kMaxPruneScheduleSteps) +
                            ", got " + std::to_string(steps));
  }
  std::vector<double> s(static_cast<size_t>(steps));
  for (int t = 1; t <= steps; ++t) {
    const double f = static_cast<double>(t) / steps;
    const double g = kind == PruneSchedule::kLinear ? f : 1.0 - (1.0 - f) * (1.0 - f) * (1.0 - f);
    s[static_cast<size_t>(t - 1)] = t == steps ? final_sparsity : final_sparsity * g;
  }
  return s;
}

Result<RelativeIndices> encode_relative_indices(std::span<const uint8_t> mask, int gap_bits) {
  if (mask.empty()) return empty_input("encode_relative_indices: empty mask");
  if (gap_bits < 1 || gap_bits > 16) {
    return invalid_argument("encode_relative_indices: gap_bits must be 1..16, got " + std::to_string(gap_bits));
  }
  if (mask.size() > 0xFFFFFFFFu) return too_large("encode_relative_indices: more than 2^32 - 1 weights");
  const uint64_t max_gap = (uint64_t{1} << gap_bits) - 1;
  RelativeIndices r;
  r.gap_bits = gap_bits;
  r.dense_size = mask.size();
  int64_t prev = -1;  // position of the previous entry
  for (size_t p = 0; p < mask.size(); ++p) {
    if (!mask[p]) continue;
    uint64_t gap = static_cast<uint64_t>(static_cast<int64_t>(p) - prev - 1);
    while (gap > max_gap) {  // filler zero at the farthest position one gap reaches
      prev += static_cast<int64_t>(max_gap) + 1;
      r.gaps.push_back(static_cast<uint32_t>(max_gap));
      r.positions.push_back(static_cast<uint32_t>(prev));
      ++r.fillers;
      gap = static_cast<uint64_t>(static_cast<int64_t>(p) - prev - 1);
    }
    r.gaps.push_back(static_cast<uint32_t>(gap));
    r.positions.push_back(static_cast<uint32_t>(p));
    prev = static_cast<int64_t>(p);
  }
  return r;
}

Result<std::vector<uint32_t>> decode_relative_indices(std::span<const uint32_t> gaps, int gap_bits,
                                                      size_t dense_size) {
  if (gap_bits < 1 || gap_bits > 16) {
    return invalid_argument("decode_relative_indices: gap_bits must be 1..16, got " + std::to_string(gap_bits));
  }
  const uint64_t max_gap = (uint64_t{1} << gap_bits) - 1;
  if (gaps.size() > dense_size) {
    return malformed("relative indices: " + std::to_string(gaps.size()) + " entries for " +
                     std::to_string(dense_size) + " weights");
  }
  std::vector<uint32_t> pos(gaps.size());
  uint64_t next = 0;  // first position the next entry may take
  for (size_t e = 0; e < gaps.size(); ++e) {
    if (gaps[e] > max_gap) {
      return malformed("relative indices: gap " + std::to_string(gaps[e]) + " of entry " + std::to_string(e) +
                       " does not fit in " + std::to_string(gap_bits) + " bits");
    }
    const uint64_t p = next + gaps[e];
    if (p >= dense_size) {
      return malformed("relative indices: entry " + std::to_string(e) + " lands at position " +
                       std::to_string(p) + ", past the " + std::to_string(dense_size) + " weights");
    }
    pos[e] = static_cast<uint32_t>(p);
    next = p + 1;
  }
  return pos;
}

SparseStorage sparse_storage(const RelativeIndices& r, int value_bits, size_t codebook_bytes) {
  SparseStorage s;
  s.entries = r.gaps.size();
  s.fillers = r.fillers;
  s.index_bits = static_cast<uint64_t>(s.entries) * static_cast<uint64_t>(r.gap_bits);
  s.value_bits = static_cast<uint64_t>(s.entries) * static_cast<uint64_t>(value_bits);
  s.codebook_bytes = codebook_bytes;
  s.bytes = static_cast<size_t>((s.index_bits + 7) / 8 + (s.value_bits + 7) / 8) + codebook_bytes;
  return s;
}

Result<int> best_gap_bits(std::span<const uint8_t> mask, int value_bits) {
  int best = 0;
  size_t best_bytes = 0;
  for (int b = 1; b <= 16; ++b) {
    auto r = encode_relative_indices(mask, b);
    if (!r) return r.status();
    const size_t bytes = sparse_storage(*r, value_bits).bytes;
    if (best == 0 || bytes < best_bytes) {
      best = b;
      best_bytes = bytes;
    }
  }
  return best;
}

}  // namespace quantlab
