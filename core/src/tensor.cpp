// Tensor construction and shape helpers.
#include "quantlab/tensor.hpp"

namespace quantlab {

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<Tensor> Tensor::create(DType dtype, Shape shape) {
  auto n = shape_size(shape);
  if (!n) return n.status();
  const size_t elem = dtype_size(dtype);
  if (elem == 0) return invalid_argument("unknown element type");
  if (*n > kMaxTensorBytes / elem) {
    return too_large("a " + std::string(dtype_name(dtype)) + " tensor of shape " +
                     shape_string(shape) + " exceeds the 2 GiB limit");
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = *n;
  t.bytes_.resize(*n * elem);
  return t;
}

Status Tensor::reshape(Shape shape) {
  auto n = shape_size(shape);
  if (!n) return n.status();
  if (*n != size_) {
    return shape_mismatch("cannot reshape " + shape_string(shape_) + " (" + std::to_string(size_) +
                          " elements) to " + shape_string(shape));
  }
  shape_ = std::move(shape);
  return Status::ok();
}

}  // namespace quantlab
