// Bindings of quantlab/kmeans.hpp: k-means weight quantization and codebooks.
#include "kmeans.hpp"

#include "fields.hpp"

namespace quantlab::bind {

val codebook_out(const Codebook& cb) {
  val o = val::object();
  o.set("centroids", array_out(cb.centroids));
  o.set("labels", array_out(cb.labels));
  o.set("pinnedZero", cb.pinned_zero);
  return o;
}

Codebook codebook_in(const val& o) {
  Codebook cb;
  cb.centroids = array_in<float>(o["centroids"]);
  cb.labels = array_in<int32_t>(o["labels"]);
  cb.pinned_zero = o["pinnedZero"].as<bool>();
  return cb;
}

namespace {

val kmeans_js(const val& weights, int bits, const val& options, const val& on_progress) {
  auto o = options_in<KMeansOptions>(options);
  if (!o) return error(o.status());
  return result(k_means(array_in<float>(weights), bits, *o, progress_in(on_progress)),
                [](const KMeansResult& r) {
                  val out = codebook_out(r.codebook);
                  out.set("mse", r.mse);
                  out.set("iterations", r.iterations);
                  return out;
                });
}
QL_EXPORT("dcKMeans", kmeans_js);

val kmeans_init_js(const val& weights, int k, const val& options) {
  auto o = options_in<KMeansOptions>(options);
  if (!o) return error(o.status());
  return result(k_means_init(array_in<float>(weights), k, o->init, o->seed),
                [](const auto& c) { return array_out(c); });
}
QL_EXPORT("dcKMeansInit", kmeans_init_js);

val codebook_storage_js(double n, int bits) {
  // n is a JS number: an integer in [0, 2^53] converts to uint64_t exactly (size_t would
  // wrap at 2^32 in wasm32).
  if (!(n >= 0 && n <= 9007199254740992.0) || n != static_cast<double>(static_cast<uint64_t>(n)) ||
      bits < 1 || bits > kMaxKMeansBits) {
    return error(invalid_argument("codebookStorageBytes: n an integer in 0..2^53 and bits 1..8"));
  }
  return ok(val(static_cast<double>(codebook_storage_bytes(static_cast<uint64_t>(n), bits))));
}
QL_EXPORT("dcCodebookStorageBytes", codebook_storage_js);

val update_codebook_js(const val& weights, const val& codebook) {
  Codebook cb = codebook_in(codebook);
  const Status s = update_codebook(array_in<float>(weights), cb);
  if (!s) return error(s);
  return ok(array_out(cb.centroids));
}
QL_EXPORT("dcUpdateCodebook", update_codebook_js);

val cluster_gradients_js(const val& grad, const val& codebook) {
  return result(cluster_gradient_sums(array_in<float>(grad), codebook_in(codebook)),
                [](const auto& sums) { return array_out(sums); });
}
QL_EXPORT("dcClusterGradients", cluster_gradients_js);

}  // namespace
}  // namespace quantlab::bind
