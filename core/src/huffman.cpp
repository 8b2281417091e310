// Huffman coding: prefix codes, length-limited canonical codes (package-merge), bit I/O,
// statistics, the code tree, and the decoder's tables.
#include "quantlab/huffman.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "huffman-decode/huffman-decode.h"

namespace quantlab {
namespace {

/// The code's binary tree in the layout of HuffmanDecodeTable::tree. Errors: a codeword
/// that is a prefix of another (names both symbols).
Result<std::vector<int32_t>> build_tree(const PrefixCode& code) {
  std::vector<int32_t> tree = {0, 0};
  // Any symbol below an internal node, to name the conflicting pair.
  std::vector<int32_t> some_symbol = {-1};
  for (size_t s = 0; s < code.lengths.size(); ++s) {
    const int len = code.lengths[s];
    if (len == 0) continue;
    int32_t node = 0;
    for (int b = len - 1; b >= 0; --b) {
      const int bit = static_cast<int>((code.codes[s] >> b) & 1u);
      const size_t slot = static_cast<size_t>(2 * node + bit);
      const int32_t child = tree[slot];
      if (child < 0) {
        return invalid_argument("not a prefix code: the codeword of symbol " +
                                std::to_string(-child - 1) + " (" + code.codeword(static_cast<size_t>(-child - 1)) +
                                ") is a prefix of that of symbol " + std::to_string(s) + " (" +
                                code.codeword(s) + ")");
      }
      if (b == 0) {
        if (child > 0) {
          const int32_t other = some_symbol[static_cast<size_t>(child)];
          return invalid_argument("not a prefix code: the codeword of symbol " + std::to_string(s) +
                                  " (" + code.codeword(s) + ") is a prefix of that of symbol " +
                                  std::to_string(other) + " (" + code.codeword(static_cast<size_t>(other)) + ")");
        }
        tree[slot] = -static_cast<int32_t>(s) - 1;
      } else if (child == 0) {
        node = static_cast<int32_t>(tree.size() / 2);
        tree[slot] = node;
        tree.push_back(0);
        tree.push_back(0);
        some_symbol.push_back(static_cast<int32_t>(s));
      } else {
        node = child;
      }
    }
  }
  return tree;
}

Status check_code_shape(const PrefixCode& code) {
  if (code.lengths.size() != code.codes.size()) {
    return shape_mismatch("prefix code: " + std::to_string(code.lengths.size()) + " lengths but " +
                          std::to_string(code.codes.size()) + " codewords");
  }
  if (code.lengths.size() > kMaxSymbols) {
    return too_large("prefix code: " + std::to_string(code.lengths.size()) + " symbols (at most " +
                     std::to_string(kMaxSymbols) + ")");
  }
  for (size_t s = 0; s < code.lengths.size(); ++s) {
    if (code.lengths[s] > kMaxCodeLength) {
      return invalid_argument("prefix code: symbol " + std::to_string(s) + " has a " +
                              std::to_string(code.lengths[s]) + "-bit codeword (at most " +
                              std::to_string(kMaxCodeLength) + ")");
    }
    if (code.lengths[s] < 32 && (code.codes[s] >> code.lengths[s]) != 0) {
      return invalid_argument("prefix code: codeword " + std::to_string(code.codes[s]) +
                              " of symbol " + std::to_string(s) + " does not fit in " +
                              std::to_string(code.lengths[s]) + " bits");
    }
  }
  return Status::ok();
}

}  // namespace

int PrefixCode::max_length() const {
  int m = 0;
  for (uint8_t l : lengths) m = std::max(m, static_cast<int>(l));
  return m;
}

std::string PrefixCode::codeword(size_t s) const {
  std::string w;
  if (s >= lengths.size()) return w;
  for (int b = lengths[s] - 1; b >= 0; --b) w += ((codes[s] >> b) & 1u) ? '1' : '0';
  return w;
}

Result<PrefixCode> prefix_code_from_strings(std::span<const std::string> words) {
  if (words.size() > kMaxSymbols) return too_large("prefix code: too many symbols");
  PrefixCode code;
  code.lengths.resize(words.size());
  code.codes.resize(words.size());
  for (size_t s = 0; s < words.size(); ++s) {
    const std::string& w = words[s];
    if (w.empty()) return invalid_argument("prefix code: the codeword of symbol " + std::to_string(s) + " is empty");
    if (w.size() > static_cast<size_t>(kMaxCodeLength)) {
      return invalid_argument("prefix code: the codeword of symbol " + std::to_string(s) +
                              " is longer than " + std::to_string(kMaxCodeLength) + " bits");
    }
    uint32_t c = 0;
    for (char ch : w) {
      if (ch != '0' && ch != '1') {
        return invalid_argument("prefix code: the codeword of symbol " + std::to_string(s) + " ('" + w +
                                "') has a character other than 0 and 1");
      }
      c = (c << 1) | static_cast<uint32_t>(ch - '0');
    }
    code.lengths[s] = static_cast<uint8_t>(w.size());
    code.codes[s] = c;
  }
  QL_RETURN_IF_ERROR(check_prefix_free(code));
  return code;
}

Status check_prefix_free(const PrefixCode& code) {
  QL_RETURN_IF_ERROR(check_code_shape(code));
  auto tree = build_tree(code);
  return tree ? Status::ok() : tree.status();
}

Result<PrefixCode> canonical_code(std::span<const uint8_t> lengths) {
  if (lengths.size() > kMaxSymbols) return too_large("canonical code: too many symbols");
  // Kraft sum in units of 2^-kMaxCodeLength.
  uint64_t kraft = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    if (lengths[s] > kMaxCodeLength) {
      return invalid_argument("canonical code: symbol " + std::to_string(s) + " has length " +
                              std::to_string(lengths[s]) + " (at most " + std::to_string(kMaxCodeLength) + ")");
    }
    if (lengths[s]) kraft += uint64_t{1} << (kMaxCodeLength - lengths[s]);
  }
  if (kraft > (uint64_t{1} << kMaxCodeLength)) {
    return invalid_argument("canonical code: the lengths are oversubscribed (Kraft sum > 1)");
  }
  std::vector<uint32_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return lengths[a] < lengths[b]; });
  PrefixCode code;
  code.lengths.assign(lengths.begin(), lengths.end());
  code.codes.assign(lengths.size(), 0);
  uint32_t next = 0;
  int prev_len = 0;
  for (uint32_t s : order) {
    const int len = lengths[s];
    if (len == 0) continue;
    next <<= (len - prev_len);
    code.codes[s] = next++;
    prev_len = len;
  }
  return code;
}

Result<PrefixCode> huffman_code(std::span<const uint64_t> freq, int max_length) {
  if (freq.empty()) return empty_input("huffman_code: no frequencies");
  if (freq.size() > kMaxSymbols) {
    return too_large("huffman_code: " + std::to_string(freq.size()) + " symbols (at most " +
                     std::to_string(kMaxSymbols) + ")");
  }
  if (max_length < 1 || max_length > 15) {
    return invalid_argument("huffman_code: max_length must be 1..15, got " + std::to_string(max_length));
  }
  // Leaves sorted by frequency (ties by symbol): the package-merge "coins".
  std::vector<uint32_t> leaves;
  for (size_t s = 0; s < freq.size(); ++s) if (freq[s]) leaves.push_back(static_cast<uint32_t>(s));
  const size_t n = leaves.size();
  if (n == 0) return empty_input("huffman_code: every frequency is 0");
  if (n > (size_t{1} << max_length)) {
    return invalid_argument("huffman_code: " + std::to_string(n) + " symbols need codewords longer than " +
                            std::to_string(max_length) + " bits");
  }
  std::vector<uint8_t> lengths(freq.size(), 0);
  if (n == 1) {
    lengths[leaves[0]] = 1;
    return canonical_code(lengths);
  }
  std::stable_sort(leaves.begin(), leaves.end(),
                   [&](uint32_t a, uint32_t b) { return freq[a] < freq[b]; });
  // Package-merge (Larmore and Hirschberg): list d merges the leaves with the packages of
  // adjacent pairs of list d - 1. An item is a leaf (its symbol) or a package (-1).
  struct Item {
    uint64_t weight;
    int32_t symbol;
  };
  std::vector<std::vector<Item>> lists(static_cast<size_t>(max_length));
  for (uint32_t s : leaves) lists[0].push_back({freq[s], static_cast<int32_t>(s)});
  for (size_t d = 1; d < lists.size(); ++d) {
    const auto& prev = lists[d - 1];
    std::vector<Item> packages;
    for (size_t i = 0; i + 1 < prev.size(); i += 2) packages.push_back({prev[i].weight + prev[i + 1].weight, -1});
    auto& cur = lists[d];
    cur.reserve(n + packages.size());
    size_t a = 0, b = 0;
    while (a < n || b < packages.size()) {  // merge, leaves first on equal weights
      if (b == packages.size() || (a < n && lists[0][a].weight <= packages[b].weight)) {
        cur.push_back(lists[0][a++]);
      } else {
        cur.push_back(packages[b++]);
      }
    }
  }
  // Select the 2n - 2 cheapest items of the last list; a selected package selects the two
  // items it was made of. A leaf's codeword length is the number of times it is selected.
  size_t take = 2 * n - 2;
  for (size_t d = lists.size(); d-- > 0;) {
    QL_CHECK(take <= lists[d].size());
    size_t packages = 0;
    for (size_t i = 0; i < take; ++i) {
      const Item& it = lists[d][i];
      if (it.symbol >= 0) ++lengths[static_cast<size_t>(it.symbol)];
      else ++packages;
    }
    take = 2 * packages;
  }
  return canonical_code(lengths);
}

Result<std::vector<uint64_t>> symbol_frequencies(std::span<const uint16_t> symbols,
                                                 size_t alphabet_size) {
  if (alphabet_size == 0 || alphabet_size > kMaxSymbols) {
    return invalid_argument("symbol_frequencies: alphabet_size must be 1.." + std::to_string(kMaxSymbols));
  }
  std::vector<uint64_t> f(alphabet_size, 0);
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (symbols[i] >= alphabet_size) {
      return out_of_range("symbol_frequencies: symbol " + std::to_string(symbols[i]) + " at " +
                          std::to_string(i) + " is outside the alphabet of " + std::to_string(alphabet_size));
    }
    ++f[symbols[i]];
  }
  return f;
}

Result<CodeStatistics> code_statistics(const PrefixCode& code, std::span<const uint64_t> freq) {
  if (freq.size() != code.lengths.size()) {
    return shape_mismatch("code_statistics: " + std::to_string(freq.size()) + " frequencies for " +
                          std::to_string(code.lengths.size()) + " symbols");
  }
  CodeStatistics st;
  for (size_t s = 0; s < freq.size(); ++s) {
    if (freq[s] && code.lengths[s] == 0) {
      return invalid_argument("code_statistics: symbol " + std::to_string(s) + " occurs but has no codeword");
    }
    st.symbols += freq[s];
    st.total_bits += freq[s] * code.lengths[s];
  }
  if (st.symbols == 0) return empty_input("code_statistics: every frequency is 0");
  const double total = static_cast<double>(st.symbols);
  st.average_length = static_cast<double>(st.total_bits) / total;
  for (uint64_t f : freq) {
    if (f) {
      const double p = static_cast<double>(f) / total;
      st.entropy -= p * std::log2(p);
    }
  }
  return st;
}

Result<std::vector<CodeTreeNode>> code_tree(const PrefixCode& code,
                                            std::span<const uint64_t> freq) {
  QL_RETURN_IF_ERROR(check_code_shape(code));
  if (!freq.empty() && freq.size() != code.lengths.size()) {
    return shape_mismatch("code_tree: " + std::to_string(freq.size()) + " frequencies for " +
                          std::to_string(code.lengths.size()) + " symbols");
  }
  auto tree = build_tree(code);
  if (!tree) return tree.status();
  const std::vector<int32_t>& t = *tree;
  // Internal node i of the build tree becomes node i; each leaf or empty slot gets a node.
  const size_t internal = t.size() / 2;
  std::vector<CodeTreeNode> nodes(internal);
  for (size_t i = 0; i < internal; ++i) {
    for (int b = 0; b < 2; ++b) {
      const int32_t c = t[2 * i + static_cast<size_t>(b)];
      if (c > 0) {
        nodes[i].child[b] = c;
      } else {
        CodeTreeNode leaf;
        if (c < 0) {
          leaf.symbol = -c - 1;
          if (!freq.empty()) leaf.count = freq[static_cast<size_t>(leaf.symbol)];
        }
        nodes[i].child[b] = static_cast<int32_t>(nodes.size());
        nodes.push_back(leaf);
      }
    }
  }
  // Internal nodes were created parent before child: sum counts bottom-up.
  for (size_t i = internal; i-- > 0;) {
    nodes[i].count = nodes[static_cast<size_t>(nodes[i].child[0])].count +
                     nodes[static_cast<size_t>(nodes[i].child[1])].count;
  }
  if (code.max_length() == 0) {  // no codewords: a lone root
    return std::vector<CodeTreeNode>(1);
  }
  return nodes;
}

void BitWriter::write(uint32_t bits, int n) {
  QL_DCHECK(n >= 0 && n <= 32);
  if (n == 0) return;
  acc_ = (acc_ << n) | (bits & (n == 32 ? 0xFFFFFFFFu : ((1u << n) - 1)));
  pending_ += n;
  count_ += static_cast<uint64_t>(n);
  while (pending_ >= 8) {
    pending_ -= 8;
    bytes_.push_back(static_cast<uint8_t>(acc_ >> pending_));
  }
}

std::vector<uint8_t> BitWriter::finish() {
  std::vector<uint8_t> out = bytes_;
  if (pending_) out.push_back(static_cast<uint8_t>(acc_ << (8 - pending_)));
  return out;
}

Result<uint32_t> BitReader::read(int n) {
  if (n < 0 || n > 32) return invalid_argument("BitReader: n must be 0..32");
  if (static_cast<uint64_t>(n) > remaining()) {
    return malformed("bit stream ends after " + std::to_string(bytes_.size() * 8) + " bits");
  }
  uint32_t v = 0;
  for (int i = 0; i < n; ++i, ++pos_) {
    v = (v << 1) | ((bytes_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u);
  }
  return v;
}

Result<EncodedBits> huffman_encode(std::span<const uint16_t> symbols, const PrefixCode& code) {
  QL_RETURN_IF_ERROR(check_code_shape(code));
  BitWriter w;
  for (size_t i = 0; i < symbols.size(); ++i) {
    const uint16_t s = symbols[i];
    if (s >= code.lengths.size() || code.lengths[s] == 0) {
      return out_of_range("huffman_encode: symbol " + std::to_string(s) + " at " + std::to_string(i) +
                          " has no codeword");
    }
    w.write(code.codes[s], code.lengths[s]);
  }
  EncodedBits e;
  e.bit_count = w.bit_count();
  e.bytes = w.finish();
  return e;
}

HuffmanDecoder::HuffmanDecoder() = default;
HuffmanDecoder::HuffmanDecoder(HuffmanDecoder&&) noexcept = default;
HuffmanDecoder& HuffmanDecoder::operator=(HuffmanDecoder&&) noexcept = default;
HuffmanDecoder::~HuffmanDecoder() = default;

Result<HuffmanDecoder> HuffmanDecoder::create(const PrefixCode& code) {
  QL_RETURN_IF_ERROR(check_code_shape(code));
  auto tree = build_tree(code);
  if (!tree) return tree.status();
  const int max_len = code.max_length();
  if (max_len == 0) return empty_input("HuffmanDecoder: the code has no codewords");
  auto t = std::make_unique<HuffmanDecodeTable>();
  t->tree = std::move(tree).value();
  t->max_length = max_len;
  const int pb = std::min(max_len, 11);
  t->primary_bits = pb;
  t->entries.assign(size_t{1} << pb, 0);
  // Second-level table sizes: per primary prefix, the longest codeword below it.
  std::vector<int> sub_bits(size_t{1} << pb, 0);
  for (size_t s = 0; s < code.lengths.size(); ++s) {
    const int len = code.lengths[s];
    if (len > pb) {
      const size_t prefix = code.codes[s] >> (len - pb);
      sub_bits[prefix] = std::max(sub_bits[prefix], len - pb);
    }
  }
  for (size_t prefix = 0; prefix < sub_bits.size(); ++prefix) {
    if (sub_bits[prefix] == 0) continue;
    const size_t offset = t->entries.size();
    t->entries[prefix] = static_cast<uint32_t>(offset << 6) | kHuffmanEntryLink |
                         static_cast<uint32_t>(sub_bits[prefix]);
    t->entries.resize(offset + (size_t{1} << sub_bits[prefix]), 0);
  }
  for (size_t s = 0; s < code.lengths.size(); ++s) {
    const int len = code.lengths[s];
    if (len == 0) continue;
    const uint32_t leaf = static_cast<uint32_t>(s << 6) | static_cast<uint32_t>(len);
    if (len <= pb) {
      const size_t first = static_cast<size_t>(code.codes[s]) << (pb - len);
      std::fill_n(t->entries.begin() + static_cast<std::ptrdiff_t>(first), size_t{1} << (pb - len), leaf);
    } else {
      const size_t prefix = code.codes[s] >> (len - pb);
      const int sb = sub_bits[prefix];
      const size_t offset = t->entries[prefix] >> 6;
      const size_t low = code.codes[s] & ((1u << (len - pb)) - 1);
      const size_t first = offset + (low << (sb - (len - pb)));
      std::fill_n(t->entries.begin() + static_cast<std::ptrdiff_t>(first), size_t{1} << (sb - (len - pb)), leaf);
    }
  }
  HuffmanDecoder d;
  d.table_ = std::move(t);
  return d;
}

Status HuffmanDecoder::check_count(uint64_t count, size_t bytes) {
  if (count > static_cast<uint64_t>(bytes) * 8) {
    return malformed("cannot decode " + std::to_string(count) + " symbols from " + std::to_string(bytes) +
                     " bytes (at most one symbol per bit)");
  }
  return Status::ok();
}

Result<uint64_t> HuffmanDecoder::decode(std::span<const uint8_t> bytes, std::span<uint16_t> out) const {
  if (!table_) return invalid_argument("HuffmanDecoder: not created");
  if (out.empty()) return uint64_t{0};
  const int64_t used = huffman_decode_best()(*table_, bytes.data(), bytes.size(), out.size(), out.data());
  if (used < 0) {
    return malformed("Huffman data: an invalid codeword or fewer than " + std::to_string(out.size()) +
                     " symbols in " + std::to_string(bytes.size()) + " bytes");
  }
  return static_cast<uint64_t>(used);
}

Result<HuffmanResult> huffman_compress(std::span<const uint16_t> symbols, size_t alphabet_size,
                                       int max_length) {
  auto f = symbol_frequencies(symbols, alphabet_size);
  if (!f) return f.status();
  auto code = huffman_code(*f, max_length);
  if (!code) return code.status();
  auto enc = huffman_encode(symbols, *code);
  if (!enc) return enc.status();
  auto st = code_statistics(*code, *f);
  if (!st) return st.status();
  HuffmanResult r;
  r.code = std::move(code).value();
  r.encoded = std::move(enc).value();
  r.stats = *st;
  return r;
}

}  // namespace quantlab
