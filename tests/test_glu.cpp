// GLU, the gated linear unit y = a * g(b) of the input's halves [a | b]:
// values against the formula, finite-difference gradients in double for
// every gate alone and inside a network (after a Dense, in a Concat, in a
// Residual), backward's add mode, the odd-width refusal, save -> load bit
// for bit and the one-row plan against the batch.
#include "gradcheck.hpp"
#include "io_util.hpp"
#include "messages.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using plexus_test::random_matrix;

namespace {

constexpr double kGluTol = 1e-6;

const std::vector<ActivationFunction>& gates() {
  static const std::vector<ActivationFunction> g = {Activation::sigmoid, Activation::identity, Activation::relu,
                                                    Activation::tanh,    Activation::silu,     Activation::gelu};
  return g;
}

// The formula, written out: y_ij = a_ij * g(b_ij), a = x[:, :m], b = x[:, m:].
double gate_value(Activation g, double z) {
  switch (g) {
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-z));
    case Activation::identity: return z;
    case Activation::relu: return z > 0 ? z : 0.0;
    case Activation::tanh: return std::tanh(z);
    case Activation::silu: return z / (1.0 + std::exp(-z));
    case Activation::gelu: return 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0)));
    default: return NAN;
  }
}

}  // namespace

TEST_CASE("GLU: y = a * g(b) on the input's halves, for every gate") {
  for (const ActivationFunction& g : gates()) {
    CAPTURE(g.text());
    GLU<double> glu(g);
    CHECK(glu.build(6) == 3);
    glu.bind(nullptr, nullptr, nullptr);
    const auto x = random_matrix(5, 6, 1, -3.0, 3.0);
    Matrix<double> y(5, 3);
    glu.forward(x, y);
    double worst = 0;
    for (Index i = 0; i < 5; ++i)
      for (Index j = 0; j < 3; ++j)
        worst = std::max(worst, std::abs(y(i, j) - x(i, j) * gate_value(g.kind(), x(i, 3 + j))));
    CHECK(worst < 1e-15);
  }
}

TEST_CASE("GLU: finite-difference gradients in double, alone and inside a network, every gate") {
  for (const ActivationFunction& g : gates()) {
    CAPTURE(g.text());
    const auto r1 = plexus_test::check_layer_gradients(GLU<double>(g), random_matrix(7, 8, 2, -2.0, 2.0));
    CHECK(r1.inputs_checked == 56);
    CHECK(r1.max_error() < kGluTol);
    // After a Dense (its weights' gradients through the gate), inside a
    // Concat (the body reads the shared buffer) and a Residual (add mode).
    Network<double> net;
    net.add(Dense<double>(6, Activation::tanh));
    Sequential<double> gated;
    gated.add(Dense<double>(8));
    gated.add(GLU<double>(g));
    net.add(Concat<double>(std::move(gated)));  // 6 -> 10
    Sequential<double> body;
    body.add(Dense<double>(20));
    body.add(GLU<double>(g));
    net.add(Residual<double>(std::move(body)));
    net.add(Dense<double>(3));
    net.build(4, 5);
    const auto r2 = plexus_test::check_network_gradients(net, random_matrix(6, 4, 3));
    CHECK(r2.params_checked == net.parameter_count());
    CHECK(r2.max_error() < kGluTol);
  }
}

TEST_CASE("GLU: backward's add mode is assign mode plus what dx held, over more rows than one piece") {
  for (const ActivationFunction& g : gates()) {
    CAPTURE(g.text());
    GLU<double> glu(g);
    glu.build(4);
    glu.bind(nullptr, nullptr, nullptr);
    const Index rows = 600;  // more than the backward's 256-row pieces
    const auto x = random_matrix(rows, 4, 4, -2.0, 2.0);
    Matrix<double> y(rows, 2);
    glu.forward(x, y, ForwardContext::train(1, 1));
    const auto dy = random_matrix(rows, 2, 5), before = random_matrix(rows, 4, 6);
    Matrix<double> dy1 = dy, dy2 = dy, dx_assign = before, dx_add = before;
    glu.backward(x, y, dy1, dx_assign, GradientMode::assign);
    glu.backward(x, y, dy2, dx_add, GradientMode::add);
    CHECK((dx_add - before - dx_assign).cwiseAbs().maxCoeff() < 1e-14);
    // da = dy * g(b) at every row, the last piece's too.
    double worst = 0;
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < 2; ++j)
        worst = std::max(worst, std::abs(dx_assign(i, j) - dy(i, j) * gate_value(g.kind(), x(i, 2 + j))));
    CHECK(worst < 1e-15);
  }
}

TEST_CASE("GLU: an odd input width is refused, naming the layer and the width") {
  Network<float> net;
  net.add(Dense<float>(5));
  net.add(GLU<float>());
  const std::string m = message_of([&] { net.build(3, 1); });
  CHECK(has(m, "GLU"));
  CHECK(has(m, "must be even; got 5 columns"));
}

TEST_CASE_TEMPLATE("GLU: save -> load keeps the gate bit for bit, one row through the plan", T, float, double) {
  plexus_test::ScratchDir dir;
  Network<T> net;
  net.add(Dense<T>(8));
  net.add(GLU<T>(Activation::silu));
  net.add(Dense<T>(6));
  net.add(GLU<T>());
  net.add(Dense<T>(2));
  net.build(3, 7);
  save_model(net, dir.file("glu.plx"));
  const Network<T> loaded = load_model<T>(dir.file("glu.plx"));
  CHECK(spec_difference(loaded.layers().spec(), net.layers().spec()).empty());
  CHECK(dynamic_cast<const GLU<T>&>(loaded.layers()[1]).gate().kind() == Activation::silu);
  CHECK(dynamic_cast<const GLU<T>&>(loaded.layers()[3]).gate().kind() == Activation::sigmoid);
  const Matrix<T> x = random_matrix(9, 3, 8).template cast<T>();
  const Matrix<T> batch = net.predict(x);
  CHECK(loaded.predict(x) == batch);
  const T tol = std::is_same_v<T, float> ? T(1e-5) : T(1e-13);
  for (Index i = 0; i < x.rows(); ++i) {
    const Matrix<T> one = loaded.predict(x.row(i));
    CHECK((one - batch.row(i)).cwiseAbs().maxCoeff() <= tol);
  }
}
