// Progress reports from long-running work (optimal k-means, training, the compression
// pipeline), so a page can draw a progress bar while a Web Worker computes.
#pragma once

#include <cstdint>
#include <functional>

namespace quantlab {

/// One report: `done` of `total` units of `stage` ("k-means", "epoch 2/5", ...). The last
/// report of a stage has done == total. `value` carries a stage-specific number (the running
/// loss during training, the current MSE during k-means), or NaN.
struct Progress {
  const char* stage = "";
  int64_t done = 0;
  int64_t total = 0;
  double value = 0.0;
};

/// Called synchronously from the work's own thread; may be empty. Reports are throttled by
/// the caller to a few hundred per operation at most.
using ProgressFn = std::function<void(const Progress&)>;

}  // namespace quantlab
