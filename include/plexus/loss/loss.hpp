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
  // False when a row's loss depends on other rows of the batch: such a
  // batch cannot be cut into parts (StepOptions::micro_batch).
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
  void check_common(const ConstMatrixRef<T>& prediction, const ConstMatrixRef<T>& target,
                    const ConstMatrixRef<T>& input, const MatrixRef<T>* grad) const {
    if (prediction.rows() == 0) throw value_error(name() + ": empty batch");
    if (needs_target() && (target.rows() != prediction.rows() || target.cols() != prediction.cols()))
      throw shape_error(detail::concat(name(), ": target is ", shape_str(target.rows(), target.cols()),
                                       " but the prediction is ", shape_str(prediction.rows(), prediction.cols())));
    if (input.rows() != prediction.rows() && input.size() != 0)
      throw shape_error(detail::concat(name(), ": input batch is ", shape_str(input.rows(), input.cols()),
                                       " but the prediction is ", shape_str(prediction.rows(), prediction.cols())));
    if (grad && (grad->rows() != prediction.rows() || grad->cols() != prediction.cols()))
      throw shape_error(detail::concat(name(), ": gradient buffer is ", shape_str(grad->rows(), grad->cols()),
                                       " but the prediction is ", shape_str(prediction.rows(), prediction.cols())));
  }
};

}  // namespace plexus
