// Softmax cross-entropy from logits, PyTorch 1.13's
// torch.nn.functional.cross_entropy with the 'mean' reduction: the mean over
// the batch's rows, the targets either class labels or class probabilities.
#pragma once

#include "class_labels.hpp"
#include "loss.hpp"

#include <algorithm>
#include <cmath>

namespace plexus {

// The prediction P (B x C) holds logits (no softmax layer before it). With
// log p_ic = P_ic - log sum_k exp(P_ik), computed with the row's maximum
// subtracted so that logits of +-1e4 stay finite, and s the label smoothing:
//
//   labels (target B x 1, whole numbers 0..C-1):  q_ic = (1 - s) [c = y_i] + s / C
//   probabilities (target B x C, values in [0, 1]): q_ic = (1 - s) T_ic + s / C
//   L = 1/B sum_i sum_c -q_ic log p_ic
//   dL/dP_ic = (p_ic sum_k q_ik - q_ic) / B
//
// Probability rows need not be one-hot nor sum to 1 (PyTorch's formula
// applies as is, hence the sum in the gradient). A target of one column is
// always read as labels. Errors: a label that is not a whole number in
// [0, C), or a probability outside [0, 1], is a value_error naming the row
// (0-based, within the batch the loss was given) and the value.
template <typename T>
class SoftmaxCrossEntropy : public Loss<T> {
 public:
  // label_smoothing in [0, 1] (PyTorch's label_smoothing argument).
  explicit SoftmaxCrossEntropy(double label_smoothing = 0.0) : smoothing_(label_smoothing) {
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
      throw value_error(
          detail::concat("SoftmaxCrossEntropy: label_smoothing must be in [0, 1], got ", label_smoothing));
  }
  std::string name() const override { return "SoftmaxCrossEntropy"; }
  double label_smoothing() const { return smoothing_; }
  bool accepts_target_width(Index target_cols, Index prediction_cols) const override {
    return target_cols == 1 || target_cols == prediction_cols;
  }

  double evaluate(const ConstMatrixRef<T>& p, const ConstMatrixRef<T>& t, const ConstMatrixRef<T>& input,
                  MatrixRef<T>* grad) const override {
    this->check_common(p, t, input, grad);
    const Index rows = p.rows(), classes = p.cols();
    const bool labels = t.cols() == 1;
    const double inv_rows = 1.0 / static_cast<double>(rows);
    const double keep = 1.0 - smoothing_, spread = smoothing_ / static_cast<double>(classes);
    // q_ic of the row being summed: from its label or its probabilities.
    Index label = 0;
    auto q = [&](Index i, Index c) {
      if (labels) return (c == label ? keep : 0.0) + spread;
      const double v = static_cast<double>(t(i, c));
      if (!(v >= 0.0 && v <= 1.0))
        throw value_error(detail::concat(name(), ": the target probability in row ", i, ", column ", c, " is ",
                                         detail::exact_number(v), "; probabilities are in [0, 1]"));
      return keep * v + spread;
    };
    double total = 0.0;
    for (Index i = 0; i < rows; ++i) {
      if (labels) label = detail::class_label(static_cast<double>(t(i, 0)), classes, i, "SoftmaxCrossEntropy");
      double top = static_cast<double>(p(i, 0));
      for (Index c = 1; c < classes; ++c) top = std::max(top, static_cast<double>(p(i, c)));
      double sum_exp = 0.0;
      for (Index c = 0; c < classes; ++c) sum_exp += std::exp(static_cast<double>(p(i, c)) - top);
      const double log_sum = std::log(sum_exp);
      double row = 0.0, q_sum = 0.0;
      for (Index c = 0; c < classes; ++c) {
        // -log p_ic, with the large parts cancelled first: (max - P_ic) + log sum
        const double nll = (top - static_cast<double>(p(i, c))) + log_sum;
        const double qc = q(i, c);
        row += qc * nll;
        q_sum += qc;
      }
      total += row;
      if (grad)
        for (Index c = 0; c < classes; ++c) {
          const double prob = std::exp(static_cast<double>(p(i, c)) - top - log_sum);
          (*grad)(i, c) = static_cast<T>((prob * q_sum - q(i, c)) * inv_rows);
        }
    }
    return total * inv_rows;
  }

 protected:
  std::string target_width_hint(Index prediction_cols) const override {
    return detail::concat(" (the target takes 1 column of class labels or ", prediction_cols,
                          " columns of class probabilities)");
  }

 private:
  double smoothing_;
};

}  // namespace plexus
