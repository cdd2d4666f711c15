// The registry of layer kinds: how a LayerSpec (from a file, or built by
// hand) becomes layers again. Every kind, built-in or a user's, registers
// the same way:
//
//   PLEXUS_REGISTER_LAYER(Scale);        // at namespace scope, or
//   plexus::register_layer<Scale>();     // once, before loading
//
// where Scale<T> (a template over float and double, or a class of one
// scalar type) declares `static constexpr const char* kind_name` and
//   static std::unique_ptr<Layer<T>> from_spec(SpecReader& settings, const SpecChildren<T>& children);
// which reads its settings back (checked and bounded by SpecReader) and
// makes its children through `children`. A spec is checked by making its
// layers and fixing their widths, which allocates no parameters.
#pragma once

#include "interop.hpp"
#include "layer.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

namespace plexus {

template <typename T>
class SpecChildren;

namespace detail {

template <typename T>
using LayerMaker = std::unique_ptr<Layer<T>> (*)(SpecReader&, const SpecChildren<T>&);

struct LayerKindEntry {
  std::type_index float_type = typeid(void), double_type = typeid(void);
  LayerMaker<float> make_float = nullptr;
  LayerMaker<double> make_double = nullptr;
  LayerInterop interop;  // torch layout, ONNX export and import (interop.hpp)
  bool has_interop = false;
};

struct LayerRegistry {
  std::mutex mutex;
  std::map<std::string, LayerKindEntry> kinds;
};
inline LayerRegistry& layer_registry() {
  static LayerRegistry r;
  return r;
}

template <typename L>
std::unique_ptr<Layer<typename L::Scalar>> make_as(SpecReader& r, const SpecChildren<typename L::Scalar>& c) {
  return L::from_spec(r, c);
}

template <typename L>
void add_kind(LayerKindEntry& e) {
  using T = typename L::Scalar;
  if constexpr (std::is_same_v<T, float>) {
    e.float_type = typeid(L);
    e.make_float = &make_as<L>;
  } else {
    e.double_type = typeid(L);
    e.make_double = &make_as<L>;
  }
}

// Whether L declares `static LayerInterop interop()`.
template <typename L, typename = void>
struct has_interop : std::false_type {};
template <typename L>
struct has_interop<L, std::void_t<decltype(L::interop())>> : std::true_type {};

// WithInterop: whether to take L::interop() (one scalar type's is enough:
// a kind's interop does not depend on it, and each instantiation costs
// every file that registers the kind its compile time).
template <typename L, bool WithInterop = true>
void register_one(LayerKindEntry& into, const std::string& name) {
  using T = typename L::Scalar;
  const std::type_index have = std::is_same_v<T, float> ? into.float_type : into.double_type;
  if (have != typeid(void) && have != typeid(L))
    throw error(concat("register_layer: the kind '", name, "' is already registered by another class"));
  add_kind<L>(into);
  if constexpr (WithInterop && has_interop<L>::value) {
    if (!into.has_interop) into.interop = L::interop(), into.has_interop = true;
  }
}

inline std::string known_kinds() {
  LayerRegistry& r = layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::string s;
  for (const auto& kv : r.kinds)
    if (kv.second.make_float || kv.second.make_double) s += (s.empty() ? "" : ", ") + kv.first;
  return s;
}

template <typename T>
LayerMaker<T> find_maker(const LayerSpec& s, const std::string& path) {
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

template <typename T>
std::unique_ptr<Layer<T>> make_layer_at(const LayerSpec& s, const std::string& path, int depth);

}  // namespace detail

// A kind's access to the children of the spec it makes.
template <typename T>
class SpecChildren {
 public:
  SpecChildren(const LayerSpec& spec, std::string path, int depth)
      : spec_(spec), path_(std::move(path)), depth_(depth) {}
  std::size_t size() const { return spec_.children.size(); }
  // Makes child i; `step` names it in messages ("layer 3", "residual body").
  std::unique_ptr<Layer<T>> make(std::size_t i, const std::string& step) const {
    return detail::make_layer_at<T>(spec_.children.at(i), path_.empty() ? step : path_ + " > " + step, depth_ + 1);
  }

 private:
  const LayerSpec& spec_;
  std::string path_;
  int depth_;
};

// Makes layers of kind L<float> and L<double> loadable (or L alone, for a
// class of one scalar type). Returns true, so it can initialise a variable.
template <template <typename> class L>
bool register_layer() {
  const std::string name = L<float>::kind_name;
  if (name != L<double>::kind_name)
    throw error(detail::concat("register_layer: kind_name differs between float (", name, ") and double (",
                               L<double>::kind_name, ")"));
  detail::LayerRegistry& r = detail::layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  detail::LayerKindEntry e = r.kinds.count(name) ? r.kinds[name] : detail::LayerKindEntry{};
  detail::register_one<L<float>>(e, name);
  detail::register_one<L<double>, !detail::has_interop<L<float>>::value>(e, name);
  r.kinds[name] = e;
  return true;
}
template <typename L>
bool register_layer() {
  const std::string name = L::kind_name;
  detail::LayerRegistry& r = detail::layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  detail::LayerKindEntry e = r.kinds.count(name) ? r.kinds[name] : detail::LayerKindEntry{};
  detail::register_one<L>(e, name);
  r.kinds[name] = e;
  return true;
}

#define PLEXUS_DETAIL_CAT2(a, b) a##b
#define PLEXUS_DETAIL_CAT(a, b) PLEXUS_DETAIL_CAT2(a, b)
// Registers a layer kind when the program starts (at namespace scope).
#define PLEXUS_REGISTER_LAYER(...)                                                              \
  [[maybe_unused]] static const bool PLEXUS_DETAIL_CAT(plexus_registered_layer_, __COUNTER__) = \
      ::plexus::register_layer<__VA_ARGS__>()

// What a registered kind declares for other formats (empty when nothing).
inline LayerInterop layer_interop(const std::string& kind) {
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
inline std::vector<std::pair<std::string, LayerInterop>> layer_interops() {
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
inline bool layer_registered(const std::string& kind) {
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
