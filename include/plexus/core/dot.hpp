// Dot products for one-row prediction: each output of a Dense layer is the
// dot product of one contiguous column of W with the input row.
#pragma once

#include "types.hpp"

namespace plexus {
namespace detail {

// sum_i w[i] * x[i]; the order of the additions depends only on n (and on
// the instruction set the code was built for).
template <typename T>
T dot(const T* w, const T* x, Index n) {
  return Eigen::Map<const Vector<T>>(w, n).dot(Eigen::Map<const Vector<T>>(x, n));
}

}  // namespace detail
}  // namespace plexus
