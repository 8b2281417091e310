// Native timings for tests/bench/compression.bench.mjs (issue 5): k-means on the demo
// models' trained weights (every initialization against the exact optimum: MSE and time)
// and Huffman decoding (quantlab's table decoder and bitwise reference against zlib's
// inflate of a Huffman-only deflate stream of the same symbols). Prints one JSON object.
// Usage: quantlab_compression_bench [--repo DIR] [--min-ms N] [--quick]
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "huffman-decode/huffman-decode.h"
#include "quantlab/huffman.hpp"
#include "quantlab/kmeans.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;

namespace {

std::string repo = QL_BENCH_SOURCE_DIR;
double min_ms = 1000;
bool quick = false;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<float> weights(const std::string& model, const std::string& tensor) {
  const auto bytes = read_file(repo + "/web/models/" + model + ".onnx");
  auto m = parse_onnx_model(bytes);
  if (!m) {
    std::fprintf(stderr, "cannot read %s: %s\n", model.c_str(), m.status().to_string().c_str());
    std::exit(1);
  }
  for (const auto& t : m->graph.initializers) {
    if (t.name == tensor) {
      auto d = t.tensor.data<float>();
      return std::vector<float>(d.begin(), d.end());
    }
  }
  std::fprintf(stderr, "no %s in %s\n", tensor.c_str(), model.c_str());
  std::exit(1);
}

/// Median milliseconds of fn over at least `reps` runs and min_ms of samples.
double median_ms(const std::function<void()>& fn, int reps, double budget_ms) {
  std::vector<double> t;
  const auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(t.size()) < reps ||
         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() < budget_ms) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (t.size() >= 1000) break;
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Layer {
  const char* model;
  const char* tensor;
};

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repo" && i + 1 < argc) repo = argv[++i];
    else if (a == "--min-ms" && i + 1 < argc) min_ms = std::atof(argv[++i]);
    else if (a == "--quick") quick = true;
  }
  std::string out = "{\n  \"kmeans\": [\n";
  const Layer layers[] = {{"lenet300", "fc1.weight"}, {"lenet300", "fc2.weight"}, {"lenet300", "fc3.weight"},
                          {"lenet5", "conv1.weight"}, {"lenet5", "conv2.weight"}, {"lenet5", "fc1.weight"},
                          {"lenet5", "fc2.weight"},   {"lenet5", "fc3.weight"},   {"cnn_bn", "conv2.weight"},
                          {"cnn_bn", "conv3.weight"}};
  const int bit_list[] = {2, 4, 5, 8};
  const KMeansInit inits[] = {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom, KMeansInit::kPlusPlus};
  const char* init_names[] = {"linear", "density", "random", "kmeans++"};
  bool first = true;
  for (const Layer& l : layers) {
    const std::vector<float> w = weights(l.model, l.tensor);
    for (int bits : bit_list) {
      if (quick && bits != 8 && std::string(l.tensor) != "fc1.weight") continue;
      KMeansOptions o;
      o.method = KMeansMethod::kOptimal;
      KMeansResult best;
      const bool timed = std::string(l.model) == "lenet300" && std::string(l.tensor) == "fc1.weight";
      const double opt_ms = median_ms([&] { best = *k_means(w, bits, o); }, timed ? 3 : 1, timed ? min_ms : 0);
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "%s    {\"model\": \"%s\", \"layer\": \"%s\", \"n\": %zu, \"bits\": %d, \"optimal_mse\": %.6e, "
                    "\"optimal_ms\": %.2f",
                    first ? "" : ",\n", l.model, l.tensor, w.size(), bits, best.mse, opt_ms);
      out += buf;
      first = false;
      for (int v = 0; v < 4; ++v) {
        KMeansOptions lo;
        lo.init = inits[v];
        lo.seed = 0;
        KMeansResult r;
        const double ms = median_ms([&] { r = *k_means(w, bits, lo); }, 1, 0);
        std::snprintf(buf, sizeof buf, ", \"%s_mse\": %.6e, \"%s_ratio\": %.4f, \"%s_ms\": %.2f, \"%s_iterations\": %d",
                      init_names[v], r.mse, init_names[v], best.mse > 0 ? r.mse / best.mse : 1.0, init_names[v], ms,
                      init_names[v], r.iterations);
        out += buf;
      }
      out += "}";
    }
  }
  out += "\n  ],\n  \"huffman\": [\n";
  // Huffman: the 4-bit and 5-bit optimal k-means labels of LeNet-300's fc1 (235,200 symbols).
  first = true;
  const std::vector<float> fc1 = weights("lenet300", "fc1.weight");
  for (int bits : {4, 5, 8}) {
    KMeansOptions o;
    o.method = KMeansMethod::kOptimal;
    const Codebook cb = *k_means_quantize(fc1, bits, o);
    std::vector<uint16_t> sym(cb.labels.begin(), cb.labels.end());
    // 8 copies: about 1.9 M symbols per decode, long enough to time.
    std::vector<uint16_t> many;
    for (int c = 0; c < 8; ++c) many.insert(many.end(), sym.begin(), sym.end());
    const HuffmanResult h = *huffman_compress(many, size_t{1} << bits, 15);
    const HuffmanDecoder dec = std::move(HuffmanDecoder::create(h.code)).value();
    std::vector<uint16_t> back(many.size());
    char buf[512];
    for (const auto& v : huffman_decode_variants()) {
      const double ms = median_ms([&] {
        v.fn(dec.table(), h.encoded.bytes.data(), h.encoded.bytes.size(), many.size(), back.data());
      }, 5, std::string(v.name).find("bitwise") != std::string::npos ? min_ms / 4 : min_ms);
      if (back != many) {
        std::fprintf(stderr, "%s decoded wrongly\n", v.name);
        return 1;
      }
      std::snprintf(buf, sizeof buf,
                    "%s    {\"bits\": %d, \"symbols\": %zu, \"decoder\": \"%s\", \"ms\": %.3f, \"msym_per_s\": %.1f, "
                    "\"entropy\": %.4f, \"average_length\": %.4f, \"bytes\": %zu}",
                    first ? "" : ",\n", bits, many.size(), v.name, ms, static_cast<double>(many.size()) / (ms * 1e3),
                    h.stats.entropy, h.stats.average_length, h.encoded.bytes.size());
      out += buf;
      first = false;
    }
    // Peer: zlib, Huffman-only deflate of the same symbols as bytes, inflated.
    std::vector<uint8_t> raw(many.begin(), many.end());
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, 15, 9, Z_HUFFMAN_ONLY);
    std::vector<uint8_t> z(deflateBound(&zs, static_cast<uLong>(raw.size())));
    zs.next_in = raw.data();
    zs.avail_in = static_cast<uInt>(raw.size());
    zs.next_out = z.data();
    zs.avail_out = static_cast<uInt>(z.size());
    deflate(&zs, Z_FINISH);
    z.resize(zs.total_out);
    deflateEnd(&zs);
    std::vector<uint8_t> unz(raw.size());
    const double zms = median_ms([&] {
      z_stream is{};
      inflateInit2(&is, 15);
      is.next_in = z.data();
      is.avail_in = static_cast<uInt>(z.size());
      is.next_out = unz.data();
      is.avail_out = static_cast<uInt>(unz.size());
      inflate(&is, Z_FINISH);
      inflateEnd(&is);
    }, 5, min_ms);
    if (unz != raw) {
      std::fprintf(stderr, "zlib round trip failed\n");
      return 1;
    }
    std::snprintf(buf, sizeof buf,
                  ",\n    {\"bits\": %d, \"symbols\": %zu, \"decoder\": \"zlib inflate (Z_HUFFMAN_ONLY)\", \"ms\": %.3f, "
                  "\"msym_per_s\": %.1f, \"bytes\": %zu}",
                  bits, raw.size(), zms, static_cast<double>(raw.size()) / (zms * 1e3), z.size());
    out += buf;
  }
  out += "\n  ]\n}\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}
