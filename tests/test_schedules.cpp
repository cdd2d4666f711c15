// Learning-rate schedules against PyTorch 1.13's schedulers, written here
// the way torch.optim.lr_scheduler computes them (recursively where it
// does), in double, to 1e-12 relative, over 20 steps or epochs.
#include "gradcheck.hpp"
#include "messages.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;

namespace {

constexpr double kPi = 3.14159265358979323846;

bool close(double a, double b) { return std::abs(a - b) <= 1e-12 * std::max(std::abs(b), 1e-300); }

ScheduleState at_epoch(double e) {
  ScheduleState s;
  s.epoch = e;
  return s;
}
ScheduleState at_step(std::int64_t t) {
  ScheduleState s;
  s.step = t;
  return s;
}
ScheduleState at_progress(double p) {
  ScheduleState s;
  s.progress = p;
  return s;
}

}  // namespace

TEST_CASE("StepLR and ExponentialLR follow PyTorch's recursive updates") {
  StepLR by_epoch(0.1, 3, 0.5), by_step(0.1, 3, 0.5, ScheduleUnit::step);
  ExponentialLR exp_epoch(0.2, 0.9);
  double lr_step = 0.1, lr_exp = 0.2;
  for (int e = 0; e < 20; ++e) {
    if (e > 0 && e % 3 == 0) lr_step *= 0.5;  // StepLR.get_lr
    if (e > 0) lr_exp *= 0.9;                 // ExponentialLR.get_lr
    INFO("epoch " << e);
    CHECK(close(by_epoch.lr(at_epoch(e)), lr_step));
    CHECK(close(by_step.lr(at_step(e)), lr_step));
    CHECK(close(exp_epoch.lr(at_epoch(e)), lr_exp));
  }
  // the unit picks the clock: a per-epoch StepLR ignores the step count
  ScheduleState s = at_epoch(1);
  s.step = 1000;
  CHECK(by_epoch.lr(s) == 0.1);
  // with progress, lengths are fractions of the run
  StepLR quarters(1.0, 0.25, 0.1, ScheduleUnit::progress);
  CHECK(close(quarters.lr(at_progress(0.6)), 0.01));
}

TEST_CASE("CosineAnnealingWarmRestarts follows PyTorch's step() without epochs, after a linear warm-up") {
  for (int t_mult : {1, 2, 3}) {
    CosineRestartsOptions o;
    o.lr = 0.05;
    o.t0 = 3;
    o.t_mult = t_mult;
    o.eta_min = 1e-4;
    CosineAnnealingWarmRestarts sched(o);
    // CosineAnnealingWarmRestarts.step(): T_cur += 1, restart when T_cur reaches T_i
    double t_cur = 0, t_i = 3;
    for (int e = 0; e < 20; ++e) {
      if (e > 0) {
        t_cur += 1;
        if (t_cur >= t_i) {
          t_cur -= t_i;
          t_i *= t_mult;
        }
      }
      const double expect = 1e-4 + (0.05 - 1e-4) * (1 + std::cos(kPi * t_cur / t_i)) / 2;
      INFO("t_mult " << t_mult << ", epoch " << e);
      CHECK(close(sched.lr(at_epoch(e)), expect));
    }
  }
  // warm-up (LinearLR(start_factor, 1, warmup)) then the restarts from their start
  CosineRestartsOptions o;
  o.lr = 1.0;
  o.t0 = 5;
  o.warmup = 4;
  o.warmup_start_factor = 0.1;
  o.unit = ScheduleUnit::step;
  CosineAnnealingWarmRestarts warm(o);
  for (int t = 0; t < 20; ++t) {
    const double expect = t < 4 ? 0.1 + 0.9 * t / 4.0 : (1 + std::cos(kPi * ((t - 4) % 5) / 5.0)) / 2;
    CHECK(close(warm.lr(at_step(t)), expect));
  }
  // fractional epochs (PyTorch's scheduler.step(epoch + i / iters)) and progress
  o.warmup = 0;
  o.unit = ScheduleUnit::epoch;
  o.t_mult = 2;
  CosineAnnealingWarmRestarts frac(o);
  CHECK(close(frac.lr(at_epoch(7.5)), (1 + std::cos(kPi * 2.5 / 10)) / 2));
  o.t0 = 0.25;
  o.t_mult = 1;
  o.unit = ScheduleUnit::progress;
  CHECK(close(CosineAnnealingWarmRestarts(o).lr(at_progress(0.625)), (1 + std::cos(kPi * 0.5)) / 2));
}

namespace {
// OneCycleLR.get_lr of PyTorch 1.13, phase by phase.
double torch_one_cycle(const OneCycleOptions& o, double step) {
  struct Phase {
    double end, start_lr, end_lr;
  };
  const double initial = o.max_lr / o.div_factor, min_lr = initial / o.final_div_factor;
  const double total = static_cast<double>(o.total_steps);
  const Phase two[2] = {{o.pct_start * total - 1, initial, o.max_lr}, {total - 1, o.max_lr, min_lr}};
  const Phase three[3] = {{o.pct_start * total - 1, initial, o.max_lr},
                          {2 * o.pct_start * total - 2, o.max_lr, initial},
                          {total - 1, initial, min_lr}};
  const Phase* phases = o.three_phase ? three : two;
  const std::size_t count = o.three_phase ? 3 : 2;
  double start = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (step <= phases[i].end || i + 1 == count) {
      const double pct = (step - start) / (phases[i].end - start);
      const double a = phases[i].start_lr, b = phases[i].end_lr;
      return o.anneal == OneCycleAnneal::cos ? b + (a - b) / 2.0 * (std::cos(kPi * pct) + 1) : (b - a) * pct + a;
    }
    start = phases[i].end;
  }
  return 0;
}
}  // namespace

TEST_CASE("OneCycleLR follows PyTorch's phases: cos and linear, two and three phases") {
  for (bool three : {false, true})
    for (OneCycleAnneal anneal : {OneCycleAnneal::cos, OneCycleAnneal::linear}) {
      OneCycleOptions o;
      o.max_lr = 0.1;
      o.total_steps = 20;
      o.three_phase = three;
      o.anneal = anneal;
      OneCycleLR sched(o);
      for (int t = 0; t < 20; ++t) {
        INFO("three_phase " << three << ", step " << t);
        CHECK(close(sched.lr(at_step(t)), torch_one_cycle(o, t)));
      }
      CHECK(close(sched.lr(at_step(0)), 0.1 / 25));
      // (linear's (end - start) pct + start loses digits at pct = 1, in PyTorch too)
      if (anneal == OneCycleAnneal::cos) CHECK(close(sched.lr(at_step(19)), 0.1 / 25 / 1e4));
      CHECK(sched.lr(at_step(25)) == sched.lr(at_step(19)));  // stays at the end
      // over progress: the run's end is the last step
      o.unit = ScheduleUnit::progress;
      OneCycleLR by_progress(o);
      CHECK(close(by_progress.lr(at_progress(10.0 / 19)), torch_one_cycle(o, 10)));
    }
  OneCycleOptions peak;
  peak.max_lr = 1;
  peak.total_steps = 10;  // phase 1 ends at step 2, the peak
  CHECK(close(OneCycleLR(peak).lr(at_step(2)), 1.0));
}

TEST_CASE("ReduceLROnPlateau: patience, relative threshold, cooldown, min_lr (traced by hand)") {
  PlateauOptions o;
  o.lr = 1.0;
  o.factor = 0.5;
  o.patience = 2;
  o.threshold = 0.1;
  o.cooldown = 1;
  o.min_lr = 0.2;
  ReduceLROnPlateau sched(o);
  const double metrics[] = {10, 9, 9.5, 9.2, 8.9, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 1};
  const double expect[] = {1, 1, 1, .5, .5, .5, .5, .25, .25, .25, .25, .2, .2, .2, .2, .2, .2};
  for (int i = 0; i < 17; ++i) {
    sched.observe(metrics[i]);
    INFO("observation " << i);
    CHECK(sched.lr(ScheduleState{}) == expect[i]);
  }
  CHECK(sched.state().best == 1.0);
  // mode max with an absolute threshold and no patience
  PlateauOptions m;
  m.lr = 1.0;
  m.mode = PlateauMode::max;
  m.threshold = 0.5;
  m.threshold_mode = PlateauThreshold::abs;
  m.patience = 0;
  ReduceLROnPlateau up(m);
  up.observe(1.0);
  CHECK(up.lr() == 1.0);
  up.observe(1.4);  // not above 1 + 0.5
  CHECK(close(up.lr(), 0.1));
  up.observe(2.0);
  CHECK(close(up.lr(), 0.1));
  // the state round-trips (checkpoints)
  ReduceLROnPlateau copy(m);
  copy.set_state(up.state());
  copy.observe(2.1);
  up.observe(2.1);
  CHECK(copy.lr() == up.lr());
  CHECK(copy.state().bad == up.state().bad);
  CHECK(has(message_of([&] { up.observe(std::nan("")); }), "the metric is nan"));
}

TEST_CASE("CosineLR is cosine_lr over progress, and schedules refuse bad settings") {
  CosineLR c(1e-3, 1e-5, 0.1);
  for (double p : {0.0, 0.05, 0.3, 0.99}) CHECK(c.lr(at_progress(p)) == cosine_lr(1e-3, p, 1e-5, 0.1));
  CHECK(has(message_of([] { StepLR(0.1, 0); }), "StepLR: step_size must be finite and > 0, got 0"));
  CHECK_THROWS_AS(StepLR(-0.1, 1), value_error);
  CHECK_THROWS_AS(ExponentialLR(0.1, 0), value_error);
  CosineRestartsOptions r;
  r.t_mult = 0;
  CHECK(has(message_of([&] { CosineAnnealingWarmRestarts{r}; }), "t_mult must be >= 1"));
  r.t_mult = 1;
  r.t0 = 0;
  CHECK_THROWS_AS(CosineAnnealingWarmRestarts{r}, value_error);
  OneCycleOptions o;
  CHECK(has(message_of([&] { OneCycleLR{o}; }), "total_steps must be > 0"));
  o.total_steps = 2;
  CHECK(has(message_of([&] { OneCycleLR{o}; }), "phase 1 of 2 would be empty"));
  PlateauOptions p;
  p.factor = 1.0;
  CHECK(has(message_of([&] { ReduceLROnPlateau{p}; }), "factor must be in [0, 1)"));
  CHECK_THROWS_AS(CosineLR(1e-3, 0, 1.0), value_error);
}
