// Bindings of quantlab/compressed.hpp: the compressed model file and CRC-32.
#include "kmeans.hpp"
#include "fields.hpp"

namespace quantlab::bind {
namespace {

val sizes_out(const TensorSizes& s) {
  val o = val::object();
  o.set("header", static_cast<double>(s.header));
  o.set("raw", static_cast<double>(s.raw));
  o.set("codebook", static_cast<double>(s.codebook));
  o.set("index", static_cast<double>(s.index));
  o.set("labels", static_cast<double>(s.labels));
  o.set("tables", static_cast<double>(s.tables));
  o.set("entries", static_cast<double>(s.entries));
  o.set("fillers", static_cast<double>(s.fillers));
  o.set("total", static_cast<double>(s.total()));
  return o;
}

/// tensors: [{name, shape, bits, gapBits, huffman, values | codebook}] (TensorCoding).
val encode_compressed_js(const val& tensors) {
  std::vector<TensorToCompress> ts;
  const int n = tensors["length"].as<int>();
  for (int i = 0; i < n; ++i) {
    const val t = tensors[i];
    TensorToCompress c;
    c.name = t["name"].as<std::string>();
    c.shape = shape_in(t["shape"]);
    auto coding = options_in<TensorCoding>(t);
    if (!coding) return error(coding.status());
    c.coding = *coding;
    if (c.coding.bits == 0) c.values = array_in<float>(t["values"]);
    else c.codebook = codebook_in(t["codebook"]);
    ts.push_back(std::move(c));
  }
  return result(encode_compressed(ts), [](const auto& f) { return array_out(f); });
}
QL_EXPORT("dcEncodeCompressed", encode_compressed_js);

val decode_compressed_js(const val& bytes) {
  auto m = decode_compressed(array_in<uint8_t>(bytes));
  if (!m) return error(m.status());
  val o = val::object();
  o.set("tensors", list_out(m->tensors, [](const DecodedTensor& t) {
    val T = fields_out(t.coding);
    T.set("name", t.name);
    T.set("shape", shape_out(t.shape));
    T.set("values", array_out(t.values));
    T.set("sizes", sizes_out(t.sizes));
    return T;
  }));
  o.set("fileBytes", static_cast<double>(m->file_bytes));
  o.set("architectureBytes", static_cast<double>(m->architecture_bytes));
  o.set("network", m->network ? val(networks().add(std::move(*m->network))) : val::null());
  return ok(o);
}
QL_EXPORT("dcDecodeCompressed", decode_compressed_js);

val crc32_js(const val& bytes) { return ok(val(static_cast<double>(crc32(array_in<uint8_t>(bytes))))); }
QL_EXPORT("dcCrc32", crc32_js);

}  // namespace
}  // namespace quantlab::bind
