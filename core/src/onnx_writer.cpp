// ONNX writer: serializes OnnxModel / OnnxTensor with protozero (tensors as raw_data).
#include <string>

#include "onnx_protozero.hpp"
#include "quantlab/onnx.hpp"

namespace quantlab {
namespace {

using protozero::pbf_writer;

void write_tensor(pbf_writer& w, const std::string& name, const Tensor& t) {
  for (int64_t d : t.shape()) w.add_int64(1, d);
  w.add_int32(2, static_cast<int32_t>(t.dtype()));
  if (!name.empty()) w.add_string(8, name);
  w.add_bytes(9, static_cast<const char*>(t.raw()), t.bytes());
}

void write_attribute(pbf_writer& w, const OnnxAttribute& a) {
  w.add_string(1, a.name);
  w.add_int32(20, static_cast<int32_t>(a.type));
  switch (a.type) {
    case OnnxAttributeType::kFloat: w.add_float(2, a.f); break;
    case OnnxAttributeType::kInt: w.add_int64(3, a.i); break;
    case OnnxAttributeType::kString: w.add_bytes(4, a.s); break;
    case OnnxAttributeType::kTensor: {
      pbf_writer t(w, 5);
      write_tensor(t, "", a.t);
      break;
    }
    case OnnxAttributeType::kFloats:
      for (float f : a.floats) w.add_float(7, f);
      break;
    case OnnxAttributeType::kInts:
      for (int64_t i : a.ints) w.add_int64(8, i);
      break;
    case OnnxAttributeType::kStrings:
      for (const auto& s : a.strings) w.add_bytes(9, s);
      break;
    default: break;  // not representable in OnnxAttribute
  }
}

void write_node(pbf_writer& w, const OnnxNode& n) {
  for (const auto& s : n.inputs) w.add_string(1, s);
  for (const auto& s : n.outputs) w.add_string(2, s);
  if (!n.name.empty()) w.add_string(3, n.name);
  w.add_string(4, n.op_type);
  for (const auto& a : n.attributes) {
    pbf_writer aw(w, 5);
    write_attribute(aw, a);
  }
  if (!n.domain.empty()) w.add_string(7, n.domain);
}

void write_value_info(pbf_writer& w, const OnnxValueInfo& v) {
  w.add_string(1, v.name);
  if (!v.is_tensor) return;
  pbf_writer type(w, 2);
  pbf_writer tensor(type, 1);
  if (v.elem_type != 0) tensor.add_int32(1, v.elem_type);
  // protozero drops empty sub-messages, but an empty shape (a scalar) and an empty
  // dimension (unknown size) carry meaning: write those as explicit empty messages.
  if (v.has_shape && v.dims.empty()) {
    tensor.add_message(2, std::string());
  } else if (v.has_shape) {
    pbf_writer shape(tensor, 2);
    for (const auto& d : v.dims) {
      if (d.value < 0 && d.param.empty()) {
        shape.add_message(1, std::string());
        continue;
      }
      pbf_writer dim(shape, 1);
      if (d.value >= 0)
        dim.add_int64(1, d.value);
      else
        dim.add_string(2, d.param);
    }
  }
}

void write_graph(pbf_writer& w, const OnnxGraph& g) {
  for (const auto& n : g.nodes) {
    pbf_writer nw(w, 1);
    write_node(nw, n);
  }
  if (!g.name.empty()) w.add_string(2, g.name);
  for (const auto& t : g.initializers) {
    pbf_writer tw(w, 5);
    write_tensor(tw, t.name, t.tensor);
  }
  for (const auto& v : g.inputs) {
    pbf_writer vw(w, 11);
    write_value_info(vw, v);
  }
  for (const auto& v : g.outputs) {
    pbf_writer vw(w, 12);
    write_value_info(vw, v);
  }
  for (const auto& v : g.value_info) {
    pbf_writer vw(w, 13);
    write_value_info(vw, v);
  }
}

std::vector<uint8_t> to_bytes(const std::string& s) {
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(s.data()),
                              reinterpret_cast<const uint8_t*>(s.data()) + s.size());
}

}  // namespace

std::vector<uint8_t> serialize_onnx_model(const OnnxModel& m) {
  std::string buffer;
  {
    pbf_writer w(buffer);
    w.add_int64(1, m.ir_version);
    if (!m.producer_name.empty()) w.add_string(2, m.producer_name);
    if (!m.producer_version.empty()) w.add_string(3, m.producer_version);
    if (!m.domain.empty()) w.add_string(4, m.domain);
    if (m.model_version != 0) w.add_int64(5, m.model_version);
    if (!m.doc_string.empty()) w.add_string(6, m.doc_string);
    const size_t before_graph = buffer.size();
    {
      pbf_writer gw(w, 7);
      write_graph(gw, m.graph);
    }
    // protozero drops an empty submessage; the reader needs the graph field present (an
    // empty graph is valid and must survive serialize -> parse).
    if (buffer.size() == before_graph) w.add_bytes(7, "", 0);
    for (const auto& o : m.opset_imports) {
      pbf_writer ow(w, 8);
      if (!o.domain.empty()) ow.add_string(1, o.domain);
      ow.add_int64(2, o.version);
    }
  }
  return to_bytes(buffer);
}

std::vector<uint8_t> serialize_onnx_tensor(const OnnxTensor& t) {
  std::string buffer;
  {
    pbf_writer w(buffer);
    write_tensor(w, t.name, t.tensor);
  }
  return to_bytes(buffer);
}

}  // namespace quantlab
