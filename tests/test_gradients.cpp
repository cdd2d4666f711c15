// Finite-difference gradient checks (double precision) for every layer, the
// concat and residual blocks, an answer-shaped network and every loss.
#include "gradcheck.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace plexus;
using plexus_test::check_network_gradients;
using plexus_test::random_matrix;

namespace {
constexpr double kTol = 1e-6;

// Rebuilds with random (never zero) parameters so every path carries gradient.
void randomize(Network<double>& net, std::uint64_t seed, double scale = 0.5) {
  Rng rng(seed);
  for (Index i = 0; i < net.parameters().size(); ++i) net.parameters()[i] = rng.uniform(-scale, scale);
}

void check(Network<double>& net, Index batch, Index in, const std::string& what) {
  randomize(net, 99);
  const auto x = random_matrix(batch, in, 1234);
  const auto rep = check_network_gradients(net, x);
  INFO(what << ": input error " << rep.max_input_error << ", parameter error " << rep.max_param_error);
  CHECK(rep.inputs_checked == batch * in);
  // At least min(n, max_params) parameters were visited (4000 by default).
  CHECK(rep.params_checked >= std::min<Index>(net.parameter_count(), plexus_test::GradCheckOptions().max_params));
  CHECK(rep.max_input_error < kTol);
  CHECK(rep.max_param_error < kTol);
}
}  // namespace

// Every activation, with its parameter where it has one (not the default,
// so that a parameter ignored somewhere shows).
std::vector<ActivationFunction> all_activations() {
  std::vector<ActivationFunction> fs;
  for (const auto& e : kActivationNames) {
    if (e.value == Activation::leaky_relu) fs.push_back(leaky_relu(0.2));
    else if (e.value == Activation::elu) fs.push_back(elu(0.7));
    else fs.push_back(e.value);
  }
  return fs;
}

TEST_CASE("gradients: Dense with each activation, fused") {
  for (const ActivationFunction& f : all_activations()) {
    Network<double> net;
    net.add(Dense<double>(5, f));
    net.add(Dense<double>(3, f));  // the fused derivative seen through a following layer too
    net.build(4, 1);
    check(net, 6, 4, f.text());
  }
}

TEST_CASE("gradients: each activation as a layer, on its own, in a Residual and after a Concat") {
  for (const ActivationFunction& f : all_activations()) {
    Network<double> net;
    net.add(Dense<double>(6));
    net.add(ActivationLayer<double>(f));
    net.add(Residual<double>(ActivationLayer<double>(f)));
    net.add(Concat<double>(ActivationLayer<double>(f)));
    net.add(Dense<double>(2));
    net.build(3, 3);
    check(net, 7, 3, f.text());
  }
  // The named classes are the same functions.
  CHECK(GELU<double>().activation() == ActivationFunction(Activation::gelu));
  CHECK(LeakyReLU<double>(0.3).activation() == leaky_relu(0.3));
  CHECK(ELU<double>().activation() == elu(1.0));
}

TEST_CASE("activations: values against their definitions") {
  const double z[] = {-3.0, -0.5, 0.25, 2.0, 25.0};
  for (double v : z) {
    auto f = [&](ActivationFunction fn) {
      double y = v;
      act::apply(fn, &y, 1);
      return y;
    };
    CAPTURE(v);
    CHECK(f(Activation::gelu) == doctest::Approx(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))).epsilon(1e-15));
    CHECK(f(Activation::silu) == doctest::Approx(v / (1 + std::exp(-v))).epsilon(1e-15));
    CHECK(f(leaky_relu(0.2)) == (v > 0 ? v : 0.2 * v));
    CHECK(f(elu(0.7)) == doctest::Approx(v > 0 ? v : 0.7 * (std::exp(v) - 1)).epsilon(1e-15));
    CHECK(f(Activation::softplus) == doctest::Approx(v > 20 ? v : std::log(1 + std::exp(v))).epsilon(1e-15));
  }
  CHECK_THROWS_AS(leaky_relu(-0.1), value_error);
  CHECK_THROWS_AS(elu(0.0), value_error);
}

TEST_CASE("gradients: Dense on a batch larger than one GEMM tile") {
  Network<double> net;
  net.add(Dense<double>(140, Activation::tanh));  // 2 x 2 tasks: rows by 128, columns by 72
  net.add(Dense<double>(3));
  net.build(3, 2);
  check(net, 200, 3, "tiled dense");
}

TEST_CASE("gradients: standalone activation layers") {
  Network<double> net;
  net.add(Dense<double>(6));
  net.add(ReLU<double>());
  net.add(Dense<double>(6));
  net.add(Tanh<double>());
  net.add(Dense<double>(6));
  net.add(Sigmoid<double>());
  net.add(Identity<double>());
  net.add(Dense<double>(2));
  net.build(3, 3);
  check(net, 7, 3, "activations");
}

TEST_CASE("gradients: Concat alone, chained (zero-copy) and of a deeper body") {
  {
    Network<double> net;
    net.add(Concat<double>(Dense<double>(4, Activation::tanh)));
    net.build(3, 4);
    CHECK(net.output_width() == 7);
    check(net, 5, 3, "single concat on the input");
  }
  {
    Network<double> net;
    net.add(Dense<double>(4, Activation::relu));
    for (int i = 0; i < 3; ++i) net.add(Concat<double>(Dense<double>(3, Activation::relu)));
    net.add(Dense<double>(2));
    net.build(3, 5);
    CHECK(net.output_width() == 2);
    check(net, 6, 3, "chain of concats");
  }
  {
    Network<double> net;
    Sequential<double> body;
    body.add(Dense<double>(5, Activation::tanh));
    body.add(Dense<double>(2, Activation::sigmoid));
    net.add(Dense<double>(3));
    net.add(Concat<double>(std::move(body)));
    net.add(Concat<double>(Dense<double>(2)));  // chain ends at the network's output
    net.build(2, 6);
    CHECK(net.output_width() == 7);
    check(net, 4, 2, "concat of a sequential, ending the network");
  }
}

TEST_CASE("gradients: Residual block") {
  Network<double> net;
  Sequential<double> body;
  body.add(Dense<double>(6, Activation::relu));
  body.add(Dense<double>(4));
  net.add(Residual<double>(std::move(body)));
  net.add(Residual<double>(Dense<double>(4, Activation::tanh)));
  net.build(4, 7);
  check(net, 5, 4, "residual");
}

TEST_CASE("gradients: a small network shaped like the answer's") {
  auto net = plexus_test::answer_like<double>(6, 4, 3, 4, 9);
  net.build(9, 8);
  CHECK(net.layers().size() == 5);
  check(net, 5, 9, "answer-shaped");
}

TEST_CASE("gradients: MSE") {
  MSE<double> mse;
  const auto p = random_matrix(6, 4, 1), t = random_matrix(6, 4, 2), x = random_matrix(6, 3, 3);
  CHECK(plexus_test::check_loss_gradient(mse, p, t, x) < kTol);
  // value: mean over all elements
  CHECK(mse.value(p, t, x) == doctest::Approx((p - t).squaredNorm() / 24.0).epsilon(1e-14));
}

TEST_CASE("gradients: inverse residual loss, raw and scaled predictions") {
  for (double scale : {1.0, 5.0}) {
    mi::InverseResidualLoss<double> loss(3, scale);
    const auto p = random_matrix(5, 9, 4), x = random_matrix(5, 9, 5, -2, 2);
    const plexus_test::MatD none(5, 0);
    CHECK(plexus_test::check_loss_gradient(loss, p, none, x) < kTol);
    // value: mean over samples of ||A (s P) - I||_F^2
    double expect = 0;
    for (Index s = 0; s < 5; ++s) {
      Eigen::Matrix3d a, xm;
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) a(i, j) = x(s, 3 * i + j), xm(i, j) = scale * p(s, 3 * i + j);
      expect += (a * xm - Eigen::Matrix3d::Identity()).squaredNorm();
    }
    CHECK(loss.value(p, none, x) == doctest::Approx(expect / 5).epsilon(1e-13));
  }
}

TEST_CASE("gradients: inverse residual loss with a power below 2") {
  for (double power : {1.0, 0.5, 1.5, 0.0}) {
    mi::InverseResidualLoss<double> loss(3, 2.0, power);
    const auto p = random_matrix(6, 9, 14), x = random_matrix(6, 9, 15, -2, 2);
    const plexus_test::MatD none(6, 0);
    INFO("power " << power);
    CHECK(plexus_test::check_loss_gradient(loss, p, none, x) < kTol);
    double expect = 0;
    for (Index s = 0; s < 6; ++s) {
      Eigen::Matrix3d a, xm;
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) a(i, j) = x(s, 3 * i + j), xm(i, j) = 2.0 * p(s, 3 * i + j);
      const double r2 = (a * xm - Eigen::Matrix3d::Identity()).squaredNorm() + 1e-8;
      expect += power == 0.0 ? 0.5 * std::log(r2) : std::pow(r2, power / 2);
    }
    CHECK(loss.value(p, none, x) == doctest::Approx(expect / 6).epsilon(1e-13));
  }
  CHECK_THROWS_AS(mi::InverseResidualLoss<double>(3, 1.0, 3.0), value_error);
  CHECK_THROWS_AS(mi::InverseResidualLoss<double>(3, 1.0, -1.0), value_error);
}

TEST_CASE("float and double networks agree") {
  auto nd = plexus_test::answer_like<double>(16, 8, 2, 2, 9, Init::glorot_uniform);
  auto nf = plexus_test::answer_like<float>(16, 8, 2, 2, 9, Init::glorot_uniform);
  nd.build(9, 21);
  nf.build(9, 21);
  REQUIRE(nd.parameter_count() == nf.parameter_count());
  nf.parameters() = nd.parameters().cast<float>();
  const auto x = random_matrix(33, 9, 3);
  const Matrix<double> yd = nd.predict(x);
  const Matrix<float> yf = nf.predict(x.cast<float>());
  CHECK((yd - yf.cast<double>()).cwiseAbs().maxCoeff() < 1e-4 * std::max(1.0, yd.cwiseAbs().maxCoeff()));
}

TEST_CASE("backward: add mode equals assign mode plus what dx held") {
  auto check_modes = [](Layer<double>& layer, Index in) {
    layer.build(in);
    Vector<double> params(layer.parameter_count()), grads(layer.parameter_count());
    Rng rng(3);
    for (Index i = 0; i < params.size(); ++i) params[i] = rng.uniform(-0.5, 0.5);
    layer.bind(params.data(), grads.data(), nullptr);
    const auto x = random_matrix(7, in, 4);
    Matrix<double> y(7, layer.output_width());
    layer.forward(x, y, ForwardContext::train(0, 1));
    const auto dy = random_matrix(7, layer.output_width(), 5), before = random_matrix(7, in, 6);
    Matrix<double> dy1 = dy, dy2 = dy, dx_assign = before, dx_add = before;
    layer.backward(x, y, dy1, dx_assign, GradientMode::assign);
    const Vector<double> g_assign = grads;
    layer.backward(x, y, dy2, dx_add, GradientMode::add);
    INFO(layer.label());
    CHECK((dx_add - before - dx_assign).cwiseAbs().maxCoeff() < 1e-12);
    if (grads.size() > 0) CHECK((grads - g_assign).cwiseAbs().maxCoeff() == 0.0);
  };
  Dense<double> dense(4, Activation::tanh);
  check_modes(dense, 3);
  ActivationLayer<double> act(Activation::sigmoid);
  check_modes(act, 3);
  Concat<double> concat(Dense<double>(2, Activation::relu));
  check_modes(concat, 3);
  Residual<double> residual(Dense<double>(3, Activation::tanh));
  check_modes(residual, 3);
  Sequential<double> seq;
  seq.add(Dense<double>(5, Activation::relu));
  seq.add(Concat<double>(Dense<double>(2)));
  seq.add(Concat<double>(Dense<double>(2)));
  seq.add(Dense<double>(3));
  check_modes(seq, 3);
}
