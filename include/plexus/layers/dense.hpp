// Dense (fully connected) layer: y = f(x W + b), with an optional activation
// f applied in place while the output tile is still in cache.
//
// Shapes: x is batch x in, W is in x out (stored column-major, i.e. exactly
// PyTorch's (out, in) row-major weight), b is out, y is batch x out.
// Gradients: dZ = dy * f'(y); dW = x^T dZ; db = column sums of dZ; dx += dZ W^T.
#pragma once

#include "../core/gemm.hpp"
#include "../core/half.hpp"
#include "../core/kernels.hpp"
#include "activation.hpp"
#include "layer.hpp"

#include <cmath>
#include <functional>
#include <vector>

namespace plexus {

// Parameter initialisers.
enum class Init : int {
  zeros = 0,
  glorot_uniform = 1,  // U(-l, l), l = sqrt(6 / (in + out)): Keras' Dense default
  he_normal = 2,       // N(0, 2 / in)
  he_uniform = 3,      // U(-l, l), l = sqrt(6 / in)
  torch_default = 4,   // U(-1/sqrt(in), 1/sqrt(in)): PyTorch's nn.Linear default, weights and bias
};

inline std::string to_string(Init i) {
  switch (i) {
    case Init::zeros: return "zeros";
    case Init::glorot_uniform: return "glorot_uniform";
    case Init::he_normal: return "he_normal";
    case Init::he_uniform: return "he_uniform";
    case Init::torch_default: return "torch_default";
  }
  return "unknown";
}

inline Init init_from_int(long long v) {
  if (v < 0 || v > 4) throw value_error(detail::concat("unknown initialiser code ", v));
  return static_cast<Init>(v);
}

struct DenseOptions {
  Activation activation = Activation::identity;
  Init weight_init = Init::glorot_uniform;
  Init bias_init = Init::zeros;
};

template <typename T>
class HalfPredictor;
namespace detail {
template <typename T>
class RowPlan;
}

template <typename T>
class Dense : public Layer<T> {
 public:
  // A dense layer with `units` outputs; its input width comes from build().
  explicit Dense(Index units, Activation activation = Activation::identity, Init weight_init = Init::glorot_uniform,
                 Init bias_init = Init::zeros)
      : units_(units), opt_{activation, weight_init, bias_init} {
    if (units <= 0) throw value_error(detail::concat("Dense: units must be positive, got ", units));
  }
  Dense(Index units, DenseOptions opt) : Dense(units, opt.activation, opt.weight_init, opt.bias_init) {}

  std::string kind() const override { return "Dense"; }
  std::string describe() const override {
    std::string s = this->built() ? detail::concat(this->input_width(), " -> ", units_) : detail::concat("-> ", units_);
    if (opt_.activation != Activation::identity) s += ", " + to_string(opt_.activation);
    return s;
  }
  LayerSpec spec() const override {
    return {kind(),
            {this->input_width(), units_, static_cast<long long>(opt_.activation),
             static_cast<long long>(opt_.weight_init), static_cast<long long>(opt_.bias_init)},
            {}};
  }
  std::unique_ptr<Layer<T>> clone() const override {
    auto c = std::make_unique<Dense>(units_, opt_);
    if (this->built()) c->build(this->input_width());
    c->set_path(this->path());
    return c;
  }

  Index units() const { return units_; }
  Activation activation() const { return opt_.activation; }
  const DenseOptions& options() const { return opt_; }

  Index parameter_count() const override { return this->input_width() * units_ + units_; }
  void bind(T* params, T* grads) override {
    const Index in = this->input_width();
    new (&w_) MatrixMap<T>(params, in, units_);
    new (&b_) VectorMap<T>(params + in * units_, units_);
    new (&dw_) MatrixMap<T>(grads, in, units_);
    new (&db_) VectorMap<T>(grads + in * units_, units_);
  }
  void initialize(Rng& rng) override {
    fill(w_.data(), w_.size(), opt_.weight_init, rng);
    fill(b_.data(), b_.size(), opt_.bias_init, rng);
  }

  // Views of the parameters and their gradients (valid once the network is built).
  MatrixMap<T>& weight() { return w_; }
  VectorMap<T>& bias() { return b_; }
  const MatrixMap<T>& weight_gradient() const { return dw_; }
  const VectorMap<T>& bias_gradient() const { return db_; }

  void forward(const ConstMatrixRef<T>& x, MatrixRef<T> y) override {
    this->check_forward(x, y);
    const Index rows = x.rows(), in = this->input_width();
    const Activation a = opt_.activation;
    if (rows == 1) {  // one sample: matrix-vector products over column blocks of W, no packing
      const T* xp = x.data();
      if (x.outerStride() != 1) {  // a row of a taller matrix: gather it
        xrow_.reserve(static_cast<std::size_t>(in));
        for (Index i = 0; i < in; ++i) xrow_.data()[i] = x(0, i);
        xp = xrow_.data();
      }
      const Index block = in * units_ >= detail::kOneRowSplitWeights ? 64 : units_;
      parallel_chunks(units_, block, [&](Index j0, Index nj) {
        for (Index j = j0; j < j0 + nj; ++j) y(0, j) = row_output(j, xp);
      });
      return;
    }
    T* yd = y.data();
    const Index ldy = y.outerStride();
    const T* bias = b_.data();
    gemm<T>(false, false, rows, units_, in, T(1), x.data(), x.outerStride(), w_.data(), in, T(0), yd, ldy,
            [&](Index i0, Index j0, Index mi, Index nj) {
              for (Index j = j0; j < j0 + nj; ++j) {
                T* col = yd + i0 + j * ldy;
                const T bj = bias[j];
                for (Index i = 0; i < mi; ++i) col[i] += bj;
                act::apply(a, col, mi);
              }
            });
  }

  void backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                GradientMode mode = GradientMode::add) override {
    this->check_backward(x, y, dy, dx);
    const Index rows = x.rows(), in = this->input_width();
    const Activation a = opt_.activation;
    // dZ = dy * f'(y) in place, and db = column sums of dZ.
    parallel_chunks(units_, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index j = c0; j < c0 + nc; ++j) {
        T* g = dy.col(j).data();
        act::apply_jacobian(a, y.col(j).data(), g, rows);
        db_[j] = detail::lane_sum(g, rows);
      }
    });
    // dW = x^T dZ
    gemm<T>(true, false, in, units_, rows, T(1), x.data(), x.outerStride(), dy.data(), dy.outerStride(), T(0),
            dw_.data(), in);
    // dx (+)= dZ W^T
    gemm<T>(false, true, rows, in, units_, T(1), dy.data(), dy.outerStride(), w_.data(), in,
            mode == GradientMode::add ? T(1) : T(0), dx.data(), dx.outerStride());
  }

 protected:
  Index build_shape(Index /*input_width*/) override { return units_; }

 private:
  friend class HalfPredictor<T>;
  friend class detail::RowPlan<T>;

  // Output j of the one-row forward pass for the input row x (in values):
  // f(column j of W (or of its 16-bit copy) . x + b_j).
  T row_output(Index j, const T* x) const {
    T v = (half_.p ? dot_half_col(j, x) : w_.col(j).dot(Eigen::Map<const Vector<T>>(x, this->input_width()))) + b_[j];
    act::apply(opt_.activation, &v, 1);
    return v;
  }

  // Column j of the half-precision W times x (one-row forward of a HalfPredictor's copy).
  T dot_half_col(Index j, const T* x) const {
    const Index in = this->input_width();
    const std::uint16_t* w = half_.p + j * in;
    if constexpr (std::is_same_v<T, float>) {
      return detail::dot_half(w, x, in);
    } else {
      T s = 0;
      for (Index i = 0; i < in; ++i) s += T(half_to_float(w[i])) * x[i];
      return s;
    }
  }

  void fill(T* p, Index n, Init init, Rng& rng) const {
    const double in = static_cast<double>(this->input_width()), out = static_cast<double>(units_);
    switch (init) {
      case Init::zeros:
        for (Index i = 0; i < n; ++i) p[i] = T(0);
        return;
      case Init::glorot_uniform: {
        const double l = std::sqrt(6.0 / (in + out));
        for (Index i = 0; i < n; ++i) p[i] = static_cast<T>(rng.uniform(-l, l));
        return;
      }
      case Init::he_normal: {
        const double s = std::sqrt(2.0 / in);
        for (Index i = 0; i < n; ++i) p[i] = static_cast<T>(s * rng.normal());
        return;
      }
      case Init::he_uniform: {
        const double l = std::sqrt(6.0 / in);
        for (Index i = 0; i < n; ++i) p[i] = static_cast<T>(rng.uniform(-l, l));
        return;
      }
      case Init::torch_default: {
        const double l = 1.0 / std::sqrt(in);
        for (Index i = 0; i < n; ++i) p[i] = static_cast<T>(rng.uniform(-l, l));
        return;
      }
    }
  }

  Index units_;
  DenseOptions opt_;
  MatrixMap<T> w_{nullptr, 0, 0};
  VectorMap<T> b_{nullptr, 0};
  MatrixMap<T> dw_{nullptr, 0, 0};
  VectorMap<T> db_{nullptr, 0};
  Buffer<T> xrow_;
  // Half-precision copy of W owned by a HalfPredictor (null otherwise); a
  // copied layer does not inherit it.
  struct HalfWeights {
    const std::uint16_t* p = nullptr;
    HalfWeights() = default;
    HalfWeights(const HalfWeights&) {}
    HalfWeights& operator=(const HalfWeights&) {
      p = nullptr;
      return *this;
    }
  } half_;
};

// Every Dense layer in `layer` (itself included), in the order the forward
// pass applies them; the pointers stay valid while the layers exist.
template <typename T>
std::vector<Dense<T>*> dense_layers(Layer<T>& layer) {
  std::vector<Dense<T>*> out;
  std::function<void(Layer<T>&)> visit = [&](Layer<T>& l) {
    if (auto* d = dynamic_cast<Dense<T>*>(&l)) out.push_back(d);
    l.for_each_child(visit);
  };
  visit(layer);
  return out;
}

}  // namespace plexus
