// Bindings of quantlab/entropy.hpp: rANS streams (encode, decode, a timed decode loop) and
// the ideal code lengths they are compared with.
#include <chrono>

#include "fields.hpp"
#include "quantlab/entropy.hpp"

namespace quantlab::bind {
namespace {

/// {bytes, context, scaleBits, lanes, modelBits, headerBytes, tableBytes, payloadBytes}.
val rans_encode_js(const val& symbols, double alphabet, const val& options) {
  auto o = options_in<RansOptions>(options);
  if (!o) return error(o.status());
  const std::vector<uint16_t> s = array_in<uint16_t>(symbols);
  return result(rans_encode(s, static_cast<size_t>(alphabet), *o), [](const RansStream& r) {
    val out = fields_out(r);
    out.set("bytes", array_out(r.bytes));
    return out;
  });
}
QL_EXPORT("dcRansEncode", rans_encode_js);

val rans_decode_js(const val& bytes, double count, double limit) {
  const std::vector<uint8_t> b = array_in<uint8_t>(bytes);
  if (count < 0 || count > static_cast<double>(kMaxCompressedElements)) return error(too_large("rANS: count too large"));
  std::vector<uint16_t> out(static_cast<size_t>(count));
  auto used = rans_decode(b, out, static_cast<size_t>(limit));
  if (!used) return error(used.status());
  return ok(array_out(out));
}
QL_EXPORT("dcRansDecode", rans_decode_js);

/// Decodes `count` symbols `reps` times in a C++ loop: milliseconds per decode.
val rans_benchmark_js(const val& bytes, double count, double limit, int reps) {
  const std::vector<uint8_t> b = array_in<uint8_t>(bytes);
  if (reps < 1 || count < 1 || count > static_cast<double>(kMaxCompressedElements)) {
    return error(invalid_argument("benchmark: reps >= 1 and count >= 1"));
  }
  std::vector<uint16_t> out(static_cast<size_t>(count));
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    auto used = rans_decode(b, out, static_cast<size_t>(limit));
    if (!used) return error(used.status());
  }
  const auto t1 = std::chrono::steady_clock::now();
  return ok(val(std::chrono::duration<double, std::milli>(t1 - t0).count() / reps));
}
QL_EXPORT("dcRansBenchmark", rans_benchmark_js);

val entropy_statistics_js(const val& symbols, double alphabet) {
  const std::vector<uint16_t> s = array_in<uint16_t>(symbols);
  return result(entropy_statistics(s, static_cast<size_t>(alphabet)),
                [](const EntropyStatistics& e) { return fields_out(e); });
}
QL_EXPORT("dcEntropyStatistics", entropy_statistics_js);

}  // namespace
}  // namespace quantlab::bind
