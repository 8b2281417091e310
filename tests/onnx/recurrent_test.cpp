// Recurrent layers beyond ONNX's node cases (issue 10): LSTM, GRU and RNN in every direction,
// with per-row sequence_lens, initial states, peepholes, input_forget, linear_before_reset,
// clip, non-default activations and layout 1, against a reference written from the
// operator's equations in double; and the errors a wrong model or input gets.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;

namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

using Fn = std::function<double(double)>;
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Spec {
  std::string op = "LSTM";  // LSTM, GRU, RNN
  std::string direction = "forward";
  int64_t seq = 5, batch = 3, input = 4, hidden = 6;
  bool bias = true, lens = false, init = false, peepholes = false, input_forget = false;
  bool lbr = false, batch_first = false;
  float clip = 0.0f;
  std::vector<std::string> activations;  // empty: the defaults
  std::vector<float> alphas, betas;
};

int64_t gates(const Spec& s) { return s.op == "LSTM" ? 4 : s.op == "GRU" ? 3 : 1; }
int64_t dirs(const Spec& s) { return s.direction == "bidirectional" ? 2 : 1; }

struct Inputs {
  std::vector<float> x, w, r, b, h0, c0, p;
  std::vector<int32_t> lens;
};

Inputs make_inputs(const Spec& s, uint32_t seed) {
  const int64_t D = dirs(s), G = gates(s), H = s.hidden;
  Inputs in;
  in.x = random_values(static_cast<size_t>(s.seq * s.batch * s.input), seed);
  in.w = random_values(static_cast<size_t>(D * G * H * s.input), seed + 1, 0.5f);
  in.r = random_values(static_cast<size_t>(D * G * H * H), seed + 2, 0.5f);
  if (s.bias) in.b = random_values(static_cast<size_t>(D * 2 * G * H), seed + 3, 0.3f);
  if (s.init) {
    in.h0 = random_values(static_cast<size_t>(D * s.batch * H), seed + 4);
    in.c0 = random_values(static_cast<size_t>(D * s.batch * H), seed + 5);
  }
  if (s.peepholes) in.p = random_values(static_cast<size_t>(D * 3 * H), seed + 6, 0.3f);
  if (s.lens) {
    for (int64_t b = 0; b < s.batch; ++b) in.lens.push_back(static_cast<int32_t>(s.seq - (b * 2) % s.seq));
  }
  return in;
}

Fn activation(const std::string& name, float alpha, float beta) {
  if (name == "Sigmoid") return sigmoid;
  if (name == "Tanh") return [](double x) { return std::tanh(x); };
  if (name == "Relu") return [](double x) { return x > 0 ? x : 0.0; };
  if (name == "HardSigmoid") return [=](double x) { return std::clamp(alpha * x + beta, 0.0, 1.0); };
  if (name == "LeakyRelu") return [=](double x) { return x >= 0 ? x : alpha * x; };
  if (name == "ScaledTanh") return [=](double x) { return alpha * std::tanh(beta * x); };
  if (name == "Softsign") return [](double x) { return x / (1 + std::fabs(x)); };
  FAIL("no reference for activation " << name);
  return sigmoid;
}

/// The reference: Y [S, D, B, H] (time major, whatever the layout), Y_h and Y_c [D, B, H].
void reference(const Spec& s, const Inputs& in, std::vector<double>& Y, std::vector<double>& Yh,
               std::vector<double>& Yc) {
  const int64_t S = s.seq, B = s.batch, I = s.input, H = s.hidden, D = dirs(s), G = gates(s);
  Y.assign(static_cast<size_t>(S * D * B * H), 0.0);
  Yh.assign(static_cast<size_t>(D * B * H), 0.0);
  Yc.assign(static_cast<size_t>(D * B * H), 0.0);
  const size_t per = s.op == "LSTM" ? 3 : s.op == "GRU" ? 2 : 1;
  std::vector<std::string> names = s.activations;
  if (names.empty()) {
    for (int64_t d = 0; d < D; ++d) {
      if (s.op == "LSTM") names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
      if (s.op == "GRU") names.insert(names.end(), {"Sigmoid", "Tanh"});
      if (s.op == "RNN") names.insert(names.end(), {"Tanh"});
    }
  }
  std::vector<Fn> fns;
  size_t ai = 0, bi = 0;
  for (const auto& n : names) {
    const bool two = n == "HardSigmoid" || n == "ScaledTanh";
    const bool one = two || n == "LeakyRelu";
    float a = n == "HardSigmoid" ? 0.2f : n == "LeakyRelu" ? 0.01f : 1.0f;
    float b = n == "HardSigmoid" ? 0.5f : 1.0f;
    if (one && ai < s.alphas.size()) a = s.alphas[ai++];
    if (two && bi < s.betas.size()) b = s.betas[bi++];
    fns.push_back(activation(n, a, b));
  }
  const auto clip = [&](double v) { return s.clip > 0 ? std::clamp(v, -double(s.clip), double(s.clip)) : v; };
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = s.direction == "reverse" || d == 1;
    const Fn& f = fns[static_cast<size_t>(d) * per];
    const Fn& g = fns[static_cast<size_t>(d) * per + (per > 1 ? 1 : 0)];
    const Fn& h = fns[static_cast<size_t>(d) * per + (per > 2 ? 2 : 0)];
    auto W = [&](int64_t row, int64_t k) { return double(in.w[static_cast<size_t>((d * G * H + row) * I + k)]); };
    auto R = [&](int64_t row, int64_t k) { return double(in.r[static_cast<size_t>((d * G * H + row) * H + k)]); };
    auto Wb = [&](int64_t row) { return in.b.empty() ? 0.0 : double(in.b[static_cast<size_t>(d * 2 * G * H + row)]); };
    auto Rb = [&](int64_t row) { return in.b.empty() ? 0.0 : double(in.b[static_cast<size_t>(d * 2 * G * H + G * H + row)]); };
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = in.lens.empty() ? S : in.lens[static_cast<size_t>(b)];
      std::vector<double> hs(static_cast<size_t>(H), 0.0), cs(static_cast<size_t>(H), 0.0);
      if (!in.h0.empty()) {
        for (int64_t k = 0; k < H; ++k) {
          hs[static_cast<size_t>(k)] = in.h0[static_cast<size_t>((d * B + b) * H + k)];
          cs[static_cast<size_t>(k)] = in.c0[static_cast<size_t>((d * B + b) * H + k)];
        }
      }
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = reverse ? len - 1 - step : step;
        auto xw = [&](int64_t row) {
          double a = 0;
          for (int64_t k = 0; k < I; ++k) a += W(row, k) * in.x[static_cast<size_t>((t * B + b) * I + k)];
          return a;
        };
        auto hr = [&](int64_t row, const std::vector<double>& hv) {
          double a = 0;
          for (int64_t k = 0; k < H; ++k) a += R(row, k) * hv[static_cast<size_t>(k)];
          return a;
        };
        std::vector<double> hn(static_cast<size_t>(H)), cn(static_cast<size_t>(H));
        if (s.op == "RNN") {
          for (int64_t k = 0; k < H; ++k) hn[static_cast<size_t>(k)] = f(clip(xw(k) + hr(k, hs) + Wb(k) + Rb(k)));
        } else if (s.op == "LSTM") {
          for (int64_t k = 0; k < H; ++k) {
            const double cp = cs[static_cast<size_t>(k)];
            const double pi = in.p.empty() ? 0 : in.p[static_cast<size_t>(d * 3 * H + k)];
            const double po = in.p.empty() ? 0 : in.p[static_cast<size_t>(d * 3 * H + H + k)];
            const double pf = in.p.empty() ? 0 : in.p[static_cast<size_t>(d * 3 * H + 2 * H + k)];
            const double i = f(clip(xw(k) + hr(k, hs) + Wb(k) + Rb(k) + pi * cp));
            const double fg = s.input_forget ? 1 - i : f(clip(xw(2 * H + k) + hr(2 * H + k, hs) + Wb(2 * H + k) + Rb(2 * H + k) + pf * cp));
            const double cc = g(clip(xw(3 * H + k) + hr(3 * H + k, hs) + Wb(3 * H + k) + Rb(3 * H + k)));
            const double c = fg * cp + i * cc;
            const double o = f(clip(xw(H + k) + hr(H + k, hs) + Wb(H + k) + Rb(H + k) + po * c));
            cn[static_cast<size_t>(k)] = c;
            hn[static_cast<size_t>(k)] = o * h(c);
          }
        } else {
          std::vector<double> rh(static_cast<size_t>(H));
          std::vector<double> z(static_cast<size_t>(H)), r(static_cast<size_t>(H));
          for (int64_t k = 0; k < H; ++k) {
            z[static_cast<size_t>(k)] = f(clip(xw(k) + hr(k, hs) + Wb(k) + Rb(k)));
            r[static_cast<size_t>(k)] = f(clip(xw(H + k) + hr(H + k, hs) + Wb(H + k) + Rb(H + k)));
            rh[static_cast<size_t>(k)] = r[static_cast<size_t>(k)] * hs[static_cast<size_t>(k)];
          }
          for (int64_t k = 0; k < H; ++k) {
            const double pre = s.lbr ? xw(2 * H + k) + Wb(2 * H + k) + r[static_cast<size_t>(k)] * (hr(2 * H + k, hs) + Rb(2 * H + k))
                                     : xw(2 * H + k) + hr(2 * H + k, rh) + Wb(2 * H + k) + Rb(2 * H + k);
            const double ht = g(clip(pre));
            hn[static_cast<size_t>(k)] = (1 - z[static_cast<size_t>(k)]) * ht + z[static_cast<size_t>(k)] * hs[static_cast<size_t>(k)];
          }
        }
        hs = hn;
        if (s.op == "LSTM") cs = cn;
        for (int64_t k = 0; k < H; ++k) Y[static_cast<size_t>(((t * D + d) * B + b) * H + k)] = hs[static_cast<size_t>(k)];
      }
      for (int64_t k = 0; k < H; ++k) {
        Yh[static_cast<size_t>((d * B + b) * H + k)] = hs[static_cast<size_t>(k)];
        Yc[static_cast<size_t>((d * B + b) * H + k)] = cs[static_cast<size_t>(k)];
      }
    }
  }
}

OnnxValueInfo input_value(const std::string& name, std::vector<int64_t> dims, int32_t elem = 1) {
  OnnxValueInfo v;
  v.name = name;
  v.elem_type = elem;
  v.has_shape = true;
  for (int64_t d : dims) v.dims.push_back({d, ""});
  return v;
}

/// x (time major) -> batch first [B, S, I]; states [D, B, H] -> [B, D, H].
std::vector<float> to_batch_first(const std::vector<float>& v, int64_t a, int64_t b, int64_t n) {
  std::vector<float> out(v.size());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < n; ++k) out[static_cast<size_t>((j * a + i) * n + k)] = v[static_cast<size_t>((i * b + j) * n + k)];
  return out;
}

/// The model of `s` with W, R, B, P as initializers (or as inputs when weights_as_inputs).
OnnxModel model_of(const Spec& s, const Inputs& in, bool weights_as_inputs = false) {
  const int64_t D = dirs(s), G = gates(s), H = s.hidden, B = s.batch;
  OnnxModel m;
  m.opset_imports = {{"", s.batch_first ? 14 : 13}};
  m.graph.inputs.push_back(input_value("x", s.batch_first ? std::vector<int64_t>{B, s.seq, s.input}
                                                          : std::vector<int64_t>{s.seq, B, s.input}));
  std::vector<std::string> ins = {"x", "w", "r", s.bias ? "b" : "", s.lens ? "lens" : "", s.init ? "h0" : ""};
  auto add_weight = [&](const std::string& name, std::vector<int64_t> dims, const std::vector<float>& v) {
    if (weights_as_inputs) {
      m.graph.inputs.push_back(input_value(name, dims));
    } else {
      m.graph.initializers.push_back({name, Tensor::from<float>(dims, v)});
    }
  };
  add_weight("w", {D, G * H, s.input}, in.w);
  add_weight("r", {D, G * H, H}, in.r);
  if (s.bias) add_weight("b", {D, 2 * G * H}, in.b);
  if (s.lens) m.graph.initializers.push_back({"lens", Tensor::from<int32_t>({B}, in.lens)});
  const std::vector<int64_t> state = s.batch_first ? std::vector<int64_t>{B, D, H} : std::vector<int64_t>{D, B, H};
  if (s.init) m.graph.inputs.push_back(input_value("h0", state));
  if (s.op == "LSTM") {
    ins.push_back(s.init ? "c0" : "");
    if (s.init) m.graph.inputs.push_back(input_value("c0", state));
    ins.push_back(s.peepholes ? "p" : "");
    if (s.peepholes) add_weight("p", {D, 3 * H}, in.p);
  }
  while (!ins.empty() && ins.back().empty()) ins.pop_back();
  OnnxNode n;
  n.name = "rnn";
  n.op_type = s.op;
  n.inputs = ins;
  n.outputs = {"y", "y_h"};
  if (s.op == "LSTM") n.outputs.push_back("y_c");
  n.attributes.push_back(OnnxAttribute::make_int("hidden_size", H));
  n.attributes.push_back(OnnxAttribute::make_string("direction", s.direction));
  if (s.batch_first) n.attributes.push_back(OnnxAttribute::make_int("layout", 1));
  if (s.input_forget) n.attributes.push_back(OnnxAttribute::make_int("input_forget", 1));
  if (s.lbr) n.attributes.push_back(OnnxAttribute::make_int("linear_before_reset", 1));
  if (s.clip > 0) n.attributes.push_back(OnnxAttribute::make_float("clip", s.clip));
  if (!s.activations.empty()) {
    OnnxAttribute a;
    a.name = "activations";
    a.type = OnnxAttributeType::kStrings;
    a.strings = s.activations;
    n.attributes.push_back(a);
  }
  if (!s.alphas.empty()) n.attributes.push_back(OnnxAttribute::make_floats("activation_alpha", s.alphas));
  if (!s.betas.empty()) n.attributes.push_back(OnnxAttribute::make_floats("activation_beta", s.betas));
  m.graph.nodes.push_back(n);
  for (const auto& o : n.outputs) {
    OnnxValueInfo v;
    v.name = o;
    m.graph.outputs.push_back(v);
  }
  return m;
}

void check_against_reference(const Spec& s, uint32_t seed, bool weights_as_inputs = false) {
  const Inputs in = make_inputs(s, seed);
  std::vector<double> Y, Yh, Yc;
  reference(s, in, Y, Yh, Yc);
  auto model = Model::from_onnx(model_of(s, in, weights_as_inputs));
  REQUIRE(model.is_ok());
  const int64_t D = dirs(s), B = s.batch, H = s.hidden, G = gates(s);
  std::vector<Tensor> feeds;
  feeds.push_back(s.batch_first ? Tensor::from<float>({B, s.seq, s.input}, to_batch_first(in.x, s.seq, B, s.input))
                                : Tensor::from<float>({s.seq, B, s.input}, in.x));
  if (weights_as_inputs) {
    feeds.push_back(Tensor::from<float>({D, G * H, s.input}, in.w));
    feeds.push_back(Tensor::from<float>({D, G * H, H}, in.r));
    if (s.bias) feeds.push_back(Tensor::from<float>({D, 2 * G * H}, in.b));
  }
  const auto state = [&](const std::vector<float>& v) {
    return s.batch_first ? Tensor::from<float>({B, D, H}, to_batch_first(v, D, B, H))
                         : Tensor::from<float>({D, B, H}, v);
  };
  if (s.init) feeds.push_back(state(in.h0));
  if (s.init && s.op == "LSTM") feeds.push_back(state(in.c0));
  if (weights_as_inputs && s.peepholes) feeds.push_back(Tensor::from<float>({D, 3 * H}, in.p));
  auto out = model->run(feeds);
  REQUIRE(out.is_ok());
  // Our outputs back to time-major [S, D, B, H] and [D, B, H].
  const Tensor& y = (*out)[0];
  REQUIRE(y.shape() == (s.batch_first ? Shape{B, s.seq, D, H} : Shape{s.seq, D, B, H}));
  double worst = 0;
  for (int64_t t = 0; t < s.seq; ++t)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < H; ++k) {
          const size_t ours = static_cast<size_t>(s.batch_first ? ((b * s.seq + t) * D + d) * H + k : ((t * D + d) * B + b) * H + k);
          worst = std::max(worst, std::fabs(y.data<float>()[ours] - Y[static_cast<size_t>(((t * D + d) * B + b) * H + k)]));
        }
  for (size_t o = 1; o < out->size(); ++o) {
    const std::vector<double>& want = o == 1 ? Yh : Yc;
    const Tensor& got = (*out)[o];
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < H; ++k) {
          const size_t ours = static_cast<size_t>(s.batch_first ? (b * D + d) * H + k : (d * B + b) * H + k);
          worst = std::max(worst, std::fabs(got.data<float>()[ours] - want[static_cast<size_t>((d * B + b) * H + k)]));
        }
  }
  CHECK(worst < 2e-5);
}

}  // namespace

TEST_CASE("LSTM, GRU and RNN match their equations in every direction and option",
          "[onnx][recurrent]") {
  uint32_t seed = 100;
  for (const std::string op : {"LSTM", "GRU", "RNN"}) {
    for (const std::string direction : {"forward", "reverse", "bidirectional"}) {
      for (int variant = 0; variant < 4; ++variant) {
        Spec s;
        s.op = op;
        s.direction = direction;
        s.lens = variant >= 1;           // rows of lengths 5, 3, 1
        s.init = variant >= 2;
        s.batch_first = variant == 3;    // layout 1 (opset 14)
        s.bias = variant != 1;
        s.peepholes = op == "LSTM" && variant >= 2;
        s.lbr = op == "GRU" && variant % 2 == 1;
        INFO(op << " " << direction << " variant " << variant);
        check_against_reference(s, seed++);
      }
    }
  }
}

TEST_CASE("Recurrent options: input_forget, clip, activations with alpha and beta, weights given at run time",
          "[onnx][recurrent]") {
  Spec lstm;
  lstm.direction = "bidirectional";
  lstm.input_forget = true;
  lstm.clip = 0.7f;
  lstm.init = true;
  lstm.activations = {"HardSigmoid", "LeakyRelu", "ScaledTanh", "Sigmoid", "Softsign", "Tanh"};
  lstm.alphas = {0.3f, 0.05f, 1.5f};
  lstm.betas = {0.4f, 0.8f};
  check_against_reference(lstm, 7);
  Spec gru;
  gru.op = "GRU";
  gru.lens = true;
  gru.activations = {"Relu", "Tanh"};
  check_against_reference(gru, 8, /*weights_as_inputs=*/true);
  Spec rnn;
  rnn.op = "RNN";
  rnn.hidden = 1;
  rnn.seq = 1;
  rnn.batch = 1;
  check_against_reference(rnn, 9);
}

TEST_CASE("Recurrent errors name the problem and leave the model usable", "[onnx][recurrent]") {
  Spec s;
  Inputs in = make_inputs(s, 3);
  SECTION("W of the wrong shape is refused at load") {
    OnnxModel m = model_of(s, in);
    m.graph.initializers[0].tensor = Tensor::from<float>({1, 23, 4}, std::vector<float>(23 * 4, 0.1f));
    auto model = Model::from_onnx(m);
    REQUIRE_FALSE(model.is_ok());
    CHECK(model.status().code() == ErrorCode::kShapeMismatch);
    CHECK_THAT(model.status().message(), Catch::Contains("LSTM W [1, 23, 4]"));
  }
  SECTION("an unknown activation") {
    s.activations = {"Sigmoid", "Tanh", "Swish"};
    auto model = Model::from_onnx(model_of(s, in));
    REQUIRE_FALSE(model.is_ok());
    CHECK(model.status().code() == ErrorCode::kUnsupported);
    CHECK_THAT(model.status().message(), Catch::Contains("activation 'Swish'"));
  }
  SECTION("the wrong number of activations") {
    s.direction = "bidirectional";
    s.activations = {"Sigmoid", "Tanh", "Tanh"};
    auto model = Model::from_onnx(model_of(s, make_inputs(s, 4)));
    REQUIRE_FALSE(model.is_ok());
    CHECK(model.status().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(model.status().message(), Catch::Contains("6 are needed"));
  }
  SECTION("a direction that does not exist, layout before opset 14") {
    s.direction = "sideways";
    auto model = Model::from_onnx(model_of(s, in));
    REQUIRE_FALSE(model.is_ok());
    CHECK_THAT(model.status().message(), Catch::Contains("direction 'sideways'"));
    s.direction = "forward";
    OnnxModel m = model_of(s, in);
    m.graph.nodes[0].attributes.push_back(OnnxAttribute::make_int("layout", 1));
    auto old = Model::from_onnx(m);
    REQUIRE_FALSE(old.is_ok());
    CHECK(old.status().code() == ErrorCode::kUnsupported);
    CHECK_THAT(old.status().message(), Catch::Contains("'layout' is not part of LSTM-7"));
  }
  SECTION("sequence_lens out of range, NaN input: errors at run time, then a good run") {
    s.lens = true;
    in = make_inputs(s, 5);
    OnnxModel m = model_of(s, in);
    for (auto& init : m.graph.initializers) {
      if (init.name == "lens") init.tensor = Tensor::from<int32_t>({3}, {5, 6, 1});
    }
    auto bad = Model::from_onnx(m);
    REQUIRE(bad.is_ok());
    const Tensor x = Tensor::from<float>({s.seq, s.batch, s.input}, in.x);
    auto r = bad->run({&x, 1});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == ErrorCode::kOutOfRange);
    CHECK_THAT(r.status().message(), Catch::Contains("sequence_lens has 6"));
    auto model = Model::from_onnx(model_of(s, in));
    REQUIRE(model.is_ok());
    std::vector<float> nan_x = in.x;
    nan_x[7] = std::nanf("");
    const Tensor xn = Tensor::from<float>({s.seq, s.batch, s.input}, nan_x);
    auto rn = model->run({&xn, 1});
    REQUIRE_FALSE(rn.is_ok());
    CHECK(rn.status().code() == ErrorCode::kNotFinite);
    auto good = model->run({&x, 1});
    REQUIRE(good.is_ok());
    CHECK(good->size() == 3);
  }
}
