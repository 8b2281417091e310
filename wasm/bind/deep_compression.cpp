// Bindings of quantlab/deep_compression.hpp: the whole pipeline on a network (the steps
// one at a time are bound with the network in train.cpp).
#include "options.hpp"

namespace quantlab::bind {
namespace {

/// train / test: {images, labels}; options: DeepCompressionOptions plus the data set's
/// shape and normalization (Fields<DeepCompressionOptions>, Fields<ImageDataset>).
val deep_compression_js(int id, const val& train, const val& test, const val& options,
                        const val& on_progress) {
  return networks().with(id, [&](Network& net) {
    DatasetsIn data;
    if (Status s = datasets_in(train, test, options, data); !s) return error(s);
    auto o = options_in<DeepCompressionOptions>(options);
    if (!o) return error(o.status());
    return result(deep_compression(net, data.train, data.test, *o, progress_in(on_progress)),
                  [](const DeepCompressionReport& r) {
                    val out = val::object();
                    out.set("stages", list_out(r.stages, [](const StageReport& s) {
                      val S = val::object();
                      S.set("stage", s.stage);
                      S.set("bytes", static_cast<double>(s.bytes));
                      S.set("ratio", s.ratio);
                      S.set("accuracy", s.accuracy);
                      S.set("loss", s.loss);
                      S.set("entropyBytes", static_cast<double>(s.entropy_bytes));
                      S.set("entropyRatio", s.entropy_ratio);
                      return S;
                    }));
                    out.set("layers", list_out(r.layers, [](const LayerReport& l) {
                      val L = val::object();
                      L.set("param", l.param);
                      L.set("size", static_cast<double>(l.size));
                      L.set("kept", static_cast<double>(l.kept));
                      L.set("bits", l.bits);
                      L.set("gapBits", l.gap_bits);
                      L.set("kmeansMse", l.kmeans_mse);
                      L.set("fp32Bytes", static_cast<double>(l.fp32_bytes));
                      L.set("prunedBytes", static_cast<double>(l.pruned_bytes));
                      L.set("quantizedBytes", static_cast<double>(l.quantized_bytes));
                      L.set("huffmanBytes", static_cast<double>(l.huffman_bytes));
                      L.set("entropyBytes", static_cast<double>(l.entropy_bytes));
                      return L;
                    }));
                    out.set("file", array_out(r.file));
                    return out;
                  });
  });
}
QL_EXPORT("dcNetworkDeepCompression", deep_compression_js);

}  // namespace
}  // namespace quantlab::bind
