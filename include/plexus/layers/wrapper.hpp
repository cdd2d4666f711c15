// Wrapper: the plumbing of a layer built around one child (its body) —
// ownership and copies, parameters, buffers, paths, the spec's one child.
// Concat and Residual are wrappers; so can a user's container be.
//
// Derived declares `static constexpr const char* kind_name` and
// `static constexpr const char* body_name` (how messages name the body,
// e.g. "residual body"), and has a constructor from std::unique_ptr<Layer<T>>.
#pragma once

#include "layer.hpp"
#include "registry.hpp"

#include <memory>
#include <type_traits>
#include <utility>

namespace plexus {

template <typename Derived, typename T>
class Wrapper : public Layer<T> {
 public:
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, std::decay_t<L>>>>
  explicit Wrapper(L&& body) : f_(std::make_unique<std::decay_t<L>>(std::forward<L>(body))) {}
  explicit Wrapper(std::unique_ptr<Layer<T>> body) : f_(std::move(body)) {
    if (!f_) throw value_error(detail::concat(Derived::kind_name, ": null body"));
  }
  Wrapper(const Wrapper& o) : Layer<T>(o), f_(o.f_->clone()) {}
  Wrapper& operator=(const Wrapper& o) {
    if (this != &o) {
      Layer<T>::operator=(o);
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

  std::string kind() const override { return Derived::kind_name; }
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
  std::unique_ptr<Layer<T>> clone_impl() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
  // Builds the body on `input_width` columns; returns its output width.
  Index build_body(Index input_width) {
    f_->set_path(this->child_path(Derived::body_name));
    return f_->build(input_width);
  }
  void on_path_changed() override { f_->set_path(this->child_path(Derived::body_name)); }
  void on_bind(T* params, T* grads, T* buffers) override { f_->bind(params, grads, buffers); }
  void on_initialize(Rng& rng) override { f_->initialize(rng); }

 private:
  std::unique_ptr<Layer<T>> f_;
};

}  // namespace plexus
