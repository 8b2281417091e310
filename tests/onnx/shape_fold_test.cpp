// Shape subgraphs (issue 10): torch's x.reshape(x.shape[0], -1), written as Shape -> Gather ->
// Unsqueeze -> Concat -> Reshape, folds into a plain Reshape when the input shape is static and
// runs at run time with the batch symbol kept at load when it is dynamic; the torch.onnx
// exports of tests/fixtures/torch load; an unsupported model names every missing operator.
#include <catch2/catch.hpp>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "onnx/onnx_test_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"
#include "quantlab/ptq.hpp"

using namespace quantlab;
using namespace quantlab::testing;

namespace {

OnnxNode make_node(const std::string& op, std::vector<std::string> in,
                   std::vector<std::string> out, std::vector<OnnxAttribute> attrs = {}) {
  OnnxNode n;
  n.op_type = op;
  n.name = "/" + op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

/// x [batch, 16, 5, 5] -> x.reshape(x.shape[0], -1) as torch.onnx.export writes it (opset 13:
/// Unsqueeze takes its axes as an input).
OnnxModel torch_reshape(OnnxDim batch) {
  OnnxModel m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  OnnxValueInfo x;
  x.name = "x";
  x.elem_type = 1;
  x.has_shape = true;
  x.dims = {batch, {16, ""}, {5, ""}, {5, ""}};
  m.graph.inputs.push_back(x);
  OnnxValueInfo y;
  y.name = "y";
  m.graph.outputs.push_back(y);
  m.graph.initializers.push_back({"zero", Tensor::from<int64_t>({}, {0})});
  m.graph.initializers.push_back({"axes", Tensor::from<int64_t>({1}, {0})});
  m.graph.initializers.push_back({"minus_one", Tensor::from<int64_t>({1}, {-1})});
  auto& g = m.graph.nodes;
  g.push_back(make_node("Shape", {"x"}, {"s"}));
  g.push_back(make_node("Gather", {"s", "zero"}, {"n"}, {OnnxAttribute::make_int("axis", 0)}));
  g.push_back(make_node("Unsqueeze", {"n", "axes"}, {"n1"}));
  g.push_back(make_node("Concat", {"n1", "minus_one"}, {"spec"},
                        {OnnxAttribute::make_int("axis", 0)}));
  g.push_back(make_node("Reshape", {"x", "spec"}, {"y"}));
  return m;
}

Tensor iota_input(int64_t batch) {
  std::vector<float> v(static_cast<size_t>(batch * 400));
  std::iota(v.begin(), v.end(), 0.0f);
  return Tensor::from<float>({batch, 16, 5, 5}, std::move(v));
}

void check_flattened(Model& m, int64_t batch) {
  INFO("batch " << batch);
  std::vector<Tensor> in;
  in.push_back(iota_input(batch));
  auto out = m.run(in);
  REQUIRE(out.is_ok());
  const Tensor& y = (*out)[0];
  CHECK(y.shape() == Shape{batch, 400});
  const auto d = y.data<float>();
  for (size_t i = 0; i < d.size(); ++i) REQUIRE(d[i] == static_cast<float>(i));
}

const LayerInfo& layer(const Model& m, const std::string& op) {
  for (const LayerInfo& l : m.layers()) {
    if (l.op_type == op) return l;
  }
  FAIL("no " << op << " layer");
  return m.layers().front();
}

}  // namespace

TEST_CASE("shape fold: a static Shape->Gather->Unsqueeze->Concat chain folds into Reshape [2, 400]",
          "[onnx][shape]") {
  auto m = Model::from_onnx(torch_reshape({2, ""}));
  REQUIRE(m.is_ok());
  for (const char* op : {"Shape", "Gather", "Unsqueeze", "Concat"}) {
    INFO(op);
    CHECK(layer(*m, op).folded);
  }
  CHECK_FALSE(layer(*m, "Reshape").folded);
  REQUIRE(m->outputs().size() == 1);
  CHECK(m->outputs()[0].dims == std::vector<int64_t>{2, 400});
  check_flattened(*m, 2);
}

TEST_CASE("shape fold: a dynamic batch stays dynamic (Reshape [N, 400] at load, any batch at run)",
          "[onnx][shape]") {
  auto m = Model::from_onnx(torch_reshape({-1, "N"}));
  REQUIRE(m.is_ok());
  CHECK_FALSE(layer(*m, "Shape").folded);
  CHECK_FALSE(layer(*m, "Concat").folded);
  REQUIRE(m->outputs().size() == 1);
  CHECK(m->shape_string(m->outputs()[0]) == "[N, 400]");
  for (int64_t batch : {1, 3, 7}) check_flattened(*m, batch);
}

TEST_CASE("shape fold: Shape start/end, Slice of a shape and ConstantOfShape keep the symbol",
          "[onnx][shape]") {
  OnnxModel m = torch_reshape({-1, "N"});
  auto& g = m.graph.nodes;
  g.clear();
  m.opset_imports = {{"", 17}};
  m.graph.initializers.push_back({"start", Tensor::from<int64_t>({1}, {0})});
  m.graph.initializers.push_back({"end", Tensor::from<int64_t>({1}, {INT64_MAX})});
  // Shape(x, end=2) = [N, 16]; Slice(..., 0, INT64_MAX) keeps it; ConstantOfShape -> [N, 16].
  g.push_back(make_node("Shape", {"x"}, {"s"}, {OnnxAttribute::make_int("end", 2)}));
  g.push_back(make_node("Slice", {"s", "start", "end"}, {"s2"}));
  g.push_back(make_node("ConstantOfShape", {"s2"}, {"y"}));
  auto model = Model::from_onnx(m);
  REQUIRE(model.is_ok());
  CHECK(model->shape_string(model->outputs()[0]) == "[N, 16]");
  std::vector<Tensor> in;
  in.push_back(iota_input(3));
  auto out = model->run(in);
  REQUIRE(out.is_ok());
  CHECK((*out)[0].shape() == Shape{3, 16});
  CHECK((*out)[0].dtype() == DType::kFloat32);
}

TEST_CASE("shape fold: the torch.onnx exports of tests/fixtures/torch load with a dynamic batch",
          "[onnx][shape]") {
  const std::string dir = std::string(QL_SOURCE_DIR) + "/tests/fixtures/torch";
  for (const char* file : {"lenet5_opset13.onnx", "lenet5_opset17.onnx", "lenet300_opset13.onnx",
                           "lenet300_opset17.onnx"}) {
    INFO(file);
    auto m = Model::load(read_file(dir + "/" + file));
    REQUIRE(m.is_ok());
    CHECK(m->shape_string(m->outputs()[0]) == "[N, 10]");
    CHECK(layer(*m, "Reshape").outputs[0].dims.back() > 0);  // [N, 400] / [N, 784]
    for (int64_t batch : {1, 3}) {
      std::vector<Tensor> in;
      in.push_back(Tensor::from<float>({batch, 1, 28, 28},
                                       std::vector<float>(static_cast<size_t>(batch * 784), 0.5f)));
      auto out = m->run(in);
      REQUIRE(out.is_ok());
      CHECK((*out)[0].shape() == Shape{batch, 10});
    }
  }
}

TEST_CASE("shape fold: PTQ of a torch export keeps the computed Reshape on int8 values",
          "[onnx][shape][ptq]") {
  const std::string dir = std::string(QL_SOURCE_DIR) + "/tests/fixtures/torch";
  auto m = Model::load(read_file(dir + "/lenet5_opset17.onnx"));
  REQUIRE(m.is_ok());
  std::vector<float> calib(8 * 784);
  for (size_t i = 0; i < calib.size(); ++i) calib[i] = static_cast<float>((i * 7919) % 256) / 255.0f;
  PtqOptions o;
  auto q = quantize_static(*m, calib, {8, 1, 28, 28}, o);
  REQUIRE(q.is_ok());
  std::string ops;
  for (const OnnxNode& n : q->model.graph.nodes) ops += n.op_type + " ";
  INFO(ops);
  // Shape reads a dequantized copy; the Reshape moves int8 values (no Dequantize/Quantize
  // around it), and the three Gemms are integer.
  CHECK(q->layers.size() == 5);
  auto qm = Model::from_onnx(q->model);
  REQUIRE(qm.is_ok());
  CHECK(layer(*qm, "Reshape").inputs[0].dtype == DType::kInt8);
  for (int64_t batch : {1, 3}) {
    std::vector<Tensor> in;
    in.push_back(Tensor::from<float>({batch, 1, 28, 28},
                                     std::vector<float>(calib.begin(), calib.begin() + batch * 784)));
    auto out = qm->run(in);
    REQUIRE(out.is_ok());
    CHECK((*out)[0].shape() == Shape{batch, 10});
  }
}

namespace {

/// One node `op` on graph inputs x0, x1, ... (their values given) at `opset`; its output y.
Result<std::vector<Tensor>> run_node(const std::string& op, std::vector<Tensor> inputs,
                                     std::vector<OnnxAttribute> attrs, int64_t opset = 13,
                                     std::vector<std::pair<std::string, Tensor>> inits = {}) {
  OnnxModel m;
  m.ir_version = 8;
  m.opset_imports = {{"", opset}};
  std::vector<std::string> names;
  for (size_t i = 0; i < inputs.size(); ++i) {
    OnnxValueInfo v;
    v.name = "x" + std::to_string(i);
    v.elem_type = static_cast<int32_t>(inputs[i].dtype());
    v.has_shape = true;
    for (int64_t d : inputs[i].shape()) v.dims.push_back({d, ""});
    m.graph.inputs.push_back(v);
    names.push_back(v.name);
  }
  for (auto& [name, t] : inits) {
    m.graph.initializers.push_back({name, t});
    names.push_back(name);
  }
  OnnxValueInfo y;
  y.name = "y";
  m.graph.outputs.push_back(y);
  m.graph.nodes.push_back(make_node(op, names, {"y"}, std::move(attrs)));
  auto model = Model::from_onnx(m);
  if (!model) return model.status();
  return model->run(inputs);
}

}  // namespace

TEST_CASE("shape ops: Cast between float32, int64, int32, int8, uint8 and bool (opset <= 17)",
          "[onnx][shape]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto x = Tensor::from<float>({6}, {1.9f, -1.9f, 0.0f, 300.0f, nan, -0.4f});
  auto to = [&](DType d) {
    auto r = run_node("Cast", {x}, {OnnxAttribute::make_int("to", static_cast<int64_t>(d))});
    REQUIRE(r.is_ok());
    return (*r)[0];
  };
  // Toward zero; NaN gives 0; out of the target's range wraps after int64 (300 -> 44 in int8).
  const Tensor i64 = to(DType::kInt64);
  CHECK(std::vector<int64_t>(i64.data<int64_t>().begin(), i64.data<int64_t>().end()) ==
        std::vector<int64_t>{1, -1, 0, 300, 0, 0});
  const Tensor i8 = to(DType::kInt8);
  CHECK(std::vector<int8_t>(i8.data<int8_t>().begin(), i8.data<int8_t>().end()) ==
        std::vector<int8_t>{1, -1, 0, 44, 0, 0});
  const Tensor b = to(DType::kBool);
  CHECK(std::vector<bool>(b.data<bool>().begin(), b.data<bool>().end()) ==
        std::vector<bool>{true, true, false, true, true, true});
  auto back = run_node("Cast", {b}, {OnnxAttribute::make_int("to", 1)});
  REQUIRE(back.is_ok());
  CHECK(std::vector<float>((*back)[0].data<float>().begin(), (*back)[0].data<float>().end()) ==
        std::vector<float>{1, 1, 0, 1, 1, 1});
  auto bad = run_node("Cast", {x}, {OnnxAttribute::make_int("to", 11)});
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("DOUBLE"));
}

TEST_CASE("shape ops: attribute axes before opset 13, integer division by zero, Gather on int64",
          "[onnx][shape]") {
  auto x = Tensor::from<float>({3}, {1, 2, 3});
  auto u = run_node("Unsqueeze", {x}, {OnnxAttribute::make_ints("axes", {0, -1})}, 11);
  REQUIRE(u.is_ok());
  CHECK((*u)[0].shape() == Shape{1, 3, 1});
  auto s = run_node("Squeeze", {(*u)[0]}, {}, 11);
  REQUIRE(s.is_ok());
  CHECK((*s)[0].shape() == Shape{3});
  auto d = run_node("Div", {Tensor::from<int64_t>({2}, {7, -7}), Tensor::from<int64_t>({2}, {2, 0})},
                    {});
  REQUIRE_FALSE(d.is_ok());
  CHECK_THAT(d.status().message(), Catch::Contains("division by zero"));
  auto q = run_node("Div", {Tensor::from<int64_t>({2}, {7, -7}), Tensor::from<int64_t>({1}, {2})},
                    {});
  REQUIRE(q.is_ok());
  CHECK((*q)[0].data<int64_t>()[1] == -3);  // truncation, as onnxruntime
  auto g = run_node("Gather", {Tensor::from<int64_t>({2, 2}, {1, 2, 3, 4}),
                               Tensor::from<int32_t>({1}, {-1})},
                    {OnnxAttribute::make_int("axis", 1)});
  REQUIRE(g.is_ok());
  CHECK((*g)[0].shape() == Shape{2, 1});
  CHECK((*g)[0].data<int64_t>()[1] == 4);
}

TEST_CASE("shape fold: an unsupported model names every missing operator in one message",
          "[onnx][shape][errors]") {
  OnnxModel m = torch_reshape({-1, "N"});
  auto& g = m.graph.nodes;
  g.push_back(make_node("Einsum", {"y"}, {"h1"}));  // (LSTM now runs too)
  g.back().name = "sum1";
  g.push_back(make_node("Einsum", {"h1"}, {"h2"}));
  g.back().name = "sum2";
  g.push_back(make_node("NonMaxSuppression", {"h2"}, {"r"}));  // (Resize now runs: issue 10)
  g.push_back(make_node("Shape", {"r"}, {"bad"}, {OnnxAttribute::make_int("no_such", 1)}));
  m.graph.outputs[0].name = "bad";
  auto model = Model::from_onnx(m);
  REQUIRE_FALSE(model.is_ok());
  const std::string msg = model.status().message();
  INFO(msg);
  CHECK(model.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(msg, Catch::Contains("2 operators"));
  CHECK_THAT(msg, Catch::Contains("unsupported operator Einsum (2 nodes, the first node 'sum1'"));
  CHECK_THAT(msg, Catch::Contains("unsupported operator NonMaxSuppression (1 node: node '/NonMaxSuppression'"));
}
