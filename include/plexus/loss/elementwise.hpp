// The loop that every element-wise loss (MSE, MAE, Huber, binary
// cross-entropy) shares: the mean over all elements of l(P_ij, T_ij), summed
// in double column by column in a fixed order, and its gradient.
#pragma once

#include "../core/types.hpp"

namespace plexus {
namespace detail {

// f(p, t, i, j, g) returns l(p, t) for the element (i, j) and, when g is
// not null, writes dl/dp there. Returns 1/(B m) sum l; grad (when given)
// receives (dl/dp) / (B m).
template <typename T, typename F>
double elementwise_mean(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, MatrixRef<T>* grad, F&& f) {
  const double scale = 1.0 / (static_cast<double>(p.rows()) * static_cast<double>(p.cols()));
  double sum = 0.0;
  for (Index j = 0; j < p.cols(); ++j) {
    double col = 0.0;
    for (Index i = 0; i < p.rows(); ++i) {
      double g = 0.0;
      col += f(static_cast<double>(p(i, j)), static_cast<double>(t(i, j)), i, j, grad ? &g : nullptr);
      if (grad) (*grad)(i, j) = static_cast<T>(g * scale);
    }
    sum += col;
  }
  return sum * scale;
}

}  // namespace detail
}  // namespace plexus
