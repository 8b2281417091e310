// Model runtime: graphs built in code (shape inference with a symbolic batch, constant
// folding, hooks), errors that name the node and the problem, and the packed int8 / fp32
// paths agreeing bit for bit with the generic ONNX operator functions.
#include "quantlab/model.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quantlab/onnx.hpp"

using namespace quantlab;

namespace {

OnnxDim dim(int64_t v) { return OnnxDim{v, ""}; }
OnnxDim sym(const char* s) { return OnnxDim{-1, s}; }

/// A model built node by node.
struct GraphBuilder {
  OnnxModel m;
  explicit GraphBuilder(int64_t opset = 13) {
    m.ir_version = 8;
    m.opset_imports = {{"", opset}};
  }
  GraphBuilder& input(const std::string& name, int32_t elem_type, std::vector<OnnxDim> dims) {
    OnnxValueInfo v;
    v.name = name;
    v.elem_type = elem_type;
    v.has_shape = true;
    v.dims = std::move(dims);
    m.graph.inputs.push_back(v);
    return *this;
  }
  GraphBuilder& output(const std::string& name) {
    OnnxValueInfo v;
    v.name = name;
    m.graph.outputs.push_back(v);
    return *this;
  }
  GraphBuilder& init(const std::string& name, Tensor t) {
    m.graph.initializers.push_back({name, std::move(t)});
    return *this;
  }
  GraphBuilder& node(const std::string& op, std::vector<std::string> in,
                     std::vector<std::string> out, std::vector<OnnxAttribute> attrs = {},
                     const std::string& name = "", const std::string& domain = "") {
    OnnxNode n;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    n.attributes = std::move(attrs);
    n.name = name;
    n.domain = domain;
    m.graph.nodes.push_back(std::move(n));
    return *this;
  }
  Result<Model> build(const ModelOptions& o = {}) const { return Model::from_onnx(m, o); }
};

template <class T>
Tensor random_tensor(Shape shape, std::mt19937& rng, float lo, float hi) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  std::vector<T> v(n);
  std::uniform_real_distribution<float> u(lo, hi);
  for (auto& x : v) x = static_cast<T>(std::is_floating_point_v<T> ? u(rng) : std::round(u(rng)));
  return Tensor::from<T>(std::move(shape), std::move(v));
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.bytes() == 0 || std::memcmp(a.raw(), b.raw(), a.bytes()) == 0);
}

/// A small LeNet-shaped fp32 network on [N, 1, 8, 8] inputs.
GraphBuilder small_cnn(std::mt19937& rng) {
  GraphBuilder g;
  g.input("x", 1, {sym("N"), dim(1), dim(8), dim(8)}).output("prob");
  g.init("w1", random_tensor<float>({4, 1, 3, 3}, rng, -0.5f, 0.5f));
  g.init("b1", random_tensor<float>({4}, rng, -0.1f, 0.1f));
  g.init("w2", random_tensor<float>({10, 64}, rng, -0.2f, 0.2f));
  g.init("b2", random_tensor<float>({10}, rng, -0.1f, 0.1f));
  g.node("Conv", {"x", "w1", "b1"}, {"c1"},
         {OnnxAttribute::make_ints("pads", {1, 1, 1, 1}),
          OnnxAttribute::make_ints("kernel_shape", {3, 3})},
         "conv1");
  g.node("Relu", {"c1"}, {"r1"}, {}, "relu1");
  g.node("MaxPool", {"r1"}, {"p1"},
         {OnnxAttribute::make_ints("kernel_shape", {2, 2}),
          OnnxAttribute::make_ints("strides", {2, 2})},
         "pool1");
  g.node("Flatten", {"p1"}, {"f"}, {OnnxAttribute::make_int("axis", 1)}, "flatten");
  g.node("Gemm", {"f", "w2", "b2"}, {"logits"}, {OnnxAttribute::make_int("transB", 1)}, "fc");
  g.node("Softmax", {"logits"}, {"prob"}, {OnnxAttribute::make_int("axis", 1)}, "softmax");
  return g;
}

}  // namespace

TEST_CASE("model: shapes are inferred with a symbolic batch, and the batch runs row by row",
          "[model]") {
  std::mt19937 rng(1);
  auto model = small_cnn(rng).build();
  REQUIRE(model.is_ok());
  const auto& layers = model->layers();
  REQUIRE(layers.size() == 6);
  CHECK(layers[0].name == "conv1");
  CHECK(layers[0].op_type == "Conv");
  CHECK(layers[0].version == 11);
  CHECK(model->shape_string(layers[0].outputs[0]) == "[N, 4, 8, 8]");
  CHECK(layers[0].parameters == 4 * 9 + 4);
  CHECK(layers[0].parameter_bytes == (4 * 9 + 4) * 4);
  CHECK(model->shape_string(layers[2].outputs[0]) == "[N, 4, 4, 4]");
  CHECK(model->shape_string(layers[3].outputs[0]) == "[N, 64]");
  CHECK(model->shape_string(layers[4].outputs[0]) == "[N, 10]");
  CHECK(layers[4].parameters == 650);
  CHECK(model->shape_string(model->inputs()[0]) == "[N, 1, 8, 8]");
  CHECK(model->shape_string(model->outputs()[0]) == "[N, 10]");

  const Tensor x = random_tensor<float>({3, 1, 8, 8}, rng, -1.0f, 1.0f);
  auto y = model->run({&x, 1});
  REQUIRE(y.is_ok());
  REQUIRE((*y)[0].shape() == Shape{3, 10});
  for (int r = 0; r < 3; ++r) {
    double sum = 0;
    for (int c = 0; c < 10; ++c) sum += (*y)[0].data<float>()[static_cast<size_t>(r * 10 + c)];
    CHECK(sum == Approx(1.0).epsilon(1e-5));
    // The same image alone gives the same probabilities, bit for bit.
    Tensor one = Tensor::from<float>({1, 1, 8, 8},
                                     std::vector<float>(x.data<float>().begin() + r * 64,
                                                        x.data<float>().begin() + (r + 1) * 64));
    auto y1 = model->run({&one, 1});
    REQUIRE(y1.is_ok());
    CHECK(std::memcmp((*y1)[0].raw(), (*y)[0].data<float>().data() + r * 10, 40) == 0);
  }
}

TEST_CASE("model: constants are folded at load time", "[model]") {
  GraphBuilder g;
  g.input("x", 1, {sym("N"), dim(6)}).output("y");
  g.node("Constant", {}, {"lo"}, {OnnxAttribute::make_float("value_float", 0.0f)}, "c_lo");
  g.node("Constant", {}, {"hi"},
         {OnnxAttribute::make_tensor("value", Tensor::from<float>({}, {6.0f}))}, "c_hi");
  g.node("Constant", {}, {"shape"},
         {OnnxAttribute::make_tensor("value", Tensor::from<int64_t>({3}, {0, 2, -1}))}, "c_shape");
  g.node("Clip", {"x", "lo", "hi"}, {"c"}, {}, "relu6");
  g.node("Reshape", {"c", "shape"}, {"y"}, {}, "reshape");
  auto model = g.build();
  REQUIRE(model.is_ok());
  const auto& layers = model->layers();
  REQUIRE(layers.size() == 5);
  CHECK(layers[0].folded);
  CHECK(layers[2].folded);
  CHECK_FALSE(layers[3].folded);
  CHECK(layers[3].parameters == 2);  // the two clip bounds
  CHECK(model->shape_string(layers[4].outputs[0]) == "[N, 2, 3]");
  const Tensor x = Tensor::from<float>({1, 6}, {-1.0f, 0.5f, 3.0f, 6.5f, 100.0f, 2.0f});
  auto y = model->run({&x, 1});
  REQUIRE(y.is_ok());
  CHECK((*y)[0].shape() == Shape{1, 2, 3});
  CHECK(std::vector<float>((*y)[0].data<float>().begin(), (*y)[0].data<float>().end()) ==
        std::vector<float>{0.0f, 0.5f, 3.0f, 6.0f, 6.0f, 2.0f});
}

TEST_CASE("model: observe and progress hooks", "[model]") {
  std::mt19937 rng(2);
  const GraphBuilder g = small_cnn(rng);
  const Tensor x = random_tensor<float>({2, 1, 8, 8}, rng, -1.0f, 1.0f);
  for (bool fuse : {true, false}) {
    INFO("fuse_activations " << fuse);
    ModelOptions mo;
    mo.fuse_activations = fuse;
    auto model = g.build(mo);
    REQUIRE(model.is_ok());
    std::vector<std::string> seen;
    std::vector<int64_t> done;
    RunOptions o;
    o.observe = [&](const std::string& name, const Tensor& t) {
      seen.push_back(name);
      CHECK(t.shape().at(0) == 2);
    };
    const int64_t steps = fuse ? 5 : 6;  // fused: conv1 computes relu1's output
    o.progress = [&](const Progress& p) {
      CHECK(std::string(p.stage) == "run");
      CHECK(p.total == steps);
      done.push_back(p.done);
    };
    REQUIRE(model->run({&x, 1}, o).is_ok());
    if (fuse) {
      CHECK(seen == std::vector<std::string>{"x", "r1", "p1", "f", "logits", "prob"});
      CHECK(done == std::vector<int64_t>{1, 2, 3, 4, 5});
      CHECK(model->layers()[1].fused);
    } else {
      CHECK(seen == std::vector<std::string>{"x", "c1", "r1", "p1", "f", "logits", "prob"});
      CHECK(done == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
      CHECK_FALSE(model->layers()[1].fused);
    }
  }
}

TEST_CASE("model: activations fused into Conv / Gemm / MatMul give the same bits", "[model]") {
  std::mt19937 rng(8);
  GraphBuilder g;
  g.input("x", 1, {sym("N"), dim(3), dim(6), dim(6)}).output("y").output("side");
  g.init("w", random_tensor<float>({4, 3, 3, 3}, rng, -1.0f, 1.0f));
  g.init("w2", random_tensor<float>({4, 4, 1, 1}, rng, -1.0f, 1.0f));
  g.init("fc", random_tensor<float>({144, 5}, rng, -0.3f, 0.3f));
  g.init("fc2", random_tensor<float>({7, 5}, rng, -1.0f, 1.0f));
  g.init("zero", Tensor::from<float>({}, {0.0f}));
  g.node("Constant", {}, {"six"}, {OnnxAttribute::make_float("value_float", 6.0f)});
  g.node("Conv", {"x", "w"}, {"c"}, {OnnxAttribute::make_ints("pads", {1, 1, 1, 1})}, "conv");
  g.node("Clip", {"c", "zero", "six"}, {"c6"}, {}, "relu6");
  g.node("Conv", {"c6", "w2"}, {"d"}, {}, "conv2");  // read twice: not fused
  g.node("Relu", {"d"}, {"dr"}, {}, "relu_d");
  g.node("Identity", {"d"}, {"side"});
  g.node("Flatten", {"dr"}, {"f"});
  g.node("MatMul", {"f", "fc"}, {"m"}, {}, "matmul");
  g.node("Relu", {"m"}, {"mr"}, {}, "relu_m");
  g.node("Gemm", {"mr", "fc2"}, {"gm"}, {OnnxAttribute::make_int("transB", 1)}, "gemm");
  g.node("Clip", {"gm", "zero"}, {"y"}, {}, "clip_min_only");  // = Relu, into a graph output
  ModelOptions off;
  off.fuse_activations = false;
  auto fused = g.build();
  auto plain = g.build(off);
  REQUIRE(fused.is_ok());
  REQUIRE(plain.is_ok());
  std::vector<std::string> fused_layers;
  for (const auto& l : fused->layers()) {
    if (l.fused) fused_layers.push_back(l.name);
  }
  CHECK(fused_layers == std::vector<std::string>{"relu6", "relu_m", "clip_min_only"});
  const Tensor x = random_tensor<float>({3, 3, 6, 6}, rng, -2.0f, 2.0f);
  auto a = fused->run({&x, 1});
  auto b = plain->run({&x, 1});
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(identical((*a)[0], (*b)[0]));
  CHECK(identical((*a)[1], (*b)[1]));
}

TEST_CASE("model: load errors name the node and the problem", "[model][errors]") {
  auto expect = [](const GraphBuilder& g, ErrorCode code, std::vector<std::string> mentions) {
    auto m = g.build();
    REQUIRE_FALSE(m.is_ok());
    INFO(m.status().to_string());
    CHECK(m.status().code() == code);
    for (const auto& s : mentions) CHECK_THAT(m.status().message(), Catch::Contains(s));
  };
  SECTION("unsupported operator") {
    GraphBuilder g;
    g.input("x", 1, {dim(2)}).output("y").node("Einsum", {"x"}, {"y"}, {}, "sum");
    expect(g, ErrorCode::kUnsupported, {"sum", "Einsum", "unsupported operator"});
  }
  SECTION("unknown domain") {
    GraphBuilder g;
    g.input("x", 1, {dim(2)}).output("y").node("Foo", {"x"}, {"y"}, {}, "f", "ai.onnx.ml");
    expect(g, ErrorCode::kUnsupported, {"ai.onnx.ml"});
  }
  SECTION("cycle") {
    GraphBuilder g;
    g.input("x", 1, {dim(2)}).output("b");
    g.node("Add", {"x", "b"}, {"a"}, {}, "first").node("Relu", {"a"}, {"b"}, {}, "second");
    expect(g, ErrorCode::kMalformed, {"cycle", "first", "second"});
  }
  SECTION("dangling input") {
    GraphBuilder g;
    g.input("x", 1, {dim(2)}).output("y").node("Add", {"x", "ghost"}, {"y"}, {}, "add");
    expect(g, ErrorCode::kMalformed, {"add", "ghost"});
  }
  SECTION("a value produced twice") {
    GraphBuilder g;
    g.input("x", 1, {dim(2)}).output("y");
    g.node("Relu", {"x"}, {"y"}, {}, "one").node("Relu", {"x"}, {"y"}, {}, "two");
    expect(g, ErrorCode::kMalformed, {"'y'", "one", "two"});
  }
  SECTION("opset newer than 17") {
    GraphBuilder g(18);
    g.input("x", 1, {dim(2)}).output("y").node("Relu", {"x"}, {"y"});
    expect(g, ErrorCode::kUnsupported, {"opset 18"});
  }
  SECTION("an operator version quantlab does not implement") {
    GraphBuilder g(4);
    g.input("x", 1, {dim(2)}).output("y").init("s", Tensor::from<int64_t>({1}, {2}));
    g.node("Reshape", {"x", "s"}, {"y"}, {}, "old");
    expect(g, ErrorCode::kUnsupported, {"old", "Reshape-1", "opset 4"});
  }
  SECTION("inconsistent shapes") {
    GraphBuilder g;
    g.input("x", 1, {sym("N"), dim(5)}).output("y");
    g.init("w", Tensor::from<float>({3, 6}, std::vector<float>(18, 0.0f)));
    g.node("Gemm", {"x", "w"}, {"y"}, {OnnxAttribute::make_int("transB", 1)}, "fc");
    expect(g, ErrorCode::kShapeMismatch, {"fc", "5 != 6"});
  }
  SECTION("wrong element type") {
    GraphBuilder g;
    g.input("x", 1, {dim(2)}).input("q", 3, {dim(2)}).output("y");
    g.node("Add", {"x", "q"}, {"y"}, {}, "mixed");
    expect(g, ErrorCode::kUnsupported, {"mixed", "float32", "int8"});
  }
  SECTION("an attribute the operator does not define") {
    GraphBuilder g;
    g.input("x", 1, {dim(2)}).output("y");
    g.node("Relu", {"x"}, {"y"}, {OnnxAttribute::make_float("alpha", 0.1f)}, "r");
    expect(g, ErrorCode::kUnsupported, {"r", "alpha"});
  }
  SECTION("a graph output declared with another shape") {
    GraphBuilder g;
    g.input("x", 1, {sym("N"), dim(4)});
    OnnxValueInfo out;
    out.name = "y";
    out.elem_type = 1;
    out.has_shape = true;
    out.dims = {sym("N"), dim(7)};
    g.m.graph.outputs.push_back(out);
    g.node("Relu", {"x"}, {"y"});
    expect(g, ErrorCode::kShapeMismatch, {"'y'", "[N, 7]"});
  }
  SECTION("a double graph input") {
    GraphBuilder g;
    g.input("t", 11, {dim(1)}).output("t");
    expect(g, ErrorCode::kUnsupported, {"'t'", "DOUBLE"});
  }
}

TEST_CASE("model: attribute values in messages print as numbers, not as dimensions",
          "[model][errors]") {
  // issue 18: negative attribute values went through the dimension formatting and printed
  // as symbols: "pads [s1, s1, s1, s1] must be >= 0", "dilations [?, ?]".
  auto message = [](std::vector<OnnxAttribute> attrs, const char* op = "Conv") {
    GraphBuilder g;
    g.input("x", 1, {sym("N"), dim(1), dim(8), dim(8)}).output("y");
    g.init("w", Tensor::from<float>({2, 1, 3, 3}, std::vector<float>(18, 0.5f)));
    if (std::string(op) == "Conv") {
      g.node("Conv", {"x", "w"}, {"y"}, std::move(attrs), "conv");
    } else {
      g.node(op, {"x"}, {"y"}, std::move(attrs), "node");
    }
    auto m = g.build();
    REQUIRE_FALSE(m.is_ok());
    return m.status().message();
  };
  CHECK_THAT(message({OnnxAttribute::make_ints("pads", {-3, -3, -3, -3})}),
             Catch::Contains("pads [-3, -3, -3, -3] must be >= 0"));
  CHECK_THAT(message({OnnxAttribute::make_ints("dilations", {-1, -1})}),
             Catch::Contains("dilations [-1, -1] must be >= 1"));
  CHECK_THAT(message({OnnxAttribute::make_ints("strides", {-2, 1})}),
             Catch::Contains("strides [-2, 1] must be >= 1"));
  CHECK_THAT(message({OnnxAttribute::make_ints("kernel_shape", {-1, 3})}),
             Catch::Contains("[-1, 3]"));
  CHECK_THAT(message({OnnxAttribute::make_ints("pads", {-1, 0})}),
             Catch::Contains("pads [-1, 0] must have 4 values"));
  CHECK_THAT(message({OnnxAttribute::make_ints("perm", {0, -2, 1, 2})}, "Transpose"),
             Catch::Contains("perm [0, -2, 1, 2]"));
}

TEST_CASE("model: run errors are named and leave the model usable", "[model][errors]") {
  std::mt19937 rng(3);
  auto model = small_cnn(rng).build();
  REQUIRE(model.is_ok());
  const Tensor good = random_tensor<float>({2, 1, 8, 8}, rng, -1.0f, 1.0f);
  auto reference = model->run({&good, 1});
  REQUIRE(reference.is_ok());

  CHECK(model->run({}).status().code() == ErrorCode::kInvalidArgument);
  const Tensor wrong_type = Tensor::from<int32_t>({1, 1, 8, 8}, std::vector<int32_t>(64, 0));
  auto r = model->run({&wrong_type, 1});
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains("'x'") && Catch::Contains("float32"));
  const Tensor wrong_shape = random_tensor<float>({2, 1, 8, 9}, rng, -1.0f, 1.0f);
  r = model->run({&wrong_shape, 1});
  CHECK(r.status().code() == ErrorCode::kShapeMismatch);
  CHECK_THAT(r.status().message(),
             Catch::Contains("[2, 1, 8, 9]") && Catch::Contains("[N, 1, 8, 8]"));

  // The same model still computes the same result.
  auto again = model->run({&good, 1});
  REQUIRE(again.is_ok());
  CHECK(identical((*again)[0], (*reference)[0]));

  // Inputs sharing a symbolic dimension must agree on it.
  GraphBuilder g;
  g.input("a", 1, {sym("N"), dim(4)}).input("b", 1, {sym("N"), dim(4)}).output("c");
  g.node("Add", {"a", "b"}, {"c"}, {}, "add");
  auto add = g.build();
  REQUIRE(add.is_ok());
  std::vector<Tensor> in = {random_tensor<float>({2, 4}, rng, 0, 1),
                            random_tensor<float>({3, 4}, rng, 0, 1)};
  CHECK(add->run(in).status().code() == ErrorCode::kShapeMismatch);

  // A run-time operator error names the node: Reshape to a size that does not fit.
  GraphBuilder rs;
  rs.input("x", 1, {sym("N"), dim(6)}).input("s", 7, {dim(2)}).output("y");
  rs.node("Reshape", {"x", "s"}, {"y"}, {}, "reshape_me");
  auto reshape = rs.build();
  REQUIRE(reshape.is_ok());
  std::vector<Tensor> bad = {random_tensor<float>({1, 6}, rng, 0, 1),
                             Tensor::from<int64_t>({2}, {4, 4})};
  auto rr = reshape->run(bad);
  CHECK(rr.status().code() == ErrorCode::kShapeMismatch);
  CHECK_THAT(rr.status().message(), Catch::Contains("reshape_me"));
}

TEST_CASE("model: truncated and corrupted files give a Status", "[model][errors]") {
  std::mt19937 rng(4);
  const auto bytes = serialize_onnx_model(small_cnn(rng).m);
  REQUIRE(Model::load(bytes).is_ok());
  int failures = 0;
  for (size_t n = 0; n < bytes.size(); n += 7) {
    auto m = Model::load(std::span<const uint8_t>(bytes.data(), n));
    if (!m.is_ok()) ++failures;
  }
  CHECK(failures >= static_cast<int>(bytes.size() / 7) - 2);
  for (int trial = 0; trial < 500; ++trial) {
    auto copy = bytes;
    copy[rng() % copy.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    auto m = Model::load(copy);  // either loads or explains why; never crashes
    if (m.is_ok()) {
      const Tensor x = random_tensor<float>({1, 1, 8, 8}, rng, -1.0f, 1.0f);
      (void)m->run({&x, 1});
    }
  }
}

namespace {

/// QLinearConv / QLinearMatMul / ConvInteger / MatMulInteger twice: weights as initializers
/// (packed once at load) and as graph inputs (the generic ONNX functions).
struct QPair {
  GraphBuilder packed, generic;
};

QPair qlinear_conv_pair(std::mt19937& rng, int64_t groups, int64_t c_in, int64_t c_out) {
  QPair p;
  const Tensor w = random_tensor<int8_t>({c_out, c_in / groups, 3, 3}, rng, -127, 127);
  std::vector<float> ws(static_cast<size_t>(c_out));
  for (auto& s : ws) s = std::uniform_real_distribution<float>(0.002f, 0.02f)(rng);
  const Tensor w_scale = Tensor::from<float>({c_out}, ws);
  const Tensor w_zp =
      Tensor::from<int8_t>({c_out}, std::vector<int8_t>(static_cast<size_t>(c_out), 0));
  const Tensor bias = random_tensor<int32_t>({c_out}, rng, -2000, 2000);
  const std::vector<OnnxAttribute> attrs = {OnnxAttribute::make_ints("pads", {1, 0, 1, 2}),
                                            OnnxAttribute::make_ints("strides", {2, 1}),
                                            OnnxAttribute::make_int("group", groups)};
  for (GraphBuilder* g : {&p.packed, &p.generic}) {
    g->input("x", 2, {sym("N"), dim(c_in), dim(9), dim(7)}).output("y");
    g->init("x_scale", Tensor::from<float>({}, {0.05f}));
    g->init("x_zp", Tensor::from<uint8_t>({}, {121}));
    g->init("y_scale", Tensor::from<float>({}, {0.1f}));
    g->init("y_zp", Tensor::from<uint8_t>({}, {117}));
    g->node("QLinearConv", {"x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "b"},
            {"y"}, attrs, "qconv");
  }
  p.packed.init("w", w).init("w_scale", w_scale).init("w_zp", w_zp).init("b", bias);
  p.generic.input("w", 3, {dim(c_out), dim(c_in / groups), dim(3), dim(3)})
      .input("w_scale", 1, {dim(c_out)})
      .input("w_zp", 3, {dim(c_out)})
      .input("b", 6, {dim(c_out)});
  return p;
}

}  // namespace

TEST_CASE("model: packed int8 layers equal the generic ONNX functions bit for bit", "[model]") {
  std::mt19937 rng(5);
  for (auto [groups, c_in, c_out] :
       {std::tuple<int64_t, int64_t, int64_t>{1, 3, 5}, {4, 4, 4}, {2, 6, 4}}) {
    INFO("groups " << groups << ", " << c_in << " -> " << c_out);
    QPair p = qlinear_conv_pair(rng, groups, c_in, c_out);
    auto packed = p.packed.build();
    auto generic = p.generic.build();
    REQUIRE(packed.is_ok());
    REQUIRE(generic.is_ok());
    const Tensor x = random_tensor<uint8_t>({2, c_in, 9, 7}, rng, 0, 255);
    auto yp = packed->run({&x, 1});
    REQUIRE(yp.is_ok());
    std::vector<Tensor> inputs = {x};
    for (const char* n : {"w", "w_scale", "w_zp", "b"}) {
      for (const auto& t : p.packed.m.graph.initializers) {
        if (t.name == n) inputs.push_back(t.tensor);
      }
    }
    auto yg = generic->run(inputs);
    REQUIRE(yg.is_ok());
    CHECK((*yp)[0].shape() == Shape{2, c_out, 5, 7});
    CHECK(identical((*yp)[0], (*yg)[0]));
    // Fixed-point requantization differs from fp32 by at most one step.
    ModelOptions fixed;
    fixed.requant_mode = RequantMode::kFixedPoint;
    auto packed_fixed = p.packed.build(fixed);
    REQUIRE(packed_fixed.is_ok());
    auto yf = packed_fixed->run({&x, 1});
    REQUIRE(yf.is_ok());
    for (size_t i = 0; i < (*yf)[0].size(); ++i) {
      CHECK(std::abs(int((*yf)[0].data<uint8_t>()[i]) - int((*yp)[0].data<uint8_t>()[i])) <= 1);
    }
  }

  // QLinearMatMul with a batch of activations against constant weights, and MatMulInteger.
  const Tensor b = random_tensor<int8_t>({6, 5}, rng, -128, 127);
  for (int integer = 0; integer < 2; ++integer) {
    GraphBuilder packed, generic;
    for (GraphBuilder* g : {&packed, &generic}) {
      g->input("a", 3, {sym("N"), dim(3), dim(6)}).output("y");
      if (integer) {
        g->init("a_zp", Tensor::from<int8_t>({}, {-3}));
        g->node("MatMulInteger", {"a", "b", "a_zp"}, {"y"}, {}, "mmi");
      } else {
        g->init("a_scale", Tensor::from<float>({}, {0.02f}));
        g->init("a_zp", Tensor::from<int8_t>({}, {-3}));
        g->init("b_scale", Tensor::from<float>({5}, {0.01f, 0.02f, 0.03f, 0.004f, 0.05f}));
        g->init("b_zp", Tensor::from<int8_t>({5}, {0, 0, 0, 0, 0}));
        g->init("y_scale", Tensor::from<float>({}, {0.03f}));
        g->init("y_zp", Tensor::from<int8_t>({}, {4}));
        g->node("QLinearMatMul",
                {"a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"}, {"y"}, {},
                "qmm");
      }
    }
    packed.init("b", b);
    generic.input("b", 3, {dim(6), dim(5)});
    auto mp = packed.build();
    auto mg = generic.build();
    REQUIRE(mp.is_ok());
    REQUIRE(mg.is_ok());
    const Tensor a = random_tensor<int8_t>({4, 3, 6}, rng, -128, 127);
    auto yp = mp->run({&a, 1});
    std::vector<Tensor> in = {a, b};
    auto yg = mg->run(in);
    REQUIRE(yp.is_ok());
    REQUIRE(yg.is_ok());
    CHECK((*yp)[0].shape() == Shape{4, 3, 5});
    CHECK(identical((*yp)[0], (*yg)[0]));
  }
}

TEST_CASE("model: fp32 Conv and MatMul with constant weights equal the same with runtime weights",
          "[model]") {
  std::mt19937 rng(6);
  const Tensor w = random_tensor<float>({6, 2, 3, 3}, rng, -1.0f, 1.0f);
  GraphBuilder packed, generic;
  for (GraphBuilder* g : {&packed, &generic}) {
    g->input("x", 1, {sym("N"), dim(4), dim(10), dim(10)}).output("y");
    g->node("Conv", {"x", "w"}, {"y"},
            {OnnxAttribute::make_int("group", 2), OnnxAttribute::make_ints("dilations", {2, 1}),
             OnnxAttribute::make_string("auto_pad", "SAME_UPPER")},
            "conv");
  }
  packed.init("w", w);
  generic.input("w", 1, {dim(6), dim(2), dim(3), dim(3)});
  auto mp = packed.build();
  auto mg = generic.build();
  REQUIRE(mp.is_ok());
  REQUIRE(mg.is_ok());
  CHECK(mp->shape_string(mp->outputs()[0]) == "[N, 6, 10, 10]");
  const Tensor x = random_tensor<float>({2, 4, 10, 10}, rng, -1.0f, 1.0f);
  auto yp = mp->run({&x, 1});
  std::vector<Tensor> in = {x, w};
  auto yg = mg->run(in);
  REQUIRE(yp.is_ok());
  REQUIRE(yg.is_ok());
  CHECK(identical((*yp)[0], (*yg)[0]));
}

TEST_CASE("model: com.microsoft QLinearAdd with broadcasting", "[model]") {
  std::mt19937 rng(7);
  GraphBuilder g;
  g.m.opset_imports.push_back({"com.microsoft", 1});
  g.input("a", 2, {sym("N"), dim(3), dim(4), dim(5)}).input("b", 2, {dim(3), dim(1), dim(1)});
  g.output("c");
  g.init("sa", Tensor::from<float>({}, {0.037f})).init("za", Tensor::from<uint8_t>({}, {100}));
  g.init("sb", Tensor::from<float>({}, {0.061f})).init("zb", Tensor::from<uint8_t>({}, {130}));
  g.init("sc", Tensor::from<float>({}, {0.1f})).init("zc", Tensor::from<uint8_t>({}, {90}));
  g.node("QLinearAdd", {"a", "sa", "za", "b", "sb", "zb", "sc", "zc"}, {"c"}, {}, "qadd",
         "com.microsoft");
  auto model = g.build();
  REQUIRE(model.is_ok());
  CHECK(model->layers()[0].domain == "com.microsoft");
  std::vector<Tensor> in = {random_tensor<uint8_t>({2, 3, 4, 5}, rng, 0, 255),
                            random_tensor<uint8_t>({3, 1, 1}, rng, 0, 255)};
  auto c = model->run(in);
  REQUIRE(c.is_ok());
  REQUIRE((*c)[0].shape() == Shape{2, 3, 4, 5});
  int off_by_one = 0;
  for (size_t i = 0; i < (*c)[0].size(); ++i) {
    const size_t ch = (i / 20) % 3;
    const double real = double(0.037f) * (in[0].data<uint8_t>()[i] - 100) +
                        double(0.061f) * (in[1].data<uint8_t>()[ch] - 130);
    const double want = std::clamp(std::nearbyint(real / double(0.1f)) + 90, 0.0, 255.0);
    const int diff = std::abs(int((*c)[0].data<uint8_t>()[i]) - int(want));
    CHECK(diff <= 1);  // float32 arithmetic may round a near-tie the other way
    off_by_one += diff;
  }
  CHECK(off_by_one <= 2);
  // Without the com.microsoft opset import the operator is refused.
  g.m.opset_imports.pop_back();
  auto refused = g.build();
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("com.microsoft"));
}
