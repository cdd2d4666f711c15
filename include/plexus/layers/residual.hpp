// Residual: y = x + f(x) for any sub-network f that keeps the width.
//
// Shapes: x, f(x) and y are batch x w.
// Gradients: dx += dy + (df/dx)^T dy.
#pragma once

#include "../engine/kernels.hpp"
#include "../model/wrapper.hpp"

namespace plexus {

template <typename T>
class Residual : public Wrapper<Residual<T>, T> {
 public:
  static constexpr const char *kind_name = "Residual", *body_name = "residual body";
  using Wrapper<Residual<T>, T>::Wrapper;

  // ONNX: the body's nodes, then Add(x, body(x)).
  static LayerInterop interop() {
    return Residual::join_interop("Add", {}, true, [](const OnnxNode&) { return true; });
  }

  // The body writes a buffer of its own; when its last step is a dense
  // step, the skip is added inside it instead of in a step of its own.
  void emit_row_steps(RowPlanBuilder<T>& plan, Index in, Index out) const override {
    const Index w = this->input_width();
    const Index fx = plan.allocate(w);
    plan.emit(this->body(), in, fx);
    if (!plan.fuse_skip(fx, in, out, w)) plan.add(in, fx, out, w);
  }

 protected:
  Index build_shape(Index input_width) override {
    const Index out = this->build_body(input_width);
    if (out != input_width)
      throw shape_error(detail::concat(this->label(), ": the body maps ", input_width, " columns to ", out,
                                       "; a residual block needs the same width in and out"));
    return out;
  }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) override {
    const Index b = x.rows(), w = x.cols();
    auto fx = fx_.view(b, w);
    this->body().forward(x, fx, ctx);
    parallel_chunks(w, detail::column_chunk(b),
                    [&](Index c0, Index nc) { y.middleCols(c0, nc) = x.middleCols(c0, nc) + fx.middleCols(c0, nc); });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& /*y*/, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index b = x.rows(), w = x.cols();
    parallel_chunks(w, detail::column_chunk(b), [&](Index c0, Index nc) {
      if (mode == GradientMode::add) dx.middleCols(c0, nc) += dy.middleCols(c0, nc);
      else dx.middleCols(c0, nc) = dy.middleCols(c0, nc);
    });
    // the body may overwrite dy: it is used up above
    this->body().backward(x, MatrixMap<T>(fx_.data(), b, w), dy, dx, GradientMode::add);
  }

 private:
  Buffer<T> fx_;
};

}  // namespace plexus
