// Deep Compression's pipeline (Han et al. 2015; MIT 6.5940 lecture 5, section 5.5): prune
// with retraining, quantize with trained (shared, fine-tuned) codebooks, Huffman-code, and
// account for the size and accuracy after every stage, like the paper's figure.
//
// Storage accounting per stage (weights of the planned layers; every other parameter, the
// biases included, stays float32 at 4 bytes per value):
//   fp32       4 bytes per value
//   pruned     relative-index form: per entry (kept weights and filler zeros) a gap_bits gap
//              and a float32 value (sparse_storage(..., 32))
//   quantized  per entry a gap and a bits-bit label, plus 2^bits float32 centroids; a layer
//              that is not pruned stores dense labels (codebook_storage_bytes)
//   huffman    the size of the compressed model file (compressed.hpp), everything included:
//              header, architecture, Huffman tables, CRC; beside it (entropy_bytes) the same
//              file with every stream coded by the smallest of fixed width, Huffman and rANS
//              (entropy.hpp), which decodes to the same network
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantlab/compressed.hpp"
#include "quantlab/kmeans.hpp"
#include "quantlab/progress.hpp"
#include "quantlab/prune.hpp"
#include "quantlab/status.hpp"
#include "quantlab/train.hpp"

namespace quantlab {

/// What happens to one weight parameter.
struct LayerPlan {
  std::string param;     ///< "fc1.weight"
  double sparsity = 0.0;  ///< fraction pruned at the end of the schedule
  int bits = 5;           ///< codebook bits 1..8 (0: stays float32)
  int gap_bits = 0;       ///< 0: the paper's (8 conv, 5 fc); -1: the smallest for this mask
};

struct DeepCompressionOptions {
  /// Empty: every Linear and Conv2d weight, with the defaults below.
  std::vector<LayerPlan> layers;
  double conv_sparsity = 0.6;
  double fc_sparsity = 0.92;
  int conv_bits = 8;
  int fc_bits = 5;
  /// Pruning steps (sparsity grows along `schedule`), each followed by retraining.
  int prune_steps = 3;
  PruneSchedule schedule = PruneSchedule::kCubic;
  int retrain_epochs = 1;
  /// Trained quantization: epochs of centroid fine-tuning after k-means.
  int quantized_epochs = 1;
  /// k-means per layer (default: the exact optimum).
  KMeansOptions kmeans = [] {
    KMeansOptions k;
    k.method = KMeansMethod::kOptimal;
    return k;
  }();
  /// Optimizer, learning rate, batch size, seed; epochs come from the fields above. The
  /// learning rate of the fine-tuning stages is train.learning_rate * quantized_lr_scale.
  TrainOptions train = [] {
    TrainOptions t;
    t.optimizer = OptimizerKind::kAdam;
    t.learning_rate = 1e-3f;
    t.batch_size = 64;
    t.cosine_decay = true;
    return t;
  }();
  float quantized_lr_scale = 0.3f;
  /// Entropy-code the streams of the file (the last stage), with this coder (the lecture's
  /// Huffman; EntropyCoder::kBest or kRans give smaller files).
  bool huffman = true;
  EntropyCoder entropy = EntropyCoder::kHuffman;
  /// Biases in the file: 16 or 32 stores scaled integers (TensorCoding::bias_bits), 0 float32.
  /// 0 by default so that the file decodes to the network exactly; 16 saves half the bias
  /// bytes (944 B of LeNet-5's 8.1 kB file are float32 biases) for an error below
  /// max|b| / 65534 (the huffman stage's accuracy is then measured with int16 biases).
  int bias_bits = 0;
  int eval_batch = 500;
};

struct StageReport {
  std::string stage;  ///< "fp32", "pruned", "quantized", "huffman"
  size_t bytes = 0;
  double ratio = 1.0;  ///< fp32 bytes / bytes
  double accuracy = 0.0;  ///< percent on the test set
  double loss = 0.0;
  /// The last stage only: the file with EntropyCoder::kBest streams (else 0).
  size_t entropy_bytes = 0;
  double entropy_ratio = 0.0;
};

struct LayerReport {
  std::string param;
  size_t size = 0;
  size_t kept = 0;  ///< nonzero weights after pruning
  int bits = 0;
  int gap_bits = 0;
  double kmeans_mse = 0.0;  ///< before fine-tuning
  size_t fp32_bytes = 0, pruned_bytes = 0, quantized_bytes = 0, huffman_bytes = 0;
  size_t entropy_bytes = 0;  ///< the tensor in the EntropyCoder::kBest file
};

struct DeepCompressionReport {
  std::vector<StageReport> stages;
  std::vector<LayerReport> layers;
  std::vector<uint8_t> file;  ///< the compressed model
};

/// Runs the pipeline on `network` (BatchNorm is folded first), training on `train` and
/// measuring accuracy on `test`. The network ends pruned, shared and fine-tuned; the file
/// decodes to it exactly with bias_bits 0 (the huffman stage's accuracy is measured on the
/// decoded file).
/// progress: the stages' own reports ("prune 1/3", "train", "k-means", "evaluate", ...).
/// Errors: a plan naming a missing parameter or out-of-range values; data errors.
Result<DeepCompressionReport> deep_compression(Network& network, const ImageDataset& train,
                                               const ImageDataset& test,
                                               const DeepCompressionOptions& options,
                                               const ProgressFn& progress = {});

/// The bytes of the network's parameters in each representation, as accounted above, for
/// its current masks and codebooks: {fp32, pruned (masks, float32 values), quantized}.
struct StorageAccount {
  size_t fp32 = 0, pruned = 0, quantized = 0;
  std::vector<LayerReport> layers;
};
Result<StorageAccount> storage_account(const Network& network, const std::vector<LayerPlan>& plan);

// --- One step at a time (the interactive lessons) -------------------------------------------

/// Magnitude-prunes the named parameters to `sparsity`, each on its own or (global) with one
/// threshold over all of them. Earlier pruning is kept: a weight pruned before stays pruned.
/// Returns each parameter's sparsity after pruning. Errors: a missing parameter, sparsity
/// outside [0, 1].
Result<std::vector<double>> prune_parameters(Network& network, std::span<const std::string> names,
                                             double sparsity, bool global);

/// Shares a parameter's weights through a k-means codebook of 2^bits centroids. A pruned
/// parameter (one with a mask) gets a pinned zero whatever options.pinned_zero says, so its
/// pruned weights stay exactly zero. Errors: a missing parameter; k-means errors.
Result<KMeansResult> quantize_parameter(Network& network, std::string_view name, int bits,
                                        const KMeansOptions& options,
                                        const ProgressFn& progress = {});

/// Replaces a parameter's values (dropping its codebook and keeping its mask, which is
/// applied again). Errors: a missing parameter, a wrong count, non-finite values.
Status set_parameter_values(Network& network, std::string_view name, std::vector<float> values);

}  // namespace quantlab
