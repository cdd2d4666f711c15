// The classification and robust-regression losses: finite-difference
// gradients (double, every target form), values against direct formulas,
// extreme logits, every error message, and cutting a batch into parts.
#include "gradcheck.hpp"
#include "messages.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using plexus_test::random_matrix;
using MatD = Matrix<double>;

namespace {

constexpr double kLossTol = 1e-6;

// Labels 0..classes-1 in one column, from a seed.
MatD random_labels(Index rows, Index classes, std::uint64_t seed) {
  Rng rng(seed);
  MatD y(rows, 1);
  for (Index i = 0; i < rows; ++i) y(i, 0) = static_cast<double>(rng.next_u64() % static_cast<std::uint64_t>(classes));
  return y;
}

// Rows of positive values summing to 1.
MatD random_distributions(Index rows, Index classes, std::uint64_t seed) {
  MatD t = random_matrix(rows, classes, seed, 0.05, 1.0);
  for (Index i = 0; i < rows; ++i) t.row(i) /= t.row(i).sum();
  return t;
}

// -log softmax(z)_c for one row, written the naive way (fine for small z).
double naive_nll(const MatD& z, Index i, Index c) {
  double s = 0.0;
  for (Index k = 0; k < z.cols(); ++k) s += std::exp(z(i, k));
  return -std::log(std::exp(z(i, c)) / s);
}

}  // namespace

TEST_CASE("softmax cross-entropy: gradients for labels and probabilities, with and without smoothing") {
  const MatD z = random_matrix(7, 5, 11, -3.0, 3.0), none(7, 0);
  const MatD labels = random_labels(7, 5, 12), probs = random_distributions(7, 5, 13);
  MatD one_hot = MatD::Zero(7, 5);
  for (Index i = 0; i < 7; ++i) one_hot(i, static_cast<Index>(labels(i, 0))) = 1.0;
  for (double s : {0.0, 0.1, 1.0}) {
    SoftmaxCrossEntropy<double> ce(s);
    INFO("label smoothing " << s);
    CHECK(plexus_test::check_loss_gradient(ce, z, labels, none) < kLossTol);
    CHECK(plexus_test::check_loss_gradient(ce, z, probs, none) < kLossTol);
    CHECK(plexus_test::check_loss_gradient(ce, z, one_hot, none) < kLossTol);
    // labels and their one-hot rows are the same target
    MatD g1(7, 5), g2(7, 5);
    const double a = ce.value_and_gradient(z, labels, none, g1), b = ce.value_and_gradient(z, one_hot, none, g2);
    CHECK(a == doctest::Approx(b).epsilon(1e-14));
    CHECK((g1 - g2).cwiseAbs().maxCoeff() < 1e-16);
  }
  // probability rows need not sum to 1 (PyTorch's formula as is)
  SoftmaxCrossEntropy<double> ce;
  const MatD loose = random_matrix(7, 5, 14, 0.0, 1.0);
  CHECK(plexus_test::check_loss_gradient(ce, z, loose, none) < kLossTol);
}

TEST_CASE("softmax cross-entropy: values") {
  const MatD none(3, 0);
  SoftmaxCrossEntropy<double> ce;
  // equal logits: log C whatever the label
  CHECK(ce.value(MatD::Constant(3, 4, 0.7), MatD::Constant(3, 1, 2.0), none) ==
        doctest::Approx(std::log(4.0)).epsilon(1e-15));
  // logits (1, 2, 3), label 2: log(1 + e^-1 + e^-2)
  MatD z(1, 3), y(1, 1);
  z << 1, 2, 3;
  y << 2;
  CHECK(ce.value(z, y, MatD(1, 0)) == doctest::Approx(std::log(1 + std::exp(-1.0) + std::exp(-2.0))).epsilon(1e-15));
  // against the naive formula: a mean over rows of -sum_c q_c log p_c
  const MatD zz = random_matrix(6, 4, 21, -2.0, 2.0), labels = random_labels(6, 4, 22),
             probs = random_distributions(6, 4, 23);
  for (double s : {0.0, 0.2}) {
    SoftmaxCrossEntropy<double> smooth(s);
    double by_label = 0.0, by_prob = 0.0;
    for (Index i = 0; i < 6; ++i)
      for (Index c = 0; c < 4; ++c) {
        const double ql = (c == static_cast<Index>(labels(i, 0)) ? 1.0 - s : 0.0) + s / 4.0;
        const double qp = (1.0 - s) * probs(i, c) + s / 4.0;
        by_label += ql * naive_nll(zz, i, c) / 6.0;
        by_prob += qp * naive_nll(zz, i, c) / 6.0;
      }
    CHECK(smooth.value(zz, labels, MatD(6, 0)) == doctest::Approx(by_label).epsilon(1e-13));
    CHECK(smooth.value(zz, probs, MatD(6, 0)) == doctest::Approx(by_prob).epsilon(1e-13));
  }
}

TEST_CASE("softmax cross-entropy: extreme logits stay finite") {
  MatD z(2, 3), y(2, 1), g(2, 3);
  z << 1e4, -1e4, 0, -1e4, 1e4, 1e4;
  y << 0, 0;
  SoftmaxCrossEntropy<double> ce;
  const double v = ce.value_and_gradient(z, y, MatD(2, 0), g);
  // row 0 is right with certainty (loss 0); row 1 misses by 2e4 (+ log 2 for the two tied winners)
  CHECK(v == doctest::Approx((0.0 + 2e4 + std::log(2.0)) / 2).epsilon(1e-15));
  CHECK(g.allFinite());
  CHECK(g(1, 1) == doctest::Approx(0.25));  // softmax 1/2, over 2 rows
  Matrix<float> zf = z.cast<float>(), yf = y.cast<float>(), gf(2, 3);
  SoftmaxCrossEntropy<float> cef;
  CHECK(std::isfinite(cef.value_and_gradient(zf, yf, Matrix<float>(2, 0), gf)));
  CHECK(gf.allFinite());
  BinaryCrossEntropy<double> bce;
  MatD x(1, 4), t(1, 4), gb(1, 4);
  x << 1e4, -1e4, 1e4, -1e4;
  t << 1, 0, 0, 1;
  CHECK(bce.value_and_gradient(x, t, MatD(1, 0), gb) == doctest::Approx(2e4 / 4).epsilon(1e-15));
  CHECK(gb.allFinite());
  CHECK(gb(0, 0) == 0.0);
  CHECK(gb(0, 2) == doctest::Approx(0.25));
}

TEST_CASE("binary cross-entropy: gradients and values") {
  const MatD x = random_matrix(6, 3, 31, -4.0, 4.0), soft = random_matrix(6, 3, 32, 0.0, 1.0), none(6, 0);
  MatD hard = soft;
  for (Index i = 0; i < hard.size(); ++i) hard.data()[i] = hard.data()[i] > 0.5 ? 1.0 : 0.0;
  BinaryCrossEntropy<double> bce;
  CHECK(plexus_test::check_loss_gradient(bce, x, soft, none) < kLossTol);
  CHECK(plexus_test::check_loss_gradient(bce, x, hard, none) < kLossTol);
  // the mean over all 18 elements of -[t log s(x) + (1 - t) log(1 - s(x))]
  double expect = 0.0;
  for (Index i = 0; i < x.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-x.data()[i])), t = soft.data()[i];
    expect -= (t * std::log(s) + (1 - t) * std::log(1 - s)) / 18.0;
  }
  CHECK(bce.value(x, soft, none) == doctest::Approx(expect).epsilon(1e-13));
}

TEST_CASE("Huber and MAE: gradients away from the kinks, values, PyTorch's subgradient at 0") {
  // d = p - t placed at least 0.05 from the kinks (|d| = delta for Huber, 0 for MAE)
  MatD t = random_matrix(5, 4, 41), d = random_matrix(5, 4, 42, 0.05, 2.0);
  Rng rng(43);
  for (Index i = 0; i < d.size(); ++i) {
    if (std::abs(d.data()[i] - 1.0) < 0.05) d.data()[i] += 0.1;
    if (rng.uniform() < 0.5) d.data()[i] = -d.data()[i];
  }
  const MatD p = t + d, none(5, 0);
  Huber<double> huber;  // delta 1: both pieces are used
  MAE<double> mae;
  CHECK((d.array().abs() < 1.0).count() > 3);
  CHECK((d.array().abs() > 1.0).count() > 3);
  CHECK(plexus_test::check_loss_gradient(huber, p, t, none) < kLossTol);
  CHECK(plexus_test::check_loss_gradient(Huber<double>(0.3), p, t, none) < kLossTol);
  CHECK(plexus_test::check_loss_gradient(mae, p, t, none) < kLossTol);
  double h = 0.0, h03 = 0.0;
  for (Index i = 0; i < d.size(); ++i) {
    const double a = std::abs(d.data()[i]);
    h += (a < 1.0 ? 0.5 * a * a : a - 0.5) / 20.0;
    h03 += (a < 0.3 ? 0.5 * a * a : 0.3 * (a - 0.15)) / 20.0;
  }
  CHECK(huber.value(p, t, none) == doctest::Approx(h).epsilon(1e-14));
  CHECK(Huber<double>(0.3).value(p, t, none) == doctest::Approx(h03).epsilon(1e-14));
  CHECK(mae.value(p, t, none) == doctest::Approx(d.cwiseAbs().sum() / 20.0).epsilon(1e-14));
  // at p == t the gradient is 0 (sign(0) = 0), as torch.nn.L1Loss's
  MatD g(5, 4);
  mae.value_and_gradient(t, t, none, g);
  CHECK(g.cwiseAbs().maxCoeff() == 0.0);
  CHECK(mae.value(t, t, none) == 0.0);
}

TEST_CASE("losses: every error names the loss, the row and the value or both shapes") {
  const MatD z = random_matrix(3, 4, 51), none(3, 0);
  SoftmaxCrossEntropy<double> ce;
  MatD y(3, 1);
  y << 0, 3.5, 1;
  auto msg = message_of([&] { ce.value(z, y, none); });
  INFO(msg);
  CHECK(has(msg, "SoftmaxCrossEntropy: the label in row 1 is 3.5"));
  CHECK(has(msg, "0 to 3"));
  CHECK_THROWS_AS(ce.value(z, y, none), value_error);
  y << 0, 1, -1;
  CHECK(has(message_of([&] { ce.value(z, y, none); }), "row 2 is -1"));
  y << 4, 1, 1;
  CHECK(has(message_of([&] { ce.value(z, y, none); }), "row 0 is 4;"));
  y << 0, 1, std::nan("");
  CHECK(has(message_of([&] { ce.value(z, y, none); }), "row 2 is nan"));
  MatD probs = random_distributions(3, 4, 52);
  probs(2, 1) = 1.25;
  msg = message_of([&] { ce.value(z, probs, none); });
  CHECK(has(msg, "row 2, column 1 is 1.25"));
  // widths other than 1 and C
  msg = message_of([&] { ce.value(z, MatD::Zero(3, 2), none); });
  CHECK(has(msg, "target is 3x2 but the prediction is 3x4"));
  CHECK(has(msg, "1 column of class labels or 4 columns"));
  CHECK_THROWS_AS(ce.value(z, MatD::Zero(3, 2), none), shape_error);
  CHECK_THROWS_AS(ce.value(z, MatD::Zero(2, 1), none), shape_error);
  CHECK_THROWS_AS(SoftmaxCrossEntropy<double>(-0.1), value_error);
  CHECK_THROWS_AS(SoftmaxCrossEntropy<double>(1.5), value_error);

  BinaryCrossEntropy<double> bce;
  MatD t = MatD::Constant(3, 4, 0.5);
  t(1, 3) = -0.5;
  msg = message_of([&] { bce.value(z, t, none); });
  CHECK(has(msg, "BinaryCrossEntropy: the target in row 1, column 3 is -0.5"));
  // the element-wise losses keep MSE's message: no hint about labels
  msg = message_of([&] { bce.value(z, MatD::Zero(3, 1), none); });
  CHECK(has(msg, "BinaryCrossEntropy: target is 3x1 but the prediction is 3x4"));
  CHECK(!has(msg, "labels"));
  CHECK(has(message_of([&] { MSE<double>().value(z, MatD::Zero(3, 1), none); }),
            "MSE: target is 3x1 but the prediction is 3x4"));
  CHECK_THROWS_AS(Huber<double>(0.0), value_error);
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(Huber<double>{inf}, value_error);
  CHECK_THROWS_AS(MAE<double>().value(MatD(0, 4), MatD(0, 4), MatD(0, 0)), value_error);
  CHECK(has(message_of([&] { Huber<double>().value(z, MatD::Zero(3, 1), none); }), "Huber: target is 3x1"));
}

TEST_CASE("train_step with class labels: the width check takes one column, cut batches equal whole ones") {
  auto make = [] {
    Network<double> net;
    net.add(Dense<double>(6, Activation::tanh));
    net.add(Dense<double>(3));
    net.build(4, 5);
    return net;
  };
  const MatD x = random_matrix(40, 4, 61), y = random_labels(40, 3, 62);
  SoftmaxCrossEntropy<double> ce(0.05);
  auto a = make(), b = make();
  SGD<double> sa(a, SGDOptions{0.1}), sb(b, SGDOptions{0.1});
  StepOptions whole, parts;
  whole.micro_batch = 0;
  parts.micro_batch = 16;  // 3 parts
  for (int i = 0; i < 5; ++i) {
    const double la = train_step(a, ce, sa, x, y, whole), lb = train_step(b, ce, sb, x, y, parts);
    CHECK(la == doctest::Approx(lb).epsilon(1e-14));
  }
  CHECK((a.parameters() - b.parameters()).cwiseAbs().maxCoeff() < 1e-14);
  // a wrong width is refused by the loss, naming both shapes
  const auto msg = message_of([&] { train_step(a, ce, sa, x, MatD::Zero(40, 2), parts); });
  CHECK(has(msg, "target is 40x2 but the prediction is 40x3"));
}

namespace {
// (mean over the rows of the prediction's first column)^2: couples the rows.
class SquaredMeanLoss : public Loss<double> {
 public:
  explicit SquaredMeanLoss(bool claims_independent) : independent_(claims_independent) {}
  std::string name() const override { return "SquaredMean"; }
  bool needs_target() const override { return false; }
  bool rows_independent() const override { return independent_; }
  double evaluate(const ConstMatrixRef<double>& p, const ConstMatrixRef<double>& t, const ConstMatrixRef<double>& in,
                  MatrixRef<double>* grad) const override {
    check_common(p, t, in, grad);
    const double m = p.col(0).mean();
    if (grad) {
      grad->setZero();
      grad->col(0).setConstant(2.0 * m / static_cast<double>(p.rows()));
    }
    return m * m;
  }

 private:
  bool independent_;
};
}  // namespace

TEST_CASE("train_step refuses to cut a batch for a loss whose rows are not independent") {
  auto run = [](bool claims_independent, Index micro_batch) {
    Network<double> net;
    net.add(Dense<double>(2));
    net.build(3, 9);
    SGD<double> sgd(net, SGDOptions{0.1});
    SquaredMeanLoss loss(claims_independent);
    StepOptions so;
    so.micro_batch = micro_batch;
    const MatD x = random_matrix(12, 3, 71, 0.0, 2.0);
    for (int i = 0; i < 3; ++i) train_step(net, loss, sgd, x, MatD(12, 0), so);
    return Vector<double>(net.parameters());
  };
  const auto whole = run(false, 0);
  CHECK_THROWS_AS(run(false, 4), value_error);
  CHECK((run(false, 12) - whole).cwiseAbs().maxCoeff() == 0.0);  // a batch within micro_batch is not cut
  // the same loss claiming independence is cut into parts, and the result changes
  CHECK((run(true, 4) - whole).cwiseAbs().maxCoeff() > 1e-6);
}
