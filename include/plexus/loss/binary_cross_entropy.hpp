// Binary cross-entropy from logits, PyTorch 1.13's
// binary_cross_entropy_with_logits with the 'mean' reduction: one sigmoid
// per output, the mean over ALL elements of the batch (rows times outputs).
#pragma once

#include "class_labels.hpp"
#include "elementwise.hpp"
#include "loss.hpp"

#include <algorithm>
#include <cmath>

namespace plexus {

// The prediction P (B x m) holds logits (no sigmoid layer before it), the
// target T (B x m) values in [0, 1] (labels 0/1 or soft targets). In the
// stable form, exact for any logit (1e4 and -1e4 included):
//
//   L = 1/(B m) sum_ij max(P_ij, 0) - P_ij T_ij + log(1 + exp(-|P_ij|))
//   dL/dP_ij = (sigmoid(P_ij) - T_ij) / (B m)
//
// The mean is over all B m elements, as PyTorch's (not over rows: for m > 1
// the value is 1/m of the per-row sum). A target outside [0, 1] is a
// value_error naming the row, the column and the value.
template <typename T>
class BinaryCrossEntropy : public Loss<T> {
 public:
  std::string name() const override { return "BinaryCrossEntropy"; }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    return detail::elementwise_mean<T>(p, t, grad, [](double x, double y, Index i, Index j, double* g) {
      if (!(y >= 0.0 && y <= 1.0))
        throw value_error(detail::concat("BinaryCrossEntropy: the target in row ", i, ", column ", j, " is ",
                                         detail::exact_number(y), "; targets are in [0, 1]"));
      const double e = std::exp(-std::abs(x));                       // in (0, 1]: never overflows
      if (g) *g = (x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - y;  // sigmoid(x) - y
      return std::max(x, 0.0) - x * y + std::log1p(e);
    });
  }
};

}  // namespace plexus
