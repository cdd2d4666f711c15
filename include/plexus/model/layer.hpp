// The layer interface. Public, non-virtual calls (build, bind, forward,
// backward, clone, spec) check their contract and keep the layer's state,
// then call the protected hooks a layer author implements — the contract
// written as code, so a layer cannot forget a shape check or hand out a
// copy that still points at the original's parameters.
//
// Contract of the hooks:
//  - build_shape(w): the output width for input width w (throw shape_error
//    if w is unacceptable).
//  - forward_impl(x, y, ctx): y = f(x) for the batch x (rows = samples);
//    y is sized rows x output_width(). The caller keeps x and y unchanged
//    until backward.
//  - backward_impl(x, y, dy, dx, mode): ADDS the gradient with respect to x
//    into dx when mode is add, assigns it when mode is assign; WRITES the
//    gradients of the layer's own parameters; may overwrite dy. Called only
//    after a forward pass of the same rows with ForwardContext::backward.
//  - parameter_count() / buffer_count(), on_bind(): the layer's slices of
//    the network's flat parameter, gradient and buffer storage (buffers
//    are saved but not trained, e.g. running statistics).
//  - write_settings(spec): every setting needed to rebuild the layer
//    (read back by the kind's from_spec, see registry.hpp).
#pragma once

#include "../core/error.hpp"
#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "../core/types.hpp"
#include "context.hpp"
#include "row_steps.hpp"
#include "spec.hpp"

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace plexus {

// Whether backward adds the input gradient into dx or overwrites dx.
enum class GradientMode { assign, add };

template <typename T>
class Layer {
  static_assert(is_supported_scalar_v<T>, "Plexus layers are instantiated for float and double");

 public:
  using Scalar = T;

  Layer() = default;
  // A copy keeps the settings, widths, position and index but is not bound
  // to storage: the copy's owner binds it (until then forward refuses).
  Layer(const Layer& o) : in_(o.in_), out_(o.out_), built_(o.built_), index_(o.index_), path_(o.path_) {}
  Layer& operator=(const Layer& o) {
    if (this != &o) {
      in_ = o.in_, out_ = o.out_, built_ = o.built_, index_ = o.index_, path_ = o.path_;
      params_ = grads_ = buffers_ = nullptr;
      bound_ = false;
      forward_rows_ = -1;
    }
    return *this;
  }
  Layer(Layer&&) noexcept = default;
  Layer& operator=(Layer&&) noexcept = default;
  virtual ~Layer() = default;

  // Kind name, e.g. "Dense"; describe() adds the settings, e.g. "128 -> 256, relu".
  virtual std::string kind() const = 0;
  virtual std::string describe() const { return {}; }
  // "Dense(128 -> 256, relu)", plus the position in the network when known.
  std::string label() const {
    std::string s = kind() + "(" + describe() + ")";
    if (!path_.empty()) s += " at " + path_;
    return s;
  }

  // The spec that rebuilds this layer: its kind, settings and children.
  LayerSpec spec() const {
    LayerSpec s;
    s.kind = kind();
    write_settings(s);
    for (std::size_t i = 0; i < child_count(); ++i) s.children.push_back(child(i).spec());
    return s;
  }

  // Fixes the input width; returns the output width. Throws shape_error.
  Index build(Index input_width) {
    if (input_width <= 0 || input_width > kMaxLayerWidth)
      throw shape_error(
          detail::concat(label(), ": input width must be in [1, ", kMaxLayerWidth, "], got ", input_width));
    in_ = input_width;
    const Index out = build_shape(input_width);
    if (out <= 0 || out > kMaxLayerWidth)
      throw shape_error(detail::concat(label(), ": output width ", out, " is outside [1, ", kMaxLayerWidth, "]"));
    out_ = out;
    built_ = true;
    bound_ = false;
    return out_;
  }
  bool built() const { return built_; }
  Index input_width() const { return in_; }
  Index output_width() const { return out_; }

  virtual Index parameter_count() const { return 0; }
  virtual Index buffer_count() const { return 0; }

  // Points the layer at its slices of the flat storage (`grads` may be null
  // for a copy that only predicts).
  void bind(T* params, T* grads, T* buffers) {
    require_built("bind");
    params_ = params;
    grads_ = grads;
    buffers_ = buffers;
    bound_ = true;
    on_bind(params, grads, buffers);
  }
  bool bound() const { return bound_; }
  // Sets the initial parameter and buffer values, drawing from `rng` only.
  void initialize(Rng& rng) {
    require_bound("initialize");
    on_initialize(rng);
  }

  void forward(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx = ForwardContext()) {
    check_forward(x, y);
    forward_impl(x, y, ctx);
    forward_rows_ = ctx.backward ? x.rows() : -1;
  }
  void backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                GradientMode mode = GradientMode::add) {
    check_backward(x, y, dy, dx);
    backward_impl(x, y, dy, dx, mode);
  }

  // A copy with the same settings, width, position and index, not yet bound
  // to any storage: its owner binds it (Network does for its copies).
  std::unique_ptr<Layer<T>> clone() const {
    std::unique_ptr<Layer<T>> c = clone_impl();
    if (!c || typeid(*c) != typeid(*this))
      throw error(detail::concat(label(), ": clone_impl() made a ", c ? c->kind() : std::string("null pointer"),
                                 "; every layer class must override it (LayerBase<Derived, T> does)"));
    c->unbind();
    return c;
  }

  // True when the output's leading columns are the input itself (Concat):
  // a container may then place the input inside the output's buffer.
  virtual bool extends_input() const { return false; }
  // False when a row's output depends on other rows of the batch (batch
  // normalisation): such a batch cannot be cut into parts.
  virtual bool rows_independent() const {
    for (std::size_t i = 0; i < child_count(); ++i)
      if (!child(i).rows_independent()) return false;
    return true;
  }
  // The first layer, this one or below, whose rows are not independent.
  const Layer<T>* coupling_layer() const {
    for (std::size_t i = 0; i < child_count(); ++i)
      if (const Layer<T>* l = child(i).coupling_layer()) return l;
    return rows_independent() ? nullptr : this;
  }

  // Children, for containers (Sequential, Concat, Residual, a user's own).
  virtual std::size_t child_count() const { return 0; }
  virtual const Layer<T>& child(std::size_t i) const { throw error(detail::concat(label(), ": has no child ", i)); }
  Layer<T>& child(std::size_t i) { return const_cast<Layer<T>&>(static_cast<const Layer<T>&>(*this).child(i)); }

  // Emits the steps computing this layer for one row into the one-row plan
  // (reading at `in`, writing at `out`). The default is one opaque step:
  // the layer's own forward() on one thread.
  virtual void emit_row_steps(RowPlanBuilder<T>& plan, Index in, Index out) const { plan.opaque(*this, in, out); }

  // Where the layer sits, e.g. "layer 3 > residual body"; used in messages.
  void set_path(std::string path) {
    path_ = std::move(path);
    on_path_changed();
  }
  const std::string& path() const { return path_; }
  // Position in its network, depth first (the network numbers its layers);
  // keys the layer's random streams and its opaque one-row steps.
  Index index() const { return index_; }
  void set_index(Index i) { index_ = i; }

 protected:
  virtual Index build_shape(Index input_width) = 0;
  virtual void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) = 0;
  virtual void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                             GradientMode mode) = 0;
  virtual std::unique_ptr<Layer<T>> clone_impl() const = 0;
  virtual void write_settings(LayerSpec& /*spec*/) const {}
  virtual void on_bind(T* /*params*/, T* /*grads*/, T* /*buffers*/) {}
  virtual void on_initialize(Rng& /*rng*/) {}
  virtual void on_path_changed() {}

  // The layer's slices of the flat storage (valid once bound).
  T* parameter_data() const { return params_; }
  T* gradient_data() const { return grads_; }
  T* buffer_data() const { return buffers_; }

  // The path of child i for messages, e.g. "layer 3 > concat body".
  std::string child_path(const std::string& step) const { return path_.empty() ? step : path_ + " > " + step; }

 private:
  void unbind() {
    params_ = grads_ = buffers_ = nullptr;
    bound_ = false;
    forward_rows_ = -1;
    for (std::size_t i = 0; i < child_count(); ++i) child(i).unbind();
  }
  void require_built(const char* what) const {
    if (!built_) throw error(detail::concat(label(), ": ", what, " before build()"));
  }
  void require_bound(const char* what) const {
    require_built(what);
    if (!bound_)
      throw error(detail::concat(label(), ": ", what, " before the layer is bound to storage (a copy must be bound; ",
                                 "Network does this)"));
  }
  void check_forward(const ConstMatrixRef<T>& x, const MatrixRef<T>& y) const {
    require_built("forward");
    if (x.cols() != in_)
      throw shape_error(detail::concat(label(), ": input is ", shape_str(x.rows(), x.cols()), " but the layer expects ",
                                       in_, " columns (batch x ", in_, ")"));
    if (y.rows() != x.rows() || y.cols() != out_)
      throw shape_error(detail::concat(label(), ": output buffer is ", shape_str(y.rows(), y.cols()), ", expected ",
                                       shape_str(x.rows(), out_), " for input ", shape_str(x.rows(), x.cols())));
    require_bound("forward");
  }
  void check_backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, const MatrixRef<T>& dy,
                      const MatrixRef<T>& dx) const {
    require_bound("backward");
    const Index b = x.rows();
    if (x.cols() != in_ || y.rows() != b || y.cols() != out_ || dy.rows() != b || dy.cols() != out_ || dx.rows() != b ||
        dx.cols() != in_)
      throw shape_error(detail::concat(label(), ": backward got x ", shape_str(x.rows(), x.cols()), ", y ",
                                       shape_str(y.rows(), y.cols()), ", dy ", shape_str(dy.rows(), dy.cols()), ", dx ",
                                       shape_str(dx.rows(), dx.cols()), "; expected x and dx ", shape_str(b, in_),
                                       ", y and dy ", shape_str(b, out_)));
    if (forward_rows_ != b)
      throw error(detail::concat(label(), ": backward on a batch of ", b, " rows needs a forward pass of that batch ",
                                 "for backward first (ForwardContext::backward; the last forward was ",
                                 forward_rows_ < 0 ? std::string("none or for prediction only")
                                                   : detail::concat("of ", forward_rows_, " rows"),
                                 ")"));
    if (parameter_count() > 0 && grads_ == nullptr)
      throw error(label() + ": backward on a copy bound without gradient storage (a prediction-only copy)");
  }

  Index in_ = 0, out_ = 0;
  bool built_ = false, bound_ = false;
  Index forward_rows_ = -1;  // rows of the last forward pass for backward; -1 after one for prediction only
  Index index_ = -1;
  std::string path_;
  T* params_ = nullptr;
  T* grads_ = nullptr;
  T* buffers_ = nullptr;
};

// A base that writes the copying a layer needs: derive Scale<T> from
// LayerBase<Scale<T>, T> and clone() copies it with its copy constructor.
// Derived declares `static constexpr const char* kind_name = "Scale";`.
// Base (Layer<T> by default) is the class LayerBase derives from, for a
// kind built on another: Wrapper<Derived, T> is a LayerBase over Layer<T>,
// FixedActivation a LayerBase over ActivationLayer<T> (whose constructors
// it inherits).
template <typename Derived, typename T, typename Base = Layer<T>>
class LayerBase : public Base {
  static_assert(std::is_base_of_v<Layer<T>, Base>, "LayerBase: Base must be Layer<T> or derive from it");

 public:
  using Base::Base;
  std::string kind() const override { return Derived::kind_name; }

 protected:
  std::unique_ptr<Layer<T>> clone_impl() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

// A strided view of `cols` columns starting at `data`, leading dimension `ld`.
template <typename T>
using StridedMap = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;

}  // namespace plexus
