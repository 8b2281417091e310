// Recurrent layers, fp32: RNN, GRU and LSTM (opsets 7 and 14), forward, reverse and
// bidirectional, with sequence_lens, initial states, LSTM peepholes and input_forget, GRU's
// linear_before_reset, the cell clip, every activation the spec lists (with activation_alpha
// and activation_beta consumed in order by the functions that take them, as onnxruntime
// does) and layout 1 (batch first, opset 14).
//
// Per direction the input projection X W^T + W_b (+ R_b where it can be folded) is one
// packed fp32 GEMM over every time step; each step adds H_{t-1} R^T (a second packed GEMM
// on the batch), then applies the gates. Rows of a batch whose sequence is shorter stop at
// their own length: their Y rows past it stay 0 and Y_h / Y_c hold their last valid state.
// A reverse direction runs each row from its own last valid step backwards.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "ops_common.hpp"
#include "quantlab/gemm.hpp"

namespace quantlab::ops {
namespace {

enum class Cell { kRnn, kGru, kLstm };

constexpr int64_t gates_of(Cell c) { return c == Cell::kRnn ? 1 : c == Cell::kGru ? 3 : 4; }
constexpr size_t functions_of(Cell c) { return c == Cell::kRnn ? 1 : c == Cell::kGru ? 2 : 3; }
constexpr const char* name_of(Cell c) {
  return c == Cell::kRnn ? "RNN" : c == Cell::kGru ? "GRU" : "LSTM";
}

// --- Activation functions --------------------------------------------------------------------

struct Activation {
  enum class Kind {
    kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid,
    kElu, kSoftsign, kSoftplus,
  };
  Kind kind = Kind::kSigmoid;
  float alpha = 0.0f, beta = 0.0f;

  float operator()(float x) const {
    switch (kind) {
      case Kind::kRelu: return std::max(x, 0.0f);
      case Kind::kTanh: return std::tanh(x);
      case Kind::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
      case Kind::kAffine: return alpha * x + beta;
      case Kind::kLeakyRelu: return x >= 0.0f ? x : alpha * x;
      case Kind::kThresholdedRelu: return x > alpha ? x : 0.0f;
      case Kind::kScaledTanh: return alpha * std::tanh(beta * x);
      case Kind::kHardSigmoid: return std::clamp(alpha * x + beta, 0.0f, 1.0f);
      case Kind::kElu: return x >= 0.0f ? x : alpha * (std::exp(x) - 1.0f);
      case Kind::kSoftsign: return x / (1.0f + std::fabs(x));
      case Kind::kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

struct ActivationName {
  const char* name;
  Activation::Kind kind;
  int params;  // how many of (alpha, beta) it takes
  float alpha, beta;  // defaults, as the ONNX operators of the same name (onnxruntime's)
};

constexpr ActivationName kActivations[] = {
    {"relu", Activation::Kind::kRelu, 0, 0, 0},
    {"tanh", Activation::Kind::kTanh, 0, 0, 0},
    {"sigmoid", Activation::Kind::kSigmoid, 0, 0, 0},
    {"affine", Activation::Kind::kAffine, 2, 1.0f, 0.0f},
    {"leakyrelu", Activation::Kind::kLeakyRelu, 1, 0.01f, 0},
    {"thresholdedrelu", Activation::Kind::kThresholdedRelu, 1, 1.0f, 0},
    {"scaledtanh", Activation::Kind::kScaledTanh, 2, 1.0f, 1.0f},
    {"hardsigmoid", Activation::Kind::kHardSigmoid, 2, 0.2f, 0.5f},
    {"elu", Activation::Kind::kElu, 1, 1.0f, 0},
    {"softsign", Activation::Kind::kSoftsign, 0, 0, 0},
    {"softplus", Activation::Kind::kSoftplus, 0, 0, 0},
};

/// The activations of every direction: `activations` (names, case-insensitive, as
/// onnxruntime reads them) or the cell's defaults, alpha and beta taken in order.
Result<std::vector<Activation>> read_activations(const NodeContext& ctx, Cell cell,
                                                 int64_t directions) {
  const size_t per = functions_of(cell);
  const size_t want = per * static_cast<size_t>(directions);
  std::vector<std::string> names;
  if (const OnnxAttribute* a = ctx.node().attribute("activations")) {
    names = a->strings;
    if (names.size() != want) {
      return invalid_argument(std::string(name_of(cell)) + " activations lists " +
                              std::to_string(names.size()) + " functions; " +
                              std::to_string(want) + " are needed (" + std::to_string(per) +
                              " per direction)");
    }
  } else {
    for (int64_t d = 0; d < directions; ++d) {
      if (cell == Cell::kRnn) names.insert(names.end(), {"Tanh"});
      if (cell == Cell::kGru) names.insert(names.end(), {"Sigmoid", "Tanh"});
      if (cell == Cell::kLstm) names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
    }
  }
  const OnnxAttribute* alphas = ctx.node().attribute("activation_alpha");
  const OnnxAttribute* betas = ctx.node().attribute("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<Activation> out;
  for (const std::string& n : names) {
    std::string lower(n);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const ActivationName* found = nullptr;
    for (const auto& a : kActivations) {
      if (lower == a.name) found = &a;
    }
    if (!found) {
      return unsupported(std::string(name_of(cell)) + " activation '" + n +
                         "' (quantlab runs Relu, Tanh, Sigmoid, Affine, LeakyRelu, "
                         "ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)");
    }
    Activation act{found->kind, found->alpha, found->beta};
    if (found->params >= 1 && alphas && next_alpha < alphas->floats.size()) {
      act.alpha = alphas->floats[next_alpha++];
    }
    if (found->params >= 2 && betas && next_beta < betas->floats.size()) {
      act.beta = betas->floats[next_beta++];
    }
    out.push_back(act);
  }
  return out;
}

// --- Load-time settings ----------------------------------------------------------------------

struct Settings {
  Cell cell = Cell::kLstm;
  int64_t directions = 1;
  bool reverse_only = false;  // direction = "reverse"
  int64_t hidden = -1;        // from hidden_size, else from R at run time
  bool batch_first = false;   // layout = 1
  bool input_forget = false;  // LSTM
  bool linear_before_reset = false;  // GRU
  std::optional<float> clip;
  std::vector<Activation> acts;  // functions_of(cell) per direction
};

Status check_rnn_attributes(const NodeContext& ctx, Cell cell) {
  const bool v14 = ctx.version() >= 14;
  if (cell == Cell::kLstm) {
    return v14 ? ctx.check_attributes({"activation_alpha", "activation_beta", "activations", "clip",
                                       "direction", "hidden_size", "input_forget", "layout"})
               : ctx.check_attributes({"activation_alpha", "activation_beta", "activations", "clip",
                                       "direction", "hidden_size", "input_forget"});
  }
  if (cell == Cell::kGru) {
    return v14 ? ctx.check_attributes({"activation_alpha", "activation_beta", "activations", "clip",
                                       "direction", "hidden_size", "linear_before_reset", "layout"})
               : ctx.check_attributes({"activation_alpha", "activation_beta", "activations", "clip",
                                       "direction", "hidden_size", "linear_before_reset"});
  }
  return v14 ? ctx.check_attributes({"activation_alpha", "activation_beta", "activations", "clip",
                                     "direction", "hidden_size", "layout"})
             : ctx.check_attributes({"activation_alpha", "activation_beta", "activations", "clip",
                                     "direction", "hidden_size"});
}

Result<Settings> read_settings(const NodeContext& ctx, Cell cell) {
  QL_RETURN_IF_ERROR(check_rnn_attributes(ctx, cell));
  Settings s;
  s.cell = cell;
  auto direction = ctx.attr_string("direction", "forward");
  if (!direction) return direction.status();
  if (*direction == "bidirectional") {
    s.directions = 2;
  } else if (*direction == "reverse") {
    s.reverse_only = true;
  } else if (*direction != "forward") {
    return invalid_argument(std::string(name_of(cell)) + " direction '" + *direction +
                            "' (forward, reverse or bidirectional)");
  }
  auto hidden = ctx.attr_int("hidden_size", -1);
  if (!hidden) return hidden.status();
  if (ctx.has_attribute("hidden_size") && *hidden < 1) {
    return invalid_argument(std::string(name_of(cell)) + " hidden_size " +
                            std::to_string(*hidden) + " (must be >= 1)");
  }
  s.hidden = *hidden;
  auto layout = ctx.attr_int("layout", 0);
  if (!layout) return layout.status();
  if (*layout != 0 && *layout != 1) {
    return invalid_argument(std::string(name_of(cell)) + " layout " + std::to_string(*layout) +
                            " (0 or 1)");
  }
  s.batch_first = *layout == 1;
  auto input_forget = ctx.attr_int("input_forget", 0);
  if (!input_forget) return input_forget.status();
  s.input_forget = *input_forget != 0;
  auto lbr = ctx.attr_int("linear_before_reset", 0);
  if (!lbr) return lbr.status();
  s.linear_before_reset = *lbr != 0;
  if (ctx.has_attribute("clip")) {
    auto clip = ctx.attr_float("clip", 0.0f);
    if (!clip) return clip.status();
    if (!(*clip > 0.0f)) {
      return invalid_argument(std::string(name_of(cell)) + " clip " + std::to_string(*clip) +
                              " (must be > 0)");
    }
    s.clip = *clip;
  }
  auto acts = read_activations(ctx, cell, s.directions);
  if (!acts) return acts.status();
  s.acts = std::move(*acts);
  return s;
}

// --- Run time --------------------------------------------------------------------------------

/// The shapes of one call, checked against each other.
struct Geometry {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
};

Status expect_dims(const Tensor* t, const Dims& want, const char* what, Cell cell) {
  if (!t) return Status::ok();
  if (t->shape() != want) {
    return shape_mismatch(std::string(name_of(cell)) + " " + what + " is " +
                          shape_string(t->shape()) + "; expected " + shape_string(want));
  }
  return Status::ok();
}

Result<Geometry> check_inputs(const Settings& s, std::span<const Tensor* const> in) {
  const Cell cell = s.cell;
  const Tensor& X = *in[0];
  const Tensor& W = *in[1];
  const Tensor& R = *in[2];
  const std::string name = name_of(cell);
  if (X.rank() != 3) return shape_mismatch(name + " X " + shape_string(X.shape()) + " must be 3-D");
  if (W.rank() != 3 || R.rank() != 3) {
    return shape_mismatch(name + " W " + shape_string(W.shape()) + " and R " +
                          shape_string(R.shape()) + " must be 3-D");
  }
  Geometry g;
  g.seq = X.shape()[s.batch_first ? 1 : 0];
  g.batch = X.shape()[s.batch_first ? 0 : 1];
  g.input = X.shape()[2];
  g.hidden = s.hidden > 0 ? s.hidden : R.shape()[2];
  const int64_t G = gates_of(cell), D = s.directions, H = g.hidden;
  if (H < 1 || g.input < 1) {
    return shape_mismatch(name + " needs an input size and a hidden size >= 1 (X " +
                          shape_string(X.shape()) + ", R " + shape_string(R.shape()) + ")");
  }
  QL_RETURN_IF_ERROR(expect_dims(&W, {D, G * H, g.input}, "W", cell));
  QL_RETURN_IF_ERROR(expect_dims(&R, {D, G * H, H}, "R", cell));
  const auto at = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  QL_RETURN_IF_ERROR(expect_dims(at(3), {D, 2 * G * H}, "B", cell));
  QL_RETURN_IF_ERROR(expect_dims(at(4), {g.batch}, "sequence_lens", cell));
  const Dims state = s.batch_first ? Dims{g.batch, D, H} : Dims{D, g.batch, H};
  QL_RETURN_IF_ERROR(expect_dims(at(5), state, "initial_h", cell));
  if (cell == Cell::kLstm) {
    QL_RETURN_IF_ERROR(expect_dims(at(6), state, "initial_c", cell));
    QL_RETURN_IF_ERROR(expect_dims(at(7), {D, 3 * H}, "P", cell));
  }
  if (const Tensor* lens = at(4)) {
    for (int32_t v : lens->data<int32_t>()) {
      if (v < 0 || v > g.seq) {
        return out_of_range(name + " sequence_lens has " + std::to_string(v) +
                            "; each must be in [0, " + std::to_string(g.seq) + "]");
      }
    }
  }
  // W, R and B are checked where they are packed (PackedGemmF32::pack refuses non-finite
  // weights and biases): once at load for constants, not on every run.
  for (size_t i : {size_t{0}, size_t{5}, size_t{6}, size_t{7}}) {
    const Tensor* t = at(i);
    if (!t || t->dtype() != DType::kFloat32) continue;
    for (float v : t->data<float>()) {
      if (!std::isfinite(v)) return not_finite(name + " input " + std::to_string(i) + " holds " + std::to_string(v));
    }
  }
  return g;
}

/// Element (b, d, k) of a state tensor ([D, B, H], or [B, D, H] batch first).
size_t state_index(const Settings& s, const Geometry& g, int64_t d, int64_t b, int64_t k) {
  const int64_t D = s.directions, B = g.batch, H = g.hidden;
  return static_cast<size_t>(s.batch_first ? (b * D + d) * H + k : (d * B + b) * H + k);
}

/// Element (t, d, b, k) of Y ([S, D, B, H], or [B, S, D, H] batch first).
size_t y_index(const Settings& s, const Geometry& g, int64_t t, int64_t d, int64_t b, int64_t k) {
  const int64_t S = g.seq, D = s.directions, B = g.batch, H = g.hidden;
  return static_cast<size_t>(s.batch_first ? ((b * S + t) * D + d) * H + k
                                           : ((t * D + d) * B + b) * H + k);
}

/// One direction's weights packed for the fp32 GEMM: the input projection with its folded
/// bias, the recurrent projection of every gate but GRU's h gate, and GRU's h gate alone.
struct PackedDirection {
  PackedGemmF32 x;
  PackedGemmF32 r_main;
  std::optional<PackedGemmF32> r_h;
};

/// Packs each direction's W, R and B (shapes already checked): once at load when they are
/// constant, else at each run.
Result<std::vector<PackedDirection>> pack_directions(const Settings& s, const Tensor& Wt,
                                                     const Tensor& Rt, const Tensor* Bt,
                                                     int64_t input, int64_t H) {
  const Cell cell = s.cell;
  const int64_t G = gates_of(cell);
  const size_t GH = static_cast<size_t>(G * H), I = static_cast<size_t>(input);
  const size_t Hs = static_cast<size_t>(H);
  std::vector<PackedDirection> out;
  for (int64_t d = 0; d < s.directions; ++d) {
    const size_t ds = static_cast<size_t>(d);
    const auto W = Wt.data<float>().subspan(ds * GH * I, GH * I);
    const auto R = Rt.data<float>().subspan(ds * GH * Hs, GH * Hs);
    std::vector<float> wb(GH, 0.0f), rb(GH, 0.0f);
    if (Bt) {
      const auto bv = Bt->data<float>().subspan(ds * 2 * GH, 2 * GH);
      std::copy(bv.begin(), bv.begin() + static_cast<std::ptrdiff_t>(GH), wb.begin());
      std::copy(bv.begin() + static_cast<std::ptrdiff_t>(GH), bv.end(), rb.begin());
    }
    // The input projection's bias: W_b + R_b, except GRU's linear-before-reset h gate, whose
    // R_b is added inside r * (H R_h^T + R_bh).
    const bool lbr = cell == Cell::kGru && s.linear_before_reset;
    std::vector<float> xbias(GH);
    for (size_t j = 0; j < GH; ++j) xbias[j] = wb[j] + (lbr && j >= 2 * Hs ? 0.0f : rb[j]);
    auto x = PackedGemmF32::pack(W, G * H, input, xbias, FusedActivation::kNone);
    if (!x) return x.status();
    // Recurrent weights: all gates at once, except GRU's h gate, which multiplies r * h (or
    // r * (h R_h^T + R_bh)) and so is its own GEMM.
    const int64_t rg = cell == Cell::kGru ? 2 : G;
    auto r_main = PackedGemmF32::pack(R.subspan(0, static_cast<size_t>(rg) * Hs * Hs), rg * H, H,
                                      {}, FusedActivation::kNone);
    if (!r_main) return r_main.status();
    PackedDirection p{std::move(*x), std::move(*r_main), std::nullopt};
    if (cell == Cell::kGru) {
      std::span<const float> rbh;
      if (lbr) rbh = std::span<const float>(rb).subspan(2 * Hs);
      auto h = PackedGemmF32::pack(R.subspan(2 * Hs * Hs), H, H, rbh, FusedActivation::kNone);
      if (!h) return h.status();
      p.r_h = std::move(*h);
    }
    out.push_back(std::move(p));
  }
  return out;
}

Status run_recurrent(const Settings& s, const std::vector<PackedDirection>* prepacked,
                     std::span<const Tensor* const> in, std::span<Tensor> out) {
  auto geometry = check_inputs(s, in);
  if (!geometry) return geometry.status();
  const Geometry g = *geometry;
  const auto at = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  std::vector<PackedDirection> local;
  if (!prepacked) {
    auto p = pack_directions(s, *in[1], *in[2], at(3), g.input, g.hidden);
    if (!p) return p.status();
    local = std::move(*p);
    prepacked = &local;
  }
  const Cell cell = s.cell;
  const int64_t S = g.seq, B = g.batch, I = g.input, H = g.hidden, G = gates_of(cell);
  const int64_t D = s.directions;
  const Tensor* lens_t = at(4);
  const Tensor* h0 = at(5);
  const Tensor* c0 = cell == Cell::kLstm ? at(6) : nullptr;
  const Tensor* P = cell == Cell::kLstm ? at(7) : nullptr;

  auto Y = new_tensor(DType::kFloat32, s.batch_first ? Dims{B, S, D, H} : Dims{S, D, B, H});
  if (!Y) return Y.status();
  const Dims state_dims = s.batch_first ? Dims{B, D, H} : Dims{D, B, H};
  auto Yh = new_tensor(DType::kFloat32, state_dims);
  if (!Yh) return Yh.status();
  auto Yc = new_tensor(DType::kFloat32, state_dims);
  if (!Yc) return Yc.status();

  // X as [S * B, I] rows in time-major order.
  std::vector<float> x(static_cast<size_t>(S * B * I));
  const float* xp = in[0]->data<float>().data();
  for (int64_t t = 0; t < S; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      const float* src = xp + (s.batch_first ? (b * S + t) : (t * B + b)) * I;
      std::copy(src, src + I, x.begin() + (t * B + b) * I);
    }
  }
  std::vector<int64_t> lens(static_cast<size_t>(B), S);
  if (lens_t) {
    for (int64_t b = 0; b < B; ++b) lens[static_cast<size_t>(b)] = lens_t->data<int32_t>()[static_cast<size_t>(b)];
  }
  const auto clip = [&](float v) { return s.clip ? std::clamp(v, -*s.clip, *s.clip) : v; };
  const size_t GH = static_cast<size_t>(G * H);
  float* y = Y->data<float>().data();

  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = s.reverse_only || d == 1;
    const Activation* act = &s.acts[static_cast<size_t>(d) * functions_of(cell)];
    const PackedDirection& pk = (*prepacked)[static_cast<size_t>(d)];
    std::vector<float> xw(static_cast<size_t>(S * B) * GH);
    if (S * B > 0) QL_RETURN_IF_ERROR(pk.x.run(x.data(), S * B, xw.data()));

    // State: h [B, H], c [B, H].
    std::vector<float> h(static_cast<size_t>(B * H), 0.0f), c(static_cast<size_t>(B * H), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t k = 0; k < H; ++k) {
        if (h0) h[static_cast<size_t>(b * H + k)] = h0->data<float>()[state_index(s, g, d, b, k)];
        if (c0) c[static_cast<size_t>(b * H + k)] = c0->data<float>()[state_index(s, g, d, b, k)];
      }
    }
    const int64_t rg = cell == Cell::kGru ? 2 : G;  // gates in pk.r_main
    std::span<const float> pi, po, pf;
    if (P) {
      const auto pv = P->data<float>().subspan(static_cast<size_t>(d * 3 * H), static_cast<size_t>(3 * H));
      pi = pv.subspan(0, static_cast<size_t>(H));
      po = pv.subspan(static_cast<size_t>(H), static_cast<size_t>(H));
      pf = pv.subspan(static_cast<size_t>(2 * H), static_cast<size_t>(H));
    }
    // Per-step buffers, allocated once per direction.
    std::vector<float> h_next(h.size()), zs(static_cast<size_t>(B * H));
    std::vector<float> hr(static_cast<size_t>(B * rg * H)), hh(static_cast<size_t>(B * H)),
        rh(static_cast<size_t>(B * H));
    for (int64_t step = 0; step < S; ++step) {
      QL_RETURN_IF_ERROR(pk.r_main.run(h.data(), B, hr.data()));
      if (cell == Cell::kGru && s.linear_before_reset) QL_RETURN_IF_ERROR(pk.r_h->run(h.data(), B, hh.data()));
      std::copy(h.begin(), h.end(), h_next.begin());
      for (int64_t b = 0; b < B; ++b) {
        const int64_t len = lens[static_cast<size_t>(b)];
        if (step >= len) continue;
        const int64_t t = reverse ? len - 1 - step : step;
        const float* pre = &xw[static_cast<size_t>(t * B + b) * GH];
        const float* rec = &hr[static_cast<size_t>(b * rg * H)];
        float* hb = &h_next[static_cast<size_t>(b * H)];
        const float* hprev = &h[static_cast<size_t>(b * H)];
        float* cb = &c[static_cast<size_t>(b * H)];
        for (int64_t k = 0; k < H; ++k) {
          if (cell == Cell::kRnn) {
            hb[k] = act[0](clip(pre[k] + rec[k]));
          } else if (cell == Cell::kLstm) {
            const float cprev = cb[k];
            const float i = act[0](clip(pre[k] + rec[k] + (P ? pi[k] * cprev : 0.0f)));
            const float f = s.input_forget
                                ? 1.0f - i
                                : act[0](clip(pre[2 * H + k] + rec[2 * H + k] + (P ? pf[k] * cprev : 0.0f)));
            const float cand = act[1](clip(pre[3 * H + k] + rec[3 * H + k]));
            const float cnew = f * cprev + i * cand;
            const float o = act[0](clip(pre[H + k] + rec[H + k] + (P ? po[k] * cnew : 0.0f)));
            cb[k] = cnew;
            hb[k] = o * act[2](cnew);
          } else {
            const float z = act[0](clip(pre[k] + rec[k]));
            const float r = act[0](clip(pre[H + k] + rec[H + k]));
            zs[static_cast<size_t>(b * H + k)] = z;
            if (s.linear_before_reset) {
              const float hc = act[1](clip(pre[2 * H + k] + r * hh[static_cast<size_t>(b * H + k)]));
              hb[k] = (1.0f - z) * hc + z * hprev[k];
            } else {
              rh[static_cast<size_t>(b * H + k)] = r * hprev[k];
            }
          }
        }
      }
      if (cell == Cell::kGru && !s.linear_before_reset) {
        // h~ = g(x W_h^T + (r * h) R_h^T + W_bh + R_bh): (r * h) R_h^T for the whole batch.
        QL_RETURN_IF_ERROR(pk.r_h->run(rh.data(), B, hh.data()));
        for (int64_t b = 0; b < B; ++b) {
          const int64_t len = lens[static_cast<size_t>(b)];
          if (step >= len) continue;
          const int64_t t = reverse ? len - 1 - step : step;
          const float* pre = &xw[static_cast<size_t>(t * B + b) * GH];
          for (int64_t k = 0; k < H; ++k) {
            const size_t j = static_cast<size_t>(b * H + k);
            const float hc = act[1](clip(pre[2 * H + k] + hh[j]));
            h_next[j] = (1.0f - zs[j]) * hc + zs[j] * h[j];
          }
        }
      }
      h.swap(h_next);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t len = lens[static_cast<size_t>(b)];
        if (step >= len) continue;
        const int64_t t = reverse ? len - 1 - step : step;
        for (int64_t k = 0; k < H; ++k) y[y_index(s, g, t, d, b, k)] = h[static_cast<size_t>(b * H + k)];
      }
    }
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t k = 0; k < H; ++k) {
        Yh->data<float>()[state_index(s, g, d, b, k)] = h[static_cast<size_t>(b * H + k)];
        Yc->data<float>()[state_index(s, g, d, b, k)] = c[static_cast<size_t>(b * H + k)];
      }
    }
  }
  if (!out.empty()) out[0] = std::move(*Y);
  if (out.size() > 1) out[1] = std::move(*Yh);
  if (out.size() > 2) out[2] = std::move(*Yc);
  return Status::ok();
}

template <Cell C>
Result<std::unique_ptr<Op>> make_recurrent(const NodeContext& ctx, std::vector<ValueInfo>& out) {
  QL_RETURN_IF_ERROR(ctx.check_arity(3, C == Cell::kLstm ? 8 : 6, 0, C == Cell::kLstm ? 3 : 2));
  for (size_t i : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{6}, size_t{7}}) {
    if (i < ctx.num_inputs() && ctx.has_input(i)) QL_RETURN_IF_ERROR(ctx.check_dtype(i, {DType::kFloat32}));
  }
  if (ctx.has_input(4)) QL_RETURN_IF_ERROR(ctx.check_dtype(4, {DType::kInt32}));
  auto settings = read_settings(ctx, C);
  if (!settings) return settings.status();
  const Settings s = std::move(*settings);

  // Output dims from X and the hidden size (hidden_size, else R's last dim).
  const ValueInfo& X = ctx.input(0);
  const ValueInfo& R = ctx.input(2);
  if (X.rank_known && X.dims.size() != 3) {
    return shape_mismatch(std::string(name_of(C)) + " X " + dims_string(X.dims) + " must be 3-D");
  }
  int64_t hidden = s.hidden;
  if (hidden < 0 && R.rank_known && R.dims.size() == 3) hidden = R.dims[2];
  const int64_t seq = X.rank_known ? X.dims[s.batch_first ? 1 : 0] : kUnknownDim;
  const int64_t batch = X.rank_known ? X.dims[s.batch_first ? 0 : 1] : kUnknownDim;
  const int64_t D = s.directions;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].dtype = DType::kFloat32;
    out[i].rank_known = true;
    if (i == 0) {
      out[i].dims = s.batch_first ? Dims{batch, seq, D, hidden} : Dims{seq, D, batch, hidden};
    } else {
      out[i].dims = s.batch_first ? Dims{batch, D, hidden} : Dims{D, batch, hidden};
    }
  }
  // Constant weights (the usual case) are packed once.
  std::shared_ptr<const std::vector<PackedDirection>> prepacked;
  const Tensor* W = ctx.constant(1);
  const Tensor* Rc = ctx.constant(2);
  const Tensor* Bc = ctx.has_input(3) ? ctx.constant(3) : nullptr;
  if (W && Rc && (!ctx.has_input(3) || Bc) && W->rank() == 3 && Rc->rank() == 3) {
    const int64_t H = s.hidden > 0 ? s.hidden : Rc->shape()[2];
    const int64_t G = gates_of(C), I = W->shape()[2];
    const Dims wd{D, G * H, I}, rd{D, G * H, H}, bd{D, 2 * G * H};
    if (W->shape() != wd || Rc->shape() != rd || (Bc && Bc->shape() != bd) || H < 1 || I < 1) {
      return shape_mismatch(std::string(name_of(C)) + " W " + shape_string(W->shape()) + ", R " +
                            shape_string(Rc->shape()) +
                            (Bc ? ", B " + shape_string(Bc->shape()) : std::string()) +
                            " do not fit hidden size " + std::to_string(H) + " and " +
                            std::to_string(D) + " direction(s): expected W " + shape_string(wd) +
                            ", R " + shape_string(rd) + ", B " + shape_string(bd));
    }
    auto p = pack_directions(s, *W, *Rc, Bc, I, H);
    if (!p) return p.status();
    prepacked = std::make_shared<const std::vector<PackedDirection>>(std::move(*p));
  }
  return make_op([s, prepacked](std::span<const Tensor* const> in, std::span<Tensor> y) -> Status {
    return run_recurrent(s, prepacked.get(), in, y);
  });
}

}  // namespace

void register_recurrent_ops(std::vector<OpRegistration>& r) {
  r.push_back({"", "RNN", {1, 7, 14}, {7, 14}, &make_recurrent<Cell::kRnn>});
  r.push_back({"", "GRU", {1, 3, 7, 14}, {7, 14}, &make_recurrent<Cell::kGru>});
  r.push_back({"", "LSTM", {1, 7, 14}, {7, 14}, &make_recurrent<Cell::kLstm>});
}

}  // namespace quantlab::ops
