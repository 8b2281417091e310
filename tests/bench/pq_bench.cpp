// Native product-quantization benchmark pieces for bench-results/pq.json (issue 12).
// Modes (each prints one JSON object on stdout):
//   --model lenet300|lenet5 [--objective weight|activation] [--plan p:d:k,...] [--fc-d D] [--k K]
//       [--finetune E] [--lr X] [--batch N] [--train-count N] [--cal N] [--iterations N]
//       [--seed S] [--fp32-codebook]
//     pq_compress on the full Fashion-MNIST (Debian dataset-fashion-mnist: 60,000 training,
//     10,000 test images): one row per layer and an "all" row with fields model, layer,
//     objective, d, k, bytes, ratio, weight_mse, output_mse, fp32_accuracy, accuracy,
//     accuracy_ft.
//   --export DIR --model M --layer P --d D --k K
//     writes DIR/<model>.<layer>.d<D>.f32 (the subvectors, Layout (n, d)) for pq_faiss.py and
//     prints quantlab's weight-only weight_mse and ms on the same data (the faiss peer rows).
//   --timing   PQ of a 1 M-weight conv layer (868 x 128 x 3 x 3, k = 256, d = 9), both
//              objectives, and LUT inference against the decoded fp32 layer (scalar, same
//              order), the fp32 GEMM kernel and the int8 GEMM kernel on LeNet-300 fc1 shapes.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "quantlab/gemm.hpp"
#include "quantlab/onnx.hpp"
#include "fashion_data.hpp"
#include "quantlab/pq.hpp"

using namespace quantlab;
using quantlab::bench::dataset;
using quantlab::bench::fashion;
using quantlab::bench::Idx;

namespace {

std::string repo = QL_BENCH_SOURCE_DIR;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Network load_network(const std::string& model) {
  auto onnx = parse_onnx_model(read_file(repo + "/web/models/" + model + ".onnx"));
  if (!onnx) {
    std::fprintf(stderr, "cannot read %s: %s\n", model.c_str(), onnx.status().to_string().c_str());
    std::exit(1);
  }
  auto net = network_from_onnx(*onnx);
  if (!net) {
    std::fprintf(stderr, "%s\n", net.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(net).value();
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Median milliseconds of fn over at least `reps` runs and budget_ms of samples.
double median_ms(const std::function<void()>& fn, int reps, double budget_ms) {
  std::vector<double> t;
  const double start = now_ms();
  while (static_cast<int>(t.size()) < reps || now_ms() - start < budget_ms) {
    const double t0 = now_ms();
    fn();
    t.push_back(now_ms() - t0);
    if (t.size() >= 1000) break;
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

const char* objective_name(PQObjective o) { return o == PQObjective::kActivation ? "activation" : "weight"; }

int run_model(const std::string& model, int argc, char** argv) {
  PQCompressionOptions o;
  o.finetune_epochs = 0;
  int64_t train_count = 60000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--plan") {
      const std::string spec = next();
      size_t at = 0;
      while (at < spec.size()) {
        const size_t end = std::min(spec.find(',', at), spec.size());
        const std::string item = spec.substr(at, end - at);
        const size_t c1 = item.find(':'), c2 = item.find(':', c1 + 1);
        PQLayerPlan lp;
        lp.param = item.substr(0, c1);
        lp.d = std::atoi(item.substr(c1 + 1, c2 - c1 - 1).c_str());
        lp.k = std::atoi(item.substr(c2 + 1).c_str());
        o.layers.push_back(lp);
        at = end + 1;
      }
    } else if (a == "--objective") o.pq.objective = next() == "activation" ? PQObjective::kActivation : PQObjective::kWeight;
    else if (a == "--fc-d") o.fc_d = std::atoi(next().c_str());
    else if (a == "--k") o.k = std::atoi(next().c_str());
    else if (a == "--finetune") o.finetune_epochs = std::atoi(next().c_str());
    else if (a == "--lr") o.train.learning_rate = static_cast<float>(std::atof(next().c_str()));
    else if (a == "--batch") o.train.batch_size = std::atoi(next().c_str());
    else if (a == "--train-count") train_count = std::atoll(next().c_str());
    else if (a == "--cal") o.calibration_count = std::atoll(next().c_str());
    else if (a == "--iterations") o.pq.iterations = std::atoi(next().c_str());
    else if (a == "--seed") o.pq.seed = static_cast<uint32_t>(std::atoi(next().c_str()));
    else if (a == "--damping") o.pq.damping = std::atof(next().c_str());
    else if (a == "--fp32-codebook") o.pq.precision = CodebookPrecision::kFloat32;
    else if (a == "--center") o.pq.center = true;
  }
  const Idx train = fashion("train"), test = fashion("t10k");
  Network net = load_network(model);
  const double t0 = now_ms();
  auto r = pq_compress(net, dataset(train, train_count), dataset(test, 10000), o, [&](const Progress& p) {
    if (p.done == p.total && std::string(p.stage) != "evaluate") {
      std::fprintf(stderr, "  [%.0f s] %s done\n", (now_ms() - t0) / 1000, p.stage);
    }
  });
  if (!r) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    return 1;
  }
  const char* obj = objective_name(o.pq.objective);
  std::printf("{\"model\": \"%s\", \"seconds\": %.1f, \"rows\": [", model.c_str(), (now_ms() - t0) / 1000);
  for (const PQLayerReport& l : r->layers) {
    std::printf("\n  {\"model\": \"%s\", \"layer\": \"%s\", \"objective\": \"%s\", \"d\": %d, \"k\": %d, "
                "\"bytes\": %zu, \"index_bytes\": %zu, \"codebook_bytes\": %zu, \"ratio\": %.2f, "
                "\"weight_mse\": %.4e, \"output_mse\": %.4e, \"seconds\": %.2f},",
                model.c_str(), l.param.c_str(), obj, l.d, l.k, l.storage.total(), l.storage.index_bytes,
                l.storage.codebook_bytes, static_cast<double>(l.fp32_bytes) / static_cast<double>(l.storage.total()),
                l.weight_mse, l.output_mse, l.seconds);
  }
  // The "all" row names the d and k of the largest layer (most of the bytes).
  const PQLayerReport* big = nullptr;
  for (const PQLayerReport& l : r->layers) if (!big || l.weights > big->weights) big = &l;
  std::printf("\n  {\"model\": \"%s\", \"layer\": \"all\", \"objective\": \"%s\", \"d\": %d, \"k\": %d, "
              "\"bytes\": %zu, \"file_bytes\": %zu, \"ratio\": %.2f, \"fp32_accuracy\": %.2f, \"accuracy\": %.2f, "
              "\"accuracy_ft\": %.2f, \"file_accuracy\": %.2f, \"finetune_epochs\": %d}]}\n",
              model.c_str(), obj, big ? big->d : 0, big ? big->k : 0, r->bytes, r->file.size(), r->ratio,
              r->fp32_accuracy, r->accuracy, r->accuracy_ft, r->file_accuracy, o.finetune_epochs);
  return 0;
}

int run_export(const std::string& dir, int argc, char** argv) {
  std::string model = "lenet300", layer = "fc1.weight";
  int d = 8, k = 256, iterations = 25;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--model") model = next();
    else if (a == "--layer") layer = next();
    else if (a == "--d") d = std::atoi(next().c_str());
    else if (a == "--k") k = std::atoi(next().c_str());
    else if (a == "--iterations") iterations = std::atoi(next().c_str());
  }
  Network net = load_network(model);
  const Parameter* p = net.param(layer);
  if (!p) {
    std::fprintf(stderr, "no %s in %s\n", layer.c_str(), model.c_str());
    return 1;
  }
  const int64_t rows = p->shape[0], cols = static_cast<int64_t>(p->size()) / rows;
  const std::string path = dir + "/" + model + "." + layer + ".d" + std::to_string(d) + ".f32";
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(p->value.data()), static_cast<std::streamsize>(p->value.size() * 4));
  PQParameters pp;
  pp.d = d;
  pp.k = k;
  pp.iterations = iterations;
  pp.precision = CodebookPrecision::kFloat32;  // faiss keeps fp32 centroids
  Result<PQResult> r = invalid_argument("not run");
  const double ms = median_ms([&] { r = pq_quantize(p->value, rows, cols, pp); }, 3, 0);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    return 1;
  }
  std::printf("{\"peer\": \"quantlab\", \"model\": \"%s\", \"layer\": \"%s\", \"d\": %d, \"k\": %d, "
              "\"rows\": %lld, \"cols\": %lld, \"iterations\": %d, \"weight_mse\": %.6e, \"ms\": %.1f, "
              "\"file\": \"%s\"}\n",
              model.c_str(), layer.c_str(), d, k, static_cast<long long>(rows), static_cast<long long>(cols),
              r->iterations, r->weight_mse, ms, path.c_str());
  return 0;
}

int run_timing() {
  // A 1 M-weight conv layer: 868 x 128 x 3 x 3 = 999,936 weights, 111,104 subvectors of d = 9.
  const int64_t rows = 868, cols = 128 * 9;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (float& x : w) x = nd(rng);
  std::printf("{\"timing\": [");
  // Activation statistics from random inputs (64 images 128 x 14 x 14, 3 x 3 pad 1).
  std::vector<float> xv(64 * 128 * 14 * 14);
  for (float& x : xv) x = std::max(0.0f, nd(rng) * 20.0f);
  Tensor x = Tensor::from<float>({64, 128, 14, 14}, xv);
  Conv2dGeometry g;
  g.kernel_h = g.kernel_w = 3;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 1;
  double t0 = now_ms();
  auto stats = pq_conv_input_stats(x, g, 9);
  const double stats_ms = now_ms() - t0;
  bool first = true;
  for (PQObjective obj : {PQObjective::kWeight, PQObjective::kActivation}) {
    PQParameters p;
    p.d = 9;
    p.k = 256;
    p.objective = obj;
    t0 = now_ms();
    const std::clock_t c0 = std::clock();
    int reports = 0;
    auto r = pq_quantize(w, rows, cols, p, obj == PQObjective::kActivation ? &*stats : nullptr,
                         [&](const Progress&) { ++reports; });
    const double ms = now_ms() - t0;
    // CPU time too: on a shared machine the wall clock mostly measures the other processes.
    const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    if (!r) {
      std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
      return 1;
    }
    std::printf("%s\n  {\"what\": \"pq 1M weights\", \"objective\": \"%s\", \"weights\": %zu, \"d\": 9, \"k\": 256, "
                "\"iterations\": %d, \"ms\": %.1f, \"cpu_ms\": %.1f, \"stats_ms\": %.1f, \"progress_reports\": %d, "
                "\"weight_mse\": %.4e}",
                first ? "" : ",", objective_name(obj), w.size(), r->iterations, ms, cpu_ms,
                obj == PQObjective::kActivation ? stats_ms : 0.0, reports, r->weight_mse);
    first = false;
  }
  // LUT inference on LeNet-300 fc1's shape (300 x 784), d = 8 / k = 256 and d = 4 / k = 16.
  Network net = load_network("lenet300");
  const Parameter* fc1 = net.param("fc1.weight");
  const Parameter* b1 = net.param("fc1.bias");
  for (const auto& [d, k] : {std::pair{8, 256}, std::pair{4, 16}, std::pair{16, 256}}) {
    PQParameters p;
    p.d = d;
    p.k = k;
    auto r = pq_quantize(fc1->value, 300, 784, p);
    auto dec = pq_decode(r->layer);
    for (int64_t batch : {1, 64}) {
      std::vector<float> xb(static_cast<size_t>(batch) * 784), y(static_cast<size_t>(batch) * 300);
      for (float& v : xb) v = std::max(0.0f, nd(rng) * 20.0f);
      const double lut = median_ms([&] { (void)pq_linear_lut(r->layer, xb, batch, b1->value); }, 20, 300);
      const double ref = median_ms([&] { (void)pq_linear_reference(r->layer, xb, batch, b1->value); }, 20, 300);
      auto f32 = PackedGemmF32::pack(*dec, 300, 784, b1->value, FusedActivation::kNone);
      const double gemm = median_ms([&] { (void)f32->run(xb.data(), batch, y.data()); }, 20, 300);
      // int8: per-channel symmetric weights, uint8 inputs, int32 accumulators.
      std::vector<int8_t> q(dec->size());
      std::vector<float> scales(300);
      for (int o = 0; o < 300; ++o) {
        float m = 1e-8f;
        for (int i = 0; i < 784; ++i) m = std::max(m, std::abs((*dec)[static_cast<size_t>(o * 784 + i)]));
        scales[static_cast<size_t>(o)] = m / 127.0f;
        for (int i = 0; i < 784; ++i) {
          q[static_cast<size_t>(o * 784 + i)] = static_cast<int8_t>(std::lround((*dec)[static_cast<size_t>(o * 784 + i)] / scales[static_cast<size_t>(o)]));
        }
      }
      QOutput qo;
      qo.dtype = DType::kInt32;
      auto i8 = PackedQGemm::pack(q, 300, 784, scales, {}, DType::kUInt8, 0.02f, 0, qo);
      std::vector<uint8_t> xq(xb.size());
      for (size_t i = 0; i < xb.size(); ++i) xq[i] = static_cast<uint8_t>(std::min(255.0f, xb[i] / 0.02f));
      std::vector<int32_t> yi(y.size());
      const double int8 = i8 ? median_ms([&] { (void)i8->run(xq.data(), batch, yi.data()); }, 20, 300) : -1.0;
      std::printf(",\n  {\"what\": \"lut fc1 300x784\", \"d\": %d, \"k\": %d, \"batch\": %lld, \"lut_ms\": %.4f, "
                  "\"decoded_same_order_ms\": %.4f, \"fp32_gemm_ms\": %.4f, \"fp32_variant\": \"%s\", "
                  "\"int8_gemm_ms\": %.4f}",
                  d, k, static_cast<long long>(batch), lut, ref, gemm, f32->variant().c_str(), int8);
    }
  }
  std::printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, export_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repo" && i + 1 < argc) repo = argv[++i];
    else if (a == "--timing") return run_timing();
    else if (a == "--export" && i + 1 < argc) export_dir = argv[++i];
    else if (a == "--model" && i + 1 < argc) model = argv[++i];
  }
  if (!export_dir.empty()) return run_export(export_dir, argc, argv);
  if (!model.empty()) return run_model(model, argc, argv);
  std::fprintf(stderr, "usage: quantlab_pq_bench --model M [...] | --export DIR --model M --layer P --d D --k K | --timing\n");
  return 2;
}
