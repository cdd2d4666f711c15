// Dense (fully connected) layer: y = f(x W + b), with an optional activation
// f applied in place while the output tile is still in cache.
//
// Shapes: x is batch x in, W is in x out (stored column-major, i.e. exactly
// PyTorch's (out, in) row-major weight), b is out, y is batch x out.
// Gradients: dZ = dy * f'(z); dW = x^T dZ; db = column sums of dZ; dx += dZ W^T.
// An activation whose derivative needs z (GELU, SiLU) keeps z from the
// training forward pass in a buffer of the layer's own.
#pragma once

#include "../engine/dot.hpp"
#include "../engine/gemm.hpp"
#include "../engine/kernels.hpp"
#include "../model/activations.hpp"
#include "../model/layer.hpp"
#include "../model/registration.hpp"

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

// The one table of initialiser names (codes as in model files of version 1).
inline constexpr EnumName<Init> kInitNames[] = {{Init::zeros, "zeros"},
                                                {Init::glorot_uniform, "glorot_uniform"},
                                                {Init::he_normal, "he_normal"},
                                                {Init::he_uniform, "he_uniform"},
                                                {Init::torch_default, "torch_default"}};

inline std::string to_string(Init i) { return enum_name(kInitNames, i); }

struct DenseOptions {
  ActivationFunction activation = Activation::identity;
  Init weight_init = Init::glorot_uniform;
  Init bias_init = Init::zeros;
};

template <typename T>
class Dense : public LayerBase<Dense<T>, T> {
 public:
  static constexpr const char* kind_name = "Dense";

  // A dense layer with `units` outputs; its input width comes from build().
  explicit Dense(Index units, ActivationFunction activation = Activation::identity,
                 Init weight_init = Init::glorot_uniform, Init bias_init = Init::zeros)
      : units_(units), opt_{activation, weight_init, bias_init} {
    if (units <= 0 || units > kMaxLayerWidth)
      throw value_error(detail::concat("Dense: units must be in [1, ", kMaxLayerWidth, "], got ", units));
  }
  Dense(Index units, DenseOptions opt) : Dense(units, opt.activation, opt.weight_init, opt.bias_init) {}

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& /*children*/) {
    const Index units = r.integer("units", 1, kMaxLayerWidth);
    const ActivationFunction f = ActivationFunction::read(r);
    const Init w = r.choice("weight_init", kInitNames, Init::glorot_uniform);
    const Init b = r.choice("bias_init", kInitNames, Init::zeros);
    return std::make_unique<Dense>(units, f, w, b);
  }

  // PyTorch's nn.Linear layout (weight (out, in), bias (out)); ONNX Gemm
  // (transB = 1) and the activation's nodes; read back from Gemm, or MatMul
  // with an optional Add, each followed by an optional activation.
  static LayerInterop interop() {
    LayerInterop i;
    i.torch.tensors = [](const LayerSpec&, Index in, Index out) {
      return std::vector<TorchSlot>{{"weight", {out, in}, false, 0}, {"bias", {out}, false, in * out}};
    };
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer& l, const std::string& x) {
      SpecReader r(l.spec, std::string());
      const ActivationFunction f = ActivationFunction::read(r);
      const std::string z =
          g.node("Gemm", {x, g.tensor("weight"), g.tensor("bias")}, {OnnxAttribute::integer("transB", 1)});
      return onnx_write_activation(g, f, z);
    };
    i.onnx_import = &import_onnx_nodes;
    return i;
  }

  std::string describe() const override {
    std::string s = this->built() ? detail::concat(this->input_width(), " -> ", units_) : detail::concat("-> ", units_);
    if (!opt_.activation.is_identity()) s += ", " + opt_.activation.text();
    return s;
  }

  Index units() const { return units_; }
  const ActivationFunction& activation() const { return opt_.activation; }
  const DenseOptions& options() const { return opt_; }

  Index parameter_count() const override { return this->input_width() * units_ + units_; }

  // Views of the parameters and their gradients (valid once the network is built).
  MatrixMap<T>& weight() { return w_; }
  VectorMap<T>& bias() { return b_; }
  ConstMatrixMap<T> weight() const { return ConstMatrixMap<T>(w_.data(), w_.rows(), w_.cols()); }
  Eigen::Map<const Vector<T>> bias() const { return Eigen::Map<const Vector<T>>(b_.data(), b_.size()); }
  ConstMatrixMap<T> weight_gradient() const { return ConstMatrixMap<T>(dw_.data(), dw_.rows(), dw_.cols()); }
  Eigen::Map<const Vector<T>> bias_gradient() const { return Eigen::Map<const Vector<T>>(db_.data(), db_.size()); }

  void emit_row_steps(RowPlanBuilder<T>& plan, Index in, Index out) const override {
    plan.dense(*this, in, this->input_width(), out, w_.data(), units_, b_.data(), opt_.activation);
  }

 protected:
  Index build_shape(Index /*input_width*/) override { return units_; }
  void write_settings(LayerSpec& s) const override {
    s.set("units", units_);
    opt_.activation.write(s);
    s.set("weight_init", to_string(opt_.weight_init));
    s.set("bias_init", to_string(opt_.bias_init));
  }
  void on_bind(T* params, T* grads, T* /*buffers*/) override {
    const Index in = this->input_width();
    new (&w_) MatrixMap<T>(params, in, units_);
    new (&b_) VectorMap<T>(params + in * units_, units_);
    new (&dw_) MatrixMap<T>(grads, grads ? in : 0, grads ? units_ : 0);
    new (&db_) VectorMap<T>(grads ? grads + in * units_ : nullptr, grads ? units_ : 0);
  }
  void on_initialize(Rng& rng) override {
    fill(w_.data(), w_.size(), opt_.weight_init, rng);
    fill(b_.data(), b_.size(), opt_.bias_init, rng);
  }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) override {
    const Index rows = x.rows(), in = this->input_width();
    const ActivationFunction& f = opt_.activation;
    keep_input_ = ctx.backward && f.needs_input();
    precision_ = ctx.precision;
    if (rows == 1 && !keep_input_ && precision_ == Precision::native) {  // one sample: a dot per output, no packing
      const T* xp = x.data();
      if (x.outerStride() != 1) {  // a row of a taller matrix: gather it
        xrow_.reserve(static_cast<std::size_t>(in));
        for (Index i = 0; i < in; ++i) xrow_.data()[i] = x(0, i);
        xp = xrow_.data();
      }
      for (Index j = 0; j < units_; ++j) y(0, j) = row_output(j, xp);
      return;
    }
    T* yd = y.data();
    const Index ldy = y.outerStride();
    const T* bias = b_.data();
    T* z = keep_input_ ? z_.view(rows, units_).data() : nullptr;
    gemm<T>(
        false, false, rows, units_, in, T(1), x.data(), x.outerStride(), w_.data(), in, T(0), yd, ldy,
        [&](Index i0, Index j0, Index mi, Index nj) {
          for (Index j = j0; j < j0 + nj; ++j) {
            T* col = yd + i0 + j * ldy;
            const T bj = bias[j];
            for (Index i = 0; i < mi; ++i) col[i] += bj;
            if (z) std::copy(col, col + mi, z + i0 + j * rows);
            act::apply(f, col, mi);
          }
        },
        precision_);
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows(), in = this->input_width();
    const ActivationFunction& f = opt_.activation;
    const T* z = keep_input_ ? z_.data() : nullptr;
    // dZ = dy * f'(z) in place, and db = column sums of dZ.
    parallel_chunks(units_, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index j = c0; j < c0 + nc; ++j) {
        T* g = dy.col(j).data();
        act::apply_jacobian(f, z ? z + j * rows : nullptr, y.col(j).data(), g, rows);
        db_[j] = detail::lane_sum(g, rows);
      }
    });
    // dW = x^T dZ and dx (+)= dZ W^T, in the forward pass's precision
    gemm<T>(true, false, in, units_, rows, T(1), x.data(), x.outerStride(), dy.data(), dy.outerStride(), T(0),
            dw_.data(), in, precision_);
    gemm<T>(false, true, rows, in, units_, T(1), dy.data(), dy.outerStride(), w_.data(), in,
            mode == GradientMode::add ? T(1) : T(0), dx.data(), dx.outerStride(), precision_);
  }

 private:
  static bool import_onnx_nodes(OnnxGraph& g, const std::string& x, OnnxMatch& m) {
    const OnnxNode* n = g.sole_consumer(x);
    if (!n || n->inputs.size() < 2 || n->inputs[0] != x) return false;
    const OnnxConstant* w = g.constant(n->inputs[1]);
    if (!w || w->integral || w->shape.size() != 2) return false;
    OnnxConstant weight{{w->shape[1], w->shape[0]}, std::vector<double>(w->values.size()), false};  // transposed
    const auto transpose = [&] {
      const std::int64_t rows = w->shape[0], cols = w->shape[1];
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j)
          weight.values[static_cast<std::size_t>(j * rows + i)] = w->values[static_cast<std::size_t>(i * cols + j)];
    };
    const OnnxConstant* bias = nullptr;
    std::string z = n->outputs.at(0);
    m.nodes = {n};
    if (n->op_type == "Gemm") {
      if (n->integer("transA", 0) != 0 || n->real("alpha", 1.0) != 1.0) return false;
      if (n->integer("transB", 0) != 0) weight = *w;
      else transpose();
      if (n->inputs.size() > 2 && !n->inputs[2].empty()) {
        if (n->real("beta", 1.0) != 1.0 || !(bias = onnx_vector(g.constant(n->inputs[2])))) return false;
      }
    } else if (n->op_type == "MatMul") {
      transpose();
      const OnnxNode* add = g.sole_consumer(z, "Add");
      if (add && add->inputs.size() == 2) {
        const std::string other = add->inputs[0] == z ? add->inputs[1] : add->inputs[0];
        if ((bias = onnx_vector(g.constant(other)))) m.nodes.push_back(add), z = add->outputs.at(0);
      }
    } else {
      return false;
    }
    const Index units = static_cast<Index>(weight.shape[0]);
    if (units < 1 || units > kMaxLayerWidth) return false;
    ActivationFunction f;
    OnnxScalarFunction used;
    if (onnx_match_activation(g, z, f, used)) {
      m.nodes.insert(m.nodes.end(), used.nodes.begin(), used.nodes.end());
      z = used.output;
    }
    m.spec = Dense(units, f).spec();
    m.tensors.push_back({"weight", weight, n->where()});
    m.tensors.push_back(
        {"bias", bias ? onnx_flat(*bias) : OnnxConstant{{units}, std::vector<double>(units), false}, n->where()});
    m.output = z;
    return true;
  }

  // Output j of the one-row forward pass for the input row x: f(column j of W . x + b_j),
  // with the arithmetic of the one-row plan's dense step (row_plan.hpp).
  T row_output(Index j, const T* x) const {
    T v = detail::dot(w_.data() + j * this->input_width(), x, this->input_width()) + b_[j];
    act::apply(opt_.activation, &v, 1);
    return v;
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
  Buffer<T> z_;                              // pre-activations of the last training pass, when f needs them
  bool keep_input_ = false;                  // z_ holds them
  Precision precision_ = Precision::native;  // of the last forward pass's products, used by its backward
};

// Every Dense layer in `layer` (itself included, subclasses too), in the
// order the forward pass applies them; valid while the layers exist.
template <typename T>
std::vector<Dense<T>*> dense_layers(Layer<T>& layer) {
  std::vector<Dense<T>*> out;
  std::function<void(Layer<T>&)> visit = [&](Layer<T>& l) {
    if (auto* d = dynamic_cast<Dense<T>*>(&l)) out.push_back(d);
    for (std::size_t i = 0; i < l.child_count(); ++i) visit(l.child(i));
  };
  visit(layer);
  return out;
}

}  // namespace plexus
