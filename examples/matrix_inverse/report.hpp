// Run reports: the progress line, the CSV curve and the two plots.
#pragma once

#include "plot.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace mi {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline std::string human_duration(double s) {
  char b[64];
  if (!(s >= 0) || s > 1e9) return "?";
  if (s < 120) std::snprintf(b, sizeof b, "%.0fs", s);
  else if (s < 7200) std::snprintf(b, sizeof b, "%.0fm%02.0fs", std::floor(s / 60), std::fmod(s, 60.0));
  else if (s < 172800) std::snprintf(b, sizeof b, "%.1fh", s / 3600);
  else std::snprintf(b, sizeof b, "%.1fd", s / 86400);
  return b;
}

// One status line on stderr: rewritten in place a few times a second on a
// terminal; otherwise a plain line every `log_every` seconds.
class Progress {
 public:
  explicit Progress(double log_every) : tty_(isatty(fileno(stderr)) != 0), log_every_(log_every) {}
  // fraction: of the budget done, in [0, 1] (negative when unknown).
  void update(const std::string& what, long long samples, double rate, double loss, double fraction, bool force = false) {
    const double now = seconds_since(start_);
    if (!force && now - last_ < (tty_ ? 0.25 : log_every_)) return;
    last_ = now;
    const double eta = fraction > 0 ? now * (1 - fraction) / fraction : -1;
    char b[256];
    std::snprintf(b, sizeof b, "%s: %lld samples, %.0f samples/s, loss %.4g, %s elapsed, ETA %s", what.c_str(),
                  samples, rate, loss, human_duration(now).c_str(), fraction > 0 ? human_duration(eta).c_str() : "?");
    if (tty_) std::fprintf(stderr, "\r%-110s", b);
    else std::fprintf(stderr, "%s\n", b);
    std::fflush(stderr);
    dirty_ = tty_;
  }
  void finish() {
    if (dirty_) std::fprintf(stderr, "\n");
    dirty_ = false;
  }

 private:
  bool tty_;
  double log_every_;
  Clock::time_point start_ = Clock::now();
  double last_ = -1e9;
  bool dirty_ = false;
};

struct CurveRow {
  long long step = 0, samples = 0;
  double seconds = 0, lr = 0, train_loss = 0;
  double median_r = 0, share_005 = 0, rmse_div5 = 0;  // held-out metrics (NaN when not measured)
};

inline std::string curve_csv(const std::vector<CurveRow>& rows) {
  std::string s = "step,samples,seconds,lr,train_loss,median_r,share_r_below_0.05,rmse_div5\n";
  char b[256];
  for (const auto& r : rows) {
    std::snprintf(b, sizeof b, "%lld,%lld,%.3f,%.6g,%.6g,%.6g,%.6g,%.6g\n", r.step, r.samples, r.seconds, r.lr,
                  r.train_loss, r.median_r, r.share_005, r.rmse_div5);
    s += b;
  }
  return s;
}

}  // namespace mi
