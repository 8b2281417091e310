// Training engine, the network: building layers (shapes, initialization, checks), forward
// and loss / gradients through train_layers.cpp, BatchNorm folding, masks and codebooks.
#include "quantlab/train.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "dc_random.hpp"
#include "train_internal.hpp"

namespace quantlab {

using namespace train_internal;

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::kLinear: return "Linear";
    case LayerKind::kConv2d: return "Conv2d";
    case LayerKind::kRelu: return "ReLU";
    case LayerKind::kMaxPool: return "MaxPool";
    case LayerKind::kAvgPool: return "AvgPool";
    case LayerKind::kGlobalAvgPool: return "GlobalAvgPool";
    case LayerKind::kFlatten: return "Flatten";
    case LayerKind::kBatchNorm: return "BatchNorm";
  }
  return "?";
}

// --- Network ----------------------------------------------------------------------------------

Network::Network(Shape input_shape, uint32_t seed) : input_shape_(std::move(input_shape)), seed_(seed) {}

const Shape& Network::output_shape() const {
  return layers_.empty() ? input_shape_ : layers_.back().output_shape;
}

Parameter* Network::param(std::string_view name) {
  for (auto& p : params_) if (p.name == name) return &p;
  return nullptr;
}

const Parameter* Network::param(std::string_view name) const {
  for (const auto& p : params_) if (p.name == name) return &p;
  return nullptr;
}

size_t Network::parameter_count() const {
  size_t n = 0;
  for (const auto& p : params_) n += p.size();
  return n;
}

Status Network::check_name(const std::string& name) const {
  if (name.empty()) return invalid_argument("a layer needs a name");
  for (const auto& l : layers_) {
    if (l.name == name) return invalid_argument("two layers are called '" + name + "'");
  }
  return Status::ok();
}

std::string Network::default_name(const char* prefix) const {
  for (size_t i = layers_.size();; ++i) {
    std::string n = std::string(prefix) + std::to_string(i);
    if (check_name(n).is_ok()) return n;
  }
}

int Network::add_param(std::string name, Shape shape, std::vector<float> value, bool trainable) {
  Parameter p;
  p.name = std::move(name);
  p.shape = std::move(shape);
  p.value = std::move(value);
  p.grad.assign(p.value.size(), 0.0f);
  p.trainable = trainable;
  params_.push_back(std::move(p));
  return static_cast<int>(params_.size() - 1);
}

Status Network::add_layer(Layer layer) {
  QL_RETURN_IF_ERROR(check_name(layer.name));
  layers_.push_back(std::move(layer));
  return Status::ok();
}

namespace {

std::vector<float> he_normal(size_t n, size_t fan_in, std::mt19937& rng) {
  std::vector<float> v(n);
  const double sd = std::sqrt(2.0 / static_cast<double>(fan_in));
  for (auto& x : v) x = static_cast<float>(sd * dc::normal01(rng));
  return v;
}

Status check_values(const std::vector<float>& v, size_t want, const std::string& what) {
  if (v.size() != want) {
    return shape_mismatch(what + " has " + std::to_string(v.size()) + " values, expected " + std::to_string(want));
  }
  for (float x : v) if (!std::isfinite(x)) return not_finite(what + " has a value that is not finite");
  return Status::ok();
}

}  // namespace

Status Network::add_linear(std::string name, int64_t out_features, std::vector<float> weight,
                           std::vector<float> bias) {
  QL_RETURN_IF_ERROR(check_name(name));
  const Shape& cur = output_shape();
  if (cur.size() != 1) {
    return shape_mismatch("Linear '" + name + "' needs a flat input, got " + shape_string(cur) + " (add a Flatten)");
  }
  if (out_features < 1) return invalid_argument("Linear '" + name + "': out_features must be >= 1");
  const size_t in = static_cast<size_t>(cur[0]), out = static_cast<size_t>(out_features);
  if (weight.empty()) {
    std::mt19937 rng(seed_ + 7919u * ++init_count_);
    weight = he_normal(in * out, in, rng);
  }
  if (bias.empty()) bias.assign(out, 0.0f);
  QL_RETURN_IF_ERROR(check_values(weight, in * out, "Linear '" + name + "' weight"));
  QL_RETURN_IF_ERROR(check_values(bias, out, "Linear '" + name + "' bias"));
  Layer l;
  l.kind = LayerKind::kLinear;
  l.name = name;
  l.input_shape = cur;
  l.output_shape = {out_features};
  l.params = {add_param(name + ".weight", {out_features, cur[0]}, std::move(weight)),
              add_param(name + ".bias", {out_features}, std::move(bias))};
  return add_layer(std::move(l));
}

Status Network::add_conv2d(std::string name, int64_t out_channels, const Conv2dGeometry& g,
                           std::vector<float> weight, std::vector<float> bias, bool has_bias) {
  QL_RETURN_IF_ERROR(check_name(name));
  const Shape& cur = output_shape();
  if (cur.size() != 3) return shape_mismatch("Conv2d '" + name + "' needs a [C, H, W] input, got " + shape_string(cur));
  if (g.groups != 1 || g.dilation_h != 1 || g.dilation_w != 1) {
    return unsupported("Conv2d '" + name + "': training supports groups = 1 and dilation = 1");
  }
  if (out_channels < 1) return invalid_argument("Conv2d '" + name + "': out_channels must be >= 1");
  auto hw = conv2d_output_size(cur[1], cur[2], g);
  if (!hw) return Status(hw.status().code(), "Conv2d '" + name + "': " + hw.status().message());
  const size_t k = static_cast<size_t>(cur[0] * g.kernel_h * g.kernel_w);
  const size_t n = static_cast<size_t>(out_channels) * k;
  if (weight.empty()) {
    std::mt19937 rng(seed_ + 7919u * ++init_count_);
    weight = he_normal(n, k, rng);
  }
  QL_RETURN_IF_ERROR(check_values(weight, n, "Conv2d '" + name + "' weight"));
  Layer l;
  l.kind = LayerKind::kConv2d;
  l.name = name;
  l.conv = g;
  l.input_shape = cur;
  l.output_shape = {out_channels, hw->first, hw->second};
  l.params.push_back(add_param(name + ".weight", {out_channels, cur[0], g.kernel_h, g.kernel_w}, std::move(weight)));
  if (has_bias) {
    if (bias.empty()) bias.assign(static_cast<size_t>(out_channels), 0.0f);
    Status st = check_values(bias, static_cast<size_t>(out_channels), "Conv2d '" + name + "' bias");
    if (!st) {
      params_.pop_back();
      return st;
    }
    l.params.push_back(add_param(name + ".bias", {out_channels}, std::move(bias)));
  } else {
    l.params.push_back(-1);
  }
  return add_layer(std::move(l));
}

Status Network::add_relu(std::string name) {
  Layer l;
  l.kind = LayerKind::kRelu;
  l.name = name.empty() ? default_name("relu") : name;
  l.input_shape = l.output_shape = output_shape();
  return add_layer(std::move(l));
}

Status Network::add_max_pool(int64_t kernel, int64_t stride, std::string name) {
  const Shape& cur = output_shape();
  if (name.empty()) name = default_name("maxpool");
  if (cur.size() != 3) return shape_mismatch("MaxPool '" + name + "' needs a [C, H, W] input, got " + shape_string(cur));
  if (kernel < 1 || stride < 1 || cur[1] < kernel || cur[2] < kernel) {
    return invalid_argument("MaxPool '" + name + "': kernel " + std::to_string(kernel) + " stride " +
                            std::to_string(stride) + " does not fit " + shape_string(cur));
  }
  Layer l;
  l.kind = LayerKind::kMaxPool;
  l.name = name;
  l.pool_kernel = kernel;
  l.pool_stride = stride;
  l.input_shape = cur;
  l.output_shape = {cur[0], (cur[1] - kernel) / stride + 1, (cur[2] - kernel) / stride + 1};
  return add_layer(std::move(l));
}

Status Network::add_avg_pool(int64_t kernel, int64_t stride, std::string name) {
  if (name.empty()) name = default_name("avgpool");
  QL_RETURN_IF_ERROR(add_max_pool(kernel, stride, name));
  layers_.back().kind = LayerKind::kAvgPool;
  return Status::ok();
}

Status Network::add_global_avg_pool(std::string name) {
  const Shape& cur = output_shape();
  if (name.empty()) name = default_name("gap");
  if (cur.size() != 3) return shape_mismatch("GlobalAvgPool '" + name + "' needs a [C, H, W] input, got " + shape_string(cur));
  Layer l;
  l.kind = LayerKind::kGlobalAvgPool;
  l.name = name;
  l.input_shape = cur;
  l.output_shape = {cur[0], 1, 1};
  return add_layer(std::move(l));
}

Status Network::add_flatten(std::string name) {
  Layer l;
  l.kind = LayerKind::kFlatten;
  l.name = name.empty() ? default_name("flatten") : name;
  l.input_shape = output_shape();
  l.output_shape = {static_cast<int64_t>(numel(l.input_shape))};
  return add_layer(std::move(l));
}

Status Network::add_batch_norm(std::string name, std::vector<float> scale, std::vector<float> bias,
                               std::vector<float> mean, std::vector<float> var, float eps) {
  QL_RETURN_IF_ERROR(check_name(name));
  const Shape& cur = output_shape();
  if (cur.empty()) return shape_mismatch("BatchNorm '" + name + "' needs an input with channels");
  if (!(eps > 0.0f)) return invalid_argument("BatchNorm '" + name + "': eps must be > 0");
  const size_t c = static_cast<size_t>(cur[0]);
  if (scale.empty()) scale.assign(c, 1.0f);
  if (bias.empty()) bias.assign(c, 0.0f);
  if (mean.empty()) mean.assign(c, 0.0f);
  if (var.empty()) var.assign(c, 1.0f);
  QL_RETURN_IF_ERROR(check_values(scale, c, "BatchNorm '" + name + "' scale"));
  QL_RETURN_IF_ERROR(check_values(bias, c, "BatchNorm '" + name + "' bias"));
  QL_RETURN_IF_ERROR(check_values(mean, c, "BatchNorm '" + name + "' mean"));
  QL_RETURN_IF_ERROR(check_values(var, c, "BatchNorm '" + name + "' var"));
  for (float v : var) if (v < 0.0f) return invalid_argument("BatchNorm '" + name + "': a variance is negative");
  Layer l;
  l.kind = LayerKind::kBatchNorm;
  l.name = name;
  l.eps = eps;
  l.input_shape = l.output_shape = cur;
  const int64_t C = cur[0];
  l.params = {add_param(name + ".weight", {C}, std::move(scale)), add_param(name + ".bias", {C}, std::move(bias)),
              add_param(name + ".running_mean", {C}, std::move(mean), false),
              add_param(name + ".running_var", {C}, std::move(var), false)};
  return add_layer(std::move(l));
}

Result<Tensor> Network::forward(const Tensor& x) const {
  auto B = batch_of(*this, x);
  if (!B) return B.status();
  Pass pass = run_forward(*this, x, *B, false);
  Shape shape = {static_cast<int64_t>(*B)};
  for (int64_t d : output_shape()) shape.push_back(d);
  return Tensor::from<float>(shape, std::move(pass.acts.back()));
}

Result<double> Network::loss_and_gradients(const Tensor& x, std::span<const uint8_t> labels,
                                           std::vector<float>* input_grad) {
  auto B = batch_of(*this, x);
  if (!B) return B.status();
  const size_t C = numel(output_shape());
  if (output_shape().size() != 1) {
    return shape_mismatch("the network's output " + shape_string(output_shape()) + " is not a vector of logits");
  }
  QL_RETURN_IF_ERROR(check_labels(labels, *B, C));
  Pass pass = run_forward(*this, x, *B, true);
  std::vector<float> dy;
  const double loss = softmax_cross_entropy(pass.acts.back(), *B, C, labels, &dy, nullptr);
  for (size_t li = layers_.size(); li-- > 0;) {
    const bool need_dx = li > 0 || input_grad != nullptr;
    std::vector<float> dx;
    if (need_dx) dx.assign(pass.acts[li].size(), 0.0f);
    backward_layer(*this, li, pass, dy, dx, need_dx);
    dy = std::move(dx);
  }
  if (input_grad) *input_grad = std::move(dy);
  return loss;
}

void Network::zero_grad() {
  for (auto& p : params_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

Result<int> Network::fold_batch_norm() {
  int folded = 0;
  for (size_t li = 1; li < layers_.size(); ++li) {
    if (layers_[li].kind != LayerKind::kBatchNorm) continue;
    Layer& prev = layers_[li - 1];
    if (prev.kind != LayerKind::kConv2d && prev.kind != LayerKind::kLinear) continue;
    Parameter& w = params_[static_cast<size_t>(prev.params[0])];
    if (!w.mask.empty() || w.codebook) {
      return unsupported("fold_batch_norm: '" + prev.name + "' is pruned or shared; fold before compressing");
    }
    const Layer bn = layers_[li];
    // Copies: add_param below may move the parameters.
    const std::vector<float> g = params_[static_cast<size_t>(bn.params[0])].value;
    const std::vector<float> be = params_[static_cast<size_t>(bn.params[1])].value;
    const std::vector<float> mu = params_[static_cast<size_t>(bn.params[2])].value;
    const std::vector<float> var = params_[static_cast<size_t>(bn.params[3])].value;
    const size_t C = g.size(), per = w.value.size() / C;
    if (prev.params[1] < 0) {
      const int b = add_param(prev.name + ".bias", {static_cast<int64_t>(C)}, std::vector<float>(C, 0.0f));
      layers_[li - 1].params[1] = b;
    }
    Parameter& wp = params_[static_cast<size_t>(layers_[li - 1].params[0])];
    Parameter& bp = params_[static_cast<size_t>(layers_[li - 1].params[1])];
    for (size_t c = 0; c < C; ++c) {
      const float s = g[c] / std::sqrt(var[c] + bn.eps);
      for (size_t i = 0; i < per; ++i) wp.value[c * per + i] *= s;
      bp.value[c] = (bp.value[c] - mu[c]) * s + be[c];
    }
    // Remove the BatchNorm layer and its four parameters (renumbering the rest).
    std::vector<int> gone(bn.params.begin(), bn.params.end());
    std::vector<int> remap(params_.size(), -1);
    std::vector<Parameter> kept;
    for (size_t p = 0; p < params_.size(); ++p) {
      if (std::find(gone.begin(), gone.end(), static_cast<int>(p)) != gone.end()) continue;
      remap[p] = static_cast<int>(kept.size());
      kept.push_back(std::move(params_[p]));
    }
    params_ = std::move(kept);
    layers_.erase(layers_.begin() + static_cast<std::ptrdiff_t>(li));
    for (auto& l : layers_) {
      for (int& p : l.params) if (p >= 0) p = remap[static_cast<size_t>(p)];
    }
    ++folded;
    --li;
  }
  return folded;
}

Status Network::set_mask(std::string_view name, PruneMask mask) {
  Parameter* p = param(name);
  if (!p) return invalid_argument("set_mask: no parameter '" + std::string(name) + "'");
  if (mask.size() != p->size()) {
    return shape_mismatch("set_mask: '" + p->name + "' has " + std::to_string(p->size()) + " values, the mask " +
                          std::to_string(mask.size()));
  }
  QL_RETURN_IF_ERROR(apply_mask(p->value, mask));
  if (p->codebook && p->codebook->pinned_zero) {
    for (size_t i = 0; i < mask.size(); ++i) if (!mask[i]) p->codebook->labels[i] = 0;
  }
  p->mask = std::move(mask);
  return Status::ok();
}

Status Network::set_codebook(std::string_view name, Codebook cb) {
  Parameter* p = param(name);
  if (!p) return invalid_argument("set_codebook: no parameter '" + std::string(name) + "'");
  auto dense = codebook_weights(cb);
  if (!dense) return dense.status();
  if (dense->size() != p->size()) {
    return shape_mismatch("set_codebook: '" + p->name + "' has " + std::to_string(p->size()) + " values, the codebook " +
                          std::to_string(dense->size()) + " labels");
  }
  if (!p->mask.empty()) {
    for (size_t i = 0; i < p->mask.size(); ++i) {
      if (!p->mask[i] && (*dense)[i] != 0.0f) {
        return invalid_argument("set_codebook: pruned weight " + std::to_string(i) + " of '" + p->name +
                                "' would not be 0 (use a pinned-zero codebook)");
      }
    }
  }
  p->value = std::move(dense).value();
  p->codebook = std::move(cb);
  return Status::ok();
}

Status Network::clear_codebook(std::string_view name) {
  Parameter* p = param(name);
  if (!p) return invalid_argument("clear_codebook: no parameter '" + std::string(name) + "'");
  p->codebook.reset();
  return Status::ok();
}

}  // namespace quantlab
