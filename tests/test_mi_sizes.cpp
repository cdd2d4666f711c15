// The matrix-inverse example at every size N (examples/matrix_inverse,
// --size N): the views of an N x N matrix are distinct exact maps, the
// sign-canonical form and its inverse, the distributions' knobs (range,
// determinant, filter), Charton's measure against its formula, the residual
// loss by finite differences, and the model metadata's round trip.
#include <doctest/doctest.h>

#include "model_io.hpp"
#include "views.hpp"

#include <plexus/testing/gradcheck.hpp>

#include <algorithm>
#include <set>
#include <vector>

using namespace mi;

namespace {

Eigen::MatrixXd draw_nxn(plexus::Index count, int n, const MatrixDistribution& d, std::uint64_t seed) {
  MatrixInverseSource<double> src(seed, {d, false, 1.0, false, n});
  Eigen::MatrixXd a(count, n * n), inv(count, n * n);
  src.fill(0, a, inv);
  return a;
}

// A stand-in for the network: the exact inverse of each input row.
void exact_inverse_nxn(const plexus::Matrix<double>& x, plexus::Matrix<double>& y) {
  const plexus::Index n = size_of_width(x.cols(), "exact_inverse_nxn");
  for (plexus::Index i = 0; i < x.rows(); ++i) {
    const SmallMatrix inv = small_inverse(matrix_of_row(x, i, n));
    for (plexus::Index j = 0; j < n * n; ++j) y(i, j) = inv(j / n, j % n);
  }
}

SmallMatrix square_nxn(const double* v, int n) {
  SmallMatrix m(n, n);
  for (int i = 0; i < n * n; ++i) m(i / n, i % n) = v[i];
  return m;
}

}  // namespace

TEST_CASE("example.sizes: the view codes of N x N matrices are distinct exact maps, code 0 the identity") {
  CHECK(view_codes(2) == 64);
  CHECK(view_codes(3) == 2304);
  CHECK(unsigned_view_codes(5) == 2 * 120 * 120);
  // 2 x 2: every code, all distinct
  {
    const Eigen::MatrixXd a = draw_nxn(1, 2, InverseDistribution::charton, 3);
    std::set<std::vector<double>> seen;
    for (ViewCode code = 0; code < view_codes(2); ++code) {
      std::vector<double> b(4);
      View::from_code(code, 2).apply(a.data(), b.data());
      seen.insert(b);
    }
    CHECK(seen.size() == view_codes(2));
  }
  for (int n : {2, 4, 5, 8}) {
    CAPTURE(n);
    const Eigen::MatrixXd a = draw_nxn(4, n, default_distribution(n), 7);
    const std::vector<ViewCode> table = view_table(kDefaultViewSeed, false, n);
    CHECK(table.size() == static_cast<std::size_t>(table_length(n, false)));
    CHECK(table[0] == 0);
    CHECK(std::set<ViewCode>(table.begin(), table.end()).size() == table.size());
    std::set<std::vector<double>> seen;
    plexus::Rng rng(9);
    for (plexus::Index s = 0; s < a.rows(); ++s) {
      const Eigen::Matrix<double, 1, Eigen::Dynamic> row = a.row(s);
      for (ViewCode code : table) {
        const View v = View::from_code(code, n);
        std::vector<double> b(static_cast<std::size_t>(n * n)), y(b.size()), x(b.size());
        v.apply(row.data(), b.data());
        if (s == 0) seen.insert(b);
        if (code == 0) CHECK(b == std::vector<double>(row.data(), row.data() + n * n));
        // ||A X - I|| equals the view's residual for any Y (X = map_back(Y))
        for (double& e : y) e = rng.uniform(-3, 3);
        v.map_back(y.data(), x.data());
        const SmallMatrix I = SmallMatrix::Identity(n, n);
        const double lhs = (square_nxn(row.data(), n) * square_nxn(x.data(), n) - I).norm();
        const double rhs = v.transpose ? (square_nxn(y.data(), n) * square_nxn(b.data(), n) - I).norm()
                                       : (square_nxn(b.data(), n) * square_nxn(y.data(), n) - I).norm();
        CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
      }
    }
    CHECK(seen.size() == table.size());  // the table's views are distinct maps of one matrix
    // averaging the exact inverse over the views returns it, signed and unsigned tables, with the canonical form
    for (bool canonical : {false, true}) {
      Convention c;
      c.normalize = true;
      c.canonical_signs = canonical;
      const std::vector<ViewCode> t = view_table(kDefaultViewSeed, canonical, n);
      const int k = static_cast<int>(t.size());
      const Eigen::MatrixXd x = predict_views<double>(exact_inverse_nxn, c, a, t, k);
      const std::vector<double> r = inverse_metrics(a, x).r;
      CHECK(*std::max_element(r.begin(), r.end()) < 1e-8);
    }
    CHECK_THROWS_AS(View::from_code(view_codes(n), n), plexus::value_error);
  }
  // 2 x 2 has 8 unsigned views: a canonical model's table holds them all
  const std::vector<ViewCode> u2 = view_table(kDefaultViewSeed, true, 2);
  CHECK(u2.size() == 8);
  // the 3 x 3 table is the one models recorded before other sizes
  CHECK(view_table(kDefaultViewSeed, false, 3) == view_table(kDefaultViewSeed));
  CHECK_THROWS_AS(View::from_code(0, 9), plexus::value_error);
  CHECK_THROWS_AS(View::from_code(0, 1), plexus::value_error);
}

TEST_CASE("example.sizes: the sign-canonical form of an N x N matrix and its inverse") {
  for (int n : {2, 4, 5, 7}) {
    CAPTURE(n);
    const Eigen::MatrixXd a = draw_nxn(200, n, default_distribution(n), 21);
    for (plexus::Index r = 0; r < a.rows(); ++r) {
      const Eigen::Matrix<double, 1, Eigen::Dynamic> row = a.row(r);
      std::vector<double> c(row.data(), row.data() + n * n);
      const SignCanon sc = SignCanon::of(row.data(), n);
      sc.apply(c.data());
      for (int j = 0; j < n; ++j) CHECK(c[static_cast<std::size_t>(j)] >= 0.0);
      for (int i = 1; i < n; ++i) CHECK(c[static_cast<std::size_t>(n * i)] >= 0.0);
      const SmallMatrix ci = small_inverse(square_nxn(c.data(), n));
      std::vector<double> y(c.size());
      for (int i = 0; i < n * n; ++i) y[static_cast<std::size_t>(i)] = ci(i / n, i % n);
      sc.restore(y.data());
      CHECK((square_nxn(row.data(), n) * square_nxn(y.data(), n) - SmallMatrix::Identity(n, n)).norm() < 1e-8);
    }
  }
}

TEST_CASE("example.sizes: the distributions' range, determinant and filter") {
  // --range LO HI: every entry in [LO, HI); the answer's filter |det| > T
  const MatrixDistribution filtered(-1, 1, false, 1, 0.1);
  const Eigen::MatrixXd a = draw_nxn(2000, 4, filtered, 5);
  CHECK(a.minCoeff() >= -1.0);
  CHECK(a.maxCoeff() < 1.0);
  CHECK(a.minCoeff() < -0.99);
  for (plexus::Index s = 0; s < a.rows(); ++s) CHECK(std::abs(small_det(matrix_of_row(a, s, 4))) > 0.1);
  // no filter: some determinants fall below 0.1 (about a tenth of 4 x 4 matrices with entries in [-1, 1))
  const Eigen::MatrixXd b = draw_nxn(2000, 4, MatrixDistribution(-1, 1, false, 1, 0), 5);
  int small = 0;
  for (plexus::Index s = 0; s < b.rows(); ++s) small += std::abs(small_det(matrix_of_row(b, s, 4))) < 0.1;
  CHECK(small > 20);
  // --det D: row 0 rescaled so that det = D exactly up to rounding; rows 1.. untouched in range
  for (double d : {1.0, -2.5}) {
    const Eigen::MatrixXd c = draw_nxn(500, 5, MatrixDistribution(0, 100, true, d, 0), 8);
    for (plexus::Index s = 0; s < c.rows(); ++s)
      CHECK(small_det(matrix_of_row(c, s, 5)) == doctest::Approx(d).epsilon(1e-8));
    CHECK(c.rightCols(20).minCoeff() >= 0.0);
  }
  // the presets
  CHECK(MatrixDistribution(InverseDistribution::charton).lo == -10);
  CHECK(MatrixDistribution(InverseDistribution::charton).min_det == 0);
  CHECK(MatrixDistribution(InverseDistribution::question).has_det);
  CHECK(default_distribution(3) == MatrixDistribution(InverseDistribution::answer));
  CHECK(default_distribution(5) == MatrixDistribution(InverseDistribution::charton));
  // refused: an empty range, a zero determinant, a filter every matrix fails
  CHECK_THROWS_AS(MatrixDistribution(1, 1, false, 1, 0), plexus::value_error);
  CHECK_THROWS_AS(MatrixDistribution(0, 1, true, 0, 0), plexus::value_error);
  CHECK_THROWS_AS(MatrixDistribution(0, 1, true, 0.5, 1), plexus::value_error);
  CHECK_THROWS_AS((MatrixInverseSource<double>(1, {filtered, false, 1.0, false, 9})), plexus::value_error);
}

TEST_CASE("example.sizes: Charton's measure and the residual against their formulas") {
  // A = diag(2, 4, 5, 1, 1), X = diag(0.5, 0.25, 0.2, 1, 1) + one error of 0.01 at (0, 1):
  // A X - I has a single non-zero entry 2 * 0.01 = 0.02, so e = 0.02 / 5 = 0.004 and r = 0.02.
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(2, 25), x = Eigen::MatrixXd::Zero(2, 25);
  const double diag[5] = {2, 4, 5, 1, 1};
  for (int i = 0; i < 5; ++i) a(0, 6 * i) = a(1, 6 * i) = diag[i], x(0, 6 * i) = x(1, 6 * i) = 1 / diag[i];
  x(0, 1) += 0.01;
  x(1, 1) += 0.2;  // e = 0.4 / 5 = 0.08, r = 0.4
  const InverseMetrics m = inverse_metrics(a, x);
  CHECK(m.size == 5);
  CHECK(m.r[0] == doctest::Approx(0.02));
  CHECK(m.r[1] == doctest::Approx(0.4));
  CHECK(m.charton[0] == 0.5);  // e < 0.05: the first only
  CHECK(m.charton[3] == 0.5);  // e < 0.005: 0.004, the first
  CHECK(m.median_r == doctest::Approx(0.21));
  CHECK_THROWS_AS(inverse_metrics(Eigen::MatrixXd::Zero(2, 24), Eigen::MatrixXd::Zero(2, 24)), plexus::shape_error);
}

TEST_CASE("example.sizes: the residual loss of N x N matrices by finite differences") {
  for (int n : {2, 5}) {
    InverseResidualLoss<double> loss(n, 1.5, 0.5, 1e-4);
    plexus::Rng rng(21);
    plexus::testing::MatD p(4, n * n), x(4, n * n);
    for (plexus::Index i = 0; i < p.size(); ++i) p(i) = rng.uniform(-1, 1), x(i) = rng.uniform(-2, 2);
    const plexus::testing::MatD none(4, 0);
    CAPTURE(n);
    CHECK(plexus::testing::check_loss_gradient(loss, p, none, x) < 1e-6);
  }
}

TEST_CASE("example.sizes: a model's size and distribution survive its metadata") {
  ModelMeta m;
  m.recipe = "train";
  m.size = 5;
  m.distribution = MatrixDistribution(-3, 7, true, -2, 0.5);
  const auto md = to_metadata(m);
  CHECK(md.at("distribution") == "custom");
  const ModelMeta back = from_metadata(md, "m.plx");
  CHECK(back.size == 5);
  CHECK(back.distribution == m.distribution);
  m.distribution = InverseDistribution::charton;
  CHECK(to_metadata(m).at("distribution") == "charton");
  CHECK(from_metadata(to_metadata(m), "m.plx").distribution == m.distribution);
  // files from before sizes: 3 x 3, the named distribution
  auto old = to_metadata(ModelMeta{});
  for (const char* k : {"size", "dist.lo", "dist.hi", "dist.det", "dist.min_det"}) old.erase(k);
  old["distribution"] = "question";
  const ModelMeta o = from_metadata(old, "m.plx");
  CHECK(o.size == 3);
  CHECK(o.distribution == MatrixDistribution(InverseDistribution::question));
  auto bad = md;
  bad["size"] = "12";
  CHECK_THROWS_AS(from_metadata(bad, "m.plx"), plexus::io_error);
  bad = md;
  bad["dist.hi"] = "-5";  // below lo
  CHECK_THROWS_AS(from_metadata(bad, "m.plx"), plexus::io_error);
  // a views.table entry of a code the size does not have
  CHECK_THROWS_AS(ViewSet::from_metadata({{"views.table", "0,64"}}, "m.plx", 2), plexus::io_error);
  CHECK_NOTHROW(ViewSet::from_metadata({{"views.table", "0,63"}}, "m.plx", 2));
}
