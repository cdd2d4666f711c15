// ONNX in and out. export_onnx writes a built network as an ONNX model
// (opset 17 and IR 8 by default, a dynamic batch dimension) through each
// kind's onnx_export (model/interop.hpp); import_onnx reads a model — as
// torch.onnx.export writes them for dense networks — back into a built
// Network<T> by trying each registered kind's onnx_import at each tensor.
// Weights go both ways in the kinds' PyTorch layouts. What cannot be
// written or read is refused by name: the kind and its place, or the op,
// its node's name and position.
#pragma once

#include "../model/factory.hpp"
#include "../model/interop.hpp"
#include "../model/network.hpp"
#include "../model/registry.hpp"
#include "atomic_file.hpp"
#include "onnx_codec.hpp"
#include "onnx_model.hpp"
#include "torch.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace plexus {

// The opsets export_onnx writes (the checks of docs/onnx.md ran on these).
inline constexpr int kOnnxMinExportOpset = 13, kOnnxMaxExportOpset = 21;
// The opsets import_onnx reads.
inline constexpr int kOnnxMinImportOpset = 11, kOnnxMaxImportOpset = 22;

struct OnnxExportOptions {
  int opset = 17;
  int ir_version = 8;
  std::string input_name = "input", output_name = "output";
  std::string graph_name = "plexus";
  // Nodes of the caller's own around the network: `before` maps the graph's
  // input to the network's input, `after` the network's output to the
  // graph's output (e.g. an input scaling and its inverse). The graph's
  // input and output widths are then given below (0: the network's).
  std::function<std::string(OnnxExporter&, const std::string&)> before, after;
  Index input_width = 0, output_width = 0;
};

namespace detail {

// Offsets of every layer's parameters and buffers in the network's flat vectors.
template <typename T>
void onnx_offsets(const Layer<T>& l, Index& p, Index& b, std::map<const Layer<T>*, std::pair<Index, Index>>& out) {
  out[&l] = {p, b};
  if (l.child_count() == 0) {
    p += l.parameter_count(), b += l.buffer_count();
    return;
  }
  for (std::size_t i = 0; i < l.child_count(); ++i) onnx_offsets(l.child(i), p, b, out);
}

template <typename T>
class OnnxWriter final : public OnnxExporter {
 public:
  OnnxWriter(const Network<T>& net, const OnnxExportOptions& o) : net_(net), o_(o) {
    Index p = 0, b = 0;
    onnx_offsets<T>(net.layers(), p, b, offsets_);
    model_.ir_version = o.ir_version;
    model_.opset = o.opset;
    model_.producer = "plexus";
    model_.graph_name = o.graph_name;
  }

  int opset() const override { return o_.opset; }

  std::vector<std::string> nodes(const std::string& op, const std::vector<std::string>& inputs,
                                 const std::vector<OnnxAttribute>& attributes, int outputs) override {
    OnnxNode n;
    n.op_type = op;
    n.inputs = inputs;
    n.attributes = attributes;
    for (int k = 0; k < outputs; ++k) n.outputs.push_back(concat("t", tensors_++));
    n.name = concat(where_.empty() ? std::string("graph") : where_, ": ", op, " #", model_.nodes.size());
    n.position = model_.nodes.size();
    model_.nodes.push_back(n);
    return n.outputs;
  }

  std::string tensor(const std::string& slot) override {
    if (!layer_) throw error("onnx export: tensor('" + slot + "') outside a layer");
    for (const TorchSlot& s : slots_) {
      if (s.name != slot) continue;
      const auto at = offsets_.at(layer_);
      const T* src = (s.buffer ? net_.buffers().data() + at.second : net_.parameters().data() + at.first) + s.offset;
      OnnxInitializer init;
      init.name = prefix_.empty() ? slot : prefix_ + "." + slot;
      init.elem_type = onnx_elem_type<T>();
      init.value.shape = s.shape;
      init.value.values.assign(src, src + init.value.elements());
      model_.initializers.push_back(std::move(init));
      return model_.initializers.back().name;
    }
    throw value_error(concat("onnx export: ", layer_->label(), " asks for its tensor '", slot,
                             "', which its kind's torch layout does not name"));
  }

  std::string constant(const std::vector<std::int64_t>& shape, const std::vector<double>& values) override {
    return add_constant(shape, values, onnx_elem_type<T>());
  }
  std::string int64_constant(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& values) override {
    return add_constant(shape, std::vector<double>(values.begin(), values.end()), 7);
  }

  std::string child(std::size_t i, const std::string& x) override {
    if (!layer_ || i >= layer_->child_count())
      throw error(concat("onnx export: child ", i, " of ", layer_ ? layer_->label() : std::string("nothing")));
    TorchLayout layout = layer_interop(layer_->kind()).torch;
    const std::string name = layout.child_name ? layout.child_name(i) : std::to_string(i);
    return layer(layer_->child(i), prefix_.empty() ? name : prefix_ + "." + name, x);
  }

  // Writes `l` (named `prefix` as torch would) on input x; returns its output.
  std::string layer(const Layer<T>& l, const std::string& prefix, const std::string& x) {
    const LayerInterop in = layer_interop(l.kind());
    if (!in.onnx_export)
      throw value_error(concat("export_onnx: ", l.label(), ": the kind '", l.kind(),
                               "' has no ONNX export (a kind provides one in its interop(), or through ",
                               "plexus::set_layer_interop); nothing was written"));
    const Layer<T>* saved_layer = layer_;
    const std::string saved_prefix = prefix_, saved_where = where_;
    std::vector<TorchSlot> saved_slots = std::move(slots_);
    const LayerSpec spec = l.spec();
    layer_ = &l, prefix_ = prefix, where_ = l.label();
    slots_ = in.torch.tensors ? in.torch.tensors(spec, l.input_width(), l.output_width()) : std::vector<TorchSlot>{};
    const std::string y = in.onnx_export(*this, OnnxLayer{spec, l.input_width(), l.output_width(), l.child_count()}, x);
    layer_ = saved_layer, prefix_ = saved_prefix, where_ = saved_where, slots_ = std::move(saved_slots);
    return y;
  }

  OnnxModel finish(const std::string& x_in, std::string y) {
    if (y == x_in || !produced(y)) y = node("Identity", {y});
    rename(y, o_.output_name);
    rename(x_in, o_.input_name);
    const Index in_w = o_.input_width > 0 ? o_.input_width : net_.input_width();
    const Index out_w = o_.output_width > 0 ? o_.output_width : net_.output_width();
    model_.inputs.push_back({o_.input_name, onnx_elem_type<T>(), {-1, in_w}, true});
    model_.outputs.push_back({o_.output_name, onnx_elem_type<T>(), {-1, out_w}, true});
    return std::move(model_);
  }

 private:
  std::string add_constant(const std::vector<std::int64_t>& shape, const std::vector<double>& values, int type) {
    OnnxInitializer init;
    init.name = concat("const", model_.initializers.size());
    init.elem_type = type;
    init.value.shape = shape;
    init.value.values = values;
    model_.initializers.push_back(std::move(init));
    return model_.initializers.back().name;
  }
  bool produced(const std::string& t) const {
    for (const auto& n : model_.nodes)
      for (const auto& o : n.outputs)
        if (o == t) return true;
    return false;
  }
  void rename(const std::string& from, const std::string& to) {
    for (auto& n : model_.nodes) {
      for (auto& i : n.inputs)
        if (i == from) i = to;
      for (auto& o : n.outputs)
        if (o == from) o = to;
    }
  }

  const Network<T>& net_;
  const OnnxExportOptions& o_;
  std::map<const Layer<T>*, std::pair<Index, Index>> offsets_;
  OnnxModel model_;
  const Layer<T>* layer_ = nullptr;
  std::vector<TorchSlot> slots_;  // the current layer's tensors (its torch layout)
  std::string prefix_, where_;
  std::size_t tensors_ = 0;
};

}  // namespace detail

// The network as an ONNX model (in memory); see export_onnx.
template <typename T>
OnnxModel onnx_model_of(const Network<T>& net, const OnnxExportOptions& options = {}) {
  if (!net.built()) throw error("export_onnx: the network is not built; call build(input_width) first");
  if (options.opset < kOnnxMinExportOpset || options.opset > kOnnxMaxExportOpset)
    throw value_error(detail::concat("export_onnx: opset ", options.opset, " is not written; Plexus writes opsets ",
                                     kOnnxMinExportOpset, " to ", kOnnxMaxExportOpset));
  detail::OnnxWriter<T> w(net, options);
  const std::string x0 = "graph_input";
  std::string x = options.before ? options.before(w, x0) : x0;
  const Sequential<T>& root = net.layers();
  for (std::size_t i = 0; i < root.child_count(); ++i) x = w.layer(root.child(i), std::to_string(i), x);
  if (options.after) x = options.after(w, x);
  return w.finish(x0, x);
}

// Writes the network as an ONNX model to `path` (atomically): float
// networks as FLOAT tensors, double networks as DOUBLE, the input
// (batch, input_width) with a symbolic batch, weights as initializers named
// like the torch state_dict. Throws value_error naming a layer whose kind
// has no ONNX export; nothing is written then.
template <typename T>
void export_onnx(const Network<T>& net, const std::string& path, const OnnxExportOptions& options = {}) {
  const std::string bytes = encode_onnx(onnx_model_of(net, options));
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace plexus

#include "onnx_import.hpp"
