// Residual: y = x + f(x) for any sub-network f that keeps the width.
//
// Shapes: x, f(x) and y are batch x w.
// Gradients: dx += dy + (df/dx)^T dy.
#pragma once

#include "layer.hpp"

#include <memory>

namespace plexus {

template <typename T>
class Residual : public Layer<T> {
 public:
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, std::decay_t<L>>>>
  explicit Residual(L&& f) : f_(std::make_unique<std::decay_t<L>>(std::forward<L>(f))) {}
  explicit Residual(std::unique_ptr<Layer<T>> f) : f_(std::move(f)) {
    if (!f_) throw value_error("Residual: null sub-network");
  }
  Residual(const Residual& o) : Layer<T>(o), f_(o.f_->clone()) {}
  Residual& operator=(const Residual& o) {
    if (this != &o) {
      Layer<T>::operator=(o);
      f_ = o.f_->clone();
    }
    return *this;
  }
  Residual(Residual&&) noexcept = default;
  Residual& operator=(Residual&&) noexcept = default;

  Layer<T>& body() { return *f_; }

  std::string kind() const override { return "Residual"; }
  std::string describe() const override {
    return this->built() ? detail::concat(this->input_width(), " -> ", this->output_width()) : std::string();
  }
  LayerSpec spec() const override { return {kind(), {this->input_width()}, {f_->spec()}}; }
  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Residual>(*this); }
  void for_each_child(const std::function<void(Layer<T>&)>& f) override { f(*f_); }

  Index parameter_count() const override { return f_->parameter_count(); }
  void bind(T* params, T* grads) override { f_->bind(params, grads); }
  void initialize(Rng& rng) override { f_->initialize(rng); }

  void forward(const ConstMatrixRef<T>& x, MatrixRef<T> y) override {
    this->check_forward(x, y);
    const Index b = x.rows(), w = x.cols();
    auto fx = fx_.view(b, w);
    f_->forward(x, fx);
    parallel_chunks(w, detail::column_chunk(b), [&](Index c0, Index nc) {
      y.middleCols(c0, nc) = x.middleCols(c0, nc) + fx.middleCols(c0, nc);
    });
  }

  void backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                GradientMode mode = GradientMode::add) override {
    this->check_backward(x, y, dy, dx);
    const Index b = x.rows(), w = x.cols();
    if (static_cast<std::size_t>(b * w) > fx_.capacity())
      throw shape_error(detail::concat(this->label(), ": backward on a batch of ", b, " rows without a forward pass"));
    parallel_chunks(w, detail::column_chunk(b), [&](Index c0, Index nc) {
      if (mode == GradientMode::add) dx.middleCols(c0, nc) += dy.middleCols(c0, nc);
      else dx.middleCols(c0, nc) = dy.middleCols(c0, nc);
    });
    // f may overwrite dy: it is used up above
    f_->backward(x, MatrixMap<T>(fx_.data(), b, w), dy, dx, GradientMode::add);
  }

 protected:
  Index build_shape(Index input_width) override {
    f_->set_path(child_path());
    const Index out = f_->build(input_width);
    if (out != input_width)
      throw shape_error(detail::concat(this->label(), ": the body maps ", input_width, " columns to ", out,
                                       "; a residual block needs the same width in and out"));
    return out;
  }
  void on_path_changed() override { f_->set_path(child_path()); }

 private:
  std::string child_path() const { return (this->path().empty() ? std::string() : this->path() + " > ") + "residual body"; }

  std::unique_ptr<Layer<T>> f_;
  Buffer<T> fx_;
};

}  // namespace plexus
