// Sequential: layers applied one after another.
//
// The container owns the activations between its layers and their
// gradients. A run of layers that extend their input (Concat) shares one
// buffer: each activation is the leading columns of the next, so the
// Keras answer's `x = concatenate([x, Dense(256)(x)])` copies nothing. When
// the run ends the container, it lives inside the caller's output buffer.
#pragma once

#include "../model/layer.hpp"
#include "../model/registration.hpp"

#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace plexus {

template <typename T>
class Sequential : public LayerBase<Sequential<T>, T> {
 public:
  static constexpr const char* kind_name = "Sequential";

  Sequential() = default;
  Sequential(const Sequential& other) : LayerBase<Sequential<T>, T>(other) { copy_from(other); }
  Sequential& operator=(const Sequential& other) {
    if (this != &other) {
      LayerBase<Sequential<T>, T>::operator=(other);
      copy_from(other);
    }
    return *this;
  }
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& children) {
    auto s = std::make_unique<Sequential>();
    const std::size_t n = r.children(0, std::numeric_limits<std::size_t>::max());
    for (std::size_t i = 0; i < n; ++i) s->add(children.make(i, "layer " + std::to_string(i)));
    return s;
  }

  // Appends a layer (before build()); returns a reference to the stored copy.
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, std::decay_t<L>>>>
  std::decay_t<L>& add(L&& layer) {
    auto p = std::make_unique<std::decay_t<L>>(std::forward<L>(layer));
    auto& ref = *p;
    add(std::unique_ptr<Layer<T>>(std::move(p)));
    return ref;
  }
  Layer<T>& add(std::unique_ptr<Layer<T>> layer) {
    if (!layer) throw value_error("Sequential::add: null layer");
    if (this->built()) throw error(this->label() + ": add after build(): layers are added before the network is built");
    layers_.push_back(std::move(layer));
    return *layers_.back();
  }

  std::size_t size() const { return layers_.size(); }
  bool empty() const { return layers_.empty(); }
  Layer<T>& operator[](std::size_t i) { return *layers_.at(i); }
  const Layer<T>& operator[](std::size_t i) const { return *layers_.at(i); }

  // ONNX: the children's nodes one after the other (the importer makes
  // Sequentials of the chains it reads).
  static LayerInterop interop() {
    LayerInterop i;
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer& l, const std::string& x) {
      std::string y = x;
      for (std::size_t c = 0; c < l.child_count; ++c) y = g.child(c, y);
      return y;
    };
    return i;
  }
  std::string describe() const override { return detail::concat(layers_.size(), " layers"); }
  std::size_t child_count() const override { return layers_.size(); }
  const Layer<T>& child(std::size_t i) const override { return *layers_.at(i); }
  using Layer<T>::child;

  Index parameter_count() const override {
    Index n = 0;
    for (const auto& l : layers_) n += l->parameter_count();
    return n;
  }
  Index buffer_count() const override {
    Index n = 0;
    for (const auto& l : layers_) n += l->buffer_count();
    return n;
  }

  // Layer i writes where layer i + 1 wants its input: inside its output
  // when layer i + 1 extends its input (the zero-copy Concat chain), else
  // in a buffer of the plan's.
  void emit_row_steps(RowPlanBuilder<T>& plan, Index in, Index out) const override {
    const std::size_t n = layers_.size();
    if (n == 0) {
      plan.copy(in, out, this->input_width());
      return;
    }
    std::vector<Index> at(n);
    at[n - 1] = out;
    for (std::size_t i = n - 1; i-- > 0;)
      at[i] = layers_[i + 1]->extends_input() ? at[i + 1] : plan.allocate(layers_[i]->output_width());
    Index from = in;
    for (std::size_t i = 0; i < n; ++i) {
      plan.emit(*layers_[i], from, at[i]);
      from = at[i];
    }
  }

 protected:
  Index build_shape(Index input_width) override {
    Index w = input_width;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i]->set_path(path_of(i));
      w = layers_[i]->build(w);
    }
    make_plan();
    return w;
  }
  void on_path_changed() override {
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_path(path_of(i));
  }
  void on_bind(T* params, T* grads, T* buffers) override {
    for (auto& l : layers_) {
      l->bind(params, grads, buffers);
      params += l->parameter_count();
      if (grads) grads += l->parameter_count();
      buffers += l->buffer_count();
    }
  }
  void on_initialize(Rng& rng) override {
    for (auto& l : layers_) l->initialize(rng);
  }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) override {
    const Index b = x.rows(), n = static_cast<Index>(layers_.size());
    if (n == 0) {
      if (y.data() != x.data()) y = x;
      return;
    }
    prepare(b);
    for (Index i = 0; i < n; ++i) layers_[i]->forward(activation(i, x, y), activation(i + 1, x, y), ctx);
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index b = x.rows(), n = static_cast<Index>(layers_.size());
    if (n == 0) {
      if (mode == GradientMode::add) dx += dy;
      else dx = dy;
      return;
    }
    for (Index i = n - 1; i >= 0; --i) {
      auto g_in = i == 0 ? StridedMap<T>(dx.data(), b, dx.cols(), Eigen::OuterStride<>(dx.outerStride()))
                         : gradient(i, dy);
      // An activation stored inside the next one already holds the identity
      // part of its gradient: accumulate there; elsewhere overwrite.
      const GradientMode m = i == 0 ? mode : plan_[i].in_next ? GradientMode::add : GradientMode::assign;
      layers_[i]->backward(activation(i, x, y), activation(i + 1, x, y), gradient(i + 1, dy), g_in, m);
    }
  }

 private:
  // Activation k (k = 0 is the input, k = n the output) lives either in a
  // buffer of its own or in the leading columns of activation k + 1.
  struct Slot {
    Index width = 0;
    bool in_next = false;  // stored inside slot k + 1
    Index owner = 0;       // slot that owns the storage (n means the caller's y)
  };

  std::string path_of(std::size_t i) const { return this->child_path("layer " + std::to_string(i)); }

  void make_plan() {
    const Index n = static_cast<Index>(layers_.size());
    plan_.assign(static_cast<std::size_t>(n + 1), Slot{});
    plan_[0].width = this->input_width();
    for (Index k = 1; k <= n; ++k) plan_[k].width = layers_[k - 1]->output_width();
    // Slot k (0 < k < n) sits inside slot k + 1 when layer k + 1 extends its input.
    for (Index k = 1; k < n; ++k) plan_[k].in_next = layers_[k]->extends_input();
    for (Index k = n; k >= 1; --k) plan_[k].owner = (k < n && plan_[k].in_next) ? plan_[k + 1].owner : k;
    act_.resize(static_cast<std::size_t>(n));
    grad_.resize(static_cast<std::size_t>(n));
  }

  void prepare(Index b) {
    const Index n = static_cast<Index>(layers_.size());
    for (Index k = 1; k < n; ++k)
      if (plan_[k].owner == k) {
        act_[k].reserve(static_cast<std::size_t>(b * plan_[k].width));
        grad_[k].reserve(static_cast<std::size_t>(b * plan_[k].width));
      }
  }

  StridedMap<T> activation(Index k, const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y) {
    const Index n = static_cast<Index>(layers_.size()), b = x.rows();
    if (k == 0) return StridedMap<T>(const_cast<T*>(x.data()), b, x.cols(), Eigen::OuterStride<>(x.outerStride()));
    const Index o = plan_[k].owner;
    if (o == n)
      return StridedMap<T>(const_cast<T*>(y.data()), b, plan_[k].width, Eigen::OuterStride<>(y.outerStride()));
    return StridedMap<T>(act_[o].data(), b, plan_[k].width, Eigen::OuterStride<>(b));
  }
  StridedMap<T> gradient(Index k, MatrixRef<T>& dy) {
    const Index n = static_cast<Index>(layers_.size()), b = dy.rows();
    const Index o = plan_[k].owner;
    if (o == n) return StridedMap<T>(dy.data(), b, plan_[k].width, Eigen::OuterStride<>(dy.outerStride()));
    return StridedMap<T>(grad_[o].data(), b, plan_[k].width, Eigen::OuterStride<>(b));
  }

  void copy_from(const Sequential& other) {
    layers_.clear();
    for (const auto& l : other.layers_) layers_.push_back(l->clone());
    plan_ = other.plan_;
    act_.assign(other.act_.size(), Buffer<T>());
    grad_.assign(other.grad_.size(), Buffer<T>());
  }

  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<Slot> plan_;
  std::vector<Buffer<T>> act_, grad_;
};

}  // namespace plexus
