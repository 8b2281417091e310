// The operator interface of the model runtime (private): how an ONNX node becomes an Op at
// load time (attributes checked, types checked, output shapes inferred, constant weights
// packed) and how it runs. Shape functions work on partly unknown dims at load time and on
// concrete dims at run time, so load-time inference and run-time checks are the same code.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab::ops {

using Dims = std::vector<int64_t>;

// --- Dimensions that may be unknown (kUnknownDim) or symbolic (<= kFirstSymbolDim) ---------

inline bool known(int64_t d) { return d >= 0; }
bool all_known(std::span<const int64_t> dims);
/// "[N, 3, ?]" without a symbol table: symbols print as "s0", "s1".
std::string dims_string(std::span<const int64_t> dims);
/// "[1, -1, -2]": an attribute's or a shape tensor's values, every one as its number (not
/// read as unknown or symbolic dimensions).
std::string ints_string(std::span<const int64_t> values);

/// Two dims that must be equal: the known one (or the shared symbol); an error when both are
/// known and differ. `what` names them in the message.
Result<int64_t> same_dim(int64_t a, int64_t b, const std::string& what);

/// Product of dims: known when all are known; a single symbol times ones stays that symbol;
/// otherwise kUnknownDim.
int64_t dims_product(std::span<const int64_t> dims);

/// Numpy (ONNX multidirectional) broadcasting of two shapes.
Result<Dims> broadcast_dims(std::span<const int64_t> a, std::span<const int64_t> b);

/// Numpy matmul shapes (MatMul, QLinearMatMul, MatMulInteger): 1-D operands are promoted
/// (and the added dim removed afterwards); batch dims broadcast.
struct MatMulShape {
  Dims batch;  // broadcast batch dims
  int64_t m = 0, k = 0, n = 0;
  Dims y;  // output dims
};
Result<MatMulShape> matmul_shape(const Dims& a, const Dims& b);

Dims strides_of(std::span<const int64_t> shape);

/// f(t, a_index, b_index) for each matrix t of s's broadcast batch: the indices of the A and
/// B matrices (in units of one matrix) it multiplies, for operand shapes a and b. Stops at
/// the first error f returns.
template <class F>
Status for_each_matmul_batch(const Dims& a, const Dims& b, const MatMulShape& s, F f) {
  const Dims ab = a.size() > 2 ? Dims(a.begin(), a.end() - 2) : Dims{};
  const Dims bb = b.size() > 2 ? Dims(b.begin(), b.end() - 2) : Dims{};
  Dims a_full(s.batch.size(), 1), b_full(s.batch.size(), 1);
  for (size_t i = 0; i < ab.size(); ++i) a_full[s.batch.size() - ab.size() + i] = ab[i];
  for (size_t i = 0; i < bb.size(); ++i) b_full[s.batch.size() - bb.size() + i] = bb[i];
  const Dims as = strides_of(a_full), bs = strides_of(b_full);
  const int64_t batches = dims_product(s.batch);
  Dims idx(s.batch.size(), 0);
  for (int64_t t = 0; t < batches; ++t) {
    int64_t ao = 0, bo = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      if (a_full[i] != 1) ao += idx[i] * as[i];
      if (b_full[i] != 1) bo += idx[i] * bs[i];
    }
    QL_RETURN_IF_ERROR(f(static_cast<size_t>(t), static_cast<size_t>(ao), static_cast<size_t>(bo)));
    for (size_t i = idx.size(); i-- > 0;) {
      if (++idx[i] < s.batch[i]) break;
      idx[i] = 0;
    }
  }
  return Status::ok();
}

Result<int> normalize_axis(int64_t axis, int rank, const char* what, bool allow_end = false);

// --- Load time -------------------------------------------------------------------------------

/// An element of a shape value (NodeContext::shape_value) the loader cannot know: distinct
/// from a literal -1 (Reshape's "infer this dimension").
inline constexpr int64_t kUnknownValue = INT64_MIN;

/// Everything a factory may look at when it turns a node into an Op.
class NodeContext {
 public:
  NodeContext(const OnnxNode& node, int64_t version, std::vector<const ValueInfo*> inputs,
              std::vector<const Tensor*> constants, const ModelOptions& options)
      : node_(node),
        version_(version),
        inputs_(std::move(inputs)),
        constants_(std::move(constants)),
        options_(options) {}

  const OnnxNode& node() const { return node_; }
  int64_t version() const { return version_; }
  const ModelOptions& options() const { return options_; }

  /// Inputs as listed (trailing omitted ones included); has_input is false for omitted ones.
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const ValueInfo& input(size_t i) const { return *inputs_[i]; }
  /// The input's value when known at load time, else null.
  const Tensor* constant(size_t i) const { return i < constants_.size() ? constants_[i] : nullptr; }
  /// Input i's elements when the loader knows them, possibly symbolic: an int64 tensor of
  /// rank <= 1 that is constant (literal values >= -1) or computed from shapes (Shape of an
  /// input whose batch is the symbol N gives {N, 1, 28, 28}; an unknown size is
  /// kUnknownValue). Null otherwise.
  const Dims* shape_value(size_t i) const {
    return i < shape_values_.size() ? shape_values_[i] : nullptr;
  }
  void set_input_shape_values(std::vector<const Dims*> v) { shape_values_ = std::move(v); }
  /// Output i's elements as dims (int64, rank <= 1, see shape_value), for a factory that can
  /// compute them from shapes alone: when all are known the loader folds the output into a
  /// constant; otherwise readers see them through shape_value.
  void set_shape_value(size_t i, Dims v) const {
    if (out_shape_values_.size() <= i) out_shape_values_.resize(i + 1);
    out_shape_values_[i] = std::move(v);
    out_shape_value_set_.resize(out_shape_values_.size(), false);
    out_shape_value_set_[i] = true;
  }
  const Dims* output_shape_value(size_t i) const {
    return i < out_shape_values_.size() && out_shape_value_set_[i] ? &out_shape_values_[i]
                                                                   : nullptr;
  }
  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }

  /// Errors for attributes the operator does not define (they could change its meaning).
  Status check_attributes(std::initializer_list<const char*> allowed) const;
  /// Input and output counts within [min, max].
  Status check_arity(size_t min_in, size_t max_in, size_t min_out, size_t max_out) const;
  /// Input i (which must be present) has one of the element types.
  Status check_dtype(size_t i, std::initializer_list<DType> allowed) const;
  /// Input i is present.
  Status require_input(size_t i, const char* what) const;

  bool has_attribute(const char* name) const { return node_.attribute(name) != nullptr; }
  Result<int64_t> attr_int(const char* name, int64_t fallback) const;
  Result<float> attr_float(const char* name, float fallback) const;
  Result<std::string> attr_string(const char* name, std::string fallback) const;
  Result<std::vector<int64_t>> attr_ints(const char* name, std::vector<int64_t> fallback) const;

  /// The activation the loader offers to fold into this layer (the single reader of its
  /// output is a Relu or Clip(0, 6)), kNone if none. A factory that applies it calls
  /// accept_activation(); the loader then drops the activation node.
  FusedActivation offered_activation() const { return offered_; }
  void offer_activation(FusedActivation act) { offered_ = act; }
  void accept_activation() const { accepted_ = true; }
  bool activation_accepted() const { return accepted_; }

 private:
  const OnnxNode& node_;
  int64_t version_;
  std::vector<const ValueInfo*> inputs_;
  std::vector<const Tensor*> constants_;
  const ModelOptions& options_;
  std::vector<const Dims*> shape_values_;
  mutable std::vector<Dims> out_shape_values_;
  mutable std::vector<bool> out_shape_value_set_;
  FusedActivation offered_ = FusedActivation::kNone;
  mutable bool accepted_ = false;
};

/// Load time, BatchNormalization and InstanceNormalization: the epsilon attribute (default
/// 1e-5); inputs 1..params are per-channel parameters, each [C] with C input 0's dimension 1,
/// and input 0 has rank >= min_rank (what unknown ranks leave open is checked at run time);
/// out[0] is input 0's type and dims.
Result<float> read_channel_norm(const NodeContext& ctx, size_t params, size_t min_rank,
                                std::vector<ValueInfo>& out);

/// Normalize an axis in [-rank, rank) (or [-rank, rank] when allow_end) to [0, rank).

/// A prepared node. run() fills out[i] for every output (omitted outputs may be left
/// empty). Inputs: null for omitted optional ones.
class Op {
 public:
  virtual ~Op() = default;
  virtual Status run(std::span<const Tensor* const> in, std::span<Tensor> out) const = 0;
};

template <class F>
class FnOp final : public Op {
 public:
  explicit FnOp(F f) : f_(std::move(f)) {}
  Status run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    return f_(in, out);
  }

 private:
  F f_;
};

/// An Op from a lambda (state captured by value).
template <class F>
std::unique_ptr<Op> make_op(F f) {
  return std::make_unique<FnOp<F>>(std::move(f));
}

/// Turns a node into an Op; fills `outputs` (pre-sized to the node's outputs, names set)
/// with dtypes and inferred dims.
using OpFactory = Result<std::unique_ptr<Op>> (*)(const NodeContext& ctx,
                                                  std::vector<ValueInfo>& outputs);

struct OpRegistration {
  const char* domain;
  const char* op_type;
  /// Every version ONNX defined up to opset 17 (the version a model gets is the largest one
  /// not above its opset import).
  std::vector<int> history;
  /// The versions whose definition this factory implements.
  std::vector<int> supported;
  OpFactory factory;
};

/// Load time: out's dims for the product of inputs a and b when both ranks are known, from
/// shape_fn (matmul_shape, or a stricter check of the same shapes).
template <class ShapeFn>
Status infer_matmul_dims(const NodeContext& ctx, size_t a, size_t b, ValueInfo& out,
                         ShapeFn shape_fn) {
  out.rank_known = ctx.input(a).rank_known && ctx.input(b).rank_known;
  if (!out.rank_known) return Status::ok();
  auto s = shape_fn(ctx.input(a).dims, ctx.input(b).dims);
  if (!s) return s.status();
  out.dims = s->y;
  return Status::ok();
}

void register_elementwise_ops(std::vector<OpRegistration>& r);
void register_shape_ops(std::vector<OpRegistration>& r);
void register_pool_ops(std::vector<OpRegistration>& r);
void register_nn_ops(std::vector<OpRegistration>& r);
void register_quant_ops(std::vector<OpRegistration>& r);
void register_activation_ops(std::vector<OpRegistration>& r);
void register_reduce_ops(std::vector<OpRegistration>& r);
void register_layout_ops(std::vector<OpRegistration>& r);         // ops_layout.cpp
void register_resize_ops(std::vector<OpRegistration>& r);         // ops_resize.cpp
void register_convtranspose_ops(std::vector<OpRegistration>& r);  // ops_convtranspose.cpp
void register_recurrent_ops(std::vector<OpRegistration>& r);      // ops_recurrent.cpp

const std::vector<OpRegistration>& op_registry();

// --- Run time --------------------------------------------------------------------------------

/// Number of elements of a shape, computed without overflow on 32-bit (wasm) size_t too.
/// Errors: a negative dimension, or more than kMaxTensorBytes elements.
Result<int64_t> checked_elements(std::span<const int64_t> shape);

/// A new zero-filled tensor; errors for absurd sizes.
inline Result<Tensor> new_tensor(DType dtype, Dims shape) {
  auto n = checked_elements(shape);
  if (!n) return n.status();
  return Tensor::create(dtype, std::move(shape));
}

/// out = r's tensor, or r's error (the last step of most operators' run).
inline Status set_output(Result<Tensor> r, Tensor& out) {
  if (!r) return r.status();
  out = std::move(*r);
  return Status::ok();
}

/// A tensor's single element as float / int64 (scale and zero-point inputs). The tensor
/// must hold exactly one element (checked by the caller or here with an error).
Result<float> scalar_float(const Tensor& t, const char* what);
Result<int32_t> scalar_int(const Tensor& t, const char* what);
/// All elements as int32 / float (zero points and scales given per channel).
std::vector<int32_t> int_values(const Tensor& t);
std::vector<float> float_values(const Tensor& t);

/// Row-major strides of a shape.
Dims strides_of(std::span<const int64_t> shape);

/// Calls f(type tag) with the C++ type of dtype: f(float{}), f(uint8_t{}), ...
template <class F>
auto visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32: return f(float{});
    case DType::kUInt8: return f(uint8_t{});
    case DType::kInt8: return f(int8_t{});
    case DType::kInt32: return f(int32_t{});
    case DType::kInt64: return f(int64_t{});
    case DType::kBool: return f(bool{});
  }
  return f(float{});
}

}  // namespace quantlab::ops
