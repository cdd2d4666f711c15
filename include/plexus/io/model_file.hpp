// Plexus model files: a versioned, checksummed binary container holding a
// network's architecture (its LayerSpec tree), its flat parameters and
// buffers, plus a string metadata map. Files are written in format version
// 2; version 1 (integer settings, no buffers) is still read.
// docs/model_format.md gives the byte layout; checkpoint.hpp stores
// training state in the same container.
#pragma once

#include "model_container.hpp"

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace plexus {

// What peek_model reports without building the network.
struct ModelInfo {
  std::uint32_t format_version = 0;
  FileKind kind = FileKind::model;
  ScalarType scalar = ScalarType::float32;
  std::uint64_t file_bytes = 0;
  std::map<std::string, std::string> metadata;
  LayerSpec architecture;  // the root Sequential
  Index input_width = 0, output_width = 0, parameter_count = 0, buffer_count = 0;
  // Checkpoints only: the optimizer's name and steps, and the training position.
  std::string optimizer;
  std::int64_t optimizer_steps = 0;
  std::int64_t step = 0, samples = 0;
  // Several lines for people: kind, types, sizes, architecture, metadata.
  std::string description;
};
namespace detail {

inline ModelInfo make_info(const ParsedModelFile& f) {
  ModelInfo m;
  m.format_version = f.version;
  m.kind = f.kind;
  m.scalar = f.scalar;
  m.file_bytes = f.file_bytes;
  m.metadata = f.metadata;
  m.architecture = f.architecture;
  m.input_width = f.input_width;
  m.output_width = f.summary.output_width;
  m.parameter_count = f.summary.parameter_count;
  m.buffer_count = f.summary.buffer_count;
  m.optimizer = f.optimizer;
  m.optimizer_steps = f.optimizer_steps;
  m.step = f.step;
  m.samples = f.samples;
  std::ostringstream d;
  d << "Plexus " << to_string(f.kind) << " file, format version " << f.version << ", " << to_string(f.scalar)
    << " parameters, " << f.file_bytes << " bytes\n";
  d << "input width " << m.input_width << ", output width " << m.output_width << ", " << m.parameter_count
    << " parameters";
  if (m.buffer_count) d << ", " << m.buffer_count << " buffer values";
  d << "\n";
  if (f.kind == FileKind::checkpoint) {
    d << "optimizer " << f.optimizer << " after " << f.optimizer_steps << " steps, learning rate " << f.learning_rate
      << "; training step " << f.step << ", " << f.samples << " samples\n";
  }
  d << "architecture:\n" << describe_spec(f.architecture);
  if (!f.metadata.empty()) {
    d << "metadata:\n";
    for (const auto& [k, v] : f.metadata) d << "  " << k << " = " << v << "\n";
  }
  m.description = d.str();
  return m;
}

}  // namespace detail

// ---- In memory (what the file functions and the fuzzers use) -------------

namespace detail {
template <typename T>
std::vector<std::uint8_t> encode_model_as(const Network<T>& net, const std::map<std::string, std::string>& metadata,
                                          const char* who) {
  ByteWriter w;
  w.bytes().reserve(kModelHeaderBytes + 256 +
                    static_cast<std::size_t>(net.parameter_count() + net.buffer_count()) * sizeof(T));
  start_container(w, FileKind::model, scalar_type_of_v<T>);
  write_model_sections(w, net, metadata, who);
  return finish_container(w);
}
template <typename T>
Network<T> decode_model_as(const std::uint8_t* bytes, std::size_t size, const std::string& where,
                           std::map<std::string, std::string>* metadata, const char* who) {
  const auto f = parse_model_file_as<T>(bytes, size, where, who);
  Network<T> net = build_network<T>(f);
  if (metadata) *metadata = f.metadata;
  return net;
}
}  // namespace detail

// The bytes of a model file for `net` (which must be built).
template <typename T>
std::vector<std::uint8_t> encode_model(const Network<T>& net, const std::map<std::string, std::string>& metadata = {}) {
  return detail::encode_model_as(net, metadata, "encode_model");
}

// Rebuilds the network stored in `bytes` (a model file or a checkpoint).
// `where` starts every error message (load_model passes the quoted path).
template <typename T>
Network<T> decode_model(const std::uint8_t* bytes, std::size_t size, const std::string& where = "<memory>",
                        std::map<std::string, std::string>* metadata = nullptr) {
  return detail::decode_model_as<T>(bytes, size, where, metadata, "decode_model");
}

// What `bytes` hold, fully checked, without building the network. (A
// template only as registry.hpp's lookups are: leave Kinds to its default.)
template <typename Kinds = detail::BuiltinKinds<>>
ModelInfo decode_model_info(const std::uint8_t* bytes, std::size_t size, const std::string& where = "<memory>") {
  return detail::make_info(detail::parse_model_file<Kinds>(bytes, size, where));
}

// ---- Files ---------------------------------------------------------------

// Saves `net` (built) and `metadata` to `path`, atomically: a crash leaves
// the old file or the new one, never a mix.
template <typename T>
void save_model(const Network<T>& net, const std::string& path,
                const std::map<std::string, std::string>& metadata = {}) {
  write_file_atomic(path, detail::encode_model_as(net, metadata, "save_model"));
}

// Loads a network saved by save_model. A checkpoint (save_checkpoint) is
// accepted too: its model part is loaded and its training state ignored.
// The file's scalar type must be T (see peek_model). Every refusal is an
// io_error whose message starts with the quoted path.
template <typename T>
Network<T> load_model(const std::string& path, std::map<std::string, std::string>* metadata = nullptr) {
  const auto bytes = read_file(path, kMaxModelFileBytes);
  return detail::decode_model_as<T>(bytes.data(), bytes.size(), "'" + path + "'", metadata, "load_model");
}

// Loads the parameters stored in `path` into an existing, built network of
// the same architecture (checked node by node; the message says where they
// differ). `net` is unchanged when anything is refused.
template <typename T>
void load_model_into(const std::string& path, Network<T>& net, std::map<std::string, std::string>* metadata = nullptr) {
  const auto bytes = read_file(path, kMaxModelFileBytes);
  const auto f = detail::parse_model_file_as<T>(bytes.data(), bytes.size(), "'" + path + "'", "load_model_into");
  const std::string diff = detail::architecture_difference(f, net);
  if (!diff.empty())
    throw io_error(
        detail::concat(f.where, ": shape mismatch: the file's architecture differs from the network's: ", diff));
  detail::copy_scalars(net.parameters(), f.parameters, f.parameter_count);
  detail::copy_scalars(net.buffers(), f.buffers, f.buffer_count);
  if (metadata) *metadata = f.metadata;
}

// Reads and checks a model file or checkpoint without building the network:
// its scalar type, metadata, architecture and a description. (A template
// only as registry.hpp's lookups are: leave Kinds to its default.)
template <typename Kinds = detail::BuiltinKinds<>>
ModelInfo peek_model(const std::string& path) {
  const auto bytes = read_file(path, kMaxModelFileBytes);
  return decode_model_info<Kinds>(bytes.data(), bytes.size(), "'" + path + "'");
}

}  // namespace plexus
