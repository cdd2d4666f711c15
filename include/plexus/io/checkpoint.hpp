// Training checkpoints: the model file container (kind 2) with the
// optimizer's state (name, steps, learning rate, every state vector) and the
// caller's training position appended, so a run can stop and resume with
// bit-identical results. docs/model_format.md gives the byte layout.
#pragma once

#include "../optim/optimizer.hpp"
#include "model_file.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace plexus {

// Where training stands, filled by the caller: whatever it needs to resume
// exactly (its step and sample counters, its generators' state words, e.g.
// Rng::state(), and free-form metadata).
struct TrainingState {
  std::int64_t step = 0;
  std::int64_t samples = 0;
  std::vector<std::uint64_t> generator;
  std::map<std::string, std::string> metadata;
};

// The bytes of a checkpoint of `net` (built) and `opt` (bound to it).
// `state.metadata` is stored as the file's metadata map, so load_model and
// peek_model show it too.
namespace detail {
template <typename T>
std::vector<std::uint8_t> encode_checkpoint_as(const Network<T>& net, Optimizer<T>& opt, const TrainingState& state,
                                               const char* who) {
  detail::ByteWriter w;
  std::size_t state_values = 0;
  const auto vectors = opt.state();
  for (const auto& [name, v] : vectors) state_values += static_cast<std::size_t>(v->size());
  w.bytes().reserve(kModelHeaderBytes + 1024 +
                    (static_cast<std::size_t>(net.parameter_count()) + state_values) * sizeof(T));
  detail::start_container(w, FileKind::checkpoint, scalar_type_of_v<T>);
  detail::write_model_sections(w, net, state.metadata, who);
  w.put_string(opt.name(), "the optimizer name");
  w.put_i64(opt.steps());
  w.put_f64(opt.learning_rate());
  w.put_u32(static_cast<std::uint32_t>(vectors.size()));
  for (const auto& [name, v] : vectors) {
    w.put_string(name, "an optimizer state name");
    w.put_u64(static_cast<std::uint64_t>(v->size()));
    w.put_raw(v->data(), static_cast<std::size_t>(v->size()) * sizeof(T));
  }
  w.put_i64(state.step);
  w.put_i64(state.samples);
  if (state.generator.size() > 0xFFFFFFFFu) throw value_error(concat(who, ": too many generator state words"));
  w.put_u32(static_cast<std::uint32_t>(state.generator.size()));
  for (auto g : state.generator) w.put_u64(g);
  return detail::finish_container(w);
}
}  // namespace detail

template <typename T>
std::vector<std::uint8_t> encode_checkpoint(const Network<T>& net, Optimizer<T>& opt, const TrainingState& state) {
  return detail::encode_checkpoint_as(net, opt, state, "encode_checkpoint");
}

// Restores a checkpoint held in memory into `net` and `opt`, and its
// training position into `out`. Requires `net` to have exactly the file's
// architecture and `opt` to be the same optimizer (name, state vectors and
// their sizes); `opt` must be the optimizer bound to `net`. Nothing is
// changed unless everything matches.
namespace detail {
template <typename T>
void decode_checkpoint_as(const std::uint8_t* bytes, std::size_t size, const std::string& where, Network<T>& net,
                          Optimizer<T>& opt, TrainingState& out, const char* who) {
  const auto f = detail::parse_model_file_as<T>(bytes, size, where, who);
  if (f.kind != FileKind::checkpoint)
    throw io_error(detail::concat(where,
                                  ": is a model file, not a checkpoint (it holds no optimizer state); load it "
                                  "with load_model"));
  const std::string diff = detail::architecture_difference(f, net);
  if (!diff.empty())
    throw io_error(
        detail::concat(where, ": architecture mismatch: the checkpoint's network differs from the given one: ", diff));
  if (f.optimizer != opt.name())
    throw io_error(detail::concat(where, ": optimizer mismatch: the checkpoint holds ", f.optimizer,
                                  " state but the given optimizer is ", opt.name()));
  const auto vectors = opt.state();
  if (vectors.size() != f.optimizer_state.size())
    throw io_error(detail::concat(where, ": optimizer mismatch: the checkpoint holds ", f.optimizer_state.size(),
                                  " state vectors for ", f.optimizer, ", the given optimizer has ", vectors.size()));
  std::vector<const detail::ParsedModelFile::State*> source(vectors.size(), nullptr);
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const auto& [name, v] = vectors[i];
    for (const auto& s : f.optimizer_state)
      if (s.name == name) source[i] = &s;
    if (!source[i])
      throw io_error(detail::concat(where, ": optimizer mismatch: the checkpoint has no state vector '", name, "' for ",
                                    opt.name()));
    if (source[i]->count != static_cast<std::uint64_t>(v->size()))
      throw io_error(detail::concat(where, ": optimizer mismatch: state vector '", name, "' has ", source[i]->count,
                                    " values in the checkpoint but ", v->size(), " in the given optimizer"));
  }
  // Everything matches: now change things.
  detail::copy_scalars(net.parameters(), f.parameters, f.parameter_count);
  detail::copy_scalars(net.buffers(), f.buffers, f.buffer_count);
  for (std::size_t i = 0; i < vectors.size(); ++i)
    detail::copy_scalars(*vectors[i].second, source[i]->data, source[i]->count);
  opt.set_steps(f.optimizer_steps);
  opt.set_learning_rate(f.learning_rate);
  out.step = f.step;
  out.samples = f.samples;
  out.generator = f.generator;
  out.metadata = f.metadata;
}
}  // namespace detail

template <typename T>
void decode_checkpoint(const std::uint8_t* bytes, std::size_t size, const std::string& where, Network<T>& net,
                       Optimizer<T>& opt, TrainingState& out) {
  detail::decode_checkpoint_as(bytes, size, where, net, opt, out, "decode_checkpoint");
}

// Saves a checkpoint atomically (see encode_checkpoint).
template <typename T>
void save_checkpoint(const std::string& path, const Network<T>& net, Optimizer<T>& opt, const TrainingState& state) {
  write_file_atomic(path, detail::encode_checkpoint_as(net, opt, state, "save_checkpoint"));
}

// Restores the checkpoint at `path` (see decode_checkpoint).
template <typename T>
void load_checkpoint(const std::string& path, Network<T>& net, Optimizer<T>& opt, TrainingState& out) {
  const auto bytes = read_file(path, kMaxModelFileBytes);
  detail::decode_checkpoint_as(bytes.data(), bytes.size(), "'" + path + "'", net, opt, out, "load_checkpoint");
}

// The network of a checkpoint alone (to use it as a model), and optionally
// its training position. load_model accepts checkpoints as well.
template <typename T>
Network<T> load_checkpoint_model(const std::string& path, TrainingState* state = nullptr) {
  const auto bytes = read_file(path, kMaxModelFileBytes);
  const auto f = detail::parse_model_file_as<T>(bytes.data(), bytes.size(), "'" + path + "'", "load_checkpoint_model");
  if (f.kind != FileKind::checkpoint)
    throw io_error(detail::concat(f.where, ": is a model file, not a checkpoint; load it with load_model"));
  Network<T> net = detail::build_network<T>(f);
  if (state) {
    state->step = f.step;
    state->samples = f.samples;
    state->generator = f.generator;
    state->metadata = f.metadata;
  }
  return net;
}

}  // namespace plexus
