// The check that compression steps (pruning, k-means weight sharing) make of their input
// weights.
#pragma once

#include <cmath>
#include <span>
#include <string>

#include "quantlab/status.hpp"

namespace quantlab {

/// At least one weight, and every weight finite (`what` names the caller in the message).
inline Status check_weights(std::span<const float> w, const char* what) {
  if (w.empty()) return empty_input(std::string(what) + ": no weights");
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      return not_finite(std::string(what) + ": weight " + std::to_string(i) + " is not finite");
    }
  }
  return Status::ok();
}

}  // namespace quantlab
