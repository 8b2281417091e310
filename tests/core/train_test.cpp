// Training engine: gradients of every layer against central finite differences, BatchNorm
// folding, the ONNX bridge against PyTorch's logits and quantlab's runtime, SGD and Adam on
// a separable problem, determinism, pruning masks and codebook-shared weights kept through
// training, and retraining a pruned LeNet-300-100 on Fashion-MNIST.
#include "quantlab/train.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "compressed_test_util.hpp"
#include "quantlab/model.hpp"

using namespace quantlab;

namespace {

Tensor random_input(const Shape& sample, int64_t batch, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  Shape s = {batch};
  s.insert(s.end(), sample.begin(), sample.end());
  std::vector<float> v(static_cast<size_t>(batch) * [&] { size_t n = 1; for (auto x : sample) n *= static_cast<size_t>(x); return n; }());
  for (auto& x : v) x = d(rng);
  return Tensor::from<float>(s, std::move(v));
}

double loss_of(Network& net, const Tensor& x, const std::vector<uint8_t>& labels) {
  auto l = net.loss_and_gradients(x, labels);
  REQUIRE(l.is_ok());
  net.zero_grad();
  return *l;
}

/// Compares the analytic gradient of every trainable parameter (up to `per_param` entries
/// each) and of the input with central differences.
void check_gradients(Network& net, Tensor x, const std::vector<uint8_t>& labels, float eps,
                     double tol, size_t per_param = 24) {
  net.zero_grad();
  std::vector<float> dx;
  REQUIRE(net.loss_and_gradients(x, labels, &dx).is_ok());
  std::vector<std::vector<float>> grads;
  for (const auto& p : net.params()) grads.push_back(p.grad);
  net.zero_grad();
  std::mt19937 rng(99);
  size_t checked = 0;
  for (size_t pi = 0; pi < net.params().size(); ++pi) {
    Parameter& p = net.params()[pi];
    if (!p.trainable) continue;
    for (size_t t = 0; t < std::min(per_param, p.size()); ++t) {
      const size_t i = p.size() <= per_param ? t : rng() % p.size();
      const float keep = p.value[i];
      p.value[i] = keep + eps;
      const double up = loss_of(net, x, labels);
      p.value[i] = keep - eps;
      const double down = loss_of(net, x, labels);
      p.value[i] = keep;
      const double numeric = (up - down) / (2.0 * eps);
      INFO(p.name << "[" << i << "]: analytic " << grads[pi][i] << " numeric " << numeric);
      REQUIRE(std::abs(grads[pi][i] - numeric) <= tol * std::max(1.0, std::abs(numeric) * 10));
      ++checked;
    }
  }
  auto xs = x.data<float>();
  for (size_t t = 0; t < std::min<size_t>(per_param, xs.size()); ++t) {
    const size_t i = rng() % xs.size();
    const float keep = xs[i];
    xs[i] = keep + eps;
    const double up = loss_of(net, x, labels);
    xs[i] = keep - eps;
    const double down = loss_of(net, x, labels);
    xs[i] = keep;
    const double numeric = (up - down) / (2.0 * eps);
    INFO("input[" << i << "]: analytic " << dx[i] << " numeric " << numeric);
    REQUIRE(std::abs(dx[i] - numeric) <= tol * std::max(1.0, std::abs(numeric) * 10));
    ++checked;
  }
  REQUIRE(checked > 0);
}

Conv2dGeometry geometry(int64_t k, int64_t stride, int64_t pt, int64_t pl, int64_t pb, int64_t pr) {
  Conv2dGeometry g;
  g.kernel_h = g.kernel_w = k;
  g.stride_h = g.stride_w = stride;
  g.pad_top = pt;
  g.pad_left = pl;
  g.pad_bottom = pb;
  g.pad_right = pr;
  return g;
}

struct Fashion {
  std::vector<uint8_t> images, labels;
  ImageDataset set(int64_t count) const {
    ImageDataset d;
    d.count = count;
    d.images = std::span<const uint8_t>(images.data(), static_cast<size_t>(count) * 784);
    d.labels = std::span<const uint8_t>(labels.data(), static_cast<size_t>(count));
    return d;
  }
};

Fashion fashion(const std::string& stem) {
  const std::string base = std::string(QL_SOURCE_DIR) + "/web/data/" + stem;
  Fashion f{testing::read_file(base + ".images.u8"), testing::read_file(base + ".labels.u8")};
  INFO("Fashion-MNIST subset " << base << ".*.u8 (web/data/make_subsets.py)");
  REQUIRE(!f.images.empty());
  REQUIRE(f.images.size() == f.labels.size() * 784);
  return f;
}

std::vector<uint8_t> labels_of(size_t n, size_t classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> l(n);
  for (auto& x : l) x = static_cast<uint8_t>(rng() % classes);
  return l;
}

}  // namespace

TEST_CASE("gradients: Linear and softmax cross-entropy", "[train]") {
  Network net({6}, 1);
  REQUIRE(net.add_linear("fc1", 5).is_ok());
  REQUIRE(net.add_linear("fc2", 4).is_ok());
  check_gradients(net, random_input({6}, 3, 2), labels_of(3, 4, 3), 1e-2f, 2e-3);
}

TEST_CASE("gradients: Conv2d with stride and asymmetric padding", "[train]") {
  Network net({2, 7, 6}, 4);
  REQUIRE(net.add_conv2d("conv1", 3, geometry(3, 2, 1, 0, 2, 1)).is_ok());
  REQUIRE(net.output_shape() == Shape{3, 4, 3});
  REQUIRE(net.add_conv2d("conv2", 2, geometry(2, 1, 0, 0, 0, 0), {}, {}, false).is_ok());
  REQUIRE(net.add_flatten().is_ok());
  REQUIRE(net.add_linear("fc", 3).is_ok());
  check_gradients(net, random_input({2, 7, 6}, 2, 5), labels_of(2, 3, 6), 1e-2f, 2e-3);
}

TEST_CASE("gradients: BatchNorm, average pooling and global average pooling", "[train]") {
  Network net({3, 6, 6}, 7);
  REQUIRE(net.add_batch_norm("bn", {1.5f, 0.5f, -1.0f}, {0.1f, -0.2f, 0.3f}, {0.2f, -0.1f, 0.0f},
                             {0.5f, 2.0f, 1.0f}).is_ok());
  REQUIRE(net.add_avg_pool(2, 2).is_ok());
  REQUIRE(net.add_conv2d("conv", 4, geometry(3, 1, 1, 1, 1, 1)).is_ok());
  REQUIRE(net.add_global_avg_pool().is_ok());
  REQUIRE(net.add_flatten().is_ok());
  REQUIRE(net.add_linear("fc", 3).is_ok());
  check_gradients(net, random_input({3, 6, 6}, 2, 8), labels_of(2, 3, 9), 1e-2f, 2e-3);
}

TEST_CASE("gradients: ReLU and max pooling (inputs away from their kinks)", "[train]") {
  // Max pooling over distinct, well separated values, then ReLU of values away from 0:
  // a small perturbation changes no winner and no sign.
  Network net({2, 4, 4}, 11);
  REQUIRE(net.add_max_pool(2, 2).is_ok());
  REQUIRE(net.add_relu().is_ok());
  REQUIRE(net.add_flatten().is_ok());
  REQUIRE(net.add_linear("fc", 3).is_ok());
  std::vector<float> v(2 * 2 * 16);
  std::vector<int> perm(v.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937(12));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1f * static_cast<float>(perm[i]) - 3.05f;
  check_gradients(net, Tensor::from<float>({2, 2, 4, 4}, v), labels_of(2, 3, 13), 1e-3f, 2e-3, 64);
}

TEST_CASE("gradients: a whole LeNet-5-shaped network", "[train]") {
  Network net({1, 12, 12}, 21);
  REQUIRE(net.add_conv2d("conv1", 3, geometry(3, 1, 1, 1, 1, 1)).is_ok());
  REQUIRE(net.add_relu().is_ok());
  REQUIRE(net.add_max_pool(2, 2).is_ok());
  REQUIRE(net.add_conv2d("conv2", 4, geometry(3, 1, 0, 0, 0, 0)).is_ok());
  REQUIRE(net.add_relu().is_ok());
  REQUIRE(net.add_max_pool(2, 2).is_ok());
  REQUIRE(net.add_flatten().is_ok());
  REQUIRE(net.add_linear("fc1", 8).is_ok());
  REQUIRE(net.add_relu().is_ok());
  REQUIRE(net.add_linear("fc2", 5).is_ok());
  // Small steps keep the ReLUs and pooling winners fixed; the loss is evaluated in float,
  // so the tolerance is looser.
  check_gradients(net, random_input({1, 12, 12}, 3, 22), labels_of(3, 5, 23), 2e-3f, 5e-3, 12);
}

TEST_CASE("BatchNorm folding keeps the outputs", "[train]") {
  Network net({2, 5, 5}, 31);
  REQUIRE(net.add_conv2d("conv", 3, geometry(3, 1, 1, 1, 1, 1), {}, {}, false).is_ok());
  REQUIRE(net.add_batch_norm("bn", {1.5f, 0.5f, 2.0f}, {0.1f, -0.2f, 0.3f}, {0.2f, -0.1f, 0.4f},
                             {0.5f, 2.0f, 1.0f}).is_ok());
  REQUIRE(net.add_relu().is_ok());
  REQUIRE(net.add_flatten().is_ok());
  REQUIRE(net.add_linear("fc", 4).is_ok());
  REQUIRE(net.add_batch_norm("bn_fc", {0.7f, 1.1f, 0.9f, 1.3f}).is_ok());
  const Tensor x = random_input({2, 5, 5}, 4, 32);
  auto before = net.forward(x);
  auto folded = net.fold_batch_norm();
  REQUIRE(folded.is_ok());
  REQUIRE(*folded == 2);
  REQUIRE(net.layers().size() == 4);
  REQUIRE(net.param("bn.weight") == nullptr);
  REQUIRE(net.param("conv.bias") != nullptr);
  auto after = net.forward(x);
  for (size_t i = 0; i < before->size(); ++i) {
    REQUIRE(after->data<float>()[i] == Approx(before->data<float>()[i]).margin(1e-5));
  }
}

TEST_CASE("ONNX bridge: the demo models reproduce PyTorch's logits and the runtime", "[train]") {
  const Fashion test = fashion("fashion-test-2000");
  for (const char* name : {"lenet300", "lenet5", "cnn_bn"}) {
    INFO(name);
    const OnnxModel onnx = testing::demo_model(name);
    auto net = network_from_onnx(onnx);
    INFO(net.status().to_string());
    REQUIRE(net.is_ok());
    REQUIRE((net->param("fc3.weight") != nullptr || net->param("fc.weight") != nullptr));
    // Logits of the first 100 test images, as PyTorch computed them.
    const std::vector<uint8_t> raw = testing::read_file(std::string(QL_SOURCE_DIR) + "/web/models/" + name + ".logits100.f32");
    REQUIRE(raw.size() == 4000);
    std::vector<float> want(1000);
    std::memcpy(want.data(), raw.data(), 4000);
    auto x = dataset_batch(test.set(2000), 0, 100);
    REQUIRE(x.is_ok());
    auto logits = net->forward(*x);
    REQUIRE(logits.is_ok());
    double max_diff = 0;
    for (size_t i = 0; i < 1000; ++i) max_diff = std::max(max_diff, std::abs(static_cast<double>(logits->data<float>()[i]) - want[i]));
    REQUIRE(max_diff < 1e-4);
    // Predictions on 500 test images equal PyTorch's.
    const std::vector<uint8_t> pred = testing::read_file(std::string(QL_SOURCE_DIR) + "/web/models/" + name + ".pred.u8");
    auto ev = evaluate(*net, test.set(500));
    REQUIRE(ev.is_ok());
    size_t agree = 0;
    for (size_t i = 0; i < 500; ++i) agree += ev->predictions[i] == pred[i];
    REQUIRE(agree == 500);
    // Exported back to ONNX (BatchNorm folded), quantlab's runtime computes the same logits.
    REQUIRE(net->fold_batch_norm().is_ok());
    auto exported = network_to_onnx(*net);
    REQUIRE(exported.is_ok());
    auto model = Model::from_onnx(*exported);
    INFO(model.status().to_string());
    REQUIRE(model.is_ok());
    auto run = model->run(std::vector<Tensor>{*x});
    REQUIRE(run.is_ok());
    auto mine = net->forward(*x);
    for (size_t i = 0; i < 1000; ++i) {
      REQUIRE((*run)[0].data<float>()[i] == Approx(mine->data<float>()[i]).margin(1e-4));
    }
  }
}

TEST_CASE("SGD and Adam learn a separable problem, deterministically", "[train]") {
  // Four Gaussian blobs in 8 dimensions, as 1x8 "images" of bytes.
  std::mt19937 rng(41);
  std::normal_distribution<float> noise(0.0f, 12.0f);
  const int64_t n = 400;
  std::vector<uint8_t> images(static_cast<size_t>(n) * 8), labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 4);
    labels[static_cast<size_t>(i)] = static_cast<uint8_t>(c);
    for (int j = 0; j < 8; ++j) {
      const float center = (j % 4 == c) ? 200.0f : 60.0f;
      images[static_cast<size_t>(i * 8 + j)] = static_cast<uint8_t>(std::clamp(center + noise(rng), 0.0f, 255.0f));
    }
  }
  ImageDataset data;
  data.images = images;
  data.labels = labels;
  data.count = n;
  data.height = 1;
  data.width = 8;
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    std::vector<std::vector<float>> finals;
    for (int run = 0; run < 2; ++run) {
      Network net({1, 1, 8}, 42);
      REQUIRE(net.add_flatten().is_ok());
      REQUIRE(net.add_linear("fc1", 16).is_ok());
      REQUIRE(net.add_relu().is_ok());
      REQUIRE(net.add_linear("fc2", 4).is_ok());
      TrainOptions o;
      o.optimizer = opt;
      o.learning_rate = opt == OptimizerKind::kSgd ? 0.05f : 0.01f;
      o.epochs = 8;
      o.batch_size = 32;
      o.seed = 3;
      o.cosine_decay = run == 0 ? false : false;
      Trainer trainer(net, o);
      int64_t reports = 0;
      auto stats = trainer.fit(data, [&](const Progress& p) {
        ++reports;
        REQUIRE(std::string(p.stage) == "train");
      });
      REQUIRE(stats.is_ok());
      REQUIRE(stats->steps == 8 * 13);
      REQUIRE(reports > 0);
      REQUIRE(stats->epoch_loss.back() < 0.25 * stats->epoch_loss.front());
      auto ev = evaluate(net, data);
      REQUIRE(ev->accuracy >= 99.0);
      finals.push_back(net.param("fc2.weight")->value);
    }
    REQUIRE(finals[0] == finals[1]);  // same seed, same result, bit for bit
  }
}

TEST_CASE("pruning masks and shared weights survive training", "[train]") {
  Network net({10}, 51);
  REQUIRE(net.add_linear("fc1", 12).is_ok());
  REQUIRE(net.add_relu().is_ok());
  REQUIRE(net.add_linear("fc2", 3).is_ok());
  const Tensor x = random_input({10}, 16, 52);
  const std::vector<uint8_t> y = labels_of(16, 3, 53);
  // fc1: 70% pruned, then a pinned-zero 2-bit codebook over what is left.
  auto mask = magnitude_prune_mask(net.param("fc1.weight")->value, 0.7);
  REQUIRE(net.set_mask("fc1.weight", *mask).is_ok());
  KMeansOptions ko;
  ko.method = KMeansMethod::kOptimal;
  ko.pinned_zero = true;
  auto cb = k_means_quantize(net.param("fc1.weight")->value, 2, ko);
  REQUIRE(net.set_codebook("fc1.weight", *cb).is_ok());
  // fc2: pruned only.
  auto mask2 = magnitude_prune_mask(net.param("fc2.weight")->value, 0.5);
  REQUIRE(net.set_mask("fc2.weight", *mask2).is_ok());
  const std::vector<float> fc2_before = net.param("fc2.weight")->value;
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    TrainOptions o;
    o.optimizer = opt;
    o.learning_rate = 0.01f;
    o.weight_decay = 1e-3f;
    Trainer trainer(net, o);
    const double first = *trainer.step(x, y);
    double last = first;
    for (int i = 0; i < 30; ++i) last = *trainer.step(x, y);
    REQUIRE(last < first);
    const Parameter& w1 = *net.param("fc1.weight");
    REQUIRE(w1.codebook.has_value());
    REQUIRE(w1.codebook->centroids[0] == 0.0f);
    std::set<float> distinct(w1.value.begin(), w1.value.end());
    REQUIRE(distinct.size() <= 4);
    for (size_t i = 0; i < w1.size(); ++i) {
      REQUIRE(w1.value[i] == w1.codebook->centroids[static_cast<size_t>(w1.codebook->labels[i])]);
      if (!(*mask)[i]) REQUIRE(w1.value[i] == 0.0f);
    }
    const Parameter& w2 = *net.param("fc2.weight");
    size_t moved = 0;
    for (size_t i = 0; i < w2.size(); ++i) {
      if (!(*mask2)[i]) REQUIRE(w2.value[i] == 0.0f);
      else moved += w2.value[i] != fc2_before[i];
    }
    REQUIRE(moved > 0);
  }
  // The centroids moved away from their k-means values.
  REQUIRE(net.param("fc1.weight")->codebook->centroids != cb->centroids);
}

TEST_CASE("retraining a pruned LeNet-300-100 recovers its accuracy", "[train]") {
  const Fashion train = fashion("fashion-train-6000");
  const Fashion test = fashion("fashion-test-2000");
  auto net = network_from_onnx(testing::demo_model("lenet300"));
  REQUIRE(net.is_ok());
  const ImageDataset eval_set = test.set(1000);
  const double dense = evaluate(*net, eval_set)->accuracy;
  REQUIRE(dense > 85.0);
  for (const char* p : {"fc1.weight", "fc2.weight", "fc3.weight"}) {
    auto m = magnitude_prune_mask(net->param(p)->value, 0.95);
    REQUIRE(net->set_mask(p, *m).is_ok());
  }
  const double pruned = evaluate(*net, eval_set)->accuracy;
  TrainOptions o;
  o.optimizer = OptimizerKind::kAdam;
  o.learning_rate = 1e-3f;
  o.batch_size = 64;
  o.epochs = 1;
  o.seed = 1;
  Trainer trainer(*net, o);
  auto stats = trainer.fit(train.set(1500));
  REQUIRE(stats.is_ok());
  const double retrained = evaluate(*net, eval_set)->accuracy;
  INFO("dense " << dense << " pruned " << pruned << " retrained " << retrained);
  REQUIRE(pruned < dense - 2.0);
  REQUIRE(retrained > pruned + 2.0);
  for (const char* p : {"fc1.weight", "fc2.weight", "fc3.weight"}) {
    REQUIRE(std::count(net->param(p)->value.begin(), net->param(p)->value.end(), 0.0f) >=
            static_cast<long>(0.95 * static_cast<double>(net->param(p)->size())) - 1);
  }
}

TEST_CASE("the training engine rejects invalid input", "[train]") {
  Network net({4}, 1);
  REQUIRE(net.add_relu("r").is_ok());
  REQUIRE(net.add_relu("r").code() == ErrorCode::kInvalidArgument);  // duplicate name
  REQUIRE(net.add_conv2d("c", 2, geometry(3, 1, 0, 0, 0, 0)).code() == ErrorCode::kShapeMismatch);
  REQUIRE(net.add_linear("fc", 3, std::vector<float>(5)).code() == ErrorCode::kShapeMismatch);
  REQUIRE(net.add_linear("fc", 3).is_ok());
  REQUIRE(net.forward(random_input({5}, 1, 1)).status().code() == ErrorCode::kShapeMismatch);
  REQUIRE(net.loss_and_gradients(random_input({4}, 2, 1), std::vector<uint8_t>{0}).status().code() ==
          ErrorCode::kShapeMismatch);
  REQUIRE(net.loss_and_gradients(random_input({4}, 1, 1), std::vector<uint8_t>{3}).status().code() ==
          ErrorCode::kOutOfRange);
  REQUIRE(net.set_mask("nope", {}).code() == ErrorCode::kInvalidArgument);
  REQUIRE(net.set_mask("fc.weight", PruneMask(3, 1)).code() == ErrorCode::kShapeMismatch);
  ImageDataset bad;
  bad.count = 2;
  REQUIRE(validate_dataset(bad).code() == ErrorCode::kShapeMismatch);
  OnnxModel empty;
  REQUIRE(network_from_onnx(empty).status().code() == ErrorCode::kUnsupported);
}
