// Threading. Plexus parallelises its own loops with OpenMP (when built with
// it) over work items whose boundaries never depend on the thread count, so
// every result is bit-identical whatever the number of threads.
#pragma once

#include "types.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
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

namespace detail {

// A one-row product over fewer weights than this runs on one thread (sharing
// it out costs more than it saves), and Network::predict starts no team for
// one row of a network with fewer parameters.
inline constexpr Index kOneRowSplitWeights = Index(1) << 16;

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

// A team of threads held for the length of one call that runs many small
// loops: one-row prediction runs a few microseconds of products per layer,
// dozens of layers in a row, and opening an OpenMP parallel region for each
// of them cost about a tenth of the call (see docs/performance.md).
// SpinTeam::run(threads, body) calls body() on the calling thread, the
// team's leader, while the other threads spin; every parallel_for that
// body makes on the leader is spread over the team, which returns when all
// its items are done. Loops made inside such an item run on their thread
// alone (parallel_for sees an active parallel region and no team).
class SpinTeam {
 public:
  // The team led by the calling thread and free for a new loop, or nullptr.
  static SpinTeam* current() { return leader_slot(); }

  // Runs body() with a team of `threads` (fewer if OpenMP grants fewer),
  // or plainly when threads <= 1, without OpenMP, or inside a parallel
  // region. An exception from body() is passed on once the team has
  // stopped.
  template <typename Body>
  static void run(int threads, Body&& body) {
#if defined(_OPENMP)
    if (threads > 1 && !omp_in_parallel() && !current()) {
      SpinTeam team;
      std::exception_ptr failure;
#pragma omp parallel num_threads(threads)
      {
        if (omp_get_thread_num() == 0) {
          team.size_ = omp_get_num_threads();
          leader_slot() = &team;
          try {
            body();
          } catch (...) {
            failure = std::current_exception();
          }
          leader_slot() = nullptr;
          team.publish(nullptr, nullptr);  // no task: the helpers leave
        } else {
          team.help(omp_get_thread_num());
        }
      }
      if (failure) std::rethrow_exception(failure);
      return;
    }
#else
    (void)threads;
#endif
    body();
  }

  // Calls f(i) for every i in [0, items): thread t of the team's nt takes
  // the items from items * t / nt up to items * (t + 1) / nt. Returns when
  // all are done. f must not throw.
  template <typename F>
  void split(Index items, F&& f) {
    const auto share = [&](int t, int nt) {
      for (Index i = items * t / nt; i < items * (t + 1) / nt; ++i) f(i);
    };
    if (items <= 1 || size_ == 1) {
      share(0, 1);
      return;
    }
    using Share = decltype(share);
    publish([](const void* c, int t, int nt) { (*static_cast<const Share*>(c))(t, nt); }, &share);
    leader_slot() = nullptr;  // busy: a loop inside the leader's own items runs on the leader
    share(0, size_);
    leader_slot() = this;
    spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
  }

  int size() const { return size_; }

 private:
  using Task = void (*)(const void*, int, int);

  SpinTeam() = default;

  static SpinTeam*& leader_slot() {
    static thread_local SpinTeam* team = nullptr;
    return team;
  }

  // Leader: hands (task, ctx) to the helpers; a null task tells them to stop.
  void publish(Task task, const void* ctx) {
    task_ = task;
    ctx_ = ctx;
    pending_.store(size_ - 1, std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_release);
  }

  // Helper t: runs its share of each task as it comes, until told to stop.
  void help(int t) {
    unsigned seen = 0;
    for (;;) {
      spin_until([&] { return epoch_.load(std::memory_order_acquire) != seen; });
      ++seen;
      if (!task_) return;
      task_(ctx_, t, size_);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  alignas(64) std::atomic<unsigned> epoch_{0};  // bumped once per task
  alignas(64) std::atomic<int> pending_{0};     // helpers still working on the current task
  Task task_ = nullptr;
  const void* ctx_ = nullptr;
  int size_ = 1;
};

}  // namespace detail

// Calls f(i) for every i in [0, items), spread over the threads: claimed
// dynamically, or split evenly over the team of an enclosing
// SpinTeam::run. Results must not depend on which thread runs an item. f
// must not throw.
template <typename F>
void parallel_for(Index items, F&& f) {
  if (items <= 0) return;
  if (detail::SpinTeam* team = detail::SpinTeam::current()) {
    team->split(items, f);
    return;
  }
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
