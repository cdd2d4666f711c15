// Consumer of an installed Plexus (find_package): a float MLP fits sin(x)
// with Adam for a few steps; exits non-zero unless the loss went down.
#include <plexus/plexus.hpp>

#include <cstdio>

int main() {
  using namespace plexus;
  Network<float> net;
  net.add(Dense<float>(16, Activation::tanh));
  net.add(Dense<float>(1));
  net.build(1, 42);

  Adam<float> adam(net, AdamOptions{1e-2});
  MSE<float> mse;
  Matrix<float> x = Vector<float>::LinSpaced(64, -3.0f, 3.0f);
  Matrix<float> y = x.array().sin().matrix();
  const double first = train_step(net, mse, adam, x, y);
  double last = first;
  for (int step = 1; step < 50; ++step) last = train_step(net, mse, adam, x, y);
  std::printf("plexus %s: loss %g -> %g\n", PLEXUS_VERSION_STRING, first, last);
  return last < 0.5 * first ? 0 : 1;
}
