// Bindings of quantlab/pq.hpp: product quantization of a weight matrix, its input
// statistics (the activation-aware objective), decoding, byte accounting, inference from
// the codes, and the network pipeline.
#include "fields.hpp"

namespace quantlab::bind {
namespace {

/// Codes as a Uint8Array when every index fits in a byte (k <= 256), else a Uint16Array.
val codes_out(const PQLayer& l) {
  if (l.k <= 256) {
    std::vector<uint8_t> c(l.codes.begin(), l.codes.end());
    return array_out(c);
  }
  return array_out(l.codes);
}

/// {rows, cols, d, k, M, nbits, precision, codebook (k, d), codes (rows, M), bytes, ratio}.
val layer_out(const PQLayer& l) {
  val o = val::object();
  o.set("rows", static_cast<double>(l.rows));
  o.set("cols", static_cast<double>(l.cols));
  o.set("d", l.d);
  o.set("k", l.k);
  o.set("M", static_cast<double>(l.M()));
  o.set("nbits", l.nbits());
  o.set("precision", std::string(enum_name(l.precision)));
  o.set("codebook", array_out(l.codebook));
  o.set("codes", codes_out(l));
  const PQStorage s = pq_storage(l);
  o.set("bytes", fields_out(s));
  const double fp32 = 4.0 * static_cast<double>(l.rows) * static_cast<double>(l.cols);
  o.set("ratio", s.total() ? fp32 / static_cast<double>(s.total()) : 0.0);
  return o;
}

Result<PQLayer> layer_in(const val& o) {
  if (o.typeOf().as<std::string>() != "object" || o.isNull()) {
    return invalid_argument("layer must be {rows, cols, d, k, precision, codebook, codes}");
  }
  PQLayer l;
  l.rows = static_cast<int64_t>(o["rows"].as<double>());
  l.cols = static_cast<int64_t>(o["cols"].as<double>());
  l.d = o["d"].as<int>();
  l.k = o["k"].as<int>();
  if (!o["precision"].isUndefined()) {
    auto p = enum_in<CodebookPrecision>(o["precision"], "precision");
    if (!p) return p.status();
    l.precision = *p;
  }
  l.codebook = array_in<float>(o["codebook"]);
  l.codes = array_in<uint16_t>(o["codes"]);
  return l;
}

val stats_out(const PQInputStats& s) {
  val o = val::object();
  o.set("d", s.d);
  o.set("M", static_cast<double>(s.M));
  o.set("count", static_cast<double>(s.count));
  o.set("sums", array_out(s.sums));
  o.set("meanSums", array_out(s.mean_sums));
  return o;
}

PQInputStats stats_in(const val& o) {
  PQInputStats s;
  s.d = o["d"].as<int>();
  s.M = static_cast<int64_t>(o["M"].as<double>());
  s.count = static_cast<int64_t>(o["count"].as<double>());
  s.sums = array_in<double>(o["sums"]);
  s.mean_sums = array_in<double>(o["meanSums"]);
  return s;
}

/// cancel: a JS function polled by the core (true stops with CANCELLED); undefined: none.
CancelFn cancel_in(const val& fn) {
  if (fn.typeOf().as<std::string>() != "function") return {};
  return [fn]() { return fn().as<bool>(); };
}

/// options: PQParameters (Fields<PQParameters>); stats: pqInputStats' result or null.
val pq_quantize_js(const val& weights, double rows, double cols, const val& options,
                   const val& stats, const val& on_progress, const val& cancel) {
  auto o = options_in<PQParameters>(options);
  if (!o) return error(o.status());
  PQInputStats st;
  const bool has_stats = !stats.isUndefined() && !stats.isNull();
  if (has_stats) st = stats_in(stats);
  return result(pq_quantize(array_in<float>(weights), static_cast<int64_t>(rows),
                            static_cast<int64_t>(cols), *o, has_stats ? &st : nullptr,
                            progress_in(on_progress), cancel_in(cancel)),
                [](const PQResult& r) {
                  val out = layer_out(r.layer);
                  fields_into(out, r);
                  return out;
                });
}
QL_EXPORT("pqQuantize", pq_quantize_js);

val pq_storage_js(double subvectors, int k, int d, const val& precision) {
  CodebookPrecision p = PQParameters{}.precision;
  if (!precision.isUndefined() && !precision.isNull()) {
    auto e = enum_in<CodebookPrecision>(precision, "precision");
    if (!e) return error(e.status());
    p = *e;
  }
  return ok(fields_out(pq_storage(static_cast<int64_t>(subvectors), k, d, p)));
}
QL_EXPORT("pqStorage", pq_storage_js);

val pq_index_bits_js(int k) { return ok(val(pq_index_bits(k))); }
QL_EXPORT("pqIndexBits", pq_index_bits_js);

val pq_decode_js(const val& layer) {
  auto l = layer_in(layer);
  if (!l) return error(l.status());
  return result(pq_decode(*l), [](const auto& w) { return array_out(w); });
}
QL_EXPORT("pqDecode", pq_decode_js);

val pq_input_stats_js(const val& x, double batch, double cols, int d) {
  return result(pq_input_stats(array_in<float>(x), static_cast<int64_t>(batch),
                               static_cast<int64_t>(cols), d),
                stats_out);
}
QL_EXPORT("pqInputStats", pq_input_stats_js);

/// x: NCHW float32 data with its shape; geometry: Fields<Conv2dGeometry>.
val pq_conv_input_stats_js(const val& x, const val& shape, const val& geometry, int d) {
  auto t = tensor_in(x, shape_in(shape), "input data");
  if (!t) return error(t.status());
  auto g = options_in<Conv2dGeometry>(geometry);
  if (!g) return error(g.status());
  return result(pq_conv_input_stats(*t, *g, d), stats_out);
}
QL_EXPORT("pqConvInputStats", pq_conv_input_stats_js);

val pq_bias_correction_js(const val& weights, const val& layer, const val& stats) {
  auto l = layer_in(layer);
  if (!l) return error(l.status());
  return result(pq_bias_correction(array_in<float>(weights), *l, stats_in(stats)),
                [](const auto& b) { return array_out(b); });
}
QL_EXPORT("pqBiasCorrection", pq_bias_correction_js);

val pq_linear_lut_js(const val& layer, const val& x, double batch, const val& bias) {
  auto l = layer_in(layer);
  if (!l) return error(l.status());
  return result(pq_linear_lut(*l, array_in<float>(x), static_cast<int64_t>(batch),
                              array_in<float>(bias)),
                [](const auto& y) { return array_out(y); });
}
QL_EXPORT("pqLinearLut", pq_linear_lut_js);

/// train / test: {images, labels}; options: PQCompressionOptions plus the data set's shape
/// and normalization (Fields<PQCompressionOptions>, Fields<ImageDataset>).
val pq_compress_js(int id, const val& train, const val& test, const val& options,
                   const val& on_progress, const val& cancel) {
  return networks().with(id, [&](Network& net) {
    DatasetsIn data;
    if (Status s = datasets_in(train, test, options, data); !s) return error(s);
    auto o = options_in<PQCompressionOptions>(options);
    if (!o) return error(o.status());
    return result(pq_compress(net, data.train, data.test, *o, progress_in(on_progress), cancel_in(cancel)),
                  [](const PQCompressionReport& r) {
                    val out = fields_out(r);
                    out.set("pq", list_out(r.pq, layer_out));
                    out.set("file", array_out(r.file));
                    return out;
                  });
  });
}
QL_EXPORT("pqNetworkCompress", pq_compress_js);

}  // namespace
}  // namespace quantlab::bind
