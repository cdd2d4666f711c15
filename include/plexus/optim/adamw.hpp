// AdamW with PyTorch's semantics (torch.optim.AdamW, 1.13): Adam with the
// weight decay decoupled from the gradient (Loshchilov & Hutter):
//   p *= 1 - lr * weight_decay
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#pragma once

#include "adam.hpp"

namespace plexus {

// PyTorch 1.13's defaults; note weight_decay = 1e-2, not Adam's 0.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

template <typename T>
class AdamW : public AdamBase<T> {
 public:
  explicit AdamW(Network<T>& net, AdamWOptions opt = {})
      : AdamBase<T>(net, AdamOptions{opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay}, "AdamW"), wopt_(opt) {}
  std::string name() const override { return "AdamW"; }
  const AdamWOptions& options() const { return wopt_; }

 protected:
  std::string name_for_errors() const override { return "AdamW"; }
  // The decay uses the learning rate of this step, so a schedule scales it
  // too (as in PyTorch, where both come from the parameter group's lr).
  void apply(Vector<T>& params, const Vector<T>& grads) override {
    this->adam_update(params, grads, 0.0, 1.0 - this->lr_ * wopt_.weight_decay);
  }

 private:
  AdamWOptions wopt_;
};

}  // namespace plexus
