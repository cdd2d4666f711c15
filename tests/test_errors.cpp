// Bad shapes and values throw a plexus::error whose message names the layer
// and both shapes, in Release builds too.
#include "gradcheck.hpp"
#include "messages.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>

using namespace plexus;

using plexus_test::has;
using plexus_test::message_of;

TEST_CASE("wrong input width names the first layer and both shapes") {
  auto net = plexus_test::answer_like<float>(16, 8, 1, 2);
  net.build(9);
  const Matrix<float> x = Matrix<float>::Zero(5, 10);
  CHECK_THROWS_AS(net.forward(x), shape_error);
  const auto msg = message_of([&] { net.forward(x); });
  INFO(msg);
  CHECK(has(msg, "5x10"));
  CHECK(has(msg, "Dense(9 -> 16, relu)"));
  CHECK(has(msg, "9 columns"));
  CHECK_THROWS_AS(net.predict(x), shape_error);
}

TEST_CASE("batch mismatch between input and target") {
  Network<float> net;
  net.add(Dense<float>(3));
  net.build(2);
  Adam<float> adam(net);
  MSE<float> mse;
  const Matrix<float> x = Matrix<float>::Zero(4, 2), t = Matrix<float>::Zero(5, 3);
  const auto msg = message_of([&] { train_step(net, mse, adam, x, t); });
  INFO(msg);
  CHECK(has(msg, "4 rows"));
  CHECK(has(msg, "5"));
  CHECK_THROWS_AS(train_step(net, mse, adam, x, t), shape_error);
}

TEST_CASE("wrong target width names the loss and both shapes") {
  Network<float> net;
  net.add(Dense<float>(3));
  net.build(2);
  Adam<float> adam(net);
  MSE<float> mse;
  const Matrix<float> x = Matrix<float>::Zero(4, 2), t = Matrix<float>::Zero(4, 7);
  const auto msg = message_of([&] { train_step(net, mse, adam, x, t); });
  INFO(msg);
  CHECK(has(msg, "MSE"));
  CHECK(has(msg, "4x7"));
  CHECK(has(msg, "4x3"));
  mi::InverseResidualLoss<float> inv(3);
  const auto msg2 = message_of([&] { train_step(net, inv, adam, x, t); });
  INFO(msg2);
  CHECK(has(msg2, "InverseResidualLoss"));
}

TEST_CASE("a layer called directly with a wrong shape names itself and its place") {
  Sequential<double> seq;
  seq.add(Dense<double>(4, Activation::relu));
  seq.add(Dense<double>(2));
  seq.build(3);
  Matrix<double> x = Matrix<double>::Zero(6, 3), y = Matrix<double>::Zero(6, 5);
  const auto msg = message_of([&] { seq.forward(x, y); });
  INFO(msg);
  CHECK(has(msg, "6x5"));
  CHECK(has(msg, "6x2"));
}

TEST_CASE("residual width mismatch is refused at build time") {
  Network<float> net;
  net.add(Residual<float>(Dense<float>(5)));
  const auto msg = message_of([&] { net.build(4); });
  INFO(msg);
  CHECK(has(msg, "Residual"));
  CHECK(has(msg, "4 columns to 5"));
}

TEST_CASE("bad values: empty batch, non-finite input, bad sizes") {
  Network<float> net;
  net.add(Dense<float>(3));
  CHECK_THROWS_AS(net.forward(Matrix<float>::Zero(2, 2)), error);  // not built
  net.build(2);
  CHECK_THROWS_AS(net.forward(Matrix<float>::Zero(0, 2)), value_error);
  Matrix<float> x = Matrix<float>::Zero(3, 2);
  x(1, 1) = std::numeric_limits<float>::quiet_NaN();
  const auto msg = message_of([&] { net.forward(x); });
  INFO(msg);
  CHECK(has(msg, "row 1, column 1"));
  CHECK_THROWS_AS(Dense<float>(0), value_error);
  CHECK_THROWS_AS(net.build(0), error);
  CHECK_THROWS_AS(mi::InverseResidualLoss<float>(3, 0.0), value_error);
}

TEST_CASE("divergence stops training with the step and what went non-finite") {
  Network<float> net;
  net.add(Dense<float>(8, Activation::relu));
  net.add(Dense<float>(1));
  net.build(1, 3);
  SGD<float> sgd(net, SGDOptions{1e12});
  MSE<float> mse;
  const Matrix<float> x = Matrix<float>::Constant(4, 1, 3.0f), t = Matrix<float>::Constant(4, 1, 1.0f);
  std::string msg;
  for (int i = 0; i < 20 && msg.empty(); ++i) {
    try {
      train_step(net, mse, sgd, x, t);
    } catch (const divergence_error& e) {
      msg = e.what();
    }
  }
  INFO(msg);
  CHECK(has(msg, "diverged at step"));
  CHECK((has(msg, "loss is") || has(msg, "gradient of parameter")));
}
