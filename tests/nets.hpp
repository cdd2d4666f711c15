// Networks shared by several tests.
#pragma once

#include <plexus/plexus.hpp>

#include "recipes.hpp"  // the example's networks, sample source and residual loss

namespace plexus_test {

// The Keras answer's architecture (mi::concat_resnet), scaled by its arguments:
// Dense(width, relu); blocks x Residual(per x Concat(Dense(growth, relu)), Dense(width, last_init)); Dense(out).
template <typename T>
plexus::Network<T> answer_like(int width, int growth, int blocks, int per, int out = 9,
                               plexus::Init last_init = plexus::Init::zeros) {
  mi::Arch a;
  a.width = width, a.growth = growth, a.blocks = blocks, a.layers = per, a.outputs = out, a.block_init = last_init;
  return mi::concat_resnet<T>(a);
}

}  // namespace plexus_test
