// Threading. Plexus parallelises its own loops with OpenMP (when built with
// it) over work items whose boundaries never depend on the thread count, so
// every result is bit-identical whatever the number of threads.
#pragma once

#include "types.hpp"

#include <algorithm>
#include <atomic>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace plexus {

namespace detail {
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> n{0};
  return n;
}
}  // namespace detail

// Number of threads Plexus uses: the value given to set_num_threads, or
// OpenMP's default (OMP_NUM_THREADS, else the number of cores).
inline int num_threads() {
  const int n = detail::thread_setting().load(std::memory_order_relaxed);
  if (n > 0) return n;
#if defined(_OPENMP)
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

// Sets the number of threads; 0 restores the default. Without OpenMP this
// has no effect: everything runs on the calling thread.
inline void set_num_threads(int n) { detail::thread_setting().store(n < 0 ? 0 : n, std::memory_order_relaxed); }

// Calls f(i) for every i in [0, items), spread over the threads. Work items
// are claimed dynamically; their results must not depend on which thread
// runs them. f must not throw.
template <typename F>
void parallel_for(Index items, F&& f) {
  if (items <= 0) return;
#if defined(_OPENMP)
  const int threads = static_cast<int>(std::min<Index>(num_threads(), items));
  if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (Index i = 0; i < items; ++i) f(i);
    return;
  }
#endif
  for (Index i = 0; i < items; ++i) f(i);
}

// Splits [0, n) into consecutive chunks of `chunk` (the last may be shorter)
// and calls f(begin, length) for each, in parallel.
template <typename F>
void parallel_chunks(Index n, Index chunk, F&& f) {
  if (n <= 0) return;
  chunk = std::max<Index>(1, chunk);
  const Index items = (n + chunk - 1) / chunk;
  parallel_for(items, [&](Index i) {
    const Index begin = i * chunk;
    f(begin, std::min(chunk, n - begin));
  });
}

}  // namespace plexus
