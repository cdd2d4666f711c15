// The loss interface. A loss sees the network's prediction, the target and
// also the network's input batch, so losses such as ||A X - I||^2 for the
// matrix-inverse problem need no special casing.
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"

#include <string>

namespace plexus {

template <typename T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;

  // Whether evaluate() reads the target; losses that do not accept a target
  // of any width (zero columns too).
  virtual bool needs_target() const { return true; }

  // Whether a target of `target_cols` columns goes with a prediction of
  // `prediction_cols` columns (asked only when needs_target(); the rows must
  // match in any case). By default the target has the prediction's shape; a
  // loss that also takes class labels in one column says so here.
  virtual bool accepts_target_width(Index target_cols, Index prediction_cols) const {
    return target_cols == prediction_cols;
  }

  // Whether the loss of a batch is the row-weighted mean of the losses of
  // its parts, so that train_step may cut a batch (StepOptions::micro_batch)
  // and data-parallel training may split it over ranks. A loss that couples
  // the rows of a batch (a batch statistic, a contrastive term) returns false.
  virtual bool rows_independent() const { return true; }

  // Returns the loss of the batch. When `grad` is given (same shape as
  // prediction) it receives d(loss)/d(prediction). Sums are accumulated in
  // double in a fixed order. A loss is a mean over the batch's rows:
  // train_step combines the losses and gradients of the parts of a cut batch
  // (and data-parallel training those of the ranks) weighted by rows.
  virtual double evaluate(const ConstMatrixRef<T>& prediction, const ConstMatrixRef<T>& target,
                          const ConstMatrixRef<T>& input, MatrixRef<T>* grad) const = 0;

  double value(const ConstMatrixRef<T>& prediction, const ConstMatrixRef<T>& target,
               const ConstMatrixRef<T>& input) const {
    return evaluate(prediction, target, input, nullptr);
  }
  double value_and_gradient(const ConstMatrixRef<T>& prediction, const ConstMatrixRef<T>& target,
                            const ConstMatrixRef<T>& input, MatrixRef<T> grad) const {
    return evaluate(prediction, target, input, &grad);
  }

 protected:
  // Appended to the message of a refused target shape, e.g. " (the target
  // takes 1 column of class labels or 5 columns of probabilities)"; empty
  // when the target simply has the prediction's shape.
  virtual std::string target_width_hint(Index /*prediction_cols*/) const { return ""; }

  void check_common(const ConstMatrixRef<T>& prediction, const ConstMatrixRef<T>& target,
                    const ConstMatrixRef<T>& input, const MatrixRef<T>* grad) const {
    if (prediction.rows() == 0) throw value_error(name() + ": empty batch");
    if (needs_target() &&
        (target.rows() != prediction.rows() || !accepts_target_width(target.cols(), prediction.cols())))
      throw shape_error(detail::concat(name(), ": target is ", shape_str(target.rows(), target.cols()),
                                       " but the prediction is ", shape_str(prediction.rows(), prediction.cols()),
                                       target_width_hint(prediction.cols())));
    if (input.rows() != prediction.rows() && input.size() != 0)
      throw shape_error(detail::concat(name(), ": input batch is ", shape_str(input.rows(), input.cols()),
                                       " but the prediction is ", shape_str(prediction.rows(), prediction.cols())));
    if (grad && (grad->rows() != prediction.rows() || grad->cols() != prediction.cols()))
      throw shape_error(detail::concat(name(), ": gradient buffer is ", shape_str(grad->rows(), grad->cols()),
                                       " but the prediction is ", shape_str(prediction.rows(), prediction.cols())));
  }
};

}  // namespace plexus
