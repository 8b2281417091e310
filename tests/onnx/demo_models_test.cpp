// The demo models of web/models (LeNet-300-100, LeNet-5, a BatchNorm CNN, trained with
// PyTorch on Fashion-MNIST): quantlab's fp32 predictions agree with PyTorch's on at least
// 99.9% of the test images, and the first 100 logits agree within 1e-4.
//
// Natively the check uses all 10,000 test images of Debian's dataset-fashion-mnist, whose
// gzip-compressed IDX files are read through `gzip -dc` (gzip is an essential Debian
// package; no zlib linking, no extra build step). The wasm builds have no zlib and no
// subprocesses, so they use the raw 2,000-image prefix shipped for the page
// (web/data/fashion-test-2000.*.u8), which is byte-identical to the first 2,000 IDX images.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "onnx/onnx_test_util.hpp"
#include "quantlab/model.hpp"

using namespace quantlab;
using namespace quantlab::testing;

namespace {

const std::string kModels = std::string(QL_SOURCE_DIR) + "/web/models";
const std::string kData = std::string(QL_SOURCE_DIR) + "/web/data";
constexpr int kPixels = 28 * 28;

struct TestSet {
  std::vector<uint8_t> images;  // count x 784, row-major
  std::vector<uint8_t> labels;
  size_t count = 0;
  std::string source;
};

#if !defined(__EMSCRIPTEN__)
std::vector<uint8_t> gunzip(const std::string& path) {
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

uint32_t big_endian(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         b[at + 3];
}

/// The IDX test set: images (magic 2051, count, 28, 28) and labels (magic 2049, count).
TestSet idx_test_set() {
  TestSet s;
  const auto images = gunzip(kFashionMnistDir + "/t10k-images-idx3-ubyte.gz");
  const auto labels = gunzip(kFashionMnistDir + "/t10k-labels-idx1-ubyte.gz");
  if (images.size() < 16 || labels.size() < 8) return s;
  const uint32_t n = big_endian(images, 4);
  if (big_endian(images, 0) != 2051 || big_endian(images, 8) != 28 ||
      big_endian(images, 12) != 28 || images.size() != 16 + size_t{n} * kPixels ||
      big_endian(labels, 0) != 2049 || big_endian(labels, 4) != n ||
      labels.size() != 8 + size_t{n}) {
    return s;
  }
  s.images.assign(images.begin() + 16, images.end());
  s.labels.assign(labels.begin() + 8, labels.end());
  s.count = n;
  s.source = "all " + std::to_string(n) + " Fashion-MNIST test images (" + kFashionMnistDir + ")";
  return s;
}
#endif

TestSet subset_2000() {
  TestSet s;
  s.images = read_file(kData + "/fashion-test-2000.images.u8");
  s.labels = read_file(kData + "/fashion-test-2000.labels.u8");
  if (s.images.size() != 2000u * kPixels || s.labels.size() != 2000u) return TestSet{};
  s.count = 2000;
  s.source = "the first 2,000 test images (web/data/fashion-test-2000)";
  return s;
}

const TestSet& test_set() {
  static const TestSet set = [] {
#if !defined(__EMSCRIPTEN__)
    TestSet full = idx_test_set();
    if (full.count == 10000) return full;
#endif
    return subset_2000();
  }();
  return set;
}

/// "mean": <number> and "std": <number> of the dataset normalization in models.json.
float json_number(const std::string& text, const std::string& key) {
  const size_t at = text.find("\"" + key + "\":");
  if (at == std::string::npos) return NAN;
  return std::strtof(text.c_str() + at + key.size() + 3, nullptr);
}

struct Agreement {
  size_t same = 0, correct_quantlab = 0, correct_pytorch = 0, count = 0;
  double max_logit_error = 0.0;
};

Agreement check_model(const std::string& name) {
  Agreement a;
  const auto bytes = read_file(kModels + "/" + name + ".onnx");
  REQUIRE_FALSE(bytes.empty());
  auto model = Model::load(bytes);
  INFO(model.status().to_string());
  REQUIRE(model.is_ok());
  REQUIRE(model->inputs().size() == 1);
  CHECK(model->shape_string(model->inputs()[0]) == "[N, 1, 28, 28]");
  CHECK(model->shape_string(model->outputs()[0]) == "[N, 10]");

  const std::string json(reinterpret_cast<const char*>(read_file(kModels + "/models.json").data()),
                         read_file(kModels + "/models.json").size());
  const float mean = json_number(json, "mean"), std_dev = json_number(json, "std");
  REQUIRE(mean == Approx(0.286f));
  REQUIRE(std_dev == Approx(0.353f));
  const auto pred = read_file(kModels + "/" + name + ".pred.u8");
  REQUIRE(pred.size() == 10000);
  const auto logits_raw = read_file(kModels + "/" + name + ".logits100.f32");
  REQUIRE(logits_raw.size() == 4000);
  std::vector<float> logits100(1000);
  std::memcpy(logits100.data(), logits_raw.data(), 4000);

  const TestSet& set = test_set();
  constexpr size_t kBatch = 500;
  for (size_t first = 0; first < set.count; first += kBatch) {
    const size_t n = std::min(kBatch, set.count - first);
    std::vector<float> x(n * kPixels);
    for (size_t i = 0; i < x.size(); ++i) {
      // As train.py, in float32: (pixel / 255 - mean) / std.
      x[i] = (static_cast<float>(set.images[first * kPixels + i]) / 255.0f - mean) / std_dev;
    }
    const Tensor input = Tensor::from<float>({static_cast<int64_t>(n), 1, 28, 28}, std::move(x));
    auto out = model->run({&input, 1});
    INFO(out.status().to_string());
    REQUIRE(out.is_ok());
    const auto logits = (*out)[0].data<float>();
    for (size_t i = 0; i < n; ++i) {
      const size_t img = first + i;
      size_t best = 0;
      for (size_t c = 1; c < 10; ++c) {
        if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
      }
      a.same += best == pred[img];
      a.correct_quantlab += best == set.labels[img];
      a.correct_pytorch += pred[img] == set.labels[img];
      if (img < 100) {
        for (size_t c = 0; c < 10; ++c) {
          a.max_logit_error =
              std::max(a.max_logit_error,
                       std::fabs(double(logits[i * 10 + c]) - double(logits100[img * 10 + c])));
        }
      }
    }
  }
  a.count = set.count;
  return a;
}

}  // namespace

TEST_CASE("demo models: quantlab fp32 agrees with PyTorch on the Fashion-MNIST test set",
          "[onnx][demo]") {
  if (!file_exists(kModels + "/lenet5.onnx")) {
    FAIL("the demo models are missing from " + kModels + " (web/models/train.py makes them)");
  }
  if (test_set().count == 0) {
    FAIL(
        "no Fashion-MNIST test images: install the Debian package dataset-fashion-mnist "
        "(natively), and check web/data/fashion-test-2000.*.u8");
  }
#if !defined(__EMSCRIPTEN__)
  // Natively the full set is required, not the subset.
  if (test_set().count != 10000) {
    FAIL("the 10,000 Fashion-MNIST test images could not be read from " + kFashionMnistDir +
         " (install dataset-fashion-mnist; gzip must be on the PATH)");
  }
#endif
  for (const char* name : {"lenet300", "lenet5", "cnn_bn"}) {
    INFO(name);
    const Agreement a = check_model(name);
    const double agree = 100.0 * double(a.same) / double(a.count);
    std::printf(
        "[demo models] %-8s on %s: agreement with PyTorch %.2f%% (%zu/%zu), accuracy "
        "quantlab %.2f%% / PyTorch %.2f%%, max |logit error| (first 100) %.2g\n",
        name, test_set().source.c_str(), agree, a.same, a.count,
        100.0 * double(a.correct_quantlab) / double(a.count),
        100.0 * double(a.correct_pytorch) / double(a.count), a.max_logit_error);
    CHECK(agree >= 99.9);
    CHECK(a.max_logit_error <= 1e-4);
  }
}
