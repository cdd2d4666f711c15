// The optimizer interface. An optimizer is bound to one network's storage
// and keeps its state in flat vectors that match the network's flat
// parameter buffer element for element, so the state can be saved, loaded
// and averaged. It holds the storage itself, not the Network object: a
// network that is moved keeps working with its optimizer.
#pragma once

#include "../core/error.hpp"
#include "../model/network.hpp"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace plexus {

template <typename T>
class Optimizer {
 public:
  explicit Optimizer(Network<T>& net, double lr)
      : store_(net.storage_handle()), grads_(net.gradient_handle()), size_(net.parameter_count()) {
    if (!net.built()) throw error("optimizer: the network must be built before an optimizer is attached");
    set_learning_rate(lr);
  }
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  // One update of the network's parameters from its gradients.
  void step() {
    if (store_->params.size() != size_ || grads_->size() != size_)
      throw error(detail::concat(name(), ": the network's parameter count changed from ", size_, " to ",
                                 store_->params.size(), " since the optimizer was created (rebuilt?)"));
    ++t_;
    apply(store_->params, *grads_);
  }

  // Whether this optimizer updates `net`'s parameters (not those of a
  // network that was assigned over it since).
  bool bound_to(const Network<T>& net) const { return net.storage_handle() == store_; }

  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr) {
    if (!std::isfinite(lr) || lr < 0.0)
      throw value_error(detail::concat(name_for_errors(), ": learning rate must be finite and >= 0, got ", lr));
    lr_ = lr;
  }
  // Number of steps taken so far.
  std::int64_t steps() const { return t_; }
  void set_steps(std::int64_t t) { t_ = t; }

  // The state vectors (e.g. Adam's m and v), named, for checkpoints.
  virtual std::vector<std::pair<std::string, Vector<T>*>> state() = 0;

 protected:
  virtual void apply(Vector<T>& params, const Vector<T>& grads) = 0;
  virtual std::string name_for_errors() const { return "optimizer"; }
  Index size() const { return size_; }

  // Elements per work item of the element-wise update loops.
  static constexpr Index kChunk = Index(1) << 14;

  std::shared_ptr<detail::NetworkStorage<T>> store_;
  std::shared_ptr<Vector<T>> grads_;
  Index size_;
  double lr_ = 0.0;
  std::int64_t t_ = 0;
};

}  // namespace plexus
