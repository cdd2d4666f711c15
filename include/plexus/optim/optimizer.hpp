// The optimizer interface. An optimizer is bound to one network and keeps
// its state in flat vectors that match the network's flat parameter buffer
// element for element, so the state can be saved, loaded and averaged.
#pragma once

#include "../core/error.hpp"
#include "../layers/network.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace plexus {

template <typename T>
class Optimizer {
 public:
  explicit Optimizer(Network<T>& net, double lr) : net_(&net), size_(net.parameter_count()) {
    if (!net.built()) throw error("optimizer: the network must be built before an optimizer is attached");
    set_learning_rate(lr);
  }
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  // One update of the network's parameters from its gradients.
  void step() {
    if (net_->parameter_count() != size_)
      throw error(name() + ": the network's parameter count changed since the optimizer was created");
    ++t_;
    apply(net_->parameters(), net_->gradients());
  }

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

  Network<T>* net_;
  Index size_;
  double lr_ = 0.0;
  std::int64_t t_ = 0;
};

}  // namespace plexus
