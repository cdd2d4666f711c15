// Half precision: the conversions (exhaustively for halves, and against the
// F16C instructions where the build has them), the half x float dot
// product, and HalfPredictor: rounded weights, one-row and batch paths that
// agree, independence from the original network and from the thread count,
// and errors for weights a half cannot hold.
#include "engines.hpp"
#include "gradcheck.hpp"
#include "messages.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#if defined(__F16C__)
#include <immintrin.h>
#endif

using namespace plexus;
using plexus_test::from_bits;
using plexus_test::has;
using plexus_test::message_of;

namespace {

bool finite_half(std::uint16_t h) { return ((h >> 10) & 0x1f) != 0x1f; }

// Every Dense weight of the answer-like test network, with a non-zero last
// layer in each block so that every product matters.
Network<float> test_net(std::uint64_t seed) {
  auto net = plexus_test::answer_like<float>(24, 16, 2, 3, 9, Init::glorot_uniform);
  net.build(9, seed);
  return net;
}

Matrix<float> random_rows(Index rows, Index cols, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  Matrix<float> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = u(g);
  return m;
}

}  // namespace

TEST_CASE("half: known values and an exact round trip for every finite half") {
  CHECK(half_to_float(0x3c00) == 1.0f);
  CHECK(half_to_float(0xc000) == -2.0f);
  CHECK(half_to_float(0x7bff) == 65504.0f);
  CHECK(half_to_float(0x0400) == std::ldexp(1.0f, -14));
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(std::isinf(half_to_float(0x7c00)));
  CHECK(std::isnan(half_to_float(0x7e00)));
  CHECK(std::signbit(half_to_float(0x8000)));
  int checked = 0;
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const auto b = static_cast<std::uint16_t>(h);
    if (!finite_half(b)) continue;
    REQUIRE(float_to_half(half_to_float(b)) == b);
    ++checked;
  }
  CHECK(checked == 63488);
}

TEST_CASE("half: float_to_half rounds to nearest, ties to even, and saturates to infinity") {
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie: down to even
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie: up to even
  CHECK(float_to_half(65519.0f) == 0x7bff);
  CHECK(float_to_half(65520.0f) == 0x7c00);
  CHECK(float_to_half(-1e30f) == 0xfc00);
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);  // tie with zero: even
  CHECK(float_to_half(std::ldexp(1.5f, -25)) == 0x0001);  // 0.75 of the smallest subnormal
  CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);  // tie between 1 and 2: even
  CHECK(float_to_half(std::ldexp(1.0f, -14) * (1 - std::ldexp(1.0f, -12))) == 0x0400);  // up into the normals
  CHECK(float_to_half(-0.0f) == 0x8000);
  CHECK(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));

  // Nearest for random floats across the half range (and its subnormals).
  std::mt19937 g(7);
  std::uniform_int_distribution<std::uint32_t> bits(0x30000000u, 0x477fefffu);  // 2^-31 .. below 65520
  for (int t = 0; t < 200000; ++t) {
    const float f = from_bits(bits(g));
    const std::uint16_t r = float_to_half(f);
    const double d = std::abs(double(f) - half_to_float(r));
    const double up = std::abs(double(f) - half_to_float(static_cast<std::uint16_t>(r + 1)));
    const double down = r == 0 ? 1e300 : std::abs(double(f) - half_to_float(static_cast<std::uint16_t>(r - 1)));
    REQUIRE(d <= up);
    REQUIRE(d <= down);
    if (d == up || d == down) REQUIRE((r & 1) == 0);
  }
}

#if defined(__F16C__)
TEST_CASE("half: the conversions agree with the F16C instructions") {
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const float a = half_to_float(static_cast<std::uint16_t>(h)), b = _cvtsh_ss(static_cast<unsigned short>(h));
    if (std::isnan(b)) REQUIRE(std::isnan(a));
    else REQUIRE(std::memcmp(&a, &b, sizeof a) == 0);
  }
  std::mt19937 g(11);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int t = 0; t < 1000000; ++t) {
    const float f = from_bits(bits(g));
    if (std::isnan(f)) continue;
    const int f16c = _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0);
    REQUIRE(float_to_half(f) == f16c);
  }
}
#endif

TEST_CASE("half: dot_half matches a double-precision sum") {
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (Index n : {0, 1, 9, 15, 16, 17, 31, 32, 33, 100, 1152}) {
    std::vector<std::uint16_t> w(static_cast<std::size_t>(n));
    std::vector<float> x(static_cast<std::size_t>(n));
    double ref = 0, scale = 0;
    for (Index i = 0; i < n; ++i) {
      w[i] = float_to_half(u(g));
      x[i] = u(g);
      ref += double(half_to_float(w[i])) * x[i];
      scale += std::abs(double(half_to_float(w[i])) * x[i]);
    }
    CAPTURE(n);
    CHECK(std::abs(detail::dot_half(w.data(), x.data(), n) - ref) <= 1e-6 * scale + 1e-30);
  }
}

TEST_CASE("HalfPredictor: rounded weights, and one-row and batch predictions agree") {
  auto net = test_net(5);
  const Vector<float> before = net.parameters();
  HalfPredictor<float> fast(net);
  CHECK(net.parameters() == before);  // the original is untouched
  CHECK(fast.input_width() == 9);
  CHECK(fast.output_width() == 9);

  // Weights moved to the nearest half, biases kept; something did move.
  const Vector<float>& p = fast.network().parameters();
  REQUIRE(p.size() == before.size());
  Index moved = 0;
  std::size_t weights = 0;
  std::vector<bool> is_weight(static_cast<std::size_t>(p.size()), false);
  {
    Network<float> copy(fast.network());  // where each W sits in the flat parameters
    for (Dense<float>* d : dense_layers<float>(copy.layers())) {
      const auto offset = static_cast<std::size_t>(d->weight().data() - copy.parameters().data());
      for (Index i = 0; i < d->weight().size(); ++i) is_weight[offset + static_cast<std::size_t>(i)] = true;
      weights += static_cast<std::size_t>(d->weight().size());
    }
  }
  CHECK(fast.half_bytes() == 2 * weights);
  for (Index i = 0; i < p.size(); ++i) {
    const float w = before[i], r = p[i];
    if (!is_weight[static_cast<std::size_t>(i)]) {
      REQUIRE(r == w);
      continue;
    }
    REQUIRE(r == half_to_float(float_to_half(w)));
    REQUIRE(std::abs(r - w) <= std::max(std::ldexp(std::abs(w), -11), std::ldexp(1.0f, -25)));
    moved += r != w;
  }
  CHECK(moved > p.size() / 2);

  const Index n = 40;
  const Matrix<float> x = random_rows(n, 9, 1);
  const Matrix<float> batch = fast.predict(x), orig = net.predict(x);
  Matrix<float> one(1, 9);
  double worst = 0, scale = batch.cwiseAbs().maxCoeff(), from_original = 0;
  for (Index r = 0; r < n; ++r) {
    fast.predict(x.row(r), one);
    worst = std::max(worst, double((one - batch.row(r)).cwiseAbs().maxCoeff()));
  }
  from_original = (batch - orig).cwiseAbs().maxCoeff();
  CHECK(worst <= 1e-5 * scale);
  // The rounding shows in the outputs, and only a little.
  CHECK(from_original > 0);
  CHECK(from_original <= 1e-2 * scale);

  // The same predictions in double precision with the rounded weights.
  auto ref = plexus_test::answer_like<double>(24, 16, 2, 3, 9, Init::glorot_uniform);
  ref.build(9, 0);
  ref.parameters() = p.cast<double>();
  const Matrix<double> yd = ref.predict(x.cast<double>());
  CHECK((batch.cast<double>() - yd).cwiseAbs().maxCoeff() <= 1e-5 * scale);
}

TEST_CASE("HalfPredictor: a snapshot, independent of later changes, copies, moves and thread count") {
  auto net = test_net(8);
  HalfPredictor<float> fast(net);
  const Matrix<float> x = random_rows(1, 9, 2);
  const Matrix<float> y0 = fast.predict(x);
  net.parameters().setZero();
  CHECK(fast.predict(x) == y0);

  HalfPredictor<float> copy(fast);
  CHECK(copy.predict(x) == y0);
  HalfPredictor<float> moved(std::move(copy));
  CHECK(moved.predict(x) == y0);
  HalfPredictor<float> assigned(test_net(9));
  assigned = moved;
  CHECK(assigned.predict(x) == y0);

  // A copy of the frozen network is an ordinary network over the rounded
  // weights: its float one-row path gives the same values up to rounding.
  Network<float> plain(fast.network());
  CHECK((plain.predict(x) - y0).cwiseAbs().maxCoeff() <= 1e-5 * y0.cwiseAbs().maxCoeff());

#if defined(_OPENMP)
  // A wide network, so the one-row path splits its columns over threads.
  auto wide = plexus_test::answer_like<float>(256, 128, 1, 2, 9, Init::glorot_uniform);
  wide.build(9, 4);
  HalfPredictor<float> w(wide);
  const int saved = num_threads();
  set_num_threads(1);
  const Matrix<float> a = w.predict(x);
  set_num_threads(3);
  const Matrix<float> b = w.predict(x);
  set_num_threads(saved);
  CHECK(a == b);
#endif
}

TEST_CASE("HalfPredictor: double networks") {
  auto net = plexus_test::answer_like<double>(24, 16, 1, 2, 9, Init::glorot_uniform);
  net.build(9, 3);
  HalfPredictor<double> fast(net);
  const Matrix<double> x = random_rows(6, 9, 4).cast<double>();
  const Matrix<double> batch = fast.predict(x);
  for (Index r = 0; r < x.rows(); ++r) {
    const Matrix<double> one = fast.predict(x.row(r));
    CHECK((one - batch.row(r)).cwiseAbs().maxCoeff() <= 1e-12 * batch.cwiseAbs().maxCoeff());
  }
}

TEST_CASE("HalfPredictor: errors name the layer, the entry and the value") {
  Network<float> unbuilt;
  unbuilt.add(Dense<float>(3));
  CHECK(has(message_of([&] { HalfPredictor<float> h(unbuilt); }), "not built"));

  auto net = test_net(1);
  auto& first = dynamic_cast<Dense<float>&>(net.layers()[0]);
  first.weight()(2, 5) = 1e5f;
  std::string m = message_of([&] { HalfPredictor<float> h(net); });
  CHECK_MESSAGE(has(m, "Dense(9 -> 24, relu)"), m);
  CHECK_MESSAGE(has(m, "weight (2, 5)"), m);
  CHECK_MESSAGE(has(m, "65504"), m);
  CHECK_THROWS_AS(HalfPredictor<float>{net}, value_error);

  first.weight()(2, 5) = std::numeric_limits<float>::quiet_NaN();
  m = message_of([&] { HalfPredictor<float> h(net); });
  CHECK_MESSAGE(has(m, "not finite"), m);

  first.weight()(2, 5) = 65504.0f;  // the largest half is fine
  HalfPredictor<float> ok(net);
  const Matrix<float> bad = Matrix<float>::Zero(1, 8);
  m = message_of([&] { ok.predict(bad); });
  CHECK_MESSAGE(has(m, "1x8"), m);
}

namespace {

// A layer of the test's own, with no steps of its own for the one-row plan: y = 2x.
class Doubling : public LayerBase<Doubling, float> {
 public:
  static constexpr const char* kind_name = "Doubling";

 protected:
  Index build_shape(Index w) override { return w; }
  void forward_impl(const ConstMatrixRef<float>& x, MatrixRef<float> y, const ForwardContext&) override { y = 2 * x; }
  void backward_impl(const ConstMatrixRef<float>&, const ConstMatrixRef<float>&, MatrixRef<float> dy,
                     MatrixRef<float> dx, GradientMode mode) override {
    if (mode == GradientMode::add) dx += 2 * dy;
    else dx = 2 * dy;
  }
};

// One-row predictions of `p` (a Network or a HalfPredictor) against the
// layers' own one-row pass (Sequential::forward, walked layer by layer) of
// `net`, for 1, 2 and 3 threads: bit for bit when `exact`, else within
// `tolerance` of the largest output (16-bit weights are summed by another
// kernel than the float layers'), and bit-identical across thread counts.
template <typename P>
void check_plan_matches_layers(const P& p, Network<float>& net, bool exact = true, float tolerance = 0) {
  const int saved = num_threads();
  for (unsigned seed = 1; seed <= 3; ++seed) {
    const Matrix<float> x = random_rows(1, net.input_width(), seed);
    set_num_threads(1);
    Matrix<float> ref(1, net.output_width());
    net.layers().forward(x, ref);
    set_num_threads(1);
    const Matrix<float> first = p.predict(x);
    if (exact) REQUIRE(first == ref);  // bit for bit
    else REQUIRE((first - ref).cwiseAbs().maxCoeff() <= tolerance * ref.cwiseAbs().maxCoeff());
    for (int t : {1, 2, 3}) {
      set_num_threads(t);
      CAPTURE(t);
      REQUIRE(p.predict(x) == first);
      // Into a row of a taller matrix (outer stride 3).
      Matrix<float> tall = Matrix<float>::Zero(3, net.output_width());
      Eigen::Map<Matrix<float>, 0, Eigen::OuterStride<>> row(tall.data() + 1, 1, net.output_width(),
                                                             Eigen::OuterStride<>(3));
      p.predict(x, row);
      REQUIRE(Matrix<float>(tall.row(1)) == first);
      REQUIRE(tall.row(0).isZero());
      REQUIRE(tall.row(2).isZero());
    }
  }
  set_num_threads(saved);
}

// Both one-row paths that use the plan: the float network's and its 16-bit snapshot's.
void check_both(Network<float>& net, std::size_t steps) {
  CHECK(net.one_row_steps() == steps);
  check_plan_matches_layers(net, net);
  HalfPredictor<float> fast(net);
  CHECK(fast.one_row_steps() == steps);
  // network() is const for users; the layers' own pass needs their buffers.
  check_plan_matches_layers(fast, const_cast<Network<float>&>(fast.network()), false, 1e-5f);
}

}  // namespace

TEST_CASE("one-row prediction through the laid-out plan equals the layers' own pass, bit for bit") {
  SUBCASE("the answer's shape: a step per Dense (each block's skip added inside its last) and a copy per block") {
    auto net = plexus_test::answer_like<float>(256, 128, 2, 3, 9, Init::glorot_uniform);  // wide enough to split
    net.build(9, 21);
    check_both(net, 1 + 2 * (1 + 3 + 1) + 1);  // the copy: a block's input into its concat buffer
  }
  SUBCASE("activation layers, a Concat first in a Sequential, Residuals ending otherwise, nesting") {
    Network<float> net;
    net.add(Dense<float>(40, Activation::tanh));
    Sequential<float> body;  // Residual's body: starts with a Concat (the input is copied), ends in an activation
    body.add(Concat<float>(Dense<float>(24, Activation::sigmoid)));
    body.add(Concat<float>(ReLU<float>()));
    body.add(Dense<float>(40));
    body.add(Tanh<float>());
    net.add(Residual<float>(std::move(body)));
    net.add(Residual<float>(Dense<float>(40, Activation::relu)));                   // body is one Dense: fused
    net.add(Residual<float>(std::make_unique<Residual<float>>(Dense<float>(40))));  // nested
    net.add(Residual<float>(Sequential<float>()));                                  // empty body: 2x
    net.add(Concat<float>(Sequential<float>()));                                    // [x | x]
    net.add(ActivationLayer<float>(Activation::relu));
    net.add(Dense<float>(9));
    net.build(9, 22);
    // dense; (copy, dense, activate, dense, activate, add); dense with the skip;
    // (dense with the inner skip, add); (copy, add); copy (the Concat's input
    // is already in place); activate; dense
    check_both(net, 1 + 6 + 1 + 2 + 2 + 1 + 1 + 1);
  }
}

TEST_CASE("a layer with no steps of its own runs on the one-row plan as one opaque step") {
  {
    Network<float> net;
    net.add(Dense<float>(32, Activation::relu));
    net.add(Doubling());
    net.add(Residual<float>(Doubling()));  // opaque body: the skip is an add of its own
    net.add(Dense<float>(9));
    net.build(9, 23);
    CHECK(net.one_row_steps() == 5);
    HalfPredictor<float> fast(net);
    CHECK(fast.one_row_steps() == 5);
    check_plan_matches_layers(net, net);
    const Matrix<float> x = random_rows(4, 9, 5);
    const Matrix<float> float_batch = net.predict(x);
    for (Index r = 0; r < x.rows(); ++r)
      CHECK((net.predict(x.row(r)) - float_batch.row(r)).cwiseAbs().maxCoeff() <=
            1e-5f * float_batch.cwiseAbs().maxCoeff());
    const Matrix<float> batch = fast.predict(x);
    for (Index r = 0; r < x.rows(); ++r)
      CHECK((fast.predict(x.row(r)) - batch.row(r)).cwiseAbs().maxCoeff() <= 1e-5f * batch.cwiseAbs().maxCoeff());
  }
}

#if defined(_OPENMP)
TEST_CASE("HalfPredictor: one-row calls from the caller's own parallel region run serially, same values") {
  auto net = plexus_test::answer_like<float>(256, 128, 1, 2, 9, Init::glorot_uniform);
  net.build(9, 24);
  const HalfPredictor<float> fast(net);
  REQUIRE(fast.one_row_steps() > 0);
  const Matrix<float> x = random_rows(1, 9, 6);
  const Matrix<float> ref = fast.predict(x);
  std::vector<Matrix<float>> got(2);
#pragma omp parallel num_threads(2)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    got[t] = fast.predict(x);  // one predictor shared by both threads
  }
  CHECK(got[0] == ref);
  CHECK(got[1] == ref);
}
#endif

#if defined(_OPENMP)
TEST_CASE("one-row prediction is bit-identical for 1, 2 and 3 threads and matches the batch path") {
  auto net = plexus_test::answer_like<float>(256, 128, 2, 2, 9, plexus::Init::glorot_uniform);
  net.build(9, 5);
  const plexus::Matrix<float> x = plexus_test::random_matrix(4, 9, 6).cast<float>();
  const plexus::Matrix<float> batch = net.predict(x);
  std::vector<plexus::Matrix<float>> rows;
  for (int threads : {1, 2, 3}) {
    plexus::set_num_threads(threads);
    plexus::Matrix<float> y(x.rows(), 9);
    for (plexus::Index r = 0; r < x.rows(); ++r) y.row(r) = net.predict(x.row(r));
    rows.push_back(y);
  }
  plexus::set_num_threads(0);
  CHECK(rows[0] == rows[1]);
  CHECK(rows[0] == rows[2]);
  CHECK((rows[0] - batch).cwiseAbs().maxCoeff() <= 1e-5f * batch.cwiseAbs().maxCoeff());

  // Called from the caller's own parallel region (one network shared by
  // both threads), a prediction runs on its thread alone and gives the same values.
  const plexus::Network<float>& shared = net;
  std::vector<plexus::Matrix<float>> got(2);
#pragma omp parallel num_threads(2)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    got[t] = shared.predict(x.row(1));
  }
  CHECK(got[0] == rows[0].row(1));
  CHECK(got[1] == rows[0].row(1));
}
#endif
