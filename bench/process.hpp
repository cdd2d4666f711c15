// What plexus_compare and its LibTorch twin share besides the init file:
// wall-clock seconds, the process's peak and current resident memory, and
// a strict integer flag value (exit 2 with a message naming the program).
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The peak resident set so far (getrusage reports KiB on Linux).
inline double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// The resident set now, from /proc/self/statm (0 where there is none).
inline double current_rss_mb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long pages = 0, resident = 0;
  const int got = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return got == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0) : 0;
}

// `v` as an integer in [lo, hi], or a message naming `program` and `flag`
// and exit status 2.
inline long parse_integer(const char* program, const char* flag, const char* v, long lo, long hi) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || x < lo || x > hi) {
    std::fprintf(stderr, "%s: %s needs an integer in [%ld, %ld], got '%s'\n", program, flag, lo, hi, v);
    std::exit(2);
  }
  return x;
}

}  // namespace bench
