// Element-wise activation layers: y = f(x) for any of the activation
// functions of activations.hpp (ReLU<T>, GELU<T>, LeakyReLU<T>(0.2), ... or
// ActivationLayer<T>(f)). Output width = input width; backward adds
// f'(x) * dy into dx.
#pragma once

#include "../engine/kernels.hpp"
#include "../model/activations.hpp"
#include "../model/layer.hpp"
#include "../model/registration.hpp"

#include <string>

namespace plexus {

template <typename T>
class ActivationLayer : public LayerBase<ActivationLayer<T>, T> {
 public:
  static constexpr const char* kind_name = "Activation";

  explicit ActivationLayer(ActivationFunction f = Activation::relu) : f_(f) {}

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& /*children*/) {
    return std::make_unique<ActivationLayer>(ActivationFunction::read(r));
  }

  // ONNX: the function's nodes (activations.hpp), read back from them.
  static LayerInterop interop() {
    LayerInterop i;
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer& l, const std::string& x) {
      SpecReader r(l.spec, std::string());
      return onnx_write_activation(g, ActivationFunction::read(r), x);
    };
    i.onnx_import = [](OnnxGraph& g, const std::string& x, OnnxMatch& m) {
      ActivationFunction f;
      OnnxScalarFunction used;
      if (!onnx_match_activation(g, x, f, used)) return false;
      m.spec = ActivationLayer(f).spec();
      m.nodes = used.nodes;
      m.output = used.output;
      return true;
    };
    i.import_order = 1;  // after Dense, which takes a following activation in
    return i;
  }

  std::string describe() const override { return f_.text(); }
  const ActivationFunction& activation() const { return f_; }

  void emit_row_steps(RowPlanBuilder<T>& plan, Index in, Index out) const override {
    plan.activate(in, out, this->input_width(), f_);
  }

 protected:
  Index build_shape(Index input_width) override { return input_width; }
  void write_settings(LayerSpec& s) const override { f_.write(s); }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& /*ctx*/) override {
    const Index rows = x.rows();
    parallel_chunks(x.cols(), detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index c = c0; c < c0 + nc; ++c) {
        if (y.col(c).data() != x.col(c).data()) y.col(c) = x.col(c);
        act::apply(f_, y.col(c).data(), rows);
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows();
    parallel_chunks(x.cols(), detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index c = c0; c < c0 + nc; ++c) {
        act::apply_jacobian(f_, x.col(c).data(), y.col(c).data(), dy.col(c).data(), rows);
        if (mode == GradientMode::add) dx.col(c) += dy.col(c);
        else dx.col(c) = dy.col(c);
      }
    });
  }

 private:
  ActivationFunction f_;
};

// An activation layer of one fixed function, e.g. ReLU<float>() or
// LeakyReLU<float>(0.2); its kind and spec are those of ActivationLayer
// (kind_name inherited), its copies FixedActivations.
template <Activation A, typename T>
class FixedActivation : public LayerBase<FixedActivation<A, T>, T, ActivationLayer<T>> {
 public:
  explicit FixedActivation(double parameter = ActivationFunction::default_parameter(A))
      : LayerBase<FixedActivation<A, T>, T, ActivationLayer<T>>(ActivationFunction(A, parameter)) {}
};

template <typename T>
using Identity = FixedActivation<Activation::identity, T>;
template <typename T>
using ReLU = FixedActivation<Activation::relu, T>;
template <typename T>
using Tanh = FixedActivation<Activation::tanh, T>;
template <typename T>
using Sigmoid = FixedActivation<Activation::sigmoid, T>;
template <typename T>
using GELU = FixedActivation<Activation::gelu, T>;
template <typename T>
using SiLU = FixedActivation<Activation::silu, T>;
template <typename T>
using LeakyReLU = FixedActivation<Activation::leaky_relu, T>;
template <typename T>
using ELU = FixedActivation<Activation::elu, T>;
template <typename T>
using Softplus = FixedActivation<Activation::softplus, T>;

}  // namespace plexus
