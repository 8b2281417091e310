// Training engine for the demo models: a sequential network of layers with forward and
// backward passes, softmax cross-entropy, SGD with momentum and Adam, pruning masks kept
// through training, and codebook-shared weights whose centroids are trained with the
// per-cluster gradient sums (Deep Compression's trained quantization, lecture 5 section
// 5.6.2). Single-threaded, seeded and exception-free, so it runs the same in WebAssembly.
//
// Layouts: activations are row-major with the batch first ([N, C, H, W] for images, [N, F]
// after Flatten); Linear weights are [out, in] (PyTorch, ONNX Gemm transB = 1); Conv2d
// weights are OIHW.
//
// BatchNorm is the inference form: y = gamma (x - mean) / sqrt(var + eps) + beta with the
// running statistics frozen; gamma and beta train. The compression pipeline folds it into
// the preceding convolution first (fold_batch_norm), so fine-tuning after folding trains the
// folded convolution.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantlab/conv.hpp"
#include "quantlab/kmeans.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/progress.hpp"
#include "quantlab/prune.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {

/// A trainable tensor with its gradient, an optional pruning mask and optional weight sharing.
struct Parameter {
  std::string name;          ///< the ONNX initializer name ("fc1.weight")
  Shape shape;
  std::vector<float> value;  ///< row-major
  std::vector<float> grad;   ///< same size; backward adds to it, the optimizer step clears it
  /// Empty: dense. Else one byte per value; where mask[i] == 0 the value is 0 and stays 0
  /// (its gradient is dropped and the update is masked).
  PruneMask mask;
  /// Weight sharing: value[i] == codebook->centroids[labels[i]] at all times; the optimizer
  /// moves the centroids by the per-cluster gradient sums (a pinned zero never moves).
  std::optional<Codebook> codebook;
  /// False for BatchNorm's running statistics.
  bool trainable = true;

  size_t size() const { return value.size(); }
};

enum class LayerKind {
  kLinear,         ///< y = x W^T + b; params: weight [out, in], bias [out]
  kConv2d,         ///< params: weight [c_out, c_in, kh, kw], bias [c_out] (or none)
  kRelu,
  kMaxPool,        ///< square window, no padding
  kAvgPool,        ///< square window, no padding
  kGlobalAvgPool,  ///< [N, C, H, W] -> [N, C, 1, 1]
  kFlatten,        ///< [N, ...] -> [N, F]
  kBatchNorm,      ///< params: scale, bias, mean, var (the last two frozen)
};

/// "Linear", "Conv2d", ...
const char* layer_kind_name(LayerKind kind);

struct Layer {
  LayerKind kind = LayerKind::kRelu;
  std::string name;
  /// Indices into Network::params(); -1 for an absent bias.
  std::vector<int> params;
  Conv2dGeometry conv;     ///< kConv2d (groups and dilation 1)
  int64_t pool_kernel = 2;  ///< kMaxPool, kAvgPool
  int64_t pool_stride = 2;
  float eps = 1e-5f;       ///< kBatchNorm
  Shape input_shape;       ///< one sample, without the batch dimension
  Shape output_shape;
};

/// A sequential network. Layers are appended with the add_* builders, which check shapes
/// against the current output shape; a weight passed empty is initialized (He normal from
/// the network's seed, biases zero).
class Network {
 public:
  Network() = default;
  /// input_shape: one sample ([1, 28, 28] for the demo models). seed: weight initialization.
  explicit Network(Shape input_shape, uint32_t seed = 0);

  Status add_linear(std::string name, int64_t out_features, std::vector<float> weight = {},
                    std::vector<float> bias = {});
  /// has_bias = false: no bias parameter (a convolution followed by BatchNorm).
  Status add_conv2d(std::string name, int64_t out_channels, const Conv2dGeometry& geometry,
                    std::vector<float> weight = {}, std::vector<float> bias = {},
                    bool has_bias = true);
  Status add_relu(std::string name = "");
  Status add_max_pool(int64_t kernel, int64_t stride, std::string name = "");
  Status add_avg_pool(int64_t kernel, int64_t stride, std::string name = "");
  Status add_global_avg_pool(std::string name = "");
  Status add_flatten(std::string name = "");
  /// Empty vectors: scale 1, bias 0, mean 0, var 1.
  Status add_batch_norm(std::string name, std::vector<float> scale = {},
                        std::vector<float> bias = {}, std::vector<float> mean = {},
                        std::vector<float> var = {}, float eps = 1e-5f);

  const Shape& input_shape() const { return input_shape_; }
  /// One sample's output shape (the current end of the network).
  const Shape& output_shape() const;
  const std::vector<Layer>& layers() const { return layers_; }
  std::vector<Parameter>& params() { return params_; }
  const std::vector<Parameter>& params() const { return params_; }
  /// The parameter called `name`, or null.
  Parameter* param(std::string_view name);
  const Parameter* param(std::string_view name) const;
  /// Number of values in all parameters (running statistics included).
  size_t parameter_count() const;

  /// Inference: x holds N samples of input_shape (any shape with that many elements);
  /// returns [N, ...output_shape]. Errors: a size that is not a multiple of one sample.
  Result<Tensor> forward(const Tensor& x) const;

  /// Softmax cross-entropy of the logits for x against labels (mean over the batch), and
  /// its gradient added to every trainable parameter's grad. input_grad, if given, receives
  /// dL/dx. Errors: as forward, a label count other than N, a label outside the classes.
  Result<double> loss_and_gradients(const Tensor& x, std::span<const uint8_t> labels,
                                    std::vector<float>* input_grad = nullptr);

  /// Sets every trainable gradient to zero.
  void zero_grad();

  /// Folds each BatchNorm that directly follows a Conv2d or Linear into it:
  /// W' = W s, b' = (b - mean) s + beta with s = gamma / sqrt(var + eps), and removes the
  /// BatchNorm (a bias is created when the layer had none). Returns the number folded.
  /// Errors: a BatchNorm after a pruned or codebook-shared layer.
  Result<int> fold_batch_norm();

  /// Prunes `param` with `mask` (values set to 0; kept through training).
  Status set_mask(std::string_view param, PruneMask mask);
  /// Shares the values of `param` through `codebook` (values become its centroids).
  /// Errors: label count, labels out of range, a mask that keeps a weight whose label is the
  /// pinned zero.
  Status set_codebook(std::string_view param, Codebook codebook);
  /// Drops the weight sharing of `param` (values stay as they are).
  Status clear_codebook(std::string_view param);

 private:
  Status add_layer(Layer layer);
  int add_param(std::string name, Shape shape, std::vector<float> value, bool trainable = true);
  Status check_name(const std::string& name) const;
  std::string default_name(const char* prefix) const;

  Shape input_shape_;
  uint32_t seed_ = 0;
  uint32_t init_count_ = 0;
  std::vector<Layer> layers_;
  std::vector<Parameter> params_;
};

// --- Optimization -------------------------------------------------------------------------------

enum class OptimizerKind { kSgd, kAdam };

/// Training settings; the JavaScript API takes its defaults from here (ql.defaults().train).
struct TrainOptions {
  /// Adam by default (the demo models fine-tune well with it at 1e-3); kSgd for momentum SGD.
  OptimizerKind optimizer = OptimizerKind::kAdam;
  /// Step size (Adam 1e-3; SGD typically 0.01 to 0.05).
  float learning_rate = 1e-3f;
  float momentum = 0.9f;       ///< SGD (heavy ball); 0 = plain SGD
  float weight_decay = 0.0f;   ///< L2 on dense (not shared) weights, added to the gradient
  float beta1 = 0.9f;          ///< Adam
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  /// Learning rate lr * (1 + cos(pi t / T)) / 2 over the T steps of fit(), else constant.
  bool cosine_decay = false;
  int epochs = 1;      ///< passes over the data set
  int batch_size = 64;  ///< samples per step
  /// fit() stops after this many steps in all (0: no limit); for quick runs.
  int64_t max_steps = 0;
  uint32_t seed = 0;  ///< shuffling of the samples in every epoch
};

/// Images in the demo models' raw form: uint8 pixels [count, channels, height, width] and
/// one label per image; the models' input is x = (pixel / 255 - mean) / std in float32.
struct ImageDataset {
  std::span<const uint8_t> images;
  std::span<const uint8_t> labels;
  int64_t count = 0;
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  float mean = 0.2860f;
  float std = 0.3530f;
};

/// Errors: sizes that disagree with count and the image shape, count 0, std <= 0.
Status validate_dataset(const ImageDataset& data);

/// Samples [first, first + n) of data as the normalized float input [n, c, h, w].
Result<Tensor> dataset_batch(const ImageDataset& data, int64_t first, int64_t n);

struct TrainStats {
  int64_t steps = 0;
  std::vector<double> epoch_loss;  ///< mean training loss of each epoch
};

/// SGD or Adam over a network's trainable parameters, with state for every parameter (and
/// every codebook's centroids). A parameter's update: g = grad (+ weight_decay * value if
/// dense), zero where masked; shared weights: the centroids take the per-cluster sums of g;
/// after the update, masked values are 0 and shared values are their centroids again.
class Trainer {
 public:
  Trainer(Network& network, const TrainOptions& options);

  /// One optimization step on a batch. Returns the batch's loss.
  Result<double> step(const Tensor& x, std::span<const uint8_t> labels);
  /// options.epochs passes over the data in shuffled batches. progress: stage "train",
  /// done/total in steps, value = running mean loss.
  Result<TrainStats> fit(const ImageDataset& data, const ProgressFn& progress = {});
  /// Applies the accumulated gradients (what step() does after the backward pass).
  Status apply_gradients();

  int64_t steps() const { return t_; }
  const TrainOptions& options() const { return options_; }

 private:
  float current_lr() const;
  Network* net_;
  TrainOptions options_;
  int64_t t_ = 0;
  int64_t planned_steps_ = 0;  // fit(): for cosine decay
  // Optimizer state per parameter: SGD velocity (m) or Adam moments (m, v), sized like the
  // value, or like the centroids for shared weights.
  std::vector<std::vector<float>> m_, v_;
  std::vector<char> shared_;  // the state above belongs to the centroids
};

struct EvalStats {
  double loss = 0.0;      ///< mean cross-entropy
  double accuracy = 0.0;  ///< percent correct
  std::vector<uint8_t> predictions;  ///< argmax class per sample
};

/// Settings of evaluate().
struct EvalOptions {
  int batch_size = 256;  ///< samples per forward pass (bounds memory)
};

/// Accuracy of a network on a data set, in batches. progress: stage "evaluate".
Result<EvalStats> evaluate(const Network& network, const ImageDataset& data,
                           int batch_size = EvalOptions{}.batch_size,
                           const ProgressFn& progress = {});

// --- ONNX bridge ------------------------------------------------------------------------------

/// The network of a sequential ONNX model (the demo models): Flatten, Gemm (transB = 1,
/// alpha = beta = 1), Conv (groups, dilation 1), Relu, MaxPool / AveragePool (square, no
/// padding), GlobalAveragePool, BatchNormalization (inference form); initializers become
/// parameters with their names. Errors (kUnsupported) name the node that does not fit.
Result<Network> network_from_onnx(const OnnxModel& model);

/// The network as an ONNX model (opset 13): input "input" [N, ...input_shape], output
/// "logits", one node per layer, parameters as initializers. Model::from_onnx runs it.
Result<OnnxModel> network_to_onnx(const Network& network);

}  // namespace quantlab
