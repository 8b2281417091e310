// Post-training quantization, layer control: per-layer weight bits and granularity, symmetric
// activations, given ranges and scales (a calibration table), the qnnpack convention, the
// sensitivity report and mixed precision. Data and models as ptq_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "onnx/ptq_test_util.hpp"

using namespace quantlab;
using namespace quantlab::ptq_test;

namespace {

/// The int8 weights and their scales of a quantized layer (by the fp32 node's name).
struct LayerWeights {
  std::vector<int8_t> q;
  size_t scales = 0;
};

LayerWeights layer_weights(const OnnxModel& m, const std::string& layer) {
  LayerWeights w;
  for (const OnnxTensor& t : m.graph.initializers) {
    if (t.name.ends_with("_" + layer + "_weight_quantized")) {
      const auto v = t.tensor.data<int8_t>();
      w.q.assign(v.begin(), v.end());
    }
    if (t.name.ends_with("_" + layer + "_weight_scale")) w.scales = t.tensor.size();
  }
  return w;
}

/// max |w| of the fp32 weight initializer of node `layer`.
float max_abs_weight(const Model& m, const std::string& layer) {
  for (const OnnxNode& n : m.onnx().graph.nodes) {
    if (n.name != layer) continue;
    for (const OnnxTensor& t : m.onnx().graph.initializers) {
      if (t.name != n.inputs[1]) continue;
      float a = 0;
      for (float v : t.tensor.data<float>()) a = std::max(a, std::fabs(v));
      return a;
    }
  }
  return -1;
}

std::pair<int, int> min_max(const std::vector<int8_t>& q) {
  const auto [lo, hi] = std::minmax_element(q.begin(), q.end());
  return {*lo, *hi};
}

}  // namespace

TEST_CASE("ptq: per-layer weight bits and granularity (lecture 5.5: how many bits?)", "[onnx][ptq]") {
  const Model fp32 = load_model("lenet5");
  const Tensor x = batch(train_subset(), 0, 64);
  auto base = quantize_static(fp32, {&x, 1});
  REQUIRE(base.is_ok());
  const std::string conv1 = base->layers[0].name, fc1 = base->layers[2].name;
  SECTION("one layer at 4 bits per tensor, the others at 8 per channel") {
    PtqOptions o;
    o.layers = {{conv1, 4, WeightGranularity::kPerTensor}};
    auto q = quantize_static(fp32, {&x, 1}, o);
    INFO(q.status().to_string());
    REQUIRE(q.is_ok());
    const LayerWeights w1 = layer_weights(q->model, conv1);
    REQUIRE(!w1.q.empty());
    // the symmetric narrow 4-bit grid; per tensor, the largest |w| reaches one end of it
    CHECK(std::max(-min_max(w1.q).first, min_max(w1.q).second) == 7);
    CHECK(min_max(w1.q).first >= -7);
    CHECK(w1.scales == 1);
    CHECK(q->layers[0].weight_bits == 4);
    CHECK_FALSE(q->layers[0].per_channel);
    const LayerWeights w3 = layer_weights(q->model, fc1);
    CHECK(std::max(-min_max(w3.q).first, min_max(w3.q).second) == 127);
    CHECK(w3.scales == 120);
    CHECK(q->layers[2].weight_bits == 8);
    // Fewer bits, more error in that layer's output than at 8 bits.
    CHECK(q->layers[0].sqnr_db < base->layers[0].sqnr_db - 10.0);
  }
  SECTION("every layer at 2..7 bits: the grid follows") {
    for (int bits : {2, 3, 5, 7}) {
      PtqOptions o;
      o.weight_bits = bits;
      auto q = quantize_static(fp32, {&x, 1}, o);
      REQUIRE(q.is_ok());
      const int top = (1 << (bits - 1)) - 1;
      for (const auto& l : q->layers) {
        INFO(l.name << " at " << bits << " bits");
        const auto [lo, hi] = min_max(layer_weights(q->model, l.name).q);
        CHECK(lo >= -top);
        CHECK(std::max(-lo, hi) == top);
        CHECK(l.weight_bits == bits);
      }
    }
  }
  SECTION("widths outside 2..8 and unknown layers are refused by name") {
    PtqOptions o;
    o.weight_bits = 1;
    auto a = quantize_static(fp32, {&x, 1}, o);
    CHECK(a.status().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(a.status().message(), Catch::Contains("weightBits must be 2..8"));
    PtqOptions b;
    b.layers = {{"/conv9/Conv", 4, WeightGranularity::kDefault}};
    auto r = quantize_static(fp32, {&x, 1}, b);
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains("'/conv9/Conv' is not a quantized layer"));
    CHECK_THAT(r.status().message(), Catch::Contains(conv1));
    PtqOptions c;
    c.layers = {{conv1, 9, WeightGranularity::kDefault}};
    CHECK(quantize_static(fp32, {&x, 1}, c).status().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("ptq: symmetric activations put every zero point at the grid's middle", "[onnx][ptq]") {
  const Model fp32 = load_model("cnn_bn");
  const Tensor x = batch(train_subset(), 0, 64);
  for (bool is_signed : {true, false}) {
    PtqOptions o;
    o.activations_symmetric = true;
    o.activations_signed = is_signed;
    auto q = quantize_static(fp32, {&x, 1}, o);
    INFO(q.status().to_string());
    REQUIRE(q.is_ok());
    REQUIRE(!q->ranges.empty());
    for (const PtqValueRange& r : q->ranges) {
      INFO(r.value);
      CHECK(r.params.zero_point == (is_signed ? 0 : 128));
    }
    for (const auto& l : q->layers) {
      INFO(l.name << " in " << l.input_scale << " " << l.input_zero_point << " out " << l.output_scale << " " << l.output_zero_point << " [" << l.output_range.r_min << ", " << l.output_range.r_max << "]");
      CHECK(l.sqnr_db > 20.0);
    }
    auto got = from_onnx(q->model).run({&x, 1});
    auto want = fp32.run({&x, 1});
    REQUIRE(got.is_ok());
    CHECK(sqnr((*want)[0].data<float>(), (*got)[0].data<float>()) > 20.0);
  }
}

TEST_CASE("ptq: given ranges and scales (a calibration table) replace calibration", "[onnx][ptq]") {
  const Model fp32 = load_model("lenet5");
  const Tensor x = batch(train_subset(), 0, 128);
  PtqOptions o;
  o.calibration.method = CalibrationMethod::kPercentile;
  auto base = quantize_static(fp32, {&x, 1}, o);
  REQUIRE(base.is_ok());
  REQUIRE(base->ranges.size() >= 6);  // the input and every layer output
  SECTION("every scale and zero point given: the same model, whatever calibrates the rest") {
    PtqOptions g;  // min-max would choose other ranges
    for (const PtqValueRange& r : base->ranges) {
      CHECK_FALSE(r.given);
      GivenRange v;
      v.value = r.value;
      v.scale = r.params.scale;
      v.zero_point = r.params.zero_point;
      g.ranges.push_back(v);
    }
    const Tensor other = batch(train_subset(), 1000, 16);  // different data: no effect
    auto q = quantize_static(fp32, {&other, 1}, g);
    INFO(q.status().to_string());
    REQUIRE(q.is_ok());
    CHECK(serialize_onnx_model(q->model) == serialize_onnx_model(base->model));
    for (const PtqValueRange& r : q->ranges) CHECK(r.given);
  }
  SECTION("a given [min, max] gives the lecture's S and Z for that value") {
    PtqOptions g;
    const std::string input = fp32.inputs()[0].name;
    g.ranges.push_back({input, -1.08f, 2.12f});
    g.activations_signed = true;
    auto q = quantize_static(fp32, {&x, 1}, g);
    REQUIRE(q.is_ok());
    QuantSpec spec;
    auto want = params_from_range(-1.08f, 2.12f, spec);
    REQUIRE(want.is_ok());
    bool seen = false;
    for (const PtqValueRange& r : q->ranges) {
      if (r.value != input) continue;
      seen = true;
      CHECK(r.given);
      CHECK(r.params.scale == want->scale);
      CHECK(r.params.zero_point == want->zero_point);
    }
    CHECK(seen);
    CHECK(q->layers[0].input_scale == want->scale);
  }
  SECTION("bad entries are refused, naming the value") {
    auto refused = [&](GivenRange r, const char* text) {
      PtqOptions g;
      g.ranges = {std::move(r)};
      auto q = quantize_static(fp32, {&x, 1}, g);
      CHECK(q.status().code() == ErrorCode::kInvalidArgument);
      CHECK_THAT(q.status().message(), Catch::Contains(text));
    };
    const std::string input = fp32.inputs()[0].name;
    refused({"no_such_value", 0.0f, 1.0f}, "no value 'no_such_value'");
    refused({input, 0.0f, 1.0f, 0.5f, 0}, "either [min, max] or scale");
    refused({input, 2.0f, 1.0f}, "min <= max");
    GivenRange z{input};
    z.scale = 0.1f;
    z.zero_point = 300;
    refused(z, "outside the int8 activation grid");
    GivenRange s{input};
    s.scale = -1.0f;
    refused(s, "finite and > 0");
  }
}

TEST_CASE("ptq: the qnnpack convention (PyTorch's multiplier and weight grid)", "[onnx][ptq]") {
  const Model fp32 = load_model("lenet300");
  const Tensor x = batch(train_subset(), 0, 64);
  PtqOptions o;
  o.requant_mode = RequantMode::kQnnpack;
  o.per_channel = false;
  o.activations_signed = false;
  auto q = quantize_static(fp32, {&x, 1}, o);
  INFO(q.status().to_string());
  REQUIRE(q.is_ok());
  for (const auto& l : q->layers) {
    const LayerWeights w = layer_weights(q->model, l.name);
    // torch's symmetric observer: S = max|w| / 127.5 over the full grid, so the largest
    // weight in magnitude lands on -128 or 127 (127.5 rounds to even).
    CHECK(w.scales == 1);
    CHECK(l.weight_scales[0] == std::max(max_abs_weight(fp32, l.name) / 127.5f,
                                         std::numeric_limits<float>::epsilon()));
    const auto [lo, hi] = min_max(w.q);
    CHECK(lo >= -128);
    CHECK(std::max(-lo, hi) >= 127);
  }
  // The multiplier differs from onnxruntime's in the last bit for some layers at most.
  CHECK(qnnpack_multiplier(0.0123f, 0.5f, 0.37f) == (0.0123f * 0.5f) * (1.0f / 0.37f));
  ModelOptions mo;
  mo.requant_mode = RequantMode::kQnnpack;
  auto m = Model::from_onnx(q->model, mo);
  REQUIRE(m.is_ok());
  auto got = m->run({&x, 1});
  auto want = fp32.run({&x, 1});
  REQUIRE(got.is_ok());
  CHECK(sqnr((*want)[0].data<float>(), (*got)[0].data<float>()) > 25.0);
}

TEST_CASE("ptq: sensitivity report and mixed precision on LeNet-5", "[onnx][ptq]") {
  const Model fp32 = load_model("lenet5");
  const Images& t = train_subset();
  const Tensor x = batch(t, 0, 256);
  const auto data = x.data<float>();
  std::vector<int32_t> labels(t.labels.begin(), t.labels.begin() + 256);
  PtqOptions o;
  SensitivityOptions so;
  so.bits = {8, 4, 2};
  so.eval_samples = 256;
  auto s = ptq_sensitivity(fp32, data, x.shape(), o, so, labels);
  INFO(s.status().to_string());
  REQUIRE(s.is_ok());
  REQUIRE(s->layers.size() == 5);
  CHECK(s->samples == 256);
  CHECK(s->fp32_accuracy > 0.85);
  CHECK(std::fabs(s->all_accuracy - s->fp32_accuracy) < 0.02);
  auto base = quantize_static(fp32, data, x.shape(), o);
  REQUIRE(base.is_ok());
  int64_t weights = 0;
  for (size_t i = 0; i < 5; ++i) {
    const LayerSensitivity& l = s->layers[i];
    INFO(l.name);
    CHECK(l.name == base->layers[i].name);
    CHECK(l.accumulated_sqnr_db == base->layers[i].sqnr_db);
    REQUIRE(l.sqnr_db.size() == 3);
    CHECK(l.sqnr_db[0] > l.sqnr_db[1] + 6.0);  // 8 -> 4 bits costs about 6 dB a bit
    CHECK(l.sqnr_db[1] > l.sqnr_db[2]);
    CHECK(l.sqnr_db[0] > s->all_sqnr_db - 0.5);  // one layer alone errs less than all five
    CHECK(l.accuracy[0] >= l.accuracy[2] - 0.01);
    weights += l.weights;
  }
  CHECK(weights == 6 * 25 + 16 * 6 * 25 + 120 * 400 + 84 * 120 + 10 * 84);
  SECTION("the smallest weights within 30 dB of output SQNR, measured") {
    MixedPrecisionOptions mp;
    mp.min_sqnr_db = 30.0;
    mp.bits = {8, 6, 4, 3, 2};
    auto r = ptq_mixed_precision(fp32, data, x.shape(), o, mp, labels);
    INFO(r.status().to_string());
    REQUIRE(r.is_ok());
    CHECK(r->sqnr_db >= 30.0);
    CHECK(r->weight_bits < r->int8_weight_bits * 3 / 4);  // at least a quarter smaller
    CHECK(r->int8_weight_bits == weights * 8);
    CHECK(r->measured >= 2);
    // Quantizing with the chosen widths reproduces the measured model.
    PtqOptions chosen = o;
    chosen.layers = r->layers;
    auto q = quantize_static(fp32, data, x.shape(), chosen);
    REQUIRE(q.is_ok());
    auto got = from_onnx(q->model).run({&x, 1});
    auto want = fp32.run({&x, 1});
    REQUIRE(got.is_ok());
    CHECK(std::fabs(sqnr((*want)[0].data<float>(), (*got)[0].data<float>()) - r->sqnr_db) < 1e-6);
  }
  SECTION("an accuracy budget of 1 point") {
    MixedPrecisionOptions mp;
    mp.max_accuracy_drop = 1.0;
    auto r = ptq_mixed_precision(fp32, data, x.shape(), o, mp, labels);
    REQUIRE(r.is_ok());
    CHECK(r->accuracy >= s->fp32_accuracy - 0.01 - 1e-9);
    CHECK(r->weight_bits < r->int8_weight_bits / 2);
  }
  SECTION("errors") {
    std::vector<int32_t> few(10, 0);
    CHECK(ptq_sensitivity(fp32, data, x.shape(), o, so, few).status().code() == ErrorCode::kShapeMismatch);
    std::vector<int32_t> bad(256, 12);
    CHECK(ptq_sensitivity(fp32, data, x.shape(), o, so, bad).status().code() == ErrorCode::kInvalidArgument);
    SensitivityOptions nine;
    nine.bits = {9};
    CHECK(ptq_sensitivity(fp32, data, x.shape(), o, nine).status().code() == ErrorCode::kInvalidArgument);
    MixedPrecisionOptions acc;
    acc.max_accuracy_drop = 1.0;
    CHECK(ptq_mixed_precision(fp32, data, x.shape(), o, acc).status().code() == ErrorCode::kInvalidArgument);
  }
}
