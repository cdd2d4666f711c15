// matrix_inverse: teaching a network to invert 3x3 matrices.
//
// Reproduces a well-known Q&A experiment with Plexus — the question's small
// MLP that fails, the answer's concat-ResNet that learns slowly — and trains
// an improved recipe that learns in minutes. See docs/matrix_inverse.md.
#include "args.hpp"
#include "model_io.hpp"
#include "recipes.hpp"
#include "report.hpp"

#include <plexus/plexus.hpp>
#ifdef PLEXUS_WITH_MPI
#include <plexus/mpi/data_parallel.hpp>
#endif

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace mi {
namespace {

using plexus::Index;

// ---------------------------------------------------------------- processes

// Under mpirun (built with PLEXUS_WITH_MPI), train and answer run
// data-parallel over the ranks (docs/distributed.md); rank 0 alone prints and
// writes. Otherwise there is one rank and MPI is not touched.
struct Ranks {
  int rank = 0, size = 1;
};
Ranks g_ranks;
bool root() { return g_ranks.rank == 0; }

#ifdef PLEXUS_WITH_MPI
plexus::mpi::Environment* g_mpi = nullptr;
bool g_error_shared = false;  // the error in flight was raised on rank 0 and thrown on every rank

// Whether an MPI launcher started this process (then MPI is initialized).
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

// f() on rank 0 alone (e.g. reading the checkpoint), its result or its error on every rank.
template <typename F>
std::string shared_on_root(F&& f) {
  try {
    return plexus::mpi::on_root(std::forward<F>(f));
  } catch (...) {
    g_error_shared = true;
    throw;
  }
}
#endif

// ---------------------------------------------------------------- settings

enum class LossKind { mse, residual };

struct Config {
  std::string recipe;  // question, answer, train
  std::string model, out, checkpoint;
  double checkpoint_every = 60;
  bool resume = false;
  std::uint64_t seed = 1;
  int threads = 0;
  std::uint64_t samples = 0;  // budget; 0 = none
  double seconds = 0;         // budget; 0 = none
  Index batch = 1024;
  Index micro_batch = 512;  // rows per part of a batch the threads share (StepOptions::micro_batch)
  double lr = 1e-3, lr_min = 0, warmup = 0;
  bool cosine = true;
  LossKind loss = LossKind::residual;
  double loss_power = 2.0;
  bool sgd = false;       // SGD with momentum instead of Adam
  double momentum = 0.9;
  Convention conv;
  Arch arch;
  bool f64 = false;
  double eval_every = 0;  // seconds between held-out evaluations; 0 = automatic
  double log_every = 30;
  // question only
  Index dataset = 10000;
  int epochs = 400;
  double adam_eps = 1e-8;
};

const char* kCommonHelp =
    "  --model FILE        where the trained model is written\n"
    "  --out DIR           write the run's curve.csv, curve.svg and scatter.svg here\n"
    "  --seed K            random seed (default 1)\n"
    "  --threads T         threads (default: all cores); results do not depend on it\n"
    "  --samples N         stop after N training samples\n"
    "  --seconds S         stop after S seconds of training\n"
    "  --batch B           samples per step\n"
    "  --micro-batch M     cut each batch into parts of at most M rows, one per thread at a time\n"
    "                      (default 512; 0: never); results depend on it, not on --threads\n"
    "  --lr X              learning rate\n"
    "  --checkpoint FILE   write a checkpoint here every --checkpoint-every seconds, at the end and on Ctrl-C\n"
    "  --checkpoint-every S  seconds between checkpoints (default 60)\n"
    "  --resume            continue the run saved in --checkpoint FILE (its settings; --samples/--seconds\n"
    "                      may extend the budget)\n"
    "  --log-every S       seconds between progress lines when stderr is not a terminal (default 30)\n";

const char* kArchHelp =
    "  --width N --growth N --blocks N --layers N   concat-ResNet shape (answer: 128 256 7 4)\n"
    "  --loss mse|residual  MSE on the scaled inverse, or mean ||A X - I||_F^p\n"
    "  --loss-power P      p of the residual loss, in [0, 2]; 0 means mean log ||A X - I||_F\n"
    "  --norm none|frobenius  feed A or A/||A||_F (prediction rescaled by 1/||A||_F)\n"
    "  --schedule cosine|constant   learning-rate schedule over the budget\n"
    "  --warmup F          linear warm-up over the first fraction F of the budget\n"
    "  --lr-min X          final learning rate of the cosine schedule\n"
    "  --eval-every S      seconds between held-out evaluations for the curve\n"
    "  --precision f32|f64 scalar type (default f32)\n"
    "  --optimizer adam|sgd  Adam (default) or SGD with --momentum M (default 0.9)\n";

// The improved recipe's defaults: what `train` (and the README's first
// command) runs. Chosen by measurement: see docs/matrix_inverse.md.
Config train_defaults() {
  Config c;
  c.recipe = "train";
  c.seconds = 240;  // training time; with start-up and evaluation well under 5 minutes
  c.batch = 512;
  c.micro_batch = 256;  // two parts per batch: both cores of a 2-core machine busy without GEMM-level sync
  c.lr = 1e-3;
  c.cosine = true;
  c.loss = LossKind::residual;
  c.loss_power = 0.25;  // ||R||^0.25 beat ||R||^2, ||R|| and ||R||^0.5 at 2.5M samples (docs/matrix_inverse.md)
  c.conv.normalize = true;
  c.arch = Arch{128, 128, 7, 4};
  return c;
}

// Flags that may accompany --resume: where things go and how it reports.
const char* kResumeFlags[] = {"model", "out", "threads", "samples", "seconds", "checkpoint", "checkpoint-every",
                              "resume", "log-every", "eval-every", "help"};

std::map<std::string, bool> training_flags() {
  return {{"model", true},      {"out", true},        {"seed", true},       {"threads", true},
          {"samples", true},    {"seconds", true},    {"batch", true},      {"lr", true},
          {"log-every", true},  {"checkpoint", true}, {"checkpoint-every", true},
          {"resume", false},    {"help", false}};
}
std::map<std::string, bool> online_flags() {
  auto f = training_flags();
  for (const char* k : {"width", "growth", "blocks", "layers", "loss", "norm", "schedule", "warmup", "lr-min",
                        "eval-every", "precision", "loss-power", "optimizer", "momentum", "micro-batch"})
    f[k] = true;
  return f;
}

// Flags that say where output goes: allowed with --resume too.
void read_outputs(const Args& a, Config& c) {
  c.model = a.str("model", c.model);
  c.out = a.str("out", c.out);
  c.threads = static_cast<int>(a.integer("threads", c.threads, 1, 1024));
  c.log_every = a.real("log-every", c.log_every, 0.1, 1e6);
  c.checkpoint = a.str("checkpoint", c.checkpoint);
  c.checkpoint_every = a.real("checkpoint-every", c.checkpoint_every, 0.01, 1e9);
  c.resume = a.has("resume");
  if (a.has("checkpoint-every") && c.checkpoint.empty())
    throw usage_error(a.command() + ": --checkpoint-every needs --checkpoint FILE");
  if (c.resume && c.checkpoint.empty()) throw usage_error(a.command() + ": --resume needs --checkpoint FILE");
  if (c.resume) {
    for (const auto& name : a.given()) {
      bool ok = false;
      for (const char* k : kResumeFlags) ok = ok || name == k;
      if (!ok && name != "eval-every")
        throw usage_error(a.command() + ": --" + name + " cannot change a resumed run (its settings come from the "
                          "checkpoint); only output, thread and budget flags may be given with --resume");
    }
  }
}

void read_budget(const Args& a, Config& c) {
  c.samples = static_cast<std::uint64_t>(a.integer("samples", static_cast<std::int64_t>(c.samples), 1, (1LL << 53)));
  c.seconds = a.real("seconds", c.seconds, 1e-3, 1e8);
}

void read_common(const Args& a, Config& c) {
  read_outputs(a, c);
  read_budget(a, c);
  c.seed = static_cast<std::uint64_t>(a.integer("seed", static_cast<std::int64_t>(c.seed), 0, (1LL << 53)));
  c.batch = a.integer("batch", c.batch, 1, 1 << 20);
  c.micro_batch = a.integer("micro-batch", c.micro_batch, 0, 1 << 20);
  c.lr = a.real("lr", c.lr, 0.0, 10.0);
}

template <typename F>
void choice(const Args& a, const std::string& flag, std::initializer_list<const char*> allowed, F&& set) {
  if (!a.has(flag)) return;
  const std::string v = a.str(flag);
  std::string list;
  for (const char* x : allowed) {
    if (v == x) {
      set(v);
      return;
    }
    list += (list.empty() ? "" : " or ") + std::string(x);
  }
  throw usage_error(a.command() + ": --" + flag + " must be " + list + ", got '" + v + "'");
}

void read_online(const Args& a, Config& c) {
  read_common(a, c);
  c.arch.width = static_cast<int>(a.integer("width", c.arch.width, 1, 1 << 16));
  c.arch.growth = static_cast<int>(a.integer("growth", c.arch.growth, 1, 1 << 16));
  c.arch.blocks = static_cast<int>(a.integer("blocks", c.arch.blocks, 0, 1000));
  c.arch.layers = static_cast<int>(a.integer("layers", c.arch.layers, 0, 1000));
  choice(a, "loss", {"mse", "residual"}, [&](const std::string& v) { c.loss = v == "mse" ? LossKind::mse : LossKind::residual; });
  choice(a, "norm", {"none", "frobenius"}, [&](const std::string& v) { c.conv.normalize = v == "frobenius"; });
  choice(a, "schedule", {"cosine", "constant"}, [&](const std::string& v) { c.cosine = v == "cosine"; });
  choice(a, "precision", {"f32", "f64"}, [&](const std::string& v) { c.f64 = v == "f64"; });
  choice(a, "optimizer", {"adam", "sgd"}, [&](const std::string& v) { c.sgd = v == "sgd"; });
  c.momentum = a.real("momentum", c.momentum, 0.0, 0.999);
  c.loss_power = a.real("loss-power", c.loss_power, 0.0, 2.0);
  c.warmup = a.real("warmup", c.warmup, 0.0, 0.9);
  c.lr_min = a.real("lr-min", c.lr_min, 0.0, 10.0);
  c.eval_every = a.real("eval-every", c.eval_every, 0.01, 1e7);
}

// The settings of a run, as stored in its checkpoints (so --resume needs none).
std::map<std::string, std::string> config_metadata(const Config& c) {
  return {{"run.recipe", c.recipe},
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
          {"run.width", std::to_string(c.arch.width)},
          {"run.growth", std::to_string(c.arch.growth)},
          {"run.blocks", std::to_string(c.arch.blocks)},
          {"run.layers", std::to_string(c.arch.layers)},
          {"run.precision", c.f64 ? "f64" : "f32"},
          {"run.optimizer", c.sgd ? "sgd" : "adam"},
          {"run.momentum", format_double(c.momentum)},
          {"run.dataset", std::to_string(c.dataset)},
          {"run.epochs", std::to_string(c.epochs)},
          {"run.adam_eps", format_double(c.adam_eps)}};
}

// Restores the settings saved by config_metadata; `given` are the flags of
// this invocation (the budget may be extended).
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
    throw usage_error(c.recipe + ": '" + path + "' is a checkpoint of '" + get("recipe") + "'; resume it with that command");
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
  c.arch = Arch{static_cast<int>(num("width")), static_cast<int>(num("growth")), static_cast<int>(num("blocks")),
                static_cast<int>(num("layers"))};
  c.f64 = get("precision") == "f64";
  c.sgd = get("optimizer") == "sgd";
  c.momentum = num("momentum");
  c.dataset = static_cast<Index>(num("dataset"));
  c.epochs = static_cast<int>(num("epochs"));
  c.adam_eps = num("adam_eps");
}

// On --resume: take the run's settings from the checkpoint, keeping this
// invocation's outputs and, when given, its budget.
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
  const Config outputs = c;
  config_from_metadata(unpack(metadata), c.checkpoint, c);
  if (a.has("samples")) c.samples = outputs.samples, c.seconds = a.has("seconds") ? outputs.seconds : 0;
  if (a.has("seconds")) c.seconds = outputs.seconds, c.samples = a.has("samples") ? outputs.samples : 0;
}

// ---------------------------------------------------------------- stopping

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

// Ctrl-C or SIGTERM ask the training loop to stop at the next step boundary
// (and write a checkpoint); a second one kills as usual.
struct StopSignals {
  StopSignals() {
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  static bool requested() {
    if (g_stop_signal) std::signal(g_stop_signal, SIG_DFL);
    return g_stop_signal != 0;
  }
};

// ---------------------------------------------------------------- reporting

void write_scatter(const std::string& dir, const std::string& title, const Eigen::MatrixXd& a,
                   const Eigen::MatrixXd& x, Index max_points = 2000) {
  std::vector<double> t, p;
  for (Index s = 0; s < std::min<Index>(a.rows(), max_points / 9 + 1); ++s) {
    Eigen::Matrix3d am;
    for (int i = 0; i < 9; ++i) am(i / 3, i % 3) = a(s, i);
    const Eigen::Matrix3d inv = am.inverse();
    for (int i = 0; i < 9; ++i) t.push_back(inv(i / 3, i % 3)), p.push_back(x(s, i));
  }
  std::vector<double> abs_t(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) abs_t[i] = std::abs(t[i]);
  const std::size_t q = abs_t.size() * 95 / 100;
  std::nth_element(abs_t.begin(), abs_t.begin() + static_cast<std::ptrdiff_t>(q), abs_t.end());
  const double clip = std::max(1e-9, 1.1 * abs_t[q]);
  write_text(dir + "/scatter.svg", scatter_svg(title, "true inverse entry", "predicted inverse entry", t, p, clip));
}

void write_online_report(const Config& c, const std::vector<CurveRow>& curve, const Eigen::MatrixXd& a,
                         const Eigen::MatrixXd& x) {
  std::filesystem::create_directories(c.out);
  write_text(c.out + "/curve.csv", curve_csv(curve));
  Series sr{"median r (held-out)", {}, {}, "#1f77b4"}, sl{"train loss", {}, {}, "#ff7f0e"};
  for (const auto& r : curve) {
    sr.x.push_back(static_cast<double>(r.samples)), sr.y.push_back(r.median_r);
    if (std::isfinite(r.train_loss)) sl.x.push_back(static_cast<double>(r.samples)), sl.y.push_back(r.train_loss);
  }
  write_text(c.out + "/curve.svg", line_plot_svg("matrix_inverse " + c.recipe + ": learning curve", "training samples",
                                                 "median r = ||A X - I||_F  /  loss", {sr, sl}, true, true));
  write_scatter(c.out, "matrix_inverse " + c.recipe + ": predicted vs true inverse entries", a, x);
  std::printf("curve and plots written to %s\n", c.out.c_str());
}

// ---------------------------------------------------------------- online training (answer, train)

ModelMeta online_model_meta(const Config& c, const Convention& conv, std::uint64_t samples) {
  ModelMeta meta;
  meta.recipe = c.recipe;
  meta.conv = conv;
  meta.distribution = mi::InverseDistribution::answer;
  meta.extra = {{"seed", std::to_string(c.seed)},
                {"samples", std::to_string(samples)},
                {"loss", c.loss == LossKind::mse ? "mse" : "residual"},
                {"loss_power", format_double(c.loss_power)},
                {"lr", format_double(c.lr)},
                {"batch", std::to_string(c.batch)},
                {"width", std::to_string(c.arch.width)},
                {"growth", std::to_string(c.arch.growth)},
                {"blocks", std::to_string(c.arch.blocks)},
                {"layers", std::to_string(c.arch.layers)}};
  return meta;
}

ModelMeta question_model_meta(const Config& c) {
  ModelMeta meta;
  meta.recipe = "question";
  meta.distribution = mi::InverseDistribution::question;
  meta.extra = {{"seed", std::to_string(c.seed)}, {"epochs", std::to_string(c.epochs)}};
  return meta;
}

template <typename T>
int run_online(const Config& c) {
  using namespace plexus;
  if (c.threads > 0) set_num_threads(c.threads);
#ifdef PLEXUS_WITH_MPI
  else if (g_mpi && g_mpi->node_size() > 1) set_num_threads(std::max(1, num_threads() / g_mpi->node_size()));
#endif
  auto net = concat_resnet<T>(c.arch);
  net.build(9, c.seed);
  const double target_scale = c.recipe == "answer" ? 0.2 : 1.0;  // the answer's targets are inverse / 5
  Convention conv = c.conv;
  conv.output_scale = 1.0 / target_scale;
  MatrixInverseSource<T> source(c.seed, {InverseDistribution::answer, conv.normalize, target_scale});
  MSE<T> mse;
  InverseResidualLoss<T> residual(3, conv.output_scale, c.loss_power);
  const Loss<T>& loss = c.loss == LossKind::mse ? static_cast<const Loss<T>&>(mse) : residual;
  std::unique_ptr<Optimizer<T>> optimizer;
  if (c.sgd) optimizer = std::make_unique<SGD<T>>(net, SGDOptions{c.lr, c.momentum});
  else optimizer = std::make_unique<Adam<T>>(net, AdamOptions{c.lr});
  Optimizer<T>& adam = *optimizer;
  OnlineOptions oo;
  oo.batch = c.batch, oo.micro_batch = c.micro_batch, oo.max_samples = c.samples, oo.max_seconds = c.seconds;
  oo.lr = c.lr, oo.cosine = c.cosine, oo.lr_min = c.lr_min, oo.warmup = c.warmup;
  oo.rank = g_ranks.rank, oo.ranks = g_ranks.size;  // each rank draws its rows of every global batch
  OnlineTrainer<T> trainer(net, loss, adam, source, oo);

  auto resume = [&] {
    TrainingState st;
    load_checkpoint(c.checkpoint, net, adam, st);
    if (st.generator.size() != 1 || st.generator[0] != static_cast<std::uint64_t>(st.samples))
      throw io_error("'" + c.checkpoint + "': the generator state does not match the sample count");
    double secs = 0;
    if (auto it = st.metadata.find("trained_seconds"); it != st.metadata.end()) secs = std::stod(it->second);
    trainer.restore(static_cast<std::uint64_t>(st.samples), st.step, secs);
    std::printf("resumed from %s at step %lld, %lld samples\n", c.checkpoint.c_str(), static_cast<long long>(st.step),
                static_cast<long long>(st.samples));
    return std::string();
  };
#ifdef PLEXUS_WITH_MPI
  // Rank 0 loads the checkpoint; its parameters, optimizer state and counters
  // are broadcast (at a fresh start too), so every replica starts equal.
  std::unique_ptr<plexus::mpi::DataParallel<T>> data_parallel;
  if (g_mpi) {
    if (c.resume) shared_on_root(resume);
    plexus::mpi::broadcast_state(net, adam);
    plexus::mpi::broadcast_counters(trainer);
    data_parallel = std::make_unique<plexus::mpi::DataParallel<T>>(trainer, net);
  } else
#endif
  if (c.resume) resume();
  auto write_checkpoint = [&] {
    TrainingState st;
    st.step = trainer.steps();
    st.samples = static_cast<std::int64_t>(trainer.samples());
    st.generator = {trainer.samples()};  // the source is counter based: its position is the sample count
    st.metadata = to_metadata(online_model_meta(c, conv, trainer.samples()));  // usable as a model too
    for (auto& kv : config_metadata(c)) st.metadata.insert(kv);
    st.metadata["trained_seconds"] = format_double(trainer.seconds());
    save_checkpoint(c.checkpoint, net, adam, st);
  };

  if (root()) {
    std::printf("%s: concat-ResNet width %d, growth %d, %d blocks of %d, %lld parameters; %s loss, input %s; "
                "%s lr %g (%s), batch %lld, %d threads%s\n",
                c.recipe.c_str(), c.arch.width, c.arch.growth, c.arch.blocks, c.arch.layers,
                static_cast<long long>(net.parameter_count()),
                c.loss == LossKind::mse ? "MSE" : c.loss_power == 2.0 ? "residual" : "residual^p",
                conv.normalize ? "A/||A||_F" : "A", adam.name().c_str(), c.lr, c.cosine ? "cosine" : "constant",
                static_cast<long long>(c.batch), num_threads(),
                g_ranks.size > 1 ? (" per rank, " + std::to_string(g_ranks.size) + " ranks (data-parallel)").c_str() : "");
    if (c.samples) std::printf("budget: %llu samples\n", static_cast<unsigned long long>(c.samples));
    if (c.seconds > 0) std::printf("budget: %.0f seconds of training\n", c.seconds);
    std::fflush(stdout);
  }

  const Eigen::MatrixXd eval_a = held_out_matrices(c.seed, 10000, InverseDistribution::answer);
  const Eigen::MatrixXd curve_a = eval_a.topRows(2000);
  Progress progress(c.log_every);
  std::vector<CurveRow> curve;
  const auto t0 = Clock::now();
  double loss_sum = 0, last_loss = 0;
  long long loss_count = 0;
  const double eval_every = c.eval_every > 0 ? c.eval_every : (c.seconds > 0 ? c.seconds / 20 : 15.0);
  double next_eval = trainer.seconds(), next_checkpoint = c.checkpoint_every;
  auto evaluate_curve = [&] {
    const auto m = inverse_metrics(curve_a, predict_inverse(net, conv, curve_a));
    CurveRow r;
    r.step = trainer.steps(), r.samples = static_cast<long long>(trainer.samples()), r.seconds = trainer.seconds();
    r.lr = adam.learning_rate();
    r.train_loss = loss_count ? loss_sum / static_cast<double>(loss_count) : std::nan("");
    r.median_r = m.median_r, r.share_005 = m.share_below_005, r.rmse_div5 = m.rmse_div5;
    curve.push_back(r);
    loss_sum = 0, loss_count = 0;
  };
  auto rate = [&] { return trainer.seconds() > 0 ? static_cast<double>(trainer.samples()) / trainer.seconds() : 0.0; };
  StopSignals signals;
  bool interrupted = false;
#ifdef PLEXUS_WITH_MPI
  // Test only: this rank dies (SIGKILL) before that step (tests/example/mpi_dead_rank.sh).
  const char* die_at = std::getenv("PLEXUS_TEST_DIE_AT_STEP");
  const long long die_step = die_at ? std::atoll(die_at) : -1;
#endif
  while (true) {
    bool stop = StopSignals::requested();
    double wall = seconds_since(t0);
#ifdef PLEXUS_WITH_MPI
    if (g_ranks.size > 1) {
      if (g_ranks.rank == 1 && trainer.steps() == die_step) {
        std::fprintf(stderr, "matrix_inverse: rank 1: PLEXUS_TEST_DIE_AT_STEP: dying at step %lld\n", die_step);
        std::fflush(stderr);
        std::raise(SIGKILL);
      }
      // Every rank takes the same decisions at the same step: stop when any
      // rank got a signal; budgets and checkpoints by rank 0's clocks.
      double clocks[2] = {trainer.seconds(), wall};
      stop = plexus::mpi::agree(stop, clocks, 2);
      trainer.restore(trainer.samples(), trainer.steps(), clocks[0]);
      wall = clocks[1];
    }
#endif
    if (trainer.done()) break;
    if (stop) {
      interrupted = true;
      break;
    }
    if (!c.checkpoint.empty() && wall >= next_checkpoint) {
      if (root()) write_checkpoint();
      next_checkpoint = wall + c.checkpoint_every;
    }
    if (root() && trainer.seconds() >= next_eval) {
      evaluate_curve();
      next_eval = trainer.seconds() + eval_every;
    }
    last_loss = trainer.step();
    loss_sum += last_loss, ++loss_count;
    if (root()) progress.update(c.recipe, static_cast<long long>(trainer.samples()), rate(), last_loss, trainer.progress());
  }
  if (root()) {
    progress.update(c.recipe, static_cast<long long>(trainer.samples()), rate(), last_loss, trainer.progress(), true);
    progress.finish();
    if (!c.checkpoint.empty()) write_checkpoint();
  }
  if (!root()) return interrupted ? 130 : 0;  // the other ranks stay quiet
  if (interrupted) {
    std::fprintf(stderr, "matrix_inverse: interrupted at step %lld (%llu samples)%s\n",
                 static_cast<long long>(trainer.steps()), static_cast<unsigned long long>(trainer.samples()),
                 c.checkpoint.empty() ? "" : ("; checkpoint written to " + c.checkpoint + ", continue with --resume").c_str());
    return 130;
  }
  evaluate_curve();
  const std::uint64_t samples = trainer.samples();
  std::printf("trained %llu samples in %lld steps: %.1f s in training steps (%.0f samples/s), %.1f s wall\n",
              static_cast<unsigned long long>(samples), static_cast<long long>(trainer.steps()), trainer.seconds(),
              rate(), seconds_since(t0));
#ifdef PLEXUS_WITH_MPI
  if (data_parallel && data_parallel->allreduce_steps() > 0)
    std::printf("data-parallel over %d ranks: %.1f s in gradient allreduces, %.2f ms per step (%.1f%% of training)\n",
                g_ranks.size, data_parallel->allreduce_seconds(),
                1e3 * data_parallel->allreduce_seconds() / static_cast<double>(data_parallel->allreduce_steps()),
                trainer.seconds() > 0 ? 100.0 * data_parallel->allreduce_seconds() / trainer.seconds() : 0.0);
#endif

  const Eigen::MatrixXd eval_x = predict_inverse(net, conv, eval_a);
  print_inverse_metrics("held-out", inverse_metrics(eval_a, eval_x));

  if (!c.model.empty()) {
    save_inverse_model(net, c.model, online_model_meta(c, conv, samples));
    std::printf("model written to %s\n", c.model.c_str());
  }
  if (!c.out.empty()) write_online_report(c, curve, eval_a, eval_x);
  return 0;
}

// ---------------------------------------------------------------- the question

template <typename T>
int run_question(const Config& c) {
  using namespace plexus;
  if (c.threads > 0) set_num_threads(c.threads);
  // 10,000 matrices with entries in (0, 100), det rescaled to 1; Keras'
  // validation_split = 0.33 holds out the last third, unshuffled.
  MatrixInverseSource<double> source(c.seed, {InverseDistribution::question, false, 1.0});
  Eigen::MatrixXd a(c.dataset, 9), inv(c.dataset, 9);
  source.fill(0, a, inv);
  const Index n_train = static_cast<Index>(static_cast<double>(c.dataset) * (1.0 - 0.33));
  const Index n_val = c.dataset - n_train;
  if (n_train < 1 || n_val < 1) throw usage_error("question: --dataset too small to split 67/33");
  const Matrix<T> xtr = a.topRows(n_train).cast<T>(), ytr = inv.topRows(n_train).cast<T>();
  const Matrix<T> xval = a.bottomRows(n_val).cast<T>(), yval = inv.bottomRows(n_val).cast<T>();

  auto net = question_net<T>();
  net.build(9, c.seed);
  Adam<T> adam(net, AdamOptions{c.lr, 0.9, 0.999, c.adam_eps});
  MSE<T> mse;
  std::vector<Index> order(static_cast<std::size_t>(n_train));
  std::iota(order.begin(), order.end(), Index(0));
  Rng shuffle_rng(mix64(c.seed, 0x5B0FF1E));
  std::uint64_t samples = 0;
  long long step = 0;
  int first_epoch = 1;
  if (c.resume) {
    TrainingState st;
    load_checkpoint(c.checkpoint, net, adam, st);
    if (st.generator.size() != 5) throw io_error("'" + c.checkpoint + "': not a question checkpoint (generator state)");
    shuffle_rng.set_state({st.generator[0], st.generator[1], st.generator[2], st.generator[3]});
    first_epoch = static_cast<int>(st.generator[4]) + 1;
    samples = static_cast<std::uint64_t>(st.samples);
    step = st.step;
    std::printf("resumed from %s after epoch %d\n", c.checkpoint.c_str(), first_epoch - 1);
  }
  auto write_checkpoint = [&](int epoch_done) {
    TrainingState st;
    st.step = step;
    st.samples = static_cast<std::int64_t>(samples);
    const auto& s = shuffle_rng.state();
    st.generator = {s[0], s[1], s[2], s[3], static_cast<std::uint64_t>(epoch_done)};
    st.metadata = to_metadata(question_model_meta(c));
    for (auto& kv : config_metadata(c)) st.metadata.insert(kv);
    save_checkpoint(c.checkpoint, net, adam, st);
  };
  std::printf("question: Dense(9, relu) -> Dense(9, relu) -> Dense(9), %lld parameters; MSE; Adam lr %g; "
              "%lld training / %lld validation matrices; %d epochs of batch %lld\n",
              static_cast<long long>(net.parameter_count()), c.lr, static_cast<long long>(n_train),
              static_cast<long long>(n_val), c.epochs, static_cast<long long>(c.batch));
  std::fflush(stdout);

  Matrix<T> xb(c.batch, 9), yb(c.batch, 9);
  std::vector<CurveRow> curve;
  Progress progress(c.log_every);
  const auto t0 = Clock::now();
  double next_checkpoint = c.checkpoint_every;
  double val_rmse = std::nan(""), train_rmse = std::nan("");
  bool stop = false, interrupted = false;
  StopSignals signals;
  for (int epoch = first_epoch; epoch <= c.epochs && !stop; ++epoch) {
    for (Index i = n_train - 1; i > 0; --i)  // Fisher-Yates, as Keras shuffles each epoch
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(shuffle_rng.next_u64() % static_cast<std::uint64_t>(i + 1))]);
    double se = 0;
    Index seen = 0;
    for (Index s0 = 0; s0 < n_train; s0 += c.batch) {
      const Index b = std::min(c.batch, n_train - s0);
      for (Index r = 0; r < b; ++r) {
        xb.row(r) = xtr.row(order[static_cast<std::size_t>(s0 + r)]);
        yb.row(r) = ytr.row(order[static_cast<std::size_t>(s0 + r)]);
      }
      se += train_step(net, mse, adam, xb.topRows(b), yb.topRows(b)) * static_cast<double>(b);
      samples += static_cast<std::uint64_t>(b);
      seen += b;
      ++step;
      if ((c.samples && samples >= c.samples) || (c.seconds > 0 && seconds_since(t0) >= c.seconds)) {
        stop = true;
        break;
      }
    }
    train_rmse = std::sqrt(se / static_cast<double>(seen));
    val_rmse = std::sqrt(mse.value(net.predict(xval), yval, xval));
    CurveRow r;
    r.step = step, r.samples = static_cast<long long>(samples), r.seconds = seconds_since(t0), r.lr = c.lr;
    r.train_loss = train_rmse * train_rmse, r.median_r = std::nan(""), r.share_005 = std::nan(""), r.rmse_div5 = val_rmse;
    curve.push_back(r);
    progress.update("question", static_cast<long long>(samples), static_cast<double>(samples) / seconds_since(t0),
                    train_rmse * train_rmse, static_cast<double>(epoch) / c.epochs);
    const bool last = epoch == c.epochs || stop;
    interrupted = StopSignals::requested();
    if (!c.checkpoint.empty() && !stop && (last || interrupted || seconds_since(t0) >= next_checkpoint)) {
      write_checkpoint(epoch);
      next_checkpoint = seconds_since(t0) + c.checkpoint_every;
    }
    if (interrupted) break;
  }
  progress.finish();
  if (interrupted) {
    std::fprintf(stderr, "matrix_inverse: interrupted after %lld steps%s\n", step,
                 c.checkpoint.empty() ? "" : ("; checkpoint written to " + c.checkpoint + ", continue with --resume").c_str());
    return 130;
  }
  std::printf("after %lld steps (%llu samples, %.1f s): training RMSE %.2f, validation RMSE %.2f\n", step,
              static_cast<unsigned long long>(samples), seconds_since(t0), train_rmse, val_rmse);
  const Eigen::MatrixXd aval = a.bottomRows(n_val);
  const Eigen::MatrixXd pred = predict_inverse(net, Convention{}, aval);
  print_inverse_metrics("validation", inverse_metrics(aval, pred));
  if (std::isfinite(val_rmse))
    std::printf("validation RMSE = %.1f  (the question reported an RMSE in the hundreds)\n", val_rmse);

  if (!c.model.empty()) {
    save_inverse_model(net, c.model, question_model_meta(c));
    std::printf("model written to %s\n", c.model.c_str());
  }
  if (!c.out.empty()) {
    std::filesystem::create_directories(c.out);
    std::string csv = "epoch,samples,seconds,lr,train_mse,val_rmse\n";
    char line[256];
    for (std::size_t e = 0; e < curve.size(); ++e) {
      std::snprintf(line, sizeof line, "%zu,%lld,%.3f,%.6g,%.6g,%.6g\n", e + static_cast<std::size_t>(first_epoch),
                    curve[e].samples, curve[e].seconds, curve[e].lr, curve[e].train_loss, curve[e].rmse_div5);
      csv += line;
    }
    write_text(c.out + "/curve.csv", csv);
    Series sv{"validation RMSE", {}, {}, "#1f77b4"}, st{"training RMSE", {}, {}, "#ff7f0e"};
    for (std::size_t e = 0; e < curve.size(); ++e) {
      const double ep = static_cast<double>(e + static_cast<std::size_t>(first_epoch));
      sv.x.push_back(ep), sv.y.push_back(curve[e].rmse_div5);
      st.x.push_back(ep), st.y.push_back(std::sqrt(curve[e].train_loss));
    }
    write_text(c.out + "/curve.svg", line_plot_svg("matrix_inverse question: RMSE per epoch", "epoch",
                                                   "RMSE of the inverse's entries", {sv, st}, false, true));
    write_scatter(c.out, "matrix_inverse question: predicted vs true inverse entries (validation)", aval, pred);
    std::printf("curve and plots written to %s\n", c.out.c_str());
  }
  return 0;
}

// ---------------------------------------------------------------- subcommands

int cmd_question(const std::vector<std::string>& argv) {
  auto flags = training_flags();
  flags["epochs"] = true;
  flags["dataset"] = true;
  flags["precision"] = true;
  Args a("question", argv, flags);
  if (a.has("help")) {
    std::printf("usage: matrix_inverse question [flags]\n\nThe question's setup, faithfully: Keras Dense(9, relu) -> "
                "Dense(9, relu) -> Dense(9), MSE, Adam (lr 1e-3, eps 1e-7), 10,000 matrices with entries in (0, 100) "
                "rescaled to det 1, targets their inverses, 400 epochs of batch 100, last 33%% held out. Prints the "
                "validation RMSE.\n\nflags:\n%s  --epochs E          epochs (default 400)\n"
                "  --dataset N         matrices generated (default 10000)\n  --precision f32|f64\n",
                kCommonHelp);
    return 0;
  }
  Config c;
  c.recipe = "question";
  c.batch = 100;
  c.lr = 1e-3;
  c.adam_eps = 1e-7;  // Keras' default epsilon
  read_common(a, c);
  c.epochs = static_cast<int>(a.integer("epochs", 400, 1, 1000000));
  c.dataset = a.integer("dataset", 10000, 3, 100000000);
  choice(a, "precision", {"f32", "f64"}, [&](const std::string& v) { c.f64 = v == "f64"; });
  prepare_resume(a, c);
  return c.f64 ? run_question<double>(c) : run_question<float>(c);
}

int cmd_answer(const std::vector<std::string>& argv) {
  Args a("answer", argv, online_flags());
  if (a.has("help")) {
    std::printf("usage: matrix_inverse answer [flags]\n\nThe answer's network and recipe, faithfully: flatten 9 -> "
                "Dense(128, relu); 7 blocks of 4 x concatenate([x, Dense(256, relu)(x)]) then x = skip + Dense(128, "
                "zeros)(x); Dense(9). 4.71M parameters, MSE on inverse/5, Adam lr 1e-5 constant, batch 1024, every "
                "sample fresh (entries in [-2, 2], |det| > 0.1). The full recipe is about 5e9 samples (days): the "
                "default budget; give a smaller one with --samples or --seconds.\n\nflags:\n%s%s",
                kCommonHelp, kArchHelp);
    return 0;
  }
  Config c;
  c.recipe = "answer";
  c.lr = 1e-5;
  c.cosine = false;
  c.loss = LossKind::mse;
  c.samples = 5000000000ULL;  // 5,000 rounds of about 1M samples
  read_online(a, c);
  if (a.has("seconds") && !a.has("samples")) c.samples = 0;
  prepare_resume(a, c);
  return c.f64 ? run_online<double>(c) : run_online<float>(c);
}

int cmd_train(const std::vector<std::string>& argv) {
  Args a("train", argv, online_flags());
  if (a.has("help")) {
    std::printf("usage: matrix_inverse train [flags]\n\nThe improved recipe: a concat-ResNet on A/||A||_F trained "
                "with the residual loss mean ||A X - I||_F^p, Adam with cosine decay. Defaults finish in under 5 "
                "minutes on 2 cores.\n\nflags:\n%s%s",
                kCommonHelp, kArchHelp);
    return 0;
  }
  Config c = train_defaults();
  read_online(a, c);
  if (a.has("samples") && !a.has("seconds")) c.seconds = 0;
  prepare_resume(a, c);
  return c.f64 ? run_online<double>(c) : run_online<float>(c);
}

const char* kUsage =
    "usage: matrix_inverse <command> [flags]   (matrix_inverse <command> --help for its flags)\n\n"
    "commands:\n"
    "  question   the question's small MLP on det-1 matrices: fails (validation RMSE in the hundreds)\n"
    "  answer     the answer's 4.71M-parameter concat-ResNet and recipe, with a budget\n"
    "  train      the improved recipe: learns in minutes\n"
    "  predict    --model FILE --input IN.npy --output OUT.npy: predicted inverses\n"
    "  evaluate   --model FILE [--input IN.npy]: median r, share r < 0.05, RMSE on inverse/5\n"
    "  export     --model FILE --npz OUT.npz: the Dense layers for NumPy / PyTorch\n";

int dispatch(int argc, char** argv) {
  if (argc < 2)
    throw usage_error("missing command (question, answer, train, predict, evaluate, export); see matrix_inverse --help");
  const std::string cmd = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (g_ranks.size > 1 && cmd != "train" && cmd != "answer")
    throw usage_error(cmd + " runs in one process; under mpirun only train and answer run (data-parallel)");
  if (cmd == "question") return cmd_question(rest);
  if (cmd == "answer") return cmd_answer(rest);
  if (cmd == "train") return cmd_train(rest);
  if (cmd == "predict") return cmd_predict(rest);
  if (cmd == "evaluate") return cmd_evaluate(rest);
  if (cmd == "export") return cmd_export(rest);
  throw usage_error("unknown command '" + cmd + "' (commands: question, answer, train, predict, evaluate, export)");
}

}  // namespace
}  // namespace mi

// Messages are one line: a multi-line what() is folded.
static std::string one_line(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return s;
}

int main(int argc, char** argv) {
#ifdef PLEXUS_WITH_MPI
  // Under mpirun: MPI for the whole run (finalized when main returns).
  std::unique_ptr<plexus::mpi::Environment> mpi;
  if (mi::launched_by_mpi()) {
    try {
      mpi = std::make_unique<plexus::mpi::Environment>(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "matrix_inverse: error: %s\n", one_line(e.what()).c_str());
      return 1;
    }
    mi::g_mpi = mpi.get();
    mi::g_ranks = {mpi->rank(), mpi->size()};
  }
#endif
  try {
    return mi::dispatch(argc, argv);
  } catch (const mi::usage_error& e) {  // every rank parses the same flags: rank 0 reports
    if (mi::root()) std::fprintf(stderr, "matrix_inverse: %s\n", one_line(e.what()).c_str());
    return 2;
  } catch (const std::exception& e) {
#ifdef PLEXUS_WITH_MPI
    // An error on every rank (a divergence: the reduced gradients are the same
    // everywhere; or rank 0's, shared): rank 0 reports it and all end
    // normally. An error on one rank alone ends the whole job.
    const bool everywhere = mi::g_error_shared || dynamic_cast<const plexus::divergence_error*>(&e);
    if (mpi && mpi->size() > 1 && !everywhere) {
      std::fprintf(stderr, "matrix_inverse: rank %d of %d: error: %s; stopping all ranks\n", mpi->rank(), mpi->size(),
                   one_line(e.what()).c_str());
      std::fflush(stderr);
      mpi->abort(1);
    }
    if (!mi::root()) return 1;
#endif
    std::fprintf(stderr, "matrix_inverse: error: %s\n", one_line(e.what()).c_str());
    return 1;
  }
}
