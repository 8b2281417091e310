// Bindings of quantlab/entropy.hpp: rANS streams (encode, decode, a timed decode loop) and
// the ideal code lengths they are compared with.
#include <chrono>

#include "options.hpp"
#include "quantlab/entropy.hpp"

namespace quantlab::bind {
namespace {

const char* context_name(EntropyContext c) { return c == EntropyContext::kOrder1 ? "order1" : "order0"; }

/// {bytes, context, scaleBits, lanes, modelBits, headerBytes, tableBytes, payloadBytes}.
val rans_encode_js(const val& symbols, double alphabet, const val& options) {
  auto o = options_in<RansOptions>(options);
  if (!o) return error(o.status());
  const std::vector<uint16_t> s = array_in<uint16_t>(symbols);
  return result(rans_encode(s, static_cast<size_t>(alphabet), *o), [](const RansStream& r) {
    val out = val::object();
    out.set("bytes", array_out(r.bytes));
    out.set("context", std::string(context_name(r.context)));
    out.set("scaleBits", r.scale_bits);
    out.set("lanes", r.lanes);
    out.set("modelBits", r.model_bits);
    out.set("headerBytes", static_cast<double>(r.header_bytes));
    out.set("tableBytes", static_cast<double>(r.table_bytes));
    out.set("payloadBytes", static_cast<double>(r.payload_bytes));
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
  return result(entropy_statistics(s, static_cast<size_t>(alphabet)), [](const EntropyStatistics& e) {
    val o = val::object();
    o.set("symbols", static_cast<double>(e.symbols));
    o.set("alphabet", static_cast<double>(e.alphabet));
    o.set("order0Bits", e.order0_bits);
    o.set("order1Bits", e.order1_bits);
    o.set("adaptiveOrder0Bits", e.adaptive_order0_bits);
    o.set("adaptiveOrder1Bits", e.adaptive_order1_bits);
    return o;
  });
}
QL_EXPORT("dcEntropyStatistics", entropy_statistics_js);

}  // namespace
}  // namespace quantlab::bind
