// Run reports: the progress line, the curve.csv appended at every
// evaluation, the learning-curve plots drawn from it, and the scatter plot of
// predicted against true inverses.
#pragma once

#include "plot.hpp"
#include "source.hpp"

#include <plexus/plexus.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace mi {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

inline std::string human_duration(double s) {
  char b[64];
  if (!(s >= 0) || s > 1e9) return "?";
  if (s < 120) std::snprintf(b, sizeof b, "%.0fs", s);
  else if (s < 7200) std::snprintf(b, sizeof b, "%.0fm%02.0fs", std::floor(s / 60), std::fmod(s, 60.0));
  else if (s < 172800) std::snprintf(b, sizeof b, "%.1fh", s / 3600);
  else std::snprintf(b, sizeof b, "%.1fd", s / 86400);
  return b;
}

inline void write_text(const std::string& path, const std::string& text) {
  plexus::write_file_atomic(path, text.data(), text.size());
}

// The numbers of an evaluation, labelled, for the progress line.
inline std::string evaluation_text(const char* label, double median_r, double share_below_005) {
  char b[128];
  std::snprintf(b, sizeof b, "%s median r %.4g, r < 0.05 %.1f%%", label, median_r, 100 * share_below_005);
  return b;
}

// One status line on stderr: rewritten in place a few times a second on a
// terminal; otherwise a plain line every `log_every` seconds. It shows the
// training loss under its name and, once an evaluation ran, its numbers.
class Progress {
 public:
  // what: the command; loss_name: what the training loss is.
  Progress(std::string what, std::string loss_name, double log_every)
      : what_(std::move(what)),
        loss_name_(std::move(loss_name)),
        tty_(isatty(fileno(stderr)) != 0),
        log_every_(log_every) {}
  // The latest evaluation (evaluation_text), on every line from now on.
  void set_evaluation(std::string text) { evaluation_ = std::move(text); }
  // fraction: of the budget done, in [0, 1] (negative when unknown).
  void update(long long samples, double rate, double loss, double fraction, bool force = false) {
    const double now = seconds_since(start_);
    if (!force && now - last_ < (tty_ ? 0.25 : log_every_)) return;
    last_ = now;
    const double eta = fraction > 0 ? now * (1 - fraction) / fraction : -1;
    char b[512];
    std::snprintf(b, sizeof b, "%s: %lld samples, %.0f samples/s, loss (%s) %.4g%s%s, %s elapsed, ETA %s",
                  what_.c_str(), samples, rate, loss_name_.c_str(), loss, evaluation_.empty() ? "" : ", ",
                  evaluation_.c_str(), human_duration(now).c_str(), fraction > 0 ? human_duration(eta).c_str() : "?");
    const std::string line = b;
    if (tty_) {  // pad over the end of a longer previous line
      std::fprintf(stderr, "\r%s%s", line.c_str(),
                   std::string(width_ > line.size() ? width_ - line.size() : 0, ' ').c_str());
      width_ = line.size();
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
    dirty_ = tty_;
  }
  void finish() {
    if (dirty_) std::fprintf(stderr, "\n");
    dirty_ = false;
  }

 private:
  std::string what_, loss_name_, evaluation_;
  bool tty_;
  double log_every_;
  Clock::time_point start_ = Clock::now();
  double last_ = -1e9;
  std::size_t width_ = 0;
  bool dirty_ = false;
};

// A run's curve.csv: the header when the run starts, then one line appended
// at every evaluation, the file opened and closed each time, so a run
// stopped by Ctrl-C or killed keeps its curve up to its last evaluation.
class CurveLog {
 public:
  struct Table {
    std::vector<std::string> names;
    std::vector<std::vector<double>> rows;
    // The values of column `name` (empty when there is none).
    std::vector<double> column(const std::string& name) const {
      std::vector<double> v;
      const auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) return v;
      const std::size_t k = static_cast<std::size_t>(it - names.begin());
      for (const auto& r : rows) v.push_back(k < r.size() ? r[k] : std::nan(""));
      return v;
    }
  };

  CurveLog() = default;  // writes nothing
  // A fresh file with `header` (the column names, comma-separated). With
  // keep_below >= 0, a resumed run: an existing file with the same header
  // keeps its rows whose first column is below keep_below, and grows from there.
  CurveLog(std::string path, const std::string& header, double keep_below) : path_(std::move(path)) {
    std::string text = header + "\n";
    if (keep_below >= 0) {
      std::vector<std::string> lines;
      const Table old = load(path_, &lines);
      if (old.names == split(header))
        for (std::size_t i = 0; i < old.rows.size(); ++i)
          if (!old.rows[i].empty() && old.rows[i][0] < keep_below) text += lines[i] + "\n";
    }
    write_text(path_, text);
  }
  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

  // Appends one line (no newline in it).
  void append(const std::string& line) const {
    if (!enabled()) return;
    std::FILE* f = std::fopen(path_.c_str(), "a");
    const bool ok = f && std::fputs((line + "\n").c_str(), f) >= 0;
    if (f && std::fclose(f) != 0) throw plexus::io_error("'" + path_ + "': cannot append to the curve");
    if (!ok) throw plexus::io_error("'" + path_ + "': cannot append to the curve");
  }

  // What the file holds now.
  Table read() const { return load(path_, nullptr); }
  // What a curve.csv holds (written by an earlier run, say).
  static Table read(const std::string& path) { return load(path, nullptr); }

 private:
  // The table in `path` and, when `lines` is given, its rows as text.
  static Table load(const std::string& path, std::vector<std::string>* lines) {
    Table t;
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) return t;
    t.names = split(line);
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      std::vector<double> row;
      for (const std::string& cell : split(line)) row.push_back(std::strtod(cell.c_str(), nullptr));
      t.rows.push_back(std::move(row));
      if (lines) lines->push_back(line);
    }
    return t;
  }
  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) out.push_back(cell);
    return out;
  }
  std::string path_;
};

// The learning curve of answer or train from its curve.csv: the held-out
// median r and the training loss (named loss_name) in two panels over the
// training samples, one unit per axis.
inline std::string online_curve_svg(const std::string& recipe, const CurveLog::Table& t, const std::string& loss_name) {
  const Series sr{"median r (held-out)", t.column("samples"), t.column("median_r"), "#1f77b4"};
  const Series sl{"training loss", t.column("samples"), t.column("train_loss"), "#ff7f0e"};
  const Panel top{"held-out median r = ||A X - I||_F", {sr}, true};
  const Panel bottom{"training loss: " + loss_name, {sl}, all_positive({sl})};
  return panels_svg("matrix_inverse " + recipe + ": learning curve", "training samples", true, {top, bottom});
}

// The question's curve from its curve.csv: training and validation RMSE (one
// unit, one axis) per epoch.
inline std::string question_curve_svg(const CurveLog::Table& t) {
  std::vector<double> train_rmse = t.column("train_mse");
  for (double& v : train_rmse) v = std::sqrt(v);
  const Series sv{"validation RMSE", t.column("epoch"), t.column("val_rmse"), "#1f77b4"};
  const Series st{"training RMSE", t.column("epoch"), train_rmse, "#ff7f0e"};
  return line_plot_svg("matrix_inverse question: RMSE per epoch", "epoch", "RMSE of the inverse's entries", {sv, st},
                       false, true);
}

// scatter.svg: predicted against true inverse entries of the first matrices.
inline void write_scatter(const std::string& dir, const std::string& title, const Eigen::MatrixXd& a,
                          const Eigen::MatrixXd& x, plexus::Index max_points = 2000) {
  std::vector<double> t, p;
  const plexus::Index nn = a.cols(), n = size_of_width(nn, "write_scatter");
  for (plexus::Index s = 0; s < std::min<plexus::Index>(a.rows(), max_points / nn + 1); ++s) {
    const SmallMatrix inv = small_inverse(matrix_of_row(a, s, n));
    for (plexus::Index i = 0; i < nn; ++i) t.push_back(inv(i / n, i % n)), p.push_back(x(s, i));
  }
  std::vector<double> abs_t(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) abs_t[i] = std::abs(t[i]);
  const std::size_t q = abs_t.size() * 95 / 100;
  std::nth_element(abs_t.begin(), abs_t.begin() + static_cast<std::ptrdiff_t>(q), abs_t.end());
  const double clip = std::max(1e-9, 1.1 * abs_t[q]);
  write_text(dir + "/scatter.svg", scatter_svg(title, "true inverse entry", "predicted inverse entry", t, p, clip));
}

}  // namespace mi
