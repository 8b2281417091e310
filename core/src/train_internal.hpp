// Internals shared by the training engine's files: one forward / backward pass through a
// Network's layers (train_layers.cpp), used by Network (train.cpp) and by Trainer and
// evaluate (train_fit.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "quantlab/train.hpp"

namespace quantlab::train_internal {

/// out[c][r] = in[r][c] for in [rows, cols].
void transpose(size_t rows, size_t cols, const float* in, float* out);
/// Number of values of one sample of shape s.
size_t numel(const Shape& s);

/// Activations of one pass: acts[0] is the input, acts[l + 1] the output of layer l;
/// argmax[l] the max-pool winners (flat input index per output).
struct Pass {
  size_t batch = 0;
  std::vector<std::vector<float>> acts;
  std::vector<std::vector<uint32_t>> argmax;
};

/// y = layer li (x): pass.acts[li + 1] from pass.acts[li]; keep_argmax records max-pool winners.
void forward_layer(const Network& net, size_t li, Pass& pass, bool keep_argmax);
/// dx (zeroed by the caller) from dy; parameter gradients added to grad.
void backward_layer(Network& net, size_t li, const Pass& pass, const std::vector<float>& dy,
                    std::vector<float>& dx, bool need_dx);
/// The batch size of x for the network's input shape.
Result<size_t> batch_of(const Network& net, const Tensor& x);
/// All layers forward on x (batch samples).
Pass run_forward(const Network& net, const Tensor& x, size_t batch, bool keep_argmax);
/// Mean softmax cross-entropy over the batch; dlogits (if non-null) = (softmax - onehot) / B.
double softmax_cross_entropy(const std::vector<float>& logits, size_t B, size_t C,
                             std::span<const uint8_t> labels, std::vector<float>* dlogits,
                             std::vector<uint8_t>* predictions);
/// Labels: one per sample, each < C.
Status check_labels(std::span<const uint8_t> labels, size_t B, size_t C);
/// Normalized images idx of d as [n, c, h, w] and their labels (the training batches; also the
/// PQ pipeline's fine-tuning batches).
Tensor gather_batch(const ImageDataset& d, std::span<const uint32_t> idx, std::vector<uint8_t>& labels);

}  // namespace quantlab::train_internal
