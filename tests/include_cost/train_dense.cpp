// The README's example: a Dense network trained with Adam on MSE, then
// predicting. Its object holds the float training path and the float kernels
// of every engine, and no double kernel (tests/include_cost/CMakeLists.txt).
#include <plexus/plexus.hpp>

int main() {
  using namespace plexus;
  Network<float> net;
  net.add(Dense<float>(64, Activation::tanh));
  net.add(Dense<float>(1));
  net.build(1, 42);
  Adam<float> adam(net, AdamOptions{1e-2});
  MSE<float> mse;
  Matrix<float> x = Matrix<float>::Random(64, 1), y = x.array().sin().matrix();
  for (int step = 0; step < 500; ++step) train_step(net, mse, adam, x, y);
  const Matrix<float> prediction = net.predict(x);
  return prediction.allFinite() ? 0 : 1;
}
