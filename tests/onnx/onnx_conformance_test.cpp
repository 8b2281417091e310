// ONNX's own operator test cases (Debian libonnx-testdata, /usr/share/libonnx-testdata/data/
// node): model.onnx + test_data_set_*/input_*.pb -> output_*.pb. The quantization cases must
// match bit for bit; the fp32 cases within a tight tolerance. Every test case of an operator
// quantlab implements is either run or listed below as unsupported with the reason, and a
// listed case must fail with a Status (never crash): a new or forgotten case fails loudly.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "onnx/onnx_conformance_cases.hpp"
#include "onnx/onnx_test_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;
using namespace quantlab::testing;
using namespace quantlab::testing::conformance;

namespace {

// --- Running a case ------------------------------------------------------------------------

struct CaseResult {
  bool ok = false;
  std::string message;
  double max_abs_error = 0.0;
};

std::string case_dir(const std::string& name) { return kOnnxNodeTests + "/" + name; }

Result<OnnxTensor> read_tensor(const std::string& path) {
  const auto bytes = read_file(path);
  if (bytes.empty()) return invalid_argument("cannot read " + path);
  return parse_onnx_tensor(bytes);
}

std::string value_string(const Tensor& t, size_t i) {
  char buf[64];
  switch (t.dtype()) {
    case DType::kFloat32: std::snprintf(buf, sizeof buf, "%.9g", double(t.data<float>()[i])); break;
    case DType::kUInt8: std::snprintf(buf, sizeof buf, "%d", int(t.data<uint8_t>()[i])); break;
    case DType::kInt8: std::snprintf(buf, sizeof buf, "%d", int(t.data<int8_t>()[i])); break;
    case DType::kInt32: std::snprintf(buf, sizeof buf, "%d", t.data<int32_t>()[i]); break;
    case DType::kInt64:
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(t.data<int64_t>()[i]));
      break;
    case DType::kBool: std::snprintf(buf, sizeof buf, "%d", int(t.data<bool>()[i])); break;
  }
  return buf;
}

/// Compares got with want; exact unless both are float32 and !exact.
bool compare(const Tensor& got, const Tensor& want, bool exact, std::string& why, double& max_err) {
  if (got.dtype() != want.dtype()) {
    why = std::string("element type ") + dtype_name(got.dtype()) + ", expected " +
          dtype_name(want.dtype());
    return false;
  }
  if (got.shape() != want.shape()) {
    why = "shape " + shape_string(got.shape()) + ", expected " + shape_string(want.shape());
    return false;
  }
  if (exact || got.dtype() != DType::kFloat32) {
    if (got.bytes() && std::memcmp(got.raw(), want.raw(), got.bytes()) != 0) {
      for (size_t i = 0; i < got.size(); ++i) {
        if (value_string(got, i) != value_string(want, i)) {
          why = "element " + std::to_string(i) + " is " + value_string(got, i) + ", expected " +
                value_string(want, i) + " (bit-exact comparison)";
          break;
        }
      }
      return false;
    }
    return true;
  }
  const auto g = got.data<float>();
  const auto w = want.data<float>();
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::fabs(double(g[i]) - double(w[i]));
    max_err = std::max(max_err, err);
    if (!(err <= kAtol + kRtol * std::fabs(double(w[i])))) {
      why = "element " + std::to_string(i) + " is " + value_string(got, i) + ", expected " +
            value_string(want, i);
      return false;
    }
  }
  return true;
}

CaseResult run_case(const std::string& name, bool exact) {
  CaseResult r;
  const std::string dir = case_dir(name);
  auto model = Model::load(read_file(dir + "/model.onnx"));
  if (!model) {
    r.message = "load: " + model.status().to_string();
    return r;
  }
  int sets = 0;
  for (const std::string& set : list_dir(dir)) {
    if (set.rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < model->inputs().size(); ++i) {
      auto t = read_tensor(dir + "/" + set + "/input_" + std::to_string(i) + ".pb");
      if (!t) {
        r.message = set + " input " + std::to_string(i) + ": " + t.status().to_string();
        return r;
      }
      inputs.push_back(std::move(t->tensor));
    }
    auto outputs = model->run(inputs);
    if (!outputs) {
      r.message = set + ": run: " + outputs.status().to_string();
      return r;
    }
    for (size_t j = 0; j < outputs->size(); ++j) {
      auto want = read_tensor(dir + "/" + set + "/output_" + std::to_string(j) + ".pb");
      if (!want) {
        r.message = set + " output " + std::to_string(j) + ": " + want.status().to_string();
        return r;
      }
      std::string why;
      if (!compare((*outputs)[j], want->tensor, exact, why, r.max_abs_error)) {
        r.message = set + " output " + std::to_string(j) + ": " + why;
        return r;
      }
    }
  }
  if (sets == 0) {
    r.message = "no test_data_set_* folder";
    return r;
  }
  r.ok = true;
  return r;
}

void require_testdata() {
  if (!file_exists(kOnnxNodeTests)) FAIL(missing_onnx_testdata_message());
}

}  // namespace

TEST_CASE("ONNX conformance: quantization operators match ONNX's outputs bit for bit",
          "[onnx][conformance]") {
  require_testdata();
  int passed = 0;
  for (const std::string& name : kExactCases) {
    INFO(name);
    const CaseResult r = run_case(name, true);
    INFO(r.message);
    CHECK(r.ok);
    passed += r.ok ? 1 : 0;
  }
  std::printf("[onnx conformance] bit-exact quantization cases: %d / %zu pass\n", passed,
              kExactCases.size());
}

TEST_CASE("ONNX conformance: fp32 operators match ONNX's outputs", "[onnx][conformance]") {
  require_testdata();
  int passed = 0;
  double worst = 0.0;
  std::string worst_case;
  for (const std::string& name : kFloatCases) {
    INFO(name);
    const CaseResult r = run_case(name, false);
    INFO(r.message);
    CHECK(r.ok);
    passed += r.ok ? 1 : 0;
    if (r.max_abs_error > worst) {
      worst = r.max_abs_error;
      worst_case = name;
    }
  }
  std::printf("[onnx conformance] fp32 cases: %d / %zu pass (largest error %.3g in %s)\n", passed,
              kFloatCases.size(), worst, worst_case.c_str());
}

TEST_CASE("ONNX conformance: unsupported features fail with a Status that names them",
          "[onnx][conformance][errors]") {
  require_testdata();
  for (const Unsupported& u : kUnsupportedCases) {
    INFO(u.name << " (" << u.reason << ")");
    const CaseResult r = run_case(u.name, false);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.message, Catch::Contains(u.mentions));
  }
}

TEST_CASE("ONNX conformance: every test case of a supported operator is run or listed",
          "[onnx][conformance]") {
  require_testdata();
  std::set<std::string> listed(kExactCases.begin(), kExactCases.end());
  listed.insert(kFloatCases.begin(), kFloatCases.end());
  for (const auto& u : kUnsupportedCases) listed.insert(u.name);
  int matched = 0;
  for (const std::string& name : list_dir(kOnnxNodeTests)) {
    const bool ours = std::any_of(
        kOperatorPrefixes.begin(), kOperatorPrefixes.end(), [&](const std::string& p) {
          if (!p.empty() && p.back() == '$') return name == p.substr(0, p.size() - 1);
          return name.rfind(p, 0) == 0;
        });
    if (!ours) continue;
    ++matched;
    INFO(name << " tests an operator quantlab implements but is neither run nor listed as "
                 "unsupported in tests/onnx/onnx_conformance_test.cpp");
    CHECK(listed.count(name) == 1);
  }
  for (const std::string& name : listed) {
    INFO(name << " is listed but missing from " << kOnnxNodeTests);
    CHECK(file_exists(case_dir(name) + "/model.onnx"));
  }
  CHECK(matched == static_cast<int>(listed.size()));
}
