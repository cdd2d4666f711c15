// From specs to networks: checking a spec before anything is allocated,
// building a network from one, and comparing or describing specs. Specs may
// come from files, so every setting and child count is checked by the
// kinds (registry.hpp) and every size is bounded here.
#pragma once

#include "../layers/sequential.hpp"
#include "network.hpp"
#include "registry.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <sstream>
#include <string>

namespace plexus {

// What a spec amounts to once its input width is known.
struct SpecSummary {
  Index output_width = 0;
  Index parameter_count = 0;
  Index buffer_count = 0;
  Index max_width = 0;    // widest activation, input included
  Index layer_count = 0;  // every node of the tree, containers included
};

namespace detail {

inline Index checked_total(Index a, Index b, const std::string& what, const std::string& where) {
  if (b > kMaxSpecParameters - a)
    throw value_error(concat("layer spec: ", where, ": ", what, " exceed the limit of ", kMaxSpecParameters));
  return a + b;
}

// Sums the leaves' sizes (containers only add up their children) with
// overflow checks, so a hostile spec cannot wrap a count around.
template <typename T>
void summarise_built(const Layer<T>& l, SpecSummary& s) {
  s.layer_count += 1;
  s.max_width = std::max({s.max_width, l.input_width(), l.output_width()});
  if (l.child_count() == 0) {
    const std::string where = l.label();
    s.parameter_count = checked_total(s.parameter_count, l.parameter_count(), "the parameters", where);
    s.buffer_count = checked_total(s.buffer_count, l.buffer_count(), "the buffers", where);
  }
  for (std::size_t i = 0; i < l.child_count(); ++i) summarise_built(l.child(i), s);
}

// The layers of `spec`, made and built on `input_width` columns; shape
// errors become value_errors of the spec.
template <typename T>
std::unique_ptr<Layer<T>> built_from_spec(const LayerSpec& spec, Index input_width, SpecSummary& sum) {
  if (input_width < 1 || input_width > kMaxLayerWidth)
    throw value_error(concat("layer spec: input width ", input_width, " is outside [1, ", kMaxLayerWidth, "]"));
  std::unique_ptr<Layer<T>> l = make_layer<T>(spec);
  try {
    sum.output_width = l->build(input_width);
  } catch (const shape_error& e) {
    throw value_error(concat("layer spec: ", e.what()));
  }
  summarise_built(*l, sum);
  return l;
}

template <typename T>
void require_sequential_root(const LayerSpec& s) {
  if (s.kind != Sequential<T>::kind_name)
    throw value_error(concat("network spec: the root must be a Sequential, got '", s.kind.substr(0, 64), "'"));
  if (s.children.empty()) throw value_error("network spec: the root Sequential has no layers");
}

}  // namespace detail

// Checks a spec as it would be built on `input_width` columns and returns
// its shapes and sizes: the layers are made and their widths fixed, but no
// parameter is allocated. Throws value_error naming the node.
template <typename T = float>
SpecSummary check_spec(const LayerSpec& spec, Index input_width) {
  SpecSummary sum;
  detail::built_from_spec<T>(spec, input_width, sum);
  return sum;
}

// check_spec for the spec of a Network's root: a Sequential with at least one layer.
template <typename T = float>
SpecSummary check_network_spec(const LayerSpec& root_sequential_spec, Index input_width) {
  detail::require_sequential_root<T>(root_sequential_spec);
  return check_spec<T>(root_sequential_spec, input_width);
}

// A built network from the spec of its root Sequential (Network::layers().spec()).
// When max_parameters >= 0 a larger network is refused before anything is
// allocated. Parameters are initialised from seed 0; callers loading a file
// overwrite them.
template <typename T>
Network<T> network_from_spec(const LayerSpec& root_sequential_spec, Index input_width, Index max_parameters = -1) {
  detail::require_sequential_root<T>(root_sequential_spec);
  SpecSummary sum;
  std::unique_ptr<Layer<T>> root = detail::built_from_spec<T>(root_sequential_spec, input_width, sum);
  if (max_parameters >= 0 && sum.parameter_count > max_parameters)
    throw value_error(detail::concat("network spec: the architecture has ", sum.parameter_count,
                                     " parameters, more than the limit of ", max_parameters));
  auto* seq = dynamic_cast<Sequential<T>*>(root.get());
  if (!seq) throw value_error("network spec: the root kind Sequential made another class");
  Network<T> net(std::move(*seq));
  net.build(input_width, 0);
  return net;
}

namespace detail {

// How paths name a spec's children: "layer i" in a Sequential, "<kind> body"
// (lower case) for the one child of a wrapper, "child i" otherwise — the
// names the built-in containers give their children.
inline std::string spec_child_step(const LayerSpec& parent, std::size_t i) {
  if (parent.kind == "Sequential") return "layer " + std::to_string(i);
  if (parent.children.size() == 1) {
    std::string k = parent.kind;
    for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return k + " body";
  }
  return "child " + std::to_string(i);
}

inline void spec_difference_at(const LayerSpec& a, const LayerSpec& b, const std::string& path, int depth,
                               std::string& out) {
  if (!out.empty()) return;
  const std::string at = path.empty() ? std::string("at the root") : "at " + path;
  if (depth > kMaxSpecDepth) {
    out = concat(at, ": nested deeper than ", kMaxSpecDepth);
    return;
  }
  if (a.kind != b.kind) {
    out = concat(at, ": ", a.kind, " vs ", b.kind);
    return;
  }
  if (a.settings != b.settings) {
    out = concat(at, ": ", a.kind, " settings (", settings_text(a), ") vs (", settings_text(b), ")");
    return;
  }
  if (a.children.size() != b.children.size()) {
    out = concat(at, ": ", a.kind, " with ", a.children.size(), " children vs ", b.children.size());
    return;
  }
  for (std::size_t i = 0; i < a.children.size() && out.empty(); ++i) {
    const std::string step = spec_child_step(a, i);
    spec_difference_at(a.children[i], b.children[i], path.empty() ? step : path + " > " + step, depth + 1, out);
  }
}

inline void describe_spec_at(const LayerSpec& s, int indent, int depth, std::ostringstream& o) {
  o << std::string(static_cast<std::size_t>(indent) * 2, ' ') << s.kind;
  if (!s.settings.empty()) o << "(" << settings_text(s) << ")";
  o << "\n";
  if (depth >= kMaxSpecDepth) return;
  for (const auto& c : s.children) describe_spec_at(c, indent + 1, depth + 1, o);
}

}  // namespace detail

// Empty when the two specs are equal, else where and how they first differ,
// e.g. "at layer 2 > residual body: Dense settings (units=128) vs (units=64)".
inline std::string spec_difference(const LayerSpec& a, const LayerSpec& b) {
  std::string out;
  detail::spec_difference_at(a, b, std::string(), 0, out);
  return out;
}

// One line per node, indented by depth, e.g. "  Dense(activation='relu', units=128)".
inline std::string describe_spec(const LayerSpec& spec) {
  std::ostringstream o;
  detail::describe_spec_at(spec, 0, 0, o);
  return o.str();
}

}  // namespace plexus
