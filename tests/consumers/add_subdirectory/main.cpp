// Consumer of Plexus through add_subdirectory: a double network with a
// DenseNet-style Concat inside a Residual block fits a linear map with SGD
// (momentum) for a few steps; exits non-zero unless the loss went down.
#include <plexus/plexus.hpp>

#include <cstdio>
#include <utility>

int main() {
  using namespace plexus;
  Network<double> net;
  net.add(Dense<double>(8, Activation::relu));
  Sequential<double> body;
  body.add(Concat<double>(Dense<double>(8, Activation::relu)));
  body.add(Dense<double>(8, Activation::identity, Init::zeros));
  net.add(Residual<double>(std::move(body)));
  net.add(Dense<double>(2));
  net.build(3, 7);

  SGD<double> sgd(net, SGDOptions{5e-2, 0.9});
  MSE<double> mse;
  Rng rng(1);
  Matrix<double> x(32, 3), y(32, 2);
  for (Index i = 0; i < x.rows(); ++i) {
    for (Index j = 0; j < x.cols(); ++j) x(i, j) = rng.uniform(-1.0, 1.0);
    y(i, 0) = x(i, 0) - 2.0 * x(i, 1);
    y(i, 1) = 0.5 * x(i, 2);
  }
  const double first = train_step(net, mse, sgd, x, y);
  double last = first;
  for (int step = 1; step < 50; ++step) last = train_step(net, mse, sgd, x, y);
  std::printf("plexus %s: loss %g -> %g\n", PLEXUS_VERSION_STRING, first, last);
  return last < 0.5 * first ? 0 : 1;
}
