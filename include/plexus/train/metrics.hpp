// Evaluation metrics on a batch of predictions: classification accuracy
// (top-1 and top-k), the confusion matrix and its text report with
// per-class precision and recall, and the regression errors MSE and MAE.
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"
#include "../loss/class_labels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace plexus {

// Every function takes any Eigen matrices or blocks, float or double, and
// reads the classes the same way:
//   scores: B x C, logits or probabilities; the predicted class of a row is
//           its arg-max, the LOWEST column among equal maxima.
//   labels: B x 1 class indices (whole numbers 0..C-1), or B x C one-hot or
//           probability rows, whose arg-max (ties: lowest column) is the
//           true class.
// Errors: shape_error naming both shapes; value_error for a bad label (the
// row and the value) or a NaN score; value_error for an empty batch.

namespace detail {

template <typename A, typename B>
void check_class_shapes(const Eigen::MatrixBase<A>& scores, const Eigen::MatrixBase<B>& labels, const char* who) {
  if (scores.rows() == 0 || scores.cols() == 0)
    throw value_error(concat(who, ": no scores (", shape_str(scores.rows(), scores.cols()), ")"));
  if (labels.rows() != scores.rows() || (labels.cols() != 1 && labels.cols() != scores.cols()))
    throw shape_error(concat(who, ": labels are ", shape_str(labels.rows(), labels.cols()), " but the scores are ",
                             shape_str(scores.rows(), scores.cols()), " (labels take 1 column of class indices or ",
                             scores.cols(), " columns)"));
}

template <typename A, typename B>
void check_same_shape(const Eigen::MatrixBase<A>& p, const Eigen::MatrixBase<B>& t, const char* who) {
  if (p.rows() != t.rows() || p.cols() != t.cols())
    throw shape_error(concat(who, ": the prediction is ", shape_str(p.rows(), p.cols()), " but the target is ",
                             shape_str(t.rows(), t.cols())));
  if (p.size() == 0) throw value_error(concat(who, ": empty matrices (", shape_str(p.rows(), p.cols()), ")"));
}

}  // namespace detail

// Fraction of rows whose predicted class is the true class.
template <typename A, typename B>
double accuracy(const Eigen::MatrixBase<A>& scores, const Eigen::MatrixBase<B>& labels) {
  detail::check_class_shapes(scores, labels, "accuracy");
  Index hits = 0;
  for (Index i = 0; i < scores.rows(); ++i)
    hits += detail::argmax_row(scores, i, "accuracy") == detail::true_class(labels, i, scores.cols(), "accuracy");
  return static_cast<double>(hits) / static_cast<double>(scores.rows());
}

// Fraction of rows whose true class is among the k best-scored classes; a
// class ranks before another of equal score when its column is lower, as in
// the arg-max, so top_k_accuracy(s, y, 1) == accuracy(s, y). k in [1, C].
template <typename A, typename B>
double top_k_accuracy(const Eigen::MatrixBase<A>& scores, const Eigen::MatrixBase<B>& labels, Index k) {
  detail::check_class_shapes(scores, labels, "top_k_accuracy");
  if (k < 1 || k > scores.cols())
    throw value_error(detail::concat("top_k_accuracy: k must be in [1, ", scores.cols(), "] for ", scores.cols(),
                                     " classes, got ", k));
  Index hits = 0;
  for (Index i = 0; i < scores.rows(); ++i) {
    detail::argmax_row(scores, i, "top_k_accuracy");  // refuses NaN
    const Index y = detail::true_class(labels, i, scores.cols(), "top_k_accuracy");
    const double sy = static_cast<double>(scores(i, y));
    Index rank = 0;  // classes ranked before y
    for (Index c = 0; c < scores.cols(); ++c) {
      const double sc = static_cast<double>(scores(i, c));
      rank += sc > sy || (sc == sy && c < y);
    }
    hits += rank < k;
  }
  return static_cast<double>(hits) / static_cast<double>(scores.rows());
}

namespace detail {
// 1/(B m) sum_ij f(P_ij - T_ij), column sums first: the order, and so the
// bits, of the element-wise losses (loss/elementwise.hpp).
template <typename A, typename B, typename F>
double mean_of_differences(const Eigen::MatrixBase<A>& p, const Eigen::MatrixBase<B>& t, F&& f) {
  const double scale = 1.0 / (static_cast<double>(p.rows()) * static_cast<double>(p.cols()));
  double sum = 0.0;
  for (Index j = 0; j < p.cols(); ++j) {
    double col = 0.0;
    for (Index i = 0; i < p.rows(); ++i) col += f(static_cast<double>(p(i, j)) - static_cast<double>(t(i, j)));
    sum += col;
  }
  return sum * scale;
}
}  // namespace detail

// The mean over all elements of (P - T)^2: the value the MSE loss returns.
template <typename A, typename B>
double mean_squared_error(const Eigen::MatrixBase<A>& p, const Eigen::MatrixBase<B>& t) {
  detail::check_same_shape(p, t, "mean_squared_error");
  return detail::mean_of_differences(p, t, [](double d) { return d * d; });
}

// The mean over all elements of |P - T|: the value the MAE loss returns.
template <typename A, typename B>
double mean_absolute_error(const Eigen::MatrixBase<A>& p, const Eigen::MatrixBase<B>& t) {
  detail::check_same_shape(p, t, "mean_absolute_error");
  return detail::mean_of_differences(p, t, [](double d) { return std::abs(d); });
}

// Counts: entry (r, c) is the number of rows of true class r predicted as c.
using ConfusionMatrix = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>;

// The classes x classes confusion matrix. `scores` is B x classes as above,
// or B x 1 predicted class indices (whole numbers, checked like labels).
template <typename A, typename B>
ConfusionMatrix confusion_matrix(const Eigen::MatrixBase<A>& scores, const Eigen::MatrixBase<B>& labels,
                                 Index classes) {
  if (classes < 1) throw value_error(detail::concat("confusion_matrix: classes must be >= 1, got ", classes));
  if (scores.cols() != 1 && scores.cols() != classes)
    throw shape_error(detail::concat("confusion_matrix: the scores are ", shape_str(scores.rows(), scores.cols()),
                                     " but there are ", classes,
                                     " classes (scores take 1 column of predicted "
                                     "classes or ",
                                     classes, " columns)"));
  if (scores.rows() == 0) throw value_error("confusion_matrix: no rows");
  if (labels.rows() != scores.rows() || (labels.cols() != 1 && labels.cols() != classes))
    throw shape_error(detail::concat("confusion_matrix: labels are ", shape_str(labels.rows(), labels.cols()),
                                     " but the scores are ", shape_str(scores.rows(), scores.cols()),
                                     " (labels take 1 "
                                     "column of class indices or ",
                                     classes, " columns)"));
  ConfusionMatrix m = ConfusionMatrix::Zero(classes, classes);
  for (Index i = 0; i < scores.rows(); ++i)
    ++m(detail::true_class(labels, i, classes, "confusion_matrix"),
        detail::true_class(scores, i, classes, "confusion_matrix"));
  return m;
}

// The matrix as a table (rows: true class, columns: predicted), followed by
// each class's precision (correct / predicted as the class), recall
// (correct / rows of the class) and support, and the overall accuracy. A
// ratio over no rows is shown as "-". `names` (optional) labels the classes.
inline std::string confusion_matrix_text(const ConfusionMatrix& m, const std::vector<std::string>& names = {}) {
  const Index n = m.rows();
  if (m.cols() != n || n == 0)
    throw shape_error(
        detail::concat("confusion_matrix_text: the matrix is ", shape_str(m.rows(), m.cols()), ", not square"));
  if (!names.empty() && static_cast<Index>(names.size()) != n)
    throw value_error(detail::concat("confusion_matrix_text: ", names.size(), " names for ", n, " classes"));
  auto name = [&](Index c) { return names.empty() ? std::to_string(c) : names[static_cast<std::size_t>(c)]; };
  std::size_t w = 9;  // wide enough for "precision"
  for (Index c = 0; c < n; ++c) w = std::max({w, name(c).size(), std::to_string(m.row(c).sum()).size()});
  auto pad = [&](const std::string& s) { return std::string(w - std::min(w, s.size()), ' ') + s + " "; };
  auto ratio = [](std::int64_t num, std::int64_t den) {
    if (den == 0) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(num) / static_cast<double>(den));
    return std::string(buf);
  };
  std::string out = pad("true\\pred");
  for (Index c = 0; c < n; ++c) out += pad(name(c));
  out += "\n";
  for (Index r = 0; r < n; ++r) {
    out += pad(name(r));
    for (Index c = 0; c < n; ++c) out += pad(std::to_string(m(r, c)));
    out += "\n";
  }
  out += "\n" + pad("class") + pad("precision") + pad("recall") + pad("support") + "\n";
  std::int64_t correct = 0;
  for (Index c = 0; c < n; ++c) {
    correct += m(c, c);
    out += pad(name(c)) + pad(ratio(m(c, c), m.col(c).sum())) + pad(ratio(m(c, c), m.row(c).sum())) +
           pad(std::to_string(m.row(c).sum())) + "\n";
  }
  out += "accuracy " + ratio(correct, m.sum()) + " of " + std::to_string(m.sum()) + " rows\n";
  return out;
}

}  // namespace plexus
