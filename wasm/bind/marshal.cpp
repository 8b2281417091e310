// The marshalling layer's non-template half (see marshal.hpp).
#include "marshal.hpp"

#include <cstdio>
#include <cstdlib>

namespace quantlab::bind {

val error(const Status& s) {
  val o = val::object();
  o.set("code", std::string(error_code_name(s.code())));
  o.set("message", s.message());
  return o;
}

val ok(const val& v) {
  val o = val::object();
  o.set("value", v);
  return o;
}

val done(const Status& s) { return s ? ok(val(true)) : error(s); }

std::vector<uint64_t> counts_in(const val& a) {
  const std::vector<double> d = array_in<double>(a);
  std::vector<uint64_t> f(d.size());
  for (size_t i = 0; i < d.size(); ++i) f[i] = d[i] > 0 ? static_cast<uint64_t>(d[i]) : 0;
  return f;
}

std::vector<std::string> strings_in(const val& a) {
  std::vector<std::string> s;
  const int n = a["length"].as<int>();
  for (int i = 0; i < n; ++i) s.push_back(a[i].as<std::string>());
  return s;
}

Shape shape_in(const val& a) {
  const std::vector<double> d = emscripten::convertJSArrayToNumberVector<double>(a);
  return Shape(d.begin(), d.end());
}

val shape_out(std::span<const int64_t> s) {
  return list_out(s, [](int64_t d) { return val(static_cast<double>(d)); });
}

const char* array_name(DType d) {
  switch (d) {
    case DType::kFloat32: return "Float32Array";
    case DType::kUInt8: return "Uint8Array";
    case DType::kInt8: return "Int8Array";
    case DType::kInt32: return "Int32Array";
    case DType::kInt64: return "BigInt64Array";
    case DType::kBool: return "Uint8Array";  // (0 or 1 per element)
  }
  return "Float32Array";
}

Result<DType> dtype_of(const val& a, const std::string& what) {
  const std::string name = a["constructor"]["name"].as<std::string>();
  for (DType d : {DType::kFloat32, DType::kUInt8, DType::kInt8, DType::kInt32, DType::kInt64}) {
    if (name == array_name(d)) return d;
  }
  return invalid_argument(what + " must be a Float32Array, Uint8Array, Int8Array, "
                          "Int32Array or BigInt64Array, got " + name);
}

val heap_view(DType d, const void* p, size_t n) {
  const val bytes(emscripten::typed_memory_view(n * dtype_size(d), static_cast<const uint8_t*>(p)));
  return val::global(array_name(d)).new_(bytes["buffer"], bytes["byteOffset"], n);
}

val heap_copy(DType d, const void* p, size_t n) {
  // The typed array constructor copies the view.
  return val::global(array_name(d)).new_(heap_view(d, p, n));
}

Result<Tensor> tensor_in(const val& data, const Shape& shape, const std::string& what) {
  auto dtype = dtype_of(data, what + " data");
  if (!dtype) return dtype.status();
  const auto n = data["length"].as<size_t>();
  // Compare the data's length with the shape's element count first (in 64 bits,
  // saturating): a shape that disagrees with its data is a mismatch, whatever its size.
  uint64_t holds = 1;
  bool negative = false;
  for (int64_t d : shape) {
    if (d < 0) negative = true;
    else if (d == 0 || holds == 0) holds = 0;
    else holds = holds > UINT64_MAX / static_cast<uint64_t>(d) ? UINT64_MAX
                                                              : holds * static_cast<uint64_t>(d);
  }
  if (!negative && holds != n) {
    return shape_mismatch(what + " has " + std::to_string(n) + " values but its shape " +
                          shape_string(shape) + " holds " +
                          (holds == UINT64_MAX ? std::string("more than 2^64") : std::to_string(holds)));
  }
  auto t = Tensor::create(*dtype, shape);
  if (!t) return t.status();
  if (n != t->size()) {
    return shape_mismatch(what + " has " + std::to_string(n) + " values but its shape " +
                          shape_string(t->shape()) + " holds " + std::to_string(t->size()));
  }
  if (n) heap_view(*dtype, t->raw(), n).call<void>("set", data);
  return t;
}

val tensor_out(const Tensor& t) {
  val r = val::object();
  r.set("data", heap_copy(t.dtype(), t.raw(), t.size()));
  r.set("shape", shape_out(t.shape()));
  r.set("dtype", std::string(dtype_name(t.dtype())));
  return r;
}

double float_out(float f) {
  char buf[32];
  for (int digits = 6; digits < 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(f));
    const double d = std::strtod(buf, nullptr);
    if (static_cast<float>(d) == f) return d;
  }
  return static_cast<double>(f);
}

ProgressFn progress_in(const val& fn) {
  if (fn.typeOf().as<std::string>() != "function") return {};
  return [fn](const Progress& p) {
    val r = val::object();
    r.set("stage", std::string(p.stage));
    r.set("done", static_cast<double>(p.done));
    r.set("total", static_cast<double>(p.total));
    // value: the running loss or MSE; stages without one leave it NaN (or 0, the default).
    if (std::isfinite(p.value) && p.value != 0.0) r.set("value", p.value);
    fn(r);
  };
}

}  // namespace quantlab::bind
