// The IDX reader: the real Fashion-MNIST files, and every malformed header it must refuse.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "quantlab/dataset.hpp"

using namespace quantlab;

namespace {

std::vector<uint8_t> idx(std::vector<uint32_t> dims, size_t payload, uint8_t type = 0x08) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  for (size_t i = 0; i < payload; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  return b;
}

}  // namespace

TEST_CASE("read_idx reads dims and bytes", "[dataset]") {
  const auto bytes = idx({3, 2, 2}, 12);
  auto r = read_idx(bytes);
  REQUIRE(r.is_ok());
  CHECK(r->dims == std::vector<uint32_t>{3, 2, 2});
  REQUIRE(r->data.size() == 12);
  CHECK(r->data[5] == 35);
}

TEST_CASE("read_idx refuses malformed headers with codes that name the problem", "[dataset]") {
  CHECK(read_idx(std::vector<uint8_t>{0, 0}).status().code() == ErrorCode::kMalformed);
  CHECK(read_idx(std::vector<uint8_t>{1, 0, 8, 1, 0, 0, 0, 0}).status().code() == ErrorCode::kMalformed);
  const auto floats = read_idx(idx({2}, 8, 0x0D));
  CHECK(floats.status().code() == ErrorCode::kUnsupported);
  CHECK(floats.status().message().find("0x0d") != std::string::npos);
  CHECK(read_idx(idx({}, 0)).status().code() == ErrorCode::kMalformed);
  CHECK(read_idx(idx({4}, 3)).status().code() == ErrorCode::kMalformed);   // truncated
  CHECK(read_idx(idx({4}, 5)).status().code() == ErrorCode::kMalformed);   // trailing bytes
  auto header_only = idx({4, 4}, 0);
  header_only.resize(8);  // the second dimension is cut
  CHECK(read_idx(header_only).status().code() == ErrorCode::kMalformed);
  // 2^32-1 cubed would wrap a 64-bit product: refused before any allocation.
  CHECK(read_idx(idx({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, 0)).status().code() == ErrorCode::kTooLarge);
  IdxOptions small;
  small.max_bytes = 10;
  CHECK(read_idx(idx({12}, 12), small).status().code() == ErrorCode::kTooLarge);
  CHECK(read_idx(idx({1, 1, 1, 1, 1, 1, 1, 1, 1}, 1)).status().code() == ErrorCode::kTooLarge);
}

TEST_CASE("read_idx reads the Fashion-MNIST test labels", "[dataset]") {
  // The Debian package ships the files gzip-compressed; the bundled subset's first labels are
  // the same as the full test set's (web/data/README.md).
  std::FILE* raw = std::fopen(QL_SOURCE_DIR "/web/data/fashion-test-2000.labels.u8", "rb");
  REQUIRE(raw);
  std::vector<uint8_t> labels(2000);
  REQUIRE(std::fread(labels.data(), 1, labels.size(), raw) == labels.size());
  std::fclose(raw);
  auto file = idx({2000}, 0);
  file.insert(file.end(), labels.begin(), labels.end());
  auto r = read_idx(file);
  REQUIRE(r.is_ok());
  CHECK(r->data == labels);
  CHECK(r->data[0] == 9);  // the first Fashion-MNIST test image is an ankle boot
}
