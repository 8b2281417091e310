// Shared by the libFuzzer targets: a tiny input for a loaded model, and the rule every target
// checks (an error is a Status with a known code, never a crash; a result is usable).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "quantlab/model.hpp"
#include "quantlab/status.hpp"
#include "quantlab/tensor.hpp"

/// Each target is one translation unit that includes this header once: a tensor budget of
/// 256 MiB, so a file that asks for more is refused (RESOURCE_EXHAUSTED, which the targets
/// accept) long before libFuzzer's own memory limits.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  quantlab::TensorMemory::set_budget(uint64_t{256} << 20);
  return 0;
}

namespace quantlab::fuzz {

/// Every error must carry one of the documented codes (kInternal would be a bug).
inline void check_status(const Status& s) {
  if (s.is_ok()) return;
  if (s.code() == ErrorCode::kInternal || s.message().empty()) {
    std::fprintf(stderr, "quantlab fuzz: status code %d with message \"%s\" (INTERNAL or empty)\n",
                 static_cast<int>(s.code()), std::string(s.message()).c_str());
    std::abort();
  }
}

/// One tensor per model input with its symbolic dimensions set to 1, or nothing when a shape
/// is unknown or larger than `max_elements` (the fuzzer looks for parser bugs, not for
/// memory-hungry shapes).
inline std::vector<Tensor> tiny_inputs(const Model& model, int64_t max_elements = 1 << 16) {
  std::vector<Tensor> inputs;
  for (const ValueInfo& v : model.inputs()) {
    if (!v.rank_known) return {};
    Shape shape;
    int64_t n = 1;
    for (int64_t d : v.dims) {
      const int64_t size = d >= 0 ? d : 1;
      if (size > max_elements || (size > 0 && n > max_elements / size)) return {};
      n *= size;
      shape.push_back(size);
    }
    auto t = Tensor::create(v.dtype, shape);
    if (!t.is_ok()) return {};
    inputs.push_back(std::move(t).value());
  }
  return inputs;
}

}  // namespace quantlab::fuzz
