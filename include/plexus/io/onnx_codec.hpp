// The protobuf encoding of an OnnxModel (field numbers from onnx.proto):
// encode_onnx writes a ModelProto, decode_onnx reads one, bounded
// everywhere (sizes, counts, nesting) and refusing what it does not read —
// subgraphs, sparse initializers, attribute types it has no use for — by name.
#pragma once

#include "../version.hpp"
#include "onnx_model.hpp"
#include "onnx_tensor.hpp"
#include "protobuf.hpp"

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace plexus {

namespace detail {

inline void onnx_write_value_info(pb::Writer& g, std::uint32_t field, const OnnxValueInfo& v) {
  pb::Writer shape;
  for (auto d : v.dims) {
    pb::Writer dim;
    if (d < 0) dim.string(2, "batch");
    else dim.int64(1, d);
    shape.message(1, dim);
  }
  pb::Writer tensor;
  tensor.int64(1, v.elem_type);
  tensor.message(2, shape);
  pb::Writer type;
  type.message(1, tensor);
  pb::Writer info;
  info.string(1, v.name);
  info.message(2, type);
  g.message(field, info);
}

inline void onnx_write_attribute(pb::Writer& n, const OnnxAttribute& a) {
  pb::Writer w;
  w.string(1, a.name);
  switch (a.type) {
    case OnnxAttribute::Type::real:
      w.real32(2, static_cast<float>(a.f));
      w.int64(20, 1);
      break;
    case OnnxAttribute::Type::integer:
      w.int64(3, a.i);
      w.int64(20, 2);
      break;
    case OnnxAttribute::Type::text:
      w.string(4, a.s);
      w.int64(20, 3);
      break;
    case OnnxAttribute::Type::integers:
      for (auto v : a.ints) w.int64(8, v);
      w.int64(20, 7);
      break;
  }
  n.message(5, w);
}

inline OnnxAttribute onnx_decode_attribute(const pb::Field& field, const std::string& where,
                                           std::map<std::string, OnnxConstant>& tensors) {
  OnnxAttribute a;
  pb::Reader r(field.data, field.size, where);
  pb::Field f;
  std::int64_t type = 0;
  const pb::Field* tensor = nullptr;
  pb::Field tensor_field;
  std::vector<double> floats;
  bool has_f = false, has_i = false, has_s = false, has_ints = false, has_floats = false;
  while (r.next(f)) {
    switch (f.number) {
      case 1: a.name = f.as_string().substr(0, 256); break;
      case 2:
        a.f = f.type == pb::fixed32 ? f.as_float() : 0.0f;
        has_f = true;
        break;
      case 3:
        a.i = f.as_int64();
        has_i = true;
        break;
      case 4:
        a.s = f.as_string().substr(0, 4096);
        has_s = true;
        break;
      case 5:
        tensor_field = f;
        tensor = &tensor_field;
        break;
      case 6:
      case 11: r.fail("a node attribute holds a subgraph (If, Loop, Scan), which Plexus does not read");
      case 7:
        if (f.type == pb::fixed32) floats.push_back(f.as_float());
        else if (f.type == pb::length_delimited)
          for (std::size_t i = 0; i + 4 <= f.size && floats.size() < 4096; i += 4) {
            float v;
            std::memcpy(&v, f.data + i, 4);
            floats.push_back(v);
          }
        has_floats = true;
        break;
      case 8:
        for (auto v : pb::Reader::packed_varints(f, where, 4096)) {
          if (a.ints.size() >= 4096) r.fail("an attribute with more than 4096 integers");
          a.ints.push_back(v);
        }
        has_ints = true;
        break;
      case 20: type = f.as_int64(); break;
      default: break;
    }
  }
  // The type field decides; files without it are read by what is present.
  if (type == 1 || (type == 0 && has_f)) a.type = OnnxAttribute::Type::real;
  else if (type == 2 || (type == 0 && has_i)) a.type = OnnxAttribute::Type::integer;
  else if (type == 3 || (type == 0 && has_s)) a.type = OnnxAttribute::Type::text;
  else if (type == 7 || (type == 0 && has_ints)) a.type = OnnxAttribute::Type::integers;
  else if (type == 6 || (type == 0 && has_floats)) {
    a.type = OnnxAttribute::Type::integers;  // kept as reals in a tensor below
    tensors["floats:" + a.name] = OnnxConstant{{static_cast<std::int64_t>(floats.size())}, floats, false};
  } else if (type == 4 || (type == 0 && tensor)) {
    if (!tensor) r.fail("a tensor attribute without a tensor");
    a.type = OnnxAttribute::Type::text;
    tensors[a.name] =
        onnx_decode_tensor(tensor->data, tensor->size, where + " attribute '" + a.name + "'", nullptr, nullptr);
  } else {
    r.fail(detail::concat("attribute '", a.name, "' of type ", type, " is not read"));
  }
  return a;
}

inline OnnxValueInfo onnx_decode_value_info(const pb::Field& field, const std::string& where) {
  OnnxValueInfo v;
  pb::Reader r(field.data, field.size, where);
  pb::Field f, g, h, d, e;
  while (r.next(f)) {
    if (f.number == 1) v.name = f.as_string().substr(0, 4096);
    if (f.number != 2 || f.type != pb::length_delimited) continue;
    pb::Reader type(f.data, f.size, where);
    while (type.next(g)) {
      if (g.number != 1 || g.type != pb::length_delimited) continue;  // tensor_type only
      pb::Reader tensor(g.data, g.size, where);
      while (tensor.next(h)) {
        if (h.number == 1) v.elem_type = static_cast<int>(h.as_int64());
        if (h.number != 2 || h.type != pb::length_delimited) continue;
        v.has_shape = true;
        pb::Reader shape(h.data, h.size, where);
        while (shape.next(d)) {
          if (d.number != 1 || d.type != pb::length_delimited) continue;
          if (v.dims.size() >= kMaxOnnxRank) shape.fail(detail::concat("a shape of rank above ", kMaxOnnxRank));
          std::int64_t value = -1;
          pb::Reader dim(d.data, d.size, where);
          while (dim.next(e))
            if (e.number == 1 && e.type == pb::varint) value = e.as_int64();
          v.dims.push_back(value);
        }
      }
    }
  }
  return v;
}

inline OnnxNode onnx_decode_node(const pb::Field& field, std::size_t position, const std::string& where,
                                 std::map<std::string, OnnxConstant>& tensors) {
  OnnxNode n;
  n.position = position;
  const std::string at = detail::concat(where, ": node ", position);
  pb::Reader r(field.data, field.size, at);
  pb::Field f;
  std::vector<pb::Field> attributes;
  while (r.next(f)) {
    switch (f.number) {
      case 1:
      case 2:
        if (n.inputs.size() + n.outputs.size() >= 4096) r.fail("a node with more than 4096 inputs and outputs");
        (f.number == 1 ? n.inputs : n.outputs).push_back(f.as_string().substr(0, 4096));
        break;
      case 3: n.name = f.as_string().substr(0, 4096); break;
      case 4: n.op_type = f.as_string().substr(0, 256); break;
      case 5:
        if (attributes.size() >= 256) r.fail("a node with more than 256 attributes");
        attributes.push_back(f);
        break;
      case 7: n.domain = f.as_string().substr(0, 256); break;
      default: break;
    }
  }
  if (n.name.empty()) n.name = n.op_type + "_" + std::to_string(position);
  for (const pb::Field& a : attributes) n.attributes.push_back(onnx_decode_attribute(a, n.where(), tensors));
  return n;
}

}  // namespace detail

// The model in `bytes` (a ModelProto); `where` names it in messages.
// Constant nodes' values land in `constants` keyed by their output.
inline OnnxModel decode_onnx(const unsigned char* bytes, std::size_t size, const std::string& where,
                             std::map<std::string, OnnxConstant>* constants = nullptr) {
  OnnxModel m;
  pb::Reader r(bytes, size, where);
  pb::Field f;
  const unsigned char* graph = nullptr;
  std::size_t graph_size = 0;
  bool has_graph = false;
  while (r.next(f)) {
    if (f.number == 1) m.ir_version = f.as_int64();
    else if (f.number == 2) m.producer = f.as_string().substr(0, 256);
    else if (f.number == 7 && f.type == pb::length_delimited) graph = f.data, graph_size = f.size, has_graph = true;
    else if (f.number == 8 && f.type == pb::length_delimited) {
      std::string domain;
      std::int64_t version = 0;
      pb::Reader o(f.data, f.size, where);
      pb::Field g;
      while (o.next(g)) {
        if (g.number == 1) domain = g.as_string().substr(0, 256);
        if (g.number == 2) version = g.as_int64();
      }
      if (domain.empty() || domain == "ai.onnx") m.opset = version;
    }
  }
  if (!has_graph) throw value_error(where + ": no graph (is this an ONNX model file?)");
  pb::Reader g(graph, graph_size, where + ": graph");
  std::map<std::string, OnnxConstant> attribute_tensors;
  while (g.next(f)) {
    if (f.type != pb::length_delimited) continue;
    switch (f.number) {
      case 1: {
        if (m.nodes.size() >= kMaxOnnxNodes) g.fail(detail::concat("more than ", kMaxOnnxNodes, " nodes"));
        std::map<std::string, OnnxConstant> tensors;
        m.nodes.push_back(detail::onnx_decode_node(f, m.nodes.size(), where, tensors));
        const OnnxNode& n = m.nodes.back();
        if (n.op_type == "Constant" && constants && n.outputs.size() == 1) {
          OnnxConstant c;
          if (tensors.count("value")) c = tensors["value"];
          else if (const OnnxAttribute* a = n.attribute("value_float")) c = {{}, {a->f}, false};
          else if (const OnnxAttribute* a2 = n.attribute("value_int")) c = {{}, {static_cast<double>(a2->i)}, true};
          else if (const OnnxAttribute* a3 = n.attribute("value_ints"))
            c = {{static_cast<std::int64_t>(a3->ints.size())},
                 std::vector<double>(a3->ints.begin(), a3->ints.end()),
                 true};
          else if (tensors.count("floats:value_floats")) c = tensors["floats:value_floats"];
          else throw value_error(n.where() + " in " + where + ": a Constant without a value Plexus reads");
          (*constants)[n.outputs[0]] = std::move(c);
        }
        break;
      }
      case 2: m.graph_name = f.as_string().substr(0, 256); break;
      case 5: {
        if (m.initializers.size() >= kMaxOnnxNodes) g.fail("too many initializers");
        OnnxInitializer i;
        i.value = detail::onnx_decode_tensor(f.data, f.size, where + ": initializer", &i.elem_type, &i.name);
        m.initializers.push_back(std::move(i));
        break;
      }
      case 11:
      case 12:
        if (m.inputs.size() + m.outputs.size() >= kMaxOnnxNodes) g.fail("too many inputs and outputs");
        (f.number == 11 ? m.inputs : m.outputs).push_back(detail::onnx_decode_value_info(f, where));
        break;
      case 15: g.fail("a sparse initializer, which Plexus does not read");
      default: break;
    }
  }
  return m;
}

// The ModelProto bytes of `m` (initializers from their values, typed by elem_type).
inline std::string encode_onnx(const OnnxModel& m) {
  pb::Writer graph;
  for (const OnnxNode& n : m.nodes) {
    pb::Writer w;
    for (const auto& i : n.inputs) w.string(1, i);
    for (const auto& o : n.outputs) w.string(2, o);
    w.string(3, n.name);
    w.string(4, n.op_type);
    for (const auto& a : n.attributes) detail::onnx_write_attribute(w, a);
    if (!n.domain.empty()) w.string(7, n.domain);
    graph.message(1, w);
  }
  graph.string(2, m.graph_name);
  for (const OnnxInitializer& i : m.initializers) {
    pb::Writer t;
    detail::onnx_write_tensor(t, i.name, i.elem_type, i.value.shape, detail::onnx_raw(i.elem_type, i.value.values));
    graph.message(5, t);
  }
  for (const auto& v : m.inputs) detail::onnx_write_value_info(graph, 11, v);
  for (const auto& v : m.outputs) detail::onnx_write_value_info(graph, 12, v);
  pb::Writer model;
  model.int64(1, m.ir_version);
  model.string(2, m.producer);
  model.string(3, PLEXUS_VERSION_STRING);
  model.message(7, graph);
  pb::Writer opset;
  opset.string(1, "");
  opset.int64(2, m.opset);
  model.message(8, opset);
  return model.data();
}

}  // namespace plexus
