// K-means weight quantization (MIT 6.5940 lecture 5, section 5.6.1; Han et al. 2015, "Deep
// Compression"): each layer keeps a codebook of k = 2^bits shared weights (centroids) and one
// integer label per weight. Lloyd's algorithm from four initializations, the exact optimal
// 1-D k-means (dynamic programming), and the two fine-tuning updates of section 5.6.2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "quantlab/progress.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {

/// Shared weights of one layer (the course labs' Codebook): weight i is
/// centroids[labels[i]].
struct Codebook {
  /// k = 2^bits values. Ascending, except that with pinned_zero index 0 holds the 0 and
  /// indices 1..k-1 are ascending. Unused centroids (fewer distinct weights than k) repeat
  /// their neighbour.
  std::vector<float> centroids;
  /// One label per weight, in the weights' order, each in [0, k).
  std::vector<int32_t> labels;
  /// Pruned layers: centroid 0 is exactly 0.0f, every pruned (zero) weight has label 0 and
  /// no nonzero weight has, and the fine-tuning updates never move it. This is also the
  /// "filler zero" of the sparse format (prune.hpp).
  bool pinned_zero = false;

  int bits() const;  ///< log2(centroids.size())
};

/// Where Lloyd's iterations start.
enum class KMeansInit {
  kLinear,    ///< k points evenly spaced on [min, max] (Deep Compression's choice)
  kDensity,   ///< the (t + 1/2) / k quantiles: evenly spaced on the CDF's y axis
  kRandom,    ///< k weights drawn uniformly (Forgy), seeded
  kPlusPlus,  ///< k-means++ (Arthur and Vassilvitskii 2007): D^2 sampling, seeded
};

enum class KMeansMethod {
  kLloyd,    ///< Lloyd iterations from `init` (a local optimum)
  kOptimal,  ///< the exact minimum of the MSE (dynamic programming; ignores init)
};

/// How kOptimal finds the optimum (both are exact).
enum class KMeansSolver {
  /// Lagrangian relaxation: a few O(n log n) passes of a penalized one-row problem, with
  /// the dynamic program as the fallback when no penalty gives exactly k clusters.
  kAuto,
  /// The dynamic program over k rows (divide and conquer per row): O(k n log n).
  kDynamicProgram,
};

struct KMeansOptions {
  /// Default Lloyd from the linear initialization, as in Deep Compression.
  KMeansMethod method = KMeansMethod::kLloyd;
  KMeansInit init = KMeansInit::kLinear;
  /// Lloyd: at most this many assignment steps; it stops earlier when no weight changes
  /// cluster. On sorted weights a step costs O(k log n), so hundreds are cheap.
  int iterations = 300;
  /// kRandom and kPlusPlus draw from std::mt19937(seed) (the same numbers on every build).
  uint32_t seed = 0;
  /// Treat exact zeros as pruned weights: label 0 is pinned at 0 and the other k - 1
  /// centroids are fitted to the nonzero weights only (see Codebook::pinned_zero).
  bool pinned_zero = false;
  /// kOptimal only.
  KMeansSolver solver = KMeansSolver::kAuto;
};

struct KMeansResult {
  Codebook codebook;
  /// Mean over all weights of (w - centroids[label])^2, computed in double.
  double mse = 0.0;
  /// Lloyd: assignment steps run. Optimal: 0.
  int iterations = 0;
};

/// bits = 1..kMaxKMeansBits.
inline constexpr int kMaxKMeansBits = 8;

/// Cluster `weights` into 2^bits centroids. The result's labels assign each weight to its
/// nearest float32 centroid (ties to the lower index), so the MSE of kOptimal is at most that
/// of any Lloyd run on the same weights, up to rounding the centroids to float32.
/// kOptimal: a few O(n log n) passes (Lagrangian), or O(k n log n) time and O(k n) bits of
/// memory (dynamic program); n = distinct weights.
/// progress: "k-means" penalty iterations or rows (kOptimal), or Lloyd iterations.
/// Errors: no weights, NaN or infinite weights, bits outside 1..8, iterations < 0.
Result<KMeansResult> k_means(std::span<const float> weights, int bits,
                             const KMeansOptions& options = {},
                             const ProgressFn& progress = {});

/// The course labs' k_means_quantize: the codebook of `weights` at `bits`.
Result<Codebook> k_means_quantize(std::span<const float> weights, int bits,
                                  const KMeansOptions& options = {});

/// The labs' in-place form: replaces a float32 tensor's values by their centroids and
/// returns the codebook. Errors: as above, or a tensor that is not float32.
Result<Codebook> k_means_quantize(Tensor& tensor, int bits, const KMeansOptions& options = {});

/// The k initial centroids (ascending) that Lloyd starts from; k >= 1.
Result<std::vector<float>> k_means_init(std::span<const float> weights, int k,
                                        KMeansInit init, uint32_t seed = 0);

/// The dense weights centroids[labels[i]]. Errors: a label outside [0, k).
Result<std::vector<float>> codebook_weights(const Codebook& codebook);

/// Mean squared error of the weights against their codebook (double). Errors: sizes differ,
/// a label outside [0, k).
Result<double> codebook_mse(std::span<const float> weights, const Codebook& codebook);

/// Storage of a dense codebook-quantized layer, as on the lecture's slide: n labels of
/// `bits` bits (rounded up to whole bytes) plus 2^bits float32 centroids. The lecture's 4x4
/// example at 2 bits: 4 + 16 = 20 bytes against 64 in fp32 (3.2x). 64-bit on every target
/// (size_t is 32 bits in wasm32, where 2^33 weights at 4 bits would wrap). bits in 1..8.
uint64_t codebook_storage_bytes(uint64_t n, int bits);

// --- Fine-tuning the centroids (section 5.6.2) ---------------------------------------------

/// (a) The lecture's update: group the quantization errors w_i - centroids[labels[i]] by
/// label, take each group's mean and add it to the centroid, so each centroid becomes the
/// mean of its (possibly retrained) weights. Empty clusters and a pinned zero do not move.
/// Errors: sizes differ, a label outside [0, k), NaN or infinite weights.
Status update_codebook(std::span<const float> weights, Codebook& codebook);

/// (b) Deep Compression's trained quantization: dL/dW summed per cluster, so dL/dc_k =
/// sum_{i : labels[i] = k} dL/dW_i (the pinned zero's sum is reported as 0).
/// Errors: sizes differ, a label outside [0, k).
Result<std::vector<double>> cluster_gradient_sums(std::span<const float> grad,
                                                  const Codebook& codebook);

/// One SGD step on the centroids: c_k -= lr * sums[k] (the pinned zero stays 0).
/// Errors: sums.size() != k, lr not finite.
Status apply_centroid_gradients(Codebook& codebook, std::span<const double> sums, float lr);

}  // namespace quantlab
