// LayerSpec: what is needed to rebuild a layer — its kind, named settings
// (integers, reals, strings) and its children — and SpecReader, through
// which a kind reads its settings back, checked and range-bounded, when a
// layer is made from a spec (a file, or a user's code).
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace plexus {

// A setting's value: an integer, a real number or a string.
using SettingValue = std::variant<long long, double, std::string>;

struct LayerSpec {
  std::string kind;
  std::map<std::string, SettingValue> settings;  // by name, so files are written in a fixed order
  std::vector<LayerSpec> children;

  // set("units", 128), set("rate", 0.5), set("activation", "relu").
  template <typename V>
  LayerSpec& set(const std::string& name, const V& v) {
    if constexpr (std::is_same_v<V, bool>) {
      settings[name] = static_cast<long long>(v);
    } else if constexpr (std::is_integral_v<V> || std::is_enum_v<V>) {
      settings[name] = static_cast<long long>(v);
    } else if constexpr (std::is_floating_point_v<V>) {
      settings[name] = static_cast<double>(v);
    } else {
      settings[name] = std::string(v);
    }
    return *this;
  }
  bool operator==(const LayerSpec& o) const {
    return kind == o.kind && settings == o.settings && children == o.children;
  }
  bool operator!=(const LayerSpec& o) const { return !(*this == o); }
};

// Limits on what a spec may ask for: far above any network Plexus is meant
// for, low enough that a hostile spec cannot recurse off the stack or
// overflow a size computation.
inline constexpr int kMaxSpecDepth = 64;                    // nesting of containers
inline constexpr long long kMaxLayerWidth = 1LL << 24;      // any activation width, Dense units included
inline constexpr long long kMaxSpecParameters = 1LL << 40;  // parameters (and buffers) of one spec
inline constexpr std::size_t kMaxSettingBytes = 4096;       // a setting's name or string value

// "3", "0.25", "'relu'".
inline std::string setting_text(const SettingValue& v) {
  std::ostringstream s;
  if (const auto* i = std::get_if<long long>(&v)) s << *i;
  else if (const auto* d = std::get_if<double>(&v)) s.precision(17), s << *d;
  else s << "'" << std::get<std::string>(v).substr(0, 64) << (std::get<std::string>(v).size() > 64 ? "...'" : "'");
  return s.str();
}
inline const char* setting_type(const SettingValue& v) {
  return v.index() == 0 ? "an integer" : v.index() == 1 ? "a real" : "a string";
}

// "units=128, activation='relu'".
inline std::string settings_text(const LayerSpec& s) {
  std::string out;
  for (const auto& [k, v] : s.settings) out += (out.empty() ? "" : ", ") + k + "=" + setting_text(v);
  return out;
}

// A table of the names of an enum's values: one per enum, the only place
// its names and range are written. Entry i: {value, name}.
template <typename E>
struct EnumName {
  E value;
  const char* name;
};

template <typename E, std::size_t N>
std::string enum_names(const EnumName<E> (&table)[N]) {
  std::string s;
  for (const auto& e : table) s += (s.empty() ? "" : ", ") + std::string(e.name);
  return s;
}
template <typename E, std::size_t N>
const char* enum_name(const EnumName<E> (&table)[N], E v) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return "unknown";
}
// The value named `name`, or nullptr.
template <typename E, std::size_t N>
const E* enum_value(const EnumName<E> (&table)[N], const std::string& name) {
  for (const auto& e : table)
    if (name == e.name) return &e.value;
  return nullptr;
}

// Reads the settings of one spec node for the kind that makes it. Every
// getter checks the setting's presence (unless a default is given), type
// and range, and throws value_error naming the kind, its position and the
// setting. finish() refuses settings that nobody read, so a misspelt or
// foreign setting is an error, not silently ignored.
class SpecReader {
 public:
  SpecReader(const LayerSpec& spec, std::string path) : spec_(spec), path_(std::move(path)) {}

  const LayerSpec& spec() const { return spec_; }
  const std::string& path() const { return path_; }
  // "Dense at layer 3" or "Dense (the root)".
  std::string where() const { return spec_.kind + (path_.empty() ? std::string(" (the root)") : " at " + path_); }
  [[noreturn]] void fail(const std::string& what) const {
    throw value_error(detail::concat("layer spec: ", where(), ": ", what));
  }

  bool has(const std::string& name) const { return spec_.settings.count(name) != 0; }

  long long integer(const std::string& name, long long lo, long long hi) { return integer_impl(name, lo, hi, nullptr); }
  long long integer(const std::string& name, long long lo, long long hi, long long fallback) {
    return integer_impl(name, lo, hi, &fallback);
  }
  double real(const std::string& name, double lo, double hi) { return real_impl(name, lo, hi, nullptr); }
  double real(const std::string& name, double lo, double hi, double fallback) {
    return real_impl(name, lo, hi, &fallback);
  }
  std::string string(const std::string& name) { return string_impl(name, nullptr); }
  std::string string(const std::string& name, const std::string& fallback) { return string_impl(name, &fallback); }
  // An enum setting stored by name, checked against the enum's one table.
  template <typename E, std::size_t N>
  E choice(const std::string& name, const EnumName<E> (&table)[N]) {
    const std::string v = string(name);
    const E* e = enum_value(table, v);
    if (!e) fail(detail::concat("setting '", name, "' is '", v.substr(0, 64), "'; known: ", enum_names(table)));
    return *e;
  }
  template <typename E, std::size_t N>
  E choice(const std::string& name, const EnumName<E> (&table)[N], E fallback) {
    return has(name) ? choice(name, table) : (read_.insert(name), fallback);
  }

  // The number of children, checked against [lo, hi].
  std::size_t children(std::size_t lo, std::size_t hi) {
    const std::size_t n = spec_.children.size();
    children_checked_ = true;
    if (n < lo || n > hi) {
      const std::string want = lo == hi                                        ? std::to_string(lo)
                               : hi == std::numeric_limits<std::size_t>::max() ? detail::concat(lo, " or more")
                                                                               : detail::concat(lo, " to ", hi);
      fail(detail::concat("has ", n, " children, expected ", want));
    }
    return n;
  }

  // Refuses settings that were not read and children that were not counted.
  void finish() const {
    for (const auto& [k, v] : spec_.settings)
      if (!read_.count(k)) fail(detail::concat("unknown setting '", k.substr(0, 64), "' (", setting_text(v), ")"));
    if (!children_checked_ && !spec_.children.empty())
      fail(detail::concat("has ", spec_.children.size(), " children; this kind has none"));
  }

 private:
  const SettingValue* find(const std::string& name, bool required) {
    read_.insert(name);
    auto it = spec_.settings.find(name);
    if (it == spec_.settings.end()) {
      if (required) fail(detail::concat("setting '", name, "' is missing"));
      return nullptr;
    }
    return &it->second;
  }
  template <typename V>
  const V& typed(const std::string& name, const SettingValue& v, const char* want) {
    if (const V* p = std::get_if<V>(&v)) return *p;
    fail(detail::concat("setting '", name, "' must be ", want, ", got ", setting_type(v), " (", setting_text(v), ")"));
  }
  long long integer_impl(const std::string& name, long long lo, long long hi, const long long* fallback) {
    const SettingValue* v = find(name, !fallback);
    if (!v) return *fallback;
    const long long x = typed<long long>(name, *v, "an integer");
    if (x < lo || x > hi) fail(detail::concat("setting '", name, "' is ", x, ", outside [", lo, ", ", hi, "]"));
    return x;
  }
  double real_impl(const std::string& name, double lo, double hi, const double* fallback) {
    const SettingValue* v = find(name, !fallback);
    if (!v) return *fallback;
    double x;
    if (const long long* i = std::get_if<long long>(v)) x = static_cast<double>(*i);  // 1 for 1.0 is fine
    else x = typed<double>(name, *v, "a real");
    if (!(x >= lo && x <= hi)) fail(detail::concat("setting '", name, "' is ", x, ", outside [", lo, ", ", hi, "]"));
    return x;
  }
  std::string string_impl(const std::string& name, const std::string* fallback) {
    const SettingValue* v = find(name, !fallback);
    if (!v) return *fallback;
    return typed<std::string>(name, *v, "a string");
  }

  const LayerSpec& spec_;
  std::string path_;
  std::set<std::string> read_;
  bool children_checked_ = false;
};

}  // namespace plexus
