// Mean absolute error (L1), PyTorch 1.13's torch.nn.L1Loss with the 'mean'
// reduction: the mean over all elements.
#pragma once

#include "elementwise.hpp"
#include "loss.hpp"

#include <cmath>

namespace plexus {

//   L = 1/(B m) sum_ij |P_ij - T_ij|
//   dL/dP = sign(P - T) / (B m),  with sign(0) = 0 (PyTorch's subgradient)
template <typename T>
class MAE : public Loss<T> {
 public:
  std::string name() const override { return "MAE"; }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    return detail::elementwise_mean<T>(p, t, grad, [](double a, double b, Index, Index, double* g) {
      const double d = a - b;
      if (g) *g = d > 0.0 ? 1.0 : d < 0.0 ? -1.0 : 0.0;
      return std::abs(d);
    });
  }
};

}  // namespace plexus
