// The loops the normalising layers share (LayerNorm, BatchNorm, Softmax,
// Dropout, Standardize): sums over a column in a fixed order, and the work
// items of passes over rows, whose boundaries depend on the shape only.
#pragma once

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "../engine/kernels.hpp"

#include <algorithm>
#include <utility>

namespace plexus {
namespace detail {

// sum_{i < n} term(i), added in 16 interleaved lanes then combined in a
// fixed order (lane_sum's order), so a column's sum has the same bits
// whatever the thread count.
template <typename T, typename F>
T lane_sum_of(Index n, F&& term) {
  constexpr int L = 16;
  T acc[L] = {};
  Index i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) acc[l] += term(i + l);
  for (int l = 0; i < n; ++i, ++l) acc[l] += term(i);
  for (int w = L / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// Rows per work item of a pass that reduces over each row's features: a
// block of about 32K values, so a work item's columns stay in cache while
// it walks them. A row's arithmetic does not depend on the block it is in.
inline Index row_chunk(Index cols) { return std::max<Index>(8, (Index(1) << 15) / std::max<Index>(1, cols)); }

// Calls f(r0, nr) for consecutive blocks of the rows [0, rows), in parallel.
template <typename F>
void parallel_row_blocks(Index rows, Index cols, F&& f) {
  parallel_chunks(rows, row_chunk(cols), std::forward<F>(f));
}

// dx = g (assign) or dx += g (add), for one value.
template <typename T>
inline void put_gradient(T& dx, T g, bool add) {
  dx = add ? dx + g : g;
}

}  // namespace detail
}  // namespace plexus
