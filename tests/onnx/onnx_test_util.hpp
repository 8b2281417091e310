// Helpers shared by the ONNX tests: reading host files (natively, and in the wasm test
// program through NODERAWFS), and the location of Debian's ONNX operator test cases.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace quantlab::testing {

/// ONNX's own operator test cases (Debian package libonnx-testdata). An absolute path, so the
/// wasm test program (which sees the host file system through NODERAWFS) finds it too.
inline const std::string kOnnxNodeTests = "/usr/share/libonnx-testdata/data/node";

/// Fashion-MNIST IDX files (Debian package dataset-fashion-mnist).
inline const std::string kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// POSIX calls rather than std::filesystem: they work the same natively and under
// Emscripten's NODERAWFS.
inline bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// Names of the entries of a directory (not "." and ".."), sorted; empty if unreadable.
inline std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(path.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// The whole file, or an empty vector if it cannot be read.
inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Message to fail with when the ONNX test data is missing (never skip silently).
inline std::string missing_onnx_testdata_message() {
  return "ONNX operator test cases not found at " + kOnnxNodeTests +
         ": install the Debian package libonnx-testdata (apt-get install libonnx-testdata, "
         "or run 'npm test', which installs it)";
}

}  // namespace quantlab::testing
