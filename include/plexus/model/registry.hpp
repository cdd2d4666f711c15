// The registry of layer kinds: how a LayerSpec (from a file, or built by
// hand) becomes layers again, and what each kind declares for other formats.
// Kinds register with PLEXUS_REGISTER_LAYER or register_layer; the built-in
// ones (builtin_kinds.hpp) are registered by the first registration or
// lookup below. A spec is checked by making its layers and fixing
// their widths, which allocates no parameters.
//
// The lookups are templates over `Kinds` only so that a file which never
// calls one does not compile the built-in kinds; leave it to its default.
#pragma once

#include "../layers/builtin_kinds.hpp"
#include "interop.hpp"
#include "layer.hpp"
#include "registration.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace plexus {
namespace detail {

template <typename Kinds = BuiltinKinds<>>
std::string known_kinds() {
  register_kinds_once<Kinds>();
  LayerRegistry& r = layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::string s;
  for (const auto& kv : r.kinds)
    if (kv.second.make_float || kv.second.make_double) s += (s.empty() ? "" : ", ") + kv.first;
  return s;
}

template <typename T>
LayerMaker<T> find_maker(const LayerSpec& s, const std::string& path) {
  register_kinds_once<BuiltinKinds<>>();
  LayerRegistry& r = layer_registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.kinds.find(s.kind);
    if (it != r.kinds.end() && (it->second.make_float || it->second.make_double)) {
      LayerMaker<T> m;
      if constexpr (std::is_same_v<T, float>) m = it->second.make_float;
      else m = it->second.make_double;
      if (m) return m;
      throw value_error(concat("layer spec: the kind '", s.kind, "'", path.empty() ? std::string() : " at " + path,
                               " is registered for ", std::is_same_v<T, float> ? "double" : "float", " only"));
    }
  }
  const std::string shown = s.kind.substr(0, 64) + (s.kind.size() > 64 ? "..." : "");
  throw value_error(concat("layer spec: unknown layer kind '", shown, "'", path.empty() ? std::string() : " at " + path,
                           " (known: ", known_kinds(), "; a kind of your own must be registered with ",
                           "plexus::register_layer<Kind>() before loading)"));
}

}  // namespace detail

// Makes layers of kind L<float> and L<double> loadable (or L alone, for a
// class of one scalar type), after the built-in kinds, so that a class that
// takes a registered kind's name is refused here. Returns true, so it can
// initialise a variable.
template <template <typename> class L>
bool register_layer() {
  detail::register_kinds_once<detail::BuiltinKinds<>>();
  return detail::register_kind<L>();
}
template <typename L>
bool register_layer() {
  detail::register_kinds_once<detail::BuiltinKinds<>>();
  return detail::register_kind<L>();
}

#define PLEXUS_DETAIL_CAT2(a, b) a##b
#define PLEXUS_DETAIL_CAT(a, b) PLEXUS_DETAIL_CAT2(a, b)
// Registers a layer kind when the program starts (at namespace scope).
#define PLEXUS_REGISTER_LAYER(...)                                                              \
  [[maybe_unused]] static const bool PLEXUS_DETAIL_CAT(plexus_registered_layer_, __COUNTER__) = \
      ::plexus::register_layer<__VA_ARGS__>()

// What a registered kind declares for other formats (empty when nothing).
template <typename Kinds = detail::BuiltinKinds<>>
LayerInterop layer_interop(const std::string& kind) {
  detail::register_kinds_once<Kinds>();
  detail::LayerRegistry& r = detail::layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.kinds.find(kind);
  return it == r.kinds.end() ? LayerInterop{} : it->second.interop;
}

// Sets (or replaces) what a kind declares for other formats; for a kind
// whose class has no interop() or to change a built-in's. The kind need not
// be registered for loading.
inline void set_layer_interop(const std::string& kind, LayerInterop interop) {
  detail::LayerRegistry& r = detail::layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  detail::LayerKindEntry& e = r.kinds[kind];
  e.interop = std::move(interop);
  e.has_interop = true;
}

// Every registered kind's name and interop, in ascending import_order (then by name).
template <typename Kinds = detail::BuiltinKinds<>>
std::vector<std::pair<std::string, LayerInterop>> layer_interops() {
  detail::register_kinds_once<Kinds>();
  detail::LayerRegistry& r = detail::layer_registry();
  std::vector<std::pair<std::string, LayerInterop>> out;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const auto& kv : r.kinds) out.emplace_back(kv.first, kv.second.interop);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second.import_order < b.second.import_order; });
  return out;
}

// Whether a kind is registered (for float or double).
template <typename Kinds = detail::BuiltinKinds<>>
bool layer_registered(const std::string& kind) {
  detail::register_kinds_once<Kinds>();
  detail::LayerRegistry& r = detail::layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.kinds.find(kind);
  return it != r.kinds.end() && (it->second.make_float || it->second.make_double);
}

namespace detail {

template <typename T>
std::unique_ptr<Layer<T>> make_layer_at(const LayerSpec& s, const std::string& path, int depth) {
  if (depth > kMaxSpecDepth)
    throw value_error(concat("layer spec: ", s.kind.substr(0, 64), path.empty() ? std::string() : " at " + path,
                             " is nested ", depth, " containers deep; the limit is ", kMaxSpecDepth));
  const LayerMaker<T> make = find_maker<T>(s, path);
  SpecReader reader(s, path);
  SpecChildren<T> children(s, path, depth);
  std::unique_ptr<Layer<T>> l = make(reader, children);
  reader.finish();
  if (!l || l->kind() != s.kind)
    throw error(concat("layer spec: the kind '", s.kind, "' made a ", l ? l->kind() : std::string("null layer")));
  if (!path.empty()) l->set_path(path);
  return l;
}

}  // namespace detail

// A fresh, unbuilt layer from its spec. Throws value_error on a bad spec,
// naming the node and the setting.
template <typename T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec) {
  return detail::make_layer_at<T>(spec, std::string(), 0);
}

}  // namespace plexus
