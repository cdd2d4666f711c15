// Batches of rows from an in-memory data set: the seeded Fisher-Yates
// permutation that shuffles the rows (split_rows and fit use it) and the
// copy of a list of rows into a batch matrix.
#pragma once

#include "../core/rng.hpp"
#include "../core/types.hpp"

#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace plexus {

// Permutes `order` in place by a Fisher-Yates shuffle driven by `rng`: the
// same generator state gives the same permutation on every platform and
// standard library (no std::*_distribution), whatever the thread count.
inline void shuffle_indices(std::vector<Index>& order, Rng& rng) {
  const Index n = static_cast<Index>(order.size());
  for (Index i = n - 1; i > 0; --i) {
    // An unbiased draw from [0, i]: reject the top of the 64-bit range
    // that does not divide evenly.
    const std::uint64_t range = static_cast<std::uint64_t>(i) + 1;
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    std::uint64_t r = rng.next_u64();
    while (r >= limit) r = rng.next_u64();
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(r % range)]);
  }
}

// 0, 1, ..., n - 1, shuffled by shuffle_indices(rng) when rng is given.
inline std::vector<Index> row_order(Index n, Rng* rng = nullptr) {
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index(0));
  if (rng) shuffle_indices(order, *rng);
  return order;
}

// out.row(i) = m.row(rows[i]) for i < count (out has at least count rows
// and m's columns). Column by column: the writes are contiguous.
template <typename A, typename B>
void gather_rows(const Eigen::MatrixBase<A>& m, const Index* rows, Index count, Eigen::MatrixBase<B>& out) {
  for (Index c = 0; c < m.cols(); ++c)
    for (Index i = 0; i < count; ++i) out(i, c) = m(rows[i], c);
}

}  // namespace plexus
