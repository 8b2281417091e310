// Shared by encode_network (compressed.cpp) and deep_compression (deep_compression.cpp): a
// Network's parameters as the tensors of a compressed file.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "quantlab/compressed.hpp"
#include "quantlab/train.hpp"

namespace quantlab {

/// The width of the gaps between kept weights of a pinned-zero parameter coded in `bits`
/// bits, or nullopt for the format's default.
using GapBitsFn =
    std::function<Result<std::optional<int>>(const Layer& layer, const Parameter& param, int bits)>;

/// The parameters in layer order (the architecture refers to them by name): codebook-shared
/// ones as their labels (entropy-coded as `coding` says: huffman, entropy), the others as
/// float32 values, the biases of Linear and Conv2d layers with coding.bias_bits.
Result<std::vector<TensorToCompress>> network_tensors(const Network& net, const TensorCoding& coding,
                                                      const GapBitsFn& gap_bits);

}  // namespace quantlab
