// Small element-wise kernels shared by the layers: deterministic column sums
// (the order of additions is fixed, whatever the thread count or alignment)
// and finiteness checks.
#pragma once

#include "parallel.hpp"
#include "types.hpp"

#include <atomic>
#include <cmath>

namespace plexus {
namespace detail {

// Sum of n values, added in 16 interleaved lanes then combined in a fixed
// order: vectorisable without -ffast-math, and independent of alignment.
template <typename T>
T lane_sum(const T* p, Index n) {
  constexpr int L = 16;
  T acc[L] = {};
  Index i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) acc[l] += p[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += p[i];
  for (int w = L / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// Columns per work item in element-wise passes: large enough to amortise
// scheduling, small enough to spread a 128-column matrix over 8 threads.
inline Index column_chunk(Index rows) { return std::max<Index>(1, (Index(1) << 15) / std::max<Index>(1, rows)); }

}  // namespace detail

// true when every element of m is finite.
template <typename Derived>
bool all_finite(const Eigen::MatrixBase<Derived>& m) {
  return m.allFinite();
}

// true when all n values are finite; the scan is split over the threads
// (it runs on every training step, over every gradient).
template <typename T>
bool all_finite(const T* p, Index n) {
  std::atomic<bool> ok{true};
  parallel_chunks(n, Index(1) << 16, [&](Index i0, Index m) {
    if (ok.load(std::memory_order_relaxed) && !Eigen::Map<const Vector<T>>(p + i0, m).allFinite())
      ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

}  // namespace plexus
