// Helpers shared by the Deep Compression tests (k-means, Huffman, pruning, training, the
// compressed container): the demo models' trained weights, read with quantlab's ONNX reader.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "onnx/onnx_test_util.hpp"
#include "quantlab/onnx.hpp"

namespace quantlab::testing {

/// The demo model web/models/<name>.onnx, parsed; fails the test when it is missing.
inline OnnxModel demo_model(const std::string& name) {
  const std::string path = std::string(QL_SOURCE_DIR) + "/web/models/" + name + ".onnx";
  const std::vector<uint8_t> bytes = read_file(path);
  INFO("demo model " << path << " (written by web/models/train.py)");
  REQUIRE(!bytes.empty());
  auto model = parse_onnx_model(bytes);
  INFO(model.status().to_string());
  REQUIRE(model.is_ok());
  return std::move(model).value();
}

/// The float32 initializer `tensor` of a demo model (e.g. "fc1.weight"), as a vector.
inline std::vector<float> demo_weights(const std::string& model, const std::string& tensor) {
  const OnnxModel m = demo_model(model);
  for (const auto& init : m.graph.initializers) {
    if (init.name == tensor) {
      auto d = init.tensor.data<float>();
      return std::vector<float>(d.begin(), d.end());
    }
  }
  FAIL("no initializer " << tensor << " in " << model);
  return {};
}

}  // namespace quantlab::testing
