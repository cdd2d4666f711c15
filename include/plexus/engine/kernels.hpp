// Small element-wise kernels shared by the layers and optimizers, each run
// by the engine chosen at run time (engine/engine.hpp): deterministic column
// sums (the order of additions is fixed, whatever the thread count, the
// alignment or the engine), finiteness checks, Adam's update; and the
// one-row dot products (engine/dot.hpp).
#pragma once

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "dispatch.hpp"
#include "dot.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace plexus {
namespace detail {

// Sum of n values, added in 16 interleaved lanes then combined pairwise:
// the same bits on every engine.
template <typename T>
T lane_sum(const T* p, Index n) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
  return kernels<T>().lane_sum(p, n);
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

namespace detail {
// true when the n values at p are finite: the largest exponent field among
// them is not all ones. Integer operations only, so it vectorises without
// early exits and holds under -ffast-math (3x faster than Eigen's
// allFinite over 4.7M floats on one core).
template <typename T>
bool finite_block(const T* p, Index n) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "IEEE float or double");
  return kernels<T>().finite(p, n);
}

// One Adam / AdamW step over n parameters p with gradients g and moments m,
// v (see AdamCoefficients in engine/kernel_table.hpp for the formulas). On the
// avx512 engines the results are those of the Eigen array expressions
// Adam used before the engines, built by g++ 12 with -march=native.
inline void adam_update(float* p, const float* g, float* m, float* v, Index n, const AdamCoefficients<float>& c) {
  kernels<float>().adam(p, g, m, v, n, c);
}
inline void adam_update(double* p, const double* g, double* m, double* v, Index n, const AdamCoefficients<double>& c) {
  kernels<double>().adam(p, g, m, v, n, c);
}
}  // namespace detail

// true when all n values are finite; the scan is split over the threads
// (it runs on every training step, over every gradient).
template <typename T>
bool all_finite(const T* p, Index n) {
  // The engine is settled here, on the caller's thread: a bad PLEXUS_ENGINE
  // throws to the caller rather than inside a worker thread.
  const auto finite = detail::kernels<T>().finite;
  std::atomic<bool> ok{true};
  parallel_chunks(n, Index(1) << 16, [&](Index i0, Index m) {
    if (ok.load(std::memory_order_relaxed) && !finite(p + i0, m)) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

}  // namespace plexus
