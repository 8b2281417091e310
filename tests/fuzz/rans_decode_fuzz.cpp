// libFuzzer target: the rANS decoder (entropy.hpp). The first two bytes give a symbol count
// and an alphabet limit; the rest is the stream. Decoding must stay inside the buffer, give
// symbols below the limit, and what it decodes must encode and decode back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "fuzz_util.hpp"
#include "quantlab/entropy.hpp"

using namespace quantlab;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t count = data[0] * 16u;
  const size_t limit = size_t{1} << (1 + data[1] % 16);
  const std::span<const uint8_t> stream(data + 2, size - 2);
  std::vector<uint16_t> symbols(count);
  auto used = rans_decode(stream, symbols, limit);
  fuzz::check_status(used.status());
  if (!used.is_ok()) return 0;
  if (*used > stream.size()) std::abort();
  for (uint16_t s : symbols) if (s >= limit) std::abort();
  auto again = rans_encode(symbols, limit);
  if (!again.is_ok()) std::abort();
  std::vector<uint16_t> back(count);
  auto used2 = rans_decode(again->bytes, back, limit);
  if (!used2.is_ok() || back != symbols) std::abort();
  return 0;
}
