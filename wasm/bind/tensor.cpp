// Bindings of quantlab/tensor.hpp's TensorMemory: the instance's tensor budget and usage.
#include <malloc.h>

#include <cmath>

#include "fields.hpp"
#include "quantlab/tensor.hpp"

namespace quantlab::bind {
namespace {

/// bytes: a whole number of bytes (a double from JS: exact up to 2^53), 0 for the default.
val set_memory_budget_js(double bytes) {
  if (!std::isfinite(bytes) || bytes < 0 || bytes != std::floor(bytes) || bytes > 9007199254740992.0) {
    return error(invalid_argument("maxMemory must be a whole number of bytes >= 0"));
  }
  TensorMemory::set_budget(static_cast<uint64_t>(bytes));
  return ok(val(static_cast<double>(TensorMemory::budget())));
}
QL_EXPORT("setMemoryBudget", set_memory_budget_js);

val memory_usage_js() {
  val o = val::object();
  o.set("inUse", static_cast<double>(TensorMemory::in_use()));
  o.set("peak", static_cast<double>(TensorMemory::peak()));
  o.set("budget", static_cast<double>(TensorMemory::budget()));
  // Everything malloc holds (tensors, handles, strings, scratch), for leak checks.
  o.set("heapInUse", static_cast<double>(mallinfo().uordblks));
  return ok(o);
}
QL_EXPORT("memoryUsage", memory_usage_js);

}  // namespace
}  // namespace quantlab::bind
