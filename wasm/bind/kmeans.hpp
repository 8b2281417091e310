// Codebooks across the boundary (kmeans.cpp, train.cpp and compressed.cpp use them).
#pragma once

#include "marshal.hpp"
#include "quantlab/kmeans.hpp"

namespace quantlab::bind {

/// {centroids: Float32Array, labels: Int32Array, pinnedZero}.
val codebook_out(const Codebook& cb);
Codebook codebook_in(const val& o);

}  // namespace quantlab::bind
