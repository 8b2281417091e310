// Layout, resize and ConvTranspose operators beyond ONNX's node cases (issue 10): ConvTranspose
// with groups, strides, dilations, pads and output_padding against a naive scatter reference
// over awkward sizes; Split keeping a symbolic batch; Pad with negative pads; Resize from
// constant scales inferring its output dims; and load-time folding of constant inputs.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;

namespace {

OnnxValueInfo value(const std::string& name, std::vector<OnnxDim> dims, int32_t elem = 1) {
  OnnxValueInfo v;
  v.name = name;
  v.elem_type = elem;
  v.has_shape = true;
  v.dims = std::move(dims);
  return v;
}

std::vector<OnnxDim> fixed(std::vector<int64_t> dims) {
  std::vector<OnnxDim> d;
  for (int64_t v : dims) d.push_back({v, ""});
  return d;
}

OnnxModel graph_of(int64_t opset, std::vector<OnnxValueInfo> inputs, std::vector<std::string> outputs,
                   std::vector<OnnxNode> nodes, std::vector<OnnxTensor> inits = {}) {
  OnnxModel m;
  m.opset_imports = {{"", opset}};
  m.graph.inputs = std::move(inputs);
  for (const auto& o : outputs) {
    OnnxValueInfo v;
    v.name = o;
    m.graph.outputs.push_back(v);
  }
  m.graph.nodes = std::move(nodes);
  m.graph.initializers = std::move(inits);
  return m;
}

OnnxNode node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
              std::vector<OnnxAttribute> attrs = {}) {
  OnnxNode n;
  n.name = op;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

/// Naive ConvTranspose-2d: every input pixel scatters its kernel-weighted value.
std::vector<float> conv_transpose_ref(const std::vector<float>& x, const std::vector<float>& w,
                                      const std::vector<float>& b, int64_t n, int64_t ci, int64_t h,
                                      int64_t wd, int64_t cog, int64_t g, int64_t k, int64_t s,
                                      int64_t d, int64_t p, int64_t op, int64_t& oh, int64_t& ow) {
  oh = s * (h - 1) + op + (k - 1) * d + 1 - 2 * p;
  ow = s * (wd - 1) + op + (k - 1) * d + 1 - 2 * p;
  const int64_t co = cog * g, cig = ci / g;
  std::vector<float> y(static_cast<size_t>(n * co * oh * ow), 0.0f);
  for (int64_t bi = 0; bi < n; ++bi)
    for (int64_t c = 0; c < co; ++c)
      for (int64_t i = 0; i < oh * ow; ++i) y[static_cast<size_t>((bi * co + c) * oh * ow + i)] = b[static_cast<size_t>(c)];
  for (int64_t bi = 0; bi < n; ++bi)
    for (int64_t c = 0; c < ci; ++c) {
      const int64_t gi = c / cig;
      for (int64_t ih = 0; ih < h; ++ih)
        for (int64_t iw = 0; iw < wd; ++iw) {
          const float xv = x[static_cast<size_t>(((bi * ci + c) * h + ih) * wd + iw)];
          for (int64_t o = 0; o < cog; ++o)
            for (int64_t kh = 0; kh < k; ++kh)
              for (int64_t kw = 0; kw < k; ++kw) {
                const int64_t yh = ih * s - p + kh * d, yw = iw * s - p + kw * d;
                if (yh < 0 || yh >= oh || yw < 0 || yw >= ow) continue;
                const float wv = w[static_cast<size_t>(((c * cog + o) * k + kh) * k + kw)];
                y[static_cast<size_t>(((bi * co + gi * cog + o) * oh + yh) * ow + yw)] += xv * wv;
              }
        }
    }
  return y;
}

}  // namespace

TEST_CASE("ConvTranspose matches a naive scatter over groups, strides, dilations and pads",
          "[onnx][convtranspose]") {
  struct Case {
    int64_t ci, cog, g, h, w, k, s, d, p, op;
  };
  const Case cases[] = {{1, 1, 1, 1, 1, 1, 1, 1, 0, 0},  {3, 2, 1, 5, 7, 3, 2, 1, 1, 1},
                        {4, 3, 2, 6, 5, 2, 2, 1, 0, 0},  {6, 1, 6, 4, 4, 3, 1, 2, 1, 0},
                        {5, 17, 1, 3, 9, 4, 3, 1, 2, 2}, {8, 4, 2, 7, 3, 3, 2, 2, 1, 1}};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    INFO("ci " << c.ci << " cog " << c.cog << " g " << c.g << " " << c.h << "x" << c.w << " k " << c.k
               << " s " << c.s << " d " << c.d << " p " << c.p << " op " << c.op);
    const int64_t n = 2;
    const auto xv = random_values(static_cast<size_t>(n * c.ci * c.h * c.w), seed++);
    const auto wv = random_values(static_cast<size_t>(c.ci * c.cog * c.k * c.k), seed++);
    const auto bv = random_values(static_cast<size_t>(c.cog * c.g), seed++);
    int64_t oh = 0, ow = 0;
    const auto want = conv_transpose_ref(xv, wv, bv, n, c.ci, c.h, c.w, c.cog, c.g, c.k, c.s, c.d,
                                         c.p, c.op, oh, ow);
    OnnxModel m = graph_of(
        11, {value("x", {{-1, "N"}, {c.ci, ""}, {c.h, ""}, {c.w, ""}})}, {"y"},
        {node("ConvTranspose", {"x", "w", "b"}, {"y"},
              {OnnxAttribute::make_int("group", c.g), OnnxAttribute::make_ints("strides", {c.s, c.s}),
               OnnxAttribute::make_ints("dilations", {c.d, c.d}), OnnxAttribute::make_ints("pads", {c.p, c.p, c.p, c.p}),
               OnnxAttribute::make_ints("output_padding", {c.op, c.op})})},
        {{"w", Tensor::from<float>({c.ci, c.cog, c.k, c.k}, wv)},
         {"b", Tensor::from<float>({c.cog * c.g}, bv)}});
    auto model = Model::from_onnx(m);
    REQUIRE(model.is_ok());
    CHECK(model->dim_name(model->outputs()[0].dims[0]) == "N");
    CHECK(model->outputs()[0].dims[2] == oh);
    const Tensor x = Tensor::from<float>({n, c.ci, c.h, c.w}, xv);
    auto out = model->run({&x, 1});
    REQUIRE(out.is_ok());
    const Tensor& y = (*out)[0];
    REQUIRE(y.shape() == Shape{n, c.cog * c.g, oh, ow});
    double worst = 0.0;
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::max(worst, std::fabs(double(y.data<float>()[i]) - double(want[i])));
    }
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("Split keeps the symbolic batch and splits channels as the constant input says",
          "[onnx][layout]") {
  OnnxModel m = graph_of(13, {value("x", {{-1, "N"}, {5, ""}, {2, ""}})}, {"a", "b"},
                         {node("Split", {"x", "split"}, {"a", "b"}, {OnnxAttribute::make_int("axis", 1)})},
                         {{"split", Tensor::from<int64_t>({2}, {2, 3})}});
  auto model = Model::from_onnx(m);
  REQUIRE(model.is_ok());
  CHECK(model->shape_string(model->outputs()[0]) == "[N, 2, 2]");
  CHECK(model->shape_string(model->outputs()[1]) == "[N, 3, 2]");
  std::vector<float> v(20);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  const Tensor x = Tensor::from<float>({2, 5, 2}, v);
  auto out = model->run({&x, 1});
  REQUIRE(out.is_ok());
  CHECK((*out)[0].data<float>()[0] == 0.0f);
  CHECK((*out)[1].data<float>()[0] == 4.0f);
  CHECK((*out)[1].data<float>()[6] == 14.0f);  // batch 1, channel 2 of b = channel 4 of x
}

TEST_CASE("Pad with negative pads crops; reflect and edge fill as numpy", "[onnx][layout]") {
  for (const std::string mode : {"constant", "reflect", "edge"}) {
    INFO(mode);
    OnnxModel m = graph_of(13, {value("x", fixed({1, 5}))}, {"y"},
                           {node("Pad", {"x", "pads"}, {"y"}, {OnnxAttribute::make_string("mode", mode)})},
                           {{"pads", Tensor::from<int64_t>({4}, {0, 2, 0, -1})}});
    auto model = Model::from_onnx(m);
    REQUIRE(model.is_ok());
    CHECK(model->outputs()[0].dims == std::vector<int64_t>{1, 6});
    const Tensor x = Tensor::from<float>({1, 5}, {1, 2, 3, 4, 5});
    auto out = model->run({&x, 1});
    REQUIRE(out.is_ok());
    const auto y = (*out)[0].data<float>();
    const std::vector<float> want = mode == "constant"  ? std::vector<float>{0, 0, 1, 2, 3, 4}
                                    : mode == "reflect" ? std::vector<float>{3, 2, 1, 2, 3, 4}
                                                        : std::vector<float>{1, 1, 1, 2, 3, 4};
    CHECK(std::vector<float>(y.begin(), y.end()) == want);
  }
}

TEST_CASE("Resize with constant scales infers its output and keeps N; constant inputs fold",
          "[onnx][resize]") {
  OnnxModel m = graph_of(
      13, {value("x", {{-1, "N"}, {2, ""}, {3, ""}, {4, ""}})}, {"y", "t"},
      {node("Resize", {"x", "", "scales"}, {"y"},
            {OnnxAttribute::make_string("mode", "linear"), OnnxAttribute::make_string("coordinate_transformation_mode", "pytorch_half_pixel")}),
       node("Tile", {"c", "reps"}, {"t"})},
      {{"scales", Tensor::from<float>({4}, {1, 1, 2, 2})},
       {"c", Tensor::from<float>({2}, {1, 2})},
       {"reps", Tensor::from<int64_t>({1}, {3})}});
  auto model = Model::from_onnx(m);
  REQUIRE(model.is_ok());
  CHECK(model->shape_string(model->outputs()[0]) == "[N, 2, 6, 8]");
  bool tile_folded = false;
  for (const LayerInfo& l : model->layers()) tile_folded |= l.op_type == "Tile" && l.folded;
  CHECK(tile_folded);
  const Tensor x = Tensor::from<float>({1, 2, 3, 4}, random_values(24, 7));
  auto out = model->run({&x, 1});
  REQUIRE(out.is_ok());
  CHECK((*out)[0].shape() == Shape{1, 2, 6, 8});
  const auto t = (*out)[1].data<float>();
  CHECK(std::vector<float>(t.begin(), t.end()) == std::vector<float>{1, 2, 1, 2, 1, 2});
}

TEST_CASE("Upsample-7 (scales attribute) and Resize-10 interpolate on asymmetric coordinates",
          "[onnx][resize]") {
  OnnxAttribute scales;
  scales.name = "scales";
  scales.type = OnnxAttributeType::kFloats;
  scales.floats = {1, 1, 1, 2};
  const Tensor x = Tensor::from<float>({1, 1, 1, 2}, {1, 2});
  for (const int64_t opset : {7, 10}) {
    INFO("opset " << opset);
    OnnxModel m =
        opset == 7
            ? graph_of(7, {value("x", fixed({1, 1, 1, 2}))}, {"y"},
                       {node("Upsample", {"x"}, {"y"}, {OnnxAttribute::make_string("mode", "linear"), scales})})
            : graph_of(10, {value("x", fixed({1, 1, 1, 2}))}, {"y"},
                       {node("Resize", {"x", "s"}, {"y"}, {OnnxAttribute::make_string("mode", "linear")})},
                       {{"s", Tensor::from<float>({4}, {1, 1, 1, 2})}});
    auto model = Model::from_onnx(m);
    REQUIRE(model.is_ok());
    CHECK(model->outputs()[0].dims == std::vector<int64_t>{1, 1, 1, 4});
    auto out = model->run({&x, 1});
    REQUIRE(out.is_ok());
    const auto y = (*out)[0].data<float>();
    CHECK(std::vector<float>(y.begin(), y.end()) == std::vector<float>{1, 1.5f, 2, 2});
  }
}
