// libFuzzer target: the Huffman decoder. The first bytes give code lengths (a canonical code,
// as the compressed files store it) and a symbol count; the rest is the bit stream. Decoding
// must stay inside both buffers, and decode(encode(x)) == x for what it decodes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "fuzz_util.hpp"
#include "quantlab/huffman.hpp"

using namespace quantlab;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t alphabet = 1 + data[0] % 64;
  const size_t count = data[1] * 4u;
  if (size < 2 + alphabet) return 0;
  std::vector<uint8_t> lengths(data + 2, data + 2 + alphabet);
  for (auto& l : lengths) l = static_cast<uint8_t>(l % (kMaxCodeLength + 2));
  auto code = canonical_code(lengths);
  fuzz::check_status(code.status());
  if (!code.is_ok()) return 0;
  auto decoder = HuffmanDecoder::create(*code);
  fuzz::check_status(decoder.status());
  if (!decoder.is_ok()) return 0;
  const std::span<const uint8_t> stream(data + 2 + alphabet, size - 2 - alphabet);
  std::vector<uint16_t> symbols(count);
  auto bits = decoder->decode(stream, symbols);
  fuzz::check_status(bits.status());
  if (!bits.is_ok()) return 0;
  if (*bits > stream.size() * 8) std::abort();
  auto encoded = huffman_encode(symbols, *code);
  if (!encoded.is_ok()) std::abort();
  std::vector<uint16_t> again(count);
  auto bits2 = decoder->decode(encoded->bytes, again);
  if (!bits2.is_ok() || again != symbols) std::abort();
  return 0;
}
