// The matrix products of a training step, timed alone: for every Dense
// layer of a network (in inputs, u units) and every part of the batch (r
// rows), the three products train_step runs, with the same shapes,
// transposes and precision, laid out on the threads as train_step lays out
// the parts (one part per thread; the parts one after the other with every
// thread inside each product when there are at least twice as many threads
// as parts):
//   forward  Y[r x u]  = X[r x in] W[in x u]
//   backward dW[in x u] = X^T dY,  dX[r x in] = dY W^T
// Nothing else of the step runs (bias, activations, concatenation, loss,
// Adam), so the rate is the products' own, measured on operands of random
// values. plexus_compare prints it beside the step's rate and the register
// peak (docs/performance.md#perf_peak).
#pragma once

#include <plexus/plexus.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace bench {

struct ProductsTiming {
  double flop_per_step = 0;  // 6 r in u summed over the layers and parts
  double best_seconds = 0;   // the fastest of the rounds, per step
};

// Times `rounds` rounds of `steps` steps' products (after one warm-up step)
// for a batch of `batch` rows cut as train_step cuts it (parts of at most
// `micro_batch` rows, part i from row batch i / parts; micro_batch 0: one
// part), and keeps the fastest round.
template <typename T>
ProductsTiming time_step_products(plexus::Network<T>& net, plexus::Index batch, plexus::Index micro_batch,
                                  plexus::Precision precision, int steps, int rounds) {
  const std::vector<plexus::Dense<T>*> dense = plexus::dense_layers<T>(net.layers());
  const plexus::Index parts = micro_batch > 0 ? std::max<plexus::Index>(1, (batch + micro_batch - 1) / micro_batch) : 1;
  struct Operands {
    plexus::Matrix<T> x, w, y, dy, dw, dx;
  };
  std::vector<std::vector<Operands>> ops(static_cast<std::size_t>(parts));
  ProductsTiming timing;
  for (plexus::Index p = 0; p < parts; ++p)
    for (const plexus::Dense<T>* d : dense) {
      const plexus::Index rows = batch * (p + 1) / parts - batch * p / parts, in = d->input_width(), u = d->units();
      ops[static_cast<std::size_t>(p)].push_back({plexus::Matrix<T>::Random(rows, in), plexus::Matrix<T>::Random(in, u),
                                                  plexus::Matrix<T>(rows, u), plexus::Matrix<T>::Random(rows, u),
                                                  plexus::Matrix<T>(in, u), plexus::Matrix<T>(rows, in)});
      timing.flop_per_step += 6.0 * static_cast<double>(rows) * static_cast<double>(in) * static_cast<double>(u);
    }
  auto run_part = [&](plexus::Index p) {
    for (Operands& o : ops[static_cast<std::size_t>(p)]) {
      const plexus::Index r = o.x.rows(), in = o.x.cols(), u = o.w.cols();
      plexus::gemm<T>(false, false, r, u, in, T(1), o.x.data(), r, o.w.data(), in, T(0), o.y.data(), r, precision);
      plexus::gemm<T>(true, false, in, u, r, T(1), o.x.data(), r, o.dy.data(), r, T(0), o.dw.data(), in, precision);
      plexus::gemm<T>(false, true, r, in, u, T(1), o.dy.data(), r, o.w.data(), in, T(0), o.dx.data(), r, precision);
    }
  };
  const bool parts_in_turn = plexus::num_threads() >= 2 * parts;
  auto step = [&] {
    if (parts_in_turn) {
      for (plexus::Index p = 0; p < parts; ++p) run_part(p);
    } else {
      plexus::parallel_for(parts, run_part);  // the products inside a part run on its thread
    }
  };
  step();
  for (int round = 0; round < rounds; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) step();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    if (round == 0 || t < timing.best_seconds) timing.best_seconds = t;
  }
  return timing;
}

}  // namespace bench
