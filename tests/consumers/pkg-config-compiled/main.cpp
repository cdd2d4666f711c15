// Consumer of an installed Plexus in compiled mode through pkg-config, compiled with
//   g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -Werror main.cpp -o app $(pkg-config --cflags --libs plexus-compiled)
// A float MLP fits sin(x) with Adam for a few steps through the library's
// compiled code; exits non-zero unless the loss went down.
#include <plexus/plexus.hpp>

#include <cstdio>

static_assert(PLEXUS_USE_COMPILED_LIB == 1, "plexus-compiled.pc defines PLEXUS_COMPILED_LIB");

int main() {
  using namespace plexus;
  Network<float> net;
  net.add(Dense<float>(8, Activation::relu));
  net.add(Dense<float>(1));
  net.build(1, 3);

  Adam<float> adam(net, AdamOptions{1e-2});
  MSE<float> mse;
  Matrix<float> x = Vector<float>::LinSpaced(32, -2.0f, 2.0f);
  Matrix<float> y = x.array().square().matrix();
  const double first = train_step(net, mse, adam, x, y);
  double last = first;
  for (int step = 1; step < 100; ++step) last = train_step(net, mse, adam, x, y);
  std::printf("plexus %s (compiled mode, pkg-config): loss %g -> %g\n", PLEXUS_VERSION_STRING, first, last);
  return last < 0.5 * first ? 0 : 1;
}
