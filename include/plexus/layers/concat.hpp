// Concat in the DenseNet sense: y = [x | f(x)], the output of a sub-network
// appended to its input (Keras: `x = concatenate([x, f(x)])`).
//
// Shapes: x is batch x w, f maps w to g columns, y is batch x (w + g).
// Gradients: dx += dy[:, :w] + (df/dx)^T dy[:, w:].
// Inside a Sequential, consecutive Concats share one buffer: the input is
// already the output's leading columns, so neither the copy forward nor
// the add backward happens.
#pragma once

#include "../model/wrapper.hpp"

namespace plexus {

template <typename T>
class Concat : public Wrapper<Concat<T>, T> {
 public:
  static constexpr const char *kind_name = "Concat", *body_name = "concat body";
  using Wrapper<Concat<T>, T>::Wrapper;

  // ONNX: the body's nodes, then Concat(x, body(x)) on axis 1.
  static LayerInterop interop() {
    return Concat::join_interop("Concat", {OnnxAttribute::integer("axis", 1)}, false, [](const OnnxNode& n) {
      const std::int64_t axis = n.integer("axis", 0);
      return axis == 1 || axis == -1;
    });
  }

  bool extends_input() const override { return true; }

  void emit_row_steps(RowPlanBuilder<T>& plan, Index in, Index out) const override {
    const Index w = this->input_width();
    plan.copy(in, out, w);  // nothing when the input already is the output's leading columns
    plan.emit(this->body(), in, out + w);
  }

 protected:
  Index build_shape(Index input_width) override { return input_width + this->build_body(input_width); }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) override {
    const Index w = x.cols();
    if (!aliased(x.data(), x.outerStride(), y.data(), y.outerStride())) y.leftCols(w) = x;
    this->body().forward(x, y.rightCols(y.cols() - w), ctx);
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index w = x.cols(), g = y.cols() - w;
    if (aliased(dx.data(), dx.outerStride(), dy.data(), dy.outerStride())) {
      if (mode != GradientMode::add)
        throw error(this->label() + ": an input gradient stored inside the output gradient must be accumulated");
    } else if (mode == GradientMode::add) {
      dx += dy.leftCols(w);
    } else {
      dx = dy.leftCols(w);
    }
    this->body().backward(x, y.rightCols(g), dy.rightCols(g), dx, GradientMode::add);
  }

 private:
  static bool aliased(const T* a, Index lda, const T* b, Index ldb) { return a == b && lda == ldb; }
};

}  // namespace plexus
