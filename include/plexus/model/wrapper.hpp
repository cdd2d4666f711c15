// Wrapper: the plumbing of a layer built around one child (its body) —
// ownership and copies, parameters, buffers, paths, the spec's one child;
// kind() and clone_impl() come from LayerBase, as for any kind.
// Concat and Residual are wrappers; so can a user's container be.
//
// Derived declares `static constexpr const char* kind_name` and
// `static constexpr const char* body_name` (how messages name the body,
// e.g. "residual body"), and has a constructor from std::unique_ptr<Layer<T>>.
#pragma once

#include "layer.hpp"
#include "registration.hpp"

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace plexus {

template <typename Derived, typename T>
class Wrapper : public LayerBase<Derived, T> {
 public:
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, std::decay_t<L>>>>
  explicit Wrapper(L&& body) : f_(std::make_unique<std::decay_t<L>>(std::forward<L>(body))) {}
  explicit Wrapper(std::unique_ptr<Layer<T>> body) : f_(std::move(body)) {
    if (!f_) throw value_error(detail::concat(Derived::kind_name, ": null body"));
  }
  Wrapper(const Wrapper& o) : LayerBase<Derived, T>(o), f_(o.f_->clone()) {}
  Wrapper& operator=(const Wrapper& o) {
    if (this != &o) {
      LayerBase<Derived, T>::operator=(o);
      f_ = o.f_->clone();
    }
    return *this;
  }
  Wrapper(Wrapper&&) noexcept = default;
  Wrapper& operator=(Wrapper&&) noexcept = default;

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& children) {
    r.children(1, 1);
    return std::make_unique<Derived>(children.make(0, Derived::body_name));
  }

  Layer<T>& body() { return *f_; }
  const Layer<T>& body() const { return *f_; }

  std::string describe() const override {
    return this->built() ? detail::concat(this->input_width(), " -> ", this->output_width()) : std::string();
  }
  std::size_t child_count() const override { return 1; }
  const Layer<T>& child(std::size_t i) const override {
    if (i != 0) return Layer<T>::child(i);
    return *f_;
  }
  using Layer<T>::child;
  Index parameter_count() const override { return f_->parameter_count(); }
  Index buffer_count() const override { return f_->buffer_count(); }

 protected:
  // Builds the body on `input_width` columns; returns its output width.
  Index build_body(Index input_width) {
    f_->set_path(this->child_path(Derived::body_name));
    return f_->build(input_width);
  }
  void on_path_changed() override { f_->set_path(this->child_path(Derived::body_name)); }
  void on_bind(T* params, T* grads, T* buffers) override { f_->bind(params, grads, buffers); }
  void on_initialize(Rng& rng) override { f_->initialize(rng); }

  // The ONNX interop of a wrapper whose output joins its input x and its
  // body's output y with one node, `join(x, y)` (Concat, Add): exported as
  // the body's nodes then the join; imported from a join node reading x and
  // a y computed from x by layers (with `either_order`, join(y, x) too).
  static LayerInterop join_interop(std::string op, std::vector<OnnxAttribute> attributes, bool either_order,
                                   std::function<bool(const OnnxNode&)> accepts) {
    LayerInterop i;
    i.torch.child_name = [](std::size_t) { return std::string("body"); };
    i.onnx_export = [op, attributes](OnnxExporter& g, const OnnxLayer&, const std::string& x) {
      return g.node(op, {x, g.child(0, x)}, attributes);
    };
    i.onnx_import = [op, either_order, accepts](OnnxGraph& g, const std::string& x, OnnxMatch& m) {
      for (const OnnxNode* j : g.consumers(x)) {
        if (j->op_type != op || j->inputs.size() != 2 || !accepts(*j)) continue;
        std::string y;
        if (j->inputs[0] == x && j->inputs[1] != x) y = j->inputs[1];
        else if (either_order && j->inputs[1] == x && j->inputs[0] != x) y = j->inputs[0];
        else continue;
        if (g.constant(y)) continue;
        OnnxMatch body;
        std::string why;
        if (!g.layers_between(x, y, {j}, body, why)) continue;
        m.spec.kind = Derived::kind_name;
        m.children.push_back(std::move(body));
        m.nodes = {j};
        m.output = j->outputs.at(0);
        return true;
      }
      return false;
    };
    i.import_order = 10;  // after the leaf kinds: a join is looked for only where no layer starts
    return i;
  }

 private:
  std::unique_ptr<Layer<T>> f_;
};

}  // namespace plexus
