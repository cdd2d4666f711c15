// Mean squared error with the Keras/PyTorch meaning: the mean over all
// elements, L = 1/(n m) sum (p - t)^2, dL/dp = 2 (p - t) / (n m).
#pragma once

#include "loss.hpp"

namespace plexus {

template <typename T>
class MSE : public Loss<T> {
 public:
  std::string name() const override { return "MSE"; }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    const double scale = 1.0 / (static_cast<double>(p.rows()) * static_cast<double>(p.cols()));
    double sum = 0.0;
    for (Index j = 0; j < p.cols(); ++j) {
      double col = 0.0;
      for (Index i = 0; i < p.rows(); ++i) {
        const double d = static_cast<double>(p(i, j)) - static_cast<double>(t(i, j));
        col += d * d;
        if (grad) (*grad)(i, j) = static_cast<T>(2.0 * scale * d);
      }
      sum += col;
    }
    return sum * scale;
  }
};

}  // namespace plexus
