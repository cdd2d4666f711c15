// End-to-end: small networks learn simple functions; steps are reproducible.
#include "gradcheck.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace plexus;

TEST_CASE_TEMPLATE("a small MLP learns sin(x) on [-pi, pi]", T, float, double) {
  Network<T> net;
  net.add(Dense<T>(32, Activation::tanh));
  net.add(Dense<T>(32, Activation::tanh));
  net.add(Dense<T>(1));
  net.build(1, 3);
  Adam<T> adam(net, AdamOptions{1e-2});
  MSE<T> mse;
  Rng rng(5);
  Matrix<T> x(64, 1), y(64, 1);
  for (int step = 0; step < 2000; ++step) {
    for (Index i = 0; i < 64; ++i) {
      x(i, 0) = static_cast<T>(rng.uniform(-3.14159265, 3.14159265));
      y(i, 0) = std::sin(x(i, 0));
    }
    adam.set_learning_rate(cosine_lr(1e-2, step / 2000.0, 1e-4));
    train_step(net, mse, adam, x, y);
  }
  Matrix<T> xt(201, 1), yt(201, 1);
  for (Index i = 0; i < 201; ++i) {
    xt(i, 0) = static_cast<T>(-3.14159265 + i * (2 * 3.14159265 / 200));
    yt(i, 0) = std::sin(xt(i, 0));
  }
  const double mse_test = static_cast<double>((net.predict(xt) - yt).squaredNorm()) / 201.0;
  INFO("test MSE " << mse_test);
  CHECK(mse_test < 1e-3);
}

TEST_CASE("an answer-shaped network fits the inverse of 2x2 matrices with the residual loss") {
  auto net = plexus_test::answer_like<float>(32, 16, 2, 2, 4);
  net.build(4, 1);
  Adam<float> adam(net, AdamOptions{2e-3});
  mi::InverseResidualLoss<float> loss(2);
  Rng rng(9);
  Matrix<float> x(128, 4), none(128, 0);
  auto fill = [&](Matrix<float>& m) {
    for (Index i = 0; i < m.rows(); ++i) {
      double a, b, c, d;
      do {
        a = rng.uniform(-1, 1), b = rng.uniform(-1, 1), c = rng.uniform(-1, 1), d = rng.uniform(-1, 1);
      } while (std::abs(a * d - b * c) < 0.3);
      const double n = std::sqrt(a * a + b * b + c * c + d * d);
      m.row(i) << float(a / n), float(b / n), float(c / n), float(d / n);
    }
  };
  double first = 0, last = 0;
  for (int step = 0; step < 600; ++step) {
    fill(x);
    const double l = train_step(net, loss, adam, x, none);
    if (step == 0) first = l;
    last = l;
  }
  INFO("loss " << first << " -> " << last);
  CHECK(first > 1.0);
  CHECK(last < 0.2 * first);
}

TEST_CASE("training is bit-identical across thread counts") {
  Index micro = 0;
  SUBCASE("whole batch") { micro = 0; }
  SUBCASE("batch cut into three parts") { micro = 120; }
  CAPTURE(micro);
  auto run = [&](int threads) {
    set_num_threads(threads);
    auto net = plexus_test::answer_like<float>(64, 48, 2, 3, 9, Init::glorot_uniform);
    net.build(9, 42);
    Adam<float> adam(net);
    MSE<float> mse;
    for (int step = 0; step < 4; ++step) {
      const Matrix<float> x = plexus_test::random_matrix(333, 9, 100 + step).cast<float>();
      const Matrix<float> t = plexus_test::random_matrix(333, 9, 200 + step).cast<float>();
      StepOptions so;
      so.micro_batch = micro;
      train_step(net, mse, adam, x, t, so);
    }
    set_num_threads(0);
    return Vector<float>(net.parameters());
  };
  const auto one = run(1), two = run(2), three = run(3);
  CHECK(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * one.size()) == 0);
  CHECK(std::memcmp(one.data(), three.data(), sizeof(float) * one.size()) == 0);
}

TEST_CASE("a step on a batch cut into parts equals the whole-batch step") {
  // double: the parts' rows-weighted gradients and loss against one pass
  auto net = plexus_test::answer_like<double>(32, 16, 2, 3, 9, Init::glorot_uniform);
  net.build(9, 7);
  auto whole = net;
  SGD<double> sgd_parts(net, SGDOptions{1e-2}), sgd_whole(whole, SGDOptions{1e-2});
  mi::InverseResidualLoss<double> loss(3);
  const Matrix<double> x = plexus_test::random_matrix(301, 9, 11);
  const Matrix<double> none(0, 0);
  StepOptions parts, one;
  parts.micro_batch = 64;  // 5 parts of 60 or 61 rows
  one.micro_batch = 0;
  const double lp = train_step(net, loss, sgd_parts, x, none, parts);
  const double lw = train_step(whole, loss, sgd_whole, x, none, one);
  CHECK(lp == doctest::Approx(lw).epsilon(1e-12));
  const double gdiff = (net.gradients() - whole.gradients()).cwiseAbs().maxCoeff();
  const double gmax = whole.gradients().cwiseAbs().maxCoeff();
  INFO("max gradient difference " << gdiff << " of " << gmax);
  CHECK(gmax > 0);
  CHECK(gdiff <= 1e-12 * gmax);
  CHECK((net.parameters() - whole.parameters()).cwiseAbs().maxCoeff() <= 1e-12);
}

TEST_CASE("a batch cut into parts still reports bad input by its row in the batch") {
  auto net = plexus_test::answer_like<float>(16, 8, 1, 2, 9, Init::glorot_uniform);
  net.build(9, 1);
  Adam<float> adam(net);
  MSE<float> mse;
  Matrix<float> x = Matrix<float>::Ones(1100, 9), t = Matrix<float>::Ones(1100, 9);
  x(1000, 4) = std::nanf("");
  std::string msg;
  try {
    train_step(net, mse, adam, x, t);  // the default cuts 1100 rows into 3 parts
  } catch (const value_error& e) {
    msg = e.what();
  }
  INFO(msg);
  CHECK(msg.find("row 1000, column 4") != std::string::npos);
  Matrix<float> t8 = Matrix<float>::Ones(1100, 8);
  x(1000, 4) = 1.0f;
  CHECK_THROWS_AS(train_step(net, mse, adam, x, t8), shape_error);
  CHECK(adam.steps() == 0);
}

TEST_CASE_TEMPLATE("all_finite finds a NaN or an infinity anywhere, and nothing else", T, float, double) {
  const Index n = 200001;  // several chunks of the threaded scan, and a ragged end
  std::vector<T> v(static_cast<std::size_t>(n), T(0.5));
  v[1] = std::numeric_limits<T>::max();
  v[2] = -std::numeric_limits<T>::max();
  v[3] = std::numeric_limits<T>::denorm_min();
  v[4] = T(-0.0);
  CHECK(all_finite(v.data(), n));
  CHECK(all_finite(v.data(), 0));
  for (Index at : {Index(0), Index(65535), Index(65536), Index(131071), n - 1})
    for (T bad : {std::numeric_limits<T>::quiet_NaN(), -std::numeric_limits<T>::quiet_NaN(),
                  std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()}) {
      CAPTURE(at);
      const T keep = v[static_cast<std::size_t>(at)];
      v[static_cast<std::size_t>(at)] = bad;
      CHECK_FALSE(all_finite(v.data(), n));
      v[static_cast<std::size_t>(at)] = keep;
    }
  CHECK(all_finite(v.data(), n));
}
