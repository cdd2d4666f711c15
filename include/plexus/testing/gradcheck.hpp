// The finite-difference gradient checker (dlib's test_layer idea, made
// public): it compares the gradients a network's backward pass computes —
// for every input element and every parameter (an evenly strided subset of
// at most max_params of them) — with fourth-order central differences of
// the same forward pass, in double precision, and reports the largest
// relative errors. Use it on every layer you write:
//
//   plexus::testing::GradReport r = plexus::testing::check_layer_gradients(Scale<double>(), x);
//   if (!(r.max_error() < 1e-6)) ...
//
// A layer's training and inference behaviour may differ (dropout, batch
// norm): GradCheckOptions::training chooses which one is checked; either
// way every forward pass of one check uses the same ForwardContext, so a
// dropout mask stays fixed while the differences are taken.
#pragma once

#include "../core/rng.hpp"
#include "../loss/loss.hpp"
#include "../model/network.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

namespace plexus {
namespace testing {

using MatD = Matrix<double>;

struct GradReport {
  double max_input_error = 0.0;
  double max_param_error = 0.0;
  Index inputs_checked = 0;
  Index params_checked = 0;
  Index worst_param = -1;  // index of the parameter with the largest error
  double max_error() const { return std::max(max_input_error, max_param_error); }
};

struct GradCheckOptions {
  bool training = true;     // check the training behaviour (else inference)
  std::uint64_t seed = 7;   // the weighting of the outputs, and the context's random streams
  double h = 1e-3;          // the finite-difference step
  Index max_params = 4000;  // parameters checked at most (evenly strided)
};

// |a - n| / max(|a|, |n|, floor): relative, with a floor so that gradients
// that are zero up to rounding do not divide by zero. The checker sets the
// floor to 1e-5 of the largest gradient of the same family (inputs or
// parameters): below that, central differences measure rounding noise of
// the objective, not the gradient.
inline double rel_error(double a, double n, double floor) {
  return std::abs(a - n) / std::max({std::abs(a), std::abs(n), floor});
}

// d f / d v at v = *slot by the fourth-order stencil; restores *slot.
template <typename F>
double stencil(double* slot, double h, F&& f) {
  const double keep = *slot;
  double acc = 0.0;
  const double w[4] = {1.0, -8.0, 8.0, -1.0}, at[4] = {-2.0, -1.0, 1.0, 2.0};
  for (int k = 0; k < 4; ++k) {
    *slot = keep + at[k] * h;
    acc += w[k] * f();
  }
  *slot = keep;
  return acc / (12.0 * h);
}

// The parameters a check visits: every `stride`-th, so that at least
// min(n, max_params) of the n parameters are visited.
inline Index param_stride(Index n, Index max_params) { return std::max<Index>(1, n / std::max<Index>(1, max_params)); }

// Checks d(sum(R .* f(x)))/dx and /dparams of a built network, R a fixed
// random weighting of the outputs.
inline GradReport check_network_gradients(Network<double>& net, const MatD& x, GradCheckOptions o = {}) {
  Rng rng(o.seed);
  MatD r(x.rows(), net.output_width());
  for (Index i = 0; i < r.size(); ++i) r.data()[i] = rng.uniform(-1.0, 1.0);
  ForwardContext ctx = ForwardContext::train(o.seed, 1);
  ctx.training = o.training;
  auto objective = [&](const MatD& in) { return (net.forward(in, ctx).array() * r.array()).sum(); };

  net.forward(x, ctx);
  net.output_gradient() = r;
  net.backward();
  const MatD dx = net.input_gradient();
  const Vector<double> dp = net.gradients();

  GradReport rep;
  const double floor_x = std::max(1e-12, 1e-5 * dx.cwiseAbs().maxCoeff());
  const double floor_p = dp.size() ? std::max(1e-12, 1e-5 * dp.cwiseAbs().maxCoeff()) : 1e-12;
  MatD xp = x;
  for (Index i = 0; i < x.size(); ++i) {
    const double num = stencil(xp.data() + i, o.h, [&] { return objective(xp); });
    rep.max_input_error = std::max(rep.max_input_error, rel_error(dx.data()[i], num, floor_x));
    ++rep.inputs_checked;
  }
  auto& p = net.parameters();
  const Index n = p.size(), stride = param_stride(n, o.max_params);
  for (Index i = 0; i < n; i += stride) {
    const double num = stencil(p.data() + i, o.h, [&] { return objective(x); });
    const double e = rel_error(dp[i], num, floor_p);
    if (e > rep.max_param_error || rep.worst_param < 0) rep.worst_param = i;
    rep.max_param_error = std::max(rep.max_param_error, e);
    ++rep.params_checked;
  }
  return rep;
}

// Checks one layer: a network of a copy of it alone, built on x's width
// from `seed`, its parameters then drawn uniformly from [-1, 1] (so no
// gradient is trivially 0 or 1) unless keep_initial.
inline GradReport check_layer_gradients(const Layer<double>& layer, const MatD& x, GradCheckOptions o = {},
                                        bool keep_initial = false) {
  Network<double> net;
  std::unique_ptr<Layer<double>> copy = layer.clone();
  net.add(std::move(copy));
  net.build(x.cols(), o.seed);
  if (!keep_initial) {
    Rng rng(o.seed + 1);
    for (Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = rng.uniform(-1.0, 1.0);
  }
  return check_network_gradients(net, x, o);
}

// The largest relative error of a loss's gradient with respect to the prediction.
inline double check_loss_gradient(const Loss<double>& loss, const MatD& pred, const MatD& target, const MatD& input,
                                  double h = 1e-3) {
  MatD g(pred.rows(), pred.cols());
  loss.value_and_gradient(pred, target, input, g);
  MatD p = pred;
  double worst = 0.0;
  const double floor = std::max(1e-12, 1e-5 * g.cwiseAbs().maxCoeff());
  for (Index i = 0; i < p.size(); ++i) {
    const double num = stencil(p.data() + i, h, [&] { return loss.value(p, target, input); });
    worst = std::max(worst, rel_error(g.data()[i], num, floor));
  }
  return worst;
}

// A rows x cols matrix of values drawn uniformly from [lo, hi).
inline MatD random_matrix(Index rows, Index cols, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  MatD m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(lo, hi);
  return m;
}

}  // namespace testing
}  // namespace plexus
