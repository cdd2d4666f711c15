// The generic finite-difference gradient checker used for every layer,
// container and loss (dlib's test_layer idea). Double precision, central
// differences; reports the largest relative error over every input element
// and every parameter.
#pragma once

#include <plexus/plexus.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace plexus_test {

using plexus::Index;
using MatD = plexus::Matrix<double>;

struct GradReport {
  double max_input_error = 0.0;
  double max_param_error = 0.0;
  Index inputs_checked = 0;
  Index params_checked = 0;
  double max_error() const { return std::max(max_input_error, max_param_error); }
};

// |a - n| / max(|a|, |n|, floor): relative, with a floor so that gradients
// that are zero up to rounding do not divide by zero. The checker sets the
// floor to 1e-5 of the largest gradient of the same family (inputs or
// parameters): below that, central differences measure rounding noise of
// the objective, not the gradient.
inline double rel_error(double a, double n, double floor) {
  return std::abs(a - n) / std::max({std::abs(a), std::abs(n), floor});
}

// Checks d(sum(R .* f(x)))/dx and /dparams of a built network against
// central differences, R a fixed random weighting of the outputs.
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

inline GradReport check_network_gradients(plexus::Network<double>& net, const MatD& x, std::uint64_t seed = 7,
                                          double h = 1e-3, Index max_params = 4000) {
  plexus::Rng rng(seed);
  MatD r(x.rows(), net.output_width());
  for (Index i = 0; i < r.size(); ++i) r.data()[i] = rng.uniform(-1.0, 1.0);
  auto objective = [&](const MatD& in) { return (net.predict(in).array() * r.array()).sum(); };

  net.forward(x);
  net.output_gradient() = r;
  net.backward();
  const MatD dx = net.input_gradient();
  const plexus::Vector<double> dp = net.gradients();

  GradReport rep;
  const double floor_x = std::max(1e-12, 1e-5 * dx.cwiseAbs().maxCoeff());
  const double floor_p = std::max(1e-12, 1e-5 * dp.cwiseAbs().maxCoeff());
  MatD xp = x;
  for (Index i = 0; i < x.size(); ++i) {
    const double num = stencil(xp.data() + i, h, [&] { return objective(xp); });
    rep.max_input_error = std::max(rep.max_input_error, rel_error(dx.data()[i], num, floor_x));
    ++rep.inputs_checked;
  }
  auto& p = net.parameters();
  const Index n = p.size();
  const Index stride = std::max<Index>(1, n / max_params);
  for (Index i = 0; i < n; i += stride) {
    const double num = stencil(p.data() + i, h, [&] { return objective(x); });
    rep.max_param_error = std::max(rep.max_param_error, rel_error(dp[i], num, floor_p));
    ++rep.params_checked;
  }
  return rep;
}

// Checks a loss's gradient with respect to the prediction.
inline double check_loss_gradient(const plexus::Loss<double>& loss, const MatD& pred, const MatD& target,
                                  const MatD& input, double h = 1e-3) {
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

inline MatD random_matrix(Index rows, Index cols, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  plexus::Rng rng(seed);
  MatD m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(lo, hi);
  return m;
}

}  // namespace plexus_test
