// Hostile models: ONNX's test-case models and a demo model with attributes, input shapes and
// tensor values replaced by awkward numbers (0, -1, huge), then loaded and run. Each must
// load and run, or return a Status; none may crash (the sanitizer build checks the memory
// side). Seeded, so a failure reproduces.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "onnx/onnx_test_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;
using namespace quantlab::testing;

namespace {

const std::vector<std::string> kSeedModels = {
    "test_qlinearconv",
    "test_qlinearmatmul_3D",
    "test_convinteger_with_padding",
    "test_matmulinteger",
    "test_quantizelinear_axis",
    "test_dequantizelinear_axis",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_maxpool_2d_dilations",
    "test_averagepool_2d_ceil",
    "test_gemm_all_attributes",
    "test_reshape_negative_dim",
    "test_transpose_all_permutations_3",
    "test_concat_3d_axis_negative_2",
    "test_softmax_axis_1",
    "test_batchnorm_epsilon",
    "test_flatten_negative_axis2",
    "test_clip_splitbounds",
    "test_dynamicquantizelinear",
    "test_matmul_4d",
};

int64_t awkward(std::mt19937& rng) {
  static const int64_t values[] = {0,
                                   1,
                                   2,
                                   3,
                                   -1,
                                   -2,
                                   7,
                                   255,
                                   256,
                                   1 << 20,
                                   int64_t{1} << 40,
                                   std::numeric_limits<int64_t>::max(),
                                   std::numeric_limits<int64_t>::min()};
  return values[rng() % std::size(values)];
}

void mutate(OnnxModel& m, std::mt19937& rng) {
  OnnxGraph& g = m.graph;
  switch (rng() % 4) {
    case 0: {  // an integer attribute
      for (int tries = 0; tries < 8 && !g.nodes.empty(); ++tries) {
        OnnxNode& n = g.nodes[rng() % g.nodes.size()];
        if (n.attributes.empty()) continue;
        OnnxAttribute& a = n.attributes[rng() % n.attributes.size()];
        if (a.type == OnnxAttributeType::kInt) a.i = awkward(rng);
        if (a.type == OnnxAttributeType::kInts && !a.ints.empty()) {
          a.ints[rng() % a.ints.size()] = awkward(rng);
          if (rng() % 4 == 0) a.ints.push_back(awkward(rng));
        }
        if (a.type == OnnxAttributeType::kFloat) a.f = static_cast<float>(awkward(rng));
        return;
      }
      break;
    }
    case 1: {  // a graph input's declared shape
      if (g.inputs.empty()) break;
      OnnxValueInfo& v = g.inputs[rng() % g.inputs.size()];
      if (!v.dims.empty()) v.dims[rng() % v.dims.size()].value = awkward(rng) & 0xffff;
      if (rng() % 5 == 0) v.dims.push_back(OnnxDim{1, ""});
      break;
    }
    case 2: {  // an attribute added that the operator may not know
      if (g.nodes.empty()) break;
      OnnxNode& n = g.nodes[rng() % g.nodes.size()];
      const char* names[] = {"axis", "group", "kernel_shape", "pads", "strides", "perm"};
      const char* name = names[rng() % std::size(names)];
      if (n.attribute(name)) break;
      n.attributes.push_back(OnnxAttribute::make_int(name, awkward(rng)));
      break;
    }
    default: {  // an integer initializer's value (zero points, shapes)
      for (auto& t : g.initializers) {
        if (t.tensor.dtype() == DType::kInt64 && t.tensor.size() > 0) {
          t.tensor.data<int64_t>()[rng() % t.tensor.size()] = awkward(rng);
          return;
        }
      }
      break;
    }
  }
}

/// Inputs of the declared shapes (unknown sizes 2), filled with small numbers.
std::vector<Tensor> inputs_for(const Model& model, std::mt19937& rng) {
  std::vector<Tensor> in;
  for (const ValueInfo& v : model.inputs()) {
    Shape s;
    for (int64_t d : v.dims) s.push_back(d >= 0 ? std::min<int64_t>(d, 64) : 2);
    auto t = Tensor::create(v.dtype, s);
    if (!t) return {};
    auto* bytes = static_cast<uint8_t*>(t->raw());
    for (size_t i = 0; i < t->bytes(); ++i) bytes[i] = static_cast<uint8_t>(rng() % 7);
    if (v.dtype == DType::kFloat32) {
      for (float& f : t->data<float>()) f = static_cast<float>(rng() % 200) / 50.0f - 2.0f;
    }
    in.push_back(std::move(*t));
  }
  return in;
}

}  // namespace

TEST_CASE("model fuzz: mutated models load and run, or say why", "[onnx][errors]") {
  if (!file_exists(kOnnxNodeTests)) FAIL(missing_onnx_testdata_message());
  std::vector<OnnxModel> seeds;
  for (const auto& name : kSeedModels) {
    auto m = parse_onnx_model(read_file(kOnnxNodeTests + "/" + name + "/model.onnx"));
    REQUIRE(m.is_ok());
    seeds.push_back(std::move(*m));
  }
  auto lenet = parse_onnx_model(read_file(std::string(QL_SOURCE_DIR) + "/web/models/lenet5.onnx"));
  if (lenet.is_ok()) seeds.push_back(std::move(*lenet));
  std::mt19937 rng(2024);
  int loaded = 0, ran = 0, refused = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    OnnxModel m = seeds[static_cast<size_t>(trial) % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < mutations; ++k) mutate(m, rng);
    auto model = Model::from_onnx(std::move(m));
    if (!model) {
      ++refused;
      CHECK_FALSE(model.status().message().empty());
      continue;
    }
    ++loaded;
    const auto in = inputs_for(*model, rng);
    auto out = model->run(in);
    if (out) ++ran;
  }
  INFO("loaded " << loaded << ", ran " << ran << ", refused " << refused);
  CHECK(refused > 100);
  CHECK(ran > 100);
}
