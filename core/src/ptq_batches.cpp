// Post-training quantization from one calibration array: the batching policy that
// quantize_static's callers (the JavaScript API) share.
#include <algorithm>
#include <cstring>
#include <string>

#include "quantlab/ptq.hpp"

namespace quantlab {
namespace {

Status check_calibration_size(std::span<const float> data, const Shape& shape) {
  auto total = shape_size(shape);
  if (!total) return total.status();
  if (data.size() != *total) {
    return shape_mismatch("the calibration data has " + std::to_string(data.size()) +
                          " values but its shape " + shape_string(shape) + " holds " +
                          std::to_string(*total));
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<Tensor>> calibration_batches(std::span<const float> data, const Shape& shape,
                                                int64_t batch_size) {
  if (batch_size < 1) return invalid_argument("batchSize must be >= 1");
  if (shape.empty()) return shape_mismatch("the calibration shape must have rank >= 1");
  QL_RETURN_IF_ERROR(check_calibration_size(data, shape));
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

Result<std::vector<Tensor>> model_batches(const Model& fp32, std::span<const float> data,
                                          const Shape& shape, int64_t batch_size) {
  // A model whose input batch is fixed (exported audio models are often [1, ...]) only runs
  // batches of exactly that size: the data are split so, whatever batch_size says, and the
  // samples that would not fill a last batch are left out.
  Shape used = shape;
  const auto& inputs = fp32.inputs();
  if (inputs.size() == 1 && inputs[0].rank_known && !inputs[0].dims.empty() &&
      inputs[0].dims[0] > 0 && !shape.empty() && batch_size >= 1) {
    const int64_t fixed = inputs[0].dims[0];
    if (shape[0] < fixed) {
      return shape_mismatch("the model's input '" + inputs[0].name + "' has a fixed batch of " +
                            std::to_string(fixed) + " samples, and the calibration data " +
                            shape_string(shape) + " hold only " + std::to_string(shape[0]));
    }
    batch_size = fixed;
    used[0] = shape[0] / fixed * fixed;
  }
  QL_RETURN_IF_ERROR(check_calibration_size(data, shape));
  auto total = shape_size(used);
  if (!total) return total.status();
  return calibration_batches(data.first(*total), used, batch_size);
}

Result<PtqResult> quantize_static(const Model& fp32, std::span<const float> data,
                                  const Shape& shape, const PtqOptions& options) {
  auto batches = model_batches(fp32, data, shape, options.batch_size);
  if (!batches) return batches.status();
  return quantize_static(fp32, *batches, options);
}

}  // namespace quantlab
