// The full Fashion-MNIST from Debian's dataset-fashion-mnist (gzip IDX files), shared by the
// native benchmarks (compression_bench.cpp, pq_bench.cpp).
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "quantlab/train.hpp"

namespace quantlab::bench {

/// The decompressed bytes of a .gz file (the IDX files of dataset-fashion-mnist).
inline std::vector<uint8_t> gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "cannot open %s (Debian package dataset-fashion-mnist)\n", path.c_str());
    std::exit(1);
  }
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

struct Idx {
  std::vector<uint8_t> images, labels;
  int64_t count = 0;
};

/// split: "train" (60,000 images) or "t10k" (10,000).
inline Idx fashion(const std::string& split) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  Idx d;
  auto img = gunzip(dir + split + "-images-idx3-ubyte.gz");
  auto lab = gunzip(dir + split + "-labels-idx1-ubyte.gz");
  d.images.assign(img.begin() + 16, img.end());
  d.labels.assign(lab.begin() + 8, lab.end());
  d.count = static_cast<int64_t>(d.labels.size());
  return d;
}

/// The first `count` images of d as a 28x28 ImageDataset viewing d's bytes.
inline ImageDataset dataset(const Idx& d, int64_t count) {
  ImageDataset s;
  s.count = std::min(count, d.count);
  s.images = std::span<const uint8_t>(d.images.data(), static_cast<size_t>(s.count) * 784);
  s.labels = std::span<const uint8_t>(d.labels.data(), static_cast<size_t>(s.count));
  return s;
}

}  // namespace quantlab::bench
