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
    const T eps = static_cast<T>(opt_.eps), wd = static_cast<T>(l2), shrink = static_cast<T>(decay);
    const bool decoupled = decay != 1.0;
    T* p = params.data();
    const T* g = grads.data();
    T* m = m_.data();
    T* v = v_.data();
    // Eigen array expressions, one pass each over a chunk that stays in L2:
    // they vectorise (a scalar loop calling std::sqrt does not, as sqrt may
    // set errno), and keep PyTorch's order of operations.
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    parallel_chunks(params.size(), this->kChunk, [&](Index i0, Index n) {
      Eigen::Map<Array> pc(p + i0, n), mc(m + i0, n), vc(v + i0, n);
      const Eigen::Map<const Array> gc(g + i0, n);
      if (decoupled) pc *= shrink;
      if (wd == T(0)) {
        mc = b1 * mc + one_b1 * gc;
        vc = b2 * vc + one_b2 * gc * gc;
      } else {
        mc = b1 * mc + one_b1 * (gc + wd * pc);
        vc = b2 * vc + one_b2 * (gc + wd * pc) * (gc + wd * pc);
      }
      pc -= step_size * (mc / (vc.sqrt() / bc2s + eps));
    });
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
