// HalfPredictor: a frozen copy of a network whose one-row plan stores the
// weights of its dense steps as IEEE half precision (16 bits), for
// prediction one sample at a time.
//
// Predicting one sample reads every weight once, so its time is the time to
// stream the weights from memory: halving their size nearly halves it. The
// copy's weights are rounded to the nearest half (biases stay in full
// precision) and every product is still computed in T, so the copy is an
// ordinary network with slightly different weights: one-row calls read the
// 16-bit copy, larger batches run the usual products on the rounded
// weights, and both compute the same function up to rounding of the sums.
// Relative to the original, each weight moves by at most 2^-11 of its value
// (weights below 2^-14 in magnitude by at most 2^-25; double weights are
// rounded to float first). Any layer that emits dense steps (Dense, and a
// user's layer that does) gets 16-bit weights; other layers run as they are.
//
//   plexus::HalfPredictor<float> fast(net);   // snapshot; net is not changed
//   fast.predict(x, y);                       // x: 1 x in, y: 1 x out
//
// Later changes to `net` do not reach the snapshot: make a new one. Like
// Network::predict, predict() is const and safe from many threads at once.
#pragma once

#include "inference.hpp"
#include "network.hpp"

#include <cstdint>
#include <memory>

namespace plexus {

template <typename T>
class HalfPredictor {
 public:
  // Copies `net` (which must be built) and rounds the weights of its dense
  // steps to half precision. Throws value_error naming the layer and the
  // entry if a weight is not finite or beyond +-65504, the largest half.
  explicit HalfPredictor(const Network<T>& net) : net_(checked(net)) { convert(); }
  HalfPredictor(const HalfPredictor& o) : net_(o.net_) { convert(); }
  HalfPredictor& operator=(const HalfPredictor& o) {
    if (this != &o) {
      HalfPredictor tmp(o);
      *this = std::move(tmp);
    }
    return *this;
  }
  // Moving keeps the heap blocks the plan points into.
  HalfPredictor(HalfPredictor&&) noexcept = default;
  HalfPredictor& operator=(HalfPredictor&&) noexcept = default;

  Index input_width() const { return net_.input_width(); }
  Index output_width() const { return net_.output_width(); }

  // Predictions for a batch of any size, with the same checks and messages
  // as Network::predict.
  Matrix<T> predict(const ConstMatrixRef<T>& x, PredictOptions options = {}) const {
    Matrix<T> y(x.rows(), output_width());
    predict(x, y, options);
    return y;
  }
  void predict(const ConstMatrixRef<T>& x, MatrixRef<T> y, PredictOptions options = {}) const {
    net_.check_prediction(x, y, "Network::predict");
    if (x.rows() != 1) {
      net_.predict(x, y, options);
      return;
    }
    Network<T>& n = const_cast<Network<T>&>(net_);  // the plan only reads it
    half_->predict_row(n.layers(), n.parameters().data(), n.buffers().data(), x, y, options.threads,
                       net_.parameter_count());
  }

  // The frozen copy, with the rounded weights in its parameters(): it can be
  // saved, or copied into a Network for further training.
  const Network<T>& network() const { return net_; }
  // Bytes of 16-bit weights the one-row path reads per call.
  std::size_t half_bytes() const { return half_->plan(net_.layers()).half_bytes(); }
  // Steps of the laid-out one-row pass, as Network::one_row_steps.
  std::size_t one_row_steps() const { return half_->plan(net_.layers()).steps(); }

 private:
  static const Network<T>& checked(const Network<T>& net) {
    if (!net.built()) throw error("HalfPredictor: the network is not built; call build(input_width) first");
    return net;
  }

  void convert() {
    half_ = std::make_shared<detail::Inference<T>>(RowWeights::half);
    try {
      const RowPlan<T>& plan = half_->plan(net_.layers());
      // The copy's own weights become the rounded values, so batch calls
      // compute the function the 16-bit one-row calls do.
      for (const auto& [w, n] : plan.converted()) {
        T* p = const_cast<T*>(w);
        for (Index i = 0; i < n; ++i) p[i] = static_cast<T>(half_to_float(float_to_half(static_cast<float>(p[i]))));
      }
    } catch (const value_error& e) {
      throw value_error(std::string("HalfPredictor: ") + e.what());
    }
  }

  Network<T> net_;
  std::shared_ptr<detail::Inference<T>> half_;
};

}  // namespace plexus
