// Gated linear unit: the input's two halves [a | b] multiplied element-wise,
// y = a * g(b), with g any activation function (torch.nn.GLU is g = sigmoid;
// identity gives the bilinear product a * b, silu "SwiGLU", gelu "GEGLU").
// Put after a Dense of 2m outputs it is the gated layer of Dauphin et al.:
// one layer that multiplies, which a ReLU network needs depth to do.
//
// Shapes: x is batch x 2m, y is batch x m.
// Gradients: da = dy * g(b), db = dy * a * g'(b).
#pragma once

#include "activations.hpp"
#include "layer.hpp"
#include "registry.hpp"

#include <algorithm>
#include <string>

namespace plexus {

template <typename T>
class GLU : public LayerBase<GLU<T>, T> {
 public:
  static constexpr const char* kind_name = "GLU";

  explicit GLU(ActivationFunction gate = Activation::sigmoid) : g_(gate) {}

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& /*children*/) {
    return std::make_unique<GLU>(ActivationFunction::read(r));
  }

  std::string describe() const override {
    return this->built() ? detail::concat(this->input_width(), " -> ", this->output_width(), ", gate ", g_.text())
                         : "gate " + g_.text();
  }
  const ActivationFunction& gate() const { return g_; }

 protected:
  Index build_shape(Index input_width) override {
    if (input_width % 2 != 0)
      throw shape_error(detail::concat(this->label(), ": the input's two halves are multiplied, so its width must be ",
                                       "even; got ", input_width, " columns"));
    return input_width / 2;
  }
  void write_settings(LayerSpec& s) const override { g_.write(s); }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& /*ctx*/) override {
    const Index rows = x.rows(), m = y.cols();
    parallel_chunks(m, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index c = c0; c < c0 + nc; ++c) {
        y.col(c) = x.col(m + c);
        act::apply(g_, y.col(c).data(), rows);
        y.col(c).array() *= x.col(c).array();
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& /*y*/, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows(), m = dy.cols();
    parallel_chunks(m, detail::column_chunk(rows), [&](Index c0, Index nc) {
      constexpr Index kPiece = 256;  // on the stack: no allocation, nothing shared between threads
      T gb[kPiece], db[kPiece];
      for (Index c = c0; c < c0 + nc; ++c) {
        const T* a = x.col(c).data();
        const T* b = x.col(m + c).data();
        const T* d = dy.col(c).data();
        T* da = dx.col(c).data();
        T* dbo = dx.col(m + c).data();
        for (Index r0 = 0; r0 < rows; r0 += kPiece) {
          const Index n = std::min(kPiece, rows - r0);
          for (Index i = 0; i < n; ++i) gb[i] = b[r0 + i], db[i] = d[r0 + i] * a[r0 + i];
          act::apply(g_, gb, n);                       // g(b)
          act::apply_jacobian(g_, b + r0, gb, db, n);  // dy * a * g'(b)
          if (mode == GradientMode::add) {
            for (Index i = 0; i < n; ++i) da[r0 + i] += d[r0 + i] * gb[i], dbo[r0 + i] += db[i];
          } else {
            for (Index i = 0; i < n; ++i) da[r0 + i] = d[r0 + i] * gb[i], dbo[r0 + i] = db[i];
          }
        }
      }
    });
  }

 private:
  ActivationFunction g_;
};

PLEXUS_REGISTER_LAYER(GLU);

}  // namespace plexus
