// Splitting a data set (inputs and targets, one sample per row) into
// training, validation and test parts, deterministically from a seed.
#pragma once

#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../core/types.hpp"
#include "batches.hpp"

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace plexus {

template <typename T>
struct RowSplit {
  Matrix<T> x, y;
};

// Cuts the rows of (x, y) into parts of the given fractions, in order (e.g.
// {0.8, 0.2} for training and validation, {0.7, 0.15, 0.15} with a test
// part). Part k ends at row floor(n (f_0 + ... + f_k)), the last at n, so
// without shuffling the last part is the last rows of the data, as Keras'
// validation_split takes them. With shuffle the rows are first permuted by
// a Fisher-Yates shuffle (shuffle_indices) driven by plexus::Rng(seed): the
// same seed gives the same parts on every platform. The fractions must be
// > 0 and sum to 1 (within 1e-9), and every part must get at least one row
// (value_error); x and y must have the same number of rows (shape_error).
// y may have no columns.
template <typename T>
std::vector<RowSplit<T>> split_rows(const Matrix<T>& x, const Matrix<T>& y, const std::vector<double>& fractions,
                                    std::uint64_t seed = 0, bool shuffle = true) {
  if (x.rows() != y.rows())
    throw shape_error(detail::concat("split_rows: the inputs are ", shape_str(x.rows(), x.cols()),
                                     " but the targets are ", shape_str(y.rows(), y.cols()),
                                     "; they need the same number of rows"));
  if (fractions.empty()) throw value_error("split_rows: no fractions given");
  double total = 0.0;
  for (double f : fractions) {
    if (!(f > 0.0) || !std::isfinite(f))
      throw value_error(detail::concat("split_rows: every fraction must be > 0, got ", f));
    total += f;
  }
  if (std::abs(total - 1.0) > 1e-9)
    throw value_error(detail::concat("split_rows: the fractions sum to ", total, ", not 1"));
  const Index n = x.rows();
  Rng rng(seed);
  const std::vector<Index> order = row_order(n, shuffle ? &rng : nullptr);
  std::vector<RowSplit<T>> parts(fractions.size());
  double cum = 0.0;
  Index begin = 0;
  for (std::size_t k = 0; k < fractions.size(); ++k) {
    cum += fractions[k];
    // Floor as Keras does; the 1e-9 absorbs the rounding of the running
    // sum (0.7 + 0.1 is 0.7999999999999999).
    const Index end = k + 1 == fractions.size()
                          ? n
                          : std::min<Index>(n, static_cast<Index>(std::floor(cum * static_cast<double>(n) + 1e-9)));
    if (end <= begin)
      throw value_error(
          detail::concat("split_rows: part ", k, " (fraction ", fractions[k], ") of ", n, " rows would have no rows"));
    auto& p = parts[k];
    p.x.resize(end - begin, x.cols());
    p.y.resize(end - begin, y.cols());
    for (Index r = begin; r < end; ++r) {
      p.x.row(r - begin) = x.row(order[static_cast<std::size_t>(r)]);
      p.y.row(r - begin) = y.row(order[static_cast<std::size_t>(r)]);
    }
    begin = end;
  }
  return parts;
}

}  // namespace plexus
