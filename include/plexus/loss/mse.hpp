// Mean squared error with the Keras/PyTorch meaning: the mean over all
// elements, L = 1/(n m) sum (p - t)^2, dL/dp = 2 (p - t) / (n m).
#pragma once

#include "elementwise.hpp"
#include "loss.hpp"

namespace plexus {

template <typename T>
class MSE : public Loss<T> {
 public:
  std::string name() const override { return "MSE"; }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    // 2 d * scale: the same bits as 2 * scale * d (doubling is exact).
    return detail::elementwise_mean<T>(p, t, grad, [](double a, double b, Index, Index, double* g) {
      const double d = a - b;
      if (g) *g = 2.0 * d;
      return d * d;
    });
  }
};

}  // namespace plexus
