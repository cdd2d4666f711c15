// The container of Plexus model files and checkpoints: the 32-byte header,
// the sections every file starts with (metadata, input width, the
// architecture, parameters, buffers) and their parser, which checks the
// header, lengths and checksum before it reads anything, and bounds every
// count by the bytes present. docs/model_format.md gives the byte layout.
#pragma once

#include "../core/error.hpp"
#include "../model/factory.hpp"
#include "../model/network.hpp"
#include "atomic_file.hpp"
#include "bytes.hpp"
#include "spec_io.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace plexus {

// Scalar type of the stored parameters (header byte 16).
enum class ScalarType : std::uint8_t { float32 = 1, float64 = 2 };
// What a file holds (header bytes 12-15).
enum class FileKind : std::uint32_t { model = 1, checkpoint = 2 };

template <typename T>
inline constexpr ScalarType scalar_type_of_v = std::is_same_v<T, float> ? ScalarType::float32 : ScalarType::float64;

inline std::string to_string(ScalarType t) {
  switch (t) {
    case ScalarType::float32: return "float32";
    case ScalarType::float64: return "float64";
  }
  return "unknown";
}
inline std::string to_string(FileKind k) {
  switch (k) {
    case FileKind::model: return "model";
    case FileKind::checkpoint: return "checkpoint";
  }
  return "unknown";
}

inline constexpr char kModelMagic[8] = {'\x89', 'P', 'L', 'E', 'X', 'U', 'S', '\n'};
inline constexpr std::uint32_t kModelFormatVersion = 2;  // what is written; 1 is still read
inline constexpr std::size_t kModelHeaderBytes = 32;
inline constexpr std::size_t kModelChecksumBytes = 8;
inline constexpr std::size_t kMaxModelFileBytes = std::size_t(1) << 36;  // 64 GiB: refuse anything larger unread

namespace detail {

// A file's content, checked and parsed, but not yet turned into objects.
// Spans point into the caller's bytes.
struct ParsedModelFile {
  std::string where;
  std::uint32_t version = 0;
  FileKind kind = FileKind::model;
  ScalarType scalar = ScalarType::float32;
  std::uint64_t file_bytes = 0;
  std::map<std::string, std::string> metadata;
  Index input_width = 0;
  LayerSpec architecture;
  SpecSummary summary;
  std::uint64_t parameter_count = 0, buffer_count = 0;
  const std::uint8_t* parameters = nullptr;
  const std::uint8_t* buffers = nullptr;
  // Checkpoints.
  struct State {
    std::string name;
    std::uint64_t count = 0;
    const std::uint8_t* data = nullptr;
  };
  std::string optimizer;
  std::int64_t optimizer_steps = 0;
  double learning_rate = 0.0;
  std::vector<State> optimizer_state;
  std::int64_t step = 0, samples = 0;
  std::vector<std::uint64_t> generator;
};

inline std::size_t scalar_bytes(ScalarType t) { return t == ScalarType::float32 ? 4 : 8; }

// Checks the architecture as the file's scalar type builds it; for version
// 1, also that each node's recorded input width is the width it receives.
template <typename T>
SpecSummary check_file_architecture(const ParsedModelFile& f, const std::vector<long long>& v1_widths) {
  detail::require_sequential_root<T>(f.architecture);
  SpecSummary sum;
  const std::unique_ptr<Layer<T>> root = built_from_spec<T>(f.architecture, f.input_width, sum);
  if (f.version == 1) {
    std::size_t at = 0;
    std::function<void(const Layer<T>&)> visit = [&](const Layer<T>& l) {
      const long long recorded = v1_widths.at(at++);
      if (recorded != l.input_width())
        throw value_error(concat("layer spec: ", l.label(), " records input width ", recorded, " but receives ",
                                 l.input_width(), " columns"));
      for (std::size_t i = 0; i < l.child_count(); ++i) visit(l.child(i));
    };
    visit(*root);
  }
  return sum;
}

inline std::string hex64(std::uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

inline std::map<std::string, std::string> read_string_map(ByteReader& r) {
  const std::size_t n = r.count(r.u32("the entry count"), 8, "the map");
  std::map<std::string, std::string> m;
  for (std::size_t i = 0; i < n; ++i) {
    std::string key = r.string("a key");
    std::string value = r.string("a value");
    if (!m.emplace(std::move(key), std::move(value)).second) r.fail("a key appears twice");
  }
  return m;
}

inline void write_string_map(ByteWriter& w, const std::map<std::string, std::string>& m, const char* what) {
  if (m.size() > 0xFFFFFFFFu) throw value_error(concat(what, " has too many entries"));
  w.put_u32(static_cast<std::uint32_t>(m.size()));
  for (const auto& [k, v] : m) {
    w.put_string(k, "a metadata key");
    w.put_string(v, "a metadata value");
  }
}

// Header with a zero payload length, patched by finish_container.
inline void start_container(ByteWriter& w, FileKind kind, ScalarType scalar) {
  w.put_raw(kModelMagic, 8);
  w.put_u32(kModelFormatVersion);
  w.put_u32(static_cast<std::uint32_t>(kind));
  w.put_u8(static_cast<std::uint8_t>(scalar));
  for (int i = 0; i < 7; ++i) w.put_u8(0);
  w.put_u64(0);
}

inline std::vector<std::uint8_t> finish_container(ByteWriter& w) {
  w.patch_u64(24, static_cast<std::uint64_t>(w.size() - kModelHeaderBytes));
  w.put_u64(crc64(w.bytes().data(), w.size()));
  return std::move(w.bytes());
}

// The sections every file starts with: metadata, architecture, parameters.
template <typename T>
void write_model_sections(ByteWriter& w, const Network<T>& net, const std::map<std::string, std::string>& metadata,
                          const char* who) {
  if (!net.built()) throw value_error(concat(who, ": the network is not built; call build(input_width) first"));
  // Refuse what the loader would refuse (e.g. a layer kind nobody
  // registered), so a file is never written that cannot be read back.
  const LayerSpec spec = net.layers().spec();
  try {
    const SpecSummary sum = check_network_spec<T>(spec, net.input_width());
    if (sum.parameter_count != net.parameter_count() || sum.buffer_count != net.buffer_count())
      throw value_error(concat("its spec rebuilds a network of ", sum.parameter_count, " parameters and ",
                               sum.buffer_count, " buffer values, not ", net.parameter_count(), " and ",
                               net.buffer_count(), " (a layer's write_settings or from_spec misses a setting)"));
  } catch (const error& e) {
    throw value_error(concat(who, ": this network cannot be stored in a file: ", e.what()));
  }
  write_string_map(w, metadata, "the metadata");
  w.put_u64(static_cast<std::uint64_t>(net.input_width()));
  write_spec_node(w, spec);
  const auto& p = net.parameters();
  w.put_u64(static_cast<std::uint64_t>(p.size()));
  w.put_raw(p.data(), static_cast<std::size_t>(p.size()) * sizeof(T));
  const auto& b = net.buffers();
  w.put_u64(static_cast<std::uint64_t>(b.size()));
  w.put_raw(b.data(), static_cast<std::size_t>(b.size()) * sizeof(T));
}

inline void require_scalar(const ParsedModelFile& f, ScalarType want, const char* asked_by) {
  if (f.scalar != want)
    throw io_error(concat(f.where, ": scalar type mismatch: the file holds ", to_string(f.scalar), " parameters but ",
                          asked_by, "<", want == ScalarType::float32 ? "float" : "double", "> asks for ",
                          to_string(want), " (peek_model tells the type; load it as ",
                          f.scalar == ScalarType::float32 ? "float" : "double", ")"));
}

// Checks the header, lengths and checksum, then (when `want` is given) that
// the scalar type is `want`, then parses every section. `asked_by` names
// the caller in a scalar type mismatch. (A template only as registry.hpp's
// lookups are: leave Kinds to its default.)
template <typename Kinds = BuiltinKinds<>>
ParsedModelFile parse_model_file(const std::uint8_t* bytes, std::size_t size, const std::string& where,
                                 const ScalarType* want = nullptr, const char* asked_by = "") {
  ParsedModelFile f;
  f.where = where;
  f.file_bytes = size;
  if (size == 0) throw io_error(concat(where, ": truncated: the file is empty (0 bytes)"));
  // Magic next, so that any other file is called what it is, not "truncated".
  if (std::memcmp(bytes, kModelMagic, size < 8 ? size : 8) != 0)
    throw io_error(concat(where, ": not a Plexus model file (wrong magic bytes at the start)"));
  if (size < kModelHeaderBytes)
    throw io_error(concat(where, ": truncated: the file is ", size, " bytes, shorter than the ", kModelHeaderBytes,
                          "-byte header"));
  ByteReader h(bytes, kModelHeaderBytes, where + ": bad header: ");
  h.take(8, "the magic");
  f.version = h.u32("the format version");
  if (f.version != 1 && f.version != 2)
    throw io_error(concat(where, ": unsupported format version ", f.version, " (this build of Plexus reads versions 1 ",
                          "and 2)"));
  const std::uint32_t kind = h.u32("the kind");
  if (kind != 1 && kind != 2)
    throw io_error(concat(where, ": unknown file kind ", kind, " (1 = model, 2 = checkpoint)"));
  f.kind = static_cast<FileKind>(kind);
  const std::uint8_t scalar = h.u8("the scalar type");
  if (scalar != 1 && scalar != 2)
    throw io_error(concat(where, ": unknown scalar type code ", int(scalar), " (1 = float32, 2 = float64)"));
  f.scalar = static_cast<ScalarType>(scalar);
  for (int i = 0; i < 7; ++i)
    if (h.u8("a reserved byte") != 0)
      throw io_error(concat(where, ": bad header: reserved byte ", 17 + i, " is not 0"));
  const std::uint64_t payload = h.u64("the payload length");
  const std::uint64_t room = size - kModelHeaderBytes;  // payload + checksum that are actually there
  if (payload > room || room - payload < kModelChecksumBytes)
    throw io_error(concat(where, ": truncated: the header announces a payload of ", payload, " bytes (plus ",
                          kModelHeaderBytes + kModelChecksumBytes,
                          " bytes of header and checksum) but the file is only ", size, " bytes"));
  const std::uint64_t expected = kModelHeaderBytes + payload + kModelChecksumBytes;
  if (size > expected)
    throw io_error(concat(where, ": trailing garbage: ", size - expected,
                          " bytes after the checksum (the header announces a payload of ", payload, " bytes, a ",
                          expected, "-byte file, but the file is ", size, " bytes)"));
  const std::size_t covered = static_cast<std::size_t>(kModelHeaderBytes + payload);
  std::uint64_t stored;
  std::memcpy(&stored, bytes + covered, 8);
  const std::uint64_t computed = crc64(bytes, covered);
  if (stored != computed)
    throw io_error(concat(where, ": checksum mismatch (stored CRC-64 ", hex64(stored), ", computed ", hex64(computed),
                          "): the file is damaged"));
  if (want) require_scalar(f, *want, asked_by);

  ByteReader r(bytes + kModelHeaderBytes, static_cast<std::size_t>(payload),
               where + ": malformed metadata: ", kModelHeaderBytes);
  f.metadata = read_string_map(r);

  r.set_prefix(where + ": malformed architecture: ");
  const std::uint64_t input_width = r.u64("the input width");
  if (input_width < 1 || input_width > static_cast<std::uint64_t>(kMaxLayerWidth))
    r.fail(concat("input width ", input_width, " is outside [1, ", kMaxLayerWidth, "]"));
  f.input_width = static_cast<Index>(input_width);
  std::vector<long long> v1_widths;
  if (f.version == 1) {
    V1Spec v1 = read_spec_node_v1(r);
    f.architecture = std::move(v1.spec);
    v1_widths = std::move(v1.widths);
  } else {
    f.architecture = read_spec_node(r, 0);
  }
  try {
    if (f.scalar == ScalarType::float32) f.summary = check_file_architecture<float>(f, v1_widths);
    else f.summary = check_file_architecture<double>(f, v1_widths);
  } catch (const value_error& e) {
    throw io_error(concat(where, ": malformed architecture: ", e.what()));
  }

  r.set_prefix(where + ": malformed parameters: ");
  const std::size_t item = scalar_bytes(f.scalar);
  f.parameter_count = r.u64("the parameter count");
  if (f.parameter_count != static_cast<std::uint64_t>(f.summary.parameter_count))
    throw io_error(concat(where, ": parameter count mismatch: the architecture has ", f.summary.parameter_count,
                          " parameters but the file stores ", f.parameter_count));
  f.parameters = r.take(r.count(f.parameter_count, item, "the parameter block") * item, "the parameters");
  if (f.version >= 2) {
    r.set_prefix(where + ": malformed buffers: ");
    f.buffer_count = r.u64("the buffer count");
    if (f.buffer_count != static_cast<std::uint64_t>(f.summary.buffer_count))
      throw io_error(concat(where, ": buffer count mismatch: the architecture has ", f.summary.buffer_count,
                            " buffer values but the file stores ", f.buffer_count));
    f.buffers = r.take(r.count(f.buffer_count, item, "the buffer block") * item, "the buffers");
  } else if (f.summary.buffer_count != 0) {
    throw io_error(concat(where, ": malformed architecture: a version-1 file cannot hold buffers"));
  }

  if (f.kind == FileKind::checkpoint) {
    r.set_prefix(where + ": malformed optimizer section: ");
    f.optimizer = r.string("the optimizer name", kMaxNameBytes);
    f.optimizer_steps = r.i64("the step count");
    if (f.optimizer_steps < 0) r.fail(concat("negative step count ", f.optimizer_steps));
    f.learning_rate = r.f64("the learning rate");
    if (!std::isfinite(f.learning_rate) || f.learning_rate < 0.0)
      r.fail(concat("the learning rate ", f.learning_rate, " is not finite and >= 0"));
    // Each state vector takes at least 12 bytes: its name's length and its count.
    const std::size_t n_state = r.count(r.u32("the state count"), 12, "the state list");
    f.optimizer_state.reserve(n_state);
    for (std::size_t i = 0; i < n_state; ++i) {
      ParsedModelFile::State s;
      s.name = r.string("a state name", kMaxNameBytes);
      for (const auto& other : f.optimizer_state)
        if (other.name == s.name) r.fail(concat("the state '", s.name, "' appears twice"));
      s.count = r.u64("a state length");
      s.data = r.take(r.count(s.count, item, "a state vector") * item, "a state vector");
      f.optimizer_state.push_back(std::move(s));
    }
    r.set_prefix(where + ": malformed training state: ");
    f.step = r.i64("the step");
    f.samples = r.i64("the sample count");
    const std::size_t words = r.count(r.u32("the generator word count"), 8, "the generator state");
    f.generator.resize(words);
    for (auto& g : f.generator) g = r.u64("a generator word");
  }
  if (r.left() != 0)
    throw io_error(concat(where, ": malformed payload: ", r.left(),
                          " unexpected bytes after the last section (at byte ", r.offset(), ")"));
  return f;
}

// parse_model_file for callers that need scalars of type T.
template <typename T>
ParsedModelFile parse_model_file_as(const std::uint8_t* bytes, std::size_t size, const std::string& where,
                                    const char* asked_by) {
  static constexpr ScalarType want = scalar_type_of_v<T>;
  return parse_model_file(bytes, size, where, &want, asked_by);
}

template <typename T>
void copy_scalars(Vector<T>& dst, const std::uint8_t* src, std::uint64_t count) {
  // The count was checked against dst's size by the caller.
  if (count != 0) std::memcpy(dst.data(), src, static_cast<std::size_t>(count) * sizeof(T));
}

template <typename T>
Network<T> build_network(const ParsedModelFile& f) {
  Network<T> net = network_from_spec<T>(f.architecture, f.input_width, static_cast<Index>(f.parameter_count));
  copy_scalars(net.parameters(), f.parameters, f.parameter_count);
  copy_scalars(net.buffers(), f.buffers, f.buffer_count);
  return net;
}

// Where the file's network and `net` differ, or empty.
template <typename T>
std::string architecture_difference(const ParsedModelFile& f, const Network<T>& net) {
  if (!net.built()) return "the given network is not built";
  if (net.input_width() != f.input_width)
    return concat("the file's network takes ", f.input_width, " inputs, the given one ", net.input_width());
  return spec_difference(f.architecture, net.layers().spec());
}

}  // namespace detail
}  // namespace plexus
