// RMSprop with PyTorch's semantics (torch.optim.RMSprop, 1.13), every
// option included:
//   g += weight_decay * p                                   (if weight_decay != 0)
//   s = alpha s + (1 - alpha) g^2
//   centered:  a = alpha a + (1 - alpha) g;  d = sqrt(s - a^2) + eps
//   otherwise: d = sqrt(s) + eps
//   momentum > 0: buf = momentum buf + g / d;  p -= lr buf
//   otherwise:    p -= lr g / d
#pragma once

#include "optimizer.hpp"

#include <algorithm>

namespace plexus {

// PyTorch 1.13's defaults.
struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

template <typename T>
class RMSprop : public Optimizer<T> {
 public:
  explicit RMSprop(Network<T>& net, RMSpropOptions opt = {}) : Optimizer<T>(net, opt.lr), opt_(opt) {
    if (!(opt.alpha >= 0.0 && opt.alpha <= 1.0))
      throw value_error(detail::concat("RMSprop: alpha must be in [0, 1], got ", opt.alpha));
    auto check = [](double v, const char* what) {
      if (!(v >= 0.0) || !std::isfinite(v))
        throw value_error(detail::concat("RMSprop: ", what, " must be finite and >= 0, got ", v));
    };
    check(opt.eps, "eps");
    check(opt.weight_decay, "weight_decay");
    check(opt.momentum, "momentum");
    square_avg_.setZero(this->size());
    if (opt.momentum > 0.0) buf_.setZero(this->size());
    if (opt.centered) grad_avg_.setZero(this->size());
  }
  std::string name() const override { return "RMSprop"; }
  const RMSpropOptions& options() const { return opt_; }

  // square_avg always; momentum_buffer with momentum > 0; grad_avg when centered.
  std::vector<std::pair<std::string, Vector<T>*>> state() override {
    std::vector<std::pair<std::string, Vector<T>*>> s{{"square_avg", &square_avg_}};
    if (opt_.momentum > 0.0) s.emplace_back("momentum_buffer", &buf_);
    if (opt_.centered) s.emplace_back("grad_avg", &grad_avg_);
    return s;
  }

 protected:
  std::string name_for_errors() const override { return "RMSprop"; }
  void apply(Vector<T>& params, const Vector<T>& grads) override {
    const T lr = static_cast<T>(this->lr_), alpha = static_cast<T>(opt_.alpha);
    const T one_alpha = static_cast<T>(1.0 - opt_.alpha), eps = static_cast<T>(opt_.eps);
    const T wd = static_cast<T>(opt_.weight_decay), mu = static_cast<T>(opt_.momentum);
    const bool centered = opt_.centered, momentum = opt_.momentum > 0.0;
    T* p = params.data();
    const T* g = grads.data();
    T* s = square_avg_.data();
    T* b = momentum ? buf_.data() : nullptr;
    T* a = centered ? grad_avg_.data() : nullptr;
    // Eigen array expressions, one pass each over a chunk, as in Adam: they
    // vectorise (sqrt included) and keep PyTorch's order of operations.
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    using Map = Eigen::Map<Array>;
    parallel_chunks(params.size(), this->kChunk, [&](Index i0, Index n) {
      Map pc(p + i0, n), sc(s + i0, n), ac(a ? a + i0 : nullptr, a ? n : 0), bc(b ? b + i0 : nullptr, b ? n : 0);
      const Eigen::Map<const Array> gc(g + i0, n);
      // gi: the gradient expression; den: the denominator expression.
      auto finish = [&](const auto& gi, const auto& den) {
        if (momentum) {
          bc = mu * bc + gi / den;
          pc -= lr * bc;
        } else {
          pc -= lr * (gi / den);
        }
      };
      auto update = [&](const auto& gi) {
        sc = alpha * sc + one_alpha * gi * gi;
        if (centered) {
          ac = alpha * ac + one_alpha * gi;
          // s >= a^2 in exact arithmetic; rounding may take it below 0,
          // where PyTorch's sqrt would give NaN.
          finish(gi, (sc - ac * ac).max(T(0)).sqrt() + eps);
        } else {
          finish(gi, sc.sqrt() + eps);
        }
      };
      if (wd == T(0)) update(gc);
      else update(gc + wd * pc);  // read before pc changes: the expressions are element-wise
    });
  }

 private:
  RMSpropOptions opt_;
  Vector<T> square_avg_, buf_, grad_avg_;
};

}  // namespace plexus
