// Bad shapes and values throw a plexus::error whose message names the layer
// and both shapes, in Release builds too.
#include "gradcheck.hpp"
#include "messages.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

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

namespace {

// MSE, poisoned on request: the loss value, or one entry of d(loss)/d(prediction),
// made NaN, so that each of train_step's two finiteness checks is reached
// alone (a non-finite loss with finite gradients, and the other way round).
class PoisonedMSE : public MSE<float> {
 public:
  enum class Poison { none, loss, gradient };
  Poison poison = Poison::none;
  double evaluate(const ConstMatrixRef<float>& p, const ConstMatrixRef<float>& t, const ConstMatrixRef<float>& input,
                  MatrixRef<float>* grad) const override {
    double value = MSE<float>::evaluate(p, t, input, grad);
    if (poison == Poison::loss) value = std::numeric_limits<double>::quiet_NaN();
    if (poison == Poison::gradient && grad && grad->rows() > 1) (*grad)(1, 0) = std::numeric_limits<float>::quiet_NaN();
    return value;
  }
};

// The parameters, Adam's state vectors and the step count, by value.
struct StepState {
  std::vector<float> params;
  std::vector<std::vector<float>> optimizer_state;
  std::vector<std::string> state_names;
  std::int64_t steps = 0;
};

StepState snapshot(Network<float>& net, Optimizer<float>& opt) {
  StepState s;
  s.params.assign(net.parameters().data(), net.parameters().data() + net.parameters().size());
  for (const auto& [name, v] : opt.state()) {
    s.state_names.push_back(name);
    s.optimizer_state.emplace_back(v->data(), v->data() + v->size());
  }
  s.steps = opt.steps();
  return s;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("divergence leaves the parameters, Adam's m and v and steps() as they were, bit for bit") {
  using Poison = PoisonedMSE::Poison;
  for (const Poison poison : {Poison::loss, Poison::gradient}) {
    for (const Index micro_batch : {Index(0), Index(16)}) {  // whole batch, and cut into parts
      CAPTURE(poison == Poison::loss ? "non-finite loss" : "non-finite gradient");
      CAPTURE(micro_batch);
      auto make = [] {
        Network<float> net;
        net.add(Dense<float>(8, Activation::tanh));
        net.add(Dense<float>(2));
        net.build(3, 7);
        return net;
      };
      Network<float> net = make(), twin = make();
      Adam<float> adam(net, AdamOptions{1e-2}), twin_adam(twin, AdamOptions{1e-2});
      PoisonedMSE loss;
      StepOptions options;
      options.micro_batch = micro_batch;
      const Matrix<float> x = Matrix<float>::Random(40, 3), t = Matrix<float>::Random(40, 2);
      for (int i = 0; i < 3; ++i) {  // m and v away from zero
        train_step(net, loss, adam, x, t, options);
        train_step(twin, loss, twin_adam, x, t, options);
      }
      const StepState before = snapshot(net, adam);
      REQUIRE(before.state_names == std::vector<std::string>{"m", "v"});
      REQUIRE(before.steps == 3);

      loss.poison = poison;
      const auto msg = message_of([&] { train_step(net, loss, adam, x, t, options); });
      INFO(msg);
      CHECK_THROWS_AS(train_step(net, loss, adam, x, t, options), divergence_error);
      CHECK(has(msg, "diverged at step 4"));
      CHECK(has(msg, poison == Poison::loss ? "the loss is nan" : "gradient of parameter"));

      const StepState after = snapshot(net, adam);
      CHECK(same_bits(after.params, before.params));
      REQUIRE(after.optimizer_state.size() == 2);
      CHECK(same_bits(after.optimizer_state[0], before.optimizer_state[0]));  // m
      CHECK(same_bits(after.optimizer_state[1], before.optimizer_state[1]));  // v
      CHECK(after.steps == before.steps);

      // Nothing else moved either: the next good step is the step a twin
      // that never diverged takes.
      loss.poison = Poison::none;
      CHECK_NOTHROW(train_step(net, loss, adam, x, t, options));
      train_step(twin, loss, twin_adam, x, t, options);
      const StepState mine = snapshot(net, adam), theirs = snapshot(twin, twin_adam);
      CHECK(same_bits(mine.params, theirs.params));
      CHECK(same_bits(mine.optimizer_state[0], theirs.optimizer_state[0]));
      CHECK(same_bits(mine.optimizer_state[1], theirs.optimizer_state[1]));
      CHECK(mine.steps == 4);
    }
  }
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
