// fit(): training on an in-memory data set (one sample per row) for a
// number of epochs of shuffled batches, with validation, metrics,
// callbacks, early stopping, best-model checkpoints, learning-rate
// schedules and a progress display. Options: fit_options.hpp.
#pragma once

#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../data/batches.hpp"
#include "../io/model_file.hpp"
#include "callbacks.hpp"
#include "fit_history.hpp"
#include "fit_metrics.hpp"
#include "fit_monitor.hpp"
#include "fit_options.hpp"
#include "progress.hpp"
#include "step.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace plexus {

namespace detail {

// How a data-parallel run (mpi/fit.hpp) takes part; null for one process.
// Every rank holds the whole data set and draws the same batches; rank r of
// R steps on rows [b r / R, b (r + 1) / R) of each batch of b rows.
struct FitParallel {
  int rank = 0, ranks = 1;
  // After backward, with this rank's loss (the mean over its `local` rows)
  // and the batch's `global` rows: leaves the whole batch's gradient in the
  // network and its loss in `loss`, on every rank.
  std::function<void(double& loss, Index local, Index global)> reduce;
  // Whether any rank's flag is set.
  std::function<bool(bool)> any;
  // Runs f on rank 0 alone; an exception there is thrown on every rank.
  std::function<void(const std::function<void()>& f)> on_root;
};

template <typename T>
void check_fit_data(const Network<T>& net, const Loss<T>& loss, const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y,
                    const char* xn, const char* yn, const char* which) {
  if (x.rows() == 0)
    throw value_error(
        concat("fit: no ", which, " data: ", xn, " is ", shape_str(x.rows(), x.cols()), " (one sample per row)"));
  if (y.rows() != x.rows())
    throw shape_error(concat("fit: ", xn, " is ", shape_str(x.rows(), x.cols()), " but ", yn, " is ",
                             shape_str(y.rows(), y.cols()), "; they need the same number of rows (one sample per row",
                             loss.needs_target() ? "" : "; y may have no columns", ")"));
  if (x.cols() != net.input_width())
    throw shape_error(concat("fit: ", xn, " is ", shape_str(x.rows(), x.cols()), " but the network takes ",
                             net.input_width(), " input columns"));
  if (loss.needs_target() && !loss.accepts_target_width(y.cols(), net.output_width()))
    throw shape_error(concat("fit: ", yn, " is ", shape_str(y.rows(), y.cols()), ", which the loss ", loss.name(),
                             " does not take for the network's ", net.output_width(), " output columns"));
  auto check_finite = [&](const ConstMatrixRef<T>& m, const char* name) {
    if (m.allFinite()) return;
    for (Index c = 0; c < m.cols(); ++c)
      for (Index r = 0; r < m.rows(); ++r)
        if (!std::isfinite(static_cast<double>(m(r, c))))
          throw value_error(concat("fit: ", name, " has a non-finite value (", static_cast<double>(m(r, c)),
                                   ") at row ", r, ", column ", c));
  };
  check_finite(x, xn);
  check_finite(y, yn);
}

template <typename T>
FitHistory fit_impl(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt, const ConstMatrixRef<T>& x,
                    const ConstMatrixRef<T>& y, const ConstMatrixRef<T>* xv, const ConstMatrixRef<T>* yv,
                    const FitOptions& o, const std::vector<FitCallback<T>>& callbacks, const FitParallel* par) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  const bool has_val = xv != nullptr;
  check_fit_options(o, false);
  if ((o.precision == Precision::bf16 || o.step.precision == Precision::bf16) && !std::is_same_v<T, float>)
    throw value_error("fit: bf16 products (FitOptions::precision) are for float networks; this network is double");
  if (!net.built()) throw error("fit: the network is not built; call build(input_width) first");
  if (!opt.bound_to(net))
    throw error(concat("fit: the ", opt.name(), " optimizer updates another network's parameters"));
  check_fit_data(net, loss, x, y, "x", "y", "training");
  if (has_val) check_fit_data(net, loss, *xv, *yv, "x_val", "y_val", "validation");
  const std::vector<FitMetric> metrics = fit_metrics(o, loss, net.output_width());
  const FitMonitor monitor = resolve_monitor(o, has_val, metrics);
  const int rank = par ? par->rank : 0, ranks = par ? par->ranks : 1;
  const bool coupled = !net.rows_independent() || !loss.rows_independent();
  if (ranks > 1 && coupled)
    throw value_error(concat("fit: ", !net.rows_independent() ? net.layers().coupling_layer()->label() : loss.name(),
                             " couples the rows of a batch, so a batch cannot be split over ", ranks, " ranks"));
  if (o.batch_size < ranks)
    throw value_error(concat("fit: FitOptions::batch_size is ", o.batch_size, ", less than the ", ranks, " ranks"));

  // The training step's options: rows cut only when they are independent;
  // the random streams keyed by both seeds; under MPI the reduction first.
  StepOptions so = o.step;
  if (coupled) so.micro_batch = 0;
  so.seed = mix64(o.seed, o.step.seed);
  if (o.precision == Precision::bf16) so.precision = Precision::bf16;
  Index local_rows = 0, global_rows = 0;
  const std::function<void(double&)>* user_hook = o.step.before_update;
  std::function<void(double&)> hook = [&](double& l) {
    if (par && ranks > 1) par->reduce(l, local_rows, global_rows);
    if (user_hook && *user_hook) (*user_hook)(l);
  };
  so.before_update = &hook;

  FitHistory h;
  h.has_validation = has_val;
  h.has_train_metrics = o.train_metrics && !metrics.empty();
  h.monitor = monitor.name;
  for (const auto& m : metrics) h.metric_names.push_back(m.name);
  FitProgress progress(rank == 0 ? o.verbose : Verbose::silent, o.progress_stream, o.epochs);
  FitState<T> state(net, opt, h);
  state.epochs = o.epochs;
  state.rank = rank, state.ranks = ranks;
  auto call = [&](bool epoch_end) {
    for (const FitCallback<T>& c : callbacks) {
      const auto& f = epoch_end ? c.on_epoch : c.on_batch;
      if (f && !f(state) && !state.stop) state.request_stop("a callback returned false");
    }
    bool stop = state.stop;
    if (par && ranks > 1) stop = par->any(stop);
    if (stop && state.stop_reason.empty()) state.stop_reason = "a callback on another rank stopped training";
    return stop;
  };

  const Index n = x.rows(), bs = o.batch_size;
  const Index batches = (n + bs - 1) / bs;
  const std::int64_t total_steps = static_cast<std::int64_t>(batches) * o.epochs;
  const Index share = (std::min(bs, n) + ranks - 1) / ranks;  // the most rows a rank takes of a batch
  Matrix<T> xb(share, x.cols()), yb(share, y.cols());
  Vector<T> best_params, best_buffers;
  bool have_best = false, stop = false;
  int since_best = 0;
  std::int64_t step = 0;
  state.batches = batches;
  state.epoch_rows = n;

  for (int epoch = 0; epoch < o.epochs && !stop; ++epoch) {
    const auto t0 = Clock::now();
    Rng rng = Rng::stream(o.seed, static_cast<std::uint64_t>(epoch));
    const std::vector<Index> order = row_order(n, o.shuffle ? &rng : nullptr);
    double loss_sum = 0.0;
    std::int64_t seen = 0;
    progress.epoch_begin(epoch);
    state.epoch = epoch;
    state.result = nullptr;
    for (Index b = 0; b < batches; ++b) {
      const Index first = b * bs, rows = std::min(bs, n - first);
      if (o.schedule) {
        ScheduleState s;
        s.step = opt.steps();
        s.epoch = static_cast<double>(epoch);
        s.progress = static_cast<double>(step) / static_cast<double>(total_steps);
        opt.set_learning_rate(o.schedule->lr(s));
      }
      const Index begin = rows * rank / ranks, end = rows * (rank + 1) / ranks;
      local_rows = end - begin, global_rows = rows;
      gather_rows(x, order.data() + first + begin, local_rows, xb);
      gather_rows(y, order.data() + first + begin, local_rows, yb);
      so.first_row = begin;
      double value = 0.0;
      if (local_rows > 0) {
        value = train_step(net, loss, opt, xb.topRows(local_rows), yb.topRows(local_rows), so);
      } else {  // a rank with no rows of a short last batch still takes part in the reduction
        net.gradients().setZero();
        value = finish_step(net, opt, 0.0, so, opt.steps() + 1);
      }
      ++step;
      loss_sum += value * static_cast<double>(rows);
      seen += rows;
      state.batch = b + 1;
      state.batch_rows = rows;
      state.epoch_samples = seen;
      state.samples += rows;
      state.batch_loss = value;
      state.loss = loss_sum / static_cast<double>(seen);
      state.lr = opt.learning_rate();
      state.seconds = since(t0);
      progress.batch(seen, n, state.loss, state.seconds);
      if (call(false)) {
        stop = h.stopped_by_callback = true;
        break;
      }
    }
    const double train_seconds = since(t0);

    FitEpoch e;
    e.epoch = epoch;
    e.loss = loss_sum / static_cast<double>(seen);
    e.lr = opt.learning_rate();
    e.samples = seen;
    if (h.has_train_metrics) e.metrics = evaluate_set(net, loss, metrics, x, y, false, true, "training").metrics;
    if (has_val) {
      Evaluation v = evaluate_set(net, loss, metrics, *xv, *yv, true, true, "validation");
      e.val_loss = v.loss;
      e.val_metrics = std::move(v.metrics);
    }
    if (o.schedule) o.schedule->observe(has_val ? e.val_loss : e.loss);
    const double watched = monitor.value(e);
    e.improved = monitor.improves(watched, h.best_value, have_best, o.min_delta);
    if (e.improved) {
      have_best = true;
      h.best_epoch = epoch;
      h.best_value = watched;
      since_best = 0;
      if (o.restore_best_weights) best_params = net.parameters(), best_buffers = net.buffers();
      if (!o.checkpoint_path.empty()) {
        const std::map<std::string, std::string> meta{
            {"epoch", std::to_string(epoch)}, {"monitor", monitor.name}, {"value", exact_number(watched)}};
        auto save = [&] { save_model(net, o.checkpoint_path, meta); };
        if (par && ranks > 1) par->on_root(save);
        else save();
      }
    } else {
      ++since_best;
    }
    e.seconds = since(t0);
    h.epochs.push_back(e);
    h.steps = step;
    progress.epoch_end(h, h.epochs.back(), n, train_seconds);
    state.result = &h.epochs.back();
    state.seconds = e.seconds;
    if (!stop && call(true)) stop = h.stopped_by_callback = true;
    if (h.stopped_by_callback) {
      h.stop_reason = state.stop_reason;
    } else if (o.patience > 0 && since_best >= o.patience && epoch + 1 < o.epochs) {
      stop = h.stopped_early = true;
      h.stop_reason = concat("early stopping: ", monitor.name, " did not improve",
                             o.min_delta > 0 ? concat(" by more than ", o.min_delta) : std::string(), " for ",
                             o.patience, " epochs");
    }
  }
  if (!h.stop_reason.empty())
    progress.note(concat(h.stop_reason, " (after epoch ", h.epochs.size(), "; best ", monitor.name, " ",
                         FitProgress::number(h.best_value), " at epoch ", h.best_epoch + 1, ")"));
  if (o.restore_best_weights && have_best && h.best_epoch != h.epochs.back().epoch) {
    net.parameters() = best_params;
    net.buffers() = best_buffers;
    h.restored_best = true;
    progress.note(concat("restored the parameters and buffers of epoch ", h.best_epoch + 1));
  }
  return h;
}

// fit_impl on (x, y) with FitOptions::validation_split applied: the last
// rows, before any shuffling, are the validation set.
template <typename T>
FitHistory fit_split(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt, const ConstMatrixRef<T>& x,
                     const ConstMatrixRef<T>& y, const FitOptions& options,
                     const std::vector<FitCallback<T>>& callbacks, const FitParallel* par) {
  check_fit_options(options, false);
  if (options.validation_split == 0.0)
    return fit_impl<T>(net, loss, opt, x, y, nullptr, nullptr, options, callbacks, par);
  if (!net.built()) throw error("fit: the network is not built; call build(input_width) first");
  check_fit_data(net, loss, x, y, "x", "y", "training");  // before the split hides a mismatch
  const Index n = x.rows();
  // floor(n (1 - split)) training rows, as split_rows({1 - split, split}) cuts them.
  const Index train = std::min<Index>(
      n, static_cast<Index>(std::floor((1.0 - options.validation_split) * static_cast<double>(n) + 1e-9)));
  if (train == 0 || train == n)
    throw value_error(concat("fit: FitOptions::validation_split = ", options.validation_split, " of the ", n,
                             " rows of x (", shape_str(x.rows(), x.cols()), ") leaves ",
                             train == 0 ? "no training row" : "no validation row"));
  const ConstMatrixRef<T> xt = x.topRows(train), yt = y.topRows(train);
  const ConstMatrixRef<T> xv = x.bottomRows(n - train), yv = y.bottomRows(n - train);
  return fit_impl<T>(net, loss, opt, xt, yt, &xv, &yv, options, callbacks, par);
}

}  // namespace detail

// Trains `net` on (x, y) — one sample per row; y may have no columns for a
// loss that reads no target — with `opt`, for FitOptions::epochs epochs of
// shuffled batches, and returns the history. Validation data, when wanted,
// are the last rows (FitOptions::validation_split). Every training batch
// goes through train_step (training mode); evaluation through net.predict
// (inference mode). Errors (before any step): value_error or shape_error
// naming the option or the matrices and their shapes; a divergence_error
// from train_step ends the run where it happened.
template <typename T>
FitHistory fit(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt, const ConstMatrixRef<detail::same_t<T>>& x,
               const ConstMatrixRef<detail::same_t<T>>& y, const FitOptions& options = {},
               const std::vector<FitCallback<detail::same_t<T>>>& callbacks = {}) {
  return detail::fit_split<T>(net, loss, opt, x, y, options, callbacks, nullptr);
}

// The same with an explicit validation set (x_val, y_val) evaluated after
// every epoch (FitOptions::validation_split must then be 0).
template <typename T>
FitHistory fit(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt, const ConstMatrixRef<detail::same_t<T>>& x,
               const ConstMatrixRef<detail::same_t<T>>& y, const ConstMatrixRef<detail::same_t<T>>& x_val,
               const ConstMatrixRef<detail::same_t<T>>& y_val, const FitOptions& options = {},
               const std::vector<FitCallback<detail::same_t<T>>>& callbacks = {}) {
  detail::check_fit_options(options, true);
  return detail::fit_impl<T>(net, loss, opt, x, y, &x_val, &y_val, options, callbacks, nullptr);
}

}  // namespace plexus
