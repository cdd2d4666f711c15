// What the serving benchmarks of each engine share (plexus_serving and
// plexus_torch_serving): T std::threads calling one shared model in a
// closed loop for a fixed time, the calls' latencies, the flag lists and
// the markdown rows, so that bench/serving.sh can put the sides in one table.
#pragma once

#include "process.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace bench {

struct ServeResult {
  double calls_per_s = 0, median_us = 0, p99_us = 0, max_us = 0;
};

// `callers` threads for `seconds`. make_call(c) runs in caller c's thread
// (so that what it builds, e.g. an output buffer, is the caller's own) and
// returns what one call does; each caller repeats it until the time is up
// and records each call's latency.
template <typename MakeCall>
ServeResult serve_threads(int callers, double seconds, const MakeCall& make_call) {
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(callers));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point end;
  std::vector<std::thread> pool;
  for (int c = 0; c < callers; ++c)
    pool.emplace_back([&, c] {
      auto call = make_call(c);
      auto& mine = lat[static_cast<std::size_t>(c)];
      mine.reserve(1 << 16);
      ++ready;
      while (!go.load()) std::this_thread::yield();
      while (Clock::now() < end) {
        const auto t0 = Clock::now();
        call();
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  // The clock starts when every caller is set up, not while threads are made.
  while (ready.load() < callers) std::this_thread::yield();
  const auto start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go = true;
  for (auto& t : pool) t.join();
  const double took = seconds_since(start);
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  ServeResult r;
  if (all.empty()) return r;
  r.calls_per_s = static_cast<double>(all.size()) / took;
  r.median_us = all[all.size() / 2];
  r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  r.max_us = all.back();
  return r;
}

// "1,2,8" as integers in [1, 4096], or a message and exit status 2.
inline std::vector<long> parse_list(const char* program, const char* flag, const std::string& text) {
  std::vector<long> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) out.push_back(parse_integer(program, flag, item.c_str(), 1, 4096));
  if (out.empty()) out.push_back(parse_integer(program, flag, "", 1, 4096));  // exits with the message
  return out;
}

// The table's columns, the same on every side (bench/serving.sh reads them).
inline void print_serving_header() {
  std::printf("| batch | callers | mode | calls/s | / ideal | median us | p99 us | p99 / serial median |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
}

// The serial row: one caller, one thread; its rate x cores is the ideal.
inline void print_serial_row(long batch, const char* mode, const ServeResult& r, double ideal) {
  std::printf("| %ld | 1 | %s | %.0f | ideal %.0f | %.0f | %.0f | 1 |\n", batch, mode, r.calls_per_s, ideal,
              r.median_us, r.p99_us);
  std::fflush(stdout);
}

inline void print_row(long batch, long callers, const char* mode, const ServeResult& r, double ideal,
                      const ServeResult& serial) {
  std::printf("| %ld | %ld | %s | %.0f | %.2f | %.0f | %.0f | %.1f |\n", batch, callers, mode, r.calls_per_s,
              r.calls_per_s / ideal, r.median_us, r.p99_us, r.p99_us / serial.median_us);
  std::fflush(stdout);
}

}  // namespace bench
