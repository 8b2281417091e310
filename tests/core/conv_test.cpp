// Quantized and fp32 2-D convolution: every compiled variant against a direct-loop oracle,
// bit for bit, over kernel sizes, strides, padding, dilation, groups, depthwise, odd
// channel counts, both requantization modes and activation types; QLinearConv /
// ConvInteger; geometry errors.
#include "quantlab/conv.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace quantlab;

namespace {

struct ConvCase {
  int64_t batch = 1, c_in = 3, c_out = 4, h = 7, w = 9;
  Conv2dGeometry g;
  DType x_dtype = DType::kUInt8;
  QOutput out;
  bool per_channel = true;
  bool with_bias = true;
};

int32_t xval(const std::vector<uint8_t>& x, DType t, size_t i) {
  return t == DType::kUInt8 ? int32_t{x[i]} : int32_t{static_cast<int8_t>(x[i])};
}

struct ConvData {
  std::vector<uint8_t> x;
  std::vector<int8_t> w;
  std::vector<float> w_scales;
  std::vector<int32_t> bias;
  float x_scale = 0.03f;
  int32_t x_zero_point = 0;
};

/// Direct convolution from the definition, requantized like requantize.hpp says.
std::vector<int32_t> oracle(const ConvCase& c, const ConvData& d, int64_t oh, int64_t ow) {
  const Conv2dGeometry& g = c.g;
  const int64_t cig = c.c_in / g.groups, cog = c.c_out / g.groups;
  int32_t q_min = c.out.dtype == DType::kInt8 ? -128 : 0;
  int32_t q_max = c.out.dtype == DType::kInt8 ? 127 : 255;
  if (c.out.act != FusedActivation::kNone) q_min = std::max(q_min, c.out.zero_point);
  if (c.out.act == FusedActivation::kRelu6) {
    q_max = std::min(q_max, c.out.zero_point +
                                static_cast<int32_t>(std::nearbyint(6.0f / c.out.scale)));
  }
  std::vector<int32_t> y;
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int64_t o = 0; o < c.c_out; ++o) {
      const int64_t grp = o / cog;
      const float s_w = d.w_scales[d.w_scales.size() == 1 ? 0 : static_cast<size_t>(o)];
      for (int64_t oy = 0; oy < oh; ++oy) {
        for (int64_t ox = 0; ox < ow; ++ox) {
          int64_t acc = d.bias.empty() ? 0 : d.bias[static_cast<size_t>(o)];
          for (int64_t ci = 0; ci < cig; ++ci) {
            for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t iy = oy * g.stride_h - g.pad_top + kh * g.dilation_h;
                const int64_t ix = ox * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;  // x - Z_X = 0
                const auto xi = static_cast<size_t>(((n * c.c_in + grp * cig + ci) * c.h + iy) * c.w + ix);
                const auto wi = static_cast<size_t>(((o * cig + ci) * g.kernel_h + kh) * g.kernel_w + kw);
                acc += int64_t{d.w[wi]} * (xval(d.x, c.x_dtype, xi) - d.x_zero_point);
              }
            }
          }
          const auto a = static_cast<int32_t>(acc);
          if (c.out.dtype == DType::kInt32) {
            y.push_back(a);
          } else if (c.out.mode == RequantMode::kFp32) {
            y.push_back(requantize_fp32(a, fp32_multiplier(s_w, d.x_scale, c.out.scale),
                                        c.out.zero_point, q_min, q_max));
          } else {
            auto M = quantize_multiplier(double{s_w} * double{d.x_scale} / double{c.out.scale});
            REQUIRE(M.is_ok());
            y.push_back(requantize_fixed_point(a, *M, c.out.zero_point, q_min, q_max));
          }
        }
      }
    }
  }
  return y;
}

void check_conv(ConvCase c, std::mt19937& rng) {
  const Conv2dGeometry& g = c.g;
  const int64_t cig = c.c_in / g.groups;
  ConvData d;
  std::uniform_int_distribution<int> byte(0, 255);
  d.x.resize(static_cast<size_t>(c.batch * c.c_in * c.h * c.w));
  for (auto& v : d.x) v = static_cast<uint8_t>(byte(rng));
  d.w.resize(static_cast<size_t>(c.c_out * cig * g.kernel_h * g.kernel_w));
  for (auto& v : d.w) v = static_cast<int8_t>(byte(rng) - 128);
  if (!d.w.empty()) d.w[0] = -128;
  std::uniform_real_distribution<float> ws(0.002f, 0.05f);
  d.w_scales.resize(c.per_channel ? static_cast<size_t>(c.c_out) : 1);
  for (auto& s : d.w_scales) s = ws(rng);
  d.x_zero_point = c.x_dtype == DType::kUInt8 ? byte(rng) : byte(rng) - 128;
  if (c.with_bias) {
    std::uniform_int_distribution<int32_t> b(-30000, 30000);
    d.bias.resize(static_cast<size_t>(c.c_out));
    for (auto& v : d.bias) v = b(rng);
  }
  if (c.out.dtype != DType::kInt32) {
    const float k = static_cast<float>(cig * g.kernel_h * g.kernel_w);
    c.out.scale = d.x_scale * d.w_scales[0] * 70.0f * std::sqrt(k) * 90.0f / 128.0f;
  }
  auto size = conv2d_output_size(c.h, c.w, g);
  REQUIRE(size.is_ok());
  const auto expected = oracle(c, d, size->first, size->second);
  for (const auto& v : conv_variants()) {
    auto conv = PackedQConv2d::pack(d.w, c.c_out, c.c_in, g, d.w_scales, d.bias, c.x_dtype,
                                    d.x_scale, d.x_zero_point, c.out, v);
    REQUIRE(conv.is_ok());
    CHECK(conv->depthwise() == (g.groups == c.c_in && c.c_out == c.c_in));
    const size_t count = expected.size();
    std::vector<int32_t> got(count);
    INFO("variant " << v << " " << conv->ukernel_name() << " c_in=" << c.c_in << " c_out="
                    << c.c_out << " " << c.h << "x" << c.w << " k=" << g.kernel_h << "x"
                    << g.kernel_w << " s=" << g.stride_h << "," << g.stride_w << " pads="
                    << g.pad_top << "," << g.pad_left << "," << g.pad_bottom << "," << g.pad_right
                    << " d=" << g.dilation_h << "," << g.dilation_w << " groups=" << g.groups
                    << " x " << dtype_name(c.x_dtype) << " y " << dtype_name(c.out.dtype)
                    << " mode " << (c.out.mode == RequantMode::kFp32 ? "fp32" : "fixed"));
    if (c.out.dtype == DType::kInt32) {
      REQUIRE(conv->run(d.x.data(), c.batch, c.h, c.w, got.data()).is_ok());
    } else {
      std::vector<uint8_t> raw(count + 16, 0x5A);
      REQUIRE(conv->run(d.x.data(), c.batch, c.h, c.w, raw.data()).is_ok());
      for (size_t i = 0; i < 16; ++i) REQUIRE(raw[count + i] == 0x5A);
      for (size_t i = 0; i < count; ++i) {
        got[i] = c.out.dtype == DType::kInt8 ? int32_t{static_cast<int8_t>(raw[i])} : int32_t{raw[i]};
      }
    }
    REQUIRE(got == expected);
  }
}

Conv2dGeometry geom(int64_t kh, int64_t kw, int64_t s, int64_t pad, int64_t dil, int64_t groups) {
  Conv2dGeometry g;
  g.kernel_h = kh;
  g.kernel_w = kw;
  g.stride_h = g.stride_w = s;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = pad;
  g.dilation_h = g.dilation_w = dil;
  g.groups = groups;
  return g;
}

}  // namespace

TEST_CASE("conv2d_output_size: ONNX formula and errors", "[conv]") {
  auto s = conv2d_output_size(56, 56, geom(3, 3, 1, 1, 1, 1));
  REQUIRE(s.is_ok());
  CHECK(*s == std::pair<int64_t, int64_t>{56, 56});
  s = conv2d_output_size(56, 56, geom(3, 3, 2, 1, 1, 1));
  CHECK(*s == std::pair<int64_t, int64_t>{28, 28});
  s = conv2d_output_size(7, 9, geom(3, 3, 1, 0, 2, 1));
  CHECK(*s == std::pair<int64_t, int64_t>{3, 5});
  Conv2dGeometry g = geom(3, 3, 1, 0, 1, 1);
  g.pad_right = 2;
  s = conv2d_output_size(4, 4, g);
  CHECK(*s == std::pair<int64_t, int64_t>{2, 4});
  CHECK(conv2d_output_size(2, 2, geom(3, 3, 1, 0, 1, 1)).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(conv2d_output_size(5, 5, geom(3, 3, 0, 0, 1, 1)).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(conv2d_output_size(5, 5, geom(3, 3, 1, -1, 1, 1)).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(conv2d_output_size(0, 5, geom(1, 1, 1, 0, 1, 1)).status().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("conv: every variant equals the oracle over kernel, stride, padding, dilation",
          "[conv]") {
  std::mt19937 rng(1234);
  struct G { int64_t kh, kw, s, pad, dil; };
  const G geoms[] = {{1, 1, 1, 0, 1}, {3, 3, 1, 1, 1}, {3, 3, 2, 1, 1}, {5, 5, 1, 2, 1},
                     {3, 3, 1, 2, 2}, {1, 3, 1, 0, 1}, {2, 2, 2, 0, 1}, {3, 3, 3, 1, 1},
                     {1, 1, 2, 0, 1}, {7, 7, 2, 3, 1}};
  int i = 0;
  for (const G& ge : geoms) {
    for (int rep = 0; rep < 2; ++rep, ++i) {
      ConvCase c;
      c.g = geom(ge.kh, ge.kw, ge.s, ge.pad, ge.dil, 1);
      c.c_in = 1 + i % 5;
      c.c_out = 1 + (i * 7) % 17;
      c.h = 8 + i % 5;
      c.w = 9 + (i * 3) % 7;
      c.batch = 1 + i % 2;
      c.x_dtype = i % 2 ? DType::kInt8 : DType::kUInt8;
      c.out.dtype = (i / 2) % 2 ? DType::kInt8 : DType::kUInt8;
      c.out.zero_point = c.out.dtype == DType::kInt8 ? -10 : 100;
      c.out.mode = rep ? RequantMode::kFixedPoint : RequantMode::kFp32;
      c.per_channel = i % 3 != 0;
      c.with_bias = i % 4 != 0;
      check_conv(c, rng);
    }
  }
}

TEST_CASE("conv: asymmetric pads, odd channels, and output channels 31..33", "[conv]") {
  std::mt19937 rng(77);
  for (int64_t c_out : {31, 32, 33}) {
    ConvCase c;
    c.g = geom(3, 3, 1, 0, 1, 1);
    c.g.pad_top = 1;
    c.g.pad_left = 0;
    c.g.pad_bottom = 2;
    c.g.pad_right = 1;
    c.c_in = 5;
    c.c_out = c_out;
    c.h = 11;
    c.w = 13;
    for (auto mode : {RequantMode::kFp32, RequantMode::kFixedPoint}) {
      c.out.mode = mode;
      c.x_dtype = mode == RequantMode::kFp32 ? DType::kUInt8 : DType::kInt8;
      check_conv(c, rng);
    }
  }
  // Vertical padding only (padded rows are whole image rows), uint8 and int8.
  for (DType xt : {DType::kUInt8, DType::kInt8}) {
    ConvCase c;
    c.g = geom(3, 1, 1, 0, 1, 1);
    c.g.pad_top = 2;
    c.g.pad_bottom = 1;
    c.c_in = 3;
    c.c_out = 10;
    c.h = 6;
    c.w = 9;
    c.x_dtype = xt;
    check_conv(c, rng);
  }
  // A 1x1 layer with 17 input channels over an odd plane, int32 output.
  ConvCase c;
  c.g = geom(1, 1, 1, 0, 1, 1);
  c.c_in = 17;
  c.c_out = 9;
  c.h = 5;
  c.w = 7;
  c.out.dtype = DType::kInt32;
  check_conv(c, rng);
}

TEST_CASE("conv: 1x1 layers over 1x1 images run the batch as pixels, bit-exact", "[conv]") {
  // Fully-connected layers exported as QLinearConv 1x1 on [N, K, 1, 1] (by
  // post-training quantization): PackedQConv2d::run transposes the batch into one image.
  std::mt19937 rng(4242);
  int i = 0;
  for (int64_t batch : {2, 3, 8, 17, 33, 64}) {
    for (int64_t c_in : {1, 16, 33}) {
      ConvCase c;
      c.batch = batch;
      c.c_in = c_in;
      c.c_out = 1 + (i * 11) % 40;
      c.h = c.w = 1;
      c.g = geom(1, 1, 1, 0, 1, 1);
      c.x_dtype = i % 2 ? DType::kInt8 : DType::kUInt8;
      const DType outs[] = {DType::kUInt8, DType::kInt8, DType::kInt32};
      c.out.dtype = outs[(i / 2) % 3];
      c.out.zero_point = c.out.dtype == DType::kInt8 ? -10 : (c.out.dtype == DType::kUInt8 ? 100 : 0);
      c.out.mode = i % 4 < 2 ? RequantMode::kFp32 : RequantMode::kFixedPoint;
      c.out.act = i % 3 == 0 ? FusedActivation::kRelu : FusedActivation::kNone;
      if (c.out.dtype == DType::kInt32) c.out.act = FusedActivation::kNone;
      c.per_channel = i % 3 != 1;
      c.with_bias = i % 4 != 3;
      check_conv(c, rng);
      ++i;
    }
  }
  // Grouped 1x1 over 1x1 images takes the same path.
  ConvCase c;
  c.batch = 9;
  c.c_in = 12;
  c.c_out = 6;
  c.h = c.w = 1;
  c.g = geom(1, 1, 1, 0, 1, 3);
  check_conv(c, rng);
}

TEST_CASE("conv: groups, depthwise and depthwise with a channel multiplier", "[conv]") {
  std::mt19937 rng(4321);
  struct Gr { int64_t c_in, c_out, groups, k, s, pad, dil; };
  const Gr cases[] = {{4, 6, 2, 3, 1, 1, 1},   {6, 9, 3, 3, 2, 1, 1},  {5, 5, 5, 3, 1, 1, 1},
                      {7, 7, 7, 3, 2, 1, 1},   {9, 9, 9, 5, 1, 2, 1},  {3, 3, 3, 3, 1, 2, 2},
                      {4, 8, 4, 3, 1, 1, 1},   {17, 17, 17, 3, 1, 1, 1}, {2, 2, 2, 1, 1, 0, 1},
                      {3, 3, 3, 2, 2, 0, 1}};
  int i = 0;
  for (const Gr& gr : cases) {
    for (auto mode : {RequantMode::kFp32, RequantMode::kFixedPoint}) {
      ConvCase c;
      c.g = geom(gr.k, gr.k, gr.s, gr.pad, gr.dil, gr.groups);
      c.c_in = gr.c_in;
      c.c_out = gr.c_out;
      c.h = 9 + i % 4;
      c.w = 10 + i % 7;
      c.batch = 1 + i % 2;
      c.x_dtype = i % 2 ? DType::kInt8 : DType::kUInt8;
      c.out.dtype = i % 3 == 0 ? DType::kInt8 : DType::kUInt8;
      c.out.mode = mode;
      c.out.act = static_cast<FusedActivation>(i % 3);
      c.per_channel = i % 4 != 1;
      check_conv(c, rng);
      ++i;
    }
  }
  // Depthwise int32 output and a wide plane (many pixel blocks per row).
  ConvCase c;
  c.g = geom(3, 3, 1, 1, 1, 6);
  c.c_in = c.c_out = 6;
  c.h = 5;
  c.w = 37;
  c.out.dtype = DType::kInt32;
  check_conv(c, rng);
}

TEST_CASE("conv f32: every variant equals the ordered-sum oracle bit for bit", "[conv]") {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct F { int64_t c_in, c_out, groups, k, s, pad, dil, h, w; };
  const F cases[] = {{3, 5, 1, 3, 1, 1, 1, 9, 11},  {4, 8, 1, 1, 1, 0, 1, 7, 6},
                     {6, 6, 6, 3, 1, 1, 1, 10, 13}, {5, 5, 5, 3, 2, 1, 1, 9, 9},
                     {4, 6, 2, 3, 2, 0, 2, 12, 12}, {17, 3, 1, 5, 1, 2, 1, 8, 8},
                     {8, 8, 8, 5, 1, 2, 1, 11, 20}, {2, 33, 1, 2, 1, 0, 1, 5, 5}};
  int i = 0;
  for (const F& f : cases) {
    const Conv2dGeometry g = geom(f.k, f.k, f.s, f.pad, f.dil, f.groups);
    const int64_t cig = f.c_in / f.groups, cog = f.c_out / f.groups;
    std::vector<float> x(static_cast<size_t>(f.c_in * f.h * f.w));
    std::vector<float> w(static_cast<size_t>(f.c_out * cig * f.k * f.k)), b(static_cast<size_t>(f.c_out));
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = nd(rng);
    for (auto& v : b) v = nd(rng);
    const auto act = static_cast<FusedActivation>(i++ % 3);
    auto size = conv2d_output_size(f.h, f.w, g);
    REQUIRE(size.is_ok());
    const int64_t oh = size->first, ow = size->second;
    std::vector<float> expected;
    for (int64_t o = 0; o < f.c_out; ++o) {
      const int64_t grp = o / cog;
      for (int64_t oy = 0; oy < oh; ++oy) {
        for (int64_t ox = 0; ox < ow; ++ox) {
          float acc = b[static_cast<size_t>(o)];
          for (int64_t ci = 0; ci < cig; ++ci) {
            for (int64_t kh = 0; kh < f.k; ++kh) {
              for (int64_t kw = 0; kw < f.k; ++kw) {
                const int64_t iy = oy * f.s - f.pad + kh * f.dil, ix = ox * f.s - f.pad + kw * f.dil;
                const bool in = iy >= 0 && iy < f.h && ix >= 0 && ix < f.w;
                const float xv = in ? x[static_cast<size_t>(((grp * cig + ci) * f.h + iy) * f.w + ix)] : 0.0f;
                const float p = xv * w[static_cast<size_t>(((o * cig + ci) * f.k + kh) * f.k + kw)];
                acc = acc + p;
              }
            }
          }
          if (act != FusedActivation::kNone) acc = acc < 0.0f ? 0.0f : acc;
          if (act == FusedActivation::kRelu6) acc = acc > 6.0f ? 6.0f : acc;
          expected.push_back(acc);
        }
      }
    }
    for (const auto& v : conv_variants()) {
      auto conv = PackedConv2dF32::pack(w, f.c_out, f.c_in, g, b, act, v);
      REQUIRE(conv.is_ok());
      std::vector<float> y(expected.size(), -7.0f);
      REQUIRE(conv->run(x.data(), 1, f.h, f.w, y.data()).is_ok());
      INFO(v << " c_in=" << f.c_in << " c_out=" << f.c_out << " groups=" << f.groups);
      REQUIRE(std::memcmp(y.data(), expected.data(), y.size() * 4) == 0);
    }
  }
}

TEST_CASE("qlinear_conv and conv_integer: fast and reference paths", "[conv]") {
  std::mt19937 rng(31);
  std::uniform_int_distribution<int> byte(0, 255);
  const Conv2dGeometry g = geom(3, 3, 1, 1, 1, 1);
  for (DType wt : {DType::kInt8, DType::kUInt8}) {
    Tensor x = Tensor::create(DType::kUInt8, {1, 2, 5, 6}).value();
    Tensor w = Tensor::create(wt, {3, 2, 3, 3}).value();
    for (auto& v : x.data<uint8_t>()) v = static_cast<uint8_t>(byte(rng));
    for (auto& v : std::span<uint8_t>(static_cast<uint8_t*>(w.raw()), w.size())) {
      v = static_cast<uint8_t>(byte(rng));
    }
    const std::vector<int32_t> wz = wt == DType::kInt8 ? std::vector<int32_t>{0, 0, 0}
                                                       : std::vector<int32_t>{120, 128, 131};
    const std::vector<float> ws = {0.01f, 0.02f, 0.015f};
    Tensor bias = Tensor::from<int32_t>({3}, {100, -2000, 5});
    auto y = qlinear_conv(x, 0.05f, 128, w, ws, wz, 0.4f, 3, DType::kUInt8, &bias, g);
    REQUIRE(y.is_ok());
    REQUIRE(y->shape() == Shape{1, 3, 5, 6});
    auto yi = conv_integer(x, 128, w, wz, g);
    REQUIRE(yi.is_ok());
    for (int64_t o = 0; o < 3; ++o) {
      for (int64_t oy = 0; oy < 5; ++oy) {
        for (int64_t ox = 0; ox < 6; ++ox) {
          int32_t acc = 0;
          for (int64_t ci = 0; ci < 2; ++ci) {
            for (int64_t kh = 0; kh < 3; ++kh) {
              for (int64_t kw = 0; kw < 3; ++kw) {
                const int64_t iy = oy - 1 + kh, ix = ox - 1 + kw;
                if (iy < 0 || iy >= 5 || ix < 0 || ix >= 6) continue;
                const size_t wi = static_cast<size_t>(((o * 2 + ci) * 3 + kh) * 3 + kw);
                const int32_t wv = wt == DType::kInt8 ? int32_t{w.data<int8_t>()[wi]}
                                                      : int32_t{w.data<uint8_t>()[wi]};
                acc += (x.data<uint8_t>()[static_cast<size_t>((ci * 5 + iy) * 6 + ix)] - 128) *
                       (wv - wz[static_cast<size_t>(o)]);
              }
            }
          }
          const size_t yi_index = static_cast<size_t>((o * 5 + oy) * 6 + ox);
          REQUIRE(yi->data<int32_t>()[yi_index] == acc);
          const int32_t q = requantize_fp32(acc + bias.data<int32_t>()[static_cast<size_t>(o)],
                                            (ws[static_cast<size_t>(o)] * 0.05f) / 0.4f, 3, 0, 255);
          REQUIRE(int32_t{y->data<uint8_t>()[yi_index]} == q);
        }
      }
    }
  }
}

TEST_CASE("conv: errors", "[conv]") {
  const std::vector<int8_t> w(2 * 3 * 3 * 3, 1);
  const std::vector<float> s = {0.1f};
  QOutput out;
  CHECK(PackedQConv2d::pack(w, 2, 3, geom(3, 3, 1, 1, 1, 2), s, {}, DType::kUInt8, 0.1f, 0, out)
            .status().code() == ErrorCode::kInvalidArgument);  // 3 channels, 2 groups
  CHECK(PackedQConv2d::pack(w, 2, 3, geom(3, 2, 1, 1, 1, 1), s, {}, DType::kUInt8, 0.1f, 0, out)
            .status().code() == ErrorCode::kShapeMismatch);
  CHECK(PackedQConv2d::pack(w, 2, 3, geom(3, 3, 1, 1, 0, 1), s, {}, DType::kUInt8, 0.1f, 0, out)
            .status().code() == ErrorCode::kInvalidArgument);
  auto conv = PackedQConv2d::pack(w, 2, 3, geom(3, 3, 1, 0, 1, 1), s, {}, DType::kUInt8, 0.1f,
                                  0, out);
  REQUIRE(conv.is_ok());
  std::vector<uint8_t> x(3 * 2 * 2), y(16);
  CHECK(conv->run(x.data(), 1, 2, 2, y.data()).code() == ErrorCode::kInvalidArgument);
  CHECK(conv->run(x.data(), -1, 4, 4, y.data()).code() == ErrorCode::kInvalidArgument);
  CHECK(conv->run(nullptr, 1, 4, 4, y.data()).code() == ErrorCode::kInvalidArgument);
  std::vector<uint8_t> x4(3 * 4 * 4, 0), y4(2 * 2 * 2);
  CHECK(conv->run(x4.data(), 1, 4, 4, y4.data()).is_ok());
}
