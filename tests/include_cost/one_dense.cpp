// Includes the whole library and uses one Dense layer to predict: the object
// must hold that layer's code and the kernels, not every kind's and format's
// (tests/include_cost/CMakeLists.txt).
#include <plexus/plexus.hpp>

int main() {
  plexus::Network<float> net;
  net.add(plexus::Dense<float>(4, plexus::Activation::tanh));
  net.build(3, 1);
  const plexus::Matrix<float> y = net.predict(plexus::Matrix<float>::Ones(2, 3));
  return y.allFinite() ? 0 : 1;
}
