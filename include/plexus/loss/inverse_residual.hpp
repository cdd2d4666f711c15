// Residual loss for learning matrix inverses: with A the n x n matrix whose
// row-major entries are the input row and X = s * P the predicted inverse
// (P the prediction row, row-major, s a fixed scale),
//   L = 1/b sum_samples ||A X - I||_F^2,   dL/dP = 2 s / b * A^T (A X - I).
// It needs the input, not a target: the target may have any width.
#pragma once

#include "loss.hpp"

#include <cmath>

namespace plexus {

template <typename T>
class InverseResidualLoss : public Loss<T> {
 public:
  explicit InverseResidualLoss(Index n = 3, double scale = 1.0) : n_(n), scale_(scale) {
    if (n <= 0 || n > kMaxN)
      throw value_error(detail::concat("InverseResidualLoss: matrix size must be in 1..", kMaxN, ", got ", n));
    if (!std::isfinite(scale) || scale == 0.0)
      throw value_error(detail::concat("InverseResidualLoss: scale must be finite and non-zero, got ", scale));
  }
  std::string name() const override { return "InverseResidualLoss"; }
  bool needs_target() const override { return false; }
  Index n() const { return n_; }
  double scale() const { return scale_; }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    const Index nn = n_ * n_;
    if (p.cols() != nn || input.cols() != nn || input.rows() != p.rows())
      throw shape_error(detail::concat(name(), ": needs input and prediction of ", nn, " columns (", n_, "x", n_,
                                       " matrices, row-major); got input ", shape_str(input.rows(), input.cols()),
                                       " and prediction ", shape_str(p.rows(), p.cols())));
    const Index b = p.rows();
    const double g_scale = 2.0 * scale_ / static_cast<double>(b);
    double sum = 0.0;
    Small a(n_, n_), x(n_, n_), r(n_, n_), g(n_, n_);
    for (Index s = 0; s < b; ++s) {
      for (Index i = 0; i < n_; ++i)
        for (Index j = 0; j < n_; ++j) {
          a(i, j) = static_cast<double>(input(s, i * n_ + j));
          x(i, j) = scale_ * static_cast<double>(p(s, i * n_ + j));
        }
      r.noalias() = a * x;
      r.diagonal().array() -= 1.0;
      sum += r.squaredNorm();
      if (grad) {
        g.noalias() = g_scale * (a.transpose() * r);
        for (Index i = 0; i < n_; ++i)
          for (Index j = 0; j < n_; ++j) (*grad)(s, i * n_ + j) = static_cast<T>(g(i, j));
      }
    }
    return sum / static_cast<double>(b);
  }

 private:
  static constexpr Index kMaxN = 16;
  // Fixed capacity: no heap allocation per call.
  using Small = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, kMaxN, kMaxN>;
  Index n_;
  double scale_;
};

}  // namespace plexus
