// Bindings of quantlab/huffman.hpp: prefix codes with their table-driven decoders (kept in
// codes() until JavaScript disposes them) and one-call compression.
#include <chrono>

#include "fields.hpp"
#include "quantlab/huffman.hpp"

namespace quantlab::bind {
namespace {

struct CodeHandle {
  PrefixCode code;
  HuffmanDecoder decoder;
};

Registry<CodeHandle>& codes() {
  static Registry<CodeHandle> r("the code was disposed");
  return r;
}

val code_add(Result<PrefixCode> code) {
  if (!code) return error(code.status());
  auto entry = std::make_unique<CodeHandle>();
  entry->code = std::move(code).value();
  if (entry->code.max_length() > 0) {
    auto d = HuffmanDecoder::create(entry->code);
    if (!d) return error(d.status());
    entry->decoder = std::move(d).value();
  }
  return ok(val(codes().add(std::move(entry))));
}

val encoded_out(const EncodedBits& e) {
  val o = val::object();
  o.set("bytes", array_out(e.bytes));
  o.set("bitCount", static_cast<double>(e.bit_count));
  return o;
}

val huffman_code_js(const val& freq, int max_length) {
  return code_add(huffman_code(counts_in(freq), max_length));
}
QL_EXPORT("dcHuffmanCode", huffman_code_js);

val prefix_code_js(const val& words) { return code_add(prefix_code_from_strings(strings_in(words))); }
QL_EXPORT("dcPrefixCode", prefix_code_js);

val canonical_code_js(const val& lengths) { return code_add(canonical_code(array_in<uint8_t>(lengths))); }
QL_EXPORT("dcCanonicalCode", canonical_code_js);

val code_info_js(int id) {
  return codes().with(id, [](const CodeHandle& c) {
    val o = val::object();
    o.set("lengths", array_out(c.code.lengths));
    o.set("codes", array_out(c.code.codes));
    val words = val::array();
    for (size_t s = 0; s < c.code.alphabet_size(); ++s) words.set(s, c.code.codeword(s));
    o.set("codewords", words);
    o.set("maxLength", c.code.max_length());
    return ok(o);
  });
}
QL_EXPORT("dcCodeInfo", code_info_js);

val code_encode_js(int id, const val& symbols) {
  return codes().with(id, [&](const CodeHandle& c) {
    return result(huffman_encode(array_in<uint16_t>(symbols), c.code), encoded_out);
  });
}
QL_EXPORT("dcCodeEncode", code_encode_js);

val code_decode_js(int id, const val& bytes, double count) {
  return codes().with(id, [&](const CodeHandle& c) {
    if (c.code.max_length() == 0) return error(empty_input("the code has no codewords"));
    const std::vector<uint8_t> b = array_in<uint8_t>(bytes);
    if (auto s = HuffmanDecoder::check_count(static_cast<uint64_t>(count), b.size()); !s) return error(s);
    std::vector<uint16_t> out(static_cast<size_t>(count));
    return result(c.decoder.decode(b, out), [&](uint64_t used) {
      val o = val::object();
      o.set("symbols", array_out(out));
      o.set("bitsUsed", static_cast<double>(used));
      return o;
    });
  });
}
QL_EXPORT("dcCodeDecode", code_decode_js);

/// Decodes `count` symbols `reps` times in a C++ loop: milliseconds per decode.
val code_benchmark_js(int id, const val& bytes, double count, int reps) {
  return codes().with(id, [&](const CodeHandle& c) {
    const std::vector<uint8_t> b = array_in<uint8_t>(bytes);
    if (auto s = HuffmanDecoder::check_count(static_cast<uint64_t>(count), b.size()); !s) return error(s);
    if (reps < 1 || count < 1) return error(invalid_argument("benchmark: reps >= 1 and count >= 1"));
    std::vector<uint16_t> out(static_cast<size_t>(count));
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      auto used = c.decoder.decode(b, out);
      if (!used) return error(used.status());
    }
    const auto t1 = std::chrono::steady_clock::now();
    return ok(val(std::chrono::duration<double, std::milli>(t1 - t0).count() / reps));
  });
}
QL_EXPORT("dcCodeBenchmark", code_benchmark_js);

val code_statistics_js(int id, const val& freq) {
  return codes().with(id, [&](const CodeHandle& c) {
    return result(code_statistics(c.code, counts_in(freq)), [](const CodeStatistics& st) {
      val o = val::object();
      o.set("symbols", static_cast<double>(st.symbols));
      o.set("totalBits", static_cast<double>(st.total_bits));
      o.set("averageLength", st.average_length);
      o.set("entropy", st.entropy);
      return o;
    });
  });
}
QL_EXPORT("dcCodeStatistics", code_statistics_js);

val code_tree_js(int id, const val& freq) {
  return codes().with(id, [&](const CodeHandle& c) {
    std::vector<uint64_t> f;
    if (!freq.isNull() && !freq.isUndefined()) f = counts_in(freq);
    return result(code_tree(c.code, f), [](const std::vector<CodeTreeNode>& tree) {
      return list_out(tree, [](const CodeTreeNode& n) {
        val o = val::object();
        val ch = val::array();
        ch.set(0, n.child[0]);
        ch.set(1, n.child[1]);
        o.set("children", ch);
        o.set("symbol", n.symbol);
        o.set("count", static_cast<double>(n.count));
        return o;
      });
    });
  });
}
QL_EXPORT("dcCodeTree", code_tree_js);

val code_dispose_js(int id) { return codes().dispose(id); }
QL_EXPORT("dcCodeDispose", code_dispose_js);

val huffman_compress_js(const val& symbols, int alphabet, int max_length) {
  if (alphabet < 1) return error(invalid_argument("alphabetSize must be >= 1"));
  return result(huffman_compress(array_in<uint16_t>(symbols), static_cast<size_t>(alphabet), max_length),
                [](const HuffmanResult& h) {
                  val o = encoded_out(h.encoded);
                  o.set("lengths", array_out(h.code.lengths));
                  o.set("averageLength", h.stats.average_length);
                  o.set("entropy", h.stats.entropy);
                  o.set("totalBits", static_cast<double>(h.stats.total_bits));
                  o.set("symbols", static_cast<double>(h.stats.symbols));
                  return o;
                });
}
QL_EXPORT("dcHuffmanCompress", huffman_compress_js);

}  // namespace
}  // namespace quantlab::bind
