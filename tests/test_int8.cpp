// int8 inference: the VNNI kernel against the portable int32 loop and a
// plain reference (bit for bit), Int8Predictor against the float network
// (within the bound its quantisation steps give, and in relative error on
// the answer-like network and a trained classifier), its errors, and many
// threads predicting at once.
#include "fit_layers.hpp"
#include "messages.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <plexus/model/int8_predictor.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;

namespace {

template <typename T>
Matrix<T> random_rows(Index rows, Index cols, unsigned seed, double lo = -2, double hi = 2) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Matrix<T> m(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) m(i, j) = static_cast<T>(u(g));
  return m;
}

// The answer-like network (concat blocks, residual adds) with every weight
// random and non-zero, as bench/onnx_compare.cpp makes the answer's.
template <typename T>
Network<T> test_net(int width, int growth, int blocks, int per, std::uint64_t seed) {
  auto net = plexus_test::answer_like<T>(width, growth, blocks, per, 9, Init::glorot_uniform);
  net.build(9, seed);
  return net;
}

double relative_error(const Matrix<double>& a, const Matrix<double>& b) { return (a - b).norm() / b.norm(); }
template <typename T>
Matrix<double> as_double(const Matrix<T>& m) {
  return m.template cast<double>();
}

}  // namespace

TEST_CASE("int8: the VNNI kernel equals the scalar int32 reference bit for bit") {
  std::mt19937 g(11);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
  for (Index inputs : {1, 3, 5, 37, 129, 1151}) {
    for (Index outputs : {1, 9, 63, 65, 130}) {
      const Index groups = detail::int8::groups_of(inputs), quads = detail::int8::quads_of(outputs);
      std::vector<std::int8_t> w(detail::int8::packed_size(inputs, outputs), 0);
      std::vector<std::int8_t> plain(static_cast<std::size_t>(inputs * outputs));
      for (Index j = 0; j < outputs; ++j)
        for (Index i = 0; i < inputs; ++i) {
          const auto v = static_cast<std::int8_t>(s8(g));
          plain[static_cast<std::size_t>(j * inputs + i)] = v;
          w[detail::int8::packed_at(groups, j, i)] = v;
        }
      std::vector<std::uint8_t> x(static_cast<std::size_t>(4 * groups), 0);
      for (Index i = 0; i < inputs; ++i) x[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(u8(g));
      // The reference: a plain double loop over the unpacked matrix.
      std::vector<std::int32_t> ref(static_cast<std::size_t>(64 * quads), 0);
      for (Index j = 0; j < outputs; ++j) {
        std::int64_t s = 0;
        for (Index i = 0; i < inputs; ++i)
          s += std::int64_t(x[static_cast<std::size_t>(i)]) * plain[static_cast<std::size_t>(j * inputs + i)];
        ref[static_cast<std::size_t>(j)] = static_cast<std::int32_t>(s);
      }
      // Several rows at once (each weight loaded once for them) give each row's sums.
      for (int rows = 1; rows <= detail::int8::kMaxRows; ++rows) {
        const Index us = 4 * groups + 3, as = 64 * quads + 5;  // strides other than the widths
        std::vector<std::uint8_t> xs(static_cast<std::size_t>(rows * us));
        for (auto& v : xs) v = static_cast<std::uint8_t>(u8(g));
        for (bool vnni : {false, true}) {
          if (vnni && !detail::int8::vnni_available()) continue;
          std::vector<std::int32_t> many(static_cast<std::size_t>(rows * as), -1);
          detail::int8::gemm(vnni, xs.data(), us, rows, w.data(), groups, 0, quads, many.data(), as);
          for (int r = 0; r < rows; ++r) {
            std::vector<std::int32_t> one(ref.size(), -1);
            detail::int8::gemv_scalar(xs.data() + r * us, w.data(), groups, 0, quads, one.data());
            CHECK_MESSAGE(std::equal(one.begin(), one.end(), many.begin() + r * as),
                          (vnni ? "avx512_vnni" : "scalar") << " gemm, " << rows << " rows, row " << r << ", inputs "
                                                            << inputs << ", outputs " << outputs);
          }
        }
      }
      std::vector<std::int32_t> scalar(ref.size(), -1);
      detail::int8::gemv_scalar(x.data(), w.data(), groups, 0, quads, scalar.data());
      CHECK_MESSAGE(scalar == ref, "scalar, inputs " << inputs << ", outputs " << outputs);
      if (!detail::int8::vnni_available()) continue;
      std::vector<std::int32_t> vnni(ref.size(), -1);
      detail::int8::gemv(true, x.data(), w.data(), groups, 0, quads, vnni.data());
      CHECK_MESSAGE(vnni == ref, "avx512_vnni, inputs " << inputs << ", outputs " << outputs);
      // A share of the quads writes those alone.
      if (quads > 1) {
        std::vector<std::int32_t> part(ref.size(), -1);
        detail::int8::gemv(true, x.data(), w.data(), groups, 1, quads, part.data());
        CHECK(std::equal(part.begin() + 64, part.end(), ref.begin() + 64));
        CHECK(part[0] == -1);
      }
    }
  }
  // The widest sums at the extremes: 255 * -128 over kMaxInputs inputs.
  const Index n = detail::int8::kMaxInputs / 4 * 4, groups = detail::int8::groups_of(n);
  std::vector<std::int8_t> w(detail::int8::packed_size(n, 1), 0);
  for (Index i = 0; i < n; ++i) w[detail::int8::packed_at(groups, 0, i)] = -128;
  std::vector<std::uint8_t> x(static_cast<std::size_t>(4 * groups), 255);
  std::vector<std::int32_t> s(64, 0);
  detail::int8::gemv_scalar(x.data(), w.data(), groups, 0, 1, s.data());
  CHECK(s[0] == std::int64_t(n) * 255 * -128);
  if (detail::int8::vnni_available()) {
    detail::int8::gemv(true, x.data(), w.data(), groups, 0, 1, s.data());
    CHECK(s[0] == std::int64_t(n) * 255 * -128);
  } else {
    MESSAGE("avx512_vnni: this CPU lacks AVX-512 VNNI; only the scalar kernel was checked (" << cpu_features().text
                                                                                             << ")");
  }
}

TEST_CASE("int8: rows quantise the same with AVX-512 and the portable loop") {
  std::mt19937 g(5);
  std::uniform_real_distribution<float> d(-3.0f, 3.0f);
  for (Index n : {1, 15, 16, 17, 130, 1151}) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (auto& v : x) v = d(g);
    x[0] = 2.5f, x[n / 2] = -3.5f;  // ties: -3.5 * 127 / 3.5 = -127 and 2.5 * 127 / 3.5 = 90.71...
    const Index groups = detail::int8::groups_of(n);
    std::vector<std::uint8_t> a(static_cast<std::size_t>(4 * groups), 7), b(a);
    const float sa = detail::int8::quantize_row(x.data(), n, groups, a.data());
    CHECK(sa == 3.5f / 127);
    CHECK(a[static_cast<std::size_t>(n / 2)] == 1);
    for (Index i = n; i < 4 * groups; ++i) CHECK(a[static_cast<std::size_t>(i)] == 128);
    if (!detail::int8::vnni_available()) continue;
    const float sb = detail::int8::quantize(true, x.data(), n, groups, b.data());
    CHECK(sa == sb);
    CHECK(a == b);
    x[static_cast<std::size_t>(n - 1)] = std::numeric_limits<float>::infinity();
    CHECK(std::isnan(detail::int8::quantize(true, x.data(), n, groups, b.data())));
    CHECK(std::isnan(detail::int8::quantize_row(x.data(), n, groups, b.data())));
    x[static_cast<std::size_t>(n - 1)] = std::numeric_limits<float>::quiet_NaN();
    CHECK(std::isnan(detail::int8::quantize(true, x.data(), n, groups, b.data())));
    CHECK(std::isnan(detail::int8::quantize_row(x.data(), n, groups, b.data())));
  }
  std::vector<float> zero(5, 0.0f);
  std::vector<std::uint8_t> u(8);
  CHECK(detail::int8::quantize_row(zero.data(), 5, 2, u.data()) == 0.0f);
  CHECK(u == std::vector<std::uint8_t>(8, 128));
}

TEST_CASE("int8: the engine named is the one the CPU allows, and both give the same bits") {
  auto net = test_net<float>(32, 16, 2, 3, 5);
  Int8Predictor<float> automatic(net), scalar(net, Int8Kernel::scalar);
  CHECK(std::string(scalar.engine()) == "scalar");
  CHECK(std::string(automatic.engine()) == (Int8Predictor<float>::vnni_available() ? "avx512_vnni" : "scalar"));
  MESSAGE("Int8Predictor engine here: " << std::string(automatic.engine()) << " (" << cpu_features().text << ")");
  const Matrix<float> x = random_rows<float>(7, 9, 3);
  const Matrix<float> a = automatic.predict(x), b = scalar.predict(x);
  CHECK(a == b);
}

TEST_CASE("int8: one Dense layer is within the bound of its quantisation steps") {
  // Per output j, before the activation: |y8 - y| <= s_x/2 ||w_j||_1 + s_j/2 ||x^||_1,
  // with s_x = max|x|/127, s_j = max|w_j|/127, |x^_i| <= |x_i| + s_x/2. In
  // double the rounding of the sums is far below it.
  for (Index in : {1, 7, 130}) {
    Network<double> net;
    net.add(Dense<double>(67));
    net.build(in, 3);
    auto& d = dynamic_cast<Dense<double>&>(net.layers()[0]);
    const Matrix<double> x = random_rows<double>(5, in, 9, -3, 1);
    Int8Predictor<double> q(net);
    const Matrix<double> y = net.predict(x), y8 = q.predict(x);
    double worst = 0;
    for (Index r = 0; r < x.rows(); ++r) {
      const double sx = x.row(r).cwiseAbs().maxCoeff() / 127;
      const double x1 = x.row(r).cwiseAbs().sum() + static_cast<double>(in) * sx / 2;
      for (Index j = 0; j < 67; ++j) {
        const double sj = d.weight().col(j).cwiseAbs().maxCoeff() / 127;
        const double bound = sx / 2 * d.weight().col(j).cwiseAbs().sum() + sj / 2 * x1;
        const double err = std::abs(y8(r, j) - y(r, j));
        worst = std::max(worst, err / bound);
        CHECK_MESSAGE(err <= bound * (1 + 1e-9),
                      "in " << in << ", row " << r << ", output " << j << ": " << err << " > " << bound);
      }
    }
    MESSAGE("inputs " << in << ": largest error / bound " << worst);
    CHECK(worst > 0);  // the check is not vacuous
  }
}

TEST_CASE("int8: the bound is nearly reached where every weight rounds the same way") {
  // x = 1 is quantised exactly; output j's weights are 127 s_j once and
  // (k + 0.55) s_j elsewhere, each 0.45 s_j from its int8 value, all with the
  // same sign of error: the error is 0.45 s_j (n - 1), the bound about
  // 0.5 s_j n. Truncating instead of rounding would err by 0.55 s_j (n - 1).
  const Index n = 101;
  Network<double> net;
  net.add(Dense<double>(3));
  net.build(n, 1);
  auto& d = dynamic_cast<Dense<double>&>(net.layers()[0]);
  d.bias().setZero();
  for (Index j = 0; j < 3; ++j) {
    const double s = 0.01 * static_cast<double>(j + 1);
    d.weight()(0, j) = 127 * s;
    for (Index i = 1; i < n; ++i) d.weight()(i, j) = (static_cast<double>(i % 2) + 0.55) * s;
  }
  const Matrix<double> x = Matrix<double>::Ones(1, n);
  const Matrix<double> y = net.predict(x), y8 = Int8Predictor<double>(net).predict(x);
  for (Index j = 0; j < 3; ++j) {
    const double s = 0.01 * static_cast<double>(j + 1), sx = 1.0 / 127;
    const double bound = sx / 2 * d.weight().col(j).cwiseAbs().sum() + s / 2 * static_cast<double>(n);
    const double err = std::abs(y8(0, j) - y(0, j));
    CHECK(err == doctest::Approx(0.45 * s * static_cast<double>(n - 1)).epsilon(1e-9));
    CHECK_MESSAGE(err <= bound, err << " > " << bound);
    CHECK(err > 0.85 * bound);
  }
}

TEST_CASE("int8: the answer-like network and a double one, against float, in relative error") {
  // Every weight random, input in [-2, 2]: one quantisation step per dense
  // layer, 1/254 of the row's largest value, about 0.4% of it; the measured
  // error of the whole network stays within 3%.
  auto net = test_net<float>(128, 64, 3, 4, 2);
  Int8Predictor<float> q(net);
  const Matrix<float> x = random_rows<float>(64, 9, 4);
  const double err = relative_error(as_double(q.predict(x)), as_double(net.predict(x)));
  MESSAGE("answer-like (" << net.parameter_count() << " parameters): relative error " << err);
  CHECK(err < 0.03);

  auto dnet = test_net<double>(64, 32, 2, 3, 2);
  Int8Predictor<double> dq(dnet);
  const Matrix<double> dx = random_rows<double>(16, 9, 5);
  const double derr = relative_error(dq.predict(dx), dnet.predict(dx));
  MESSAGE("double answer-like: relative error " << derr);
  CHECK(derr < 0.03);
  CHECK(derr > 0);
}

TEST_CASE("int8: a trained classifier keeps its accuracy") {
  Matrix<float> x, y;
  plexus_test::spiral<float>(600, 3, 0.02, 7, x, y);
  Network<float> net;
  net.add(Dense<float>(64, Activation::relu));
  net.add(LayerNorm<float>());  // an opaque step between dense ones
  net.add(Dense<float>(64, Activation::tanh));
  net.add(Dense<float>(3));
  net.build(2, 3);
  Adam<float> adam(net, AdamOptions{1e-2});
  SoftmaxCrossEntropy<float> ce;
  FitOptions o;
  o.epochs = 30;
  o.batch_size = 32;
  o.verbose = Verbose::silent;
  fit(net, ce, adam, x, y, o);
  Int8Predictor<float> q(net);
  auto accuracy = [&](const Matrix<float>& p) {
    Index right = 0;
    for (Index i = 0; i < p.rows(); ++i) {
      Index c = 0;
      p.row(i).maxCoeff(&c);
      right += c == static_cast<Index>(y(i, 0));
    }
    return static_cast<double>(right) / static_cast<double>(p.rows());
  };
  const Matrix<float> pf = net.predict(x), p8 = q.predict(x);
  const double af = accuracy(pf), a8 = accuracy(p8);
  Index agree = 0;
  for (Index i = 0; i < pf.rows(); ++i) {
    Index a = 0, b = 0;
    pf.row(i).maxCoeff(&a);
    p8.row(i).maxCoeff(&b);
    agree += a == b;
  }
  MESSAGE("spiral classifier: float accuracy " << af << ", int8 " << a8 << ", same class for " << agree << " of "
                                               << pf.rows() << ", logits relative error "
                                               << relative_error(as_double(p8), as_double(pf)));
  CHECK(af >= 0.95);
  CHECK(a8 >= af - 0.01);
}

TEST_CASE("int8: one-row and batch calls agree, for any thread count, and the snapshot is frozen") {
  auto net = test_net<float>(128, 64, 2, 3, 7);  // above kOneRowSplitWeights: one row on many threads
  REQUIRE(net.parameter_count() >= detail::kOneRowSplitWeights);
  Int8Predictor<float> q(net);
  const Matrix<float> x = random_rows<float>(11, 9, 8);  // blocks of 4 rows, and 3 left
  const int saved = num_threads();
  set_num_threads(1);
  const Matrix<float> batch = q.predict(x);
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    for (Index r = 0; r < x.rows(); ++r) {
      const Matrix<float> one = q.predict(x.row(r));
      CHECK_MESSAGE(one == batch.row(r), "threads " << t << ", row " << r);
    }
    CHECK(q.predict(x) == batch);
  }
  set_num_threads(saved);
  // Later changes to the network do not reach the snapshot; copies and moves predict the same.
  net.parameters().setZero();
  CHECK(q.predict(x) == batch);
  Int8Predictor<float> copy(q);
  Int8Predictor<float> moved(std::move(copy));
  CHECK(moved.predict(x) == batch);
  CHECK(q.int8_bytes() >= static_cast<std::size_t>(q.network().parameter_count() / 2));
  CHECK(q.one_row_steps() == net.one_row_steps());
}

TEST_CASE("int8: an opaque step (LayerNorm) between dense ones, one row on many threads") {
  Network<float> net;
  net.add(Dense<float>(300, Activation::relu));
  net.add(LayerNorm<float>());
  net.add(Dense<float>(300, Activation::tanh));
  net.add(Dense<float>(9));
  net.build(9, 4);
  REQUIRE(net.parameter_count() >= detail::kOneRowSplitWeights);
  Int8Predictor<float> q(net);
  const Matrix<float> x = random_rows<float>(6, 9, 12);
  const Matrix<float> batch = q.predict(x);
  const int saved = num_threads();
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    for (Index r = 0; r < x.rows(); ++r) CHECK_MESSAGE(q.predict(x.row(r)) == batch.row(r), "threads " << t);
  }
  set_num_threads(saved);
  const double err = relative_error(as_double(batch), as_double(net.predict(x)));
  MESSAGE("Dense, LayerNorm, Dense, Dense: relative error " << err);
  CHECK(err < 0.03);
}

TEST_CASE("int8: errors are exceptions with Network::predict's messages") {
  Network<float> unbuilt;
  unbuilt.add(Dense<float>(3));
  std::string m = message_of([&] { Int8Predictor<float> q(unbuilt); });
  CHECK_MESSAGE(has(m, "Int8Predictor: the network is not built"), m);

  auto net = test_net<float>(24, 16, 2, 3, 1);
  Int8Predictor<float> q(net);
  const Matrix<float> wrong = Matrix<float>::Zero(2, 8);
  m = message_of([&] { q.predict(wrong); });
  CHECK_MESSAGE(m == message_of([&] { net.predict(wrong); }), m);
  CHECK_MESSAGE(has(m, "2x8"), m);
  CHECK_THROWS_AS(q.predict(wrong), shape_error);
  Matrix<float> x = Matrix<float>::Zero(1, 9), y_wrong(1, 8);
  m = message_of([&] { q.predict(x, y_wrong); });
  CHECK_MESSAGE(m == message_of([&] { net.predict(x, y_wrong); }), m);
  x(0, 4) = std::numeric_limits<float>::quiet_NaN();
  m = message_of([&] { q.predict(x); });
  CHECK_MESSAGE(m == message_of([&] { net.predict(x); }), m);
  CHECK_THROWS_AS(q.predict(Matrix<float>(0, 9)), value_error);

  auto& first = dynamic_cast<Dense<float>&>(net.layers()[0]);
  first.weight()(2, 5) = std::numeric_limits<float>::infinity();
  m = message_of([&] { Int8Predictor<float> bad(net); });
  CHECK_MESSAGE(has(m, "Dense(9 -> 24, relu)"), m);
  CHECK_MESSAGE(has(m, "weight (2, 5)"), m);
  CHECK_MESSAGE(has(m, "not finite"), m);
  CHECK_THROWS_AS(Int8Predictor<float>{net}, value_error);
}

TEST_CASE("int8: threads predicting at once agree with one caller") {
  auto net = test_net<float>(128, 64, 2, 3, 9);
  const Int8Predictor<float> q(net);
  const Matrix<float> x = random_rows<float>(6, 9, 10);
  std::vector<Matrix<float>> want;
  for (Index r = 0; r < x.rows(); ++r) want.push_back(q.predict(x.row(r)));
  const Matrix<float> want_batch = q.predict(x);
  std::atomic<int> wrong{0}, ready{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] {
      ++ready;
      while (ready.load() < 8) std::this_thread::yield();  // all start together
      for (int i = 0; i < 1000; ++i) {
        const Index r = (t + i) % x.rows();
        if (q.predict(x.row(r)) != want[static_cast<std::size_t>(r)]) ++wrong;
        if (i % 50 == 0 && q.predict(x) != want_batch) ++wrong;
      }
    });
  for (auto& t : ts) t.join();
  CHECK(wrong.load() == 0);
}
