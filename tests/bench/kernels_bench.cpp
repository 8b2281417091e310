// Kernel-only timings of quantlab's int8 and fp32 GEMM / convolution (the workloads of
// issue 3), natively (xsimd) or under Node (wasm). Prints one JSON object per line:
// {"workload", "variant", "ms" (median), "gops", "reps"}. Used by tests/bench/kernels.bench.mjs
// for the native side of the comparison against onnxruntime-node.
// Usage: kernels_bench [--variant NAME] [--min-ms T] [--filter SUBSTRING]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "quantlab/conv.hpp"
#include "quantlab/gemm.hpp"

using namespace quantlab;

namespace {

double now_ms() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

/// Median of repetitions after a warm-up: at least 15 repetitions and min_ms of work.
std::pair<double, int> median_ms(const std::function<void()>& fn, double min_ms) {
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> t;
  const double start = now_ms();
  while (t.size() < 15 || (now_ms() - start < min_ms && t.size() < 5000)) {
    const double t0 = now_ms();
    fn();
    t.push_back(now_ms() - t0);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], static_cast<int>(t.size())};
}

void report(const std::string& workload, const std::string& variant, double ops,
            std::pair<double, int> r) {
  std::printf("{\"workload\": \"%s\", \"variant\": \"%s\", \"ms\": %.6f, \"gops\": %.3f, "
              "\"reps\": %d}\n",
              workload.c_str(), variant.c_str(), r.first, ops / (r.first * 1e6), r.second);
  std::fflush(stdout);
}

void fail(const Status& s) {
  std::fprintf(stderr, "kernels_bench: %s\n", s.to_string().c_str());
  std::exit(1);
}

template <class T>
T value_or_die(Result<T> r) {
  if (!r) fail(r.status());
  return std::move(r).value();
}

}  // namespace

int main(int argc, char** argv) {
  std::string variant, filter;
  double min_ms = 400.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--variant" && i + 1 < argc) variant = argv[++i];
    else if (a == "--min-ms" && i + 1 < argc) min_ms = std::atof(argv[++i]);
    else if (a == "--filter" && i + 1 < argc) filter = argv[++i];
  }
  if (variant.empty()) variant = gemm_variants().back();
  auto wanted = [&](const std::string& w) { return filter.empty() || w.find(filter) != std::string::npos; };
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);

  struct G { int64_t m, k, n; };
  for (const G g : {G{1, 784, 300}, G{64, 784, 300}, G{256, 256, 256}, G{512, 512, 512}}) {
    const auto mk = static_cast<size_t>(g.m * g.k), nk = static_cast<size_t>(g.n * g.k);
    std::vector<int8_t> w(nk);
    for (auto& v : w) v = static_cast<int8_t>(byte(rng) - 128);
    std::vector<uint8_t> x(mk);
    for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
    std::vector<uint8_t> y(static_cast<size_t>(g.m * g.n));
    const double ops = 2.0 * static_cast<double>(g.m * g.n * g.k);
    const std::string shape = std::to_string(g.m) + "x" + std::to_string(g.k) + "x" + std::to_string(g.n);
    for (DType xt : {DType::kUInt8, DType::kInt8}) {
      const std::string name = std::string("qgemm_") + (xt == DType::kUInt8 ? "u8" : "s8") + "_" + shape;
      if (!wanted(name)) continue;
      QOutput out;
      out.dtype = xt;
      out.scale = 0.5f;
      out.zero_point = xt == DType::kUInt8 ? 128 : 0;
      const std::vector<float> ws = {0.01f};
      auto p = value_or_die(PackedQGemm::pack(w, g.n, g.k, ws, {}, xt, 0.02f,
                                              xt == DType::kUInt8 ? 128 : 1, out, variant));
      report(name, variant, ops, median_ms([&] { (void)p.run(x.data(), g.m, y.data()); }, min_ms));
    }
    const std::string fname = "gemm_f32_" + shape;
    if (wanted(fname)) {
      std::vector<float> wf(nk), xf(mk), yf(static_cast<size_t>(g.m * g.n));
      for (size_t i = 0; i < nk; ++i) wf[i] = static_cast<float>(w[i]) * 0.01f;
      for (size_t i = 0; i < mk; ++i) xf[i] = static_cast<float>(x[i]) * 0.02f;
      auto p = value_or_die(PackedGemmF32::pack(wf, g.n, g.k, {}, FusedActivation::kNone, variant));
      report(fname, variant, ops, median_ms([&] { (void)p.run(xf.data(), g.m, yf.data()); }, min_ms));
    }
  }

  struct C { const char* name; int64_t c_in, c_out, hw, k, pad, groups; };
  for (const C c : {C{"conv3x3_32x64_56", 32, 64, 56, 3, 1, 1}, C{"conv1x1_64x128_28", 64, 128, 28, 1, 0, 1},
                    C{"dwconv3x3_96_56", 96, 96, 56, 3, 1, 96}}) {
    Conv2dGeometry geo;
    geo.kernel_h = geo.kernel_w = c.k;
    geo.pad_top = geo.pad_left = geo.pad_bottom = geo.pad_right = c.pad;
    geo.groups = c.groups;
    const auto wn = static_cast<size_t>(c.c_out * (c.c_in / c.groups) * c.k * c.k);
    const auto xn = static_cast<size_t>(c.c_in * c.hw * c.hw);
    const auto yn = static_cast<size_t>(c.c_out * c.hw * c.hw);
    std::vector<int8_t> w(wn);
    for (auto& v : w) v = static_cast<int8_t>(byte(rng) - 128);
    std::vector<uint8_t> x(xn), y(yn);
    for (auto& v : x) v = static_cast<uint8_t>(byte(rng));
    const double ops = 2.0 * static_cast<double>(yn) * static_cast<double>((c.c_in / c.groups) * c.k * c.k);
    for (DType xt : {DType::kUInt8, DType::kInt8}) {
      const std::string name = std::string("q") + c.name + "_" + (xt == DType::kUInt8 ? "u8" : "s8");
      if (!wanted(name)) continue;
      QOutput out;
      out.dtype = xt;
      out.scale = 0.5f;
      out.zero_point = xt == DType::kUInt8 ? 128 : 0;
      const std::vector<float> ws = {0.01f};
      auto p = value_or_die(PackedQConv2d::pack(w, c.c_out, c.c_in, geo, ws, {}, xt, 0.02f,
                                                xt == DType::kUInt8 ? 128 : 1, out, variant));
      report(name, variant, ops, median_ms([&] { (void)p.run(x.data(), 1, c.hw, c.hw, y.data()); }, min_ms));
    }
    const std::string fname = std::string(c.name) + "_f32";
    if (wanted(fname)) {
      std::vector<float> wf(wn), xf(xn), yf(yn);
      for (size_t i = 0; i < wn; ++i) wf[i] = static_cast<float>(w[i]) * 0.01f;
      for (size_t i = 0; i < xn; ++i) xf[i] = static_cast<float>(x[i]) * 0.02f;
      auto p = value_or_die(PackedConv2dF32::pack(wf, c.c_out, c.c_in, geo, {}, FusedActivation::kNone, variant));
      report(fname, variant, ops, median_ms([&] { (void)p.run(xf.data(), 1, c.hw, c.hw, yf.data()); }, min_ms));
    }
  }
  return 0;
}
