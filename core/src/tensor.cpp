// Tensor construction and shape helpers, and the one path tensor memory is allocated through.
#include "quantlab/tensor.hpp"

#include <atomic>
#include <cstdlib>

namespace quantlab {

namespace {
std::atomic<uint64_t> g_in_use{0};
std::atomic<uint64_t> g_peak{0};
std::atomic<uint64_t> g_budget{TensorMemory::kDefaultBudget};

std::string mib(uint64_t bytes) {
  return std::to_string((bytes + (uint64_t{1} << 19)) >> 20) + " MiB";
}
}  // namespace

uint64_t TensorMemory::in_use() { return g_in_use.load(); }
uint64_t TensorMemory::peak() { return g_peak.load(); }
void TensorMemory::reset_peak() { g_peak.store(g_in_use.load()); }
uint64_t TensorMemory::budget() { return g_budget.load(); }
void TensorMemory::set_budget(uint64_t bytes) { g_budget.store(bytes ? bytes : kDefaultBudget); }

Status Tensor::Bytes::resize(size_t bytes) {
  const uint64_t rounded = (static_cast<uint64_t>(bytes) + 15) & ~uint64_t{15};
  std::byte* p = nullptr;
  if (rounded) {
    const uint64_t now = g_in_use.load() - ((static_cast<uint64_t>(n_) + 15) & ~uint64_t{15});
    if (rounded > g_budget.load() || now + rounded > g_budget.load()) {
      return resource_exhausted("a tensor of " + mib(rounded) + " would pass the memory budget of " +
                                mib(g_budget.load()) + " (" + mib(now) + " in use)");
    }
    p = static_cast<std::byte*>(std::aligned_alloc(16, static_cast<size_t>(rounded)));
    if (!p) return resource_exhausted("out of memory allocating a tensor of " + mib(rounded));
    std::memset(p, 0, static_cast<size_t>(rounded));
  }
  release();
  p_ = p;
  n_ = bytes;
  const uint64_t used = g_in_use.fetch_add(rounded) + rounded;
  uint64_t peak = g_peak.load();
  while (used > peak && !g_peak.compare_exchange_weak(peak, used)) {}
  return Status::ok();
}

void Tensor::Bytes::release() {
  if (p_) {
    std::free(p_);
    g_in_use.fetch_sub((static_cast<uint64_t>(n_) + 15) & ~uint64_t{15});
  }
  p_ = nullptr;
  n_ = 0;
}

Tensor::Bytes::Bytes(const Bytes& other) {
  QL_CHECK(resize(other.n_).is_ok());
  if (n_) std::memcpy(p_, other.p_, n_);
}

Tensor::Bytes& Tensor::Bytes::operator=(const Bytes& other) {
  if (this != &other) {
    QL_CHECK(resize(other.n_).is_ok());
    if (n_) std::memcpy(p_, other.p_, n_);
  }
  return *this;
}

Tensor::Bytes& Tensor::Bytes::operator=(Bytes&& other) noexcept {
  if (this != &other) {
    release();
    p_ = other.p_;
    n_ = other.n_;
    other.p_ = nullptr;
    other.n_ = 0;
  }
  return *this;
}

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
  QL_RETURN_IF_ERROR(t.bytes_.resize(*n * elem));
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
