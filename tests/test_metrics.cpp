// Metrics: accuracy and top-k (labels or one-hot targets, ties to the
// lowest index), the confusion matrix and its report, MSE / MAE, errors.
#include "gradcheck.hpp"
#include "messages.hpp"

#include <doctest/doctest.h>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using MatD = Matrix<double>;

TEST_CASE("accuracy: labels, one-hot and probability targets, ties to the lowest index") {
  MatD s(5, 3), y(5, 1);
  s << 0.1, 0.7, 0.2,  // predicts 1
      2, 2, 1,         // tie between 0 and 1: predicts 0
      -1, -3, -2,      // predicts 0
      0.3, 0.3, 0.3,   // all equal: predicts 0
      0, 0, 5;         // predicts 2
  y << 1, 1, 0, 0, 1;
  CHECK(accuracy(s, y) == doctest::Approx(3.0 / 5));
  MatD one_hot = MatD::Zero(5, 3);
  for (Index i = 0; i < 5; ++i) one_hot(i, static_cast<Index>(y(i, 0))) = 1;
  CHECK(accuracy(s, one_hot) == doctest::Approx(3.0 / 5));
  // probability rows: their arg-max is the true class
  MatD soft = 0.2 * one_hot + MatD::Constant(5, 3, 0.1);
  CHECK(accuracy(s, soft) == doctest::Approx(3.0 / 5));
  // floats and blocks are accepted too
  Matrix<float> sf = s.cast<float>();
  CHECK(accuracy(sf.topRows(3), y.topRows(3)) == doctest::Approx(2.0 / 3));
}

TEST_CASE("top-k accuracy ranks ties by index, and top-1 is accuracy") {
  MatD s(4, 4), y(4, 1);
  s << 4, 3, 2, 1,  //
      1, 1, 1, 1,   //
      0, 5, 5, 0,   //
      9, 1, 8, 7;
  y << 2, 3, 2, 3;
  // ranks of the true class: 2, 3 (three equal scores before it), 1 (tie with column 1), 2
  CHECK(top_k_accuracy(s, y, 1) == doctest::Approx(0.0));
  CHECK(top_k_accuracy(s, y, 1) == accuracy(s, y));
  CHECK(top_k_accuracy(s, y, 2) == doctest::Approx(1.0 / 4));
  CHECK(top_k_accuracy(s, y, 3) == doctest::Approx(3.0 / 4));
  CHECK(top_k_accuracy(s, y, 4) == doctest::Approx(1.0));
  CHECK(has(message_of([&] { top_k_accuracy(s, y, 5); }), "k must be in [1, 4]"));
  CHECK(has(message_of([&] { top_k_accuracy(s, y, 0); }), "got 0"));
}

TEST_CASE("confusion matrix: rows are true classes, columns predicted, and the report") {
  MatD s(6, 3), y(6, 1);
  s << 1, 0, 0,  //
      1, 0, 0,   //
      0, 1, 0,   //
      0, 0, 1,   //
      0, 1, 0,   //
      1, 0, 0;
  y << 0, 1, 1, 2, 1, 0;
  const ConfusionMatrix m = confusion_matrix(s, y, 3);
  ConfusionMatrix expect(3, 3);
  expect << 2, 0, 0,  //
      1, 2, 0,        //
      0, 0, 1;
  CHECK(m == expect);
  // predicted classes in one column give the same
  MatD predicted(6, 1);
  predicted << 0, 0, 1, 2, 1, 0;
  CHECK(confusion_matrix(predicted, y, 3) == expect);
  const std::string text = confusion_matrix_text(m, {"cat", "dog", "eel"});
  INFO(text);
  // cat: precision 2/3, recall 2/2; dog: 2/2, 2/3; eel: 1/1, 1/1
  CHECK(has(text, "      cat    0.6667    1.0000         2"));
  CHECK(has(text, "      dog    1.0000    0.6667         3"));
  CHECK(has(text, "accuracy 0.8333 of 6 rows"));
  // a class never predicted has no precision
  ConfusionMatrix never = ConfusionMatrix::Zero(2, 2);
  never(0, 0) = 3;
  never(1, 0) = 1;
  CHECK(has(confusion_matrix_text(never), "        1         -    0.0000         1"));
  CHECK_THROWS_AS(confusion_matrix_text(m, {"a"}), value_error);
}

TEST_CASE("mean squared and absolute error") {
  const MatD p = plexus_test::random_matrix(4, 3, 1), t = plexus_test::random_matrix(4, 3, 2);
  CHECK(mean_squared_error(p, t) == doctest::Approx((p - t).squaredNorm() / 12).epsilon(1e-15));
  CHECK(mean_absolute_error(p, t) == doctest::Approx((p - t).cwiseAbs().sum() / 12).epsilon(1e-15));
  // the same numbers as the losses
  CHECK(mean_squared_error(p, t) == MSE<double>().value(p, t, MatD(4, 0)));
  CHECK(mean_absolute_error(p, t) == MAE<double>().value(p, t, MatD(4, 0)));
  const auto msg = message_of([&] { mean_squared_error(p, t.leftCols(2)); });
  CHECK(has(msg, "mean_squared_error: the prediction is 4x3 but the target is 4x2"));
  CHECK_THROWS_AS(mean_absolute_error(p.topRows(3), t), shape_error);
}

TEST_CASE("metrics: errors name both shapes, the row and the value") {
  MatD s = plexus_test::random_matrix(3, 4, 3), y(3, 1);
  y << 0, 1, 2.5;
  auto msg = message_of([&] { accuracy(s, y); });
  CHECK(has(msg, "accuracy: the label in row 2 is 2.5"));
  CHECK_THROWS_AS(accuracy(s, y), value_error);
  y << 0, 1, 4;
  CHECK(has(message_of([&] { confusion_matrix(s, y, 4); }), "confusion_matrix: the label in row 2 is 4"));
  msg = message_of([&] { accuracy(s, MatD::Zero(3, 2)); });
  CHECK(has(msg, "accuracy: labels are 3x2 but the scores are 3x4"));
  CHECK_THROWS_AS(accuracy(s, MatD::Zero(2, 1)), shape_error);
  CHECK_THROWS_AS(confusion_matrix(s, MatD::Zero(3, 1), 3), shape_error);
  CHECK_THROWS_AS(accuracy(MatD(0, 3), MatD(0, 1)), value_error);
  s(1, 2) = std::nan("");
  CHECK(has(message_of([&] { accuracy(s, MatD::Zero(3, 1)); }), "row 1 has NaN in column 2"));
}
