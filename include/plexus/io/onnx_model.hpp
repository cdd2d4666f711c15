// The parts of an ONNX ModelProto that Plexus reads and writes, and their
// protobuf encoding (field numbers from onnx.proto): the graph's nodes with
// their attributes, its initializers, inputs and outputs. The reader is
// bounded everywhere (sizes, counts, element counts against the bytes that
// hold them) and refuses what it does not read — external data, subgraphs,
// element types other than float, double and the integers — by name.
#pragma once

#include "../layers/interop.hpp"
#include "../version.hpp"
#include "protobuf.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace plexus {

// ONNX element types (TensorProto.DataType) Plexus reads.
enum class OnnxType : int { undefined = 0, float32 = 1, int32 = 6, int64 = 7, float64 = 11 };

inline std::string onnx_type_name(int t) {
  switch (t) {
    case 1: return "FLOAT";
    case 2: return "UINT8";
    case 3: return "INT8";
    case 6: return "INT32";
    case 7: return "INT64";
    case 9: return "BOOL";
    case 10: return "FLOAT16";
    case 11: return "DOUBLE";
    case 16: return "BFLOAT16";
    default: return "type " + std::to_string(t);
  }
}

// Limits on what an ONNX file may ask for.
inline constexpr std::size_t kMaxOnnxFileBytes = std::size_t(1) << 31;  // protobuf's own 2 GiB
inline constexpr std::size_t kMaxOnnxNodes = 1 << 20;
inline constexpr std::size_t kMaxOnnxRank = 8;

// A graph input or output: name, element type and dimensions (-1 when
// symbolic or absent).
struct OnnxValueInfo {
  std::string name;
  int elem_type = 0;
  std::vector<std::int64_t> dims;
  bool has_shape = false;
};

struct OnnxInitializer {
  std::string name;
  int elem_type = 0;
  OnnxConstant value;
};

struct OnnxModel {
  std::int64_t ir_version = 0;
  std::int64_t opset = 0;  // of the default domain
  std::string producer;
  std::string graph_name;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxInitializer> initializers;
  std::vector<OnnxValueInfo> inputs, outputs;
};

namespace detail {

// ---- writing ----

inline void onnx_write_tensor(pb::Writer& t, const std::string& name, int elem_type,
                              const std::vector<std::int64_t>& dims, const std::string& raw) {
  for (auto d : dims) t.int64(1, d);
  t.int64(2, elem_type);
  t.string(8, name);
  t.bytes(9, raw.data(), raw.size());
}

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

// A tensor's raw little-endian bytes (float, double or int64) from doubles.
inline std::string onnx_raw(int elem_type, const std::vector<double>& values) {
  std::string raw;
  const auto put = [&](const void* p, std::size_t n) { raw.append(static_cast<const char*>(p), n); };
  for (double v : values) {
    if (elem_type == 1) {
      const float f = static_cast<float>(v);
      put(&f, 4);
    } else if (elem_type == 11) {
      put(&v, 8);
    } else {
      const std::int64_t i = static_cast<std::int64_t>(v);
      put(&i, 8);
    }
  }
  return raw;
}

// ---- reading ----

struct OnnxTensorRead {
  std::string name;
  int elem_type = 0;
  std::vector<std::int64_t> dims;
  const unsigned char* raw = nullptr;
  std::size_t raw_size = 0;
  bool has_raw = false, external = false;
  std::vector<pb::Field> typed;  // float_data, double_data, int64_data, int32_data fields
};

inline OnnxConstant onnx_decode_tensor(const unsigned char* data, std::size_t size, const std::string& where,
                                       int* elem_type_out, std::string* name_out) {
  OnnxTensorRead t;
  pb::Reader r(data, size, where);
  pb::Field f;
  while (r.next(f)) {
    switch (f.number) {
      case 1:
        for (auto d : pb::Reader::packed_varints(f, where, kMaxOnnxRank)) {
          if (t.dims.size() >= kMaxOnnxRank) r.fail(detail::concat("a tensor of rank above ", kMaxOnnxRank));
          t.dims.push_back(d);
        }
        break;
      case 2: t.elem_type = static_cast<int>(f.as_int64()); break;
      case 8: t.name = f.as_string().substr(0, 4096); break;
      case 9: t.raw = f.data, t.raw_size = f.size, t.has_raw = true; break;
      case 4:
      case 5:
      case 7:
      case 10: t.typed.push_back(f); break;
      case 13: t.external = true; break;
      case 14:
        if (f.as_int64() == 1) t.external = true;
        break;
      default: break;
    }
  }
  const std::string named = where + (t.name.empty() ? std::string() : " '" + t.name + "'");
  if (t.external)
    throw value_error(detail::concat(named, ": stored as external data (in another file); Plexus reads tensors held ",
                                     "in the model file only (save with all tensors inside, e.g. ",
                                     "onnx.save(m, path, save_as_external_data=False))"));
  const int et = t.elem_type;
  if (et != 1 && et != 11 && et != 7 && et != 6)
    throw value_error(detail::concat(named, ": element type ", onnx_type_name(et),
                                     " is not read (FLOAT, DOUBLE, INT64 and INT32 are)"));
  std::int64_t n = 1;
  for (auto d : t.dims) {
    if (d < 0 || d > (std::int64_t(1) << 40) || (d > 0 && n > (std::int64_t(1) << 40) / d))
      throw value_error(detail::concat(named, ": dimension ", d, " is negative or too large"));
    n *= d;
  }
  const std::size_t width = (et == 1 || et == 6) ? 4 : 8;
  OnnxConstant c;
  c.shape = t.dims;
  c.integral = et == 7 || et == 6;
  if (t.has_raw) {
    if (t.raw_size != static_cast<std::size_t>(n) * width)
      throw value_error(detail::concat(named, ": raw_data holds ", t.raw_size, " bytes; shape and type need ",
                                       static_cast<std::size_t>(n) * width));
    c.values.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < c.values.size(); ++i) {
      const unsigned char* p = t.raw + i * width;
      if (et == 1) {
        float v;
        std::memcpy(&v, p, 4);
        c.values[i] = v;
      } else if (et == 11) {
        double v;
        std::memcpy(&v, p, 8);
        c.values[i] = v;
      } else if (et == 7) {
        std::int64_t v;
        std::memcpy(&v, p, 8);
        c.values[i] = static_cast<double>(v);
      } else {
        std::int32_t v;
        std::memcpy(&v, p, 4);
        c.values[i] = v;
      }
    }
  } else {
    const std::uint32_t want = et == 1 ? 4 : et == 11 ? 10 : et == 7 ? 7 : 5;
    for (const pb::Field& tf : t.typed) {
      if (tf.number != want)
        throw value_error(
            detail::concat(named, ": holds data of field ", tf.number, " for element type ", onnx_type_name(et)));
      if (et == 1 || et == 11) {
        const std::size_t w = et == 1 ? 4 : 8;
        if (tf.type == pb::length_delimited) {
          if (tf.size % w) throw value_error(detail::concat(named, ": packed values of a partial size"));
          for (std::size_t i = 0; i < tf.size / w; ++i) {
            if (c.values.size() >= static_cast<std::size_t>(n)) break;
            if (w == 4) {
              float v;
              std::memcpy(&v, tf.data + 4 * i, 4);
              c.values.push_back(v);
            } else {
              double v;
              std::memcpy(&v, tf.data + 8 * i, 8);
              c.values.push_back(v);
            }
          }
          if (tf.size / w > static_cast<std::size_t>(n))
            c.values.push_back(0);  // more values than the shape: caught below
        } else {
          c.values.push_back(w == 4 ? tf.as_float() : tf.as_double());
        }
      } else {
        for (auto v : pb::Reader::packed_varints(tf, named, static_cast<std::size_t>(n) + 1))
          c.values.push_back(static_cast<double>(et == 6 ? static_cast<std::int32_t>(v) : v));
      }
      if (c.values.size() > static_cast<std::size_t>(n)) break;
    }
    if (c.values.size() != static_cast<std::size_t>(n))
      throw value_error(detail::concat(named, ": holds ", c.values.size(), " values; its shape needs ", n));
  }
  if (elem_type_out) *elem_type_out = et;
  if (name_out) *name_out = t.name;
  return c;
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
