// The settings of a training run (question, answer, train): the Config
// struct, each command's defaults and flags — one table, from which both the
// parser and --help are made — and the round trip through a checkpoint's
// metadata that lets --resume continue a run without repeating its flags.
#pragma once

#include "args.hpp"
#include "recipes.hpp"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mi {

using plexus::Index;

enum class LossKind { mse, residual };

// The scalar types a run may train in, one line each: the --precision value
// (also the enumerator and what checkpoints record), the C++ type of the
// network, and its help. bf16 is a float network whose products take bf16
// operands (plexus::Precision::bf16; answer and train only).
#define MI_PRECISIONS(X)                                                         \
  X(f32, float, "32-bit floats")                                                 \
  X(f64, double, "64-bit doubles (slower)")                                      \
  X(bf16, float,                                                                 \
    "32-bit floats, the products' operands rounded to bf16 and summed in float " \
    "(emulated where the CPU has no bf16 instructions; answer and train)")

enum class Precision {
#define MI_PRECISION_ENUMERATOR(name, type, help) name,
  MI_PRECISIONS(MI_PRECISION_ENUMERATOR)
#undef MI_PRECISION_ENUMERATOR
};

const char* precision_name(Precision p);
// The activations --activation offers (relu, silu, gelu); false when s names none.
bool activation_from_name(const std::string& s, plexus::ActivationFunction& f);
// --gate: none, or the GLU gate's activation; false when s names none of them.
bool gate_from_name(const std::string& s, Arch& a);
std::string gate_name(const Arch& a);
// The products' arithmetic of a run in precision p.
inline plexus::Precision product_precision(Precision p) {
  return p == Precision::bf16 ? plexus::Precision::bf16 : plexus::Precision::native;
}
// False when s names no precision.
bool precision_from_name(const std::string& s, Precision& p);

// f(T()) with T the scalar type of p; returns what f returns.
template <typename F>
auto with_precision(Precision p, F&& f) {
  switch (p) {
#define MI_PRECISION_CASE(name, type, help) \
  case Precision::name: return f(type());
    MI_PRECISIONS(MI_PRECISION_CASE)
#undef MI_PRECISION_CASE
  }
  throw std::logic_error("with_precision: a precision without a type");
}

struct Config {
  std::string recipe;  // question, answer, train
  int size = 3;        // N: the matrices are N x N
  // The matrices drawn for training and the held-out figures: the command's
  // default for N (default_distribution_of) unless --range, --det or
  // --min-det change it.
  MatrixDistribution dist;
  std::string model, out, checkpoint;
  double checkpoint_every = 60;
  bool resume = false;
  std::uint64_t seed = 1;
  int threads = 0;            // 0 = all cores
  std::uint64_t samples = 0;  // budget; 0 = none
  double seconds = 0;         // budget; 0 = none
  Index batch = 1024;
  Index micro_batch = 512;  // rows per part of a batch the threads share (StepOptions::micro_batch)
  double lr = 1e-3, lr_min = 0, warmup = 0;
  bool cosine = true;
  LossKind loss = LossKind::residual;
  double loss_power = 2.0;
  double loss_scale = 1e-4;  // c of the residual loss: (r^2 + c^2)^(p/2), or log(r^2 + c^2)/2 (Cauchy) at p = 0
  double ema = 0;            // decay of the weights' moving average, per step; 0 = none
  double clip_norm = 0;      // the gradients' global norm clipped to this before each update; 0 = never
  bool sgd = false;          // SGD with momentum instead of Adam
  double momentum = 0.9;
  Convention conv;
  Arch arch;
  Precision precision = Precision::f32;
  // --precision auto (train's default): bf16 where the engine running has
  // bf16 instructions, else f32; resolved when the flags are parsed.
  bool precision_auto = false;
  double eval_every = 0;       // seconds between held-out evaluations; 0 = automatic
  Index eval_samples = 10000;  // held-out matrices of the final figures (the curve: the first 2,000 of them)
  double log_every = 30;
  // question only
  Index dataset = 10000;
  int epochs = 400;
  double adam_eps = 1e-8;
};

// The defaults of a training command (question, answer or train) for N x N
// matrices.
Config defaults_of(const std::string& command, int size = 3);

// The distribution a training command draws N x N matrices from by default:
// the question's for question; for answer and train the answer's at N <= 3,
// Charton's from N = 4 on.
MatrixDistribution default_distribution_of(const std::string& command, int size);

// The flags a training command accepts, in the order --help lists them,
// with the command's own defaults in their help.
std::vector<FlagSpec> flags_of(const std::string& command);

// A budget longer than train's default: over kLongBudgetSeconds of training,
// or without --seconds over kLongBudgetSamples samples (about 5 minutes of
// 5x5 training here). From 4x4 on, such a budget defaults to lr 1e-3.
constexpr double kLongBudgetSeconds = 300;
constexpr std::uint64_t kLongBudgetSamples = 20000000;
bool is_long_budget(const Config& c);

// A training command's --help.
std::string help_of(const std::string& command);

// Parses a training command's flags (after the command's name) into c,
// applying the budget rule and, with --resume, the checkpoint's settings.
// Returns false when --help was asked for (and printed).
bool parse_training_flags(const std::string& command, const std::vector<std::string>& argv, Config& c);

// The settings of a run as stored in its checkpoints ("run.*"), and back.
std::map<std::string, std::string> config_metadata(const Config& c);
void config_from_metadata(const std::map<std::string, std::string>& md, const std::string& path, Config& c);

}  // namespace mi
