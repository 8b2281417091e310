// libFuzzer target: the IDX dataset reader. A file it accepts holds exactly the bytes its
// dimensions declare.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "fuzz_util.hpp"
#include "quantlab/dataset.hpp"

using namespace quantlab;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = read_idx(std::span<const uint8_t>(data, size));
  fuzz::check_status(r.status());
  if (!r.is_ok()) return 0;
  uint64_t n = 1;
  for (uint32_t d : r->dims) n *= d;
  if (n != r->data.size()) std::abort();
  return 0;
}
