// The marshalling layer of the Embind module, written once for every binding file:
// results and errors ({value} | {code, message}), typed arrays and tensors in and out
// (copies, never views into wasm memory, which memory growth would detach), enums by one
// name table each, option and result structs by one field list each (fields.hpp), handle registries,
// and progress callbacks. No algorithm, default or check beyond "is this a number" lives
// here or in the binding files.
#pragma once

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "quantlab/progress.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab {
class Model;
class Network;
}  // namespace quantlab

namespace quantlab::bind {

using emscripten::val;

// --- Results and errors ----------------------------------------------------------------------

/// {code, message}: quantlab.mjs throws it as a QuantlabError.
val error(const Status& s);
/// {value}.
val ok(const val& v);
/// {value: true} or the error.
val done(const Status& s);

/// The error, or {value: to_js(*r)}.
template <class T, class F>
val result(const Result<T>& r, F&& to_js) {
  if (!r) return error(r.status());
  return ok(to_js(*r));
}

// --- Typed arrays -----------------------------------------------------------------------------

template <class T> constexpr const char* array_name();
template <> constexpr const char* array_name<float>() { return "Float32Array"; }
template <> constexpr const char* array_name<double>() { return "Float64Array"; }
template <> constexpr const char* array_name<int8_t>() { return "Int8Array"; }
template <> constexpr const char* array_name<uint8_t>() { return "Uint8Array"; }
template <> constexpr const char* array_name<int32_t>() { return "Int32Array"; }
template <> constexpr const char* array_name<uint16_t>() { return "Uint16Array"; }
template <> constexpr const char* array_name<uint32_t>() { return "Uint32Array"; }

/// A copy of a JS typed array or array of numbers (TypedArray.set converts the elements);
/// undefined is empty.
template <class T>
std::vector<T> array_in(const val& a) {
  if (a.isUndefined() || a.isNull()) return {};
  const auto n = a["length"].as<size_t>();
  std::vector<T> v(n);
  if (n) val(emscripten::typed_memory_view(n, v.data())).call<void>("set", a);
  return v;
}

/// A copy of v as a new JS typed array of the matching type.
template <class T>
val array_out(std::span<const T> v) {
  return val::global(array_name<T>()).new_(val(emscripten::typed_memory_view(v.size(), v.data())));
}
template <class T>
val array_out(const std::vector<T>& v) {
  return array_out(std::span<const T>(v));
}

/// A plain JS array of f(item) for each item.
template <class C, class F>
val list_out(const C& items, F&& f) {
  val a = val::array();
  size_t i = 0;
  for (const auto& item : items) a.set(i++, f(item));
  return a;
}

/// Frequencies arrive as a Float64Array (counts beyond 2^32); negatives count as 0.
std::vector<uint64_t> counts_in(const val& a);
std::vector<std::string> strings_in(const val& a);

/// Shapes are plain JS numbers (a BigInt64Array would be awkward for users).
Shape shape_in(const val& a);
val shape_out(std::span<const int64_t> s);

// --- Tensors ----------------------------------------------------------------------------------

/// "Float32Array", "Uint8Array", ... for a dtype.
const char* array_name(DType d);
/// The dtype of a typed array. Errors: any other value.
Result<DType> dtype_of(const val& typed_array, const std::string& what);
/// A typed array of `d` viewing n elements at p in wasm memory: use it at once (to copy in
/// or out), since memory growth detaches it.
val heap_view(DType d, const void* p, size_t n);
/// A new typed array holding a copy of n elements of `d` at p.
val heap_copy(DType d, const void* p, size_t n);
/// A tensor of the typed array's dtype and `shape`, holding a copy of its data. Errors:
/// data that disagree with the shape (checked in 64 bits, whatever the shape's size).
Result<Tensor> tensor_in(const val& data, const Shape& shape, const std::string& what);
/// {data, shape, dtype}.
val tensor_out(const Tensor& t);

// --- Enums: one name table each (fields.hpp) -------------------------------------------------

template <class E>
struct EnumName {
  E value;
  const char* name;
};

/// Specialized in fields.hpp: `static constexpr EnumName<E> names[]` (the first name of a
/// value is its canonical spelling, later ones are accepted aliases) and `what`, the enum's
/// name in error messages.
template <class E>
struct EnumTable;

template <class E>
Result<E> enum_in(const val& v, std::string_view key) {
  const std::string s = v.isString() ? v.as<std::string>() : std::string("(not a string)");
  std::string expected;
  const auto& names = EnumTable<E>::names;
  const size_t n = std::size(names);
  for (size_t i = 0; i < n; ++i) {
    if (s == names[i].name) return names[i].value;
  }
  for (size_t i = 0; i < n; ++i) {
    bool alias = false;
    for (size_t j = 0; j < i; ++j) alias = alias || names[j].value == names[i].value;
    if (alias) continue;
    if (!expected.empty()) expected += ", ";
    expected += "'" + std::string(names[i].name) + "'";
  }
  return invalid_argument(std::string(key) + " (" + EnumTable<E>::what + ") must be one of " +
                          expected + ", got '" + s + "'");
}

template <class E>
const char* enum_name(E e) {
  for (const auto& entry : EnumTable<E>::names) {
    if (entry.value == e) return entry.name;
  }
  return "";
}

// --- Option and result structs: one field list each (fields.hpp) -----------------------------

/// Specialized in fields.hpp: `template <class F> static void visit(T& t, F& f)` calls
/// f("jsName", t.member) for each field, in the order of the .d.ts.
template <class T>
struct Fields {
  static constexpr bool defined = false;
};

/// A bool spelled as one of two strings in JavaScript (activations 'int8' / 'uint8').
struct Choice {
  bool& value;
  const char* if_true;
  const char* if_false;
};

/// Integers spelled as one JS array ([h, w], [top, left, bottom, right]).
template <size_t N>
struct Ints {
  static constexpr size_t count = N;
  int64_t* v[N];
};
template <class T> struct IsInts : std::false_type {};
template <size_t N> struct IsInts<Ints<N>> : std::true_type {};

/// A value shortest in decimal that reads back as the same float (0.286, not 0.2860000133).
double float_out(float f);

template <class T>
Status value_in(const val& v, std::string_view key, T& out);

struct FieldReader {
  const val& object;
  Status status;
  template <class T>
  void operator()(const char* key, T&& field) {
    if (!status.is_ok()) return;
    const val v = object[key];
    if (v.isUndefined() || v.isNull()) return;  // the struct's default stays
    status = value_in(v, key, field);
  }
};

template <class T>
Status value_in(const val& v, std::string_view key, T& out) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    out = v.as<bool>();
  } else if constexpr (std::is_enum_v<U>) {
    auto e = enum_in<U>(v, key);
    if (!e) return e.status();
    out = *e;
  } else if constexpr (std::is_arithmetic_v<U>) {
    if (!v.isNumber()) return invalid_argument(std::string(key) + " must be a number");
    const double d = v.as<double>();
    if constexpr (std::is_integral_v<U>) {
      if (!(std::floor(d) == d) || d < static_cast<double>(std::numeric_limits<U>::min()) ||
          d > static_cast<double>(std::numeric_limits<U>::max())) {
        return invalid_argument(std::string(key) + " must be an integer in range, got " +
                                v.call<std::string>("toString"));
      }
    }
    out = static_cast<U>(d);
  } else if constexpr (std::is_same_v<U, std::string>) {
    if (!v.isString()) return invalid_argument(std::string(key) + " must be a string");
    out = v.as<std::string>();
  } else if constexpr (std::is_same_v<U, Choice>) {
    const std::string s = v.isString() ? v.as<std::string>() : std::string();
    if (s == out.if_true) out.value = true;
    else if (s == out.if_false) out.value = false;
    else return invalid_argument(std::string(key) + " must be '" + out.if_true + "' or '" +
                                 out.if_false + "', got '" + s + "'");
  } else if constexpr (IsInts<U>::value) {  // Ints<N>
    constexpr size_t n = U::count;
    if (!v.isArray() || v["length"].as<size_t>() != n) {
      return invalid_argument(std::string(key) + " must be " + std::to_string(n) + " integers");
    }
    for (size_t i = 0; i < n; ++i) QL_RETURN_IF_ERROR(value_in(v[i], key, *out.v[i]));
  } else if constexpr (Fields<U>::defined) {
    if (v.typeOf().as<std::string>() != "object") {
      return invalid_argument(std::string(key) + " must be an object");
    }
    FieldReader r{v, Status::ok()};
    Fields<U>::visit(out, r);
    return r.status;
  } else {  // std::vector of structs
    if (!v.isArray()) return invalid_argument(std::string(key) + " must be an array");
    const auto n = v["length"].as<size_t>();
    out.assign(n, {});
    for (size_t i = 0; i < n; ++i) {
      QL_RETURN_IF_ERROR(value_in(v[i], std::string(key) + "[" + std::to_string(i) + "]", out[i]));
    }
  }
  return Status::ok();
}

/// `t` with every field present in the JS object o read over the struct's defaults.
/// undefined (or null) o: the defaults.
template <class T>
Result<T> options_in(const val& o, T t = {}) {
  if (o.isUndefined() || o.isNull()) return t;
  FieldReader r{o, Status::ok()};
  Fields<T>::visit(t, r);
  if (!r.status) return r.status;
  return t;
}

template <bool Shortest, class T>
val value_out(T&& x);

template <bool Shortest>
struct FieldWriter {
  val object = val::object();
  template <class T>
  void operator()(const char* key, T&& field) {
    object.set(key, value_out<Shortest>(field));
  }
};

/// Shortest: floats as the shortest decimal that reads back as the same float (for
/// ql.defaults(): 0.286, not 0.28600001335); else exactly (results).
template <bool Shortest, class T>
val value_out(T&& x) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    return val(x);
  } else if constexpr (std::is_enum_v<U>) {
    return val(std::string(enum_name(x)));
  } else if constexpr (std::is_same_v<U, float> && Shortest) {
    return val(float_out(x));
  } else if constexpr (std::is_arithmetic_v<U>) {
    return val(static_cast<double>(x));
  } else if constexpr (std::is_same_v<U, std::string>) {
    return val(x);
  } else if constexpr (std::is_same_v<U, Choice>) {
    return val(std::string(x.value ? x.if_true : x.if_false));
  } else if constexpr (IsInts<U>::value) {
    val a = val::array();
    for (size_t i = 0; i < U::count; ++i) a.set(i, static_cast<double>(*x.v[i]));
    return a;
  } else if constexpr (Fields<U>::defined) {
    FieldWriter<Shortest> w;
    Fields<U>::visit(const_cast<U&>(static_cast<const U&>(x)), w);  // the writer only reads
    return w.object;
  } else {
    return list_out(x, [](const auto& item) { return value_out<Shortest>(item); });
  }
}

/// The struct as a JS object with its JS field names (results: floats exactly).
template <class T>
val fields_out(const T& t) {
  return value_out<false>(t);
}

/// Sets the struct's listed fields on an existing JS object o (results: floats exactly).
template <class T>
void fields_into(val& o, const T& t) {
  FieldWriter<false> w{o};
  Fields<T>::visit(const_cast<T&>(t), w);
}

/// The struct's defaults as a JS object (ql.defaults(): floats shortest).
template <class T>
val defaults_out(const T& t = {}) {
  return value_out<true>(t);
}

// --- Handles ----------------------------------------------------------------------------------

/// Long-lived C++ objects under integer ids until JavaScript disposes them (quantlab.mjs
/// wraps each id in a Handle subclass with dispose()).
template <class T>
class Registry {
 public:
  explicit Registry(const char* gone) : gone_(gone) {}
  int add(std::unique_ptr<T> item) {
    const int id = next_++;
    items_[id] = std::move(item);
    return id;
  }
  int add(T item) { return add(std::make_unique<T>(std::move(item))); }
  Result<T*> find(int id) const {
    auto it = items_.find(id);
    if (it == items_.end()) return invalid_argument(gone_);
    return it->second.get();
  }
  /// {value: whether the id was live}.
  val dispose(int id) { return ok(val(items_.erase(id) > 0)); }
  /// The error, or f(item) (itself a result value).
  template <class F>
  val with(int id, F&& f) {
    auto item = find(id);
    if (!item) return error(item.status());
    return f(**item);
  }

 private:
  std::map<int, std::unique_ptr<T>> items_;
  int next_ = 1;
  const char* gone_;
};

/// Registries shared by several binding files (models: model.cpp and ptq.cpp; networks:
/// train.cpp and compressed.cpp).
Registry<Model>& models();
Registry<Network>& networks();

// --- Exports ----------------------------------------------------------------------------------

/// Registers fn for JavaScript under `name` during static initialization, as
/// EMSCRIPTEN_BINDINGS blocks do; QL_EXPORT stands after each binding function.
struct Export {
  template <class F>
  Export(const char* name, F fn) {
    emscripten::function(name, fn);
  }
};
#define QL_EXPORT(js_name, fn) const ::quantlab::bind::Export ql_export_##fn(js_name, &fn)

// --- Progress ---------------------------------------------------------------------------------

/// A JS function called with {stage, done, total} (plus value where the core has a finite
/// number); empty for undefined. quantlab.mjs guards the function, so it never throws
/// through these frames.
ProgressFn progress_in(const val& fn);

}  // namespace quantlab::bind
