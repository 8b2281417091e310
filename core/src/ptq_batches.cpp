// Post-training quantization from one calibration array: the batching policy that
// quantize_static's callers (the JavaScript API) share.
#include <algorithm>
#include <cstring>
#include <string>

#include "quantlab/ptq.hpp"

namespace quantlab {

Result<std::vector<Tensor>> calibration_batches(std::span<const float> data, const Shape& shape,
                                                int64_t batch_size) {
  if (batch_size < 1) return invalid_argument("batchSize must be >= 1");
  if (shape.empty()) return shape_mismatch("the calibration shape must have rank >= 1");
  auto total = shape_size(shape);
  if (!total) return total.status();
  if (data.size() != *total) {
    return shape_mismatch("the calibration data has " + std::to_string(data.size()) +
                          " values but its shape " + shape_string(shape) + " holds " +
                          std::to_string(*total));
  }
  if (data.empty()) return empty_input("the calibration data is empty: no calibration batch");
  const size_t per = data.size() / static_cast<size_t>(shape[0]);
  std::vector<Tensor> batches;
  for (int64_t first = 0; first < shape[0]; first += batch_size) {
    Shape d = shape;
    d[0] = std::min(batch_size, shape[0] - first);
    auto t = Tensor::create(DType::kFloat32, d);
    if (!t) return t.status();
    std::memcpy(t->raw(), data.data() + static_cast<size_t>(first) * per, t->size() * sizeof(float));
    batches.push_back(std::move(*t));
  }
  return batches;
}

Result<PtqResult> quantize_static(const Model& fp32, std::span<const float> data,
                                  const Shape& shape, const PtqOptions& options) {
  auto batches = calibration_batches(data, shape, options.batch_size);
  if (!batches) return batches.status();
  return quantize_static(fp32, *batches, options);
}

}  // namespace quantlab
