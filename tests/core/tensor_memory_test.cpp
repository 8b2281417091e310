// Tensor memory: one allocation path, counted against a budget, that refuses instead of
// writing through a null pointer (issue 18: a failed aligned new corrupted the wasm heap).
#include <catch2/catch.hpp>

#include <vector>

#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/tensor.hpp"

using namespace quantlab;

namespace {
/// Restores the default budget when a test ends, whatever happens.
struct BudgetGuard {
  ~BudgetGuard() { TensorMemory::set_budget(0); }
};
}  // namespace

TEST_CASE("tensors count their bytes and give them back", "[tensor_memory]") {
  const uint64_t before = TensorMemory::in_use();
  {
    auto t = Tensor::create(DType::kFloat32, {3, 5});  // 60 B, 64 with the 16-byte rounding
    REQUIRE(t.is_ok());
    CHECK(TensorMemory::in_use() == before + 64);
    Tensor copy = *t;
    CHECK(TensorMemory::in_use() == before + 128);
    Tensor moved = std::move(copy);
    CHECK(TensorMemory::in_use() == before + 128);
    for (float v : moved.data<float>()) CHECK(v == 0.0f);
  }
  CHECK(TensorMemory::in_use() == before);
}

TEST_CASE("a tensor past the budget is RESOURCE_EXHAUSTED and nothing is lost", "[tensor_memory]") {
  BudgetGuard guard;
  auto keep = Tensor::create(DType::kInt32, {256});
  REQUIRE(keep.is_ok());
  keep->data<int32_t>()[7] = 42;
  TensorMemory::set_budget(TensorMemory::in_use() + 4096);
  auto big = Tensor::create(DType::kFloat32, {1024, 1024});
  REQUIRE_FALSE(big.is_ok());
  CHECK(big.status().code() == ErrorCode::kResourceExhausted);
  CHECK(big.status().message().find("budget") != std::string::npos);
  CHECK(keep->data<int32_t>()[7] == 42);
  auto small = Tensor::create(DType::kFloat32, {512});  // 2 KiB still fits
  CHECK(small.is_ok());
  TensorMemory::set_budget(0);
  CHECK(TensorMemory::budget() == TensorMemory::kDefaultBudget);
  CHECK(Tensor::create(DType::kFloat32, {1024, 1024}).is_ok());
}

TEST_CASE("a model whose folded constants pass the budget is refused at load, then a good model runs",
          "[tensor_memory]") {
  BudgetGuard guard;
  // MatMul of zero-element initializers [m, 0] x [0, n]: a tiny file folded at load into an
  // m x n constant (issue 18's 82-byte file made a 2 GiB one).
  auto matmul_model = [](int64_t m, int64_t n) {
    OnnxModel model;
    model.opset_imports.push_back({"", 13});
    OnnxGraph& g = model.graph;
    g.initializers.push_back({"a", Tensor::create(DType::kFloat32, {m, 0}).value()});
    g.initializers.push_back({"b", Tensor::create(DType::kFloat32, {0, n}).value()});
    OnnxNode node;
    node.op_type = "MatMul";
    node.inputs = {"a", "b"};
    node.outputs = {"y"};
    g.nodes.push_back(node);
    OnnxValueInfo y;
    y.name = "y";
    g.outputs.push_back(y);
    // Through the file format, as a user's file arrives.
    return serialize_onnx_model(model);
  };
  TensorMemory::set_budget(TensorMemory::in_use() + (uint64_t{64} << 20));
  auto hostile = Model::load(matmul_model(32768, 16384));  // 2 GiB of zeros
  REQUIRE_FALSE(hostile.is_ok());
  CHECK(hostile.status().code() == ErrorCode::kResourceExhausted);
  const uint64_t after = TensorMemory::in_use();
  auto fine = Model::load(matmul_model(4, 3));
  REQUIRE(fine.is_ok());
  auto out = fine->run({});
  REQUIRE(out.is_ok());
  REQUIRE((*out)[0].shape() == Shape{4, 3});
  for (float v : (*out)[0].data<float>()) CHECK(v == 0.0f);
  CHECK(TensorMemory::in_use() >= after);
}
