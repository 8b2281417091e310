// Pruning: per-layer and global magnitude masks (exact counts, deterministic ties), the
// schedule, the relative-index format with filler zeros (a worked example, round trips,
// byte accounting) and invalid input.
#include "quantlab/prune.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace quantlab;

namespace {

std::vector<float> normal(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.1f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

PruneMask random_mask(size_t n, double keep, unsigned seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution b(keep);
  PruneMask m(n);
  for (auto& x : m) x = b(rng) ? 1 : 0;
  return m;
}

}  // namespace

TEST_CASE("per-layer magnitude pruning keeps the largest weights, exactly", "[prune]") {
  const std::vector<float> w = normal(1001, 1);
  for (double s : {0.0, 0.1, 0.5, 0.9, 0.92, 1.0}) {
    auto mask = magnitude_prune_mask(w, s);
    REQUIRE(mask.is_ok());
    const size_t pruned = static_cast<size_t>(std::count(mask->begin(), mask->end(), uint8_t{0}));
    REQUIRE(pruned == static_cast<size_t>(std::llround(s * 1001)));
    float max_pruned = 0, min_kept = std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < w.size(); ++i) {
      if ((*mask)[i]) min_kept = std::min(min_kept, std::abs(w[i]));
      else max_pruned = std::max(max_pruned, std::abs(w[i]));
    }
    if (pruned > 0 && pruned < w.size()) REQUIRE(max_pruned <= min_kept);
    REQUIRE(mask_sparsity(*mask) == Approx(static_cast<double>(pruned) / 1001));
  }
  // Ties: the lower index goes first.
  auto tie = magnitude_prune_mask(std::vector<float>{0.5f, -0.5f, 0.5f, 1.0f}, 0.5);
  REQUIRE(*tie == PruneMask{0, 0, 1, 1});
  std::vector<float> w2 = w;
  REQUIRE(apply_mask(w2, *magnitude_prune_mask(w, 0.5)).is_ok());
  REQUIRE(std::count(w2.begin(), w2.end(), 0.0f) == 501);  // round(0.5 * 1001), half away from 0
}

TEST_CASE("global magnitude pruning uses one threshold for all layers", "[prune]") {
  std::vector<float> a = normal(500, 2), b = normal(300, 3), c = normal(50, 4);
  for (auto& x : b) x *= 4.0f;  // a layer of large weights loses fewer
  const std::vector<std::span<const float>> layers = {a, b, c};
  auto masks = global_magnitude_prune_masks(layers, 0.8);
  REQUIRE(masks.is_ok());
  size_t pruned = 0;
  float max_pruned = 0, min_kept = std::numeric_limits<float>::infinity();
  for (size_t l = 0; l < 3; ++l) {
    REQUIRE((*masks)[l].size() == layers[l].size());
    for (size_t i = 0; i < layers[l].size(); ++i) {
      if ((*masks)[l][i]) min_kept = std::min(min_kept, std::abs(layers[l][i]));
      else {
        max_pruned = std::max(max_pruned, std::abs(layers[l][i]));
        ++pruned;
      }
    }
  }
  REQUIRE(pruned == 680);
  REQUIRE(max_pruned <= min_kept);
  REQUIRE(mask_sparsity((*masks)[1]) < mask_sparsity((*masks)[0]));
}

TEST_CASE("the pruning schedule ends at the final sparsity", "[prune]") {
  auto lin = prune_schedule(0.9, 3, PruneSchedule::kLinear);
  REQUIRE(lin.is_ok());
  REQUIRE((*lin)[0] == Approx(0.3));
  REQUIRE((*lin)[1] == Approx(0.6));
  REQUIRE((*lin)[2] == 0.9);
  auto cubic = prune_schedule(0.8, 4);
  REQUIRE((*cubic)[0] == Approx(0.8 * (1 - 0.75 * 0.75 * 0.75)));
  REQUIRE((*cubic)[3] == 0.8);
  REQUIRE(std::is_sorted(cubic->begin(), cubic->end()));
  REQUIRE(prune_schedule(0.5, 0).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("the pruning schedule bounds steps before it allocates", "[prune]") {
  // issue 18: prune_schedule(0.9, 2^30) allocated 8 GiB (wasm: aborted) instead of refusing.
  REQUIRE(prune_schedule(0.9, kMaxPruneScheduleSteps).is_ok());
  for (int steps : {kMaxPruneScheduleSteps + 1, 1 << 30, std::numeric_limits<int>::max()}) {
    auto r = prune_schedule(0.9, steps);
    REQUIRE(r.status().code() == ErrorCode::kInvalidArgument);
    REQUIRE_THAT(r.status().message(), Catch::Contains("1..1000000"));
  }
}

TEST_CASE("relative indices: a worked example with a filler zero", "[prune]") {
  // Kept weights at 1, 4 and 15 of 20; 3-bit gaps hold at most 7 skipped zeros.
  PruneMask mask(20, 0);
  mask[1] = mask[4] = mask[15] = 1;
  auto r = encode_relative_indices(mask, 3);
  REQUIRE(r.is_ok());
  REQUIRE(r->gaps == std::vector<uint32_t>{1, 2, 7, 2});
  REQUIRE(r->positions == std::vector<uint32_t>{1, 4, 12, 15});  // a filler at 12
  REQUIRE(r->fillers == 1);
  auto pos = decode_relative_indices(r->gaps, 3, 20);
  REQUIRE(*pos == r->positions);
  // fp32 values: 4 entries x (3 + 32) bits = 2 + 16 bytes.
  const SparseStorage s = sparse_storage(*r, 32);
  REQUIRE(s.entries == 4);
  REQUIRE(s.index_bits == 12);
  REQUIRE(s.value_bits == 128);
  REQUIRE(s.bytes == 18);
  // 2-bit codebook labels with 4 float centroids: 2 + 1 + 16 bytes.
  REQUIRE(sparse_storage(*r, 2, 16).bytes == 19);
  // A long run needs several fillers: kept at 0 and 40 with 2-bit gaps (at most 3 zeros).
  PruneMask far(41, 0);
  far[0] = far[40] = 1;
  auto f = encode_relative_indices(far, 2);
  REQUIRE(f->fillers == 9);  // 4, 8, ..., 36
  REQUIRE(f->positions.back() == 40);
  REQUIRE(f->gaps.back() == 3);
}

TEST_CASE("relative indices round-trip and contain every kept weight", "[prune]") {
  unsigned seed = 30;
  for (size_t n : {1u, 2u, 7u, 64u, 1000u, 30000u}) {
    for (double keep : {0.0, 0.01, 0.08, 0.3, 1.0}) {
      const PruneMask mask = random_mask(n, keep, seed++);
      for (int b : {1, 3, 5, 8, 16}) {
        auto r = encode_relative_indices(mask, b);
        REQUIRE(r.is_ok());
        auto pos = decode_relative_indices(r->gaps, b, n);
        REQUIRE(pos.is_ok());
        REQUIRE(*pos == r->positions);
        size_t kept = 0, fillers = 0;
        for (uint32_t p : r->positions) {
          REQUIRE(p < n);
          if (mask[p]) ++kept;
          else ++fillers;
        }
        REQUIRE(kept == static_cast<size_t>(std::count(mask.begin(), mask.end(), uint8_t{1})));
        REQUIRE(fillers == r->fillers);
        for (uint32_t g : r->gaps) REQUIRE(g < (1u << b));
      }
      auto best = best_gap_bits(mask, 5);
      REQUIRE(best.is_ok());
      size_t best_bytes = SIZE_MAX;
      for (int b = 1; b <= 16; ++b) {
        best_bytes = std::min(best_bytes, sparse_storage(*encode_relative_indices(mask, b), 5).bytes);
      }
      REQUIRE(sparse_storage(*encode_relative_indices(mask, *best), 5).bytes == best_bytes);
    }
  }
}

TEST_CASE("pruning rejects invalid input", "[prune]") {
  const std::vector<float> w = {1.0f, 2.0f};
  REQUIRE(magnitude_prune_mask(std::vector<float>{}, 0.5).status().code() == ErrorCode::kEmptyInput);
  REQUIRE(magnitude_prune_mask(w, 1.5).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(magnitude_prune_mask(w, std::nan("")).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(magnitude_prune_mask(std::vector<float>{std::nanf("")}, 0.5).status().code() == ErrorCode::kNotFinite);
  std::vector<float> w2 = w;
  REQUIRE(apply_mask(w2, PruneMask{1}).code() == ErrorCode::kShapeMismatch);
  REQUIRE(encode_relative_indices(PruneMask{1}, 0).status().code() == ErrorCode::kInvalidArgument);
  REQUIRE(encode_relative_indices(PruneMask{}, 4).status().code() == ErrorCode::kEmptyInput);
  REQUIRE(decode_relative_indices(std::vector<uint32_t>{8}, 3, 100).status().code() == ErrorCode::kMalformed);
  REQUIRE(decode_relative_indices(std::vector<uint32_t>{5, 5}, 3, 10).status().code() == ErrorCode::kMalformed);
}
