// Magnitude pruning and sparse storage (Han et al. 2015, "Deep Compression", section 2;
// MIT 6.5940 lecture 5, section 5.5's pipeline): per-layer and global masks, an iterative
// schedule, and the relative-index format with b-bit gaps and filler zeros, with exact byte
// accounting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "quantlab/status.hpp"

namespace quantlab {

/// A pruning mask: one byte per weight, 1 = kept, 0 = pruned.
using PruneMask = std::vector<uint8_t>;

/// Keeps the n - round(sparsity n) weights of largest |w|; exactly round(sparsity n) are
/// pruned, ties broken by index (the lower index is pruned first), so the mask is
/// deterministic. sparsity in [0, 1]. Errors: empty or non-finite weights, sparsity outside
/// [0, 1].
Result<PruneMask> magnitude_prune_mask(std::span<const float> weights, double sparsity);

/// One threshold over several layers: round(sparsity * total) weights pruned in all, the
/// smallest |w| of any layer first (ties: lower layer, then lower index). Errors: as above.
Result<std::vector<PruneMask>> global_magnitude_prune_masks(
    std::span<const std::span<const float>> layers, double sparsity);

/// w[i] = 0 where mask[i] == 0. Errors: sizes differ.
Status apply_mask(std::span<float> weights, std::span<const uint8_t> mask);

/// Fraction of zeros in a mask (pruned weights).
double mask_sparsity(std::span<const uint8_t> mask);

/// How the sparsity grows over an iterative schedule.
enum class PruneSchedule {
  kLinear,  ///< s_t = s (t / T)
  kCubic,   ///< s_t = s (1 - (1 - t / T)^3): prune fast first, gently at the end (Zhu and Gupta 2017)
};

/// Most steps a pruning schedule may have (checked before the schedule is allocated).
inline constexpr int kMaxPruneScheduleSteps = 1'000'000;

/// Target sparsities s_1 .. s_T (the last one is final_sparsity); retrain between steps.
/// Errors: steps outside 1..kMaxPruneScheduleSteps, final_sparsity outside [0, 1].
Result<std::vector<double>> prune_schedule(double final_sparsity, int steps,
                                           PruneSchedule kind = PruneSchedule::kCubic);

/// Gap widths of the paper: 8 bits for conv layers, 5 for fully connected layers.
inline constexpr int kGapBitsConv = 8;
inline constexpr int kGapBitsFc = 5;

/// Relative-index (gap) encoding of a sparse vector (Deep Compression, Figure 2). Entries
/// are the kept positions in order; each stores the number of zeros skipped since the
/// previous entry (the first counts from position 0) in gap_bits bits. A run of more than
/// 2^gap_bits - 1 zeros inserts a filler entry (a stored zero) at the position the largest
/// gap reaches. Zeros after the last entry are implied by the dense size.
struct RelativeIndices {
  int gap_bits = 0;
  size_t dense_size = 0;
  /// One gap per entry, each in [0, 2^gap_bits - 1].
  std::vector<uint32_t> gaps;
  /// The dense position of each entry (fillers included), ascending.
  std::vector<uint32_t> positions;
  /// Entries that are fillers, not kept weights.
  size_t fillers = 0;
};

/// The entries of `mask` in relative-index form. gap_bits 1..16. Errors: an empty mask,
/// gap_bits outside 1..16, more than 2^32 - 1 weights.
Result<RelativeIndices> encode_relative_indices(std::span<const uint8_t> mask, int gap_bits);

/// Dense positions from gaps (what a decoder does). Errors (kMalformed): a gap above
/// 2^gap_bits - 1, or entries past dense_size.
Result<std::vector<uint32_t>> decode_relative_indices(std::span<const uint32_t> gaps,
                                                      int gap_bits, size_t dense_size);

/// Bits and bytes of a sparse layer: every entry (fillers included) stores a gap_bits gap
/// and a value of value_bits bits (32 for fp32 weights, b for b-bit codebook labels); each
/// stream is rounded up to whole bytes; plus codebook_bytes (2^b float32 centroids, or 0).
struct SparseStorage {
  size_t entries = 0;
  size_t fillers = 0;
  uint64_t index_bits = 0;
  uint64_t value_bits = 0;
  size_t codebook_bytes = 0;
  size_t bytes = 0;  ///< ceil(index_bits / 8) + ceil(value_bits / 8) + codebook_bytes
};
SparseStorage sparse_storage(const RelativeIndices& indices, int value_bits,
                             size_t codebook_bytes = 0);

/// The gap width 1..16 with the smallest sparse_storage(.., value_bits).bytes for this mask
/// (ties: the narrower gap). Errors: as encode_relative_indices.
Result<int> best_gap_bits(std::span<const uint8_t> mask, int value_bits);

}  // namespace quantlab
