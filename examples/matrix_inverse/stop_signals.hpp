// Ctrl-C and SIGTERM during training: the training loop stops at the next
// step boundary, writes its checkpoint, curve and plots, and exits 130; a
// second signal kills as usual.
#pragma once

#include <csignal>

namespace mi {

inline volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" inline void mi_on_stop_signal(int sig) { g_stop_signal = sig; }

// Installs the handlers for its lifetime.
struct StopSignals {
  StopSignals() {
    std::signal(SIGINT, mi_on_stop_signal);
    std::signal(SIGTERM, mi_on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // Whether a stop was asked for; from then on a second signal kills.
  static bool requested() {
    if (g_stop_signal) std::signal(g_stop_signal, SIG_DFL);
    return g_stop_signal != 0;
  }
};

}  // namespace mi
