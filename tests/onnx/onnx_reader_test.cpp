// ONNX reader: real files, typed-field encodings, round trips through the writer, and
// malformed input (truncations, byte flips, lying sizes) that must give a Status, never a crash.
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>
#include <random>
#include <string>
#include <vector>

#include "onnx/onnx_test_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;
using namespace quantlab::testing;

namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

OnnxModel sample_model() {
  OnnxModel m;
  m.ir_version = 7;
  m.producer_name = "quantlab-test";
  m.opset_imports = {{"", 13}, {"com.microsoft", 1}};
  OnnxGraph& g = m.graph;
  g.name = "g";
  OnnxValueInfo in;
  in.name = "x";
  in.elem_type = 1;
  in.has_shape = true;
  in.dims = {{-1, "N"}, {3, ""}, {-1, ""}};
  g.inputs.push_back(in);
  OnnxValueInfo scalar;
  scalar.name = "s";
  scalar.elem_type = 7;
  scalar.has_shape = true;  // rank 0
  g.inputs.push_back(scalar);
  OnnxValueInfo out;
  out.name = "y";
  out.elem_type = 1;  // no shape
  g.outputs.push_back(out);
  g.initializers.push_back({"w_f32", Tensor::from<float>({2, 2}, {1.5f, -2.0f, 0.0f, 3.25f})});
  g.initializers.push_back({"w_u8", Tensor::from<uint8_t>({3}, {0, 128, 255})});
  g.initializers.push_back({"w_i8", Tensor::from<int8_t>({2}, {-128, 127})});
  g.initializers.push_back({"w_i32", Tensor::from<int32_t>({1, 2}, {-70000, 5})});
  g.initializers.push_back({"w_i64", Tensor::from<int64_t>({}, {int64_t{-1} << 40})});
  g.initializers.push_back({"empty", Tensor::from<float>({0, 4}, {})});
  OnnxNode n;
  n.name = "node0";
  n.op_type = "Custom";
  n.domain = "com.microsoft";
  n.inputs = {"x", "", "w_f32"};
  n.outputs = {"y"};
  n.attributes.push_back(OnnxAttribute::make_int("i", -3));
  n.attributes.push_back(OnnxAttribute::make_float("f", 0.25f));
  n.attributes.push_back(OnnxAttribute::make_string("s", "SAME_UPPER"));
  n.attributes.push_back(OnnxAttribute::make_ints("ints", {1, -2, int64_t{1} << 50}));
  n.attributes.push_back(OnnxAttribute::make_floats("floats", {0.5f, -1.0f}));
  n.attributes.push_back(OnnxAttribute::make_tensor("t", Tensor::from<int64_t>({2}, {7, -7})));
  OnnxAttribute strings;
  strings.name = "strs";
  strings.type = OnnxAttributeType::kStrings;
  strings.strings = {"a", ""};
  n.attributes.push_back(strings);
  g.nodes.push_back(n);
  return m;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.bytes() == b.bytes() &&
         (a.bytes() == 0 || std::memcmp(a.raw(), b.raw(), a.bytes()) == 0);
}

// A TensorProto written field by field, to exercise encodings the writer never produces.
std::string tensor_proto(const std::function<void(protozero::pbf_writer&)>& fill) {
  std::string s;
  protozero::pbf_writer w(s);
  fill(w);
  return s;
}

}  // namespace

TEST_CASE("onnx reader: write then read gives back the same model", "[onnx]") {
  const OnnxModel m = sample_model();
  const auto bytes = serialize_onnx_model(m);
  auto r = parse_onnx_model(bytes);
  REQUIRE(r.is_ok());
  const OnnxModel& p = *r;
  CHECK(p.ir_version == 7);
  CHECK(p.producer_name == "quantlab-test");
  REQUIRE(p.opset_imports.size() == 2);
  CHECK(p.opset("") == 13);
  CHECK(p.opset("ai.onnx") == 13);
  CHECK(p.opset("com.microsoft") == 1);
  CHECK(p.opset("other") == 0);
  CHECK(p.graph.name == "g");
  REQUIRE(p.graph.inputs.size() == 2);
  const auto& in = p.graph.inputs[0];
  CHECK(in.name == "x");
  CHECK(in.elem_type == 1);
  REQUIRE(in.dims.size() == 3);
  CHECK(in.dims[0].param == "N");
  CHECK(in.dims[0].value == -1);
  CHECK(in.dims[1].value == 3);
  CHECK(in.dims[2].value == -1);
  CHECK(in.dims[2].param.empty());
  CHECK(p.graph.inputs[1].has_shape);
  CHECK(p.graph.inputs[1].dims.empty());
  CHECK_FALSE(p.graph.outputs[0].has_shape);
  REQUIRE(p.graph.initializers.size() == m.graph.initializers.size());
  for (size_t i = 0; i < m.graph.initializers.size(); ++i) {
    INFO(m.graph.initializers[i].name);
    CHECK(p.graph.initializers[i].name == m.graph.initializers[i].name);
    CHECK(same_tensor(p.graph.initializers[i].tensor, m.graph.initializers[i].tensor));
  }
  REQUIRE(p.graph.nodes.size() == 1);
  const OnnxNode& n = p.graph.nodes[0];
  CHECK(n.name == "node0");
  CHECK(n.domain == "com.microsoft");
  CHECK(n.inputs == std::vector<std::string>{"x", "", "w_f32"});
  CHECK(n.attribute("i")->i == -3);
  CHECK(n.attribute("f")->f == 0.25f);
  CHECK(n.attribute("s")->s == "SAME_UPPER");
  CHECK(n.attribute("ints")->ints == std::vector<int64_t>{1, -2, int64_t{1} << 50});
  CHECK(n.attribute("floats")->floats == std::vector<float>{0.5f, -1.0f});
  CHECK(same_tensor(n.attribute("t")->t, Tensor::from<int64_t>({2}, {7, -7})));
  CHECK(n.attribute("strs")->strings == std::vector<std::string>{"a", ""});
  CHECK(n.attribute("missing") == nullptr);
  // Writing the parsed model again gives the same bytes.
  CHECK(serialize_onnx_model(p) == bytes);
}

TEST_CASE("onnx reader: an empty graph survives serialize -> parse", "[onnx]") {
  // issue 18: the writer dropped the empty graph message, so the parse said "no ONNX graph".
  OnnxModel m;
  m.ir_version = 7;
  m.opset_imports = {{"", 13}};
  REQUIRE(Model::from_onnx(m).is_ok());  // an empty graph loads
  const auto bytes = serialize_onnx_model(m);
  auto r = parse_onnx_model(bytes);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  CHECK(r->ir_version == 7);
  CHECK(r->opset("") == 13);
  CHECK(r->graph.nodes.empty());
  CHECK(r->graph.inputs.empty());
  CHECK(r->graph.outputs.empty());
  CHECK(r->graph.initializers.empty());
  CHECK(serialize_onnx_model(*r) == bytes);
  auto loaded = Model::load(bytes);
  INFO(loaded.status().to_string());
  CHECK(loaded.is_ok());
}

TEST_CASE("onnx reader: typed data fields, packed and unpacked", "[onnx]") {
  SECTION("float_data packed") {
    const std::string b = tensor_proto([](protozero::pbf_writer& w) {
      w.add_int64(1, 3);
      w.add_int32(2, 1);
      const float v[] = {1.0f, -0.5f, 3.0f};
      w.add_packed_float(4, std::begin(v), std::end(v));
      w.add_string(8, "f");
    });
    auto t = parse_onnx_tensor(as_bytes(b));
    REQUIRE(t.is_ok());
    CHECK(t->name == "f");
    CHECK(same_tensor(t->tensor, Tensor::from<float>({3}, {1.0f, -0.5f, 3.0f})));
  }
  SECTION("int32_data unpacked for int8, including negative values") {
    const std::string b = tensor_proto([](protozero::pbf_writer& w) {
      w.add_int64(1, 2);
      w.add_int64(1, 2);
      w.add_int32(2, 3);
      for (int v : {-128, -1, 0, 127}) w.add_int32(5, v);
    });
    auto t = parse_onnx_tensor(as_bytes(b));
    REQUIRE(t.is_ok());
    CHECK(same_tensor(t->tensor, Tensor::from<int8_t>({2, 2}, {-128, -1, 0, 127})));
  }
  SECTION("int32_data packed for uint8 and int32; int64_data packed") {
    const std::string u8 = tensor_proto([](protozero::pbf_writer& w) {
      w.add_int64(1, 3);
      w.add_int32(2, 2);
      const int32_t v[] = {0, 200, 255};
      w.add_packed_int32(5, std::begin(v), std::end(v));
    });
    auto t = parse_onnx_tensor(as_bytes(u8));
    REQUIRE(t.is_ok());
    CHECK(same_tensor(t->tensor, Tensor::from<uint8_t>({3}, {0, 200, 255})));
    const std::string i32 = tensor_proto([](protozero::pbf_writer& w) {
      w.add_int32(2, 6);  // scalar: no dims
      const int32_t v[] = {-2147483647 - 1};
      w.add_packed_int32(5, std::begin(v), std::end(v));
    });
    t = parse_onnx_tensor(as_bytes(i32));
    REQUIRE(t.is_ok());
    CHECK(same_tensor(t->tensor, Tensor::from<int32_t>({}, {-2147483647 - 1})));
    const std::string i64 = tensor_proto([](protozero::pbf_writer& w) {
      w.add_int64(1, 2);
      w.add_int32(2, 7);
      const int64_t v[] = {INT64_MIN, INT64_MAX};
      w.add_packed_int64(7, std::begin(v), std::end(v));
    });
    t = parse_onnx_tensor(as_bytes(i64));
    REQUIRE(t.is_ok());
    CHECK(same_tensor(t->tensor, Tensor::from<int64_t>({2}, {INT64_MIN, INT64_MAX})));
  }
  SECTION("a uint8 value outside 0..255 is refused") {
    const std::string b = tensor_proto([](protozero::pbf_writer& w) {
      w.add_int64(1, 1);
      w.add_int32(2, 2);
      w.add_int32(5, 256);
      w.add_string(8, "bad_u8");
    });
    auto t = parse_onnx_tensor(as_bytes(b));
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.status().code() == ErrorCode::kMalformed);
    CHECK_THAT(t.status().message(), Catch::Contains("bad_u8") && Catch::Contains("256"));
  }
}

TEST_CASE("onnx reader: tensors that lie about their size, type or location", "[onnx][errors]") {
  struct Case {
    const char* what;
    std::function<void(protozero::pbf_writer&)> fill;
    ErrorCode code;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {"raw_data shorter than dims",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 4);
         w.add_int32(2, 1);
         w.add_string(8, "short");
         w.add_bytes(9, std::string(12, '\0'));
       },
       ErrorCode::kMalformed, "short"},
      {"absurd dims with tiny data: refused before allocating",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, int64_t{1} << 40);
         w.add_int64(1, int64_t{1} << 20);
         w.add_int32(2, 1);
         w.add_string(8, "huge");
         w.add_bytes(9, std::string(16, '\0'));
       },
       ErrorCode::kTooLarge, "huge"},
      {"dims claiming 100 MB with 16 bytes of data: refused before allocating",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 5000);
         w.add_int64(1, 5000);
         w.add_int32(2, 1);
         w.add_string(8, "liar");
         w.add_bytes(9, std::string(16, '\0'));
       },
       ErrorCode::kMalformed, "liar"},
      {"dims claiming 100 MB with 4 typed floats",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 5000);
         w.add_int64(1, 5000);
         w.add_int32(2, 1);
         w.add_string(8, "typed_liar");
         const float v[] = {1, 2, 3, 4};
         w.add_packed_float(4, std::begin(v), std::end(v));
       },
       ErrorCode::kMalformed, "typed_liar"},
      {"dims whose product overflows",
       [](protozero::pbf_writer& w) {
         for (int i = 0; i < 4; ++i) w.add_int64(1, int64_t{1} << 40);
         w.add_int32(2, 1);
         w.add_string(8, "overflow");
       },
       ErrorCode::kTooLarge, "overflow"},
      {"negative dimension",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, -3);
         w.add_int32(2, 1);
         w.add_string(8, "neg");
       },
       ErrorCode::kMalformed, "neg"},
      {"external data",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 4);
         w.add_int32(2, 1);
         w.add_string(8, "weights");
         w.add_int32(14, 1);
       },
       ErrorCode::kUnsupported, "external"},
      {"float16",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 1);
         w.add_int32(2, 10);
         w.add_string(8, "half");
         w.add_bytes(9, std::string(2, '\0'));
       },
       ErrorCode::kUnsupported, "FLOAT16"},
      {"float elements in int64_data",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 1);
         w.add_int32(2, 1);
         w.add_string(8, "mixed");
         w.add_int64(7, 5);
       },
       ErrorCode::kMalformed, "int64_data"},
      {"both raw_data and float_data",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 1);
         w.add_int32(2, 1);
         w.add_string(8, "both");
         w.add_float(4, 1.0f);
         w.add_bytes(9, std::string(4, '\0'));
       },
       ErrorCode::kMalformed, "both"},
      {"packed float_data of 7 bytes",
       [](protozero::pbf_writer& w) {
         w.add_int64(1, 2);
         w.add_int32(2, 1);
         w.add_bytes(4, std::string(7, '\0'));
       },
       ErrorCode::kMalformed, "multiple of 4"},
      {"data_type with the wrong wire type",
       [](protozero::pbf_writer& w) { w.add_string(2, "FLOAT"); }, ErrorCode::kMalformed,
       "data_type"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const std::string b = tensor_proto(c.fill);
    auto t = parse_onnx_tensor(as_bytes(b));
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.status().code() == c.code);
    CHECK_THAT(t.status().message(), Catch::Contains(c.mentions));
  }
}

TEST_CASE("onnx reader: corrupt wire format", "[onnx][errors]") {
  auto check = [](std::vector<uint8_t> bytes, const char* mentions) {
    auto r = parse_onnx_model(bytes);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == ErrorCode::kMalformed);
    CHECK_THAT(r.status().message(), Catch::Contains(mentions));
  };
  check({}, "empty");
  // ir_version whose varint never ends.
  check({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "varint");
  // Field 7 (graph) claims 100 bytes, 2 present.
  check({0x3a, 100, 0x0a, 0x00}, "claims 100 bytes");
  // Wire type 3 (start group) is not supported.
  check({0x0b}, "wire type");
  // Field number 0.
  check({0x00, 0x01}, "field number");
  check({'P', 'K', 3, 4, 20, 0}, "not an ONNX model");  // a zip file, say
  // No graph at all.
  check({0x08, 0x07}, "no ONNX graph");
  // A graph attribute (If's then_branch) is refused, naming node and attribute.
  OnnxModel m = sample_model();
  std::string attr;
  {
    protozero::pbf_writer a(attr);
    a.add_string(1, "then_branch");
    a.add_int32(20, 5);
    protozero::pbf_writer g(a, 6);
    g.add_string(2, "sub");
  }
  std::string node;
  {
    protozero::pbf_writer n(node);
    n.add_string(3, "if0");
    n.add_string(4, "If");
    n.add_message(5, attr);
  }
  std::string model;
  {
    protozero::pbf_writer w(model);
    w.add_int64(1, 7);
    protozero::pbf_writer g(w, 7);
    g.add_message(1, node);
  }
  auto r = parse_onnx_model(as_bytes(model));
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(r.status().message(),
             Catch::Contains("if0") && Catch::Contains("then_branch") && Catch::Contains("GRAPH"));
}

TEST_CASE("onnx reader: every truncation and random corruption gives a Status", "[onnx][errors]") {
  const auto bytes = serialize_onnx_model(sample_model());
  // The graph field spans the bytes after its key and length; a cut inside it must fail.
  size_t graph_begin = 0, graph_end = 0;
  {
    protozero::pbf_reader r(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (r.next()) {
      if (r.tag() == 7) {
        const auto v = r.get_view();
        graph_begin = static_cast<size_t>(v.data() - reinterpret_cast<const char*>(bytes.data()));
        graph_end = graph_begin + v.size();
      } else {
        r.skip();
      }
    }
  }
  REQUIRE(graph_end > graph_begin);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = parse_onnx_model(std::span<const uint8_t>(bytes.data(), n));
    if (n >= graph_begin - 2 && n < graph_end) {
      INFO("prefix of " << n << " bytes");
      CHECK_FALSE(r.is_ok());
    }
  }
  std::mt19937 rng(5);
  int failures = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto copy = bytes;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) {
      copy[rng() % copy.size()] = static_cast<uint8_t>(rng());
    }
    auto r = parse_onnx_model(copy);
    if (!r.is_ok()) {
      ++failures;
      CHECK_FALSE(r.status().message().empty());
    }
  }
  CHECK(failures > 100);  // corruption is mostly noticed; none of it crashes
}

TEST_CASE("onnx reader: ONNX's own test-case models and tensors", "[onnx]") {
  if (!file_exists(kOnnxNodeTests)) FAIL(missing_onnx_testdata_message());
  const std::string dir = kOnnxNodeTests + "/test_qlinearconv";
  auto model = parse_onnx_model(read_file(dir + "/model.onnx"));
  REQUIRE(model.is_ok());
  CHECK(model->opset("") == 10);
  REQUIRE(model->graph.nodes.size() == 1);
  const OnnxNode& n = model->graph.nodes[0];
  CHECK(n.op_type == "QLinearConv");
  CHECK(n.inputs.size() == 8);
  CHECK(model->graph.inputs.size() == 8);
  CHECK(model->graph.inputs[0].elem_type == 2);
  auto x = parse_onnx_tensor(read_file(dir + "/test_data_set_0/input_0.pb"));
  REQUIRE(x.is_ok());
  CHECK(x->tensor.dtype() == DType::kUInt8);
  CHECK(x->tensor.shape() == Shape{1, 1, 7, 7});
  CHECK(x->tensor.data<uint8_t>()[0] == 255);
  auto scale = parse_onnx_tensor(read_file(dir + "/test_data_set_0/input_1.pb"));
  REQUIRE(scale.is_ok());
  CHECK(scale->tensor.dtype() == DType::kFloat32);
  CHECK(scale->tensor.shape().empty());  // a scalar
  // Attributes of several types in one model.
  auto pool =
      parse_onnx_model(read_file(kOnnxNodeTests + "/test_averagepool_2d_same_upper/model.onnx"));
  REQUIRE(pool.is_ok());
  const OnnxNode& p = pool->graph.nodes.at(0);
  CHECK(p.attribute("auto_pad")->s == "SAME_UPPER");
  CHECK(p.attribute("kernel_shape")->ints == std::vector<int64_t>{2, 2});
}
