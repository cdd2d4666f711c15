// Learning-rate schedules: the plain function cosine_lr of training
// progress, and the Schedule interface with PyTorch 1.13's schedulers
// (StepLR, ExponentialLR, CosineAnnealingWarmRestarts, OneCycleLR,
// ReduceLROnPlateau) for an epoch loop, a batch loop or OnlineTrainer.
#pragma once

#include "../core/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace plexus {

// Cosine decay from lr0 to lr_min as progress goes from 0 to 1, after a
// linear warm-up over the first `warmup` fraction.
inline double cosine_lr(double lr0, double progress, double lr_min = 0.0, double warmup = 0.0) {
  progress = std::clamp(progress, 0.0, 1.0);
  if (warmup > 0.0 && progress < warmup) return lr0 * (progress / warmup);
  const double p = warmup > 0.0 ? (progress - warmup) / (1.0 - warmup) : progress;
  return lr_min + 0.5 * (lr0 - lr_min) * (1.0 + std::cos(3.14159265358979323846 * p));
}

// Where training stands when the rate of the next step is asked for. A loop
// sets what it knows: an epoch loop `epoch`, a batch loop `step` too (and
// may carry the fraction of the current epoch in `epoch`), OnlineTrainer
// `step` and `progress`.
struct ScheduleState {
  std::int64_t step = 0;  // optimizer steps taken so far (Optimizer::steps())
  double epoch = 0.0;     // epochs completed
  double progress = 0.0;  // fraction of the run done, in [0, 1]
};

// The clock a schedule counts in: t = state.step, state.epoch or
// state.progress. A PyTorch scheduler whose step() is called once per batch
// is ScheduleUnit::step here, once per epoch ScheduleUnit::epoch: the rate
// for t is the rate PyTorch's optimizer holds after t calls of
// scheduler.step(). With ScheduleUnit::progress, lengths (step_size, t0,
// warmup) are fractions of the run.
enum class ScheduleUnit { step, epoch, progress };

inline double schedule_time(const ScheduleState& s, ScheduleUnit unit) {
  const double t = unit == ScheduleUnit::step    ? static_cast<double>(s.step)
                   : unit == ScheduleUnit::epoch ? s.epoch
                                                 : s.progress;
  return std::max(t, 0.0);
}

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual std::string name() const = 0;
  // The learning rate for the next step.
  virtual double lr(const ScheduleState& s) const = 0;
  // A validation metric, once per evaluation (ReduceLROnPlateau acts on it;
  // the other schedules ignore it).
  virtual void observe(double /*metric*/) {}
};

namespace detail {
inline void check_schedule_value(bool ok, const char* who, const char* what, double v) {
  if (!ok) throw value_error(concat(who, ": ", what, ", got ", v));
}
inline bool finite_nonneg(double v) { return v >= 0.0 && std::isfinite(v); }
inline bool finite_pos(double v) { return v > 0.0 && std::isfinite(v); }
}  // namespace detail

// cosine_lr over state.progress, as a Schedule.
class CosineLR : public Schedule {
 public:
  explicit CosineLR(double lr, double lr_min = 0.0, double warmup = 0.0) : lr_(lr), min_(lr_min), warmup_(warmup) {
    detail::check_schedule_value(detail::finite_nonneg(lr), "CosineLR", "lr must be finite and >= 0", lr);
    detail::check_schedule_value(detail::finite_nonneg(lr_min), "CosineLR", "lr_min must be finite and >= 0", lr_min);
    detail::check_schedule_value(warmup >= 0.0 && warmup < 1.0, "CosineLR", "warmup must be in [0, 1)", warmup);
  }
  std::string name() const override { return "CosineLR"; }
  double lr(const ScheduleState& s) const override { return cosine_lr(lr_, s.progress, min_, warmup_); }

 private:
  double lr_, min_, warmup_;
};

// torch.optim.lr_scheduler.StepLR: lr gamma^floor(t / step_size).
class StepLR : public Schedule {
 public:
  StepLR(double lr, double step_size, double gamma = 0.1, ScheduleUnit unit = ScheduleUnit::epoch)
      : lr_(lr), size_(step_size), gamma_(gamma), unit_(unit) {
    detail::check_schedule_value(detail::finite_nonneg(lr), "StepLR", "lr must be finite and >= 0", lr);
    detail::check_schedule_value(detail::finite_pos(step_size), "StepLR", "step_size must be finite and > 0",
                                 step_size);
    detail::check_schedule_value(detail::finite_nonneg(gamma), "StepLR", "gamma must be finite and >= 0", gamma);
  }
  std::string name() const override { return "StepLR"; }
  double lr(const ScheduleState& s) const override {
    return lr_ * std::pow(gamma_, std::floor(schedule_time(s, unit_) / size_));
  }

 private:
  double lr_, size_, gamma_;
  ScheduleUnit unit_;
};

// torch.optim.lr_scheduler.ExponentialLR: lr gamma^t.
class ExponentialLR : public Schedule {
 public:
  ExponentialLR(double lr, double gamma, ScheduleUnit unit = ScheduleUnit::epoch)
      : lr_(lr), gamma_(gamma), unit_(unit) {
    detail::check_schedule_value(detail::finite_nonneg(lr), "ExponentialLR", "lr must be finite and >= 0", lr);
    detail::check_schedule_value(detail::finite_pos(gamma), "ExponentialLR", "gamma must be finite and > 0", gamma);
  }
  std::string name() const override { return "ExponentialLR"; }
  double lr(const ScheduleState& s) const override { return lr_ * std::pow(gamma_, schedule_time(s, unit_)); }

 private:
  double lr_, gamma_;
  ScheduleUnit unit_;
};

struct CosineRestartsOptions {
  double lr = 1e-3;                  // the rate at the start of every cycle (PyTorch's base lr)
  double t0 = 10;                    // length of the first cycle (T_0)
  int t_mult = 1;                    // each cycle is t_mult times the previous one (T_mult)
  double eta_min = 0.0;              // the rate at the end of a cycle
  double warmup = 0.0;               // linear warm-up before the first cycle, in the same unit
  double warmup_start_factor = 0.0;  // the warm-up starts at this fraction of lr
  ScheduleUnit unit = ScheduleUnit::epoch;
};

// torch.optim.lr_scheduler.CosineAnnealingWarmRestarts after an optional
// linear warm-up (PyTorch: SequentialLR of LinearLR(warmup_start_factor, 1,
// warmup) and the restarts, milestone `warmup`):
//   t < warmup:  lr (f0 + (1 - f0) t / warmup)
//   otherwise:   with u = t - warmup in cycle i (length T_i = t0 t_mult^i,
//                T_cur = u - the lengths of the cycles before),
//                eta_min + (lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2
class CosineAnnealingWarmRestarts : public Schedule {
 public:
  explicit CosineAnnealingWarmRestarts(CosineRestartsOptions o) : o_(o) {
    const char* who = "CosineAnnealingWarmRestarts";
    detail::check_schedule_value(detail::finite_nonneg(o.lr), who, "lr must be finite and >= 0", o.lr);
    detail::check_schedule_value(detail::finite_pos(o.t0), who, "t0 must be finite and > 0", o.t0);
    detail::check_schedule_value(o.t_mult >= 1, who, "t_mult must be >= 1", o.t_mult);
    detail::check_schedule_value(detail::finite_nonneg(o.eta_min), who, "eta_min must be finite and >= 0", o.eta_min);
    detail::check_schedule_value(detail::finite_nonneg(o.warmup), who, "warmup must be finite and >= 0", o.warmup);
    detail::check_schedule_value(o.warmup_start_factor >= 0.0 && o.warmup_start_factor <= 1.0, who,
                                 "warmup_start_factor must be in [0, 1]", o.warmup_start_factor);
  }
  std::string name() const override { return "CosineAnnealingWarmRestarts"; }
  const CosineRestartsOptions& options() const { return o_; }
  double lr(const ScheduleState& s) const override {
    const double t = schedule_time(s, o_.unit);
    if (t < o_.warmup) return o_.lr * (o_.warmup_start_factor + (1.0 - o_.warmup_start_factor) * t / o_.warmup);
    double cur = t - o_.warmup, len = o_.t0;
    if (o_.t_mult == 1) {
      cur = std::fmod(cur, len);
    } else {
      while (cur >= len) {  // cycles grow geometrically: a few dozen passes at most
        cur -= len;
        len *= o_.t_mult;
      }
    }
    return o_.eta_min + (o_.lr - o_.eta_min) * (1.0 + std::cos(3.14159265358979323846 * cur / len)) / 2.0;
  }

 private:
  CosineRestartsOptions o_;
};

enum class OneCycleAnneal { cos, linear };

struct OneCycleOptions {
  double max_lr = 1e-2;
  std::int64_t total_steps = 0;  // required: the number of steps (or epochs) of the run
  double pct_start = 0.3;        // fraction of the run spent raising the rate
  OneCycleAnneal anneal = OneCycleAnneal::cos;
  double div_factor = 25;         // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  // final lr = initial lr / final_div_factor
  bool three_phase = false;       // down to the initial lr first, then to the final one
  ScheduleUnit unit = ScheduleUnit::step;
};

// torch.optim.lr_scheduler.OneCycleLR, stepped once per batch (unit step);
// the rate only (PyTorch's cycle_momentum also cycles beta1 or the
// momentum, which this does not). Phases end at steps pct_start *
// total_steps - 1 and total_steps - 1 (three phases: pct_start * total - 1,
// 2 pct_start * total - 2, total - 1), each annealed from its start rate to
// its end rate with pct = (t - phase start) / (phase end - phase start):
//   cos:     end + (start - end) / 2 (cos(pi pct) + 1)
//   linear:  (end - start) pct + start
// Beyond total_steps - 1 the rate stays at the final one (PyTorch raises).
// With ScheduleUnit::progress, t = progress (total_steps - 1).
class OneCycleLR : public Schedule {
 public:
  explicit OneCycleLR(OneCycleOptions o) : o_(o) {
    const char* who = "OneCycleLR";
    detail::check_schedule_value(detail::finite_pos(o.max_lr), who, "max_lr must be finite and > 0", o.max_lr);
    detail::check_schedule_value(o.total_steps > 0, who, "total_steps must be > 0", static_cast<double>(o.total_steps));
    detail::check_schedule_value(o.pct_start >= 0.0 && o.pct_start <= 1.0, who, "pct_start must be in [0, 1]",
                                 o.pct_start);
    detail::check_schedule_value(detail::finite_pos(o.div_factor), who, "div_factor must be finite and > 0",
                                 o.div_factor);
    detail::check_schedule_value(detail::finite_pos(o.final_div_factor), who, "final_div_factor must be finite and > 0",
                                 o.final_div_factor);
    const double total = static_cast<double>(o.total_steps);
    ends_[0] = o.pct_start * total - 1.0;
    ends_[1] = o.three_phase ? 2.0 * o.pct_start * total - 2.0 : total - 1.0;
    ends_[2] = total - 1.0;
    phases_ = o.three_phase ? 3 : 2;
    const double initial = o.max_lr / o.div_factor, final_lr = initial / o.final_div_factor;
    const double starts[3] = {initial, o.max_lr, o.three_phase ? initial : final_lr};
    const double finals[3] = {o.max_lr, o.three_phase ? initial : final_lr, final_lr};
    double begin = 0.0;
    for (int i = 0; i < phases_; ++i) {
      start_lr_[i] = starts[i];
      end_lr_[i] = finals[i];
      if (!(ends_[i] > begin))
        throw value_error(detail::concat(who, ": phase ", i + 1, " of ", phases_, " would be empty (it ends at step ",
                                         ends_[i], "); raise total_steps or change pct_start"));
      begin = ends_[i];
    }
  }
  std::string name() const override { return "OneCycleLR"; }
  const OneCycleOptions& options() const { return o_; }
  double lr(const ScheduleState& s) const override {
    double t = o_.unit == ScheduleUnit::progress ? std::clamp(s.progress, 0.0, 1.0) * ends_[2]
                                                 : schedule_time(s, o_.unit);
    t = std::min(t, ends_[2]);
    double begin = 0.0;
    for (int i = 0; i < phases_; ++i) {
      if (t <= ends_[i] || i == phases_ - 1) {
        const double pct = (t - begin) / (ends_[i] - begin);
        if (o_.anneal == OneCycleAnneal::linear) return (end_lr_[i] - start_lr_[i]) * pct + start_lr_[i];
        return end_lr_[i] + (start_lr_[i] - end_lr_[i]) / 2.0 * (std::cos(3.14159265358979323846 * pct) + 1.0);
      }
      begin = ends_[i];
    }
    return end_lr_[phases_ - 1];
  }

 private:
  OneCycleOptions o_;
  double ends_[3] = {}, start_lr_[3] = {}, end_lr_[3] = {};
  int phases_ = 2;
};

enum class PlateauMode { min, max };
enum class PlateauThreshold { rel, abs };

struct PlateauOptions {
  double lr = 1e-3;  // the starting rate
  PlateauMode mode = PlateauMode::min;
  double factor = 0.1;
  int patience = 10;
  double threshold = 1e-4;
  PlateauThreshold threshold_mode = PlateauThreshold::rel;
  int cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};

// torch.optim.lr_scheduler.ReduceLROnPlateau: observe(metric) once per
// validation (PyTorch's scheduler.step(metric)); lr() ignores the state and
// returns the current rate. A metric improves on the best when
//   min, rel: m < best (1 - threshold)     min, abs: m < best - threshold
//   max, rel: m > best (1 + threshold)     max, abs: m > best + threshold
// After more than `patience` observations without improvement the rate
// becomes max(lr factor, min_lr) (kept when that changes it by eps or
// less), followed by `cooldown` observations in which bad ones do not count.
// A metric that is not finite is a value_error.
class ReduceLROnPlateau : public Schedule {
 public:
  // The whole state, for checkpoints.
  struct State {
    double lr = 0.0;
    double best = 0.0;
    int bad = 0;            // observations since the last improvement (PyTorch's num_bad_epochs)
    int cooldown_left = 0;  // PyTorch's cooldown_counter
  };

  explicit ReduceLROnPlateau(PlateauOptions o) : o_(o) {
    const char* who = "ReduceLROnPlateau";
    detail::check_schedule_value(detail::finite_nonneg(o.lr), who, "lr must be finite and >= 0", o.lr);
    detail::check_schedule_value(o.factor >= 0.0 && o.factor < 1.0, who, "factor must be in [0, 1)", o.factor);
    detail::check_schedule_value(o.patience >= 0, who, "patience must be >= 0", o.patience);
    detail::check_schedule_value(detail::finite_nonneg(o.threshold), who, "threshold must be finite and >= 0",
                                 o.threshold);
    detail::check_schedule_value(o.cooldown >= 0, who, "cooldown must be >= 0", o.cooldown);
    detail::check_schedule_value(detail::finite_nonneg(o.min_lr), who, "min_lr must be finite and >= 0", o.min_lr);
    detail::check_schedule_value(detail::finite_nonneg(o.eps), who, "eps must be finite and >= 0", o.eps);
    s_.lr = o.lr;
    s_.best = o.mode == PlateauMode::min ? std::numeric_limits<double>::infinity()
                                         : -std::numeric_limits<double>::infinity();
  }
  std::string name() const override { return "ReduceLROnPlateau"; }
  double lr(const ScheduleState&) const override { return s_.lr; }
  double lr() const { return s_.lr; }

  void observe(double metric) override {
    if (!std::isfinite(metric))
      throw value_error(detail::concat("ReduceLROnPlateau: the metric is ", metric, "; it must be finite"));
    if (better(metric)) {
      s_.best = metric;
      s_.bad = 0;
    } else {
      ++s_.bad;
    }
    if (s_.cooldown_left > 0) {
      --s_.cooldown_left;
      s_.bad = 0;
    }
    if (s_.bad > o_.patience) {
      const double reduced = std::max(s_.lr * o_.factor, o_.min_lr);
      if (s_.lr - reduced > o_.eps) s_.lr = reduced;
      s_.cooldown_left = o_.cooldown;
      s_.bad = 0;
    }
  }

  const State& state() const { return s_; }
  void set_state(const State& s) { s_ = s; }
  const PlateauOptions& options() const { return o_; }

 private:
  bool better(double m) const {
    const bool rel = o_.threshold_mode == PlateauThreshold::rel;
    if (o_.mode == PlateauMode::min) return m < (rel ? s_.best * (1.0 - o_.threshold) : s_.best - o_.threshold);
    return m > (rel ? s_.best * (1.0 + o_.threshold) : s_.best + o_.threshold);
  }

  PlateauOptions o_;
  State s_;
};

}  // namespace plexus
