// Private helpers shared by the product-quantization sources (pq.cpp, pq_lut.cpp).
#pragma once

#include "quantlab/pq.hpp"

namespace quantlab {

/// ok, or why `layer` is inconsistent (shapes, codebook size, codes outside [0, k)).
Status pq_check_layer(const PQLayer& layer, const char* what);

}  // namespace quantlab
