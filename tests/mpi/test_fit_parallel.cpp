// Data-parallel fit() over MPI gives one process' fit: run under mpiexec
// -np N. Every rank fits its share of each batch (mpi::fit); rank 0 also
// fits alone (plexus::fit) on the same data and compares weights, losses
// and history. The last batch of each epoch is short (2 rows), so with 3
// ranks one rank has no rows of it. Exits non-zero on a mismatch.
//
//   test_fit_parallel [rows] [batch]     (default: 203 32)
#include <plexus/mpi/fit.hpp>
#include <plexus/plexus.hpp>

#include "../fit_layers.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

using namespace plexus;

Network<double> make_net(std::uint64_t seed) {
  Network<double> net;
  net.add(Dense<double>(16, Activation::tanh));
  net.add(plexus_test::Noise<double>(0.1));  // random streams: the ranks' rows must draw one process' noise
  net.add(Dense<double>(3));
  net.build(2, seed);
  return net;
}

FitOptions options(Index batch) {
  FitOptions o;
  o.epochs = 4;
  o.batch_size = batch;
  o.seed = 11;
  o.validation_split = 0.2;
  o.step.clip_norm = 1.0;
  o.step.micro_batch = 16;  // one process cuts each batch in two
  o.schedule = std::make_shared<StepLR>(2e-2, 2, 0.5);
  o.verbose = Verbose::silent;
  return o;
}

double max_relative(const Vector<double>& a, const Vector<double>& b) {
  double m = 0;
  for (Index i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]);
    if (b[i] != 0) m = std::max(m, d / std::abs(b[i]));
    else if (d != 0) m = INFINITY;
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  plexus::mpi::Environment env(argc, argv);
  const Index rows = argc > 1 ? std::atoll(argv[1]) : 203;
  const Index batch = argc > 2 ? std::atoll(argv[2]) : 32;
  set_num_threads(1);
  int failed = 0;
  auto fail = [&](const std::string& what) {
    std::printf("FAIL (rank %d): %s\n", env.rank(), what.c_str());
    failed = 1;
  };
  try {
    Matrix<double> x, y;
    plexus_test::spiral<double>(rows, 3, 0.05, 4, x, y);
    SoftmaxCrossEntropy<double> ce;
    // Every rank but 0 starts from other weights: mpi::fit broadcasts rank 0's.
    Network<double> net = make_net(env.root() ? 5 : 100 + static_cast<std::uint64_t>(env.rank()));
    Adam<double> adam(net);
    const FitHistory h = plexus::mpi::fit(net, ce, adam, x, y, options(batch));

    Vector<double> root_params = net.parameters();
    plexus::mpi::broadcast(root_params.data(), root_params.size());
    double spread = (root_params - net.parameters()).cwiseAbs().maxCoeff();
    plexus::mpi::allreduce_sum(&spread, 1);
    if (spread != 0) fail("the replicas are not identical");

    if (env.root()) {
      Network<double> ref = make_net(5);
      Adam<double> ref_adam(ref);
      const FitHistory r = plexus::fit(ref, ce, ref_adam, x, y, options(batch));
      const Vector<double> start = make_net(5).parameters();
      const double rel = max_relative(net.parameters(), ref.parameters());
      const double moved = (ref.parameters() - start).cwiseAbs().maxCoeff();
      double loss_rel = 0, val_rel = 0;
      for (std::size_t e = 0; e < r.epochs.size() && e < h.epochs.size(); ++e) {
        loss_rel = std::max(loss_rel, std::abs(h.epochs[e].loss - r.epochs[e].loss) / r.epochs[e].loss);
        val_rel = std::max(val_rel, std::abs(h.epochs[e].val_loss - r.epochs[e].val_loss) / r.epochs[e].val_loss);
      }
      std::printf(
          "%d ranks, %lld rows, batch %lld, %zu epochs, %lld parameters (float64): max elementwise relative "
          "difference of the weights %.3g (moved by up to %.3g); epoch losses %.3g, validation losses %.3g "
          "(relative); loss %.6g -> %.6g, val_accuracy %.4g; steps %lld\n",
          env.size(), static_cast<long long>(rows), static_cast<long long>(batch), h.epochs.size(),
          static_cast<long long>(net.parameter_count()), rel, moved, loss_rel, val_rel, h.epochs[0].loss,
          h.epochs.back().loss, h.epochs.back().val_metrics.at(0), static_cast<long long>(h.steps));
      if (!(rel <= 1e-6)) fail("the weights differ from one process' by more than 1e-6");
      if (!(loss_rel <= 1e-9) || !(val_rel <= 1e-9)) fail("the losses differ from one process'");
      if (!(moved > 1e-3)) fail("the weights did not move");
      if (h.epochs.size() != r.epochs.size() || h.steps != r.steps || adam.steps() != ref_adam.steps())
        fail("another number of epochs or steps than one process");
      for (std::size_t e = 0; e < h.epochs.size(); ++e)
        if (h.epochs[e].samples != r.epochs[e].samples || h.epochs[e].lr != r.epochs[e].lr)
          fail("another epoch row than one process");
    }

    // A callback's stop on the last rank stops every rank at the same batch.
    {
      Network<double> n2 = make_net(5);
      Adam<double> a2(n2);
      FitCallback<double> stop;
      stop.on_batch = [&](FitState<double>& s) { return !(s.rank == env.size() - 1 && s.epoch == 1 && s.batch == 2); };
      const FitHistory hs = plexus::mpi::fit(n2, ce, a2, x, y, options(batch), {stop});
      const Index train = static_cast<Index>(std::floor(0.8 * static_cast<double>(rows) + 1e-9));
      const Index per_epoch = (train + batch - 1) / batch;
      if (!hs.stopped_by_callback || hs.epochs.size() != 2 || a2.steps() != per_epoch + 2)
        fail("a callback's stop on one rank did not stop this rank after batch 2 of epoch 1");
    }
    // A layer coupling rows cannot be split over ranks: refused on every rank alike.
    if (env.size() > 1) {
      Network<double> n3;
      n3.add(Dense<double>(4));
      n3.add(plexus_test::BatchCentre<double>());
      n3.add(Dense<double>(3));
      n3.build(2, 1);
      Adam<double> a3(n3);
      try {
        plexus::mpi::fit(n3, ce, a3, x, y, options(batch));
        fail("a coupling layer was not refused");
      } catch (const value_error& e) {
        if (!std::strstr(e.what(), "couples the rows of a batch")) fail(std::string("unexpected message: ") + e.what());
      }
    }
    int any_failed = failed;
    plexus::mpi::allreduce_sum(&any_failed, 1);
    if (env.root()) std::printf("%s\n", any_failed ? "FAILED" : "PASS");
    return any_failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", env.rank(), e.what());
    env.abort(1);
  }
}
