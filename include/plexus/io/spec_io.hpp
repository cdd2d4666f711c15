// Layer specs in model files: the node layout of format version 2 (named,
// typed settings), and the reader of version 1 (integer settings by
// position), which translates the kinds version 1 knew into version-2 specs.
// docs/model_format.md gives both layouts.
#pragma once

#include "../model/spec.hpp"
#include "bytes.hpp"

#include <string>
#include <vector>

namespace plexus {

inline constexpr std::size_t kMaxNameBytes = 4096;  // layer kinds, optimizer and state names

namespace detail {

enum class SettingTag : std::uint8_t { integer = 1, real = 2, string = 3 };

inline void write_spec_node(ByteWriter& w, const LayerSpec& s) {
  w.put_string(s.kind, "a layer kind");
  w.put_u32(static_cast<std::uint32_t>(s.settings.size()));
  for (const auto& [name, v] : s.settings) {
    if (name.size() > kMaxSettingBytes)
      throw value_error(
          concat("layer spec: ", s.kind, ": setting name of ", name.size(), " bytes; the limit is ", kMaxSettingBytes));
    w.put_string(name, "a setting name");
    if (const auto* i = std::get_if<long long>(&v)) {
      w.put_u8(static_cast<std::uint8_t>(SettingTag::integer));
      w.put_i64(*i);
    } else if (const auto* d = std::get_if<double>(&v)) {
      w.put_u8(static_cast<std::uint8_t>(SettingTag::real));
      w.put_f64(*d);
    } else {
      const std::string& str = std::get<std::string>(v);
      if (str.size() > kMaxSettingBytes)
        throw value_error(concat("layer spec: ", s.kind, ": setting '", name, "' is a string of ", str.size(),
                                 " bytes; the limit is ", kMaxSettingBytes));
      w.put_u8(static_cast<std::uint8_t>(SettingTag::string));
      w.put_string(str, "a setting value");
    }
  }
  w.put_u32(static_cast<std::uint32_t>(s.children.size()));
  for (const auto& c : s.children) write_spec_node(w, c);
}

inline LayerSpec read_spec_node(ByteReader& r, int depth) {
  if (depth > kMaxSpecDepth) r.fail(concat("layers are nested more than ", kMaxSpecDepth, " deep"));
  LayerSpec s;
  s.kind = r.string("a layer kind", kMaxNameBytes);
  // Each setting takes at least 9 bytes: its name's length, a tag, a value of 4 bytes or more.
  const std::size_t n = r.count(r.u32("a setting count"), 9, "a setting list");
  for (std::size_t i = 0; i < n; ++i) {
    std::string name = r.string("a setting name", kMaxSettingBytes);
    const std::uint8_t tag = r.u8("a setting type");
    SettingValue v;
    if (tag == static_cast<std::uint8_t>(SettingTag::integer)) v = static_cast<long long>(r.i64("an integer setting"));
    else if (tag == static_cast<std::uint8_t>(SettingTag::real)) v = r.f64("a real setting");
    else if (tag == static_cast<std::uint8_t>(SettingTag::string)) v = r.string("a string setting", kMaxSettingBytes);
    else
      r.fail(concat("setting '", name.substr(0, 64), "' of ", s.kind.substr(0, 64), " has unknown type ", int(tag),
                    " (1 integer, 2 real, 3 string)"));
    if (!s.settings.emplace(std::move(name), std::move(v)).second)
      r.fail(concat("a setting of ", s.kind.substr(0, 64), " appears twice"));
  }
  // Each child takes at least 12 bytes: its kind's length and two counts.
  const std::size_t n_children = r.count(r.u32("a child count"), 12, "a child list");
  s.children.reserve(n_children);
  for (std::size_t i = 0; i < n_children; ++i) s.children.push_back(read_spec_node(r, depth + 1));
  return s;
}

// Version 1 stored a node as its kind, integer settings by position (the
// input width it was built on first) and children. The translation of each
// kind version 1 knew, with the widths it recorded (depth first), which
// must match the widths the network is built on.
// The names of the codes version 1 stored for the enum settings it knew
// (Dense's and Activation's activation, Dense's initialisers), part of that
// frozen format like its node layout, so reading an old file needs no kind's
// header. The same names as the kinds' own tables (kActivationNames,
// kInitNames), which tests/test_model_file.cpp checks.
inline constexpr const char* kV1ActivationNames[] = {"identity", "relu", "tanh", "sigmoid"};
inline constexpr const char* kV1InitNames[] = {"zeros", "glorot_uniform", "he_normal", "he_uniform", "torch_default"};

struct V1Spec {
  LayerSpec spec;
  std::vector<long long> widths;
};

inline void v1_node(ByteReader& r, int depth, LayerSpec& out, std::vector<long long>& widths) {
  if (depth > kMaxSpecDepth) r.fail(concat("layers are nested more than ", kMaxSpecDepth, " deep"));
  out.kind = r.string("a layer kind", kMaxNameBytes);
  const std::size_t n_ints = r.count(r.u32("an integer count"), 8, "an integer list");
  std::vector<long long> ints(n_ints);
  for (auto& v : ints) v = r.i64("an integer setting");
  const std::size_t n_children = r.count(r.u32("a child count"), 12, "a child list");
  const std::string& k = out.kind;
  auto expect = [&](std::size_t want, bool container) {
    if (ints.size() != want)
      r.fail(concat(k, " has ", ints.size(), " integer settings, expected ", want, " (format version 1)"));
    if (!container && n_children != 0) r.fail(concat(k, " has ", n_children, " children, expected 0"));
    if ((k == "Concat" || k == "Residual") && n_children != 1)
      r.fail(concat(k, " has ", n_children, " children, expected 1"));
  };
  auto code = [&](long long v, long long max, const char* what) {
    if (v < 0 || v > max) r.fail(concat(k, " has unknown ", what, " code ", v, " (known: 0 to ", max, ")"));
    return v;
  };
  if (k == "Dense") {
    expect(5, false);
    out.set("units", ints[1]);
    out.set("activation", kV1ActivationNames[code(ints[2], 3, "activation")]);
    out.set("weight_init", kV1InitNames[code(ints[3], 4, "weight initialiser")]);
    out.set("bias_init", kV1InitNames[code(ints[4], 4, "bias initialiser")]);
  } else if (k == "Activation") {
    expect(2, false);
    out.set("activation", kV1ActivationNames[code(ints[1], 3, "activation")]);
  } else if (k == "Sequential" || k == "Concat" || k == "Residual") {
    expect(1, true);
  } else {
    r.fail(concat("unknown layer kind '", k.substr(0, 64), "' (format version 1 knew Dense, Activation, Sequential, ",
                  "Concat, Residual)"));
  }
  widths.push_back(ints[0]);
  out.children.resize(n_children);
  for (std::size_t i = 0; i < n_children; ++i) v1_node(r, depth + 1, out.children[i], widths);
}

inline V1Spec read_spec_node_v1(ByteReader& r) {
  V1Spec s;
  v1_node(r, 0, s.spec, s.widths);
  return s;
}

}  // namespace detail
}  // namespace plexus
