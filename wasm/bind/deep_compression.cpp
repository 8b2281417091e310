// Bindings of quantlab/deep_compression.hpp: the whole pipeline on a network (the steps
// one at a time are bound with the network in train.cpp).
#include "fields.hpp"

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
                    out.set("stages", fields_out(r.stages));
                    out.set("layers", fields_out(r.layers));
                    out.set("file", array_out(r.file));
                    return out;
                  });
  });
}
QL_EXPORT("dcNetworkDeepCompression", deep_compression_js);

}  // namespace
}  // namespace quantlab::bind
