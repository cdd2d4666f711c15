// One training step: forward, loss, backward, finiteness check, update.
#pragma once

#include "../core/error.hpp"
#include "../engine/kernels.hpp"
#include "../loss/loss.hpp"
#include "../model/network.hpp"
#include "../optim/clip.hpp"
#include "../optim/optimizer.hpp"

#include <cmath>
#include <exception>
#include <functional>
#include <vector>

namespace plexus {

struct StepOptions {
  // Stop with divergence_error when the loss or any gradient is not finite.
  bool check_finite = true;
  // Called after backward, before the checks and the update, with the batch
  // loss: data-parallel training averages gradients (and the loss) here.
  const std::function<void(double& loss)>* before_update = nullptr;
  // A batch of more rows than this is cut into equal parts of at most this
  // many rows. The threads take one part each, on replicas of the network
  // that share its parameters, and the parts' gradients are combined,
  // weighted by rows, in a fixed order. The result depends on this value
  // and on the batch, never on the number of threads. 0: never cut. A
  // network or loss whose rows are not independent (batch normalisation)
  // cannot be cut: a larger batch is then refused.
  Index micro_batch = 512;
  // The seed of the step's random streams (dropout); with the optimizer's
  // step count it fixes every mask (ForwardContext).
  std::uint64_t seed = 0;
  // The products' arithmetic: Precision::bf16 rounds their operands to bf16
  // and sums in float (float networks; emulated where the CPU lacks bf16
  // instructions, see bf16_emulated()). Parameters, gradients, the loss and
  // the optimizer stay in the network's type.
  Precision precision = Precision::native;
  // > 0: the gradients are scaled to at most this global L2 norm before the
  // update (clip_grad_norm, PyTorch's clip_grad_norm_); 0: no clipping.
  double clip_norm = 0.0;
  // The row of a larger batch that this batch's row 0 is, for the random
  // streams: a data-parallel rank passes the offset of its share, so that
  // its rows draw the masks one process would draw for the whole batch.
  Index first_row = 0;
};

namespace detail {

template <typename T>
double forward_backward(Network<T>& net, const Loss<T>& loss, const ConstMatrixRef<T>& x,
                        const ConstMatrixRef<T>& target, const ForwardContext& ctx) {
  auto y = net.forward(x, ctx);
  const double value = loss.value_and_gradient(y, target, x, net.output_gradient());
  net.backward();
  return value;
}

// Forward and backward over `parts` row blocks of the batch, each on its own
// replica; leaves the rows-weighted sum of the gradients in net.gradients()
// and returns the rows-weighted loss. Either the parts run in parallel, one
// per thread, or one after the other with every thread inside each: the
// arithmetic is the same.
template <typename T>
double forward_backward_parts(Network<T>& net, const Loss<T>& loss, const ConstMatrixRef<T>& x,
                              const ConstMatrixRef<T>& target, Index parts, ForwardContext ctx) {
  // Per calling thread, kept so a step does not allocate; named through
  // references, because a thread_local named inside the parallel region
  // would be the worker's own.
  thread_local std::vector<double> losses_kept;
  thread_local std::vector<std::exception_ptr> errors_kept;
  thread_local std::vector<T*> grads_kept;
  auto& losses = losses_kept;
  auto& errors = errors_kept;
  auto& grads = grads_kept;
  const auto np = static_cast<std::size_t>(parts);
  losses.assign(np, 0.0);
  errors.assign(np, nullptr);
  grads.resize(np);
  for (std::size_t i = 0; i < np; ++i) grads[i] = net.replica(i).gradients().data();
  const Index rows = x.rows();
  auto begin = [&](Index i) { return rows * i / parts; };
  // Rows of part i: its loss and gradient count in proportion.
  auto part_rows = [&](Index i) { return static_cast<double>(begin(i + 1) - begin(i)); };
  auto weight = [&](Index i) { return static_cast<T>(part_rows(i) / static_cast<double>(rows)); };
  auto run = [&](Index i) {
    try {
      const Index r0 = begin(i), rn = begin(i + 1) - r0;
      Network<T>& r = net.replica(static_cast<std::size_t>(i));
      ForwardContext part = ctx;
      part.first_row = ctx.first_row + r0;
      losses[static_cast<std::size_t>(i)] =
          loss.needs_target() ? forward_backward<T>(r, loss, x.middleRows(r0, rn), target.middleRows(r0, rn), part)
                              : forward_backward<T>(r, loss, x.middleRows(r0, rn), target, part);
    } catch (...) {
      errors[static_cast<std::size_t>(i)] = std::current_exception();
    }
  };
#if defined(_OPENMP)
  const int threads = num_threads();
  if (threads > 1 && threads < 2 * parts && !omp_in_parallel()) {
    // Static: thread t always takes the same parts, so the per-thread
    // workspaces its products grow are sized by the first step (a thread
    // that got its first part only later would allocate then).
#pragma omp parallel for schedule(static, 1) num_threads(static_cast <int>(std::min <Index>(threads, parts)))
    for (Index i = 0; i < parts; ++i) run(i);
  } else
#endif
  {
    for (Index i = 0; i < parts; ++i) run(i);
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);

  double value = 0.0;
  for (Index i = 0; i < parts; ++i)
    value += losses[static_cast<std::size_t>(i)] * part_rows(i) / static_cast<double>(rows);
  T* g0 = grads[0];
  parallel_chunks(net.gradients().size(), Index(1) << 14, [&](Index j0, Index n) {
    const T w0 = weight(0);
    for (Index j = j0; j < j0 + n; ++j) g0[j] *= w0;
    for (Index i = 1; i < parts; ++i) {
      const T wi = weight(i);
      const T* gi = grads[static_cast<std::size_t>(i)];
      for (Index j = j0; j < j0 + n; ++j) g0[j] += wi * gi[j];
    }
  });
  return value;
}

// The end of train_step, once net.gradients() holds the batch's gradient
// and `value` its loss: the before-update hook, the finiteness checks,
// clipping and the update. Returns the (hooked) loss. Also the whole step of
// a data-parallel rank whose share of a batch has no rows (zero gradients).
template <typename T>
double finish_step(Network<T>& net, Optimizer<T>& opt, double value, const StepOptions& options, std::int64_t step) {
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
  if (options.clip_norm != 0.0) clip_grad_norm(net.gradients(), options.clip_norm);
  opt.step();
  return value;
}

}  // namespace detail

// Runs one step on the batch (x, target) and returns the batch loss (before
// the update). Throws divergence_error, leaving the parameters untouched,
// when the loss or a gradient is NaN or infinite.
template <typename T>
double train_step(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt, const ConstMatrixRef<detail::same_t<T>>& x,
                  const ConstMatrixRef<detail::same_t<T>>& target, StepOptions options = {}) {
  if (!opt.bound_to(net))
    throw error(detail::concat("train_step: the ", opt.name(), " optimizer updates another network's parameters (was ",
                               "this network assigned over since the optimizer was made?)"));
  if (loss.needs_target() && target.rows() != x.rows())
    throw shape_error(detail::concat("train_step: input has ", x.rows(), " rows but the target has ", target.rows()));
  const Index parts = options.micro_batch > 0 ? (x.rows() + options.micro_batch - 1) / options.micro_batch : 1;
  if (parts > 1) {
    if (const Layer<T>* l = net.layers().coupling_layer())
      throw value_error(detail::concat("train_step: ", l->label(), " couples the rows of a batch, so a batch of ",
                                       x.rows(), " rows cannot be cut into parts of ", options.micro_batch,
                                       " (StepOptions::micro_batch); set micro_batch = 0 or a batch of at most ",
                                       options.micro_batch, " rows"));
    if (!loss.rows_independent())
      throw value_error(detail::concat("train_step: the loss ", loss.name(),
                                       " couples the rows of a batch, so a batch ", "of ", x.rows(),
                                       " rows cannot be cut into parts of ", options.micro_batch,
                                       " (StepOptions::micro_batch); set micro_batch = 0"));
  }
  const std::int64_t step = opt.steps() + 1;
  ForwardContext ctx = ForwardContext::train(options.seed, static_cast<std::uint64_t>(step), options.first_row);
  if (options.precision == Precision::bf16 && !std::is_same_v<T, float>)
    throw value_error("train_step: bf16 products are for float networks (StepOptions::precision)");
  ctx.precision = options.precision;
  // Bad input goes the whole-batch way, so its error names rows of the batch.
  const bool split = parts > 1 && net.built() && x.cols() == net.input_width() &&
                     (!loss.needs_target() || loss.accepts_target_width(target.cols(), net.output_width())) &&
                     x.allFinite();
  double value = split ? detail::forward_backward_parts(net, loss, x, target, parts, ctx)
                       : detail::forward_backward(net, loss, x, target, ctx);
  return detail::finish_step(net, opt, value, options, step);
}

}  // namespace plexus
