// import_onnx: an ONNX model read back into a built Network<T>. The graph
// is checked (one input of T's type and known width, one output, nodes in
// an order where every input exists, no cycle), integer shape arithmetic is
// folded into constants (torch's chunk writes Shape -> Gather -> Div), then
// the chain from the input to the output is read layer by layer, trying
// each registered kind's onnx_import at each tensor; the weights found land
// in the built network through the kinds' torch layouts.
#pragma once

#include "onnx.hpp"
#include "onnx_reader.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace plexus {

namespace detail {

inline LayerSpec onnx_spec_of(const OnnxMatch& m) {
  LayerSpec s = m.spec;
  s.children.clear();
  for (const OnnxMatch& c : m.children) {
    // a wrapper's body read as a one-layer chain is that layer
    if (m.spec.kind != "Sequential" && c.spec.kind == "Sequential" && c.children.size() == 1)
      s.children.push_back(onnx_spec_of(c.children[0]));
    else s.children.push_back(onnx_spec_of(c));
  }
  return s;
}

// Puts each match's tensors into the built layer's parameters and buffers.
template <typename T>
void onnx_fill(const Layer<T>& l, const OnnxMatch& m, Index& p, Index& b, Vector<T>& params, Vector<T>& buffers,
               const std::string& where) {
  if (m.input_width > 0 && m.input_width != l.input_width())
    throw shape_error(concat("import_onnx: ", where, ": ", l.label(), " reads ", l.input_width(), " columns but ",
                             m.nodes.empty() ? std::string("its nodes") : m.nodes[0]->where(), " splits ",
                             m.input_width, ": the shapes do not chain"));
  if (l.child_count() > 0) {
    for (std::size_t i = 0; i < l.child_count(); ++i) {
      const OnnxMatch& c = m.children.at(m.spec.kind == "Sequential" ? i : 0);
      const bool unwrapped = m.spec.kind != "Sequential" && c.spec.kind == "Sequential" && c.children.size() == 1;
      onnx_fill(l.child(i), unwrapped ? c.children[0] : c, p, b, params, buffers, where);
    }
    return;
  }
  const TorchLayout layout = layer_interop(l.kind()).torch;
  std::vector<TorchSlot> slots;
  if (layout.tensors) slots = layout.tensors(l.spec(), l.input_width(), l.output_width());
  for (const TorchSlot& s : slots) {
    const OnnxMatch::Tensor* t = nullptr;
    for (const auto& x : m.tensors)
      if (x.slot == s.name) t = &x;
    if (!t)
      throw value_error(concat("import_onnx: ", where, ": ", l.label(), " has no tensor '", s.name, "' in the match"));
    std::int64_t want = 1;
    for (auto d : s.shape) want *= d;
    if (t->value.shape != s.shape)
      throw shape_error(concat("import_onnx: ", where, ": the tensor '", s.name, "' of ", t->from, " has shape ",
                               torch_shape_text(t->value.shape), " but ", l.label(), " needs ",
                               torch_shape_text(s.shape), ": the shapes do not chain"));
    T* dst = (s.buffer ? buffers.data() + b : params.data() + p) + s.offset;
    for (std::int64_t k = 0; k < want; ++k) {
      const double v = t->value.values[static_cast<std::size_t>(k)];
      if (!std::isfinite(v))
        throw value_error(concat("import_onnx: ", where, ": the tensor '", s.name, "' of ", t->from, " holds ", v,
                                 " at flat index ", k, "; values must be finite"));
      dst[k] = static_cast<T>(v);
    }
  }
  p += l.parameter_count(), b += l.buffer_count();
}

}  // namespace detail

// The network an ONNX model in memory describes (see import_onnx).
template <typename T>
Network<T> import_onnx_bytes(const unsigned char* bytes, std::size_t size, const std::string& where = "ONNX model") {
  std::map<std::string, OnnxConstant> constants;
  OnnxModel m = decode_onnx(bytes, size, where, &constants);
  const std::string at = "import_onnx: " + where;
  if (m.opset < kOnnxMinImportOpset || m.opset > kOnnxMaxImportOpset)
    throw value_error(detail::concat(at, ": opset ", m.opset, " of the default domain; Plexus reads opsets ",
                                     kOnnxMinImportOpset, " to ", kOnnxMaxImportOpset));
  std::vector<OnnxValueInfo> inputs;
  std::set<std::string> initializer_names;
  for (const auto& i : m.initializers) initializer_names.insert(i.name);
  for (const auto& v : m.inputs)
    if (!initializer_names.count(v.name)) inputs.push_back(v);
  if (inputs.size() != 1 || m.outputs.size() != 1)
    throw value_error(detail::concat(at, ": the graph has ", inputs.size(), " inputs and ", m.outputs.size(),
                                     " outputs; Plexus reads one of each"));
  if (inputs[0].elem_type != detail::onnx_elem_type<T>())
    throw value_error(detail::concat(at, ": the input '", inputs[0].name, "' is ", onnx_type_name(inputs[0].elem_type),
                                     "; import_onnx<", std::is_same_v<T, float> ? "float" : "double", "> reads ",
                                     onnx_type_name(detail::onnx_elem_type<T>()),
                                     " (import_onnx<float> FLOAT models, import_onnx<double> DOUBLE ones)"));
  for (const auto& i : m.initializers) {
    if (i.elem_type != 7 && i.elem_type != 6 && i.elem_type != detail::onnx_elem_type<T>())
      throw value_error(detail::concat(at, ": the initializer '", i.name, "' is ", onnx_type_name(i.elem_type),
                                       " in a network of ", onnx_type_name(detail::onnx_elem_type<T>()),
                                       " (import_onnx<", std::is_same_v<T, float> ? "double" : "float",
                                       "> reads the other)"));
    constants[i.name] = i.value;
  }
  m.inputs = inputs;
  detail::OnnxReader<T> reader(m, constants, where);
  const Index width = reader.prepare();
  const OnnxMatch chain = reader.chain(m.inputs[0].name, m.outputs[0].name);
  if (chain.children.empty()) throw value_error(at + ": the graph computes nothing (its output is its input)");
  const LayerSpec spec = detail::onnx_spec_of(chain);
  Network<T> net;
  try {
    net = network_from_spec<T>(spec, width);
  } catch (const value_error& e) {
    throw shape_error(detail::concat(at, ": the layers read do not build on ", width, " input columns: ", e.what()));
  }
  const auto& out = m.outputs[0];
  if (out.dims.size() == 2 && out.dims[1] > 0 && out.dims[1] != net.output_width())
    throw shape_error(detail::concat(at, ": the output '", out.name, "' is declared with ", out.dims[1],
                                     " columns but the layers read compute ", net.output_width()));
  Vector<T> params = net.parameters(), buffers = net.buffers();
  Index p = 0, b = 0;
  detail::onnx_fill<T>(net.layers(), chain, p, b, params, buffers, where);
  net.parameters() = params;
  net.buffers() = buffers;
  return net;
}

// Reads the ONNX model at `path` into a built Network<T> holding its
// weights: T = float for FLOAT models, double for DOUBLE ones. Throws
// value_error (or shape_error) naming the op, node and position of what is
// not read, a malformed file, external data, a wrong element type, a cycle,
// or shapes that do not chain.
template <typename T>
Network<T> import_onnx(const std::string& path, std::size_t max_bytes = kMaxOnnxFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  return import_onnx_bytes<T>(bytes.data(), bytes.size(), "'" + path + "'");
}

}  // namespace plexus
