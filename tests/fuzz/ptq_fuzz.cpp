// libFuzzer target: post-training quantization of whatever model loads, calibrated on two
// tiny batches derived from the input bytes, then the QDQ form and a run of the int8 model.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/ptq.hpp"

using namespace quantlab;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = Model::load(std::span<const uint8_t>(data, size));
  if (!model.is_ok()) return 0;
  auto batch = fuzz::tiny_inputs(*model);
  if (batch.size() != 1 || batch[0].dtype() != DType::kFloat32) return 0;
  // Calibration values from the file's own bytes (deterministic, varied, finite).
  auto values = batch[0].data<float>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(data[i % size]) / 64.0f - 2.0f;
  PtqOptions options;
  options.report_samples = 1;
  auto q = quantize_static(*model, batch, options);
  fuzz::check_status(q.status());
  if (!q.is_ok()) return 0;
  fuzz::check_status(to_qdq(q->model).status());
  auto int8 = Model::from_onnx(q->model);
  fuzz::check_status(int8.status());
  if (int8.is_ok()) fuzz::check_status(int8->run(batch).status());
  return 0;
}
