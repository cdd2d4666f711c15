// Rebuilding layers and networks from their LayerSpec (the inverse of
// Layer::spec()). Specs may come from files, so every integer and child
// count is checked and every size bounded before anything is allocated.
#pragma once

#include "activation.hpp"
#include "concat.hpp"
#include "dense.hpp"
#include "layer.hpp"
#include "network.hpp"
#include "residual.hpp"
#include "sequential.hpp"

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

namespace plexus {

// Limits on what a spec may ask for. They are far above any network Plexus
// is meant for and low enough that a hostile spec cannot make the builder
// recurse off the stack or overflow a size computation.
inline constexpr int kMaxSpecDepth = 64;                     // nesting of containers
inline constexpr long long kMaxLayerWidth = 1LL << 24;       // any activation width, Dense units included
inline constexpr long long kMaxSpecParameters = 1LL << 40;   // total parameters of one spec

// What a spec amounts to once its input width is known.
struct SpecSummary {
  Index output_width = 0;
  Index parameter_count = 0;
  Index max_width = 0;    // widest activation, input included
  Index layer_count = 0;  // every node of the tree, containers included
};

namespace detail {

inline std::string spec_child_path(const std::string& parent, const std::string& kind, std::size_t i) {
  std::string step = kind == "Sequential" ? "layer " + std::to_string(i)
                     : kind == "Concat"   ? std::string("concat body")
                                          : std::string("residual body");
  return parent.empty() ? step : parent + " > " + step;
}

inline std::string spec_where(const std::string& path, const LayerSpec& s) {
  return s.kind + (path.empty() ? std::string(" (the root)") : " at " + path);
}

inline void expect_arity(const LayerSpec& s, const std::string& path, std::size_t ints, std::size_t children_min,
                         std::size_t children_max) {
  if (s.ints.size() != ints)
    throw value_error(concat("layer spec: ", spec_where(path, s), " has ", s.ints.size(), " integer settings, expected ",
                             ints));
  if (s.children.size() < children_min || s.children.size() > children_max) {
    const std::string want = children_min == children_max ? std::to_string(children_min)
                                                          : concat(children_min, " or more");
    throw value_error(concat("layer spec: ", spec_where(path, s), " has ", s.children.size(), " children, expected ",
                             want));
  }
}

// Recorded input width: 0 (a spec of a layer that was never built) or in range.
inline void check_recorded_width(const LayerSpec& s, const std::string& path) {
  const long long w = s.ints[0];
  if (w < 0 || w > kMaxLayerWidth)
    throw value_error(concat("layer spec: ", spec_where(path, s), " records input width ", w, ", outside [0, ",
                             kMaxLayerWidth, "]"));
}

inline void check_code(const LayerSpec& s, const std::string& path, const char* what, long long v, long long max) {
  if (v < 0 || v > max)
    throw value_error(concat("layer spec: ", spec_where(path, s), " has unknown ", what, " code ", v, " (known: 0 to ",
                             max, ")"));
}

inline void check_depth(const LayerSpec& s, const std::string& path, int depth) {
  if (depth > kMaxSpecDepth)
    throw value_error(concat("layer spec: ", spec_where(path, s), " is nested ", depth,
                             " containers deep; the limit is ", kMaxSpecDepth));
}

// Checks the node's own settings (not its children's); shared by the
// builder and the shape check so the two cannot disagree.
inline void check_node(const LayerSpec& s, const std::string& path, int depth) {
  check_depth(s, path, depth);
  if (s.kind == "Dense") {
    expect_arity(s, path, 5, 0, 0);
    check_recorded_width(s, path);
    const long long units = s.ints[1];
    if (units < 1 || units > kMaxLayerWidth)
      throw value_error(concat("layer spec: ", spec_where(path, s), " has ", units, " units, outside [1, ",
                               kMaxLayerWidth, "]"));
    check_code(s, path, "activation", s.ints[2], 3);
    check_code(s, path, "weight initialiser", s.ints[3], 4);
    check_code(s, path, "bias initialiser", s.ints[4], 4);
  } else if (s.kind == "Activation") {
    expect_arity(s, path, 2, 0, 0);
    check_recorded_width(s, path);
    check_code(s, path, "activation", s.ints[1], 3);
  } else if (s.kind == "Sequential") {
    expect_arity(s, path, 1, 0, static_cast<std::size_t>(-1));
    check_recorded_width(s, path);
  } else if (s.kind == "Concat" || s.kind == "Residual") {
    expect_arity(s, path, 1, 1, 1);
    check_recorded_width(s, path);
  } else {
    std::string shown = s.kind.substr(0, 64);
    throw value_error(concat("layer spec: unknown layer kind '", shown, s.kind.size() > 64 ? "...'" : "'",
                             path.empty() ? std::string() : " at " + path,
                             " (known: Dense, Activation, Sequential, Concat, Residual)"));
  }
}

inline Index checked_add(Index a, Index b, const LayerSpec& s, const std::string& path, const char* what,
                         long long limit) {
  if (b > limit - a)
    throw value_error(concat("layer spec: ", spec_where(path, s), ": ", what, " exceeds the limit of ", limit));
  return a + b;
}

inline void summarise(const LayerSpec& s, Index in, const std::string& path, int depth, SpecSummary& sum,
                      bool strict_widths) {
  check_node(s, path, depth);
  if (strict_widths && s.ints[0] != in)
    throw value_error(concat("layer spec: ", spec_where(path, s), " records input width ", s.ints[0],
                             " but receives ", in, " columns"));
  sum.layer_count += 1;
  sum.max_width = std::max(sum.max_width, in);
  Index out = in;
  if (s.kind == "Dense") {
    const Index units = s.ints[1];
    // in, units <= 2^24, so in * units + units cannot overflow 64 bits.
    sum.parameter_count = checked_add(sum.parameter_count, in * units + units, s, path, "the parameter count",
                                      kMaxSpecParameters);
    out = units;
  } else if (s.kind == "Sequential") {
    for (std::size_t i = 0; i < s.children.size(); ++i) {
      summarise(s.children[i], out, spec_child_path(path, s.kind, i), depth + 1, sum, strict_widths);
      out = sum.output_width;
    }
  } else if (s.kind == "Concat") {
    summarise(s.children[0], in, spec_child_path(path, s.kind, 0), depth + 1, sum, strict_widths);
    out = checked_add(in, sum.output_width, s, path, "the output width", kMaxLayerWidth);
  } else if (s.kind == "Residual") {
    summarise(s.children[0], in, spec_child_path(path, s.kind, 0), depth + 1, sum, strict_widths);
    if (sum.output_width != in)
      throw value_error(concat("layer spec: ", spec_where(path, s), ": the body maps ", in, " columns to ",
                               sum.output_width, "; a residual block needs the same width in and out"));
  }
  sum.output_width = out;
  sum.max_width = std::max(sum.max_width, out);
}

template <typename T>
std::unique_ptr<Layer<T>> make_layer_at(const LayerSpec& s, const std::string& path, int depth);

template <typename T>
Sequential<T> make_sequential_at(const LayerSpec& s, const std::string& path, int depth) {
  check_node(s, path, depth);
  if (s.kind != "Sequential")
    throw value_error(concat("layer spec: expected a Sequential", path.empty() ? std::string() : " at " + path,
                             ", got ", s.kind));
  Sequential<T> seq;
  for (std::size_t i = 0; i < s.children.size(); ++i)
    seq.add(make_layer_at<T>(s.children[i], spec_child_path(path, s.kind, i), depth + 1));
  return seq;
}

template <typename T>
std::unique_ptr<Layer<T>> make_layer_at(const LayerSpec& s, const std::string& path, int depth) {
  check_node(s, path, depth);
  if (s.kind == "Dense")
    return std::make_unique<Dense<T>>(static_cast<Index>(s.ints[1]), activation_from_int(s.ints[2]),
                                      init_from_int(s.ints[3]), init_from_int(s.ints[4]));
  if (s.kind == "Activation") return std::make_unique<ActivationLayer<T>>(activation_from_int(s.ints[1]));
  if (s.kind == "Sequential") return std::make_unique<Sequential<T>>(make_sequential_at<T>(s, path, depth));
  auto body = make_layer_at<T>(s.children[0], spec_child_path(path, s.kind, 0), depth + 1);
  if (s.kind == "Concat") return std::make_unique<Concat<T>>(std::move(body));
  return std::make_unique<Residual<T>>(std::move(body));
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
  if (a.ints != b.ints) {
    auto list = [](const std::vector<long long>& v) {
      std::ostringstream s;
      for (std::size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
      return s.str();
    };
    out = concat(at, ": ", a.kind, " settings (", list(a.ints), ") vs (", list(b.ints), ")");
    return;
  }
  if (a.children.size() != b.children.size()) {
    out = concat(at, ": ", a.kind, " with ", a.children.size(), " children vs ", b.children.size());
    return;
  }
  for (std::size_t i = 0; i < a.children.size() && out.empty(); ++i)
    spec_difference_at(a.children[i], b.children[i], spec_child_path(path, a.kind, i), depth + 1, out);
}

inline void describe_spec_at(const LayerSpec& s, int indent, int depth, std::ostringstream& o) {
  o << std::string(static_cast<std::size_t>(indent) * 2, ' ') << s.kind;
  if (s.kind == "Dense" && s.ints.size() == 5) {
    o << "(" << s.ints[0] << " -> " << s.ints[1];
    if (s.ints[2] >= 0 && s.ints[2] <= 3 && s.ints[2] != 0) o << ", " << to_string(static_cast<Activation>(s.ints[2]));
    o << ")";
  } else if (s.kind == "Activation" && s.ints.size() == 2 && s.ints[1] >= 0 && s.ints[1] <= 3) {
    o << "(" << to_string(static_cast<Activation>(s.ints[1])) << ")";
  } else if (!s.ints.empty()) {
    o << "(in " << s.ints[0] << ")";
  }
  o << "\n";
  if (depth >= kMaxSpecDepth) return;
  for (const auto& c : s.children) describe_spec_at(c, indent + 1, depth + 1, o);
}

}  // namespace detail

// Checks a spec as it would be built on `input_width` columns and returns its
// shapes and parameter count, allocating nothing. With strict_widths every
// node's recorded input width (ints[0]) must equal the width it receives;
// otherwise 0 is accepted as "never built". Throws value_error naming the node.
inline SpecSummary check_spec(const LayerSpec& spec, Index input_width, bool strict_widths = true) {
  if (input_width < 1 || input_width > kMaxLayerWidth)
    throw value_error(detail::concat("layer spec: input width ", input_width, " is outside [1, ", kMaxLayerWidth, "]"));
  SpecSummary sum;
  detail::summarise(spec, input_width, std::string(), 0, sum, strict_widths);
  return sum;
}

// A fresh, unbuilt layer from its spec (recorded input widths are not
// enforced here; build() fixes the width). Throws value_error on a bad spec.
template <typename T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec) {
  return detail::make_layer_at<T>(spec, std::string(), 0);
}

// check_spec with strict widths, for the spec of a Network's root: a
// Sequential with at least one layer.
inline SpecSummary check_network_spec(const LayerSpec& root_sequential_spec, Index input_width) {
  if (root_sequential_spec.kind != "Sequential")
    throw value_error(detail::concat("network spec: the root must be a Sequential, got '",
                                     root_sequential_spec.kind.substr(0, 64), "'"));
  if (root_sequential_spec.children.empty()) throw value_error("network spec: the root Sequential has no layers");
  return check_spec(root_sequential_spec, input_width, true);
}

// A built network from the spec of its root Sequential (Network::layers().spec()).
// Every recorded width must match `input_width` as it flows through, so a
// spec that a built network produced round-trips exactly. When
// max_parameters >= 0 a larger network is refused before anything is
// allocated. Parameters are initialised from seed 0; callers loading a file
// overwrite them.
template <typename T>
Network<T> network_from_spec(const LayerSpec& root_sequential_spec, Index input_width, Index max_parameters = -1) {
  const SpecSummary sum = check_network_spec(root_sequential_spec, input_width);
  if (max_parameters >= 0 && sum.parameter_count > max_parameters)
    throw value_error(detail::concat("network spec: the architecture has ", sum.parameter_count,
                                     " parameters, more than the limit of ", max_parameters));
  Network<T> net(detail::make_sequential_at<T>(root_sequential_spec, std::string(), 0));
  net.build(input_width, 0);
  return net;
}

// Empty when the two specs are equal, else where and how they first differ,
// e.g. "at layer 2 > residual body: Dense settings (128, 256, 1, 1, 0) vs (...)".
inline std::string spec_difference(const LayerSpec& a, const LayerSpec& b) {
  std::string out;
  detail::spec_difference_at(a, b, std::string(), 0, out);
  return out;
}

// One line per node, indented by depth, e.g. "  Dense(9 -> 128, relu)".
inline std::string describe_spec(const LayerSpec& spec) {
  std::ostringstream o;
  detail::describe_spec_at(spec, 0, 0, o);
  return o.str();
}

}  // namespace plexus
