// Native timings for tests/bench/compression.bench.mjs (issue 5): k-means on the demo
// models' trained weights (every initialization against the exact optimum: MSE and time)
// and Huffman decoding (quantlab's table decoder and bitwise reference against zlib's
// inflate of a Huffman-only deflate stream of the same symbols). Prints one JSON object.
// With --pipeline MODEL it runs Deep Compression on a demo model instead (full Fashion-MNIST
// from the Debian package, 60,000 training and 10,000 test images) and prints its stages.
// Usage: quantlab_compression_bench [--repo DIR] [--min-ms N] [--quick]
//        quantlab_compression_bench --sweep lenet5|lenet300   (bit-width sweep, section 5.5)
//        quantlab_compression_bench --pipeline lenet300|lenet5 [--plan p:sparsity:bits[:gap],...]
//          [--steps N] [--retrain E] [--qepochs E] [--lr X] [--qlr-scale X] [--train-count N]
//          [--batch N] [--wd X] [--sgd] [--linear-schedule] [--entropy huffman|rans|best]
//          [--bias-bits 0|16|32] [--streams DIR]
//   The pipeline also prints the coder comparison of issue 17 per layer and stream (gaps,
//   labels): order-0 / order-1 / adaptive ideal code lengths, Huffman and rANS bytes, and
//   native decode speeds; with --streams each stream is written to DIR as <model>.<param>.
//   <stream>.u16 (the symbols) and .packed (fixed width, MSB first) for the script's
//   deflate / xz / zstd.
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
#include "quantlab/deep_compression.hpp"
#include "quantlab/entropy.hpp"
#include "quantlab/huffman.hpp"
#include "quantlab/kmeans.hpp"
#include "quantlab/linear.hpp"
#include "quantlab/onnx.hpp"
#include "fashion_data.hpp"

using namespace quantlab;
using quantlab::bench::dataset;
using quantlab::bench::fashion;
using quantlab::bench::Idx;

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

struct BenchLayer {
  const char* model;
  const char* tensor;
};

void write_bytes(const std::string& path, const void* p, size_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
}

/// The coder comparison of one stream (a JSON object), written to `out`.
void coder_row(std::string& out, const std::string& model, const std::string& param, const char* stream,
               const std::vector<uint16_t>& sym, int width, const std::string& dir) {
  const EntropyStatistics st = *entropy_statistics(sym, size_t{1} << width);
  size_t alphabet = 1;
  for (uint16_t s : sym) alphabet = std::max<size_t>(alphabet, s + size_t{1});
  const HuffmanResult h = *huffman_compress(sym, alphabet, 15);
  const size_t huffman_bytes = 1 + 2 + (alphabet + 1) / 2 + 4 + h.encoded.bytes.size();
  const RansStream r = *rans_encode(sym, alphabet);
  const size_t rans_bytes = 1 + r.bytes.size();
  BitWriter w;
  for (uint16_t s : sym) w.write(s, width);
  const std::vector<uint8_t> packed = w.finish();
  // Decode speeds (median ms of one decode of the stream).
  std::vector<uint16_t> back(sym.size());
  const double budget = std::max(50.0, min_ms / 10);
  const double rms = median_ms([&] { (void)rans_decode(r.bytes, back, alphabet); }, 5, budget);
  if (back != sym) {
    std::fprintf(stderr, "rANS decoded %s %s wrongly\n", param.c_str(), stream);
    std::exit(1);
  }
  const HuffmanDecoder dec = std::move(HuffmanDecoder::create(h.code)).value();
  const double hms = median_ms([&] { (void)dec.decode(h.encoded.bytes, back); }, 5, budget);
  if (!dir.empty()) {
    const std::string base = dir + "/" + model + "." + param + "." + stream;
    write_bytes(base + ".u16", sym.data(), 2 * sym.size());
    write_bytes(base + ".packed", packed.data(), packed.size());
  }
  const double ideal = std::min(st.adaptive_order0_bits, st.adaptive_order1_bits);
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "%s\n  {\"param\": \"%s\", \"stream\": \"%s\", \"symbols\": %zu, \"width\": %d, \"alphabet\": %zu, "
                "\"order0_bits\": %.1f, \"order1_bits\": %.1f, \"adaptive_order0_bits\": %.1f, \"adaptive_order1_bits\": %.1f, "
                "\"fixed_bytes\": %zu, \"huffman_bytes\": %zu, \"rans_bytes\": %zu, \"rans_context\": \"%s\", "
                "\"rans_scale_bits\": %d, \"rans_lanes\": %d, \"rans_table_bytes\": %zu, \"rans_model_bits\": %.1f, "
                "\"rans_payload_over_model_pct\": %.3f, \"rans_over_adaptive_pct\": %.3f, "
                "\"rans_decode_msym_per_s\": %.1f, \"huffman_decode_msym_per_s\": %.1f}",
                out.empty() ? "" : ",", param.c_str(), stream, sym.size(), width, alphabet, st.order0_bits, st.order1_bits,
                st.adaptive_order0_bits, st.adaptive_order1_bits, packed.size(), huffman_bytes, rans_bytes,
                r.context == EntropyContext::kOrder1 ? "order1" : "order0", r.scale_bits, r.lanes, r.table_bytes,
                r.model_bits, r.model_bits > 0 ? 100.0 * (8.0 * static_cast<double>(r.payload_bytes) / r.model_bits - 1.0) : 0.0,
                ideal > 0 ? 100.0 * (8.0 * static_cast<double>(rans_bytes) / ideal - 1.0) : 0.0,
                static_cast<double>(sym.size()) / (rms * 1e3), static_cast<double>(sym.size()) / (hms * 1e3));
  out += buf;
}

/// The coder comparison of every codebook-shared parameter of a compressed network.
std::string coder_rows(const Network& net, const std::vector<LayerReport>& layers, const std::string& model,
                       const std::string& dir) {
  std::string out;
  for (const LayerReport& l : layers) {
    const Parameter* p = net.param(l.param);
    if (!p || !p->codebook) continue;
    const Codebook& cb = *p->codebook;
    const int bits = cb.bits();
    std::vector<uint16_t> labels(cb.labels.begin(), cb.labels.end());
    if (!cb.pinned_zero || l.gap_bits == 0) {
      coder_row(out, model, l.param, "labels", labels, bits, dir);
      continue;
    }
    PruneMask mask(labels.size());
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = labels[i] != 0;
    const RelativeIndices ri = *encode_relative_indices(mask, l.gap_bits);
    std::vector<uint16_t> gaps(ri.gaps.begin(), ri.gaps.end());
    std::vector<uint16_t> entry(ri.positions.size());
    for (size_t e = 0; e < entry.size(); ++e) entry[e] = labels[ri.positions[e]];
    coder_row(out, model, l.param, "gaps", gaps, l.gap_bits, dir);
    coder_row(out, model, l.param, "labels", entry, bits, dir);
  }
  return out;
}

int run_pipeline(const std::string& model, int argc, char** argv) {
  DeepCompressionOptions o;
  int64_t train_count = 60000;
  std::string streams_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--plan") {
      const std::string spec = next();
      size_t at = 0;
      while (at < spec.size()) {
        const size_t end = std::min(spec.find(',', at), spec.size());
        const std::string item = spec.substr(at, end - at);
        LayerPlan lp;
        const size_t c1 = item.find(':'), c2 = item.find(':', c1 + 1), c3 = item.find(':', c2 + 1);
        lp.param = item.substr(0, c1);
        lp.sparsity = std::atof(item.substr(c1 + 1, c2 - c1 - 1).c_str());
        lp.bits = std::atoi(item.substr(c2 + 1, c3 - c2 - 1).c_str());
        if (c3 != std::string::npos) lp.gap_bits = std::atoi(item.substr(c3 + 1).c_str());
        o.layers.push_back(lp);
        at = end + 1;
      }
    } else if (a == "--steps") o.prune_steps = std::atoi(next().c_str());
    else if (a == "--retrain") o.retrain_epochs = std::atoi(next().c_str());
    else if (a == "--qepochs") o.quantized_epochs = std::atoi(next().c_str());
    else if (a == "--lr") o.train.learning_rate = static_cast<float>(std::atof(next().c_str()));
    else if (a == "--qlr-scale") o.quantized_lr_scale = static_cast<float>(std::atof(next().c_str()));
    else if (a == "--train-count") train_count = std::atoll(next().c_str());
    else if (a == "--batch") o.train.batch_size = std::atoi(next().c_str());
    else if (a == "--wd") o.train.weight_decay = static_cast<float>(std::atof(next().c_str()));
    else if (a == "--sgd") o.train.optimizer = OptimizerKind::kSgd;
    else if (a == "--linear-schedule") o.schedule = PruneSchedule::kLinear;
    else if (a == "--bias-bits") o.bias_bits = std::atoi(next().c_str());
    else if (a == "--streams") streams_dir = next();
    else if (a == "--entropy") {
      const std::string e = next();
      o.entropy = e == "rans" ? EntropyCoder::kRans : e == "best" ? EntropyCoder::kBest : EntropyCoder::kHuffman;
    }
  }
  const Idx train = fashion("train"), test = fashion("t10k");
  const auto bytes = read_file(repo + "/web/models/" + model + ".onnx");
  auto onnx = parse_onnx_model(bytes);
  if (!onnx) return 1;
  auto net = network_from_onnx(*onnx);
  if (!net) {
    std::fprintf(stderr, "%s\n", net.status().to_string().c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::string last_stage;
  auto r = deep_compression(*net, dataset(train, train_count), dataset(test, 10000), o, [&](const Progress& p) {
    if (p.done == p.total && std::string(p.stage) != last_stage) {
      std::fprintf(stderr, "  [%.0f s] %s done\n",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), p.stage);
    }
    last_stage = p.stage;
  });
  if (!r) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"model\": \"%s\", \"seconds\": %.1f, \"stages\": [", model.c_str(), seconds);
  for (size_t i = 0; i < r->stages.size(); ++i) {
    const StageReport& s = r->stages[i];
    std::printf("%s\n  {\"stage\": \"%s\", \"bytes\": %zu, \"ratio\": %.2f, \"accuracy\": %.2f, \"loss\": %.4f, "
                "\"entropy_bytes\": %zu, \"entropy_ratio\": %.2f}",
                i ? "," : "", s.stage.c_str(), s.bytes, s.ratio, s.accuracy, s.loss, s.entropy_bytes, s.entropy_ratio);
  }
  std::printf("],\n \"layers\": [");
  for (size_t i = 0; i < r->layers.size(); ++i) {
    const LayerReport& l = r->layers[i];
    std::printf("%s\n  {\"param\": \"%s\", \"size\": %zu, \"kept\": %zu, \"bits\": %d, \"gap_bits\": %d, "
                "\"kmeans_mse\": %.3e, \"fp32_bytes\": %zu, \"pruned_bytes\": %zu, \"quantized_bytes\": %zu, "
                "\"huffman_bytes\": %zu, \"entropy_bytes\": %zu}",
                i ? "," : "", l.param.c_str(), l.size, l.kept, l.bits, l.gap_bits, l.kmeans_mse, l.fp32_bytes,
                l.pruned_bytes, l.quantized_bytes, l.huffman_bytes, l.entropy_bytes);
  }
  std::printf("],\n \"coders\": [%s]}\n", coder_rows(*net, r->layers, model, streams_dir).c_str());
  return 0;
}

/// Section 5.5's bit-width sweep: accuracy on the 10,000 test images when only the conv
/// (or only the fully connected) weights are quantized to 1..8 bits, with k-means (the
/// optimum, and Deep Compression's Lloyd from a linear init) or linear quantization
/// (symmetric per-tensor, 2..8 bits), no retraining.
int run_sweep(const std::string& model) {
  const Idx test = fashion("t10k");
  const ImageDataset data = dataset(test, 10000);
  const auto bytes = read_file(repo + "/web/models/" + model + ".onnx");
  auto net0 = network_from_onnx(*parse_onnx_model(bytes));
  if (!net0) return 1;
  const double fp32 = evaluate(*net0, data, 1000)->accuracy;
  std::printf("{\"model\": \"%s\", \"fp32_accuracy\": %.2f, \"rows\": [", model.c_str(), fp32);
  bool first = true;
  for (const char* group : {"conv", "fc"}) {
    for (const char* method : {"kmeans_optimal", "kmeans_lloyd_linear", "linear"}) {
      for (int bits = 1; bits <= 8; ++bits) {
        const bool lin = std::string(method) == "linear";
        if (lin && bits < 2) continue;
        Network net = *net0;
        bool any = false;
        for (const Layer& l : net.layers()) {
          const bool conv = l.kind == LayerKind::kConv2d;
          if (!(conv || l.kind == LayerKind::kLinear) || (std::string(group) == "conv") != conv) continue;
          any = true;
          Parameter& p = net.params()[static_cast<size_t>(l.params[0])];
          if (lin) {
            QuantSpec spec;
            spec.bits = bits;
            spec.symmetric = true;
            spec.narrow_range = true;
            float lo = 0, hi = 0;
            for (float v : p.value) {
              lo = std::min(lo, v);
              hi = std::max(hi, v);
            }
            const auto qp = *params_from_range(lo, hi, spec);
            p.value = *dequantize(*quantize(p.value, qp), qp);
          } else {
            KMeansOptions o;
            o.method = std::string(method) == "kmeans_optimal" ? KMeansMethod::kOptimal : KMeansMethod::kLloyd;
            p.value = *codebook_weights(*k_means_quantize(p.value, bits, o));
          }
        }
        if (!any) continue;
        const double acc = evaluate(net, data, 1000)->accuracy;
        std::printf("%s\n  {\"layers\": \"%s\", \"method\": \"%s\", \"bits\": %d, \"accuracy\": %.2f}", first ? "" : ",",
                    group, method, bits, acc);
        first = false;
      }
    }
  }
  std::printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--pipeline" && i + 1 < argc) return run_pipeline(argv[i + 1], argc, argv);
    if (a == "--sweep" && i + 1 < argc) return run_sweep(argv[i + 1]);
    if (a == "--repo" && i + 1 < argc) repo = argv[++i];
    else if (a == "--min-ms" && i + 1 < argc) min_ms = std::atof(argv[++i]);
    else if (a == "--quick") quick = true;
  }
  std::string out = "{\n  \"kmeans\": [\n";
  const BenchLayer layers[] = {{"lenet300", "fc1.weight"}, {"lenet300", "fc2.weight"}, {"lenet300", "fc3.weight"},
                          {"lenet5", "conv1.weight"}, {"lenet5", "conv2.weight"}, {"lenet5", "fc1.weight"},
                          {"lenet5", "fc2.weight"},   {"lenet5", "fc3.weight"},   {"cnn_bn", "conv2.weight"},
                          {"cnn_bn", "conv3.weight"}};
  const int bit_list[] = {2, 4, 5, 8};
  const KMeansInit inits[] = {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom, KMeansInit::kPlusPlus};
  const char* init_names[] = {"linear", "density", "random", "kmeans++"};
  bool first = true;
  for (const BenchLayer& l : layers) {
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
    // rANS (issue 17) on the same symbols: order-0, 4 interleaved states.
    {
      const RansStream r = *rans_encode(many, size_t{1} << bits);
      const double ms = median_ms([&] { (void)rans_decode(r.bytes, back, size_t{1} << bits); }, 5, min_ms);
      if (back != many) {
        std::fprintf(stderr, "rANS decoded wrongly\n");
        return 1;
      }
      std::snprintf(buf, sizeof buf,
                    ",\n    {\"bits\": %d, \"symbols\": %zu, \"decoder\": \"rans_%s_%dlanes\", \"ms\": %.3f, "
                    "\"msym_per_s\": %.1f, \"entropy\": %.4f, \"average_length\": %.4f, \"bytes\": %zu}",
                    bits, many.size(), r.context == EntropyContext::kOrder1 ? "order1" : "order0", r.lanes, ms,
                    static_cast<double>(many.size()) / (ms * 1e3), h.stats.entropy,
                    8.0 * static_cast<double>(r.bytes.size()) / static_cast<double>(many.size()), r.bytes.size());
      out += buf;
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
