// The settings of fit(): epochs, batches and shuffling, validation, the
// metrics, early stopping and best-model checkpoints, a learning-rate
// schedule, the training step's own options and what is printed.
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"
#include "../optim/schedule.hpp"
#include "step.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace plexus {

// A metric that fit reports at the end of every epoch, on the training and
// on the validation set: fn(prediction, target) over the whole set, the
// predictions from net.predict (inference mode), both as double matrices
// with one row per sample (the target as given to fit).
struct FitMetric {
  std::string name;
  std::function<double(const Matrix<double>& prediction, const Matrix<double>& target)> fn;
  // How early stopping and checkpoints read it when it is the monitored value.
  bool higher_is_better = true;
};

// Whether fit reports the accuracy ("accuracy", "val_accuracy"). automatic:
// when the loss is SoftmaxCrossEntropy or BinaryCrossEntropy. Outputs of
// several columns: the arg-max class against labels (one column of class
// indices) or one-hot rows, as plexus::accuracy. One output column: the
// fraction of elements on the right side of the threshold, 0 on the logits
// of BinaryCrossEntropy, 0.5 otherwise, against targets thresholded at 0.5.
enum class FitAccuracy { automatic, on, off };

// What fit prints to FitOptions::progress_stream (stderr when null):
//   automatic  a progress bar redrawn in place when the stream is a
//              terminal (isatty), one line per epoch when it is not
//   bar        the bar whatever the stream; lines: one line per epoch
//   silent     nothing
enum class Verbose { silent, automatic, lines, bar };

struct FitOptions {
  int epochs = 10;
  // Rows per training step; the last batch of an epoch takes the rows left
  // (it is used, not dropped).
  Index batch_size = 32;
  // Each epoch visits the training rows in a new order, a Fisher-Yates
  // permutation drawn from Rng::stream(seed, epoch): the same seed gives the
  // same batches on every platform and with any number of threads.
  bool shuffle = true;
  std::uint64_t seed = 0;
  // In [0, 1): the last rows (before any shuffling, as Keras does) are held
  // out for validation, floor(n (1 - validation_split)) rows train. Not
  // with an explicit validation set.
  double validation_split = 0.0;

  FitAccuracy accuracy = FitAccuracy::automatic;
  std::vector<FitMetric> metrics;  // the caller's own, after the accuracy
  // Also compute the metrics on the training set at the end of each epoch
  // (one prediction pass over it); the training loss is always reported.
  bool train_metrics = true;

  // The value early stopping, checkpoints and restore_best_weights watch:
  // "loss", "val_loss", a metric's name ("accuracy") or "val_" and its
  // name. Empty: "val_loss" with validation data, else "loss". Losses are
  // minimised, accuracy maximised, a FitMetric as its higher_is_better says.
  std::string monitor;
  // > 0: stop when the monitored value has not improved for this many
  // epochs; 0: run every epoch. An epoch improves when the value beats the
  // best so far by more than min_delta.
  int patience = 0;
  double min_delta = 0.0;
  // At the end of fit, however it ended, put back the parameters and the
  // buffers of the best epoch (when it was not the last).
  bool restore_best_weights = false;
  // Not empty: save_model writes the network here (atomically) after every
  // epoch whose monitored value improves, with its epoch and value in the
  // file's metadata.
  std::string checkpoint_path;

  // The learning rate of every step: schedule->lr({optimizer steps so far,
  // epochs completed, fraction of the run's steps done}), so that a
  // schedule in ScheduleUnit::epoch changes the rate once per epoch and one
  // in ScheduleUnit::step once per batch. After each epoch the schedule
  // observes the validation loss (the training loss without validation
  // data): ReduceLROnPlateau acts on it. Null: the optimizer's rate is left
  // as it is.
  std::shared_ptr<Schedule> schedule;

  // The options of every train_step: check_finite, clip_norm, micro_batch
  // (set to 0 when the network or the loss couples the rows of a batch),
  // before_update (called on the batch's gradient, after a data-parallel
  // reduction). The random streams (dropout) get the seed mix64(seed,
  // step.seed); with the optimizer's step count that gives every batch of
  // every epoch masks of its own.
  StepOptions step;
  // The products' arithmetic of every step: Precision::bf16 rounds their
  // operands to bf16 and sums in float (float networks only; emulated on
  // CPUs without bf16 instructions, see bf16_emulated()). The steps run in
  // bf16 when this or step.precision says bf16.
  Precision precision = Precision::native;

  Verbose verbose = Verbose::automatic;
  std::FILE* progress_stream = nullptr;
};

namespace detail {

// The checks of the options alone (fit checks the data).
inline void check_fit_options(const FitOptions& o, bool explicit_validation) {
  if (o.epochs < 1) throw value_error(concat("fit: FitOptions::epochs must be >= 1, got ", o.epochs));
  if (o.batch_size < 1) throw value_error(concat("fit: FitOptions::batch_size must be >= 1, got ", o.batch_size));
  if (!(o.validation_split >= 0.0 && o.validation_split < 1.0))
    throw value_error(concat("fit: FitOptions::validation_split must be in [0, 1), got ", o.validation_split));
  if (explicit_validation && o.validation_split > 0.0)
    throw value_error(concat("fit: FitOptions::validation_split is ", o.validation_split,
                             " but a validation set is given too; use one or the other"));
  if (o.patience < 0) throw value_error(concat("fit: FitOptions::patience must be >= 0, got ", o.patience));
  if (!(o.min_delta >= 0.0) || !std::isfinite(o.min_delta))
    throw value_error(concat("fit: FitOptions::min_delta must be finite and >= 0, got ", o.min_delta));
  if (o.step.micro_batch < 0)
    throw value_error(concat("fit: FitOptions::step.micro_batch must be >= 0, got ", o.step.micro_batch));
  check_clip_norm_option(o.step.clip_norm, "fit: FitOptions::step.clip_norm");
  for (std::size_t i = 0; i < o.metrics.size(); ++i) {
    const FitMetric& m = o.metrics[i];
    if (m.name.empty()) throw value_error(concat("fit: FitOptions::metrics[", i, "] has no name"));
    if (!m.fn) throw value_error(concat("fit: FitOptions::metrics[", i, "] ('", m.name, "') has no function"));
    if (m.name == "loss" || m.name.rfind("val_", 0) == 0 || m.name.find(',') != std::string::npos)
      throw value_error(concat("fit: FitOptions::metrics[", i, "] is named '", m.name,
                               "'; a metric's name may not be 'loss', start with 'val_' or hold a comma"));
  }
}

}  // namespace detail

}  // namespace plexus
