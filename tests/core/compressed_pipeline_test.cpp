// Deep Compression's pipeline on a demo model (small data, so it runs in every build): the
// stages shrink the model in order, the file decodes to the network the pipeline ended
// with, and the storage account matches its definition layer by layer.
#include "quantlab/deep_compression.hpp"

#include <catch2/catch.hpp>

#include "compressed_test_util.hpp"

using namespace quantlab;

namespace {

struct Subset {
  std::vector<uint8_t> images, labels;
  ImageDataset set(int64_t count) const {
    ImageDataset d;
    d.count = count;
    d.images = std::span<const uint8_t>(images.data(), static_cast<size_t>(count) * 784);
    d.labels = std::span<const uint8_t>(labels.data(), static_cast<size_t>(count));
    return d;
  }
};

Subset subset(const std::string& stem) {
  const std::string base = std::string(QL_SOURCE_DIR) + "/web/data/" + stem;
  Subset s{testing::read_file(base + ".images.u8"), testing::read_file(base + ".labels.u8")};
  REQUIRE(!s.labels.empty());
  return s;
}

}  // namespace

TEST_CASE("Deep Compression of LeNet-300-100: every stage smaller, the file is the model",
          "[compressed]") {
  const Subset train = subset("fashion-train-6000"), test = subset("fashion-test-2000");
  auto net = network_from_onnx(testing::demo_model("lenet300"));
  REQUIRE(net.is_ok());
  DeepCompressionOptions o;
  o.layers = {{"fc1.weight", 0.94, 5, -1}, {"fc2.weight", 0.9, 5, 0}, {"fc3.weight", 0.7, 4, 0}};
  o.prune_steps = 2;
  o.retrain_epochs = 1;
  o.quantized_epochs = 1;
  o.train.max_steps = 15;  // a taste of retraining: the accuracy targets are the benchmark's
  std::vector<std::string> stages_seen;
  auto r = deep_compression(*net, train.set(2000), test.set(1000), o, [&](const Progress& p) {
    if (stages_seen.empty() || stages_seen.back() != p.stage) stages_seen.emplace_back(p.stage);
  });
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  REQUIRE(r->stages.size() == 4);
  const char* names[] = {"fp32", "pruned", "quantized", "huffman"};
  for (size_t i = 0; i < 4; ++i) REQUIRE(r->stages[i].stage == names[i]);
  REQUIRE(r->stages[0].bytes == 266610 * 4);
  for (size_t i = 1; i < 4; ++i) {
    INFO(r->stages[i].stage << ": " << r->stages[i].bytes << " B");
    REQUIRE(r->stages[i].bytes < r->stages[i - 1].bytes);
    REQUIRE(r->stages[i].ratio == Approx(static_cast<double>(r->stages[0].bytes) / static_cast<double>(r->stages[i].bytes)));
  }
  REQUIRE(r->stages[3].ratio > 35.0);
  REQUIRE(r->stages[0].accuracy > 85.0);
  // The decoded file computes what the fine-tuned network computes.
  REQUIRE(r->stages[3].accuracy == r->stages[2].accuracy);
  REQUIRE(r->stages[3].bytes == r->file.size());
  // Beside the Huffman file: the best coder's (rANS where smaller), never larger.
  REQUIRE(r->stages[3].entropy_bytes > 0);
  REQUIRE(r->stages[3].entropy_bytes <= r->stages[3].bytes);
  REQUIRE(r->stages[3].entropy_ratio == Approx(static_cast<double>(r->stages[0].bytes) / static_cast<double>(r->stages[3].entropy_bytes)));
  for (size_t i = 0; i < 3; ++i) REQUIRE(r->stages[i].entropy_bytes == 0);
  auto back = decode_compressed(r->file);
  REQUIRE(back.is_ok());
  for (const Parameter& p : net->params()) REQUIRE(back->network->param(p.name)->value == p.value);
  // Layers: pruned to plan, shared, accounted.
  REQUIRE(r->layers.size() == 3);
  for (const LayerReport& l : r->layers) {
    const Parameter& p = *net->param(l.param);
    REQUIRE(p.codebook.has_value());
    REQUIRE(l.bits == p.codebook->bits());
    REQUIRE(l.kept == static_cast<size_t>(std::count(p.mask.begin(), p.mask.end(), uint8_t{1})));
    REQUIRE(l.quantized_bytes < l.pruned_bytes);
    REQUIRE(l.huffman_bytes > 0);
    REQUIRE(l.entropy_bytes > 0);
    REQUIRE(l.entropy_bytes <= l.huffman_bytes);
  }
  REQUIRE(r->layers[0].kept == 235200 - static_cast<size_t>(std::llround(0.94 * 235200)));
  REQUIRE(r->layers[1].gap_bits == kGapBitsFc);
  // Progress came from every stage.
  REQUIRE(std::find(stages_seen.begin(), stages_seen.end(), "prune") != stages_seen.end());
  REQUIRE(std::find(stages_seen.begin(), stages_seen.end(), "train") != stages_seen.end());
  REQUIRE(std::find(stages_seen.begin(), stages_seen.end(), "k-means") != stages_seen.end());
  REQUIRE(std::find(stages_seen.begin(), stages_seen.end(), "encode") != stages_seen.end());
}

TEST_CASE("the storage account follows its definition", "[compressed]") {
  Network net({1, 4, 4}, 3);
  REQUIRE(net.add_flatten().is_ok());
  REQUIRE(net.add_linear("fc", 8).is_ok());
  const std::vector<LayerPlan> plan = {{"fc.weight", 0.75, 3, 4}};
  auto a = storage_account(net, plan);
  REQUIRE(a->fp32 == (128 + 8) * 4);
  REQUIRE(a->pruned == a->fp32);  // nothing pruned yet
  auto mask = magnitude_prune_mask(net.param("fc.weight")->value, 0.75);
  REQUIRE(net.set_mask("fc.weight", *mask).is_ok());
  KMeansOptions ko;
  ko.pinned_zero = true;
  auto cb = k_means_quantize(net.param("fc.weight")->value, 3, ko);
  REQUIRE(net.set_codebook("fc.weight", *cb).is_ok());
  a = storage_account(net, plan);
  const auto ri = *encode_relative_indices(*mask, 4);
  REQUIRE(a->pruned == sparse_storage(ri, 32).bytes + 8 * 4);
  REQUIRE(a->quantized == sparse_storage(ri, 3, 8 * 4).bytes + 8 * 4);
  REQUIRE(a->layers.size() == 1);
  REQUIRE(a->layers[0].kept == 32);
  DeepCompressionOptions bad;
  bad.layers = {{"nope", 0.5, 3, 0}};
  ImageDataset d;
  std::vector<uint8_t> img(16 * 2), lab(2);
  d.images = img;
  d.labels = lab;
  d.count = 2;
  d.height = d.width = 4;
  REQUIRE(deep_compression(net, d, d, bad).status().code() == ErrorCode::kInvalidArgument);
}
