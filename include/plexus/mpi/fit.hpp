// Data-parallel fit() over MPI (build with PLEXUS_WITH_MPI, link
// plexus::mpi; not included by <plexus/plexus.hpp>). Every rank holds the
// whole data set and draws the same shuffled batches; rank r of R steps on
// rows [b r / R, b (r + 1) / R) of each batch of b rows, as OnlineTrainer's
// ranks do, and one allreduce per step turns the ranks' gradients and
// losses, weighted by their rows, into those of the whole batch.
//
//   plexus::mpi::Environment env(argc, argv);
//   ... every rank reads (x, y) and builds the same network ...
//   FitHistory h = plexus::mpi::fit(net, loss, adam, x, y, options);
//
// The result is one process' fit up to rounding (the sums are grouped
// differently). Rank 0's parameters and optimizer state are broadcast
// first; validation and the metrics run in full on every rank (the
// replicas are equal), so every rank takes the same decisions (early
// stopping, plateaus) without talking; rank 0 alone prints and writes
// checkpoints; a callback's stop on any rank stops every rank at the same
// batch. An exception on one rank alone (a callback's own) leaves the
// others waiting in the next collective: end the job (Environment::abort).
#pragma once

#include "../train/fit.hpp"
#include "data_parallel.hpp"

#include <functional>
#include <string>
#include <vector>

namespace plexus {
namespace mpi {

namespace detail {

template <typename T>
plexus::detail::FitParallel fit_parallel(Network<T>& net, MPI_Comm comm) {
  plexus::detail::FitParallel p;
  p.rank = comm_rank(comm);
  p.ranks = comm_size(comm);
  p.reduce = [&net, comm](double& loss, Index local, Index global) {
    const double w = static_cast<double>(local) / static_cast<double>(global);
    Vector<T>& g = net.gradients();
    g *= static_cast<T>(w);
    allreduce_sum(g.data(), g.size(), comm);
    double l = loss * w;
    allreduce_sum(&l, 1, comm);
    loss = l;
  };
  p.any = [comm](bool flag) {
    double none = 0.0;  // agree() shares values too; none here
    return agree(flag, &none, 0, comm);
  };
  p.on_root = [comm](const std::function<void()>& f) {
    on_root(
        [&f] {
          f();
          return std::string();
        },
        comm);
  };
  return p;
}

// Every rank must pass the same data and options: the sizes are compared
// (a difference is a value_error on every rank).
template <typename T>
void check_same_run(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, const FitOptions& o, MPI_Comm comm) {
  check_same(x.rows(), "rows of x", comm);
  check_same(x.cols(), "columns of x", comm);
  check_same(y.cols(), "columns of y", comm);
  check_same(o.epochs, "FitOptions::epochs", comm);
  check_same(o.batch_size, "FitOptions::batch_size", comm);
  check_same(static_cast<long long>(o.seed >> 1), "FitOptions::seed", comm);
  check_same(o.shuffle ? 1 : 0, "FitOptions::shuffle", comm);
  check_same(static_cast<long long>(o.validation_split * 1e9), "FitOptions::validation_split", comm);
}

}  // namespace detail

// plexus::fit with the batches shared out over the ranks of `comm`.
template <typename T>
FitHistory fit(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt,
               const ConstMatrixRef<plexus::detail::same_t<T>>& x, const ConstMatrixRef<plexus::detail::same_t<T>>& y,
               const FitOptions& options = {},
               const std::vector<FitCallback<plexus::detail::same_t<T>>>& callbacks = {},
               MPI_Comm comm = MPI_COMM_WORLD) {
  detail::check_same_run<T>(x, y, options, comm);
  broadcast_state(net, opt, comm);
  const plexus::detail::FitParallel p = detail::fit_parallel(net, comm);
  return plexus::detail::fit_split<T>(net, loss, opt, x, y, options, callbacks, &p);
}

// The same with an explicit validation set (the same on every rank).
template <typename T>
FitHistory fit(Network<T>& net, const Loss<T>& loss, Optimizer<T>& opt,
               const ConstMatrixRef<plexus::detail::same_t<T>>& x, const ConstMatrixRef<plexus::detail::same_t<T>>& y,
               const ConstMatrixRef<plexus::detail::same_t<T>>& x_val,
               const ConstMatrixRef<plexus::detail::same_t<T>>& y_val, const FitOptions& options = {},
               const std::vector<FitCallback<plexus::detail::same_t<T>>>& callbacks = {},
               MPI_Comm comm = MPI_COMM_WORLD) {
  plexus::detail::check_fit_options(options, true);
  detail::check_same_run<T>(x, y, options, comm);
  check_same(x_val.rows(), "rows of x_val", comm);
  broadcast_state(net, opt, comm);
  const plexus::detail::FitParallel p = detail::fit_parallel(net, comm);
  return plexus::detail::fit_impl<T>(net, loss, opt, x, y, &x_val, &y_val, options, callbacks, &p);
}

}  // namespace mpi
}  // namespace plexus
