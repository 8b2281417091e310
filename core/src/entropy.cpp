// Static rANS with order-0 / order-1 context models: frequency normalization, the compact
// table format, the interleaved encoder, the bounds-checked table-driven decoder, and the
// ideal code lengths it is measured against. Layout in entropy.hpp.
#include "quantlab/entropy.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>
#include <string>

#include "quantlab/huffman.hpp"

namespace quantlab {
namespace {

constexpr uint32_t kRansL = 1u << 16;  // lower bound of a state; words are 16 bits

void put_u16(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_varint(std::vector<uint8_t>& b, uint32_t v) {  // LEB128
  while (v >= 0x80) {
    b.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<uint8_t>(v));
}

void put_gamma(BitWriter& w, uint32_t v) {  // v >= 1
  int n = 0;
  while ((v >> (n + 1)) != 0) ++n;
  w.write(0, n);
  w.write(v, n + 1);
}

/// Frequencies summing to 2^scale_bits, every counted symbol >= 1, close to the counts in
/// the sense of code length: rounding first, then the greedy fix-up that costs least bits.
std::vector<uint32_t> normalize(std::span<const uint64_t> counts, int scale_bits) {
  const uint64_t total = [&] {
    uint64_t t = 0;
    for (uint64_t c : counts) t += c;
    return t;
  }();
  const int64_t target = int64_t{1} << scale_bits;
  std::vector<uint32_t> f(counts.size(), 0);
  int64_t sum = 0;
  for (size_t s = 0; s < counts.size(); ++s) {
    if (!counts[s]) continue;
    const double ideal = static_cast<double>(counts[s]) * static_cast<double>(target) / static_cast<double>(total);
    f[s] = static_cast<uint32_t>(std::max<double>(1.0, std::floor(ideal + 0.5)));
    sum += f[s];
  }
  using Item = std::pair<double, size_t>;  // (bits saved or lost per unit, symbol)
  if (sum < target) {
    std::priority_queue<Item> gain;  // largest saving first
    for (size_t s = 0; s < counts.size(); ++s) {
      if (f[s]) gain.push({static_cast<double>(counts[s]) * std::log2((f[s] + 1.0) / f[s]), s});
    }
    while (sum < target) {
      const size_t s = gain.top().second;
      gain.pop();
      ++f[s];
      ++sum;
      gain.push({static_cast<double>(counts[s]) * std::log2((f[s] + 1.0) / f[s]), s});
    }
  } else if (sum > target) {
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> loss;  // smallest cost first
    for (size_t s = 0; s < counts.size(); ++s) {
      if (f[s] > 1) loss.push({static_cast<double>(counts[s]) * std::log2(f[s] / (f[s] - 1.0)), s});
    }
    while (sum > target) {
      QL_CHECK(!loss.empty());  // scale_bits was chosen with 2^scale_bits >= used symbols
      const size_t s = loss.top().second;
      loss.pop();
      --f[s];
      --sum;
      if (f[s] > 1) loss.push({static_cast<double>(counts[s]) * std::log2(f[s] / (f[s] - 1.0)), s});
    }
  }
  return f;
}

void write_table(BitWriter& w, std::span<const uint32_t> f) {
  for (size_t s = 0; s < f.size();) {
    put_gamma(w, f[s] + 1);
    if (f[s] == 0) {
      size_t run = 0;
      while (s + 1 + run < f.size() && f[s + 1 + run] == 0) ++run;
      put_gamma(w, static_cast<uint32_t>(run + 1));
      s += 1 + run;
    } else {
      ++s;
    }
  }
}

struct Model {
  EntropyContext context = EntropyContext::kOrder0;
  int scale_bits = 0;
  std::vector<std::vector<uint32_t>> freq;  // per context (empty: unused)
  double payload_bits = 0.0;
  size_t table_bits = 0;
};

/// The model for these counts (one row per context) at this precision, with its costs.
Model make_model(const std::vector<std::vector<uint64_t>>& counts, EntropyContext context, int scale_bits) {
  Model m;
  m.context = context;
  m.scale_bits = scale_bits;
  m.freq.resize(counts.size());
  BitWriter w;
  for (size_t c = 0; c < counts.size(); ++c) {
    uint64_t total = 0;
    for (uint64_t x : counts[c]) total += x;
    if (context == EntropyContext::kOrder1) w.write(total ? 1 : 0, 1);
    if (!total) continue;
    m.freq[c] = normalize(counts[c], scale_bits);
    write_table(w, m.freq[c]);
    for (size_t s = 0; s < counts[c].size(); ++s) {
      if (counts[c][s]) m.payload_bits += static_cast<double>(counts[c][s]) * (scale_bits - std::log2(m.freq[c][s]));
    }
  }
  m.table_bits = w.bit_count();
  return m;
}

struct Slot {
  uint16_t freq;
  uint16_t bias;  // slot - start
  uint16_t symbol;
  uint16_t pad;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  Result<uint32_t> get(size_t n, const char* what) {
    if (n > b_.size() - pos_) return malformed(std::string("rANS stream: truncated ") + what);
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint32_t{b_[pos_ + i]} << (8 * i);
    pos_ += n;
    return v;
  }
  /// LEB128, at most 5 bytes and 32 bits.
  Result<uint32_t> varint(const char* what) {
    uint64_t v = 0;
    for (int i = 0; i < 5; ++i) {
      if (pos_ >= b_.size()) return malformed(std::string("rANS stream: truncated ") + what);
      const uint8_t byte = b_[pos_++];
      v |= static_cast<uint64_t>(byte & 0x7Fu) << (7 * i);
      if (!(byte & 0x80u)) {
        if (v > 0xFFFFFFFFu) break;
        return static_cast<uint32_t>(v);
      }
    }
    return malformed(std::string("rANS stream: bad ") + what);
  }
  size_t pos() const { return pos_; }
  void skip(size_t n) { pos_ += n; }
  std::span<const uint8_t> rest() const { return b_.subspan(pos_); }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

Result<uint32_t> get_gamma(BitReader& r, int max_zeros) {
  int n = 0;
  for (;;) {
    auto b = r.read(1);
    if (!b) return malformed("rANS stream: truncated frequency table");
    if (*b) break;
    if (++n > max_zeros) return malformed("rANS stream: a frequency code longer than the precision");
  }
  if (n == 0) return 1u;
  auto v = r.read(n);
  if (!v) return malformed("rANS stream: truncated frequency table");
  return (1u << n) | *v;
}

/// The decoder's hot loops: `safe` symbols may read words without checks (at most one word
/// per symbol, and the stream holds at least that many). Order-1: each lane's context is its
/// own previous symbol, so the lanes' dependency chains run side by side.
template <bool kOrder1>
Status decode_symbols(const std::vector<Slot>& table, const std::vector<uint32_t>& offset, int scale_bits, int lanes,
                      uint32_t* state, const uint16_t* words, size_t word_count, std::span<uint16_t> out,
                      size_t& words_used) {
  const uint32_t mask = (1u << scale_bits) - 1;
  const Slot* tab = table.data();
  const uint32_t* off = offset.data();
  const size_t n = out.size();
  const size_t safe = std::min(n, word_count);
  const uint16_t* p = words;
  uint16_t* o = out.data();
  uint32_t base[kMaxRansLanes];
  for (auto& c : base) c = kOrder1 ? off[0] : 0;
  size_t i = 0;
  auto step = [&](uint32_t& x, uint32_t& ctx) {
    const Slot e = tab[ctx + (x & mask)];
    *o++ = e.symbol;
    if constexpr (kOrder1) ctx = off[e.symbol];
    x = static_cast<uint32_t>(e.freq) * (x >> scale_bits) + e.bias;
    const bool need = x < kRansL;
    uint16_t w;
    std::memcpy(&w, p, 2);
    x = need ? (x << 16) | w : x;
    p += need;
  };
  if (lanes == 4) {
    uint32_t x0 = state[0], x1 = state[1], x2 = state[2], x3 = state[3];
    uint32_t c0 = base[0], c1 = base[1], c2 = base[2], c3 = base[3];
    for (; i + 4 <= safe; i += 4) {
      step(x0, c0);
      step(x1, c1);
      step(x2, c2);
      step(x3, c3);
    }
    state[0] = x0, state[1] = x1, state[2] = x2, state[3] = x3;
    base[0] = c0, base[1] = c1, base[2] = c2, base[3] = c3;
  } else if (lanes == 1) {
    uint32_t x = state[0], c = base[0];
    for (; i < safe; ++i) step(x, c);
    state[0] = x;
    base[0] = c;
  }
  for (; i < safe; ++i) {
    const size_t l = i % static_cast<size_t>(lanes);
    step(state[l], base[l]);
  }
  // The rest: check every word read.
  const uint16_t* end = words + word_count;
  for (; i < n; ++i) {
    const size_t l = i % static_cast<size_t>(lanes);
    uint32_t& x = state[l];
    const Slot e = tab[base[l] + (x & mask)];
    *o++ = e.symbol;
    if constexpr (kOrder1) base[l] = off[e.symbol];
    x = static_cast<uint32_t>(e.freq) * (x >> scale_bits) + e.bias;
    if (x < kRansL) {
      if (p >= end) return malformed("rANS stream: the symbols run past the end of the stream");
      uint16_t w;
      std::memcpy(&w, p, 2);
      x = (x << 16) | w;
      ++p;
    }
  }
  words_used = static_cast<size_t>(p - words);
  return Status::ok();
}

}  // namespace

Result<RansStream> rans_encode(std::span<const uint16_t> symbols, size_t alphabet, const RansOptions& options) {
  if (alphabet < 1 || alphabet > 65536) return invalid_argument("rANS: the alphabet must have 1..65536 symbols");
  if (options.lanes < 1 || options.lanes > kMaxRansLanes) return invalid_argument("rANS: lanes must be 1..4");
  if (options.max_scale_bits < 1 || options.max_scale_bits > kMaxRansScaleBits) {
    return invalid_argument("rANS: max_scale_bits must be 1..15");
  }
  std::vector<std::vector<uint64_t>> c0(1, std::vector<uint64_t>(alphabet, 0));
  for (uint16_t s : symbols) {
    if (s >= alphabet) {
      return out_of_range("rANS: symbol " + std::to_string(s) + " outside an alphabet of " + std::to_string(alphabet));
    }
    ++c0[0][s];
  }
  // The stored alphabet ends at the largest symbol used (shorter tables).
  size_t used_alphabet = 1;
  size_t used = 0;
  for (size_t s = 0; s < alphabet; ++s) {
    if (c0[0][s]) {
      used_alphabet = s + 1;
      ++used;
    }
  }
  if (used > (size_t{1} << kMaxRansScaleBits)) {
    return invalid_argument("rANS: more than 2^15 distinct symbols");
  }
  c0[0].resize(used_alphabet);
  int min_scale = 1;
  while ((size_t{1} << min_scale) < std::max<size_t>(used, 1)) ++min_scale;

  const size_t lanes = symbols.size() >= options.lane_threshold ? static_cast<size_t>(options.lanes) : 1;
  Model best;
  double best_bits = INFINITY;
  auto consider = [&](const std::vector<std::vector<uint64_t>>& counts, EntropyContext ctx, int lo, int hi) {
    for (int s = lo; s <= hi; ++s) {
      Model m = make_model(counts, ctx, s);
      const double bits = m.payload_bits + static_cast<double>((m.table_bits + 7) / 8 * 8);
      if (bits < best_bits) {
        best_bits = bits;
        best = std::move(m);
      }
    }
  };
  if (!symbols.empty()) {
    const int hi0 = std::max(min_scale, options.max_scale_bits);
    consider(c0, EntropyContext::kOrder0, std::min(std::max(min_scale, 6), hi0), hi0);
    if (options.allow_order1 && used_alphabet <= kMaxOrder1Alphabet && used > 1) {
      std::vector<std::vector<uint64_t>> c1(used_alphabet, std::vector<uint64_t>(used_alphabet, 0));
      size_t max_used = 0;
      for (size_t i = 0; i < symbols.size(); ++i) ++c1[i >= lanes ? symbols[i - lanes] : 0][symbols[i]];
      for (const auto& row : c1) max_used = std::max<size_t>(max_used, static_cast<size_t>(std::count_if(row.begin(), row.end(), [](uint64_t x) { return x > 0; })));
      int lo = 1;
      while ((size_t{1} << lo) < max_used) ++lo;
      const double order0_best = best_bits;
      const int hi1 = std::min(kMaxRansScaleBitsOrder1, std::max(lo, options.max_scale_bits));
      consider(c1, EntropyContext::kOrder1, std::min(std::max(lo, 4), hi1), hi1);
      // Order-1 tables cost cache: keep it only when it saves more than 1%.
      if (best.context == EntropyContext::kOrder1 && best_bits > 0.99 * order0_best) {
        best_bits = INFINITY;
        consider(c0, EntropyContext::kOrder0, std::min(std::max(min_scale, 6), hi0), hi0);
      }
    }
  } else {
    best = make_model(c0, EntropyContext::kOrder0, 1);
    best.freq[0].assign(used_alphabet, 0);
    best.freq[0][0] = 2;
  }
  const bool order1 = best.context == EntropyContext::kOrder1;
  const int sb = best.scale_bits;

  RansStream out;
  out.context = best.context;
  out.scale_bits = sb;
  out.lanes = static_cast<int>(lanes);
  out.model_bits = best.payload_bits;
  out.bytes.push_back(static_cast<uint8_t>((order1 ? 1 : 0) | ((lanes - 1) << 1) | (static_cast<size_t>(sb) << 3)));
  put_varint(out.bytes, static_cast<uint32_t>(used_alphabet - 1));
  out.header_bytes = out.bytes.size();
  BitWriter tw;
  for (const auto& f : best.freq) {
    if (order1) tw.write(f.empty() ? 0 : 1, 1);
    if (!f.empty()) write_table(tw, f);
  }
  const std::vector<uint8_t> table = tw.finish();
  out.bytes.insert(out.bytes.end(), table.begin(), table.end());
  out.table_bytes = table.size();

  // Cumulative starts per context.
  std::vector<std::vector<uint32_t>> start(best.freq.size());
  for (size_t c = 0; c < best.freq.size(); ++c) {
    if (best.freq[c].empty()) continue;
    start[c].resize(best.freq[c].size());
    uint32_t acc = 0;
    for (size_t s = 0; s < best.freq[c].size(); ++s) {
      start[c][s] = acc;
      acc += best.freq[c][s];
    }
  }
  uint32_t state[kMaxRansLanes];
  for (auto& x : state) x = kRansL;
  std::vector<uint16_t> words;
  words.reserve(symbols.size() / 2 + 4);
  for (size_t i = symbols.size(); i-- > 0;) {
    const size_t ctx = order1 && i >= lanes ? symbols[i - lanes] : 0;
    const uint16_t s = symbols[i];
    const uint32_t f = best.freq[ctx][s];
    const uint32_t st = start[ctx][s];
    QL_CHECK(f > 0);
    uint32_t& x = state[i % lanes];
    const uint64_t x_max = static_cast<uint64_t>(f) << (32 - sb);
    if (x >= x_max) {
      words.push_back(static_cast<uint16_t>(x & 0xFFFFu));
      x >>= 16;
    }
    x = ((x / f) << sb) + (x % f) + st;
  }
  std::reverse(words.begin(), words.end());
  const size_t payload_start = out.bytes.size();
  put_varint(out.bytes, static_cast<uint32_t>(words.size()));
  for (size_t l = 0; l < lanes; ++l) put_u32(out.bytes, state[l]);
  for (uint16_t w : words) put_u16(out.bytes, w);
  out.payload_bytes = out.bytes.size() - payload_start;
  return out;
}

Result<size_t> rans_decode(std::span<const uint8_t> bytes, std::span<uint16_t> out, size_t limit, RansStream* info) {
  Reader r(bytes);
  auto model = r.get(1, "header");
  if (!model) return model.status();
  const bool order1 = (*model & 1u) != 0;
  const int lanes = static_cast<int>((*model >> 1) & 3u) + 1;
  const int sb = static_cast<int>(*model >> 3);
  if (sb < 1 || sb > (order1 ? kMaxRansScaleBitsOrder1 : kMaxRansScaleBits)) {
    return malformed("rANS stream: precision of " + std::to_string(sb) + " bits");
  }
  auto a = r.varint("alphabet");
  if (!a) return a.status();
  if (*a > 65535) return malformed("rANS stream: an alphabet above 65536 symbols");
  const size_t alphabet = size_t{*a} + 1;
  const size_t header_end = r.pos();
  if (alphabet > limit) {
    return malformed("rANS stream: an alphabet of " + std::to_string(alphabet) + " symbols (at most " +
                     std::to_string(limit) + ")");
  }
  if (order1 && alphabet > kMaxOrder1Alphabet) return malformed("rANS stream: order-1 contexts over more than 256 symbols");
  const size_t contexts = order1 ? alphabet : 1;
  const uint32_t total = 1u << sb;

  // Tables: one of 2^sb slots per used context; unused contexts share a last table that
  // maps every slot to symbol 0 with the whole range (a valid stream never reaches it).
  BitReader br(r.rest());
  std::vector<uint32_t> offset(contexts, 0);
  std::vector<std::vector<uint32_t>> freqs;
  std::vector<size_t> used_ctx;
  for (size_t c = 0; c < contexts; ++c) {
    if (order1) {
      auto u = br.read(1);
      if (!u) return malformed("rANS stream: truncated frequency table");
      if (!*u) continue;
    }
    std::vector<uint32_t> f(alphabet, 0);
    uint64_t sum = 0;
    for (size_t s = 0; s < alphabet;) {
      auto g = get_gamma(br, sb + 1);
      if (!g) return g.status();
      const uint32_t v = *g - 1;
      if (v > total) return malformed("rANS stream: a frequency above the total");
      f[s] = v;
      sum += v;
      if (v == 0) {
        auto run = get_gamma(br, 16);
        if (!run) return run.status();
        if (*run - 1 > alphabet - s - 1) return malformed("rANS stream: a run of zeros past the alphabet");
        s += *run;
      } else {
        ++s;
      }
    }
    if (sum != total) {
      return malformed("rANS stream: frequencies sum to " + std::to_string(sum) + ", not " + std::to_string(total));
    }
    freqs.push_back(std::move(f));
    used_ctx.push_back(c);
  }
  if (freqs.empty()) return malformed("rANS stream: no frequency table");
  r.skip((br.position() + 7) / 8);
  const size_t table_end = r.pos();
  std::vector<Slot> table((freqs.size() + (order1 ? 1 : 0)) << sb);
  for (size_t t = 0; t < freqs.size(); ++t) {
    offset[used_ctx[t]] = static_cast<uint32_t>(t << sb);
    Slot* row = table.data() + (t << sb);
    uint32_t start = 0;
    for (size_t s = 0; s < alphabet; ++s) {
      const uint32_t f = freqs[t][s];
      for (uint32_t k = 0; k < f; ++k) {
        // freq == 2^15 (a single symbol at full precision) still fits in 16 bits.
        row[start + k] = Slot{static_cast<uint16_t>(f), static_cast<uint16_t>(k), static_cast<uint16_t>(s), 0};
      }
      start += f;
    }
  }
  if (order1) {
    const uint32_t spare = static_cast<uint32_t>(freqs.size() << sb);
    for (size_t c = 0; c < contexts; ++c) {
      if (std::find(used_ctx.begin(), used_ctx.end(), c) == used_ctx.end()) offset[c] = spare;
    }
    // The spare table: identity (freq = total, bias = slot) on symbol 0.
    Slot* row = table.data() + spare;
    for (uint32_t k = 0; k < total; ++k) row[k] = Slot{static_cast<uint16_t>(total), static_cast<uint16_t>(k), 0, 0};
  }
  auto wc = r.varint("word count");
  if (!wc) return wc.status();
  const size_t word_count = *wc;
  if (word_count > out.size()) return malformed("rANS stream: more words than symbols");
  uint32_t state[kMaxRansLanes];
  for (int l = 0; l < lanes; ++l) {
    auto x = r.get(4, "states");
    if (!x) return x.status();
    state[l] = *x;
  }
  if (word_count > r.rest().size() / 2) return malformed("rANS stream: truncated words");
  std::vector<uint16_t> words(word_count);
  if (word_count) std::memcpy(words.data(), r.rest().data(), 2 * word_count);  // little-endian hosts (x86, wasm)
  r.skip(2 * word_count);
  size_t words_used = 0;
  Status st = order1 ? decode_symbols<true>(table, offset, sb, lanes, state, words.data(), word_count, out, words_used)
                     : decode_symbols<false>(table, offset, sb, lanes, state, words.data(), word_count, out, words_used);
  QL_RETURN_IF_ERROR(st);
  if (words_used != word_count) return malformed("rANS stream: " + std::to_string(word_count - words_used) + " unused words");
  for (int l = 0; l < lanes; ++l) {
    if (state[l] != kRansL) return malformed("rANS stream: a final state is wrong (corrupt stream or wrong count)");
  }
  if (info) {
    info->bytes.clear();
    info->header_bytes = header_end;
    info->table_bytes = table_end - header_end;
    info->payload_bytes = r.pos() - table_end;
    info->context = order1 ? EntropyContext::kOrder1 : EntropyContext::kOrder0;
    info->scale_bits = sb;
    info->lanes = lanes;
    info->model_bits = 0.0;
    for (size_t i = 0; i < out.size(); ++i) {
      const size_t c = order1 && i >= static_cast<size_t>(lanes) ? out[i - static_cast<size_t>(lanes)] : 0;
      const size_t t = offset[c] >> sb;
      info->model_bits += sb - std::log2(static_cast<double>(freqs[t][out[i]]));
    }
  }
  return r.pos();
}

Result<EntropyStatistics> entropy_statistics(std::span<const uint16_t> symbols, size_t alphabet) {
  if (alphabet < 1 || alphabet > 65536) return invalid_argument("entropy statistics: the alphabet must have 1..65536 symbols");
  EntropyStatistics e;
  e.symbols = symbols.size();
  e.alphabet = alphabet;
  std::vector<uint64_t> c0(alphabet, 0);
  for (uint16_t s : symbols) {
    if (s >= alphabet) return out_of_range("entropy statistics: symbol out of range");
    ++c0[s];
  }
  const double n = static_cast<double>(symbols.size());
  for (uint64_t c : c0) if (c) e.order0_bits += static_cast<double>(c) * std::log2(n / static_cast<double>(c));
  // Adaptive KT over the used alphabet (an adaptive coder would be told the alphabet).
  size_t used_alphabet = 0;
  for (size_t s = 0; s < alphabet; ++s) if (c0[s]) used_alphabet = s + 1;
  const double half_a = 0.5 * static_cast<double>(std::max<size_t>(used_alphabet, 1));
  {
    std::vector<double> c(used_alphabet, 0.0);
    double t = 0.0;
    for (uint16_t s : symbols) {
      e.adaptive_order0_bits -= std::log2((c[s] + 0.5) / (t + half_a));
      c[s] += 1.0;
      t += 1.0;
    }
  }
  if (used_alphabet <= 4096) {
    std::vector<double> c(used_alphabet * used_alphabet, 0.0), t(used_alphabet, 0.0);
    std::vector<uint64_t> ci(used_alphabet * used_alphabet, 0), ti(used_alphabet, 0);
    uint16_t prev = 0;
    for (uint16_t s : symbols) {
      const size_t k = static_cast<size_t>(prev) * used_alphabet + s;
      e.adaptive_order1_bits -= std::log2((c[k] + 0.5) / (t[prev] + half_a));
      c[k] += 1.0;
      t[prev] += 1.0;
      ++ci[k];
      ++ti[prev];
      prev = s;
    }
    for (size_t p = 0; p < used_alphabet; ++p) {
      for (size_t s = 0; s < used_alphabet; ++s) {
        const uint64_t x = ci[p * used_alphabet + s];
        if (x) e.order1_bits += static_cast<double>(x) * std::log2(static_cast<double>(ti[p]) / static_cast<double>(x));
      }
    }
  } else {
    e.order1_bits = e.order0_bits;
    e.adaptive_order1_bits = e.adaptive_order0_bits;
  }
  return e;
}

}  // namespace quantlab
