// --resume: a run's settings travel in its checkpoints' metadata ("run.*"),
// so continuing a run needs only --checkpoint FILE; this invocation keeps
// its output flags and, when given, its budget.
#include "config.hpp"

#include "model_io.hpp"
#include "ranks.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace mi {

std::map<std::string, std::string> config_metadata(const Config& c) {
  std::map<std::string, std::string> md = {{"run.recipe", c.recipe},
                                           {"run.size", std::to_string(c.size)},
                                           {"run.seed", std::to_string(c.seed)},
                                           {"run.samples", std::to_string(c.samples)},
                                           {"run.seconds", format_double(c.seconds)},
                                           {"run.batch", std::to_string(c.batch)},
                                           {"run.micro_batch", std::to_string(c.micro_batch)},
                                           {"run.lr", format_double(c.lr)},
                                           {"run.lr_min", format_double(c.lr_min)},
                                           {"run.warmup", format_double(c.warmup)},
                                           {"run.schedule", c.cosine ? "cosine" : "constant"},
                                           {"run.loss", c.loss == LossKind::mse ? "mse" : "residual"},
                                           {"run.loss_power", format_double(c.loss_power)},
                                           {"run.norm", c.conv.normalize ? "frobenius" : "none"},
                                           {"run.canonical", c.conv.canonical_signs ? "signs" : "none"},
                                           {"run.width", std::to_string(c.arch.width)},
                                           {"run.growth", std::to_string(c.arch.growth)},
                                           {"run.blocks", std::to_string(c.arch.blocks)},
                                           {"run.layers", std::to_string(c.arch.layers)},
                                           {"run.precision", precision_name(c.precision)},
                                           {"run.optimizer", c.sgd ? "sgd" : "adam"},
                                           {"run.momentum", format_double(c.momentum)},
                                           {"run.dataset", std::to_string(c.dataset)},
                                           {"run.epochs", std::to_string(c.epochs)},
                                           {"run.adam_eps", format_double(c.adam_eps)},
                                           {"run.activation", plexus::to_string(c.arch.activation.kind())},
                                           {"run.gate", gate_name(c.arch)},
                                           {"run.ema", format_double(c.ema)},
                                           {"run.clip_norm", format_double(c.clip_norm)},
                                           {"run.loss_scale", format_double(c.loss_scale)}};
  distribution_to_metadata(c.dist, "run.", md);
  return md;
}

void config_from_metadata(const std::map<std::string, std::string>& md, const std::string& path, Config& c) {
  auto get = [&](const std::string& k) {
    auto it = md.find("run." + k);
    if (it == md.end()) throw plexus::io_error("'" + path + "': not a matrix_inverse checkpoint (no run." + k + ")");
    return it->second;
  };
  auto num = [&](const std::string& k) {
    const std::string s = get(k);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !std::isfinite(v)) throw plexus::io_error("'" + path + "': bad run." + k + " '" + s + "'");
    return v;
  };
  if (get("recipe") != c.recipe)
    throw usage_error(c.recipe + ": '" + path + "' is a checkpoint of '" + get("recipe") +
                      "'; resume it with that command");
  // checkpoints from before other sizes and distributions: 3 x 3, the command's default
  c.size = md.count("run.size") ? static_cast<int>(num("size")) : 3;
  if (c.size < kMinSize || c.size > kMaxSize)
    throw plexus::io_error("'" + path + "': bad run.size '" + get("size") + "'");
  c.dist = distribution_from_metadata(md, "run.", path, default_distribution_of(c.recipe, c.size));
  c.seed = static_cast<std::uint64_t>(num("seed"));
  c.samples = static_cast<std::uint64_t>(num("samples"));
  c.seconds = num("seconds");
  c.batch = static_cast<Index>(num("batch"));
  // checkpoints from before micro-batches: those runs never cut a batch
  c.micro_batch = md.count("run.micro_batch") ? static_cast<Index>(num("micro_batch")) : 0;
  c.lr = num("lr"), c.lr_min = num("lr_min"), c.warmup = num("warmup");
  c.cosine = get("schedule") == "cosine";
  c.loss = get("loss") == "mse" ? LossKind::mse : LossKind::residual;
  c.loss_power = num("loss_power");
  c.conv.normalize = get("norm") == "frobenius";
  c.conv.canonical_signs = md.count("run.canonical") && get("canonical") == "signs";  // older: none
  c.arch = Arch{static_cast<int>(num("width")), static_cast<int>(num("growth")), static_cast<int>(num("blocks")),
                static_cast<int>(num("layers"))};
  if (!precision_from_name(get("precision"), c.precision))
    throw plexus::io_error("'" + path + "': unknown run.precision '" + get("precision") + "'");
  c.sgd = get("optimizer") == "sgd";
  c.momentum = num("momentum");
  c.dataset = static_cast<Index>(num("dataset"));
  c.epochs = static_cast<int>(num("epochs"));
  c.adam_eps = num("adam_eps");
  // checkpoints from before these settings: relu, no average, c = 1e-4
  if (md.count("run.activation") && !activation_from_name(get("activation"), c.arch.activation))
    throw plexus::io_error("'" + path + "': unknown run.activation '" + get("activation") + "'");
  if (md.count("run.gate") && !gate_from_name(get("gate"), c.arch))  // older: none
    throw plexus::io_error("'" + path + "': unknown run.gate '" + get("gate") + "'");
  c.ema = md.count("run.ema") ? num("ema") : 0.0;
  c.clip_norm = md.count("run.clip_norm") ? num("clip_norm") : 0.0;  // older checkpoints: no clipping
  c.loss_scale = md.count("run.loss_scale") ? num("loss_scale") : 1e-4;
}

namespace {

// The metadata as one string, for the broadcast from rank 0 (length-prefixed
// keys and values: any bytes survive).
std::string pack(const std::map<std::string, std::string>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += std::to_string(k.size()) + ":" + k + std::to_string(v.size()) + ":" + v;
  return s;
}
std::map<std::string, std::string> unpack(const std::string& s) {
  std::map<std::string, std::string> m;
  std::size_t at = 0;
  auto next = [&] {
    const std::size_t colon = s.find(':', at);
    const std::size_t n = std::stoull(s.substr(at, colon - at));
    std::string x = s.substr(colon + 1, n);
    at = colon + 1 + n;
    return x;
  };
  while (at < s.size()) {
    std::string k = next();
    m[k] = next();
  }
  return m;
}

}  // namespace

// On --resume: take the run's settings from the checkpoint, keeping this
// invocation's outputs and, when given, its budget (already under the
// budget rule).
void prepare_resume(const Args& a, Config& c) {
  if (!c.resume) return;
  auto read = [&c] {
    if (!std::filesystem::exists(c.checkpoint))
      throw usage_error(c.recipe + ": --resume: no checkpoint at '" + c.checkpoint + "'");
    const plexus::ModelInfo info = plexus::peek_model(c.checkpoint);
    if (info.kind != plexus::FileKind::checkpoint)
      throw usage_error(c.recipe + ": --resume: '" + c.checkpoint + "' is a model file, not a checkpoint");
    return pack(info.metadata);
  };
  std::string metadata;
#ifdef PLEXUS_WITH_MPI
  if (g_mpi) metadata = shared_on_root(read);  // only rank 0 needs to see the file
  else
#endif
    metadata = read();
  const Config given = c;
  config_from_metadata(unpack(metadata), c.checkpoint, c);
  if (a.has("samples") || a.has("seconds")) c.samples = given.samples, c.seconds = given.seconds;
}

}  // namespace mi
