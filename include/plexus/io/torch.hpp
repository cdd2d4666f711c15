// PyTorch interop: a network's parameters and buffers as a .npz archive
// named like the state_dict of its twin torch module (tools/plexus_torch.py
// builds that module from torch_spec_json), and such an archive loaded back.
#pragma once

#include "../model/interop.hpp"
#include "../model/network.hpp"
#include "../model/registry.hpp"
#include "npz.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace plexus {

// A tensor of a whole network: its full state_dict name, shape, whether it
// lives in Network::buffers() (else parameters()), its place there, and the
// layer it belongs to.
struct TorchTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  bool buffer = false;
  Index offset = 0;
  Index count = 0;
  std::string layer;  // e.g. "Dense(8 -> 3, relu) at layer 3 > residual body > layer 0"
};

namespace detail {

// A kind's torch layout, from what it declared at registration (model/interop.hpp).
template <typename Kinds = BuiltinKinds<>>
bool torch_layout_of(const std::string& kind, TorchLayout& out) {
  out = layer_interop<Kinds>(kind).torch;
  return out.tensors || out.child_name || !out.ignored.empty();
}

inline std::string torch_shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

template <typename T>
void torch_walk(const Layer<T>& layer, const std::string& prefix, Index& param_at, Index& buffer_at,
                std::vector<TorchTensor>& out, std::set<std::string>& ignored) {
  TorchLayout layout;
  const bool known = torch_layout_of(layer.kind(), layout);
  const std::string where = layer.label();  // the kind, its settings and its place
  const auto full = [&](const std::string& name) { return prefix.empty() ? name : prefix + "." + name; };
  if (layer.child_count() > 0) {
    const Index p0 = param_at, b0 = buffer_at;
    for (std::size_t i = 0; i < layer.child_count(); ++i) {
      const std::string name = known && layout.child_name ? layout.child_name(i) : std::to_string(i);
      torch_walk(layer.child(i), full(name), param_at, buffer_at, out, ignored);
    }
    if (param_at - p0 != layer.parameter_count() || buffer_at - b0 != layer.buffer_count())
      throw value_error(concat("torch export: ", where,
                               " holds parameters or buffers of its own besides its children's; its kind needs a "
                               "torch layout (plexus::register_torch_layout)"));
    return;
  }
  std::vector<TorchSlot> slots;
  if (known && layout.tensors) slots = layout.tensors(layer.spec(), layer.input_width(), layer.output_width());
  Index params = 0, buffers = 0;
  for (const auto& s : slots) {
    TorchTensor t{full(s.name), s.shape, s.buffer, (s.buffer ? buffer_at : param_at) + s.offset, 1, where};
    for (auto d : s.shape) t.count *= d;
    (s.buffer ? buffers : params) += t.count;
    out.push_back(std::move(t));
  }
  for (const auto& name : layout.ignored) ignored.insert(full(name));
  if (params != layer.parameter_count() || buffers != layer.buffer_count())
    throw value_error(concat("torch export: ", where, " has ", layer.parameter_count(), " parameters and ",
                             layer.buffer_count(), " buffer values, but ",
                             known ? concat("the torch layout of its kind names ", params, " and ", buffers)
                                   : concat("no torch layout is registered for kind '", layer.kind(), "'"),
                             " (register one with plexus::register_torch_layout)"));
  param_at += params;
  buffer_at += buffers;
}

inline void json_string(std::ostringstream& s, const std::string& text) {
  s << '"';
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') s << '\\' << c;
    else if (c < 0x20)
      s << "\\u00"
        << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
    else s << c;
  }
  s << '"';
}

template <typename T>
void json_layer(std::ostringstream& s, const Layer<T>& layer) {
  s << "{\"kind\": ";
  json_string(s, layer.kind());
  s << ", \"input_width\": " << layer.input_width() << ", \"output_width\": " << layer.output_width()
    << ", \"settings\": {";
  const LayerSpec spec = layer.spec();
  bool first = true;
  for (const auto& [k, v] : spec.settings) {
    s << (first ? "" : ", ");
    first = false;
    json_string(s, k);
    s << ": ";
    if (const auto* i = std::get_if<long long>(&v)) s << *i;
    else if (const auto* d = std::get_if<double>(&v)) s << *d;
    else json_string(s, std::get<std::string>(v));
  }
  s << "}, \"children\": [";
  for (std::size_t i = 0; i < layer.child_count(); ++i) {
    s << (i ? ", " : "");
    json_layer(s, layer.child(i));
  }
  s << "]}";
}

}  // namespace detail

// Registers (or replaces) how layers of `kind` map to torch tensors, for a
// kind whose class declares no interop() (model/interop.hpp) or to change
// one's. A kind without parameters or buffers needs none; its children are
// named by their index unless `child_name` says otherwise.
// (A template only as registry.hpp's lookups are; leave Kinds to its default.)
template <typename Kinds = detail::BuiltinKinds<>>
void register_torch_layout(const std::string& kind, TorchLayout layout) {
  LayerInterop i = layer_interop<Kinds>(kind);
  i.torch = std::move(layout);
  set_layer_interop(kind, std::move(i));
}

// The network's tensors in state_dict order (depth first, forward order):
// the root's layers are named 0, 1, ...; a Sequential's children by index,
// Residual's and Concat's body "body"; Dense has weight (out, in) and bias
// (out), LayerNorm weight and bias, BatchNorm weight, bias, running_mean and
// running_var, Standardize the buffers mean and std.
template <typename T>
std::vector<TorchTensor> torch_tensors(const Network<T>& net, std::set<std::string>* ignored = nullptr) {
  if (!net.built()) throw error("torch_tensors: the network is not built; call build(input_width) first");
  std::vector<TorchTensor> out;
  std::set<std::string> skip;
  Index p = 0, b = 0;
  const Sequential<T>& root = net.layers();
  for (std::size_t i = 0; i < root.child_count(); ++i)
    detail::torch_walk(root.child(i), std::to_string(i), p, b, out, skip);
  if (ignored) *ignored = std::move(skip);
  return out;
}

// Writes every parameter and buffer as `path` (.npz, atomically), in the
// layout of torch_tensors, as float32 or float64 (default: T's type).
template <typename T>
void export_torch_npz(const Network<T>& net, const std::string& path, NpyType type = npy_type_of_v<T>) {
  std::vector<NpzMember> members;
  for (const TorchTensor& t : torch_tensors(net)) {
    const T* src = (t.buffer ? net.buffers().data() : net.parameters().data()) + t.offset;
    members.push_back({t.name, encode_npy(t.shape, src, type)});
  }
  write_npz(path, members);
}

// Loads a .npz named as torch_tensors names them (a torch state_dict saved by
// tools/plexus_torch.py, or export_torch_npz's file) into a built network of
// the same architecture. Every tensor must be present with its shape and
// finite values, and the file must hold nothing else (num_batches_tracked
// is skipped); the first mismatch is a shape_error or value_error naming
// the tensor and both shapes, and leaves the network unchanged.
template <typename T>
void import_torch_npz(Network<T>& net, const std::string& path, std::size_t max_bytes = kMaxNpyFileBytes) {
  std::set<std::string> ignored;
  const std::vector<TorchTensor> tensors = torch_tensors(net, &ignored);
  const auto bytes = read_file(path, max_bytes);
  const std::string where = "'" + path + "'";
  std::map<std::string, NpzEntry> entries;
  for (auto& e : npz_entries(bytes.data(), bytes.size(), where)) entries[e.name] = e;
  const auto names = [&] {
    std::string s;
    for (std::size_t i = 0; i < tensors.size() && i < 12; ++i) s += (i ? ", " : "") + tensors[i].name;
    return s + (tensors.size() > 12 ? ", ..." : "");
  };
  std::vector<NpyArray<T>> values;
  values.reserve(tensors.size());
  for (const TorchTensor& t : tensors) {
    auto it = entries.find(t.name);
    if (it == entries.end())
      throw value_error(detail::concat("import_torch_npz: ", where, " has no tensor '", t.name, "' (expected shape ",
                                       detail::torch_shape_text(t.shape), ", of ", t.layer, ")"));
    NpyArray<T> a = decode_npz_entry<T>(bytes.data(), bytes.size(), it->second, where);
    if (a.shape != t.shape)
      throw shape_error(detail::concat("import_torch_npz: ", where, ": tensor '", t.name, "' has shape ",
                                       detail::torch_shape_text(a.shape), " in the file but the network expects ",
                                       detail::torch_shape_text(t.shape), " (", t.layer, ")"));
    for (std::size_t i = 0; i < a.data.size(); ++i)
      if (!std::isfinite(a.data[i]))
        throw value_error(detail::concat("import_torch_npz: ", where, ": tensor '", t.name, "' holds ", a.data[i],
                                         " at flat index ", i, "; values must be finite"));
    values.push_back(std::move(a));
    entries.erase(it);
  }
  for (const auto& [name, e] : entries)
    if (!ignored.count(name))
      throw value_error(detail::concat("import_torch_npz: ", where, " holds '", name,
                                       "', which the network has no tensor for (it has: ", names(), ")"));
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    T* dst = (tensors[k].buffer ? net.buffers().data() : net.parameters().data()) + tensors[k].offset;
    std::copy(values[k].data.begin(), values[k].data.end(), dst);
  }
}

// The architecture as JSON, for tools/plexus_torch.py to build the twin
// module: {"format": "plexus-torch-1", "scalar", "input_width",
// "output_width", "root": layer}, a layer being {"kind", "input_width",
// "output_width", "settings" (its spec's), "children": [layers]}.
template <typename T>
std::string torch_spec_json(const Network<T>& net) {
  if (!net.built()) throw error("torch_spec_json: the network is not built; call build(input_width) first");
  std::ostringstream s;
  s.precision(17);
  s << "{\"format\": \"plexus-torch-1\", \"scalar\": \"" << (std::is_same_v<T, float> ? "float32" : "float64")
    << "\", \"input_width\": " << net.input_width() << ", \"output_width\": " << net.output_width() << ", \"root\": ";
  detail::json_layer(s, net.layers());
  s << "}\n";
  return s.str();
}

// torch_spec_json written to `path`, atomically.
template <typename T>
void write_torch_spec(const Network<T>& net, const std::string& path) {
  const std::string text = torch_spec_json(net);
  write_file_atomic(path, text.data(), text.size());
}

}  // namespace plexus
