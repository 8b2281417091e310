// libFuzzer target: the compressed-model container (Deep Compression files). A file that
// decodes must decode to tensors of the sizes it declares, and its network, if any, must run
// the encoder again without error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "fuzz_util.hpp"
#include "quantlab/compressed.hpp"

using namespace quantlab;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decoded = decode_compressed(std::span<const uint8_t>(data, size));
  fuzz::check_status(decoded.status());
  if (!decoded.is_ok()) return 0;
  for (const DecodedTensor& t : decoded->tensors) {
    size_t n = 1;
    for (int64_t d : t.shape) n *= static_cast<size_t>(d);
    if (n != t.values.size()) std::abort();
  }
  if (decoded->network) fuzz::check_status(encode_network(*decoded->network).status());
  return 0;
}
