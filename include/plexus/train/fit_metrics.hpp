// The metrics fit() reports, and the evaluation of a whole data set: its
// predictions (inference mode, in chunks), its loss and its metrics.
#pragma once

#include "../core/error.hpp"
#include "../loss/binary_cross_entropy.hpp"
#include "../loss/cross_entropy.hpp"
#include "../loss/loss.hpp"
#include "../model/network.hpp"
#include "fit_options.hpp"
#include "metrics.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <vector>

namespace plexus {

// The fraction of elements on the same side of `threshold` as the target is
// of 0.5 (binary labels, or soft targets rounded): the accuracy of one or
// several independent yes/no outputs.
template <typename A, typename B>
double binary_accuracy(const Eigen::MatrixBase<A>& prediction, const Eigen::MatrixBase<B>& target,
                       double threshold = 0.5) {
  detail::check_same_shape(prediction, target, "binary_accuracy");
  Index hits = 0;
  for (Index j = 0; j < prediction.cols(); ++j)
    for (Index i = 0; i < prediction.rows(); ++i) {
      const double p = static_cast<double>(prediction(i, j));
      if (p != p)
        throw value_error(detail::concat("binary_accuracy: the prediction in row ", i, ", column ", j, " is NaN"));
      hits += (p > threshold) == (static_cast<double>(target(i, j)) > 0.5);
    }
  return static_cast<double>(hits) / static_cast<double>(prediction.size());
}

namespace detail {

// The metric "accuracy" for this loss and output width (FitAccuracy's rules).
template <typename T>
FitMetric accuracy_metric(const Loss<T>& loss, Index output_width) {
  FitMetric m;
  m.name = "accuracy";
  m.higher_is_better = true;
  if (output_width > 1) {
    m.fn = [](const Matrix<double>& p, const Matrix<double>& t) { return accuracy(p, t); };
  } else {
    const double threshold = dynamic_cast<const BinaryCrossEntropy<T>*>(&loss) ? 0.0 : 0.5;
    m.fn = [threshold](const Matrix<double>& p, const Matrix<double>& t) { return binary_accuracy(p, t, threshold); };
  }
  return m;
}

// The metrics of a run: the accuracy when FitOptions::accuracy asks (or
// the loss implies) it, then the caller's; names checked to be distinct.
template <typename T>
std::vector<FitMetric> fit_metrics(const FitOptions& o, const Loss<T>& loss, Index output_width) {
  std::vector<FitMetric> all;
  const bool classifier = dynamic_cast<const SoftmaxCrossEntropy<T>*>(&loss) ||
                          dynamic_cast<const BinaryCrossEntropy<T>*>(&loss);
  if (o.accuracy == FitAccuracy::on || (o.accuracy == FitAccuracy::automatic && classifier))
    all.push_back(accuracy_metric(loss, output_width));
  for (const FitMetric& m : o.metrics) {
    for (const FitMetric& k : all)
      if (k.name == m.name)
        throw value_error(concat("fit: two metrics are named '", m.name, "' (FitOptions::metrics",
                                 k.name == "accuracy" ? ", and the accuracy fit reports itself" : "", ")"));
    all.push_back(m);
  }
  return all;
}

// Rows per predict call when a whole set is evaluated: bounds the memory
// of the activations, not the result (predictions do not depend on it).
constexpr Index kEvaluationChunk = 4096;

// Predictions of the whole set, one predict call per chunk of rows.
template <typename T>
Matrix<T> predict_all(const Network<T>& net, const ConstMatrixRef<T>& x) {
  Matrix<T> p(x.rows(), net.output_width());
  for (Index r = 0; r < x.rows(); r += kEvaluationChunk) {
    const Index n = std::min(kEvaluationChunk, x.rows() - r);
    net.predict(x.middleRows(r, n), p.middleRows(r, n));
  }
  return p;
}

struct Evaluation {
  double loss = 0.0;
  std::vector<double> metrics;
};

// The loss and (when with_metrics) the metrics of the whole set (x, y), on
// inference-mode predictions. `which` names the set in errors.
template <typename T>
Evaluation evaluate_set(const Network<T>& net, const Loss<T>& loss, const std::vector<FitMetric>& metrics,
                        const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, bool with_loss, bool with_metrics,
                        const char* which) {
  Evaluation e;
  const Matrix<T> p = predict_all(net, x);
  if (with_loss) e.loss = loss.value(p, y, x);
  if (with_metrics && !metrics.empty()) {
    const Matrix<double> pd = p.template cast<double>(), yd = y.template cast<double>();
    for (const FitMetric& m : metrics) {
      auto where = [&](const std::exception& err) {
        return concat("fit: the metric '", m.name, "' on the ", which, " set (predictions ",
                      shape_str(pd.rows(), pd.cols()), ", targets ", shape_str(yd.rows(), yd.cols()),
                      "): ", err.what());
      };
      try {
        e.metrics.push_back(m.fn(pd, yd));
      } catch (const shape_error& err) {
        throw shape_error(where(err));
      } catch (const error& err) {
        throw value_error(where(err));
      }
    }
  }
  return e;
}

}  // namespace detail

}  // namespace plexus
