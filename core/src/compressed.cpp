// The compressed model file: writer, bounds-checked reader, CRC-32. Layout in compressed.hpp.
#include "quantlab/compressed.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <set>

#include "compressed_internal.hpp"
#include "quantlab/entropy.hpp"
#include "quantlab/huffman.hpp"
#include "quantlab/prune.hpp"

namespace quantlab {
namespace {

constexpr uint8_t kMagic[4] = {'Q', 'L', 'D', 'C'};
constexpr size_t kMaxName = 1024;

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

// --- Writing ----------------------------------------------------------------------------------

struct Writer {
  std::vector<uint8_t> b;
  void u8(uint32_t v) { b.push_back(static_cast<uint8_t>(v)); }
  void u16(uint32_t v) { for (int i = 0; i < 2; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i))); }
  void u32(uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i))); }
  void i32(int64_t v) { u32(static_cast<uint32_t>(static_cast<int32_t>(v))); }
  void f32(float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    u32(u);
  }
  void str(const std::string& s) {
    u16(static_cast<uint32_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
  }
  void bytes(const std::vector<uint8_t>& v) { b.insert(b.end(), v.begin(), v.end()); }
};

struct ScaledIntegers {
  float scale = 0.0f;
  std::vector<int64_t> q;
};

/// v ~ q x scale with |q| <= 2^(bits-1) - 1 and scale = max|v| / (2^(bits-1) - 1) (symmetric,
/// as a bias's int32 with the layer's S_w x S_x would be, but with its own scale).
ScaledIntegers scale_integers(std::span<const float> v, int bits) {
  ScaledIntegers s;
  double m = 0.0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  const double qmax = std::ldexp(1.0, bits - 1) - 1.0;
  s.scale = static_cast<float>(m / qmax);
  s.q.resize(v.size(), 0);
  if (s.scale > 0.0f) {
    for (size_t i = 0; i < v.size(); ++i) {
      const double q = std::nearbyint(static_cast<double>(v[i]) / static_cast<double>(s.scale));
      s.q[i] = static_cast<int64_t>(std::clamp(q, -qmax, qmax));
    }
  }
  return s;
}

std::vector<uint8_t> pack_fixed(std::span<const uint16_t> symbols, int width) {
  BitWriter w;
  for (uint16_t s : symbols) w.write(s, width);
  return w.finish();
}

/// Writes a stream of symbols < 2^width: fixed width, or the smallest allowed entropy
/// coding when smaller. Returns (payload bytes, table/header bytes).
Result<std::pair<size_t, size_t>> write_stream(Writer& out, std::span<const uint16_t> symbols, int width,
                                               const TensorCoding& coding) {
  const size_t start = out.b.size();
  std::vector<uint8_t> fixed = pack_fixed(symbols, width);
  // Candidates: (kind, stream bytes after the kind byte, payload bytes).
  std::vector<uint8_t> best;
  uint8_t best_kind = 0;
  size_t best_payload = fixed.size();
  best = std::move(fixed);
  if (coding.huffman && !symbols.empty()) {
    const bool try_huffman = coding.entropy != EntropyCoder::kRans;
    const bool try_rans = coding.entropy != EntropyCoder::kHuffman;
    size_t alphabet = 0;
    for (uint16_t s : symbols) alphabet = std::max(alphabet, static_cast<size_t>(s) + 1);
    QL_CHECK(alphabet <= (size_t{1} << width));
    if (try_huffman) {
      // More than 2^15 distinct gap values cannot have 15-bit codewords: no Huffman stream.
      auto h = huffman_compress(symbols, alphabet, 15);
      if (h) {
        Writer hw;
        hw.u16(static_cast<uint32_t>(alphabet));
        for (size_t s = 0; s < alphabet; s += 2) {
          const uint32_t hi = h->code.lengths[s];
          const uint32_t lo = s + 1 < alphabet ? h->code.lengths[s + 1] : 0;
          hw.u8((hi << 4) | lo);
        }
        hw.u32(static_cast<uint32_t>(h->encoded.bytes.size()));
        hw.bytes(h->encoded.bytes);
        if (hw.b.size() < best.size()) {
          best = std::move(hw.b);
          best_kind = 1;
          best_payload = h->encoded.bytes.size();
        }
      }
    }
    if (try_rans) {
      auto r = rans_encode(symbols, alphabet);
      if (r && r->bytes.size() < best.size()) {
        best_payload = r->payload_bytes;
        best = std::move(r->bytes);
        best_kind = 2;
      }
    }
  }
  out.u8(best_kind);
  out.bytes(best);
  return std::make_pair(best_payload, out.b.size() - start - best_payload);
}

Status check_shape(const TensorToCompress& t, size_t& n) {
  if (t.name.empty() || t.name.size() > kMaxName) {
    return invalid_argument("compressed file: tensor names must have 1.." + std::to_string(kMaxName) + " bytes");
  }
  if (t.shape.size() > 8) return invalid_argument("compressed file: tensor '" + t.name + "' has more than 8 dimensions");
  n = 1;
  for (int64_t d : t.shape) {
    if (d < 0 || d > 0x7FFFFFFF) return invalid_argument("compressed file: tensor '" + t.name + "' has a bad dimension");
    n *= static_cast<size_t>(d);
    if (n > kMaxCompressedElements) {
      return too_large("compressed file: tensor '" + t.name + "' has more than " +
                       std::to_string(kMaxCompressedElements) + " elements");
    }
  }
  return Status::ok();
}

// --- Reading ----------------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return b_.size() - pos_; }
  Status need(size_t n, const char* what) const {
    if (n > remaining()) {
      return malformed(std::string("compressed file: truncated ") + what + " at byte " + std::to_string(pos_));
    }
    return Status::ok();
  }
  Result<uint32_t> u8(const char* what) {
    QL_RETURN_IF_ERROR(need(1, what));
    return b_[pos_++];
  }
  Result<uint32_t> u16(const char* what) {
    QL_RETURN_IF_ERROR(need(2, what));
    const uint32_t v = b_[pos_] | (uint32_t{b_[pos_ + 1]} << 8);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> u32(const char* what) {
    QL_RETURN_IF_ERROR(need(4, what));
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{b_[pos_ + static_cast<size_t>(i)]} << (8 * i);
    pos_ += 4;
    return v;
  }
  Result<int32_t> i32(const char* what) {
    auto v = u32(what);
    if (!v) return v.status();
    return static_cast<int32_t>(*v);
  }
  Result<float> f32(const char* what) {
    auto v = u32(what);
    if (!v) return v.status();
    float f;
    const uint32_t u = *v;
    std::memcpy(&f, &u, 4);
    return f;
  }
  Result<std::string> str(const char* what) {
    auto n = u16(what);
    if (!n) return n.status();
    if (*n > kMaxName) return malformed(std::string("compressed file: ") + what + " longer than 1024 bytes");
    QL_RETURN_IF_ERROR(need(*n, what));
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), *n);
    pos_ += *n;
    return s;
  }
  std::span<const uint8_t> rest() const { return b_.subspan(pos_); }
  Result<std::span<const uint8_t>> take(size_t n, const char* what) {
    QL_RETURN_IF_ERROR(need(n, what));
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

#define QL_READ(var, expr)             \
  auto var##_r = (expr);               \
  if (!var##_r) return var##_r.status(); \
  const auto var = *var##_r

/// Reads `count` symbols < 2^width. payload/table bytes are added to the sizes.
Result<std::vector<uint16_t>> read_stream(Reader& r, uint32_t version, size_t count, int width, size_t limit,
                                          size_t& payload, size_t& table, TensorCoding& coding) {
  const size_t start = r.pos();
  QL_READ(kind, r.u8("stream kind"));
  std::vector<uint16_t> out;
  if (kind == 2 && version >= 2) {
    // Every symbol takes at least... nothing (a one-symbol alphabet codes in 0 bits): the
    // count is bounded by kMaxCompressedElements (checked by the caller) instead.
    coding.huffman = true;
    coding.entropy = EntropyCoder::kRans;
    out.resize(count);
    RansStream info;
    auto used = rans_decode(r.rest(), out, limit, &info);
    if (!used) return malformed("compressed file: " + used.status().message());
    (void)r.take(*used, "rANS stream");
    payload += info.payload_bytes;
    table += r.pos() - start - info.payload_bytes;
    return out;
  }
  if (kind == 0) {
    const uint64_t bits = static_cast<uint64_t>(count) * static_cast<uint64_t>(width);
    const uint64_t bytes = (bits + 7) / 8;
    QL_RETURN_IF_ERROR(r.need(static_cast<size_t>(std::min<uint64_t>(bytes, SIZE_MAX)), "fixed-width stream"));
    QL_READ(data, r.take(static_cast<size_t>(bytes), "fixed-width stream"));
    out.resize(count);
    BitReader br(data);
    for (size_t i = 0; i < count; ++i) {
      auto v = br.read(width);
      if (!v) return v.status();
      if (*v >= limit) return malformed("compressed file: symbol " + std::to_string(*v) + " out of range");
      out[i] = static_cast<uint16_t>(*v);
    }
    payload += data.size();
    table += 1;
    return out;
  }
  if (kind != 1) return malformed("compressed file: unknown stream kind " + std::to_string(kind));
  coding.huffman = true;
  QL_READ(alphabet, r.u16("Huffman alphabet"));
  if (alphabet == 0 || alphabet > limit) {
    return malformed("compressed file: Huffman alphabet of " + std::to_string(alphabet) + " symbols (at most " +
                     std::to_string(limit) + ")");
  }
  QL_READ(packed, r.take((alphabet + 1) / 2, "Huffman code lengths"));
  std::vector<uint8_t> lengths(alphabet);
  for (size_t s = 0; s < alphabet; ++s) lengths[s] = (s % 2 == 0) ? packed[s / 2] >> 4 : packed[s / 2] & 15;
  QL_READ(nbytes, r.u32("Huffman payload size"));
  QL_READ(data, r.take(nbytes, "Huffman payload"));
  // Every codeword has at least one bit: more symbols than bits cannot be there (and this
  // bounds the allocation below by the file size).
  if (count > static_cast<uint64_t>(data.size()) * 8) {
    return malformed("compressed file: " + std::to_string(count) + " symbols cannot fit in " +
                     std::to_string(data.size()) + " bytes");
  }
  auto code = canonical_code(lengths);
  if (!code) return malformed("compressed file: bad Huffman code lengths (" + code.status().message() + ")");
  if (code->max_length() == 0) return malformed("compressed file: a Huffman table without codewords");
  auto dec = HuffmanDecoder::create(*code);
  if (!dec) return malformed("compressed file: bad Huffman code (" + dec.status().message() + ")");
  out.resize(count);
  if (count) {
    auto used = dec->decode(data, out);
    if (!used) return used.status();
  }
  payload += data.size();
  table += r.pos() - start - data.size();
  return out;
}

}  // namespace

uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  crc = ~crc;
  for (uint8_t b : bytes) crc = table[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

Result<std::vector<uint8_t>> encode_compressed(std::span<const TensorToCompress> tensors,
                                               const Network* arch) {
  Writer w;
  for (uint8_t c : kMagic) w.u8(c);
  w.u16(kCompressedVersion);
  w.u16(0);
  w.u32(static_cast<uint32_t>(tensors.size()));
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (!names.insert(t.name).second) return invalid_argument("compressed file: two tensors are called '" + t.name + "'");
  }
  // Architecture.
  w.u32(arch ? static_cast<uint32_t>(arch->layers().size()) : 0u);
  if (arch) {
    if (arch->input_shape().size() > 8) return invalid_argument("compressed file: input rank above 8");
    w.u8(static_cast<uint32_t>(arch->input_shape().size()));
    for (int64_t d : arch->input_shape()) w.i32(d);
    for (const Layer& l : arch->layers()) {
      if (l.name.empty() || l.name.size() > kMaxName) return invalid_argument("compressed file: bad layer name");
      w.u8(static_cast<uint32_t>(l.kind));
      w.str(l.name);
      w.u8(static_cast<uint32_t>(l.params.size()));
      for (int p : l.params) {
        int32_t index = -1;
        if (p >= 0) {
          const std::string& pname = arch->params()[static_cast<size_t>(p)].name;
          for (size_t t = 0; t < tensors.size(); ++t) if (tensors[t].name == pname) index = static_cast<int32_t>(t);
          if (index < 0) return invalid_argument("compressed file: parameter '" + pname + "' is not among the tensors");
        }
        w.i32(index);
      }
      switch (l.kind) {
        case LayerKind::kConv2d:
          for (int64_t v : {l.conv.kernel_h, l.conv.kernel_w, l.conv.stride_h, l.conv.stride_w, l.conv.pad_top,
                            l.conv.pad_left, l.conv.pad_bottom, l.conv.pad_right}) {
            w.i32(v);
          }
          break;
        case LayerKind::kMaxPool:
        case LayerKind::kAvgPool:
          w.i32(l.pool_kernel);
          w.i32(l.pool_stride);
          break;
        case LayerKind::kBatchNorm: w.f32(l.eps); break;
        default: break;
      }
    }
  }
  // Tensors.
  for (const auto& t : tensors) {
    size_t n = 0;
    QL_RETURN_IF_ERROR(check_shape(t, n));
    w.str(t.name);
    w.u8(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) w.i32(d);
    const TensorCoding& c = t.coding;
    if (t.pq) {
      const PQLayer& l = *t.pq;
      if (l.k < 2 || l.k > kMaxPQCodewords || l.d < 1 || l.d > 0xFFFF || t.shape.empty() || l.rows != t.shape[0] ||
          l.rows * l.cols != static_cast<int64_t>(n)) {
        return invalid_argument("compressed file: tensor '" + t.name + "': a PQ layer (k 2..65536) of another shape");
      }
      auto dec = pq_decode(l);  // validates the codebook and the codes
      if (!dec) return dec.status();
      for (float v : l.codebook) if (!std::isfinite(v)) return not_finite("compressed file: tensor '" + t.name + "' has a non-finite codeword");
      const bool half = l.precision == CodebookPrecision::kFloat16;
      w.u8(3);
      w.u8(half ? 1 : 0);
      w.u32(static_cast<uint32_t>(l.k));
      w.u16(static_cast<uint32_t>(l.d));
      for (float v : l.codebook) {
        if (half) w.u16(fp16_bits(v));
        else w.f32(v);
      }
      auto st = write_stream(w, l.codes, l.nbits(), c);
      if (!st) return st.status();
      continue;
    }
    if (c.bits == 0) {
      if (t.values.size() != n) {
        return shape_mismatch("compressed file: tensor '" + t.name + "' has " + std::to_string(t.values.size()) +
                              " values for shape " + shape_string(t.shape));
      }
      for (float v : t.values) if (!std::isfinite(v)) return not_finite("compressed file: tensor '" + t.name + "' is not finite");
      if (c.bias_bits == 0) {
        w.u8(0);
        for (float v : t.values) w.f32(v);
        continue;
      }
      if (c.bias_bits != 16 && c.bias_bits != 32) {
        return invalid_argument("compressed file: tensor '" + t.name + "': bias_bits must be 0, 16 or 32");
      }
      const ScaledIntegers q = scale_integers(t.values, c.bias_bits);
      w.u8(4);
      w.u8(static_cast<uint32_t>(c.bias_bits));
      w.f32(q.scale);
      for (int64_t v : q.q) {
        if (c.bias_bits == 16) w.u16(static_cast<uint32_t>(static_cast<uint16_t>(static_cast<int16_t>(v))));
        else w.i32(v);
      }
      continue;
    }
    if (c.bits < 1 || c.bits > kMaxKMeansBits) {
      return invalid_argument("compressed file: tensor '" + t.name + "': bits must be 0..8, got " + std::to_string(c.bits));
    }
    if (!t.codebook) return invalid_argument("compressed file: tensor '" + t.name + "' has bits but no codebook");
    const Codebook& cb = *t.codebook;
    if (cb.centroids.size() != (size_t{1} << c.bits)) {
      return invalid_argument("compressed file: tensor '" + t.name + "': " + std::to_string(cb.centroids.size()) +
                              " centroids for " + std::to_string(c.bits) + " bits");
    }
    if (cb.labels.size() != n) {
      return shape_mismatch("compressed file: tensor '" + t.name + "' has " + std::to_string(cb.labels.size()) +
                            " labels for shape " + shape_string(t.shape));
    }
    for (float v : cb.centroids) if (!std::isfinite(v)) return not_finite("compressed file: tensor '" + t.name + "' has a non-finite centroid");
    std::vector<uint16_t> labels(n);
    for (size_t i = 0; i < n; ++i) {
      if (cb.labels[i] < 0 || static_cast<size_t>(cb.labels[i]) >= cb.centroids.size()) {
        return out_of_range("compressed file: tensor '" + t.name + "' has a label out of range");
      }
      labels[i] = static_cast<uint16_t>(cb.labels[i]);
    }
    const bool sparse = c.gap_bits != 0;
    if (sparse) {
      if (c.gap_bits < 1 || c.gap_bits > 16) {
        return invalid_argument("compressed file: tensor '" + t.name + "': gap_bits must be 0..16");
      }
      if (!cb.pinned_zero || cb.centroids[0] != 0.0f) {
        return invalid_argument("compressed file: tensor '" + t.name + "': sparse storage needs a pinned-zero codebook");
      }
      if (n == 0) return invalid_argument("compressed file: tensor '" + t.name + "' is empty");
    }
    w.u8(sparse ? 2 : 1);
    w.u8(static_cast<uint32_t>(c.bits));
    w.u8(cb.pinned_zero ? 1 : 0);
    for (float v : cb.centroids) w.f32(v);
    if (!sparse) {
      auto st = write_stream(w, labels, c.bits, c);
      if (!st) return st.status();
      continue;
    }
    PruneMask mask(n);
    for (size_t i = 0; i < n; ++i) mask[i] = labels[i] != 0;
    auto ri = encode_relative_indices(mask, c.gap_bits);
    if (!ri) return ri.status();
    std::vector<uint16_t> gaps(ri->gaps.begin(), ri->gaps.end());
    std::vector<uint16_t> entry_labels(ri->positions.size());
    for (size_t e = 0; e < ri->positions.size(); ++e) entry_labels[e] = labels[ri->positions[e]];
    w.u8(static_cast<uint32_t>(c.gap_bits));
    w.u32(static_cast<uint32_t>(gaps.size()));
    auto s1 = write_stream(w, gaps, c.gap_bits, c);
    if (!s1) return s1.status();
    auto s2 = write_stream(w, entry_labels, c.bits, c);
    if (!s2) return s2.status();
  }
  w.u32(crc32(w.b));
  return std::move(w.b);
}

Result<CompressedModel> decode_compressed(std::span<const uint8_t> bytes) {
  if (bytes.size() < 20 || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return malformed("not a quantlab compressed model (no QLDC header)");
  }
  const uint32_t version = bytes[4] | (uint32_t{bytes[5]} << 8);
  if (version < kCompressedMinVersion || version > kCompressedVersion) {
    return malformed("compressed model version " + std::to_string(version) + " is not supported (this build reads versions " +
                     std::to_string(kCompressedMinVersion) + " to " + std::to_string(kCompressedVersion) + ")");
  }
  const size_t body = bytes.size() - 4;
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= uint32_t{bytes[body + static_cast<size_t>(i)]} << (8 * i);
  if (crc32(bytes.first(body)) != stored) return malformed("compressed model: checksum mismatch (the file is corrupt)");
  Reader r(bytes.first(body));
  QL_RETURN_IF_ERROR(r.need(8, "header"));
  (void)r.take(6, "header");
  QL_READ(flags, r.u16("flags"));
  if (flags != 0) return malformed("compressed model: unknown flags");
  QL_READ(ntensors, r.u32("tensor count"));
  QL_READ(nlayers, r.u32("layer count"));
  // Each tensor and layer takes several bytes: counts beyond the file are corrupt.
  if (ntensors > r.remaining() / 4 || nlayers > r.remaining() / 4) return malformed("compressed model: absurd counts");
  CompressedModel model;
  model.file_bytes = bytes.size();
  // Architecture (built once the tensors are known).
  struct LayerRec {
    LayerKind kind;
    std::string name;
    std::vector<int32_t> params;
    Conv2dGeometry conv;
    int64_t kernel = 0, stride = 0;
    float eps = 1e-5f;
  };
  std::vector<LayerRec> layers;
  Shape input_shape;
  if (nlayers > 0) {
    QL_READ(rank, r.u8("input rank"));
    if (rank > 8) return malformed("compressed model: input rank above 8");
    for (uint32_t i = 0; i < rank; ++i) {
      QL_READ(d, r.i32("input dims"));
      if (d < 1) return malformed("compressed model: bad input dimension");
      input_shape.push_back(d);
    }
    for (uint32_t li = 0; li < nlayers; ++li) {
      LayerRec l;
      QL_READ(kind, r.u8("layer kind"));
      if (kind > static_cast<uint32_t>(LayerKind::kBatchNorm)) return malformed("compressed model: unknown layer kind");
      l.kind = static_cast<LayerKind>(kind);
      QL_READ(name, r.str("layer name"));
      l.name = name;
      QL_READ(np, r.u8("layer parameter count"));
      const uint32_t want = l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d ? 2u
                            : l.kind == LayerKind::kBatchNorm                              ? 4u
                                                                                           : 0u;
      if (np != want) return malformed("compressed model: layer '" + l.name + "' has " + std::to_string(np) + " parameters");
      for (uint32_t p = 0; p < np; ++p) {
        QL_READ(idx, r.i32("layer parameter"));
        if (idx < -1 || idx >= static_cast<int64_t>(ntensors)) return malformed("compressed model: bad tensor index");
        l.params.push_back(idx);
      }
      if (l.kind == LayerKind::kConv2d) {
        int64_t v[8];
        for (auto& x : v) {
          QL_READ(a, r.i32("conv attributes"));
          x = a;
        }
        l.conv.kernel_h = v[0];
        l.conv.kernel_w = v[1];
        l.conv.stride_h = v[2];
        l.conv.stride_w = v[3];
        l.conv.pad_top = v[4];
        l.conv.pad_left = v[5];
        l.conv.pad_bottom = v[6];
        l.conv.pad_right = v[7];
      } else if (l.kind == LayerKind::kMaxPool || l.kind == LayerKind::kAvgPool) {
        QL_READ(k, r.i32("pool kernel"));
        QL_READ(s, r.i32("pool stride"));
        l.kernel = k;
        l.stride = s;
      } else if (l.kind == LayerKind::kBatchNorm) {
        QL_READ(e, r.f32("epsilon"));
        l.eps = e;
      }
      layers.push_back(std::move(l));
    }
  }
  model.architecture_bytes = r.pos() + 4;
  size_t total_elements = 0;
  for (uint32_t ti = 0; ti < ntensors; ++ti) {
    DecodedTensor t;
    const size_t start = r.pos();
    QL_READ(name, r.str("tensor name"));
    t.name = name;
    QL_READ(rank, r.u8("tensor rank"));
    if (rank > 8) return malformed("compressed model: tensor '" + t.name + "' has rank " + std::to_string(rank));
    size_t n = 1;
    for (uint32_t i = 0; i < rank; ++i) {
      QL_READ(d, r.i32("tensor dims"));
      if (d < 0) return malformed("compressed model: tensor '" + t.name + "' has a negative dimension");
      t.shape.push_back(d);
      if (d > 0 && n > kMaxCompressedElements / static_cast<size_t>(d)) {
        return too_large("compressed model: tensor '" + t.name + "' has more than " + std::to_string(kMaxCompressedElements) +
                         " elements");
      }
      n *= static_cast<size_t>(d);
    }
    if (n > kMaxCompressedElements) return too_large("compressed model: tensor '" + t.name + "' is too large");
    total_elements += n;
    if (total_elements > 2 * kMaxCompressedElements) return too_large("compressed model: too many elements in all");
    QL_READ(coding, r.u8("tensor coding"));
    if (coding == 0) {
      if (n > r.remaining() / 4) return malformed("compressed model: tensor '" + t.name + "' is truncated");
      t.sizes.header = r.pos() - start;
      t.values.resize(n);
      for (size_t i = 0; i < n; ++i) {
        QL_READ(v, r.f32("values"));
        t.values[i] = v;
      }
      t.sizes.raw = 4 * n;
      t.sizes.entries = n;
      model.tensors.push_back(std::move(t));
      continue;
    }
    if (coding == 4 && version >= 2) {
      QL_READ(ibits, r.u8("integer bits"));
      if (ibits != 16 && ibits != 32) return malformed("compressed model: tensor '" + t.name + "' has bad integer bits");
      QL_READ(scale, r.f32("integer scale"));
      if (!std::isfinite(scale) || scale < 0.0f) return malformed("compressed model: tensor '" + t.name + "' has a bad scale");
      const size_t width = ibits / 8;
      if (n > r.remaining() / width) return malformed("compressed model: tensor '" + t.name + "' is truncated");
      t.sizes.header = r.pos() - start;
      t.values.resize(n);
      for (size_t i = 0; i < n; ++i) {
        if (ibits == 16) {
          QL_READ(v, r.u16("integers"));
          t.values[i] = static_cast<float>(static_cast<int16_t>(static_cast<uint16_t>(v))) * scale;
        } else {
          QL_READ(v, r.i32("integers"));
          t.values[i] = static_cast<float>(static_cast<double>(v) * scale);
        }
      }
      t.sizes.raw = width * n + 5;
      t.sizes.header -= 5;
      t.coding.bias_bits = static_cast<int>(ibits);
      t.sizes.entries = n;
      model.tensors.push_back(std::move(t));
      continue;
    }
    if (coding == 3) {
      QL_READ(half, r.u8("PQ precision"));
      QL_READ(k, r.u32("PQ k"));
      QL_READ(d, r.u16("PQ d"));
      if (half > 1 || k < 2 || k > static_cast<uint32_t>(kMaxPQCodewords) || d < 1 || t.shape.empty() || t.shape[0] < 1 ||
          n % (static_cast<size_t>(t.shape[0]) * d) != 0) {
        return malformed("compressed model: tensor '" + t.name + "' has a bad PQ header");
      }
      t.sizes.header = r.pos() - start;
      PQLayer l;
      l.rows = t.shape[0];
      l.cols = static_cast<int64_t>(n) / l.rows;
      l.d = static_cast<int>(d);
      l.k = static_cast<int>(k);
      l.precision = half ? CodebookPrecision::kFloat16 : CodebookPrecision::kFloat32;
      const size_t values = static_cast<size_t>(k) * d;
      if (values > r.remaining() / (half ? 2 : 4)) return malformed("compressed model: tensor '" + t.name + "' is truncated");
      l.codebook.resize(values);
      for (float& v : l.codebook) {
        if (half) {
          QL_READ(b, r.u16("PQ codebook"));
          v = fp16_value(static_cast<uint16_t>(b));
        } else {
          QL_READ(f, r.f32("PQ codebook"));
          v = f;
        }
        if (!std::isfinite(v)) return malformed("compressed model: a PQ codeword is not finite");
      }
      t.sizes.codebook = values * (half ? 2 : 4);
      t.coding.huffman = false;
      auto codes = read_stream(r, version, n / d, l.nbits(), k, t.sizes.labels, t.sizes.tables, t.coding);
      if (!codes) return codes.status();
      l.codes = std::move(codes).value();
      auto dec = pq_decode(l);
      if (!dec) return malformed("compressed model: tensor '" + t.name + "': " + dec.status().message());
      t.values = std::move(dec).value();
      t.sizes.entries = n;
      t.pq = std::move(l);
      model.tensors.push_back(std::move(t));
      continue;
    }
    if (coding != 1 && coding != 2) return malformed("compressed model: tensor '" + t.name + "' has unknown coding " + std::to_string(coding));
    QL_READ(bits, r.u8("codebook bits"));
    if (bits < 1 || bits > static_cast<uint32_t>(kMaxKMeansBits)) return malformed("compressed model: bad codebook bits");
    QL_READ(pinned, r.u8("pinned zero"));
    if (pinned > 1) return malformed("compressed model: bad pinned-zero flag");
    t.sizes.header = r.pos() - start;
    const size_t k = size_t{1} << bits;
    std::vector<float> centroids(k);
    for (auto& c : centroids) {
      QL_READ(v, r.f32("centroids"));
      if (!std::isfinite(v)) return malformed("compressed model: a centroid is not finite");
      c = v;
    }
    t.sizes.codebook = 4 * k;
    t.coding.bits = static_cast<int>(bits);
    t.coding.huffman = false;
    if (pinned && centroids[0] != 0.0f) return malformed("compressed model: the pinned zero is not 0");
    if (coding == 1) {
      auto labels = read_stream(r, version, n, static_cast<int>(bits), k, t.sizes.labels, t.sizes.tables, t.coding);
      if (!labels) return labels.status();
      t.values.resize(n);
      for (size_t i = 0; i < n; ++i) t.values[i] = centroids[(*labels)[i]];
      t.sizes.entries = n;
    } else {
      if (!pinned) return malformed("compressed model: a sparse tensor without a pinned zero");
      const size_t hstart = r.pos();
      QL_READ(gap_bits, r.u8("gap bits"));
      if (gap_bits < 1 || gap_bits > 16) return malformed("compressed model: bad gap bits");
      QL_READ(entries, r.u32("entry count"));
      if (entries > n) return malformed("compressed model: more entries than values");
      t.sizes.header += r.pos() - hstart;
      t.coding.gap_bits = static_cast<int>(gap_bits);
      auto gaps = read_stream(r, version, entries, static_cast<int>(gap_bits), size_t{1} << gap_bits, t.sizes.index,
                              t.sizes.tables, t.coding);
      if (!gaps) return gaps.status();
      auto labels = read_stream(r, version, entries, static_cast<int>(bits), k, t.sizes.labels, t.sizes.tables, t.coding);
      if (!labels) return labels.status();
      std::vector<uint32_t> g32(gaps->begin(), gaps->end());
      auto pos = decode_relative_indices(g32, static_cast<int>(gap_bits), n);
      if (!pos) return malformed("compressed model: tensor '" + t.name + "': " + pos.status().message());
      t.values.assign(n, 0.0f);
      for (size_t e = 0; e < entries; ++e) t.values[(*pos)[e]] = centroids[(*labels)[e]];
      t.sizes.entries = entries;
      size_t fillers = 0;
      for (size_t e = 0; e < entries; ++e) fillers += (*labels)[e] == 0;
      t.sizes.fillers = fillers;
    }
    model.tensors.push_back(std::move(t));
  }
  if (r.remaining() != 0) return malformed("compressed model: " + std::to_string(r.remaining()) + " unexpected bytes at the end");
  if (!layers.empty()) {
    Network net(input_shape);
    auto values = [&](int32_t idx) -> std::vector<float> {
      return idx >= 0 ? model.tensors[static_cast<size_t>(idx)].values : std::vector<float>{};
    };
    for (const LayerRec& l : layers) {
      Status st;
      switch (l.kind) {
        case LayerKind::kLinear: {
          if (l.params[0] < 0 || l.params[1] < 0) return malformed("compressed model: Linear '" + l.name + "' lacks a tensor");
          const DecodedTensor& wt = model.tensors[static_cast<size_t>(l.params[0])];
          if (wt.shape.size() != 2) return malformed("compressed model: Linear '" + l.name + "' weight is not 2-D");
          st = net.add_linear(l.name, wt.shape[0], values(l.params[0]), values(l.params[1]));
          break;
        }
        case LayerKind::kConv2d: {
          if (l.params[0] < 0) return malformed("compressed model: Conv2d '" + l.name + "' lacks a weight");
          const DecodedTensor& wt = model.tensors[static_cast<size_t>(l.params[0])];
          if (wt.shape.size() != 4) return malformed("compressed model: Conv2d '" + l.name + "' weight is not 4-D");
          st = net.add_conv2d(l.name, wt.shape[0], l.conv, values(l.params[0]), values(l.params[1]), l.params[1] >= 0);
          break;
        }
        case LayerKind::kRelu: st = net.add_relu(l.name); break;
        case LayerKind::kMaxPool: st = net.add_max_pool(l.kernel, l.stride, l.name); break;
        case LayerKind::kAvgPool: st = net.add_avg_pool(l.kernel, l.stride, l.name); break;
        case LayerKind::kGlobalAvgPool: st = net.add_global_avg_pool(l.name); break;
        case LayerKind::kFlatten: st = net.add_flatten(l.name); break;
        case LayerKind::kBatchNorm:
          for (int32_t p : l.params) if (p < 0) return malformed("compressed model: BatchNorm '" + l.name + "' lacks a tensor");
          st = net.add_batch_norm(l.name, values(l.params[0]), values(l.params[1]), values(l.params[2]), values(l.params[3]),
                                  l.eps);
          break;
      }
      if (!st) return malformed("compressed model: layer '" + l.name + "': " + st.message());
      // Parameter names as stored.
      size_t p = net.params().size();
      for (size_t i = l.params.size(); i-- > 0;) {
        if (l.params[i] < 0) continue;
        net.params()[--p].name = model.tensors[static_cast<size_t>(l.params[i])].name;
      }
    }
    model.network = std::move(net);
  }
  return model;
}

Result<std::vector<TensorToCompress>> network_tensors(const Network& net, const TensorCoding& coding,
                                                      const GapBitsFn& gap_bits) {
  std::vector<TensorToCompress> tensors;
  for (const Layer& l : net.layers()) {
    for (size_t pi = 0; pi < l.params.size(); ++pi) {
      const int p = l.params[pi];
      if (p < 0) continue;
      const Parameter& param = net.params()[static_cast<size_t>(p)];
      TensorToCompress t;
      t.name = param.name;
      t.shape = param.shape;
      t.coding.huffman = coding.huffman;
      t.coding.entropy = coding.entropy;
      const bool bias = pi == 1 && (l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d);
      if (bias) t.coding.bias_bits = coding.bias_bits;
      if (param.codebook) {
        t.coding.bits = param.codebook->bits();
        t.coding.bias_bits = 0;
        t.codebook = param.codebook;
        if (param.codebook->pinned_zero) {
          auto gap = gap_bits(l, param, t.coding.bits);
          if (!gap) return gap.status();
          if (*gap) t.coding.gap_bits = **gap;
        }
      } else {
        t.values = param.value;
      }
      tensors.push_back(std::move(t));
    }
  }
  return tensors;
}

Result<std::vector<uint8_t>> encode_network(const Network& net, const NetworkCompression& options) {
  TensorCoding coding;
  coding.huffman = options.huffman;
  coding.entropy = options.entropy;
  coding.bias_bits = options.bias_bits;
  auto tensors = network_tensors(
      net, coding,
      [&](const Layer& l, const Parameter& param, int bits) -> Result<std::optional<int>> {
        int gap = l.kind == LayerKind::kConv2d ? options.gap_bits_conv : options.gap_bits_fc;
        if (gap == 0) {
          PruneMask mask(param.size());
          for (size_t i = 0; i < mask.size(); ++i) mask[i] = param.codebook->labels[i] != 0;
          auto best = best_gap_bits(mask, bits);
          if (!best) return best.status();
          gap = *best;
        }
        return std::optional<int>(gap);
      });
  if (!tensors) return tensors.status();
  return encode_compressed(*tensors, &net);
}

}  // namespace quantlab
