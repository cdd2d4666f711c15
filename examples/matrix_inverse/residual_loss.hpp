// Residual loss for learning matrix inverses: with A the n x n matrix whose
// row-major entries are the input row and X = s * P the predicted inverse
// (P the prediction row, row-major, s a fixed scale) and R = A X - I,
//   L = 1/b sum_samples ||R||_F^2,   dL/dP = 2 s / b * A^T R        (power 2)
//   L = 1/b sum_samples (||R||_F^2 + eps)^(p/2)                     (power p)
//   L = 1/b sum_samples log(||R||_F^2 + eps) / 2                     (power 0)
// whose gradient is dL/dP = 2 w s / b * A^T R with w = d(term)/d(||R||^2):
// 1, (p/2) (||R||^2 + eps)^(p/2 - 1), or 1 / (2 (||R||^2 + eps)). A power below 2
// weighs the many well-conditioned matrices more against the few nearly
// singular ones, whose residuals dominate the squared loss.
// It needs the input, not a target: the target may have any width.
#pragma once

#include <plexus/plexus.hpp>

#include <cmath>

namespace mi {

using plexus::ConstMatrixRef;
using plexus::Index;
using plexus::MatrixRef;
using plexus::shape_error;
using plexus::value_error;
namespace detail = plexus::detail;

template <typename T>
class InverseResidualLoss : public plexus::Loss<T> {
 public:
  explicit InverseResidualLoss(Index n = 3, double scale = 1.0, double power = 2.0, double eps = 1e-8)
      : n_(n), scale_(scale), power_(power), eps_(eps) {
    if (!(power >= 0.0 && power <= 2.0))
      throw value_error(detail::concat("InverseResidualLoss: power must be in [0, 2], got ", power));
    if (!(eps > 0.0) || !std::isfinite(eps))
      throw value_error(detail::concat("InverseResidualLoss: eps must be positive, got ", eps));
    if (n <= 0 || n > kMaxN)
      throw value_error(detail::concat("InverseResidualLoss: matrix size must be in 1..", kMaxN, ", got ", n));
    if (!std::isfinite(scale) || scale == 0.0)
      throw value_error(detail::concat("InverseResidualLoss: scale must be finite and non-zero, got ", scale));
  }
  std::string name() const override { return "InverseResidualLoss"; }
  bool needs_target() const override { return false; }
  Index n() const { return n_; }
  double scale() const { return scale_; }
  double power() const { return power_; }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    const Index nn = n_ * n_;
    if (p.cols() != nn || input.cols() != nn || input.rows() != p.rows())
      throw shape_error(detail::concat(name(), ": needs input and prediction of ", nn, " columns (", n_, "x", n_,
                                       " matrices, row-major); got input ",
                                       plexus::shape_str(input.rows(), input.cols()), " and prediction ",
                                       plexus::shape_str(p.rows(), p.cols())));
    // 3 x 3 (the common case) with fixed-size matrices; others up to 16 x 16.
    return n_ == 3 ? accumulate<Eigen::Matrix3d>(p, input, grad) : accumulate<Small>(p, input, grad);
  }

 private:
  static constexpr Index kMaxN = 16;
  // Fixed capacity: no heap allocation per call.
  using Small = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, kMaxN, kMaxN>;

  template <typename Mat>
  double accumulate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& input, MatrixRef<T>* grad) const {
    const Index b = p.rows();
    const double g_scale = 2.0 * scale_ / static_cast<double>(b);
    double sum = 0.0;
    Mat a(n_, n_), x(n_, n_), r(n_, n_), g(n_, n_);
    for (Index s = 0; s < b; ++s) {
      for (Index i = 0; i < n_; ++i)
        for (Index j = 0; j < n_; ++j) {
          a(i, j) = static_cast<double>(input(s, i * n_ + j));
          x(i, j) = scale_ * static_cast<double>(p(s, i * n_ + j));
        }
      r.noalias() = a * x;
      r.diagonal().array() -= 1.0;
      const double r2 = r.squaredNorm();
      double w = 1.0;  // d(loss term)/d(||R||^2)
      if (power_ == 2.0) {
        sum += r2;
      } else if (power_ == 0.0) {
        sum += 0.5 * std::log(r2 + eps_);
        w = 0.5 / (r2 + eps_);
      } else {
        const double base = r2 + eps_;
        sum += std::pow(base, 0.5 * power_);
        w = 0.5 * power_ * std::pow(base, 0.5 * power_ - 1.0);
      }
      if (grad) {
        g.noalias() = (w * g_scale) * (a.transpose() * r);
        for (Index i = 0; i < n_; ++i)
          for (Index j = 0; j < n_; ++j) (*grad)(s, i * n_ + j) = static_cast<T>(g(i, j));
      }
    }
    return sum / static_cast<double>(b);
  }

  Index n_;
  double scale_, power_, eps_;
};

}  // namespace mi
