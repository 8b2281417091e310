// The JavaScript names of the core's enums, option structs and result structs, each spelled
// once: one name table per enum and one field list per struct. Defaults and checks stay in
// the structs (core/include/quantlab/*.hpp); options_in() reads a JS object over a
// default-constructed struct, defaults_out() writes one back (ql.defaults()), and
// fields_out() / fields_into() write results (floats exactly). A result's list leaves out the
// fields that need a typed array or a handle; each binding sets those itself.
#pragma once

#include "marshal.hpp"
#include "quantlab/compressed.hpp"
#include "quantlab/conv.hpp"
#include "quantlab/deep_compression.hpp"
#include "quantlab/entropy.hpp"
#include "quantlab/gemm.hpp"
#include "quantlab/kmeans.hpp"
#include "quantlab/linear.hpp"
#include "quantlab/model.hpp"
#include "quantlab/pq.hpp"
#include "quantlab/prune.hpp"
#include "quantlab/ptq.hpp"
#include "quantlab/requantize_array.hpp"
#include "quantlab/train.hpp"

namespace quantlab::bind {

// --- Enums: the first name of a value is canonical; later ones are accepted aliases ---------

template <> struct EnumTable<CalibrationMethod> {
  static constexpr const char* what = "calibration method";
  static constexpr EnumName<CalibrationMethod> names[] = {
      {CalibrationMethod::kMinMax, "minmax"}, {CalibrationMethod::kPercentile, "percentile"},
      {CalibrationMethod::kMse, "mse"}, {CalibrationMethod::kKl, "kl"}};
};

/// 'fixed-point' (gemmlowp's M0 and shift) is canonical; 'fixed' is the older spelling;
/// 'qnnpack' is fp32 with PyTorch qnnpack's multiplier.
template <> struct EnumTable<RequantMode> {
  static constexpr const char* what = "requantization mode";
  static constexpr EnumName<RequantMode> names[] = {{RequantMode::kFp32, "fp32"},
                                                    {RequantMode::kFixedPoint, "fixed-point"},
                                                    {RequantMode::kQnnpack, "qnnpack"},
                                                    {RequantMode::kFixedPoint, "fixed"}};
};

template <> struct EnumTable<FusedActivation> {
  static constexpr const char* what = "fused activation";
  static constexpr EnumName<FusedActivation> names[] = {{FusedActivation::kNone, "none"},
                                                        {FusedActivation::kRelu, "relu"},
                                                        {FusedActivation::kRelu6, "relu6"}};
};

/// Element types as dtype_name() spells them.
template <> struct EnumTable<DType> {
  static constexpr const char* what = "element type";
  static constexpr EnumName<DType> names[] = {{DType::kUInt8, "uint8"}, {DType::kInt8, "int8"},
                                              {DType::kInt32, "int32"}, {DType::kFloat32, "float32"},
                                              {DType::kInt64, "int64"}};
};

template <> struct EnumTable<KMeansMethod> {
  static constexpr const char* what = "k-means method";
  static constexpr EnumName<KMeansMethod> names[] = {{KMeansMethod::kLloyd, "lloyd"},
                                                     {KMeansMethod::kOptimal, "optimal"}};
};

template <> struct EnumTable<KMeansInit> {
  static constexpr const char* what = "k-means initialization";
  static constexpr EnumName<KMeansInit> names[] = {
      {KMeansInit::kLinear, "linear"}, {KMeansInit::kDensity, "density"},
      {KMeansInit::kRandom, "random"}, {KMeansInit::kPlusPlus, "kmeans++"}};
};

template <> struct EnumTable<OptimizerKind> {
  static constexpr const char* what = "optimizer";
  static constexpr EnumName<OptimizerKind> names[] = {{OptimizerKind::kSgd, "sgd"},
                                                      {OptimizerKind::kAdam, "adam"}};
};

template <> struct EnumTable<PruneSchedule> {
  static constexpr const char* what = "pruning schedule";
  static constexpr EnumName<PruneSchedule> names[] = {{PruneSchedule::kCubic, "cubic"},
                                                      {PruneSchedule::kLinear, "linear"}};
};

template <> struct EnumTable<PQObjective> {
  static constexpr const char* what = "PQ objective";
  static constexpr EnumName<PQObjective> names[] = {{PQObjective::kWeight, "weight"},
                                                    {PQObjective::kActivation, "activation"}};
};

template <> struct EnumTable<EntropyCoder> {
  static constexpr const char* what = "entropy coder";
  static constexpr EnumName<EntropyCoder> names[] = {
      {EntropyCoder::kHuffman, "huffman"}, {EntropyCoder::kRans, "rans"}, {EntropyCoder::kBest, "best"}};
};

template <> struct EnumTable<CodebookPrecision> {
  static constexpr const char* what = "codebook precision";
  static constexpr EnumName<CodebookPrecision> names[] = {{CodebookPrecision::kFloat16, "fp16"},
                                                          {CodebookPrecision::kFloat32, "fp32"}};
};

template <> struct EnumTable<WeightGranularity> {
  static constexpr const char* what = "weight granularity";
  static constexpr EnumName<WeightGranularity> names[] = {{WeightGranularity::kDefault, "default"},
                                                          {WeightGranularity::kPerChannel, "per-channel"},
                                                          {WeightGranularity::kPerTensor, "per-tensor"}};
};

// --- Option structs: JS name -> member, in the order of quantlab.d.ts -------------------------

template <> struct Fields<QuantSpec> {
  static constexpr bool defined = true;
  template <class F> static void visit(QuantSpec& s, F& f) {
    f("bits", s.bits);
    f("signed", s.is_signed);
    f("symmetric", s.symmetric);
    f("narrowRange", s.narrow_range);
  }
};

template <> struct Fields<QuantParams> {
  static constexpr bool defined = true;
  template <class F> static void visit(QuantParams& p, F& f) {
    f("scale", p.scale);
    f("zeroPoint", p.zero_point);
    f("qMin", p.q_min);
    f("qMax", p.q_max);
    f("bits", p.bits);
    f("signed", p.is_signed);
  }
};

template <> struct Fields<CalibrationOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(CalibrationOptions& c, F& f) {
    f("method", c.method);
    f("percentile", c.percentile);
    f("histogramBins", c.histogram_bins);
    f("mseSteps", c.mse_steps);
  }
};

/// requantize(): the mode, its multiplier and the output grid.
template <> struct Fields<RequantizeOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(RequantizeOptions& r, F& f) {
    f("requantMode", r.mode);
    f("M0", r.fixed_point.M0);
    f("shift", r.fixed_point.shift);
    f("multiplier", r.multiplier);
    f("zeroPoint", r.zero_point);
    f("qMin", r.q_min);
    f("qMax", r.q_max);
  }
};

template <> struct Fields<ModelOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(ModelOptions& m, F& f) {
    f("requantMode", m.requant_mode);
    f("fuseActivations", m.fuse_activations);
    f("fuseQdq", m.fuse_qdq);
  }
};

template <> struct Fields<PtqLayerOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(PtqLayerOptions& l, F& f) {
    f("node", l.node);
    f("weightBits", l.weight_bits);
    f("weights", l.weights);
  }
};

template <> struct Fields<GivenRange> {
  static constexpr bool defined = true;
  template <class F> static void visit(GivenRange& r, F& f) {
    f("value", r.value);
    f("min", r.min);
    f("max", r.max);
    f("scale", r.scale);
    f("zeroPoint", r.zero_point);
  }
};

/// quantizeModel(): the calibration options flattened into the PTQ options.
template <> struct Fields<PtqOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(PtqOptions& p, F& f) {
    Fields<CalibrationOptions>::visit(p.calibration, f);
    f("activations", Choice{p.activations_signed, "int8", "uint8"});
    f("symmetricActivations", p.activations_symmetric);
    f("perChannel", p.per_channel);
    f("weightBits", p.weight_bits);
    f("reduceRange", p.reduce_range);
    f("requantMode", p.requant_mode);
    f("batchSize", p.batch_size);
    f("excludeNodes", p.exclude_nodes);
    f("excludeOpTypes", p.exclude_op_types);
    f("layers", p.layers);
    f("ranges", p.ranges);
  }
};

template <> struct Fields<SensitivityOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(SensitivityOptions& s, F& f) {
    f("bits", s.bits);
    f("evalSamples", s.eval_samples);
  }
};

template <> struct Fields<MixedPrecisionOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(MixedPrecisionOptions& m, F& f) {
    f("bits", m.bits);
    f("minSqnrDb", m.min_sqnr_db);
    f("maxAccuracyDrop", m.max_accuracy_drop);
    f("evalSamples", m.eval_samples);
  }
};

/// A layer's output grid (createQGemm / createQConv2d options.output).
template <> struct Fields<QOutput> {
  static constexpr bool defined = true;
  template <class F> static void visit(QOutput& o, F& f) {
    f("type", o.dtype);
    f("scale", o.scale);
    f("zeroPoint", o.zero_point);
    f("requantMode", o.mode);
    f("activation", o.act);
  }
};

template <> struct Fields<Conv2dGeometry> {
  static constexpr bool defined = true;
  template <class F> static void visit(Conv2dGeometry& g, F& f) {
    f("kernelShape", Ints<2>{{&g.kernel_h, &g.kernel_w}});
    f("strides", Ints<2>{{&g.stride_h, &g.stride_w}});
    f("pads", Ints<4>{{&g.pad_top, &g.pad_left, &g.pad_bottom, &g.pad_right}});
    f("dilations", Ints<2>{{&g.dilation_h, &g.dilation_w}});
    f("groups", g.groups);
  }
};

template <> struct Fields<KMeansOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(KMeansOptions& k, F& f) {
    f("method", k.method);
    f("init", k.init);
    f("iterations", k.iterations);
    f("seed", k.seed);
    f("pinnedZero", k.pinned_zero);
  }
};

/// The image shape and normalization of a data set (train, evaluate, deepCompression).
template <> struct Fields<ImageDataset> {
  static constexpr bool defined = true;
  template <class F> static void visit(ImageDataset& d, F& f) {
    f("channels", d.channels);
    f("height", d.height);
    f("width", d.width);
    f("mean", d.mean);
    f("std", d.std);
  }
};

template <> struct Fields<EvalOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(EvalOptions& e, F& f) { f("batchSize", e.batch_size); }
};

template <> struct Fields<TrainOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(TrainOptions& t, F& f) {
    f("optimizer", t.optimizer);
    f("learningRate", t.learning_rate);
    f("momentum", t.momentum);
    f("weightDecay", t.weight_decay);
    f("cosineDecay", t.cosine_decay);
    f("epochs", t.epochs);
    f("batchSize", t.batch_size);
    f("maxSteps", t.max_steps);
    f("seed", t.seed);
  }
};

template <> struct Fields<LayerPlan> {
  static constexpr bool defined = true;
  template <class F> static void visit(LayerPlan& l, F& f) {
    f("param", l.param);
    f("sparsity", l.sparsity);
    f("bits", l.bits);
    f("gapBits", l.gap_bits);
  }
};

template <> struct Fields<DeepCompressionOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(DeepCompressionOptions& d, F& f) {
    f("layers", d.layers);
    f("convSparsity", d.conv_sparsity);
    f("fcSparsity", d.fc_sparsity);
    f("convBits", d.conv_bits);
    f("fcBits", d.fc_bits);
    f("pruneSteps", d.prune_steps);
    f("schedule", d.schedule);
    f("retrainEpochs", d.retrain_epochs);
    f("quantizedEpochs", d.quantized_epochs);
    f("kmeans", d.kmeans);
    f("train", d.train);
    f("quantizedLrScale", d.quantized_lr_scale);
    f("huffman", d.huffman);
    f("entropy", d.entropy);
    f("biasBits", d.bias_bits);
    f("batchSize", d.eval_batch);  // evaluation batches, as evaluate()'s batchSize
  }
};

template <> struct Fields<NetworkCompression> {
  static constexpr bool defined = true;
  template <class F> static void visit(NetworkCompression& n, F& f) {
    f("gapBitsConv", n.gap_bits_conv);
    f("gapBitsFc", n.gap_bits_fc);
    f("huffman", n.huffman);
    f("entropy", n.entropy);
    f("biasBits", n.bias_bits);
  }
};

template <> struct Fields<TensorCoding> {
  static constexpr bool defined = true;
  template <class F> static void visit(TensorCoding& c, F& f) {
    f("bits", c.bits);
    f("gapBits", c.gap_bits);
    f("huffman", c.huffman);
    f("entropy", c.entropy);
    f("biasBits", c.bias_bits);
  }
};

template <> struct Fields<RansOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(RansOptions& r, F& f) {
    f("allowOrder1", r.allow_order1);
    f("lanes", r.lanes);
    f("laneThreshold", r.lane_threshold);
    f("maxScaleBits", r.max_scale_bits);
  }
};

template <> struct Fields<PQParameters> {
  static constexpr bool defined = true;
  template <class F> static void visit(PQParameters& p, F& f) {
    f("d", p.d);
    f("k", p.k);
    f("objective", p.objective);
    f("precision", p.precision);
    f("iterations", p.iterations);
    f("seed", p.seed);
    f("damping", p.damping);
    f("center", p.center);
  }
};

template <> struct Fields<PQLayerPlan> {
  static constexpr bool defined = true;
  template <class F> static void visit(PQLayerPlan& l, F& f) {
    f("param", l.param);
    f("d", l.d);
    f("k", l.k);
  }
};

template <> struct Fields<PQCompressionOptions> {
  static constexpr bool defined = true;
  template <class F> static void visit(PQCompressionOptions& o, F& f) {
    f("layers", o.layers);
    f("fcD", o.fc_d);
    f("k", o.k);
    f("pq", o.pq);
    f("calibrationCount", o.calibration_count);
    f("heldoutCount", o.heldout_count);
    f("finetuneEpochs", o.finetune_epochs);
    f("train", o.train);
    f("batchSize", o.eval_batch);  // evaluation batches, as evaluate()'s batchSize
  }
};

// --- Data sets ----------------------------------------------------------------------------------

/// A training and a test set from JS ({images, labels} each; shape and normalization from
/// `options`, Fields<ImageDataset>), owning copies of the bytes the two ImageDatasets view.
struct DatasetsIn {
  std::vector<uint8_t> train_images, train_labels, test_images, test_labels;
  ImageDataset train, test;
};

/// Fills `out` and validates both sets (validate_dataset). `out` must stay where it is: its
/// ImageDatasets view its own vectors.
inline Status datasets_in(const val& train, const val& test, const val& options, DatasetsIn& out) {
  out.train_images = array_in<uint8_t>(train["images"]);
  out.train_labels = array_in<uint8_t>(train["labels"]);
  out.test_images = array_in<uint8_t>(test["images"]);
  out.test_labels = array_in<uint8_t>(test["labels"]);
  auto shape = options_in<ImageDataset>(options);
  if (!shape) return shape.status();
  out.train = *shape;
  out.test = *shape;
  out.train.images = out.train_images;
  out.train.labels = out.train_labels;
  out.train.count = static_cast<int64_t>(out.train_labels.size());
  out.test.images = out.test_images;
  out.test.labels = out.test_labels;
  out.test.count = static_cast<int64_t>(out.test_labels.size());
  QL_RETURN_IF_ERROR(validate_dataset(out.train));
  return validate_dataset(out.test);
}

// --- Result structs -----------------------------------------------------------------------
template <> struct EnumTable<EntropyContext> {
  static constexpr const char* what = "entropy context";
  static constexpr EnumName<EntropyContext> names[] = {{EntropyContext::kOrder0, "order0"},
                                                       {EntropyContext::kOrder1, "order1"}};
};

template <> struct Fields<ArrayStats> {
  static constexpr bool defined = true;
  template <class F> static void visit(const ArrayStats& a, F& f) {
    f("count", a.count);
    f("min", a.min);
    f("max", a.max);
    f("mean", a.mean);
    f("std", a.std);
  }
};

template <> struct Fields<ArrayComparison> {
  static constexpr bool defined = true;
  template <class F> static void visit(const ArrayComparison& c, F& f) {
    f("mse", c.mse);
    f("sqnrDb", c.sqnr_db);
    f("maxAbsDiff", c.max_abs_diff);
  }
};

template <> struct Fields<ErrorSplit> {
  static constexpr bool defined = true;
  template <class F> static void visit(const ErrorSplit& e, F& f) {
    f("roundMse", e.round_mse);
    f("clipMse", e.clip_mse);
    f("totalMse", e.total_mse);
    f("clipped", e.clipped);
    f("count", e.count);
  }
};

template <> struct Fields<EntropyStatistics> {
  static constexpr bool defined = true;
  template <class F> static void visit(const EntropyStatistics& e, F& f) {
    f("symbols", e.symbols);
    f("alphabet", e.alphabet);
    f("order0Bits", e.order0_bits);
    f("order1Bits", e.order1_bits);
    f("adaptiveOrder0Bits", e.adaptive_order0_bits);
    f("adaptiveOrder1Bits", e.adaptive_order1_bits);
  }
};

/// bytes: a Uint8Array, set by the binding.
template <> struct Fields<RansStream> {
  static constexpr bool defined = true;
  template <class F> static void visit(const RansStream& r, F& f) {
    f("context", r.context);
    f("scaleBits", r.scale_bits);
    f("lanes", r.lanes);
    f("modelBits", r.model_bits);
    f("headerBytes", r.header_bytes);
    f("tableBytes", r.table_bytes);
    f("payloadBytes", r.payload_bytes);
  }
};

template <> struct Fields<StageReport> {
  static constexpr bool defined = true;
  template <class F> static void visit(const StageReport& s, F& f) {
    f("stage", s.stage);
    f("bytes", s.bytes);
    f("ratio", s.ratio);
    f("accuracy", s.accuracy);
    f("loss", s.loss);
    f("entropyBytes", s.entropy_bytes);
    f("entropyRatio", s.entropy_ratio);
  }
};

template <> struct Fields<LayerReport> {
  static constexpr bool defined = true;
  template <class F> static void visit(const LayerReport& l, F& f) {
    f("param", l.param);
    f("size", l.size);
    f("kept", l.kept);
    f("bits", l.bits);
    f("gapBits", l.gap_bits);
    f("kmeansMse", l.kmeans_mse);
    f("fp32Bytes", l.fp32_bytes);
    f("prunedBytes", l.pruned_bytes);
    f("quantizedBytes", l.quantized_bytes);
    f("huffmanBytes", l.huffman_bytes);
    f("entropyBytes", l.entropy_bytes);
  }
};

template <> struct Fields<PQStorage> {
  static constexpr bool defined = true;
  template <class F> static void visit(const PQStorage& s, F& f) {
    f("indices", s.index_bytes);
    f("codebook", s.codebook_bytes);
    f("total", s.total());
  }
};

/// layer: the PQLayer with its typed arrays, written by the binding.
template <> struct Fields<PQResult> {
  static constexpr bool defined = true;
  template <class F> static void visit(const PQResult& r, F& f) {
    f("weightMse", r.weight_mse);
    f("objective", r.objective);
    f("iterations", r.iterations);
    f("reseeded", r.reseeded);
  }
};

template <> struct Fields<PQLayerReport> {
  static constexpr bool defined = true;
  template <class F> static void visit(const PQLayerReport& l, F& f) {
    f("param", l.param);
    f("d", l.d);
    f("k", l.k);
    f("weights", l.weights);
    f("fp32Bytes", l.fp32_bytes);
    f("bytes", l.storage);
    f("weightMse", l.weight_mse);
    f("outputMse", l.output_mse);
    f("objective", l.objective);
    f("seconds", l.seconds);
  }
};

/// pq (the layers with their typed arrays) and file: set by the binding.
template <> struct Fields<PQCompressionReport> {
  static constexpr bool defined = true;
  template <class F> static void visit(const PQCompressionReport& r, F& f) {
    f("layers", r.layers);
    f("fp32Bytes", r.fp32_bytes);
    f("bytes", r.bytes);
    f("ratio", r.ratio);
    f("fileAccuracy", r.file_accuracy);
    f("fp32Accuracy", r.fp32_accuracy);
    f("accuracy", r.accuracy);
    f("accuracyFt", r.accuracy_ft);
  }
};

/// outputRange, rangeNote and the per-channel typed arrays: set by the binding.
template <> struct Fields<PtqLayerReport> {
  static constexpr bool defined = true;
  template <class F> static void visit(const PtqLayerReport& L, F& f) {
    f("name", L.name);
    f("opType", L.op_type);
    f("inputScale", L.input_scale);
    f("inputZeroPoint", L.input_zero_point);
    f("outputScale", L.output_scale);
    f("outputZeroPoint", L.output_zero_point);
    f("mse", L.mse);
    f("sqnrDb", L.sqnr_db);
    f("weightBits", L.weight_bits);
    f("perChannel", L.per_channel);
  }
};

template <> struct Fields<PtqValueRange> {
  static constexpr bool defined = true;
  template <class F> static void visit(const PtqValueRange& r, F& f) {
    f("value", r.value);
    f("min", r.range.r_min);
    f("max", r.range.r_max);
    f("scale", r.params.scale);
    f("zeroPoint", r.params.zero_point);
    f("given", r.given);
  }
};

/// bits, sqnrDb, accuracy (typed arrays): set by the binding.
template <> struct Fields<LayerSensitivity> {
  static constexpr bool defined = true;
  template <class F> static void visit(const LayerSensitivity& l, F& f) {
    f("name", l.name);
    f("opType", l.op_type);
    f("weights", l.weights);
    f("accumulatedSqnrDb", l.accumulated_sqnr_db);
  }
};

/// layers: set by the binding.
template <> struct Fields<SensitivityReport> {
  static constexpr bool defined = true;
  template <class F> static void visit(const SensitivityReport& r, F& f) {
    f("allSqnrDb", r.all_sqnr_db);
    f("fp32Accuracy", r.fp32_accuracy);
    f("allAccuracy", r.all_accuracy);
    f("samples", r.samples);
  }
};

template <> struct EnumTable<ExportExactness> {
  static constexpr const char* what = "export exactness";
  static constexpr EnumName<ExportExactness> names[] = {{ExportExactness::kExact, "exact"},
                                                        {ExportExactness::kCpuDependent, "cpu-dependent"},
                                                        {ExportExactness::kInexact, "inexact"}};
};

template <> struct Fields<ExportCheck> {
  static constexpr bool defined = true;
  template <class F> static void visit(const ExportCheck& c, F& f) {
    f("form", c.form);
    f("activations", c.activations);
    f("exactness", c.exactness);
    f("reasons", c.reasons);
  }
};

}  // namespace quantlab::bind
