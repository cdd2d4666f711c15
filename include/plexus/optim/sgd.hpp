// Stochastic gradient descent with momentum, PyTorch's semantics
// (torch.optim.SGD): with d = g + weight_decay * p,
//   buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d
//   step direction = d + momentum * buf (Nesterov) or buf;  p -= lr * direction.
#pragma once

#include "optimizer.hpp"

namespace plexus {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

template <typename T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(Network<T>& net, SGDOptions opt = {}) : Optimizer<T>(net, opt.lr), opt_(opt) {
    if (!(opt.momentum >= 0.0) || !std::isfinite(opt.momentum))
      throw value_error(detail::concat("SGD: momentum must be >= 0, got ", opt.momentum));
    if (!(opt.weight_decay >= 0.0) || !std::isfinite(opt.weight_decay))
      throw value_error(detail::concat("SGD: weight_decay must be >= 0, got ", opt.weight_decay));
    if (opt.nesterov && (opt.momentum <= 0.0 || opt.dampening != 0.0))
      throw value_error("SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
    buf_.setZero(this->size());
  }
  std::string name() const override { return "SGD"; }
  const SGDOptions& options() const { return opt_; }
  std::vector<std::pair<std::string, Vector<T>*>> state() override { return {{"momentum_buffer", &buf_}}; }

 protected:
  std::string name_for_errors() const override { return "SGD"; }
  void apply(Vector<T>& params, const Vector<T>& grads) override {
    const T lr = static_cast<T>(this->lr_), mu = static_cast<T>(opt_.momentum);
    const T damp = static_cast<T>(1.0 - opt_.dampening), wd = static_cast<T>(opt_.weight_decay);
    const bool first = this->t_ == 1, nesterov = opt_.nesterov;
    T* p = params.data();
    const T* g = grads.data();
    T* b = buf_.data();
    parallel_chunks(params.size(), this->kChunk, [&](Index i0, Index n) {
      for (Index i = i0; i < i0 + n; ++i) {
        const T d = wd != T(0) ? g[i] + wd * p[i] : g[i];
        if (mu == T(0)) {
          p[i] -= lr * d;
          continue;
        }
        b[i] = first ? d : mu * b[i] + damp * d;
        p[i] -= lr * (nesterov ? d + mu * b[i] : b[i]);
      }
    });
  }

 private:
  SGDOptions opt_;
  Vector<T> buf_;
};

}  // namespace plexus
