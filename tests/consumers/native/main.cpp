// Consumer built with -march=native -Wall -Wextra -Wpedantic -Werror: trains
// a small residual network with Adam, predicts one row with the float
// network and with HalfPredictor, and runs a bf16 product. Exits non-zero
// unless the loss went down and the predictions agree.
#include <plexus/plexus.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  using namespace plexus;
  Network<float> net;
  net.add(Dense<float>(32, Activation::relu));
  Sequential<float> body;
  body.add(Concat<float>(Dense<float>(16, Activation::tanh)));
  body.add(Dense<float>(32, Activation::identity));
  net.add(Residual<float>(std::move(body)));
  net.add(Dense<float>(1));
  net.build(1, 42);

  Adam<float> adam(net, AdamOptions{1e-2});
  MSE<float> mse;
  Matrix<float> x = Vector<float>::LinSpaced(64, -3.0f, 3.0f);
  Matrix<float> y(64, 1);
  for (Index i = 0; i < 64; ++i) y(i, 0) = std::sin(x(i, 0));
  const double first = train_step(net, mse, adam, x, y);
  double last = first;
  for (int step = 1; step < 50; ++step) last = train_step(net, mse, adam, x, y);

  const Matrix<float> batch = net.predict(x);
  const Matrix<float> one = net.predict(x.row(5));
  HalfPredictor<float> half(net);
  const Matrix<float> one_half = half.predict(x.row(5));
  const float row_gap = std::abs(one(0, 0) - batch(5, 0)), half_gap = std::abs(one_half(0, 0) - one(0, 0));

  std::vector<float> a(64 * 64, 0.5f), c(64 * 64, 0.0f);
  gemm<float>(false, false, 64, 64, 64, 1.0f, a.data(), 64, a.data(), 64, 0.0f, c.data(), 64, Precision::bf16);

  std::printf("plexus %s, engine %s%s: loss %g -> %g; one row %g (batch %g, half %g); bf16 product %g\n",
              PLEXUS_VERSION_STRING, engine_name().c_str(), bf16_emulated() ? " (bf16 emulated)" : "", first, last,
              double(one(0, 0)), double(batch(5, 0)), double(one_half(0, 0)), double(c[0]));
  const bool ok = last < 0.5 * first && row_gap <= 1e-5f && half_gap <= 1e-2f && c[0] == 16.0f;
  return ok ? 0 : 1;
}
