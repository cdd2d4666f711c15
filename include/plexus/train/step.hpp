// One training step: forward, loss, backward, finiteness check, update.
#pragma once

#include "../core/error.hpp"
#include "../core/kernels.hpp"
#include "../layers/network.hpp"
#include "../loss/loss.hpp"
#include "../optim/optimizer.hpp"

#include <cmath>
#include <functional>

namespace plexus {

struct StepOptions {
  // Stop with divergence_error when the loss or any gradient is not finite.
  bool check_finite = true;
  // Called after backward, before the checks and the update, with the batch
  // loss: data-parallel training averages gradients (and the loss) here.
  const std::function<void(double& loss)>* before_update = nullptr;
};

// Runs one step on the batch (x, target) and returns the batch loss (before
// the update). Throws divergence_error, leaving the parameters untouched,
// when the loss or a gradient is NaN or infinite.
template <typename T>
double train_step(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt,
                  const ConstMatrixRef<detail::same_t<T>>& x, const ConstMatrixRef<detail::same_t<T>>& target,
                  StepOptions options = {}) {
  if (loss.needs_target() && target.rows() != x.rows())
    throw shape_error(detail::concat("train_step: input has ", x.rows(), " rows but the target has ", target.rows()));
  auto y = net.forward(x);
  double value = loss.value_and_gradient(y, target, x, net.output_gradient());
  const std::int64_t step = opt.steps() + 1;
  net.backward();
  if (options.before_update && *options.before_update) (*options.before_update)(value);
  if (options.check_finite && !std::isfinite(value))
    throw divergence_error(detail::concat("training diverged at step ", step, ": the loss is ", value,
                                          " (lower the learning rate or check the data)"));
  if (options.check_finite && !all_finite(net.gradients().data(), net.gradients().size())) {
    Index bad = 0;
    const auto& g = net.gradients();
    while (bad < g.size() && std::isfinite(static_cast<double>(g[bad]))) ++bad;
    throw divergence_error(detail::concat("training diverged at step ", step, ": gradient of parameter ", bad, " of ",
                                          g.size(), " is ", static_cast<double>(g[bad]), " (loss ", value, ")"));
  }
  opt.step();
  return value;
}

}  // namespace plexus
