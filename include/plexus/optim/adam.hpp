// Adam with PyTorch's semantics (torch.optim.Adam, 1.13):
//   g += weight_decay * p                   (if weight_decay != 0)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// with the step t advanced once per step for all parameters. AdamW
// (adamw.hpp) shares the moments and the update through AdamBase.
#pragma once

#include "optimizer.hpp"

namespace plexus {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

// The state (m, v) and the arithmetic of Adam and AdamW, which differ only
// in how the weight decay enters: added to the gradient (L2, Adam) or
// applied to the parameters before the update (decoupled, AdamW).
template <typename T>
class AdamBase : public Optimizer<T> {
 public:
  std::vector<std::pair<std::string, Vector<T>*>> state() override { return {{"m", &m_}, {"v", &v_}}; }

 protected:
  AdamBase(Network<T>& net, const AdamOptions& opt, const char* who) : Optimizer<T>(net, opt.lr), opt_(opt) {
    auto bad = [](double b) { return !(b >= 0.0 && b < 1.0); };
    if (bad(opt.beta1) || bad(opt.beta2))
      throw value_error(detail::concat(who, ": betas must be in [0, 1), got ", opt.beta1, " and ", opt.beta2));
    if (!(opt.eps >= 0.0) || !std::isfinite(opt.eps))
      throw value_error(detail::concat(who, ": eps must be >= 0, got ", opt.eps));
    if (!(opt.weight_decay >= 0.0) || !std::isfinite(opt.weight_decay))
      throw value_error(detail::concat(who, ": weight_decay must be >= 0, got ", opt.weight_decay));
    m_.setZero(this->size());
    v_.setZero(this->size());
  }

  // One Adam update of step t_ with the L2 term `l2` (0: none). When
  // `decay` is not 1 the parameters are first multiplied by it (AdamW's
  // p *= 1 - lr wd), chunk by chunk in the same pass.
  void adam_update(Vector<T>& params, const Vector<T>& grads, double l2, double decay) {
    const double t = static_cast<double>(this->t_);
    const double bc1 = 1.0 - std::pow(opt_.beta1, t);
    const double bc2_sqrt = std::sqrt(1.0 - std::pow(opt_.beta2, t));
    const T step_size = static_cast<T>(this->lr_ / bc1);
    const T bc2s = static_cast<T>(bc2_sqrt);
    const T b1 = static_cast<T>(opt_.beta1), b2 = static_cast<T>(opt_.beta2);
    const T one_b1 = static_cast<T>(1.0 - opt_.beta1), one_b2 = static_cast<T>(1.0 - opt_.beta2);
    detail::AdamCoefficients<T> c;
    c.step_size = step_size;
    c.bias2_sqrt = bc2s;
    c.beta1 = b1;
    c.beta2 = b2;
    c.one_minus_beta1 = one_b1;
    c.one_minus_beta2 = one_b2;
    c.eps = static_cast<T>(opt_.eps);
    c.weight_decay = static_cast<T>(l2);
    c.decay = static_cast<T>(decay);
    T* p = params.data();
    const T* g = grads.data();
    T* m = m_.data();
    T* v = v_.data();
    // The engine's kernel (engine/kernels.hpp), chunk by chunk: PyTorch's
    // order of operations, vectorised whatever the flags the program was
    // built with; chunks start at multiples of 16, so the lanes are the same.
    parallel_chunks(params.size(), this->kChunk,
                    [&](Index i0, Index n) { detail::adam_update(p + i0, g + i0, m + i0, v + i0, n, c); });
  }

  AdamOptions opt_;
  Vector<T> m_, v_;
};

template <typename T>
class Adam : public AdamBase<T> {
 public:
  explicit Adam(Network<T>& net, AdamOptions opt = {}) : AdamBase<T>(net, opt, "Adam") {}
  std::string name() const override { return "Adam"; }
  const AdamOptions& options() const { return this->opt_; }

 protected:
  std::string name_for_errors() const override { return "Adam"; }
  void apply(Vector<T>& params, const Vector<T>& grads) override {
    this->adam_update(params, grads, this->opt_.weight_decay, 1.0);
  }
};

}  // namespace plexus
