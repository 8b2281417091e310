// ql.defaults(): every option struct default-constructed and marshalled, so the JavaScript
// wrapper and the .d.ts take their defaults from the core (tests/js/defaults.test.mjs).
// Keys are the methods' option objects, shaped as those methods take them. Also buildInfo.
#include "fields.hpp"
#include "quantlab/huffman.hpp"

namespace quantlab::bind {
namespace {

/// Object.assign({}, a, b): options that a method takes flattened from two structs.
val merged(const val& a, const val& b) {
  return val::global("Object").call<val>("assign", val::object(), a, b);
}

val defaults_js() {
  val d = val::object();
  d.set("quantSpec", defaults_out<QuantSpec>());
  d.set("calibration", defaults_out<CalibrationOptions>());
  d.set("requantize", defaults_out<RequantizeOptions>());
  d.set("loadModel", defaults_out<ModelOptions>());
  d.set("quantizeModel", defaults_out<PtqOptions>());
  d.set("ptqLayer", defaults_out<PtqLayerOptions>());
  d.set("sensitivity", merged(defaults_out<PtqOptions>(), defaults_out<SensitivityOptions>()));
  d.set("mixedPrecision", merged(defaults_out<PtqOptions>(), defaults_out<MixedPrecisionOptions>()));
  d.set("qOutput", defaults_out<QOutput>());
  d.set("conv2d", defaults_out<Conv2dGeometry>());
  d.set("kMeans", defaults_out<KMeansOptions>());
  val huffman = val::object();
  huffman.set("maxLength", kDefaultCodeLength);
  d.set("huffman", huffman);
  d.set("compressedTensor", defaults_out<TensorCoding>());
  d.set("dataset", defaults_out<ImageDataset>());
  d.set("evaluate", merged(defaults_out<ImageDataset>(), defaults_out<EvalOptions>()));
  d.set("train", merged(defaults_out<ImageDataset>(), defaults_out<TrainOptions>()));
  d.set("layerPlan", defaults_out<LayerPlan>());
  d.set("deepCompression", merged(defaults_out<ImageDataset>(), defaults_out<DeepCompressionOptions>()));
  d.set("encode", defaults_out<NetworkCompression>());
  d.set("pq", defaults_out<PQParameters>());
  d.set("pqLayerPlan", defaults_out<PQLayerPlan>());
  d.set("pqCompress", merged(defaults_out<ImageDataset>(), defaults_out<PQCompressionOptions>()));
  return ok(d);
}
QL_EXPORT("defaults", defaults_js);

val build_info_js() {
  val o = val::object();
#if defined(QL_HAVE_WASMSIMD)
  o.set("simd", true);
#else
  o.set("simd", false);
#endif
  return o;
}
QL_EXPORT("buildInfo", build_info_js);

}  // namespace
}  // namespace quantlab::bind
