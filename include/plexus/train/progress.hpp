// What fit() prints while it trains: a progress bar redrawn in place on a
// terminal (epoch, bar, rows, samples/s, ETA, running loss), or one line
// per epoch elsewhere; each epoch ends with its loss, metrics and rate.
#pragma once

#include "fit_history.hpp"
#include "fit_options.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace plexus {

namespace detail {
inline bool is_terminal(std::FILE* f) {
#if defined(_WIN32)
  return _isatty(_fileno(f)) != 0;
#else
  return isatty(fileno(f)) != 0;
#endif
}
}  // namespace detail

class FitProgress {
 public:
  using Clock = std::chrono::steady_clock;

  // `stream` null: stderr. Verbose::automatic becomes bar on a terminal,
  // lines elsewhere.
  FitProgress(Verbose verbose, std::FILE* stream, int epochs) : out_(stream ? stream : stderr), epochs_(epochs) {
    mode_ = verbose;
    if (mode_ == Verbose::automatic) mode_ = detail::is_terminal(out_) ? Verbose::bar : Verbose::lines;
  }
  Verbose mode() const { return mode_; }

  void epoch_begin(int epoch) {
    epoch_ = epoch;
    drawn_ = false;
  }

  // After a batch: `done` of `rows` training rows, the running loss, the
  // seconds of training in this epoch. Redraws the bar at most ten times a
  // second (and for the last batch).
  void batch(std::int64_t done, std::int64_t rows, double loss, double seconds) {
    if (mode_ != Verbose::bar) return;
    const auto now = Clock::now();
    if (drawn_ && done < rows && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    drawn_ = true;
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    std::string line = head() + " " + bar(done, rows) + " " + std::to_string(done) + "/" + std::to_string(rows);
    line += "  " + samples_per_second(rate);
    if (done < rows && rate > 0) line += "  ETA " + duration(static_cast<double>(rows - done) / rate);
    line += "  loss " + number(loss);
    std::fprintf(out_, "\r%s\033[K", line.c_str());
    std::fflush(out_);
  }

  // The epoch's line: rows, time, speed, loss and metrics, validation, rate.
  // `train_seconds`: the time of its training steps alone.
  void epoch_end(const FitHistory& h, const FitEpoch& e, std::int64_t rows, double train_seconds) {
    if (mode_ == Verbose::silent) return;
    std::string line = head();
    if (mode_ == Verbose::bar) line += " " + bar(e.samples, rows);
    line += " " + std::to_string(e.samples) + "/" + std::to_string(rows) + "  " + duration(e.seconds);
    line += "  " + samples_per_second(train_seconds > 0 ? static_cast<double>(e.samples) / train_seconds : 0.0);
    line += "  loss " + number(e.loss);
    for (std::size_t k = 0; k < e.metrics.size(); ++k) line += "  " + h.metric_names[k] + " " + number(e.metrics[k]);
    if (h.has_validation) {
      line += "  val_loss " + number(e.val_loss);
      for (std::size_t k = 0; k < e.val_metrics.size(); ++k)
        line += "  val_" + h.metric_names[k] + " " + number(e.val_metrics[k]);
    }
    line += "  lr " + number(e.lr);
    if (e.improved && h.monitor.size()) line += "  (best " + h.monitor + ")";
    std::fprintf(out_, mode_ == Verbose::bar ? "\r%s\033[K\n" : "%s\n", line.c_str());
    std::fflush(out_);
  }

  // A closing line (early stopping, a callback's stop, the restored epoch).
  void note(const std::string& text) {
    if (mode_ == Verbose::silent) return;
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }

  static std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
  }

 private:
  std::string head() const {
    const std::string total = std::to_string(epochs_);
    std::string n = std::to_string(epoch_ + 1);
    n.insert(0, total.size() - std::min(total.size(), n.size()), ' ');
    return "epoch " + n + "/" + total;
  }
  static std::string bar(std::int64_t done, std::int64_t rows) {
    constexpr int kWidth = 30;
    const int full = rows > 0 ? static_cast<int>(kWidth * done / rows) : kWidth;
    std::string b = "[" + std::string(static_cast<std::size_t>(full), '=');
    if (full < kWidth) b += ">" + std::string(static_cast<std::size_t>(kWidth - full - 1), ' ');
    return b + "]";
  }
  static std::string samples_per_second(double rate) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.0f samples/s", rate);
    return buf;
  }
  static std::string duration(double s) {
    char buf[32];
    if (s < 1e-3) std::snprintf(buf, sizeof buf, "%.0f us", s * 1e6);
    else if (s < 1) std::snprintf(buf, sizeof buf, "%.0f ms", s * 1e3);
    else if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", s);
    else std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
    return buf;
  }

  std::FILE* out_;
  Verbose mode_;
  int epochs_;
  int epoch_ = 0;
  bool drawn_ = false;
  Clock::time_point last_draw_{};
};

}  // namespace plexus
