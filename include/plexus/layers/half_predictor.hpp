// HalfPredictor: a frozen copy of a network whose Dense weights are stored
// as IEEE half precision (16 bits), for prediction one sample at a time.
//
// Predicting one sample reads every weight once, so its time is the time to
// stream the weights from memory: halving their size nearly halves it. The
// copy's weight matrices are rounded to the nearest half (biases stay in
// full precision) and every product is still computed in T, so the copy is
// an ordinary network with slightly different weights: one-row calls read
// the 16-bit copy, larger batches run the usual products on the rounded
// weights, and both compute the same function up to rounding of the sums.
// Relative to the original, each weight moves by at most 2^-11 of its value
// (weights below 2^-14 in magnitude by at most 2^-25; double weights are
// rounded to float first).
//
//   plexus::HalfPredictor<float> fast(net);   // snapshot; net is not changed
//   fast.predict(x, y);                       // x: 1 x in, y: 1 x out
//
// Later changes to `net` do not reach the snapshot: make a new one.
//
// Fast only when built for AVX-512 or F16C with FMA (e.g. -march=native):
// without them each half is converted in plain C++, and one-row calls are
// several times slower than the float network's (docs/layers.md).
#pragma once

#include "dense.hpp"
#include "network.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

namespace plexus {

template <typename T>
class HalfPredictor {
 public:
  // Copies `net` (which must be built) and rounds its Dense weights to
  // half precision. Throws value_error naming the layer and the entry if a
  // weight is not finite or beyond +-65504, the largest half.
  explicit HalfPredictor(const Network<T>& net) : net_(checked(net)) { convert(); }
  HalfPredictor(const HalfPredictor& o) : net_(o.net_) { convert(); }
  HalfPredictor& operator=(const HalfPredictor& o) {
    if (this != &o) {
      HalfPredictor tmp(o);
      *this = std::move(tmp);
    }
    return *this;
  }
  // Moving keeps the heap blocks the layers point into.
  HalfPredictor(HalfPredictor&&) noexcept = default;
  HalfPredictor& operator=(HalfPredictor&&) noexcept = default;

  Index input_width() const { return net_.input_width(); }
  Index output_width() const { return net_.output_width(); }

  // Predictions for a batch of any size, with the same checks and messages
  // as Network::predict.
  Matrix<T> predict(const ConstMatrixRef<T>& x) { return net_.predict(x); }
  void predict(const ConstMatrixRef<T>& x, MatrixRef<T> y) { net_.predict(x, y); }

  // The frozen copy, with the rounded weights in its parameters(): it can be
  // saved, or copied into a Network for further training.
  const Network<T>& network() const { return net_; }
  // Bytes of 16-bit weights the one-row path reads per call.
  std::size_t half_bytes() const { return half_.size() * sizeof(std::uint16_t); }
  // Steps of the laid-out one-row pass, as Network::one_row_steps.
  std::size_t one_row_steps() const { return steps_; }

 private:
  static const Network<T>& checked(const Network<T>& net) {
    if (!net.built()) throw error("HalfPredictor: the network is not built; call build(input_width) first");
    return net;
  }

  void convert() {
    const std::vector<Dense<T>*> dense = dense_layers<T>(net_.layers());
    std::size_t total = 0;
    for (const Dense<T>* d : dense) total += static_cast<std::size_t>(d->w_.size());
    half_.assign(total, 0);
    std::uint16_t* h = half_.data();
    for (Dense<T>* d : dense) {
      auto& w = d->w_;  // in x units, column-major: column j holds the weights of output j
      for (Index j = 0; j < w.cols(); ++j)
        for (Index i = 0; i < w.rows(); ++i) {
          const T v = w(i, j);
          if (!(std::abs(v) <= T(kHalfMax)))
            throw value_error(detail::concat("HalfPredictor: ", d->label(), ": weight (", i, ", ", j, ") of ",
                                             shape_str(w.rows(), w.cols()), " is ", static_cast<double>(v),
                                             std::isfinite(v) ? ", beyond +-65504, the largest half" : ", not finite"));
          const std::uint16_t b = float_to_half(static_cast<float>(v));
          h[i + j * w.rows()] = b;
          w(i, j) = static_cast<T>(half_to_float(b));
        }
      d->half_.p = h;
      h += w.size();
    }
    steps_ = net_.one_row_steps();  // laid out now, over the 16-bit copies
  }

  Network<T> net_;
  std::vector<std::uint16_t> half_;
  std::size_t steps_ = 0;
};

}  // namespace plexus
