// The training commands' flags and defaults: one table of flags (name,
// value, help, how it is read, which default --help shows), one list of flag
// names per command. The parser accepts exactly a command's list and --help
// prints exactly it; see resume.cpp for --resume and checkpoint metadata.
#include "config.hpp"

#include "model_io.hpp"

#include <cstdio>
#include <functional>

namespace mi {

const char* precision_name(Precision p) {
  switch (p) {
#define MI_PRECISION_NAME(name, type, help) \
  case Precision::name: return #name;
    MI_PRECISIONS(MI_PRECISION_NAME)
#undef MI_PRECISION_NAME
  }
  return "?";
}

bool precision_from_name(const std::string& s, Precision& p) {
#define MI_PRECISION_PARSE(name, type, help) \
  if (s == #name) {                          \
    p = Precision::name;                     \
    return true;                             \
  }
  MI_PRECISIONS(MI_PRECISION_PARSE)
#undef MI_PRECISION_PARSE
  return false;
}

bool activation_from_name(const std::string& s, plexus::ActivationFunction& f) {
  for (plexus::Activation a : {plexus::Activation::relu, plexus::Activation::silu, plexus::Activation::gelu})
    if (s == plexus::to_string(a)) {
      f = a;
      return true;
    }
  return false;
}

bool gate_from_name(const std::string& s, Arch& a) {
  if (s == "none") {
    a.gated = false;
    return true;
  }
  for (plexus::Activation g : {plexus::Activation::sigmoid, plexus::Activation::identity, plexus::Activation::relu,
                               plexus::Activation::silu, plexus::Activation::gelu})
    if (s == plexus::to_string(g)) {
      a.gated = true, a.gate = g;
      return true;
    }
  return false;
}

std::string gate_name(const Arch& a) { return a.gated ? plexus::to_string(a.gate.kind()) : "none"; }

void prepare_resume(const Args& a, Config& c);  // resume.cpp

namespace {

// One flag of the training commands. `shown` gives the default --help
// prints for a command's defaults ("" for none).
struct TrainingFlag {
  std::string name, value, help;
  bool with_resume;  // may accompany --resume: where output goes, threads, budget
  std::function<void(const Args&, Config&)> read;
  std::function<std::string(const Config&)> shown;
};

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// --flag VALUE, one of `allowed`: set(VALUE).
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

std::string precision_choices(const char* sep) {
  std::string s;
#define MI_PRECISION_LIST(name, type, help) s += (s.empty() ? "" : sep) + std::string(#name);
  MI_PRECISIONS(MI_PRECISION_LIST)
#undef MI_PRECISION_LIST
  return s;
}

std::string precision_help() {
  std::string s;
#define MI_PRECISION_HELP(name, type, help) s += (s.empty() ? "" : "; ") + std::string(#name) + ": " + help;
  MI_PRECISIONS(MI_PRECISION_HELP)
#undef MI_PRECISION_HELP
  return "scalar type of the network and its training (" + s +
         "; auto: bf16 where the CPU has bf16 instructions, else f32)";
}

const std::vector<TrainingFlag>& all_flags() {
  using A = const Args&;
  using C = const Config&;
  static const std::vector<TrainingFlag> flags = {
      {"model", "FILE", "write the trained model here", true, [](A a, Config& c) { c.model = a.str("model", c.model); },
       nullptr},
      {"out", "DIR",
       "write the run's curve.csv (a line at every evaluation), curve.svg and scatter.svg here, also on Ctrl-C", true,
       [](A a, Config& c) { c.out = a.str("out", c.out); }, nullptr},
      {"size", "N", "the matrices are N x N, N from 2 to 8; the model records it", false,
       [](A a, Config& c) { c.size = static_cast<int>(a.integer("size", c.size, kMinSize, kMaxSize)); },
       [](C c) { return std::to_string(c.size); }},
      {"range", "LO HI", "draw each entry uniformly from [LO, HI)", false,
       [](A a, Config& c) { read_range_flag(a, c.dist); },
       [](C c) { return "[" + number(c.dist.lo) + ", " + number(c.dist.hi) + ")"; }},
      {"det", "D|none",
       "rescale row 0 of each matrix so that its determinant is D, as the question's generator does; none: no "
       "rescaling",
       false, [](A a, Config& c) { read_det_flag(a, c.dist); },
       [](C c) { return c.dist.has_det ? number(c.dist.det) : std::string("none"); }},
      {"min-det", "T", "keep only the matrices with |det| > T, the answer's filter; 0: every matrix", false,
       [](A a, Config& c) { read_min_det_flag(a, c.dist); }, [](C c) { return number(c.dist.min_det); }},
      {"seed", "K", "random seed", false,
       [](A a, Config& c) {
         c.seed = static_cast<std::uint64_t>(a.integer("seed", static_cast<std::int64_t>(c.seed), 0, (1LL << 53)));
       },
       [](C c) { return std::to_string(c.seed); }},
      {"threads", "T", "threads; results do not depend on it", true,
       [](A a, Config& c) { c.threads = static_cast<int>(a.integer("threads", c.threads, 1, 1024)); },
       [](C c) { return c.threads ? std::to_string(c.threads) : std::string("all cores"); }},
      {"samples", "N", "stop after N training samples", true,
       [](A a, Config& c) {
         c.samples =
             static_cast<std::uint64_t>(a.integer("samples", static_cast<std::int64_t>(c.samples), 1, (1LL << 53)));
       },
       [](C c) { return c.samples ? std::to_string(c.samples) : std::string("none"); }},
      {"seconds", "S", "stop after S seconds of training", true,
       [](A a, Config& c) { c.seconds = a.real("seconds", c.seconds, 1e-3, 1e8); },
       [](C c) { return c.seconds > 0 ? number(c.seconds) : std::string("none"); }},
      {"epochs", "E", "passes over the training matrices", false,
       [](A a, Config& c) { c.epochs = static_cast<int>(a.integer("epochs", c.epochs, 1, 1000000)); },
       [](C c) { return std::to_string(c.epochs); }},
      {"dataset", "N", "matrices generated; the last 33% are held out for validation", false,
       [](A a, Config& c) { c.dataset = a.integer("dataset", c.dataset, 3, 100000000); },
       [](C c) { return std::to_string(c.dataset); }},
      {"batch", "B", "samples per step", false,
       [](A a, Config& c) { c.batch = a.integer("batch", c.batch, 1, 1 << 20); },
       [](C c) { return std::to_string(c.batch); }},
      {"micro-batch", "M",
       "cut each batch into parts of at most M rows, one per thread at a time (0: never); results depend on it, "
       "not on --threads",
       false, [](A a, Config& c) { c.micro_batch = a.integer("micro-batch", c.micro_batch, 0, 1 << 20); },
       [](C c) { return std::to_string(c.micro_batch); }},
      {"lr", "X", "learning rate", false, [](A a, Config& c) { c.lr = a.real("lr", c.lr, 0.0, 10.0); },
       [](C c) { return number(c.lr); }},
      {"schedule", "cosine|constant", "learning rate over the budget: cosine decay from --lr to --lr-min, or constant",
       false,
       [](A a, Config& c) {
         choice(a, "schedule", {"cosine", "constant"}, [&](const std::string& v) { c.cosine = v == "cosine"; });
       },
       [](C c) { return std::string(c.cosine ? "cosine" : "constant"); }},
      {"warmup", "F", "linear warm-up over the first fraction F of the budget", false,
       [](A a, Config& c) { c.warmup = a.real("warmup", c.warmup, 0.0, 0.9); }, [](C c) { return number(c.warmup); }},
      {"lr-min", "X", "final learning rate of the cosine schedule", false,
       [](A a, Config& c) { c.lr_min = a.real("lr-min", c.lr_min, 0.0, 10.0); }, [](C c) { return number(c.lr_min); }},
      {"optimizer", "adam|sgd", "Adam, or SGD with momentum --momentum", false,
       [](A a, Config& c) {
         choice(a, "optimizer", {"adam", "sgd"}, [&](const std::string& v) { c.sgd = v == "sgd"; });
       },
       [](C c) { return std::string(c.sgd ? "sgd" : "adam"); }},
      {"momentum", "M", "momentum of --optimizer sgd", false,
       [](A a, Config& c) { c.momentum = a.real("momentum", c.momentum, 0.0, 0.999); },
       [](C c) { return number(c.momentum); }},
      {"loss", "mse|residual", "MSE on the scaled inverse, or the residual loss mean ||A X - I||_F^p", false,
       [](A a, Config& c) {
         choice(a, "loss", {"mse", "residual"},
                [&](const std::string& v) { c.loss = v == "mse" ? LossKind::mse : LossKind::residual; });
       },
       [](C c) { return std::string(c.loss == LossKind::mse ? "mse" : "residual"); }},
      {"loss-power", "P", "p of the residual loss, in [0, 2]; 0 means mean log ||A X - I||_F", false,
       [](A a, Config& c) { c.loss_power = a.real("loss-power", c.loss_power, 0.0, 2.0); },
       [](C c) { return number(c.loss_power); }},
      {"norm", "none|frobenius", "feed A, or A/||A||_F (the prediction then rescaled by 1/||A||_F)", false,
       [](A a, Config& c) {
         choice(a, "norm", {"none", "frobenius"}, [&](const std::string& v) { c.conv.normalize = v == "frobenius"; });
       },
       [](C c) { return std::string(c.conv.normalize ? "frobenius" : "none"); }},
      {"canonical", "none|signs",
       "signs: train on and predict from each matrix's sign-canonical form (rows and columns flipped so that the "
       "first row and column are non-negative; the inverse flipped back exactly)",
       false,
       [](A a, Config& c) {
         choice(a, "canonical", {"none", "signs"},
                [&](const std::string& v) { c.conv.canonical_signs = v == "signs"; });
       },
       [](C c) { return std::string(c.conv.canonical_signs ? "signs" : "none"); }},
      {"width", "N", "concat-ResNet: units of the first Dense and of each block's output", false,
       [](A a, Config& c) { c.arch.width = static_cast<int>(a.integer("width", c.arch.width, 1, 1 << 16)); },
       [](C c) { return std::to_string(c.arch.width); }},
      {"growth", "N", "concat-ResNet: units of each Dense(relu) a block concatenates to its input", false,
       [](A a, Config& c) { c.arch.growth = static_cast<int>(a.integer("growth", c.arch.growth, 1, 1 << 16)); },
       [](C c) { return std::to_string(c.arch.growth); }},
      {"blocks", "N", "concat-ResNet: residual blocks", false,
       [](A a, Config& c) { c.arch.blocks = static_cast<int>(a.integer("blocks", c.arch.blocks, 0, 1000)); },
       [](C c) { return std::to_string(c.arch.blocks); }},
      {"layers", "N", "concat-ResNet: concatenated Dense layers per block", false,
       [](A a, Config& c) { c.arch.layers = static_cast<int>(a.integer("layers", c.arch.layers, 0, 1000)); },
       [](C c) { return std::to_string(c.arch.layers); }},
      {"activation", "relu|silu|gelu", "activation of the concat-ResNet's hidden Dense layers", false,
       [](A a, Config& c) {
         choice(a, "activation", {"relu", "silu", "gelu"},
                [&](const std::string& v) { activation_from_name(v, c.arch.activation); });
       },
       [](C c) { return plexus::to_string(c.arch.activation.kind()); }},
      {"gate", "none|sigmoid|identity|relu|silu|gelu",
       "gated growth layers: each Dense(growth) of a block becomes Dense(2 growth) -> GLU, a * gate(b); none: "
       "plain Dense(growth, --activation)",
       false,
       [](A a, Config& c) {
         choice(a, "gate", {"none", "sigmoid", "identity", "relu", "silu", "gelu"},
                [&](const std::string& v) { gate_from_name(v, c.arch); });
       },
       [](C c) { return gate_name(c.arch); }},
      {"ema", "DECAY",
       "evaluate and save an exponential moving average of the weights, updated after every step with decay "
       "min(DECAY, (1 + t) / (10 + t)) at step t; 0: off",
       false, [](A a, Config& c) { c.ema = a.real("ema", c.ema, 0.0, 0.99999); },
       [](C c) { return c.ema > 0 ? number(c.ema) : std::string("off"); }},
      {"clip-norm", "X",
       "clip the gradients' global L2 norm to X before each update (OnlineOptions::clip_norm); 0: never", false,
       [](A a, Config& c) { c.clip_norm = a.real("clip-norm", c.clip_norm, 0.0, 1e12); },
       [](C c) { return c.clip_norm > 0 ? number(c.clip_norm) : std::string("0"); }},
      {"loss-scale", "C",
       "c of the residual loss: each matrix adds (r^2 + c^2)^(p/2), or at p = 0 log(r^2 + c^2)/2, the Cauchy loss "
       "log(1 + r^2/c^2)/2 of scale c up to a constant",
       false, [](A a, Config& c) { c.loss_scale = a.real("loss-scale", c.loss_scale, 1e-12, 10.0); },
       [](C c) { return number(c.loss_scale); }},
      {"precision", precision_choices("|") + "|auto", precision_help(), false,
       [](A a, Config& c) {
         if (!a.has("precision")) return;
         c.precision_auto = a.str("precision") == "auto";
         if (!c.precision_auto && !precision_from_name(a.str("precision"), c.precision))
           throw usage_error(a.command() + ": --precision must be " + precision_choices(" or ") + " or auto, got '" +
                             a.str("precision") + "'");
       },
       [](C c) { return c.precision_auto ? std::string("auto") : std::string(precision_name(c.precision)); }},
      {"eval-every", "S", "seconds of training between held-out evaluations (curve.csv, the progress line)", true,
       [](A a, Config& c) { c.eval_every = a.real("eval-every", c.eval_every, 0.01, 1e7); },
       [](C c) { return c.eval_every > 0 ? number(c.eval_every) : std::string("a twentieth of --seconds, else 15"); }},
      {"eval-samples", "N",
       "held-out matrices of the final figures; the curve and the progress line use the first min(N, 2000)", true,
       [](A a, Config& c) { c.eval_samples = a.integer("eval-samples", c.eval_samples, 1, 10000000); },
       [](C c) { return std::to_string(c.eval_samples); }},
      {"checkpoint", "FILE", "write a checkpoint here every --checkpoint-every seconds, at the end and on Ctrl-C", true,
       [](A a, Config& c) { c.checkpoint = a.str("checkpoint", c.checkpoint); }, nullptr},
      {"checkpoint-every", "S", "seconds between checkpoints", true,
       [](A a, Config& c) { c.checkpoint_every = a.real("checkpoint-every", c.checkpoint_every, 0.01, 1e9); },
       [](C c) { return number(c.checkpoint_every); }},
      {"resume", "",
       "continue the run saved in --checkpoint FILE, with its settings; only the flags marked [resume] may be given "
       "with it (--samples/--seconds then replace the budget)",
       true, [](A a, Config& c) { c.resume = a.has("resume"); }, nullptr},
      {"log-every", "S", "seconds between progress lines when stderr is not a terminal", true,
       [](A a, Config& c) { c.log_every = a.real("log-every", c.log_every, 0.1, 1e6); },
       [](C c) { return number(c.log_every); }},
      {"help", "", "print this help", true, [](A, Config&) {}, nullptr},
  };
  return flags;
}

// Each training command's flags, in the order --help lists them.
std::vector<std::string> flag_names(const std::string& command) {
  std::vector<std::string> names = {"model",   "out",  "size",    "range",   "det",
                                    "min-det", "seed", "threads", "samples", "seconds"};
  const std::vector<std::string> model =
      command == "question" ? std::vector<std::string>{"epochs", "dataset", "batch", "lr", "precision"}
                            : std::vector<std::string>{
                                  "batch",     "micro-batch", "lr",        "schedule",   "warmup",     "lr-min",
                                  "optimizer", "momentum",    "loss",      "loss-power", "loss-scale", "norm",
                                  "canonical", "width",       "growth",    "blocks",     "layers",     "activation",
                                  "gate",      "ema",         "clip-norm", "precision",  "eval-every", "eval-samples"};
  names.insert(names.end(), model.begin(), model.end());
  for (const char* k : {"checkpoint", "checkpoint-every", "resume", "log-every", "help"}) names.push_back(k);
  return names;
}

std::vector<const TrainingFlag*> table_of(const std::string& command) {
  std::vector<const TrainingFlag*> out;
  for (const std::string& name : flag_names(command))
    for (const TrainingFlag& f : all_flags())
      if (f.name == name) out.push_back(&f);
  return out;
}

const char* intro_of(const std::string& command) {
  if (command == "question")
    return "Reproduces the question's setup, faithfully: Keras Dense(9, relu) -> Dense(9, relu) -> Dense(9), MSE, Adam "
           "(lr 1e-3, eps 1e-7), 10,000 matrices with entries in (0, 100) rescaled to det 1, targets their inverses, "
           "400 epochs of batch 100, last 33% held out. Prints the validation RMSE (the question reported one in the "
           "hundreds). With --size N: Dense(N^2, relu) -> Dense(N^2, relu) -> Dense(N^2) on N x N matrices of the "
           "same distribution.";
  if (command == "answer")
    return "Reproduces the answer's network and recipe, faithfully: flatten 9 -> Dense(128, relu); 7 blocks of 4 x "
           "concatenate([x, Dense(256, relu)(x)]) then x = skip + Dense(128, zeros)(x); Dense(9). 4.71M parameters, "
           "MSE on inverse/5, Adam lr 1e-5 constant, batch 1024, every sample fresh (entries in [-2, 2], |det| > "
           "0.1). It learns, slowly: the full recipe is about 5e9 samples (days). With --size N the network reads "
           "and writes N^2 columns; from N = 4 on its matrices are Charton's (entries in [-10, 10), no filter).";
  return "The improved recipe: a gated concat-ResNet (each growth layer Dense(2 x 32) -> a * relu(b) of its halves) "
         "on the sign-canonical form of A/||A||_F (rows and columns flipped so "
         "that the first row and column are non-negative; the inverse flipped back exactly) trained with the "
         "residual loss mean ||A X - I||_F^p, Adam with cosine decay over the budget, bf16 products where the CPU "
         "has bf16 instructions. Defaults finish in under 5 minutes on 2 cores. With --size N from 4 on, the "
         "defaults are those measured at 5x5: 10 blocks, a sigmoid gate, lr 2e-3 (1e-3 for a budget over 300 s, or "
         "over 20M samples without --seconds), batch 256 in parts of 128, "
         "Charton's distribution (entries in [-10, 10), no filter) and 256 views at predict.";
}

const char* budget_of(const std::string& command) {
  if (command == "question") return " The run also ends after --epochs epochs.";
  if (command == "answer")
    return " answer has no default budget (the answer's full recipe, about 5e9 samples, takes days): give --samples, "
           "--seconds or both.";
  return " train's default budget is --seconds 240 (4 minutes of training); --samples alone replaces it.";
}

}  // namespace

MatrixDistribution default_distribution_of(const std::string& command, int size) {
  return command == "question" ? MatrixDistribution(InverseDistribution::question) : default_distribution(size);
}

Config defaults_of(const std::string& command, int size) {
  Config c;
  c.recipe = command;
  c.size = size;
  c.dist = default_distribution_of(command, size);
  if (command == "question") {
    c.batch = 100;
    c.lr = 1e-3;
    c.adam_eps = 1e-7;  // Keras' default epsilon
  } else if (command == "answer") {
    c.lr = 1e-5;
    c.cosine = false;
    c.loss = LossKind::mse;
  } else if (command == "train") {
    // The improved recipe, chosen by measurement: see docs/matrix_inverse.md.
    c.seconds = 240;  // training time; with start-up and evaluation well under 5 minutes
    c.batch = 512;
    c.micro_batch = 256;  // two parts per batch: both cores of a 2-core machine busy without GEMM-level sync
    c.lr = 1e-3;
    c.cosine = true;
    c.loss = LossKind::residual;
    c.loss_power = 0.5;  // with the gated network: the share under 0.05 of p = 1, near the medians of p = 0.25
    c.conv.normalize = true;
    c.conv.canonical_signs = true;  // once: median r 0.0671 against 0.1130 at 1M samples (docs/matrix_inverse.md)
    c.precision_auto = true;        // bf16: 1.8x the samples per second of f32 here, as good per sample
    // Gated growth layers, Dense(2 x 32) -> GLU relu: the network once 0.0174 against 0.0400 for the plain
    // Dense(128, relu) ones in 240 s; narrower growth sees more samples (docs/matrix_inverse.md, G1-G10).
    c.arch = Arch{128, 32, 7, 4};
    c.arch.gated = true;
    c.arch.gate = plexus::Activation::relu;
    if (size >= 4) {
      // Measured at 5x5 on Charton's distribution (docs/matrix_inverse.md, runs E1-E17): the relu and silu
      // gates diverged (a NaN loss) where sigmoid trained; lr 2e-3 beat 1e-3 and matched 4e-3; batch 256 beat
      // 512 and 128; 10 blocks beat 7 (and 4); width 256, the loss power 1 and a weights' average did no
      // better in the same time. The views' default K is 256 (views.hpp).
      c.arch.blocks = 10;
      c.arch.gate = plexus::Activation::sigmoid;
      c.lr = 2e-3;
      c.batch = 256;
      c.micro_batch = 128;
    }
  } else {
    throw std::logic_error("defaults_of: '" + command + "' is not a training command");
  }
  return c;
}

std::vector<FlagSpec> flags_of(const std::string& command) {
  // The defaults at 3x3 and, where they differ, from 4x4 on (every larger N has those of 4).
  const Config d = defaults_of(command), d4 = defaults_of(command, 4);
  std::vector<FlagSpec> specs;
  for (const TrainingFlag* f : table_of(command)) {
    std::string help = f->help;
    std::string shown = f->shown ? f->shown(d) : "";
    if (f->shown && f->name != "size" && f->shown(d4) != shown) shown += " at N <= 3, " + f->shown(d4) + " from N = 4";
    if (!shown.empty()) help += " (default " + shown + ")";
    if (f->with_resume && f->name != "resume" && f->name != "help") help += " [resume]";
    specs.push_back({f->name, f->value, help});
  }
  return specs;
}

std::string help_of(const std::string& command) {
  const std::string budget =
      std::string(
          "Budget: --samples and --seconds both bound the run: training stops at whichever comes first; given "
          "alone, only that one applies.") +
      budget_of(command);
  return "usage: matrix_inverse " + command + " [flags]\n\n" + wrap(intro_of(command), 100) + "\n\n" +
         wrap(budget, 100) + "\n\nflags:\n" + flags_help(flags_of(command));
}

bool is_long_budget(const Config& c) {
  return c.seconds > kLongBudgetSeconds || (!(c.seconds > 0) && c.samples > kLongBudgetSamples);
}

bool parse_training_flags(const std::string& command, const std::vector<std::string>& argv, Config& c) {
  const Args a(command, argv, flags_of(command));
  if (a.has("help")) {
    std::fputs(help_of(command).c_str(), stdout);
    return false;
  }
  c = defaults_of(command, static_cast<int>(a.integer("size", 3, kMinSize, kMaxSize)));
  const std::vector<const TrainingFlag*> table = table_of(command);
  for (const TrainingFlag* f : table) f->read(a, c);
  try {
    c.dist.check();
  } catch (const plexus::value_error& e) {
    throw usage_error(command + ": --range/--det/--min-det: " + e.what());
  }
  if (a.has("checkpoint-every") && c.checkpoint.empty())
    throw usage_error(command + ": --checkpoint-every needs --checkpoint FILE");
  if (c.resume && c.checkpoint.empty()) throw usage_error(command + ": --resume needs --checkpoint FILE");
  if (c.resume)
    for (const TrainingFlag* f : table)
      if (!f->with_resume && a.has(f->name))
        throw usage_error(command + ": --" + f->name +
                          " cannot change a resumed run (its settings come from the "
                          "checkpoint); only output, thread and budget flags may be given with --resume");
  // The budget rule: both bound the run; one given alone replaces the default.
  if (a.has("samples") && !a.has("seconds")) c.seconds = 0;
  if (a.has("seconds") && !a.has("samples")) c.samples = 0;
  // From 4x4 on, train's lr 2e-3 is for budgets of minutes: with --seconds 1800 it diverged after 6 minutes
  // at 5x5 (docs/matrix_inverse.md, run L1), so a longer budget defaults to 1e-3.
  if (command == "train" && c.size >= 4 && !a.has("lr") && is_long_budget(c)) c.lr = 1e-3;
  if (c.precision_auto) {  // before --resume, which takes the checkpoint's resolved precision
    c.precision = command == "question" || plexus::bf16_emulated() ? Precision::f32 : Precision::bf16;
    c.precision_auto = false;
  }
  prepare_resume(a, c);
  if (command == "question" && c.precision == Precision::bf16)
    throw usage_error("question: --precision bf16 is for answer and train; question trains in f32 or f64");
  if (command != "question" && c.samples == 0 && !(c.seconds > 0))  // question's --epochs bound it
    throw usage_error(command +
                      ": no budget: give --samples N, --seconds S or both (the answer's full recipe, about "
                      "5e9 samples, takes days)");
  return true;
}

}  // namespace mi
