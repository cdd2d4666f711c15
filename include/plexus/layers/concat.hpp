// Concat in the DenseNet sense: y = [x | f(x)], the output of a sub-network
// appended to its input (Keras: `x = concatenate([x, f(x)])`).
//
// Shapes: x is batch x w, f maps w to g columns, y is batch x (w + g).
// Gradients: dx += dy[:, :w] + (df/dx)^T dy[:, w:].
// Inside a Sequential, consecutive Concats share one buffer: the input is
// already the output's leading columns, so neither the copy forward nor
// the add backward happens.
#pragma once

#include "layer.hpp"

#include <memory>

namespace plexus {

template <typename T>
class Concat : public Layer<T> {
 public:
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, std::decay_t<L>>>>
  explicit Concat(L&& f) : f_(std::make_unique<std::decay_t<L>>(std::forward<L>(f))) {}
  explicit Concat(std::unique_ptr<Layer<T>> f) : f_(std::move(f)) {
    if (!f_) throw value_error("Concat: null sub-network");
  }
  Concat(const Concat& o) : Layer<T>(o), f_(o.f_->clone()) {}
  Concat& operator=(const Concat& o) {
    if (this != &o) {
      Layer<T>::operator=(o);
      f_ = o.f_->clone();
    }
    return *this;
  }
  Concat(Concat&&) noexcept = default;
  Concat& operator=(Concat&&) noexcept = default;

  Layer<T>& body() { return *f_; }

  std::string kind() const override { return "Concat"; }
  std::string describe() const override {
    return this->built() ? detail::concat(this->input_width(), " -> ", this->output_width()) : std::string();
  }
  LayerSpec spec() const override { return {kind(), {this->input_width()}, {f_->spec()}}; }
  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Concat>(*this); }
  void for_each_child(const std::function<void(Layer<T>&)>& f) override { f(*f_); }
  bool extends_input() const override { return true; }

  Index parameter_count() const override { return f_->parameter_count(); }
  void bind(T* params, T* grads) override { f_->bind(params, grads); }
  void initialize(Rng& rng) override { f_->initialize(rng); }

  void forward(const ConstMatrixRef<T>& x, MatrixRef<T> y) override {
    this->check_forward(x, y);
    const Index w = x.cols();
    if (!aliased(x.data(), x.outerStride(), y.data(), y.outerStride())) y.leftCols(w) = x;
    f_->forward(x, y.rightCols(y.cols() - w));
  }

  void backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                GradientMode mode = GradientMode::add) override {
    this->check_backward(x, y, dy, dx);
    const Index w = x.cols(), g = y.cols() - w;
    if (aliased(dx.data(), dx.outerStride(), dy.data(), dy.outerStride())) {
      if (mode != GradientMode::add)
        throw error(this->label() + ": an input gradient stored inside the output gradient must be accumulated");
    } else if (mode == GradientMode::add) {
      dx += dy.leftCols(w);
    } else {
      dx = dy.leftCols(w);
    }
    f_->backward(x, y.rightCols(g), dy.rightCols(g), dx, GradientMode::add);
  }

 protected:
  Index build_shape(Index input_width) override {
    f_->set_path(child_path());
    return input_width + f_->build(input_width);
  }
  void on_path_changed() override { f_->set_path(child_path()); }

 private:
  static bool aliased(const T* a, Index lda, const T* b, Index ldb) { return a == b && lda == ldb; }
  std::string child_path() const { return (this->path().empty() ? std::string() : this->path() + " > ") + "concat body"; }

  std::unique_ptr<Layer<T>> f_;
};

}  // namespace plexus
