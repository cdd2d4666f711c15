// Online training: every step draws a fresh batch from a SampleSource, with
// a budget in samples and/or seconds and a learning-rate schedule over it.
//
// The whole state of a run is the network, the optimizer and three numbers
// (samples drawn, steps taken, seconds spent): sample sources are counter
// based, so the stream position is the sample count. Saving those and
// restoring them continues the run exactly. With ranks > 1 each process
// draws its own rows of every global batch (data parallelism): samples
// first + rank * b / ranks, ... — the same samples a single process draws.
#pragma once

#include "../data/source.hpp"
#include "../optim/schedule.hpp"
#include "step.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace plexus {

struct OnlineOptions {
  Index batch = 1024;             // global batch (all ranks together)
  Index micro_batch = 512;        // rows per part of this rank's batch (StepOptions::micro_batch)
  std::uint64_t max_samples = 0;  // budget in samples; 0 = none
  double max_seconds = 0;         // budget in seconds of training; 0 = none
  double lr = 1e-3;               // peak learning rate
  bool cosine = true;             // cosine decay over the budget, else constant
  double lr_min = 0.0;            // final learning rate of the cosine
  double warmup = 0.0;            // linear warm-up over this fraction of the budget
  int rank = 0, ranks = 1;        // this process's share of each batch
  // When given, the learning rate of every step is schedule->lr({steps
  // taken by the optimizer, epoch 0, progress()}), in place of the built-in
  // cosine (lr, cosine, lr_min and warmup are then unused).
  std::shared_ptr<Schedule> schedule;
  std::uint64_t seed = 0;  // the random streams' seed (StepOptions::seed: dropout masks)
  // Clip the gradients' global L2 norm to this before each update
  // (StepOptions::clip_norm, after the before-update hook); 0: no clipping.
  double clip_norm = 0.0;
  // The products' arithmetic (StepOptions::precision): Precision::bf16
  // rounds their operands to bf16 and sums in float; float networks only
  // (refused for double when the trainer is made). Emulated on CPUs without
  // bf16 instructions (bf16_emulated()).
  Precision precision = Precision::native;
};

template <typename T>
class OnlineTrainer {
 public:
  using Clock = std::chrono::steady_clock;

  OnlineTrainer(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt, const SampleSource<T>& source,
                OnlineOptions options)
      : net_(net), loss_(loss), opt_(opt), source_(source), o_(options) {
    if (o_.batch <= 0) throw value_error(detail::concat("OnlineTrainer: batch must be positive, got ", o_.batch));
    if (o_.max_samples == 0 && !(o_.max_seconds > 0))
      throw value_error("OnlineTrainer: give a budget (max_samples and/or max_seconds)");
    if (!(o_.max_seconds >= 0) || !std::isfinite(o_.max_seconds))
      throw value_error(detail::concat("OnlineTrainer: max_seconds must be >= 0, got ", o_.max_seconds));
    if (o_.ranks < 1 || o_.rank < 0 || o_.rank >= o_.ranks)
      throw value_error(detail::concat("OnlineTrainer: rank ", o_.rank, " of ", o_.ranks, " is not valid"));
    if (o_.batch < o_.ranks)
      throw value_error(
          detail::concat("OnlineTrainer: a batch of ", o_.batch, " cannot be split over ", o_.ranks, " ranks"));
    detail::check_clip_norm_option(o_.clip_norm, "OnlineTrainer: OnlineOptions::clip_norm");
    if (!(o_.warmup >= 0.0 && o_.warmup < 1.0))
      throw value_error(detail::concat("OnlineTrainer: warmup must be in [0, 1), got ", o_.warmup));
    if (o_.precision == Precision::bf16 && !std::is_same_v<T, float>)
      throw value_error(
          "OnlineTrainer: bf16 products (OnlineOptions::precision) are for float networks; this "
          "network is double");
    if (source.input_width() != net.input_width())
      throw shape_error(detail::concat("OnlineTrainer: the source gives ", source.input_width(),
                                       " input columns but the network takes ", net.input_width()));
    const Index local = o_.batch / o_.ranks + 1;
    x_.resize(local, source.input_width());
    y_.resize(local, source.target_width());
  }

  // The hook called between backward and the update (e.g. an allreduce).
  void set_before_update(std::function<void(double&)> f) { hook_ = std::move(f); }

  // Fraction of the budget used, in [0, 1].
  double progress() const {
    double f = 0.0;
    if (o_.max_samples) f = std::max(f, static_cast<double>(samples_) / static_cast<double>(o_.max_samples));
    if (o_.max_seconds > 0) f = std::max(f, seconds() / o_.max_seconds);
    return std::min(f, 1.0);
  }
  bool done() const { return progress() >= 1.0; }

  // The learning rate the schedule gives at the current progress.
  double scheduled_lr() const {
    const double f = progress();
    if (o_.schedule) {
      ScheduleState s;
      s.step = opt_.steps();
      s.epoch = 0.0;
      s.progress = f;
      return o_.schedule->lr(s);
    }
    if (o_.cosine) return cosine_lr(o_.lr, f, o_.lr_min, o_.warmup);
    return o_.warmup > 0 && f < o_.warmup ? o_.lr * f / o_.warmup : o_.lr;
  }

  // One step on the next global batch; returns its loss (averaged over ranks
  // when the hook does so). Seconds count only time spent in step().
  double step() {
    const auto t0 = Clock::now();
    opt_.set_learning_rate(scheduled_lr());
    Index b = o_.batch;
    if (o_.max_samples)
      b = static_cast<Index>(std::min<std::uint64_t>(static_cast<std::uint64_t>(b), o_.max_samples - samples_));
    if (b < o_.ranks) b = std::min<Index>(o_.batch, o_.ranks);  // the last batch still covers every rank
    const Index begin = b * o_.rank / o_.ranks, end = b * (o_.rank + 1) / o_.ranks;
    auto xb = x_.topRows(end - begin);
    auto yb = y_.topRows(end - begin);
    rows_ = b, local_rows_ = end - begin;
    source_.fill(samples_ + static_cast<std::uint64_t>(begin), xb, yb);
    StepOptions so;
    so.before_update = &hook_;
    so.micro_batch = o_.micro_batch;
    so.seed = o_.seed;
    so.precision = o_.precision;
    so.clip_norm = o_.clip_norm;
    so.first_row = begin;  // this rank's rows draw the masks one process draws for them
    const double loss = train_step(net_, loss_, opt_, xb, yb, so);
    samples_ += static_cast<std::uint64_t>(b);
    ++steps_;
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
    return loss;
  }

  std::uint64_t samples() const { return samples_; }
  std::int64_t steps() const { return steps_; }
  double seconds() const { return seconds_; }
  const OnlineOptions& options() const { return o_; }
  // Rows of the step in progress (or the last one): all ranks together, and
  // this rank's share. The before-update hook weights its gradients by them.
  Index batch_rows() const { return rows_; }
  Index local_rows() const { return local_rows_; }
  // Restores the counters of a saved run (the network and optimizer are
  // restored separately).
  void restore(std::uint64_t samples, std::int64_t steps, double seconds) {
    samples_ = samples;
    steps_ = steps;
    seconds_ = seconds;
  }

 private:
  Network<T>& net_;
  const Loss<T>& loss_;
  Optimizer<T>& opt_;
  const SampleSource<T>& source_;
  OnlineOptions o_;
  std::function<void(double&)> hook_;
  Matrix<T> x_, y_;
  Index rows_ = 0, local_rows_ = 0;
  std::uint64_t samples_ = 0;
  std::int64_t steps_ = 0;
  double seconds_ = 0.0;
};

}  // namespace plexus
