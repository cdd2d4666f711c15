// What fit() returns: one row per epoch (training loss and metrics,
// validation loss and metrics, learning rate, seconds, rows seen), how the
// run ended and its best epoch, and the rows as a CSV file.
#pragma once

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace plexus {

struct FitEpoch {
  int epoch = 0;  // 0-based
  // The rows-weighted mean of the epoch's batch losses, each taken in
  // training mode before its batch's update (what Keras reports).
  double loss = 0.0;
  // FitHistory::metric_names on the training set, predicted in inference
  // mode at the end of the epoch; empty when FitOptions::train_metrics is
  // false.
  std::vector<double> metrics;
  // On the validation set at the end of the epoch (NaN and empty without
  // validation data).
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> val_metrics;
  double lr = 0.0;           // the learning rate of the epoch's last step
  double seconds = 0.0;      // wall time of the epoch, its evaluation included
  std::int64_t samples = 0;  // training rows stepped on (fewer when a callback stopped the epoch)
  bool improved = false;     // the monitored value beat the best so far
};

struct FitHistory {
  std::vector<std::string> metric_names;  // "accuracy" (when reported), then FitOptions::metrics
  bool has_validation = false;
  bool has_train_metrics = false;
  std::string monitor;  // the monitored column, e.g. "val_loss"
  int best_epoch = -1;  // the epoch of the best monitored value
  double best_value = std::numeric_limits<double>::quiet_NaN();
  bool stopped_early = false;        // early stopping: patience ran out
  bool stopped_by_callback = false;  // a callback set FitState::stop
  std::string stop_reason;           // why it stopped before FitOptions::epochs ("" when it did not)
  bool restored_best = false;        // restore_best_weights put back the best epoch's values
  std::int64_t steps = 0;            // optimizer steps taken by this fit
  std::vector<FitEpoch> epochs;

  // The CSV columns: epoch, loss, the training metrics, val_loss and the
  // validation metrics (when present), lr, seconds, samples.
  std::vector<std::string> columns() const {
    std::vector<std::string> c{"epoch", "loss"};
    if (has_train_metrics)
      for (const auto& m : metric_names) c.push_back(m);
    if (has_validation) {
      c.push_back("val_loss");
      for (const auto& m : metric_names) c.push_back("val_" + m);
    }
    for (const char* s : {"lr", "seconds", "samples"}) c.push_back(s);
    return c;
  }
  // The values of epoch row i, in the order of columns().
  std::vector<double> row(std::size_t i) const {
    const FitEpoch& e = epochs.at(i);
    std::vector<double> r{static_cast<double>(e.epoch), e.loss};
    if (has_train_metrics) r.insert(r.end(), e.metrics.begin(), e.metrics.end());
    if (has_validation) {
      r.push_back(e.val_loss);
      r.insert(r.end(), e.val_metrics.begin(), e.val_metrics.end());
    }
    r.push_back(e.lr);
    r.push_back(e.seconds);
    r.push_back(static_cast<double>(e.samples));
    return r;
  }
  // One column over the epochs, by its CSV name ("val_accuracy").
  std::vector<double> column(const std::string& name) const {
    const auto names = columns();
    std::size_t k = 0;
    while (k < names.size() && names[k] != name) ++k;
    if (k == names.size()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw value_error(detail::concat("FitHistory::column: no column '", name, "' (the columns are ", known, ")"));
    }
    std::vector<double> v;
    for (std::size_t i = 0; i < epochs.size(); ++i) v.push_back(row(i)[k]);
    return v;
  }

  // The history as CSV text: a header line of columns(), one line per
  // epoch; every number written so that reading it back gives the same
  // double.
  std::string csv() const {
    std::string out;
    const auto names = columns();
    for (std::size_t k = 0; k < names.size(); ++k) out += (k ? "," : "") + names[k];
    out += "\n";
    for (std::size_t i = 0; i < epochs.size(); ++i) {
      const auto r = row(i);
      for (std::size_t k = 0; k < r.size(); ++k) out += (k ? "," : "") + number(r[k]);
      out += "\n";
    }
    return out;
  }
  // Writes csv() to `path` atomically (io_error naming the path).
  void write_csv(const std::string& path) const {
    const std::string text = csv();
    write_file_atomic(path, text.data(), text.size());
  }

 private:
  // The shortest text that reads back as v (std::to_chars: no locale), "nan" for NaN.
  static std::string number(double v) {
    if (v != v) return "nan";
    char buf[40];
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
#else
    for (int digits : {15, 17}) {
      std::snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (digits == 17 || std::strtod(buf, nullptr) == v) break;
    }
    return buf;
#endif
  }
};

}  // namespace plexus
