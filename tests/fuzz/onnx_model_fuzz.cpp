// libFuzzer target: the ONNX loader. Parse, prepare (constant folding, shape inference, weight
// packing) and, when the model loads, run it once on a tiny zero input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = Model::load(std::span<const uint8_t>(data, size));
  fuzz::check_status(model.status());
  if (!model.is_ok()) return 0;
  // Serialize and parse again: the writer must produce what the reader accepts.
  const auto bytes = serialize_onnx_model(model->onnx());
  fuzz::check_status(parse_onnx_model(bytes).status());
  const auto inputs = fuzz::tiny_inputs(*model);
  if (inputs.size() == model->inputs().size()) fuzz::check_status(model->run(inputs).status());
  return 0;
}
