// Data-parallel training over MPI gives the weights of one process: run under
// mpiexec -np N. Every rank trains its share of each global batch with the
// gradient allreduce; rank 0 also trains a reference alone on the full
// batches (the same samples) and compares. Exits non-zero on a mismatch.
//
//   test_data_parallel [batch] [steps]     (default: 1024 20)
#include <plexus/mpi/data_parallel.hpp>
#include <plexus/plexus.hpp>

#include "recipes.hpp"

#include "../nets.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace plexus;

struct Run {
  Network<double> net = plexus_test::answer_like<double>(32, 16, 2, 3);
  mi::MatrixInverseSource<double> source{11, {mi::InverseDistribution::answer, true, 1.0}};
  mi::InverseResidualLoss<double> loss{3, 1.0, 2.0};
  Adam<double> adam;
  OnlineTrainer<double> trainer;

  Run(int rank, int ranks, Index batch, int steps, std::uint64_t init_seed)
      : adam((net.build(9, init_seed), net), AdamOptions{1e-3}),
        trainer(net, loss, adam, source, options(rank, ranks, batch, steps)) {}

  static OnlineOptions options(int rank, int ranks, Index batch, int steps) {
    OnlineOptions o;
    o.batch = batch;
    o.max_samples = static_cast<std::uint64_t>(batch) * static_cast<std::uint64_t>(steps);
    o.lr = 1e-3;
    o.cosine = true;
    o.rank = rank, o.ranks = ranks;
    return o;
  }
};

}  // namespace

int main(int argc, char** argv) {
  plexus::mpi::Environment env(argc, argv);
  const Index batch = argc > 1 ? std::atoll(argv[1]) : 1024;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 20;
  set_num_threads(1);
  try {
    // Every rank but 0 starts from other weights: the broadcast must fix that.
    Run dp(env.rank(), env.size(), batch, steps, env.root() ? 5 : 1000 + static_cast<std::uint64_t>(env.rank()));
    plexus::mpi::broadcast_state(dp.net, dp.adam);
    plexus::mpi::DataParallel<double> reduce(dp.trainer, dp.net);
    double first_loss = 0, last_loss = 0;
    while (!dp.trainer.done()) {
      last_loss = dp.trainer.step();
      if (dp.trainer.steps() == 1) first_loss = last_loss;
    }

    // The replicas are identical (bitwise): compare with rank 0's copy.
    Vector<double> root_params = dp.net.parameters();
    plexus::mpi::broadcast(root_params.data(), root_params.size());
    double spread = (root_params - dp.net.parameters()).cwiseAbs().maxCoeff();
    plexus::mpi::allreduce_sum(&spread, 1);  // every diff is >= 0: the sum is 0 iff all are

    int failed = 0;
    if (env.root()) {
      Run ref(0, 1, batch, steps, 5);
      double ref_last = 0;
      while (!ref.trainer.done()) ref_last = ref.trainer.step();
      const Vector<double>& a = dp.net.parameters();
      const Vector<double>& b = ref.net.parameters();
      const double scale = b.cwiseAbs().maxCoeff();
      double max_rel = 0, max_rel_elem = 0;
      for (Index i = 0; i < a.size(); ++i) {
        const double d = std::abs(a[i] - b[i]);
        max_rel = std::max(max_rel, d / scale);
        if (b[i] != 0) max_rel_elem = std::max(max_rel_elem, d / std::abs(b[i]));
        else if (d != 0) max_rel_elem = INFINITY;
      }
      const double moved = (b - Run(0, 1, batch, steps, 5).net.parameters()).cwiseAbs().maxCoeff();
      std::printf(
          "%d ranks, global batch %lld, %d steps, %lld parameters (float64): max |w - w_ref| / max |w_ref| "
          "= %.3g, max elementwise relative difference = %.3g (weights moved by up to %.3g); loss %.6g -> %.6g "
          "(reference %.6g); replicas differ by %.3g; allreduce %.3f ms/step\n",
          env.size(), static_cast<long long>(batch), steps, static_cast<long long>(a.size()), max_rel, max_rel_elem,
          moved, first_loss, last_loss, ref_last, spread,
          reduce.allreduce_steps() ? 1e3 * reduce.allreduce_seconds() / static_cast<double>(reduce.allreduce_steps())
                                   : 0.0);
      if (!(max_rel_elem <= 1e-6))
        std::printf("FAIL: the weights differ from one process' by more than 1e-6\n"), failed = 1;
      if (!(std::abs(last_loss - ref_last) <= 1e-9 * std::abs(ref_last)))
        std::printf("FAIL: the reduced loss differs from one process'\n"), failed = 1;
      if (!(moved > 1e-4)) std::printf("FAIL: the weights did not move\n"), failed = 1;
      if (spread != 0) std::printf("FAIL: the replicas are not identical\n"), failed = 1;
      if (dp.trainer.steps() != steps || ref.trainer.steps() != steps)
        std::printf("FAIL: %lld steps instead of %d\n", static_cast<long long>(dp.trainer.steps()), steps), failed = 1;
    }
    // The collective helpers: agree() ORs the flags and gives rank 0's values;
    // on_root() shares rank 0's result, or its error, with every rank.
    double v[2] = {10.0 + env.rank(), -1.0 * env.rank()};
    const bool any = plexus::mpi::agree(env.rank() == env.size() - 1, v, 2);
    if (!any || v[0] != 10.0 || v[1] != 0.0) std::printf("FAIL: agree on rank %d\n", env.rank()), failed = 1;
    if (plexus::mpi::agree(false, v, 0)) std::printf("FAIL: agree(false) on rank %d\n", env.rank()), failed = 1;
    if (plexus::mpi::on_root([&] { return std::string("from ") + std::to_string(env.rank()); }) != "from 0")
      std::printf("FAIL: on_root's result on rank %d\n", env.rank()), failed = 1;
    try {
      plexus::mpi::on_root([]() -> std::string { throw io_error("no such file"); });
      std::printf("FAIL: on_root did not throw on rank %d\n", env.rank()), failed = 1;
    } catch (const plexus::mpi::root_error& e) {
      if (env.root() || std::string(e.what()) != "no such file")
        std::printf("FAIL: root_error on rank %d\n", env.rank()), failed = 1;
    } catch (const io_error&) {
      if (!env.root()) std::printf("FAIL: io_error on rank %d\n", env.rank()), failed = 1;
    }
    int any_failed = failed;
    plexus::mpi::allreduce_sum(&any_failed, 1);
    failed = any_failed ? 1 : 0;
    if (env.root()) std::printf("%s\n", failed ? "FAILED" : "PASS");
    return failed;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", env.rank(), e.what());
    env.abort(1);
  }
}
