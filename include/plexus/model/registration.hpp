// The registry's storage and what a kind's header needs to be registered
// (SpecChildren); register_layer and the lookups are in registry.hpp. Every
// kind, built-in or a user's, registers the same way:
//
//   PLEXUS_REGISTER_LAYER(Scale);        // at namespace scope, or
//   plexus::register_layer<Scale>();     // once, before loading
//
// where Scale<T> (a template over float and double, or a class of one
// scalar type) declares `static constexpr const char* kind_name` and
//   static std::unique_ptr<Layer<T>> from_spec(SpecReader& settings, const SpecChildren<T>& children);
// which reads its settings back (checked and bounded by SpecReader) and
// makes its children through `children`.
//
// The built-in kinds do not register at static initialisation: they are
// registered when the registry is first used (builtin_kinds.hpp), so a file
// that includes them but never loads a spec or registers a kind does not
// compile them.
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

namespace detail {

// Adds kind L<float> and L<double> (or L alone, for a class of one scalar
// type) to the registry: register_layer (registry.hpp) without registering
// the built-in kinds first.
template <template <typename> class L>
bool register_kind() {
  const std::string name = L<float>::kind_name;
  if (name != L<double>::kind_name)
    throw error(
        concat("register_layer: kind_name differs between float (", name, ") and double (", L<double>::kind_name, ")"));
  LayerRegistry& r = layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  LayerKindEntry e = r.kinds.count(name) ? r.kinds[name] : LayerKindEntry{};
  register_one<L<float>>(e, name);
  register_one<L<double>, !has_interop<L<float>>::value>(e, name);
  r.kinds[name] = e;
  return true;
}
template <typename L>
bool register_kind() {
  const std::string name = L::kind_name;
  LayerRegistry& r = layer_registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  LayerKindEntry e = r.kinds.count(name) ? r.kinds[name] : LayerKindEntry{};
  register_one<L>(e, name);
  r.kinds[name] = e;
  return true;
}

}  // namespace detail

namespace detail {

// Every built-in kind (builtin_kinds.hpp). A template, and the lookups that
// register it templates, so that only a file that looks a kind up compiles
// the built-in kinds.
template <typename = void>
struct BuiltinKinds;

// Registers Kinds::register_all() once per program (again after a throw).
template <typename Kinds>
void register_kinds_once() {
  static const bool done = (Kinds::register_all(), true);
  (void)done;
}

}  // namespace detail

}  // namespace plexus
