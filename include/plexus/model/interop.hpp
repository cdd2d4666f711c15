// What a layer kind says about itself to other formats, declared once with
// the kind: its tensors as PyTorch names and lays them out (TorchLayout),
// the ONNX nodes it writes (onnx_export) and the ONNX patterns it reads back
// (onnx_import). A kind provides them as `static LayerInterop interop()`,
// which register_layer stores in the registry beside the kind's maker.
// Nothing here knows protobuf: io/onnx.hpp implements the two interfaces.
#pragma once

#include "../core/types.hpp"
#include "spec.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace plexus {

// One tensor of a layer as torch names it: `name` is appended to the
// layer's prefix ("weight" -> "3.body.0.weight"); the values are `count`
// consecutive entries of the layer's own parameters (or buffers) from
// `offset`, in torch's C order for `shape`.
struct TorchSlot {
  std::string name;
  std::vector<std::int64_t> shape;
  bool buffer = false;
  Index offset = 0;
};

// How one kind maps to torch: its tensors (from its spec and widths), the
// names of its children in the state_dict, and entries a torch file may hold
// that import skips (BatchNorm's num_batches_tracked).
struct TorchLayout {
  std::function<std::vector<TorchSlot>(const LayerSpec& spec, Index in, Index out)> tensors;
  std::function<std::string(std::size_t child)> child_name;  // empty: the child's index
  std::vector<std::string> ignored;
};

// An ONNX attribute a kind writes or reads: an integer, a real, a list of
// integers or a string.
struct OnnxAttribute {
  enum class Type { integer, real, integers, text };
  std::string name;
  Type type = Type::integer;
  std::int64_t i = 0;
  double f = 0.0;
  std::vector<std::int64_t> ints;
  std::string s;

  static OnnxAttribute integer(std::string n, std::int64_t v) { return {std::move(n), Type::integer, v, 0.0, {}, {}}; }
  static OnnxAttribute real(std::string n, double v) { return {std::move(n), Type::real, 0, v, {}, {}}; }
  static OnnxAttribute integers(std::string n, std::vector<std::int64_t> v) {
    return {std::move(n), Type::integers, 0, 0.0, std::move(v), {}};
  }
  static OnnxAttribute text(std::string n, std::string v) {
    return {std::move(n), Type::text, 0, 0.0, {}, std::move(v)};
  }
};

// A constant tensor of a graph (an initializer or a Constant node's value),
// its values widened to double.
struct OnnxConstant {
  std::vector<std::int64_t> shape;
  std::vector<double> values;
  bool integral = false;  // int64 / int32 data
  std::int64_t elements() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// The layer being exported: its spec (kind and settings), widths and children.
struct OnnxLayer {
  const LayerSpec& spec;
  Index input_width, output_width;
  std::size_t child_count;
};

// What a kind writes its nodes through (io/onnx.hpp implements it). Node
// names are made from the layer's place in the network.
class OnnxExporter {
 public:
  virtual ~OnnxExporter() = default;
  virtual int opset() const = 0;
  // Adds a node of `op` reading `inputs`; returns the names of its `outputs` fresh outputs.
  virtual std::vector<std::string> nodes(const std::string& op, const std::vector<std::string>& inputs,
                                         const std::vector<OnnxAttribute>& attributes, int outputs) = 0;
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<OnnxAttribute>& attributes = {}) {
    return nodes(op, inputs, attributes, 1).at(0);
  }
  // The layer's own tensor named `slot` in its torch layout, as an
  // initializer of the network's scalar type; returns its name.
  virtual std::string tensor(const std::string& slot) = 0;
  // A constant initializer of the network's scalar type, or of int64.
  virtual std::string constant(const std::vector<std::int64_t>& shape, const std::vector<double>& values) = 0;
  virtual std::string int64_constant(const std::vector<std::int64_t>& shape,
                                     const std::vector<std::int64_t>& values) = 0;
  // Child i of the layer written on input x; returns its output.
  virtual std::string child(std::size_t i, const std::string& x) = 0;
};

// A node of the graph being imported.
struct OnnxNode {
  std::string op_type, name, domain;
  std::vector<std::string> inputs, outputs;
  std::vector<OnnxAttribute> attributes;
  std::size_t position = 0;  // in the graph's node list

  const OnnxAttribute* attribute(const std::string& n) const {
    for (const auto& a : attributes)
      if (a.name == n) return &a;
    return nullptr;
  }
  std::int64_t integer(const std::string& n, std::int64_t fallback) const {
    const OnnxAttribute* a = attribute(n);
    return a && a->type == OnnxAttribute::Type::integer ? a->i : fallback;
  }
  double real(const std::string& n, double fallback) const {
    const OnnxAttribute* a = attribute(n);
    return a && a->type == OnnxAttribute::Type::real ? a->f : fallback;
  }
  // "Gemm 'fc1' (node 3)".
  std::string where() const { return op_type + " '" + name + "' (node " + std::to_string(position) + ")"; }
};

// One piece of a graph recognised as a layer: its spec, its tensors by the
// names of its torch layout, the matches of its children, the nodes it
// used and the tensor it ends at.
struct OnnxMatch {
  LayerSpec spec;
  struct Tensor {
    std::string slot;
    OnnxConstant value;
    std::string from;  // the node it came from, for messages
  };
  std::vector<Tensor> tensors;
  std::vector<OnnxMatch> children;
  std::vector<const OnnxNode*> nodes;
  std::string output;
  Index input_width = 0;  // when > 0, the input width the pattern holds only for (checked once built)
};

// A stretch of element-wise nodes from a tensor x to a tensor y with only
// scalar constants besides x, as a function of one variable (evaluated in
// double): what activation patterns are recognised from.
struct OnnxScalarFunction {
  std::string output;
  std::vector<const OnnxNode*> nodes;
  std::function<double(double)> f;
};

// The graph as a kind's importer sees it (io/onnx.hpp implements it).
class OnnxGraph {
 public:
  virtual ~OnnxGraph() = default;
  virtual int opset() const = 0;
  // The nodes not yet used by a match that read `tensor`.
  virtual std::vector<const OnnxNode*> consumers(const std::string& tensor) const = 0;
  // The only unused node reading `tensor`, when there is exactly one, of type `op` (any when empty).
  const OnnxNode* sole_consumer(const std::string& tensor, const std::string& op = std::string()) const {
    const auto c = consumers(tensor);
    return c.size() == 1 && (op.empty() || c[0]->op_type == op) ? c[0] : nullptr;
  }
  // An initializer or a Constant node's value; null when `name` is computed.
  virtual const OnnxConstant* constant(const std::string& name) const = 0;
  // The element-wise stretches starting at x, shortest first.
  virtual std::vector<OnnxScalarFunction> scalar_functions(const std::string& x) const = 0;
  // The layers from tensor `from` to tensor `to`, not using the nodes in
  // `reserved`; false (and the reason) when they are not a chain of layers.
  virtual bool layers_between(const std::string& from, const std::string& to,
                              const std::vector<const OnnxNode*>& reserved, OnnxMatch& body, std::string& why) = 0;
};

// A kind's ONNX import: tries to recognise the kind's pattern at tensor x.
// Fills `match` and returns true, or returns false (no side effects that
// last: the importer restores its state).
using OnnxImport = std::function<bool(OnnxGraph& graph, const std::string& x, OnnxMatch& match)>;
// A kind's ONNX export: writes its nodes on input x and returns the output.
using OnnxExport = std::function<std::string(OnnxExporter& out, const OnnxLayer& layer, const std::string& x)>;

// Everything a kind declares for other formats. Kinds without parameters
// need no torch layout; a kind without onnx_export cannot be exported (the
// exporter says so, naming the kind and its place); import tries the kinds
// in ascending `import_order` (containers, which look for joins, last).
struct LayerInterop {
  TorchLayout torch;
  OnnxExport onnx_export;
  OnnxImport onnx_import;
  int import_order = 0;
};

namespace detail {
// The double with the fewest significant digits (at most 6) that rounds to
// the same float as v (0.2f -> 0.2), else the float's own value (2^-16
// stays 2^-16): a parameter written as a float, read back as written.
inline double shortest_decimal_of_float(double v) {
  const float want = static_cast<float>(v);
  for (int digits = 1; digits <= 6; ++digits) {  // beyond: not a short decimal, keep the float's own value
    char text[40];
    std::snprintf(text, sizeof text, "%.*g", digits, static_cast<double>(want));
    const double d = std::strtod(text, nullptr);
    if (static_cast<float>(d) == want) return d;
  }
  return static_cast<double>(want);
}
}  // namespace detail

// A constant as a vector: shape (w) or (1, w); nullptr otherwise.
inline const OnnxConstant* onnx_vector(const OnnxConstant* c) {
  if (!c || c->integral) return nullptr;
  if (c->shape.size() == 1 || (c->shape.size() == 2 && c->shape[0] == 1)) return c;
  return nullptr;
}
// The same values with shape (w).
inline OnnxConstant onnx_flat(const OnnxConstant& c) { return {{c.elements()}, c.values, c.integral}; }
// A scalar constant's value (shape () or (1)); false otherwise.
inline bool onnx_scalar(const OnnxConstant* c, double& v) {
  if (!c || c->values.size() != 1) return false;
  v = c->values[0];
  return true;
}
// A 0/1 setting of a spec (absent: true), e.g. LayerNorm's elementwise_affine.
inline bool onnx_setting_flag(const LayerSpec& s, const char* key) {
  auto it = s.settings.find(key);
  return it == s.settings.end() || std::get<long long>(it->second) != 0;
}
// Whether every value equals v.
inline bool onnx_all(const OnnxConstant& c, double v) {
  for (double x : c.values)
    if (x != v) return false;
  return true;
}

}  // namespace plexus
