// The Huber loss, PyTorch 1.13's torch.nn.HuberLoss(delta) with the 'mean'
// reduction: quadratic near the target, linear beyond delta, the mean over
// all elements.
#pragma once

#include "elementwise.hpp"
#include "loss.hpp"

#include <cmath>

namespace plexus {

// With d = P - T (both B x m):
//
//   l(d) = d^2 / 2                    if |d| < delta
//        = delta (|d| - delta / 2)    otherwise
//   L = 1/(B m) sum_ij l(d_ij)
//   dL/dP = clamp(d, -delta, delta) / (B m)
//
// delta = 1 gives PyTorch's SmoothL1Loss(beta = 1) as well.
template <typename T>
class Huber : public Loss<T> {
 public:
  // delta > 0 (PyTorch's default is 1).
  explicit Huber(double delta = 1.0) : delta_(delta) {
    if (!(delta > 0.0) || !std::isfinite(delta))
      throw value_error(detail::concat("Huber: delta must be finite and > 0, got ", delta));
  }
  std::string name() const override { return "Huber"; }
  double delta() const { return delta_; }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    const double delta = delta_;
    return detail::elementwise_mean<T>(p, t, grad, [delta](double a, double b, Index, Index, double* g) {
      const double d = a - b, abs_d = std::abs(d);
      if (g) *g = d < -delta ? -delta : d > delta ? delta : d;
      return abs_d < delta ? 0.5 * d * d : delta * (abs_d - 0.5 * delta);
    });
  }

 private:
  double delta_;
};

}  // namespace plexus
