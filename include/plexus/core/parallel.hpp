// Threading. Plexus parallelises its own loops with OpenMP (when built with
// it) over work items whose boundaries never depend on the thread count, so
// every result is bit-identical whatever the number of threads.
#pragma once

#include "types.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace plexus {

namespace detail {
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> n{0};
  return n;
}
// This thread's limit (ThreadLimit); 0: none.
inline int& thread_limit() {
  static thread_local int n = 0;
  return n;
}
}  // namespace detail

// Number of threads Plexus uses for a call made on this thread: the value
// given to set_num_threads, or OpenMP's default (OMP_NUM_THREADS, else the
// number of cores), at most the limit of an enclosing ThreadLimit.
inline int num_threads() {
  int n = detail::thread_setting().load(std::memory_order_relaxed);
  if (n <= 0) {
#if defined(_OPENMP)
    n = std::max(1, omp_get_max_threads());
#else
    n = 1;
#endif
  }
  const int limit = detail::thread_limit();
  return limit > 0 ? std::min(n, limit) : n;
}

// While it lives, Plexus calls made by the thread that made it use at most
// `n` threads; ThreadLimit(1) runs them on that thread alone, with no team
// of OpenMP threads (a server answering requests on a pool of its own).
// Nested limits restore the outer one.
class ThreadLimit {
 public:
  explicit ThreadLimit(int n) : saved_(detail::thread_limit()) {
    if (n > 0) detail::thread_limit() = saved_ > 0 ? std::min(saved_, n) : n;
  }
  ~ThreadLimit() { detail::thread_limit() = saved_; }
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int saved_;
};

// The default thread count of one of several calls that run at once: while
// it lives, a CallShare counts the calls in flight (process-wide) and limits
// its thread to num_threads() / (calls in flight), at least 1, unless the
// caller asked for `requested` threads. A server calling predict from many
// threads thus shares the cores instead of opening a full team per call; a
// lone call keeps them all.
class CallShare {
 public:
  explicit CallShare(int requested) : in_flight_(calls().fetch_add(1, std::memory_order_relaxed) + 1) {
    limit_.emplace(requested > 0 ? requested : std::max(1, num_threads() / in_flight_));
  }
  ~CallShare() {
    limit_.reset();
    calls().fetch_sub(1, std::memory_order_relaxed);
  }
  CallShare(const CallShare&) = delete;
  CallShare& operator=(const CallShare&) = delete;
  // The calls in flight when this one started, itself included.
  int in_flight() const { return in_flight_; }

 private:
  static std::atomic<int>& calls() {
    static std::atomic<int> n{0};
    return n;
  }
  int in_flight_;
  std::optional<ThreadLimit> limit_;
};

// Sets the number of threads; 0 restores the default. Without OpenMP this
// has no effect: everything runs on the calling thread.
inline void set_num_threads(int n) { detail::thread_setting().store(n < 0 ? 0 : n, std::memory_order_relaxed); }

namespace detail {

inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Waits until pred() holds: spins (a few tens of microseconds), then also
// yields the core, so a waiting thread never starves the one it waits for.
template <typename Pred>
void spin_until(Pred&& pred) {
  for (unsigned spins = 0; !pred(); ++spins) {
    spin_pause();
    if (spins >= 1024) std::this_thread::yield();
  }
}

}  // namespace detail

// Calls f(i) for every i in [0, items), spread over the threads and
// claimed dynamically. Results must not depend on which thread runs an
// item. f must not throw.
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
