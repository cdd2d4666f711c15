// Consumer of Plexus through FetchContent: a float network learns the
// inverse of 2x2 matrices near the identity (MSE against the exact inverse)
// with Adam for a few steps; exits non-zero unless the loss went down.
#include <plexus/plexus.hpp>

#include <cstdio>

int main() {
  using namespace plexus;
  Network<float> net;
  net.add(Dense<float>(32, Activation::relu));
  net.add(Dense<float>(4));
  net.build(4, 3);

  Adam<float> adam(net, AdamOptions{3e-3});
  MSE<float> loss;
  Rng rng(2);
  Matrix<float> x(64, 4), inverse(64, 4);
  for (Index i = 0; i < x.rows(); ++i) {  // well-conditioned: identity plus a small perturbation
    for (Index j = 0; j < 4; ++j) x(i, j) = static_cast<float>(rng.uniform(-0.3, 0.3));
    x(i, 0) += 1.0f;
    x(i, 3) += 1.0f;
    const float det = x(i, 0) * x(i, 3) - x(i, 1) * x(i, 2);
    inverse.row(i) << x(i, 3) / det, -x(i, 1) / det, -x(i, 2) / det, x(i, 0) / det;
  }
  const double first = train_step(net, loss, adam, x, inverse);
  double last = first;
  for (int step = 1; step < 50; ++step) last = train_step(net, loss, adam, x, inverse);
  std::printf("plexus %s: loss %g -> %g\n", PLEXUS_VERSION_STRING, first, last);
  return last < 0.5 * first ? 0 : 1;
}
