// Bindings of quantlab/prune.hpp: magnitude pruning masks, schedules, relative indices.
#include "fields.hpp"

namespace quantlab::bind {
namespace {

val prune_mask_js(const val& weights, double sparsity) {
  return result(magnitude_prune_mask(array_in<float>(weights), sparsity),
                [](const auto& m) { return array_out(m); });
}
QL_EXPORT("dcPruneMask", prune_mask_js);

val global_prune_js(const val& layers, double sparsity) {
  std::vector<std::vector<float>> w;
  const int n = layers["length"].as<int>();
  for (int i = 0; i < n; ++i) w.push_back(array_in<float>(layers[i]));
  std::vector<std::span<const float>> spans(w.begin(), w.end());
  return result(global_magnitude_prune_masks(spans, sparsity), [](const auto& masks) {
    return list_out(masks, [](const PruneMask& m) { return array_out(m); });
  });
}
QL_EXPORT("dcGlobalPruneMasks", global_prune_js);

/// kind: 'cubic' | 'linear', or undefined for prune_schedule's default.
val prune_schedule_js(double final_sparsity, int steps, const val& kind) {
  const auto out = [](const std::vector<double>& s) {
    return list_out(s, [](double x) { return val(x); });
  };
  if (kind.isUndefined()) return result(prune_schedule(final_sparsity, steps), out);
  auto k = enum_in<PruneSchedule>(kind, "schedule");
  if (!k) return error(k.status());
  return result(prune_schedule(final_sparsity, steps, *k), out);
}
QL_EXPORT("dcPruneSchedule", prune_schedule_js);

val relative_indices_js(const val& mask, int gap_bits, int value_bits, double codebook_bytes) {
  auto r = encode_relative_indices(array_in<uint8_t>(mask), gap_bits);
  if (!r) return error(r.status());
  if (value_bits < 1 || value_bits > 64 || !(codebook_bytes >= 0)) {
    return error(invalid_argument("valueBits must be 1..64 and codebookBytes >= 0"));
  }
  const SparseStorage s = sparse_storage(*r, value_bits, static_cast<size_t>(codebook_bytes));
  val o = val::object();
  o.set("gaps", array_out(r->gaps));
  o.set("positions", array_out(r->positions));
  o.set("fillers", static_cast<double>(r->fillers));
  o.set("entries", static_cast<double>(s.entries));
  o.set("indexBits", static_cast<double>(s.index_bits));
  o.set("valueBits", static_cast<double>(s.value_bits));
  o.set("bytes", static_cast<double>(s.bytes));
  return ok(o);
}
QL_EXPORT("dcRelativeIndices", relative_indices_js);

val decode_relative_js(const val& gaps, int gap_bits, double dense_size) {
  return result(decode_relative_indices(array_in<uint32_t>(gaps), gap_bits, static_cast<size_t>(dense_size)),
                [](const auto& p) { return array_out(p); });
}
QL_EXPORT("dcDecodeRelativeIndices", decode_relative_js);

val best_gap_bits_js(const val& mask, int value_bits) {
  return result(best_gap_bits(array_in<uint8_t>(mask), value_bits), [](int b) { return val(b); });
}
QL_EXPORT("dcBestGapBits", best_gap_bits_js);

}  // namespace
}  // namespace quantlab::bind
