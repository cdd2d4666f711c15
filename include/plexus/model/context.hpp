// ForwardContext: what a forward pass is for (training or inference), the
// precision of its products, and a counter-based random stream.
//
// Randomness in a layer (dropout) is drawn from streams keyed by (seed,
// step, the layer's index in its network, the sample's row in the whole
// batch), never from a generator that advances: a mask is the same whatever
// the number of threads, however the batch is cut into parts, and a resumed
// run draws what the uninterrupted run drew.
#pragma once

#include "../core/bf16.hpp"  // Precision: the arithmetic of a pass's products
#include "../core/rng.hpp"
#include "../core/types.hpp"

#include <cstdint>

namespace plexus {

struct ForwardContext {
  bool training = false;  // training behaviour (dropout drops, batch norm uses the batch's statistics)
  bool backward = false;  // a backward pass follows: layers keep what it needs
  Precision precision = Precision::native;
  std::uint64_t seed = 0;  // the run's random seed
  std::uint64_t step = 0;  // the training step (a pass of the same step redraws the same masks)
  Index first_row = 0;     // row of the whole batch that this part's row 0 is

  static ForwardContext inference() { return ForwardContext{}; }
  static ForwardContext train(std::uint64_t seed, std::uint64_t step, Index first_row = 0) {
    ForwardContext c;
    c.training = true;
    c.backward = true;
    c.seed = seed;
    c.step = step;
    c.first_row = first_row;
    return c;
  }

  // The stream of row `row` (of this part) for the layer with index
  // `layer_index`: a generator no other (seed, step, layer, row) shares.
  Rng stream(Index layer_index, Index row) const {
    const std::uint64_t key = mix64(mix64(seed, step), static_cast<std::uint64_t>(layer_index) + 1);
    return Rng::stream(key, static_cast<std::uint64_t>(first_row + row));
  }
};

}  // namespace plexus
