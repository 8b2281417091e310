// Dense row-major tensors shared by the kernels, the model runtime and training.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "quantlab/linear.hpp"  // Shape, shape_size
#include "quantlab/status.hpp"

namespace quantlab {

/// Element types quantlab stores. Values are ONNX TensorProto.DataType numbers.
enum class DType : int32_t {
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,  ///< one byte per element, 0 or 1 (comparisons, Where, Not)
};

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kUInt8: return 1;
    case DType::kInt8: return 1;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
  }
  return 0;
}

constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

/// The DType of an ONNX TensorProto.DataType number; false when quantlab does not store it.
constexpr bool dtype_from_onnx(int64_t onnx_type, DType& dtype) {
  for (DType d : {DType::kFloat32, DType::kUInt8, DType::kInt8, DType::kInt32, DType::kInt64,
                  DType::kBool}) {
    if (static_cast<int64_t>(d) == onnx_type) {
      dtype = d;
      return true;
    }
  }
  return false;
}

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::kFloat32; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::kUInt8; }
template <> constexpr DType dtype_of<int8_t>() { return DType::kInt8; }
template <> constexpr DType dtype_of<int32_t>() { return DType::kInt32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::kInt64; }
template <> constexpr DType dtype_of<bool>() { return DType::kBool; }

/// Largest tensor quantlab allocates (bytes): guards against sizes read from untrusted files.
inline constexpr size_t kMaxTensorBytes = size_t{1} << 31;

/// Tensor memory: every tensor's elements are allocated through one path that counts the bytes
/// in use and refuses, with kResourceExhausted, an allocation that would pass the budget or
/// that the allocator cannot satisfy (no null pointer is ever written through: under
/// Emscripten without exceptions a failed operator new returns nullptr). Sizes are computed in
/// 64 bits before anything is allocated.
struct TensorMemory {
  /// Default budget for all live tensors of the process (2 GiB: half of what wasm32 reaches).
  static constexpr uint64_t kDefaultBudget = uint64_t{2} << 30;
  /// Bytes held by live tensors now, and the most held since the last reset_peak().
  static uint64_t in_use();
  static uint64_t peak();
  static void reset_peak();
  /// The budget (bytes); set_budget(0) restores the default.
  static uint64_t budget();
  static void set_budget(uint64_t bytes);
};

/// "[1, 3, 224, 224]"
std::string shape_string(std::span<const int64_t> shape);

/// A dense row-major tensor owning its elements (zero-initialized). Copies are deep.
class Tensor {
 public:
  Tensor() = default;

  /// Errors: negative dimensions, more than kMaxTensorBytes (kTooLarge); past the memory
  /// budget or out of memory (kResourceExhausted).
  static Result<Tensor> create(DType dtype, Shape shape);

  /// A tensor holding `values`; QL_CHECKs that the shape's size matches.
  template <class T>
  static Tensor from(Shape shape, std::vector<T> values) {
    Tensor t;
    t.dtype_ = dtype_of<T>();
    t.shape_ = std::move(shape);
    t.size_ = values.size();
    auto n = shape_size(t.shape_);
    QL_CHECK(n.is_ok() && *n == values.size());
    // Programmatic tensors from vectors the caller already holds: failing here is a bug.
    QL_CHECK(t.bytes_.resize(values.size() * sizeof(T)).is_ok());
    if (!values.empty()) std::memcpy(t.bytes_.data(), values.data(), t.bytes_.size());
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  size_t size() const { return size_; }
  size_t bytes() const { return bytes_.size(); }
  bool empty() const { return size_ == 0; }

  /// Typed element access; QL_CHECKs the element type.
  template <class T>
  std::span<T> data() {
    QL_CHECK(dtype_of<T>() == dtype_);
    return {reinterpret_cast<T*>(bytes_.data()), size_};
  }
  template <class T>
  std::span<const T> data() const {
    QL_CHECK(dtype_of<T>() == dtype_);
    return {reinterpret_cast<const T*>(bytes_.data()), size_};
  }
  void* raw() { return bytes_.data(); }
  const void* raw() const { return bytes_.data(); }

  /// Same elements, new shape. Errors: a different element count.
  Status reshape(Shape shape);

 private:
  DType dtype_ = DType::kFloat32;
  Shape shape_;
  size_t size_ = 0;
  // 16-byte aligned, zero-filled storage counted against TensorMemory's budget (SIMD loads
  // are unaligned anyway). Copies are deep; a copy that cannot be allocated is an invariant
  // failure (copies are of tensors that already fit).
  class Bytes {
   public:
    Bytes() = default;
    Bytes(const Bytes& other);
    Bytes& operator=(const Bytes& other);
    Bytes(Bytes&& other) noexcept : p_(other.p_), n_(other.n_) { other.p_ = nullptr; other.n_ = 0; }
    Bytes& operator=(Bytes&& other) noexcept;
    ~Bytes() { release(); }
    /// Replaces the contents by `bytes` zero bytes; on failure the old contents stay.
    Status resize(size_t bytes);
    std::byte* data() { return p_; }
    const std::byte* data() const { return p_; }
    size_t size() const { return n_; }

   private:
    void release();
    std::byte* p_ = nullptr;
    size_t n_ = 0;
  } bytes_;
};

}  // namespace quantlab
