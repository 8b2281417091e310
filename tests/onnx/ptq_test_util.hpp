// Helpers shared by the PTQ test files (ptq_test.cpp, ptq_layers_test.cpp): the Fashion-MNIST
// sets, the demo models, logits and agreement, the report check, small hand-built graphs.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "onnx/onnx_test_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/ptq.hpp"

namespace quantlab::ptq_test {

using namespace quantlab;
using namespace quantlab::testing;


inline const std::string kModels = std::string(QL_SOURCE_DIR) + "/web/models";
inline const std::string kData = std::string(QL_SOURCE_DIR) + "/web/data";
constexpr int kPixels = 28 * 28;
constexpr float kMean = 0.286f, kStd = 0.353f;  // models.json "normalization"

struct Images {
  std::vector<uint8_t> pixels;  // count x 784
  std::vector<uint8_t> labels;
  size_t count = 0;
  std::string source;
};

#if !defined(__EMSCRIPTEN__)
inline std::vector<uint8_t> gunzip(const std::string& path) {
  std::vector<uint8_t> out;
  if (!file_exists(path)) return out;
  FILE* p = ::popen(("gzip -dc '" + path + "'").c_str(), "r");
  if (!p) return out;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.insert(out.end(), buf, buf + n);
  ::pclose(p);
  return out;
}

inline Images idx_test_set() {
  Images s;
  const auto images = gunzip(kFashionMnistDir + "/t10k-images-idx3-ubyte.gz");
  const auto labels = gunzip(kFashionMnistDir + "/t10k-labels-idx1-ubyte.gz");
  if (images.size() != 16 + 10000u * kPixels || labels.size() != 8 + 10000u) return s;
  s.pixels.assign(images.begin() + 16, images.end());
  s.labels.assign(labels.begin() + 8, labels.end());
  s.count = 10000;
  s.source = "10,000 test images";
  return s;
}
#endif

inline Images raw_subset(const std::string& stem, size_t count, const std::string& source) {
  Images s;
  s.pixels = read_file(kData + "/" + stem + ".images.u8");
  s.labels = read_file(kData + "/" + stem + ".labels.u8");
  if (s.pixels.size() != count * kPixels || s.labels.size() != count) return Images{};
  s.count = count;
  s.source = source;
  return s;
}

inline const Images& test_set() {
  static const Images set = [] {
#if !defined(__EMSCRIPTEN__)
    Images full = idx_test_set();
    if (full.count == 10000) return full;
#endif
    return raw_subset("fashion-test-2000", 2000, "2,000 test images");
  }();
  return set;
}

inline const Images& train_subset() {
  static const Images set = raw_subset("fashion-train-6000", 6000, "training subset");
  return set;
}

/// Images [first, first + n) normalized as train.py, shape [n, 1, 28, 28].
inline Tensor batch(const Images& s, size_t first, size_t n) {
  std::vector<float> x(n * kPixels);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = (static_cast<float>(s.pixels[first * kPixels + i]) / 255.0f - kMean) / kStd;
  }
  return Tensor::from<float>({static_cast<int64_t>(n), 1, 28, 28}, std::move(x));
}

/// 512 training images in 4 batches of 128.
inline std::vector<Tensor> calibration_batches() {
  const Images& t = train_subset();
  REQUIRE(t.count == 6000);
  std::vector<Tensor> b;
  for (size_t i = 0; i < 4; ++i) b.push_back(batch(t, i * 128, 128));
  return b;
}

/// Logits of the whole test set, [count, 10].
inline std::vector<float> logits_of(const Model& m, const Images& s) {
  std::vector<float> all;
  constexpr size_t kBatch = 500;
  for (size_t first = 0; first < s.count; first += kBatch) {
    const size_t n = std::min(kBatch, s.count - first);
    const Tensor x = batch(s, first, n);
    auto out = m.run({&x, 1});
    INFO(out.status().to_string());
    REQUIRE(out.is_ok());
    const auto y = (*out)[0].data<float>();
    REQUIRE(y.size() == n * 10);
    all.insert(all.end(), y.begin(), y.end());
  }
  return all;
}

inline std::vector<uint8_t> argmax10(const std::vector<float>& logits) {
  std::vector<uint8_t> p(logits.size() / 10);
  for (size_t i = 0; i < p.size(); ++i) {
    uint8_t best = 0;
    for (uint8_t c = 1; c < 10; ++c) {
      if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
    }
    p[i] = best;
  }
  return p;
}

inline double percent_equal(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return 100.0 * static_cast<double>(same) / static_cast<double>(a.size());
}

/// The number following "key": inside the model's block of models.json, after `after`.
inline double json_number_in(const std::string& json, const std::string& model, const std::string& after,
                      const std::string& key) {
  size_t at = json.find("\"name\": \"" + model + "\"");
  if (at == std::string::npos) return NAN;
  if (!after.empty()) at = json.find("\"" + after + "\"", at);
  if (at == std::string::npos) return NAN;
  at = json.find("\"" + key + "\":", at);
  if (at == std::string::npos) return NAN;
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

inline Model load_model(const std::string& name) {
  const auto bytes = read_file(kModels + "/" + name + ".onnx");
  REQUIRE_FALSE(bytes.empty());
  auto m = Model::load(bytes);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  return std::move(*m);
}

inline Model from_onnx(const OnnxModel& m, RequantMode mode = RequantMode::kFp32, bool fuse_qdq = false) {
  ModelOptions o;
  o.requant_mode = mode;
  o.fuse_qdq = fuse_qdq;
  auto r = Model::from_onnx(m, o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(*r);
}

inline std::map<std::string, int> op_counts(const OnnxModel& m) {
  std::map<std::string, int> c;
  for (const OnnxNode& n : m.graph.nodes) ++c[n.op_type];
  return c;
}

/// The report's own consistency: M0 in [2^30, 2^31), M = M0 2^(shift - 31) within 1e-9
/// relative, M = S_W S_X / S_Y, finite SQNR above `min_sqnr` dB.
inline void check_report(const PtqResult& r, double min_sqnr) {
  for (const PtqLayerReport& L : r.layers) {
    INFO("layer " << L.name << " (" << L.op_type << ")");
    REQUIRE(!L.weight_scales.empty());
    REQUIRE(L.multipliers.size() == L.weight_scales.size());
    REQUIRE(L.m0.size() == L.weight_scales.size());
    REQUIRE(L.shift.size() == L.weight_scales.size());
    CHECK(L.input_scale > 0.0f);
    CHECK(L.output_scale > 0.0f);
    CHECK(L.output_range.r_min <= L.output_range.r_max);
    for (size_t c = 0; c < L.m0.size(); ++c) {
      const double M = L.multipliers[c];
      CHECK(L.m0[c] >= (int64_t{1} << 30));
      CHECK(int64_t{L.m0[c]} < (int64_t{1} << 31));
      const double from_fixed = std::ldexp(static_cast<double>(L.m0[c]), L.shift[c] - 31);
      CHECK(std::fabs(from_fixed - M) <= 1e-9 * M);
      const double expect = static_cast<double>(L.weight_scales[c]) *
                            static_cast<double>(L.input_scale) /
                            static_cast<double>(L.output_scale);
      CHECK(M == expect);
    }
    CHECK(std::isfinite(L.mse));
    CHECK(L.mse >= 0.0);
    CHECK(std::isfinite(L.sqnr_db));
    CHECK(L.sqnr_db > min_sqnr);
  }
}

struct DemoRow {
  std::string name;
  double pytorch_fp32 = 0, quantlab_fp32 = 0, quantlab_int8 = 0, quantlab_int8_fixed = 0;
  double pytorch_int8 = 0, agreement = 0, agreement_fixed = 0, pytorch_agreement = 0;
  double qdq_agreement = 0, qdq_max_diff = 0;
  bool qdq_fused_exact = false;
  int layers = 0;
};

// --- A MobileNetV2-shaped graph, built in memory ---------------------------------------------

struct MobileNetBuilder {
  OnnxModel m;
  std::mt19937 rng{20261128};
  int id = 0;
  int batch_norms = 0, convs = 0;

  std::string name(const std::string& base) { return base + std::to_string(id++); }
  std::string init(const std::string& base, Shape shape, std::vector<float> v) {
    const std::string n = name(base);
    m.graph.initializers.push_back({n, Tensor::from<float>(std::move(shape), std::move(v))});
    return n;
  }
  std::vector<float> normal(size_t n, float sd, float mean = 0.0f) {
    std::normal_distribution<float> d(mean, sd);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
  }
  std::vector<float> uniform(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
  }
  void node(const std::string& op, std::vector<std::string> in, std::string out,
            std::vector<OnnxAttribute> attrs = {}) {
    OnnxNode n;
    n.name = name(op + "_");
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    n.attributes = std::move(attrs);
    m.graph.nodes.push_back(std::move(n));
  }
  /// Conv (no bias) + BatchNormalization (+ Clip(0, 6) with Constant-node bounds).
  std::string conv_bn(const std::string& x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                      int64_t groups, bool relu6) {
    const int64_t per_group = cin / groups;
    const auto wn = static_cast<size_t>(cout * per_group * k * k);
    const float sd = std::sqrt(2.0f / static_cast<float>(cout / groups * k * k));
    const std::string w = init("w", {cout, per_group, k, k}, normal(wn, sd));
    const std::string c = name("conv_out");
    const int64_t pad = (k - 1) / 2;
    node("Conv", {x, w}, c,
         {OnnxAttribute::make_ints("kernel_shape", {k, k}),
          OnnxAttribute::make_ints("strides", {stride, stride}),
          OnnxAttribute::make_ints("pads", {pad, pad, pad, pad}),
          OnnxAttribute::make_int("group", groups)});
    ++convs;
    const auto n = static_cast<size_t>(cout);
    const std::string b = name("bn_out");
    node("BatchNormalization",
         {c, init("gamma", {cout}, uniform(n, 0.5f, 1.5f)), init("beta", {cout}, normal(n, 0.1f)),
          init("mean", {cout}, normal(n, 0.1f)), init("var", {cout}, uniform(n, 0.5f, 2.0f))},
         b, {OnnxAttribute::make_float("epsilon", 1e-5f)});
    ++batch_norms;
    if (!relu6) return b;
    const std::string lo = name("clip_min"), hi = name("clip_max");
    node("Constant", {}, lo, {OnnxAttribute::make_tensor("value", Tensor::from<float>({}, {0.0f}))});
    node("Constant", {}, hi, {OnnxAttribute::make_tensor("value", Tensor::from<float>({}, {6.0f}))});
    const std::string y = name("relu6_out");
    node("Clip", {b, lo, hi}, y);
    return y;
  }
  std::string inverted_residual(const std::string& x, int64_t inp, int64_t oup, int64_t stride,
                                int64_t t) {
    const int64_t hidden = inp * t;
    std::string h = x;
    if (t != 1) h = conv_bn(h, inp, hidden, 1, 1, 1, true);
    h = conv_bn(h, hidden, hidden, 3, stride, hidden, true);
    h = conv_bn(h, hidden, oup, 1, 1, 1, false);
    if (stride != 1 || inp != oup) return h;
    const std::string y = name("residual_out");
    node("Add", {x, h}, y);
    return y;
  }

  MobileNetBuilder() {
    m.ir_version = 7;
    m.opset_imports = {{"", 13}};
    m.producer_name = "quantlab-test";
    m.graph.name = "mobilenetv2_small";
    OnnxValueInfo in;
    in.name = "input";
    in.elem_type = 1;
    in.has_shape = true;
    in.dims = {{-1, "N"}, {3, ""}, {32, ""}, {32, ""}};
    m.graph.inputs.push_back(in);
    std::string x = conv_bn("input", 3, 16, 3, 2, 1, true);  // [N, 16, 16, 16]
    x = inverted_residual(x, 16, 8, 1, 1);
    x = inverted_residual(x, 8, 16, 2, 4);                   // [N, 16, 8, 8]
    x = inverted_residual(x, 16, 16, 1, 4);                  // residual
    x = inverted_residual(x, 16, 16, 1, 4);                  // residual
    x = inverted_residual(x, 16, 24, 2, 4);                  // [N, 24, 4, 4]
    x = conv_bn(x, 24, 64, 1, 1, 1, true);
    node("GlobalAveragePool", {x}, "pooled");
    node("Flatten", {"pooled"}, "flat", {OnnxAttribute::make_int("axis", 1)});
    const std::string w = init("fc_w", {10, 64}, normal(640, 1.0f / 8.0f));
    const std::string b = init("fc_b", {10}, normal(10, 0.1f));
    node("Gemm", {"flat", w, b}, "logits", {OnnxAttribute::make_int("transB", 1)});
    OnnxValueInfo out;
    out.name = "logits";
    out.elem_type = 1;
    out.has_shape = true;
    out.dims = {{-1, "N"}, {10, ""}};
    m.graph.outputs.push_back(out);
  }
};

inline Tensor random_images(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n * 3 * 32 * 32));
  for (float& x : v) x = d(rng);
  return Tensor::from<float>({n, 3, 32, 32}, std::move(v));
}

inline double sqnr(std::span<const float> ref, std::span<const float> got) {
  double s = 0, e = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    s += double(ref[i]) * double(ref[i]);
    e += (double(ref[i]) - double(got[i])) * (double(ref[i]) - double(got[i]));
  }
  return 10.0 * std::log10(s / e);
}

/// x [batch, 2, 4, 4] -> Conv 1x1 (3 output channels, bias) -> "c"; the caller adds the node
/// from "c" to the graph output "y" [batch, 3, 4, 4].
inline OnnxModel conv1x1_model(OnnxDim batch) {
  OnnxModel m;
  m.ir_version = 7;
  m.opset_imports = {{"", 13}};
  OnnxValueInfo in;
  in.name = "x";
  in.elem_type = 1;
  in.has_shape = true;
  in.dims = {batch, {2, ""}, {4, ""}, {4, ""}};
  m.graph.inputs.push_back(in);
  OnnxValueInfo out = in;
  out.name = "y";
  out.dims[1].value = 3;
  m.graph.outputs.push_back(out);
  m.graph.initializers.push_back(
      {"w", Tensor::from<float>({3, 2, 1, 1}, {1.0f, -0.5f, 0.25f, 2.0f, -1.5f, 0.75f})});
  m.graph.initializers.push_back({"b", Tensor::from<float>({3}, {0.1f, -0.2f, 0.3f})});
  OnnxNode conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {"x", "w", "b"};
  conv.outputs = {"c"};
  m.graph.nodes = {conv};
  return m;
}

/// Appends Relu(c) -> y, the output conv1x1_model declares.
inline void append_relu(OnnxModel& m) {
  OnnxNode relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"c"};
  relu.outputs = {"y"};
  m.graph.nodes.push_back(relu);
}

}  // namespace quantlab::ptq_test
