// Activation functions as tiny stateless policies, and the element-wise
// activation layers built from them. Every derivative here is written in
// terms of the activation's *output*, so Dense can apply an activation in
// place and still back-propagate through it.
#pragma once

#include "layer.hpp"

#include <cmath>
#include <string>

namespace plexus {

enum class Activation : int { identity = 0, relu = 1, tanh = 2, sigmoid = 3 };

inline std::string to_string(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
  }
  return "unknown";
}

inline Activation activation_from_int(long long v) {
  if (v < 0 || v > 3) throw value_error(detail::concat("unknown activation code ", v));
  return static_cast<Activation>(v);
}

namespace act {

// y = f(x) in place over n contiguous values.
template <typename T>
void apply(Activation a, T* y, Index n) {
  using std::exp;
  using std::tanh;
  switch (a) {
    case Activation::identity: return;
    case Activation::relu:
      for (Index i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
      return;
    case Activation::tanh:
      for (Index i = 0; i < n; ++i) y[i] = tanh(y[i]);
      return;
    case Activation::sigmoid:
      for (Index i = 0; i < n; ++i) y[i] = T(1) / (T(1) + exp(-y[i]));
      return;
  }
}

// g *= f'(x), with f'(x) computed from y = f(x), over n contiguous values.
template <typename T>
void apply_jacobian(Activation a, const T* y, T* g, Index n) {
  switch (a) {
    case Activation::identity: return;
    case Activation::relu:
      for (Index i = 0; i < n; ++i) g[i] = y[i] > T(0) ? g[i] : T(0);
      return;
    case Activation::tanh:
      for (Index i = 0; i < n; ++i) g[i] *= T(1) - y[i] * y[i];
      return;
    case Activation::sigmoid:
      for (Index i = 0; i < n; ++i) g[i] *= y[i] * (T(1) - y[i]);
      return;
  }
}

}  // namespace act

// y = f(x), element-wise. Contract: output width = input width; backward
// adds f'(x) * dy into dx.
template <typename T>
class ActivationLayer : public Layer<T> {
 public:
  explicit ActivationLayer(Activation a = Activation::relu) : a_(a) {}

  std::string kind() const override { return "Activation"; }
  std::string describe() const override { return to_string(a_); }
  Activation activation() const { return a_; }

  LayerSpec spec() const override { return {kind(), {this->input_width(), static_cast<long long>(a_)}, {}}; }
  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<ActivationLayer>(*this); }

  void forward(const ConstMatrixRef<T>& x, MatrixRef<T> y) override {
    this->check_forward(x, y);
    const Index rows = x.rows();
    parallel_chunks(x.cols(), detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index c = c0; c < c0 + nc; ++c) {
        if (y.col(c).data() != x.col(c).data()) y.col(c) = x.col(c);
        act::apply(a_, y.col(c).data(), rows);
      }
    });
  }

  void backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                GradientMode mode = GradientMode::add) override {
    this->check_backward(x, y, dy, dx);
    const Index rows = x.rows();
    parallel_chunks(x.cols(), detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index c = c0; c < c0 + nc; ++c) {
        act::apply_jacobian(a_, y.col(c).data(), dy.col(c).data(), rows);
        if (mode == GradientMode::add) dx.col(c) += dy.col(c);
        else dx.col(c) = dy.col(c);
      }
    });
  }

 protected:
  Index build_shape(Index input_width) override { return input_width; }

 private:
  Activation a_;
};

template <typename T>
class ReLU : public ActivationLayer<T> {
 public:
  ReLU() : ActivationLayer<T>(Activation::relu) {}
};
template <typename T>
class Tanh : public ActivationLayer<T> {
 public:
  Tanh() : ActivationLayer<T>(Activation::tanh) {}
};
template <typename T>
class Sigmoid : public ActivationLayer<T> {
 public:
  Sigmoid() : ActivationLayer<T>(Activation::sigmoid) {}
};
template <typename T>
class Identity : public ActivationLayer<T> {
 public:
  Identity() : ActivationLayer<T>(Activation::identity) {}
};

}  // namespace plexus
