// The example's exact views (examples/matrix_inverse/views.hpp): the codes
// cover the whole group of signed row/column permutations and transposition,
// each view maps an inverse back exactly, averaging an exact inverse over
// views returns the inverse, one view is plain prediction bit for bit, and
// the table is reproducible and checked; the sign-canonical forms
// (--canonical signs); the Cauchy form of the residual loss by finite
// differences; and the shape of train's gated network.
#include <doctest/doctest.h>

#include "views.hpp"

#include <plexus/testing/gradcheck.hpp>

#include <algorithm>
#include <set>
#include <vector>

using namespace mi;

namespace {

Eigen::Matrix3d to3(const double* v) {
  Eigen::Matrix3d m;
  for (int i = 0; i < 9; ++i) m(i / 3, i % 3) = v[i];
  return m;
}

Eigen::MatrixXd random_matrices(plexus::Index n, std::uint64_t seed) {
  MatrixInverseSource<double> src(seed, {InverseDistribution::answer, false, 1.0});
  Eigen::MatrixXd a(n, 9), inv(n, 9);
  src.fill(0, a, inv);
  return a;
}

// The largest residual ||A X - I||_F over the rows of a and x.
double worst_residual(const Eigen::MatrixXd& a, const Eigen::MatrixXd& x) {
  const std::vector<double> r = inverse_metrics(a, x).r;
  return *std::max_element(r.begin(), r.end());
}

// A stand-in for the network: the exact inverse of each input row.
void exact_inverse(const plexus::Matrix<double>& x, plexus::Matrix<double>& y) {
  for (plexus::Index i = 0; i < x.rows(); ++i) {
    Eigen::Matrix<double, 1, 9> in = x.row(i);
    const Eigen::Matrix3d inv = to3(in.data()).inverse();
    for (int j = 0; j < 9; ++j) y(i, j) = inv(j / 3, j % 3);
  }
}

}  // namespace

TEST_CASE("example.views: the codes are the 2304 distinct maps of the group, code 0 the identity") {
  const Eigen::Matrix<double, 1, 9> a = random_matrices(1, 3).row(0);
  std::set<std::vector<double>> seen;
  for (ViewCode code = 0; code < kViewCodes; ++code) {
    std::vector<double> b(9);
    View::from_code(code).apply(a.data(), b.data());
    seen.insert(b);
    if (code == 0)
      for (int i = 0; i < 9; ++i) CHECK(b[static_cast<std::size_t>(i)] == a(i));
  }
  CHECK(seen.size() == static_cast<std::size_t>(kViewCodes));
  CHECK_THROWS_AS(View::from_code(kViewCodes), plexus::value_error);
}

TEST_CASE("example.views: map algebra, ||A X - I|| equals the view's residual for any Y") {
  // X = map_back(Y) with B = P op(A) Q: A X - I = P^T (B Y - I) P without
  // the transpose, Q (Y B - I)^T Q^T with it; the norms agree.
  const Eigen::MatrixXd a = random_matrices(20, 5);
  plexus::Rng rng(9);
  for (plexus::Index s = 0; s < a.rows(); ++s) {
    const Eigen::Matrix<double, 1, 9> row = a.row(s);
    for (ViewCode code = 0; code < kViewCodes; code += 7) {
      const View v = View::from_code(code);
      double b[9], y[9], x[9];
      v.apply(row.data(), b);
      for (double& e : y) e = rng.uniform(-3, 3);
      v.map_back(y, x);
      const Eigen::Matrix3d I = Eigen::Matrix3d::Identity();
      const double lhs = (to3(row.data()) * to3(x) - I).norm();
      const double rhs = v.transpose ? (to3(y) * to3(b) - I).norm() : (to3(b) * to3(y) - I).norm();
      CAPTURE(code);
      CHECK(lhs == doctest::Approx(rhs).epsilon(1e-13));
    }
  }
}

TEST_CASE("example.views: averaging the exact inverse over views returns the inverse") {
  const Eigen::MatrixXd a = random_matrices(300, 7);
  const std::vector<ViewCode> table = view_table(kDefaultViewSeed);
  for (bool normalize : {false, true})
    for (int k : {1, 2, 16, 64}) {
      Convention c;
      c.normalize = normalize;
      const Eigen::MatrixXd x = predict_views<double>(exact_inverse, c, a, table, k);
      const double worst = worst_residual(a, x);
      CAPTURE(k);
      CAPTURE(normalize);
      CHECK(worst < 1e-9);
    }
}

TEST_CASE("example.views: a non-equivariant network differs per view, and one view is plain prediction bit for bit") {
  Arch arch{16, 8, 1, 2};
  auto net = concat_resnet<float>(arch);
  net.build(9, 4);
  // give the zero-initialised block outputs weights, so the network is not near-linear
  plexus::Rng rng(11);
  for (plexus::Index i = 0; i < net.parameters().size(); ++i)
    net.parameters()[i] += static_cast<float>(rng.uniform(-0.3, 0.3));
  Convention c;
  c.normalize = true;
  c.output_scale = 1.0;
  const Eigen::MatrixXd a = random_matrices(5000, 13);  // more than one chunk of rows
  const std::vector<ViewCode> table = view_table(kDefaultViewSeed);
  auto run = [&](const plexus::Matrix<float>& x, plexus::Matrix<float>& y) { net.predict(x, y); };
  const Eigen::MatrixXd one = predict_views<float>(run, c, a, table, 1);
  const Eigen::MatrixXd plain = predict_inverse(net, c, a);
  CHECK((one.array() == plain.array()).all());
  CAPTURE((one - plain).cwiseAbs().maxCoeff());
  CHECK((one - plain).cwiseAbs().maxCoeff() == 0.0);
  const Eigen::MatrixXd eight = predict_views<float>(run, c, a, table, 8);
  CHECK((eight - plain).cwiseAbs().maxCoeff() > 1e-3);                                // the views do change the answer
  CHECK((predict_views<float>(run, c, a, table, 8).array() == eight.array()).all());  // reproducible
}

TEST_CASE("example.views: the table is seeded, recorded and checked") {
  const std::vector<ViewCode> t1 = view_table(kDefaultViewSeed), t2 = view_table(kDefaultViewSeed), t3 = view_table(2);
  CHECK(t1 == t2);
  CHECK(t1 != t3);
  REQUIRE(t1.size() == static_cast<std::size_t>(kMaxViews));
  CHECK(t1[0] == 0);
  CHECK(std::set<ViewCode>(t1.begin(), t1.end()).size() == t1.size());
  // a model without a table gets the default one
  const ViewSet none = ViewSet::from_metadata({}, "m.plx");
  CHECK(!none.recorded);
  CHECK(none.codes == t1);
  CHECK(none.default_views == kDefaultViews);
  // the metadata train writes reads back
  ViewSet v;
  v.seed = 2, v.codes = t3, v.default_views = 5;
  const ViewSet back = ViewSet::from_metadata(v.metadata(), "m.plx");
  CHECK(back.recorded);
  CHECK(back.codes == t3);
  CHECK(back.seed == 2);
  CHECK(back.default_views == 5);
  for (const char* bad : {"", "0,abc", "1,2,3", "0,2304", "0,-1", "0,,3"})
    CHECK_THROWS_AS(ViewSet::from_metadata({{"views.table", bad}}, "m.plx"), plexus::io_error);
  CHECK_THROWS_AS(ViewSet::from_metadata({{"views.table", "0,1"}, {"views.default", "3"}}, "m.plx"), plexus::io_error);
  CHECK_THROWS_AS(check_views(0, t1), plexus::value_error);
  CHECK_THROWS_AS(check_views(kMaxViews + 1, t1), plexus::value_error);
  CHECK_NOTHROW(check_views(kMaxViews, t1));
  Convention c;
  CHECK_THROWS_AS(predict_views<double>(exact_inverse, c, random_matrices(3, 1), t1, 0), plexus::value_error);
}

TEST_CASE("example.canonical: sign-canonical forms, their inverses, the source and the unsigned table") {
  const Eigen::MatrixXd a = random_matrices(500, 21);
  for (plexus::Index r = 0; r < a.rows(); ++r) {
    Eigen::Matrix<double, 1, 9> row = a.row(r);
    const Eigen::Matrix3d A = to3(row.data());
    const SignCanon sc = SignCanon::of(row.data());
    double c[9];
    for (int i = 0; i < 9; ++i) c[i] = row(i);
    sc.apply(c);
    for (int j = 0; j < 3; ++j) CHECK(c[j] >= 0.0);      // first row
    for (int i = 1; i < 3; ++i) CHECK(c[3 * i] >= 0.0);  // first column
    for (int i = 0; i < 9; ++i) CHECK(std::abs(c[i]) == std::abs(row(i)));
    // every signed flip of A has the same canonical form
    const View flip = View::from_code(((r % 8) * 12 + (r % 4) * 576) % kViewCodes);  // signs only
    double b[9], cb[9];
    flip.apply(row.data(), b);
    for (int i = 0; i < 9; ++i) cb[i] = b[i];
    SignCanon::of(b).apply(cb);
    for (int i = 0; i < 9; ++i) CHECK(cb[i] == c[i]);
    // the inverse of C restored is the inverse of A
    const Eigen::Matrix3d ci = to3(c).inverse();
    double y[9];
    for (int i = 0; i < 9; ++i) y[i] = ci(i / 3, i % 3);
    sc.restore(y);
    CHECK((A * to3(y) - Eigen::Matrix3d::Identity()).norm() < 1e-10);
  }
  // the source draws canonical inputs and their inverses as targets
  MatrixInverseSource<double> src(5, {InverseDistribution::answer, true, 1.0, true});
  Eigen::MatrixXd x(200, 9), t(200, 9);
  src.fill(0, x, t);
  for (plexus::Index r = 0; r < x.rows(); ++r) {
    const Eigen::Matrix<double, 1, 9> xr = x.row(r), tr = t.row(r);
    CHECK((xr.array().head(3) >= 0).all());
    CHECK(xr(3) >= 0);
    CHECK(xr(6) >= 0);
    CHECK((to3(xr.data()) * to3(tr.data()) - Eigen::Matrix3d::Identity()).norm() < 1e-9);
  }
  // the table of a canonical model: all 72 unsigned views, distinct, the identity first
  const std::vector<ViewCode> u = view_table(kDefaultViewSeed, true);
  REQUIRE(u.size() == static_cast<std::size_t>(kUnsignedViewCodes));
  CHECK(u[0] == 0);
  CHECK(std::set<ViewCode>(u.begin(), u.end()).size() == u.size());
  for (ViewCode code : u) {
    const View v = View::from_code(code);
    for (int i = 0; i < 3; ++i) CHECK((v.s[i] == 1.0 && v.t[i] == 1.0));
  }
  // predicting through the canonical form: exact inverses stay exact, and one
  // view is predict_inverse bit for bit
  Convention c;
  c.normalize = true;
  c.canonical_signs = true;
  for (int k : {1, 8, 64}) {
    const Eigen::MatrixXd xi = predict_views<double>(exact_inverse, c, a, u, k);
    const double worst = worst_residual(a, xi);
    CAPTURE(k);
    CHECK(worst < 1e-9);
  }
  Arch arch{16, 8, 1, 2};
  auto net = concat_resnet<float>(arch);
  net.build(9, 4);
  plexus::Rng rng(3);
  for (plexus::Index i = 0; i < net.parameters().size(); ++i)
    net.parameters()[i] += static_cast<float>(rng.uniform(-0.3, 0.3));
  auto run = [&](const plexus::Matrix<float>& x, plexus::Matrix<float>& y) { net.predict(x, y); };
  const Eigen::MatrixXd once = predict_views<float>(run, c, a, u, 1), plain = predict_inverse(net, c, a);
  CHECK((once.array() == plain.array()).all());
  // a signed flip of every input gives the same answer, flipped exactly
  Eigen::MatrixXd flipped(a.rows(), 9);
  const View flip = View::from_code(12 * 5 + 576 * 3);
  for (plexus::Index r = 0; r < a.rows(); ++r) {
    const Eigen::Matrix<double, 1, 9> row = a.row(r);
    Eigen::Matrix<double, 1, 9> b;
    flip.apply(row.data(), b.data());
    flipped.row(r) = b;
  }
  const Eigen::MatrixXd pf = predict_inverse(net, c, flipped);
  for (plexus::Index r = 0; r < a.rows(); ++r) {
    const Eigen::Matrix<double, 1, 9> yr = pf.row(r);
    Eigen::Matrix<double, 1, 9> back;
    flip.map_back(yr.data(), back.data());
    CHECK((back - plain.row(r)).cwiseAbs().maxCoeff() == 0.0);
  }
  // without the canonical form the network answers a flipped input differently
  Convention plain_c = c;
  plain_c.canonical_signs = false;
  const Eigen::MatrixXd pn = predict_inverse(net, plain_c, flipped), pa = predict_inverse(net, plain_c, a);
  double differs = 0;
  for (plexus::Index r = 0; r < a.rows(); ++r) {
    const Eigen::Matrix<double, 1, 9> yr = pn.row(r);
    Eigen::Matrix<double, 1, 9> back;
    flip.map_back(yr.data(), back.data());
    differs = std::max(differs, (back - pa.row(r)).cwiseAbs().maxCoeff());
  }
  CHECK(differs > 1e-3);
}

TEST_CASE("example.loss: the Cauchy loss (--loss-power 0 --loss-scale c) by finite differences") {
  // log(r^2 + c^2) / 2: the residual loss at power 0 with eps = c^2, as train builds it
  for (double c : {1e-2, 1e-1, 1.0}) {
    InverseResidualLoss<double> loss(3, 1.0, 0.0, c * c);
    plexus::Rng rng(21);
    plexus::testing::MatD p(6, 9), x(6, 9);
    for (plexus::Index i = 0; i < p.size(); ++i) p(i) = rng.uniform(-1, 1), x(i) = rng.uniform(-2, 2);
    const plexus::testing::MatD none(6, 0);
    CAPTURE(c);
    CHECK(plexus::testing::check_loss_gradient(loss, p, none, x) < 1e-6);
    double expect = 0;
    for (plexus::Index s = 0; s < 6; ++s) {
      const Eigen::Matrix<double, 1, 9> ar = x.row(s), pr = p.row(s);
      const double r2 = (to3(ar.data()) * to3(pr.data()) - Eigen::Matrix3d::Identity()).squaredNorm();
      expect += 0.5 * std::log(1.0 + r2 / (c * c)) + std::log(c);  // the Cauchy loss, plus its constant
    }
    CHECK(loss.value(p, none, x) == doctest::Approx(expect / 6).epsilon(1e-12));
  }
}

TEST_CASE(
    "example.gated: train's gated concat-ResNet has Dense(2 growth) -> GLU growth layers, as to_torch.py builds") {
  Arch plain{16, 8, 2, 3};
  Arch gated = plain;
  gated.gated = true;
  gated.gate = plexus::Activation::relu;
  auto p = concat_resnet<double>(plain), g = concat_resnet<double>(gated);
  p.build(9, 1);
  g.build(9, 1);
  // Per block, growth layer i reads width + i growth columns: plain it has
  // growth units, gated 2 growth (the GLU halves them back to growth).
  const plexus::Index w = 16, k = 8, layers = 3, blocks = 2;
  plexus::Index grow_plain = 0, grow_gated = 0;
  for (plexus::Index i = 0; i < layers; ++i)
    grow_plain += (w + i * k) * k + k, grow_gated += (w + i * k) * 2 * k + 2 * k;
  const plexus::Index rest = (9 * w + w) + blocks * ((w + layers * k) * w + w) + (w * 9 + 9);
  CHECK(p.parameter_count() == rest + blocks * grow_plain);
  CHECK(g.parameter_count() == rest + blocks * grow_gated);
  CHECK(g.output_width() == 9);
  // The first growth layer of the first block: Concat(Sequential(Dense(16), GLU(relu))).
  const auto& concat = g.layers()[1].child(0).child(0);
  CHECK(concat.kind() == "Concat");
  CHECK(concat.child(0).child(0).output_width() == 2 * k);
  const auto& glu = dynamic_cast<const plexus::GLU<double>&>(concat.child(0).child(1));
  CHECK(glu.gate().kind() == plexus::Activation::relu);
  CHECK(concat.output_width() == w + k);
}
