// Serving throughput: T std::threads calling predict() on one shared
// const Network (the answer's 4.71M-parameter network, random weights) for
// a fixed time each, batch 1 or 64, with the default options (calls in
// flight share the cores) and with PredictOptions{1}. The ideal is cores x
// the one-caller, one-thread rate measured in the same run.
//
//   plexus_serving [--seconds S] [--callers 1,2,8,32] [--batches 1,64] [--width W --growth G --blocks B]
#include <plexus/plexus.hpp>

#include "process.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using T = float;
using namespace plexus;
using Clock = std::chrono::steady_clock;

struct Result {
  double calls_per_s = 0, median_us = 0, p99_us = 0, max_us = 0;
};

// T callers for `seconds`; each records its calls' latencies.
Result serve(const Network<T>& net, int callers, Index batch, PredictOptions options, double seconds) {
  Matrix<T> x = Matrix<T>::Random(batch, net.input_width());
  for (int w = 0; w < 3; ++w) net.predict(x, options);  // plans and workspaces made
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(callers));
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  const auto until = [&] {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  Clock::time_point end;
  for (int c = 0; c < callers; ++c)
    pool.emplace_back([&, c] {
      Matrix<T> y(batch, net.output_width());
      while (!go.load()) std::this_thread::yield();
      while (Clock::now() < end) {
        const auto t0 = Clock::now();
        net.predict(x, y, options);
        lat[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  const auto start = Clock::now();
  end = until();
  go = true;
  for (auto& t : pool) t.join();
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  if (all.empty()) return r;
  r.calls_per_s = static_cast<double>(all.size()) / took;
  r.median_us = all[all.size() / 2];
  r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  r.max_us = all.back();
  return r;
}

std::vector<long> list(const char* flag, const std::string& text) {
  std::vector<long> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) out.push_back(bench::parse_integer("plexus_serving", flag, item.c_str(), 1, 4096));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  std::vector<long> callers = {1, 2, 8, 32}, batches = {1, 64};
  long width = 128, growth = 256, blocks = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "--seconds")
      seconds = static_cast<double>(bench::parse_integer("plexus_serving", "--seconds", argv[i + 1], 1, 600));
    else if (f == "--callers") callers = list("--callers", argv[i + 1]);
    else if (f == "--batches") batches = list("--batches", argv[i + 1]);
    else if (f == "--width") width = bench::parse_integer("plexus_serving", "--width", argv[i + 1], 1, 4096);
    else if (f == "--growth") growth = bench::parse_integer("plexus_serving", "--growth", argv[i + 1], 1, 4096);
    else if (f == "--blocks") blocks = bench::parse_integer("plexus_serving", "--blocks", argv[i + 1], 0, 64);
    else {
      std::fprintf(stderr, "plexus_serving: unknown flag %s\n", f.c_str());
      return 2;
    }
  }
  Network<T> net;
  net.add(Dense<T>(width, Activation::relu));
  for (long b = 0; b < blocks; ++b) {
    Sequential<T> body;
    for (int i = 0; i < 4; ++i) body.add(Concat<T>(Dense<T>(growth, Activation::relu)));
    body.add(Dense<T>(width));
    net.add(Residual<T>(std::move(body)));
  }
  net.add(Dense<T>(9));
  net.build(9, 1);
  Rng rng(3);
  for (Index i = 0; i < net.parameters().size(); ++i) net.parameters()[i] = static_cast<T>(rng.uniform(-0.05, 0.05));
  const int cores = num_threads();
  std::printf("plexus_serving: %lld parameters, engine %s, %d threads (num_threads), %.0f s per row\n\n",
              static_cast<long long>(net.parameter_count()), engine_name().c_str(), cores, seconds);
  std::printf("| batch | callers | options | calls/s | / ideal | median us | p99 us | p99 / serial median |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (long batch : batches) {
    const Result serial = serve(net, 1, batch, PredictOptions{1}, seconds);
    const double ideal = cores * serial.calls_per_s;
    std::printf("| %ld | 1 | serial: PredictOptions{1} | %.0f | ideal %.0f | %.0f | %.0f | 1 |\n", batch,
                serial.calls_per_s, ideal, serial.median_us, serial.p99_us);
    for (long c : callers)
      for (int mode = 0; mode < 2; ++mode) {
        const Result r = serve(net, static_cast<int>(c), batch, PredictOptions{mode == 0 ? 0 : 1}, seconds);
        std::printf("| %ld | %ld | %s | %.0f | %.2f | %.0f | %.0f | %.1f |\n", batch, c,
                    mode == 0 ? "default" : "PredictOptions{1}", r.calls_per_s, r.calls_per_s / ideal, r.median_us,
                    r.p99_us, r.p99_us / serial.median_us);
        std::fflush(stdout);
      }
  }
  return 0;
}
