// Tensor: creation limits, typed access, reshape.
#include "quantlab/tensor.hpp"

#include <catch2/catch.hpp>

using namespace quantlab;

TEST_CASE("tensors: create, access, reshape", "[tensor]") {
  auto t = Tensor::create(DType::kInt8, {2, 3});
  REQUIRE(t.is_ok());
  CHECK(t->size() == 6);
  CHECK(t->bytes() == 6);
  CHECK(t->data<int8_t>()[5] == 0);
  t->data<int8_t>()[5] = -7;
  Tensor copy = *t;
  copy.data<int8_t>()[5] = 3;
  CHECK(t->data<int8_t>()[5] == -7);  // deep copy
  CHECK(t->reshape({3, 2}).is_ok());
  CHECK(t->dim(-1) == 2);
  CHECK(t->reshape({4}).code() == ErrorCode::kShapeMismatch);
  auto f = Tensor::from<float>({2}, {1.5f, -2.0f});
  CHECK(f.data<float>()[1] == -2.0f);
  CHECK(shape_string(f.shape()) == "[2]");
}

TEST_CASE("tensors: absurd sizes are refused before allocating", "[tensor][errors]") {
  CHECK(Tensor::create(DType::kFloat32, {1 << 20, 1 << 20}).status().code() == ErrorCode::kTooLarge);
  CHECK(Tensor::create(DType::kFloat32, {-1, 3}).status().code() == ErrorCode::kInvalidArgument);
  CHECK(Tensor::create(DType::kInt64, {INT64_MAX, 4}).status().code() == ErrorCode::kTooLarge);
  // 2^32 elements wrap a 32-bit size_t (wasm32) to 0 if counted carelessly.
  CHECK(Tensor::create(DType::kUInt8, {int64_t{1} << 32}).status().code() == ErrorCode::kTooLarge);
  CHECK(Tensor::create(DType::kUInt8, {int64_t{1} << 16, int64_t{1} << 16}).status().code() ==
        ErrorCode::kTooLarge);
  CHECK(*shape_size(std::vector<int64_t>{0, int64_t{1} << 40}) == 0);
}
