// The value fit() watches for early stopping, best-model checkpoints and
// restore_best_weights: which column it is, which way is better, and when
// an epoch improves on the best so far.
#pragma once

#include "../core/error.hpp"
#include "fit_history.hpp"
#include "fit_options.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace plexus {
namespace detail {

struct FitMonitor {
  std::string name;  // the column: "val_loss", "accuracy", ...
  bool validation = false;
  int metric = -1;  // index into the metrics; -1: the loss
  bool maximise = false;

  double value(const FitEpoch& e) const {
    if (metric < 0) return validation ? e.val_loss : e.loss;
    return (validation ? e.val_metrics : e.metrics)[static_cast<std::size_t>(metric)];
  }
  // Whether v beats `best` by more than min_delta (the first finite value
  // always does; NaN never does).
  bool improves(double v, double best, bool have_best, double min_delta) const {
    if (v != v) return false;
    if (!have_best) return true;
    return maximise ? v > best + min_delta : v < best - min_delta;
  }
};

// FitOptions::monitor read against what the run reports.
inline FitMonitor resolve_monitor(const FitOptions& o, bool has_validation, const std::vector<FitMetric>& metrics) {
  FitMonitor m;
  m.name = o.monitor.empty() ? (has_validation ? "val_loss" : "loss") : o.monitor;
  std::string base = m.name;
  if (base.rfind("val_", 0) == 0) {
    m.validation = true;
    base = base.substr(4);
  }
  std::string known = "loss";
  for (const auto& k : metrics) known += ", " + k.name;
  if (has_validation) {
    known += ", val_loss";
    for (const auto& k : metrics) known += ", val_" + k.name;
  }
  if (m.validation && !has_validation)
    throw value_error(concat("fit: FitOptions::monitor is '", m.name, "' but there is no validation data (give a ",
                             "validation set or validation_split > 0, or monitor one of: ", known, ")"));
  if (base != "loss") {
    for (std::size_t k = 0; k < metrics.size(); ++k)
      if (metrics[k].name == base) {
        m.metric = static_cast<int>(k);
        m.maximise = metrics[k].higher_is_better;
      }
    if (m.metric < 0)
      throw value_error(concat("fit: FitOptions::monitor is '", m.name, "', which this run does not report (it ",
                               "reports ", known, ")"));
    if (!m.validation && !o.train_metrics)
      throw value_error(concat("fit: FitOptions::monitor is '", m.name, "' but FitOptions::train_metrics is false, ",
                               "so it is not computed"));
  }
  return m;
}

}  // namespace detail
}  // namespace plexus
