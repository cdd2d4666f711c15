// Networks shared by several tests.
#pragma once

#include <plexus/plexus.hpp>

#include "recipes.hpp"  // the example's networks, sample source and residual loss

namespace plexus_test {

// The Keras answer's architecture, scaled by its arguments:
// Dense(width, relu); blocks x Residual(per x Concat(Dense(growth, relu)), Dense(width, zeros)); Dense(out).
template <typename T>
plexus::Network<T> answer_like(int width, int growth, int blocks, int per, int out = 9,
                               plexus::Init last_init = plexus::Init::zeros) {
  using namespace plexus;
  Network<T> net;
  net.add(Dense<T>(width, Activation::relu));
  for (int b = 0; b < blocks; ++b) {
    Sequential<T> body;
    for (int i = 0; i < per; ++i) body.add(Concat<T>(Dense<T>(growth, Activation::relu)));
    body.add(Dense<T>(width, Activation::identity, last_init));
    net.add(Residual<T>(std::move(body)));
  }
  net.add(Dense<T>(out));
  return net;
}

}  // namespace plexus_test
