// Product quantization of layer weights (MIT 6.5940 lecture 5, section 5.7; Jégou et al. 2011;
// Stock et al. 2020, "And the Bit Goes Down"): each weight row is cut into subvectors of d
// values, one codebook of k codewords per layer is shared by every subvector position, and
// each subvector is stored as the ceil(log2 k)-bit index of its codeword.
//
// Names follow faiss (impl/ProductQuantizer.h): d = dsub (subvector size), k = ksub
// (codewords), M = subvector positions per row, nbits = ceil(log2 k). Unlike faiss's
// ProductQuantizer, which keeps M codebooks, the layer has ONE codebook shared by all M
// positions (Stock et al.), so it costs k x d values whatever the layer's width.
//
// Weight layout: a layer's weight is viewed as a row-major matrix (rows, cols): Linear
// [out, in]; Conv2d OIHW [C_out, C_in x K x K], so with d = K x K (the paper's choice) the
// subvector at position j of row o is filter o's K x K kernel on input channel j.
// Subvector s = o x M + j holds weights [o, j d, (j + 1) d).
//
// Two objectives:
//   kWeight      min sum_s ||v_s - c(s)||^2 (plain k-means on the subvectors);
//   kActivation  min ||x (W - q(W))||^2 over the layer's inputs x (Stock et al. 5.7.2),
//                dropping the cross terms between positions, as the paper does: subvector s
//                at position j costs (v_s - c)^T H_j (v_s - c), with H_j the second moment of
//                the layer's input subvectors at position j (im2col rows for Conv2d). The
//                assignment uses that distance; the update is the weighted least-squares
//                codeword c = (sum_{s in c} H_j(s))^-1 sum_{s in c} H_j(s) v_s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "quantlab/conv.hpp"
#include "quantlab/kmeans.hpp"
#include "quantlab/progress.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"
#include "quantlab/train.hpp"

namespace quantlab {

/// Polled between iterations and layers; returning true stops the work with kCancelled.
using CancelFn = std::function<bool()>;

enum class PQObjective {
  kWeight,      ///< ||W - q(W)||^2
  kActivation,  ///< ||x (W - q(W))||^2 (needs PQInputStats)
};

/// How the codewords are stored (and rounded before the final assignment).
enum class CodebookPrecision { kFloat32, kFloat16 };

/// Largest k: indices are stored in at most 16 bits.
inline constexpr int kMaxPQCodewords = 1 << 16;

/// Parameters of one layer's product quantizer.
struct PQParameters {
  /// dsub: values per subvector; must divide the row length (cols).
  int d = 9;
  /// ksub: codewords, 1..kMaxPQCodewords; at most the layer's number of subvectors.
  int k = 256;
  PQObjective objective = PQObjective::kWeight;
  /// Codewords are rounded to this precision before the final assignment, so the indices
  /// are optimal for the stored codebook and weight_mse is what decoding gives.
  CodebookPrecision precision = CodebookPrecision::kFloat16;
  /// At most this many Lloyd steps (assignment + update); stops earlier when no subvector
  /// changes codeword. 25 is faiss's default niter.
  int iterations = 25;
  /// k-means++ draws from std::mt19937(seed) (the same numbers on every build).
  uint32_t seed = 0;
  /// kActivation: H_j + damping x mean(diag H_j) x I, so H_j is positive definite (inputs
  /// that are always 0, dead ReLUs, leave weights free otherwise) and the update solvable.
  double damping = 1e-4;
  /// kActivation: weight by the covariance of the inputs around their mean instead of the
  /// second moment (Stock et al.'s ||x (W - q(W))||^2). The mean part of the output error,
  /// (W - q(W)) mean(x), is a constant per output that a bias absorbs exactly
  /// (pq_bias_correction; the pipeline applies it), so the codewords need not spend
  /// precision on it. Measured (tests/bench): lower output MSE on every layer, better
  /// accuracy on LeNet-300-100, worse on LeNet-5 with few conv codewords; so off by default.
  bool center = false;
};

/// One product-quantized layer.
struct PQLayer {
  int64_t rows = 0;  ///< output channels / features
  int64_t cols = 0;  ///< row length (C_in x K x K, or in features); M x d
  int d = 0;
  int k = 0;
  CodebookPrecision precision = CodebookPrecision::kFloat16;
  /// Layout: (k, d), row-major. Values exactly representable in `precision`.
  std::vector<float> codebook;
  /// Layout: (rows, M); each in [0, k).
  std::vector<uint16_t> codes;

  int64_t M() const { return d > 0 ? cols / d : 0; }  ///< subvector positions per row
  int64_t n() const { return rows * M(); }            ///< subvectors
  int nbits() const;                                  ///< ceil(log2 k)
};

/// Second moments of a layer's input subvectors, one d x d matrix per position j:
/// H_j = (1 / count) sum_r x_{r,j} x_{r,j}^T over the input rows r (samples for Linear,
/// samples x output pixels for Conv2d), x_{r,j} = row r's values [j d, (j + 1) d).
struct PQInputStats {
  int d = 0;
  int64_t M = 0;
  int64_t count = 0;        ///< input rows accumulated
  /// Layout: (M, d, d), row-major; sums of x x^T (divide by count for the moments).
  std::vector<double> sums;
  /// Layout: (M, d) = (cols): sums of x (divide by count for the mean input row).
  std::vector<double> mean_sums;
};

/// Statistics of Linear inputs x, Layout (batch, cols). Errors: cols not a multiple of d,
/// sizes that disagree, non-finite inputs.
Result<PQInputStats> pq_input_stats(std::span<const float> x, int64_t batch, int64_t cols, int d);

/// Statistics of Conv2d inputs (NCHW [batch, C_in, H, W]) over their im2col rows (C_in x KH
/// x KW each, zero padding included), for weights OIHW (groups 1, dilation from g).
/// Errors: as above, a bad geometry, a tensor that is not float32 rank 4.
Result<PQInputStats> pq_conv_input_stats(const Tensor& x, const Conv2dGeometry& g, int d);

struct PQResult {
  PQLayer layer;
  double weight_mse = 0.0;  ///< mean over the rows x cols weights of (w - decoded)^2
  /// Mean over subvectors of the objective's distance to their codeword (kWeight: ||.||^2,
  /// kActivation: (v - c)^T H_j (v - c) with the undamped moments).
  double objective = 0.0;
  int iterations = 0;  ///< Lloyd steps run
  int reseeded = 0;    ///< empty clusters re-seeded (over all steps)
};

/// Product-quantizes a weight matrix, Layout (rows, cols). k-means++ on the subvectors
/// (in lexicographic order, with the objective's distance), Lloyd steps, empty clusters
/// re-seeded with the subvector farthest from its codeword. d = 1 is scalar k-means
/// (the result of k_means with kPlusPlus init on the same weights and seed); d = cols is
/// vector quantization of whole rows.
/// progress: stage "pq", done/total in Lloyd steps, value = current objective.
/// Errors (kInvalidArgument unless said): d < 1 or not dividing cols; k outside
/// 1..kMaxPQCodewords; fewer subvectors than k; iterations < 0; damping < 0; sizes that
/// disagree (kShapeMismatch); non-finite weights (kNotFinite); kActivation without stats
/// or with stats of another d or M; kCancelled.
Result<PQResult> pq_quantize(std::span<const float> weights, int64_t rows, int64_t cols,
                             const PQParameters& params, const PQInputStats* stats = nullptr,
                             const ProgressFn& progress = {}, const CancelFn& cancel = {});

/// The bias change that cancels the mean output error of quantization: delta_o =
/// sum_i (W[o, i] - q(W)[o, i]) mean(x)_i (add it to the layer's bias). weights Layout
/// (rows, cols). Errors: sizes that disagree with the layer or the statistics.
Result<std::vector<float>> pq_bias_correction(std::span<const float> weights, const PQLayer& layer,
                                              const PQInputStats& stats);

/// The decoded weights, Layout (rows, cols). Errors: an inconsistent layer.
Result<std::vector<float>> pq_decode(const PQLayer& layer);

/// Exact storage of a PQ layer: indices packed at nbits each (rounded up to whole bytes)
/// and k x d codewords at 2 (fp16) or 4 (fp32) bytes. The lecture's 128x128x3x3 layer at
/// k = 256, d = 9: 16,384 B of indices and 4,608 B of fp16 codebook.
struct PQStorage {
  size_t index_bytes = 0;
  size_t codebook_bytes = 0;
  size_t total() const { return index_bytes + codebook_bytes; }
};
PQStorage pq_storage(int64_t subvectors, int k, int d, CodebookPrecision precision);
PQStorage pq_storage(const PQLayer& layer);

/// ceil(log2 k) for k >= 1 (0 for k = 1).
int pq_index_bits(int k);

/// float -> IEEE binary16 -> float, round to nearest even (overflow to infinity).
float round_to_fp16(float x);
/// The binary16 bits of x (round to nearest even), and back.
uint16_t fp16_bits(float x);
float fp16_value(uint16_t bits);

/// The shared codebook as a Codebook for the training engine: centroids = the (k, d)
/// codebook flattened, labels[o cols + j d + t] = codes[o M + j] d + t. The Trainer then sums
/// dL/dW per codeword coordinate (Deep Compression's per-cluster gradient sums), which is
/// the gradient of the codeword.
Codebook pq_as_codebook(const PQLayer& layer);

/// Back from the training engine: codebook = centroids (rounded to the layer's precision).
/// Errors: a centroid count other than k x d.
Status pq_update_from_codebook(PQLayer& layer, const Codebook& codebook);

/// y = x q(W)^T + b straight from the codes (FC layers): per input row a table
/// T[j][c] = x_j . codeword_c (M x k), then y_o = b_o + sum_j T[j][codes[o, j]].
/// x Layout (batch, cols), y Layout (batch, rows); bias empty or rows values.
/// Summation order: each table entry over t = 0..d-1, then over j = 0..M-1, then + b_o,
/// in float32, which pq_linear_reference reproduces bit for bit from the decoded weights.
Result<std::vector<float>> pq_linear_lut(const PQLayer& layer, std::span<const float> x,
                                         int64_t batch, std::span<const float> bias = {});

/// The same product from the decoded fp32 weights in the LUT's summation order (the oracle
/// of pq_linear_lut): y_o = b_o + sum_j (sum_t W[o, j d + t] x[j d + t]).
Result<std::vector<float>> pq_linear_reference(const PQLayer& layer, std::span<const float> x,
                                               int64_t batch, std::span<const float> bias = {});

// --- The network pipeline (sequential, then codeword fine-tuning) ---------------------------

/// One layer of a PQ plan. 0 means the option's default.
struct PQLayerPlan {
  std::string param;  ///< "fc1.weight"
  int d = 0;          ///< 0: K x K for Conv2d, PQCompressionOptions::fc_d for Linear
  int k = 0;          ///< 0: PQCompressionOptions::k, lowered to a power of two <= subvectors
};

struct PQCompressionOptions {
  /// Empty: every Linear and Conv2d weight with the defaults.
  std::vector<PQLayerPlan> layers;
  int fc_d = 4;  ///< default d of Linear layers
  int k = 256;   ///< default codewords
  /// Objective, precision, iterations, seed and damping of every layer (d, k from the plan).
  PQParameters pq;
  /// The first images of `train` whose activations (through the already quantized earlier
  /// layers) drive the activation objective.
  int64_t calibration_count = 1024;
  /// The first images of `test` on which each layer's output MSE is measured.
  int64_t heldout_count = 500;
  /// Epochs of codeword fine-tuning on `train` (0: none). Biases and layers outside the
  /// plan train too.
  int finetune_epochs = 1;
  /// Optimizer, learning rate, batch size, seed of the fine-tuning (epochs come from above;
  /// cosine_decay is ignored: the learning rate is constant).
  TrainOptions train = [] {
    TrainOptions t;
    t.optimizer = OptimizerKind::kAdam;
    t.learning_rate = 1e-4f;
    t.batch_size = 64;
    return t;
  }();
  int eval_batch = 500;
};

struct PQLayerReport {
  std::string param;
  int d = 0, k = 0;
  size_t weights = 0;
  size_t fp32_bytes = 0;
  PQStorage storage;
  double weight_mse = 0.0;  ///< before fine-tuning
  /// Mean over held-out samples and outputs of (x W^T + b - x q(W)^T - b')^2, x the layer's
  /// inputs through the already quantized earlier layers, b' the bias after correction
  /// (kActivation with center; else b' = b).
  double output_mse = 0.0;
  double objective = 0.0;
  double seconds = 0.0;
};

struct PQCompressionReport {
  std::vector<PQLayerReport> layers;
  std::vector<PQLayer> pq;  ///< the final (fine-tuned) layers, in plan order
  size_t fp32_bytes = 0;    ///< every parameter at 4 B
  size_t bytes = 0;         ///< PQ layers' storage + every other parameter at 4 B
  double ratio = 1.0;
  /// The network in the compressed container (compressed.hpp: PQ layers as coding 3, the
  /// index streams Huffman-coded when smaller, the rest float32, the architecture), and
  /// the accuracy of the network decoded from it (equal to accuracy_ft).
  std::vector<uint8_t> file;
  double file_accuracy = 0.0;
  double fp32_accuracy = 0.0, accuracy = 0.0, accuracy_ft = 0.0;  ///< percent on `test`
};

/// Product-quantizes the network's planned layers in network order, each from the inputs of
/// the already quantized earlier layers (Stock et al.'s sequential scheme), then fine-tunes
/// the codewords with the training engine. BatchNorm is folded first. The network ends with
/// the decoded (fine-tuned) weights, dense (no codebooks attached).
/// progress: "pq <param>" (Lloyd steps), "fine-tune" (steps, value = running loss),
/// "evaluate". Errors: a plan naming a missing parameter or a bad d or k; data errors;
/// kCancelled.
Result<PQCompressionReport> pq_compress(Network& network, const ImageDataset& train,
                                        const ImageDataset& test,
                                        const PQCompressionOptions& options,
                                        const ProgressFn& progress = {},
                                        const CancelFn& cancel = {});

/// A network of the single layer `index` of `network` (same parameters, copied), whose input
/// is that layer's input. Errors: index out of range. (A training-engine helper: it belongs
/// in train.hpp once that file is free to edit.)
Result<Network> single_layer_network(const Network& network, size_t index);

}  // namespace quantlab
