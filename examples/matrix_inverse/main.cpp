// matrix_inverse: teaching a network to invert N x N matrices (3 x 3 by default).
//
// Reproduces a well-known Q&A experiment with Plexus — the question's small
// MLP that fails, the answer's concat-ResNet that learns slowly — and trains
// an improved recipe that learns in minutes. See docs/matrix_inverse.md.
// This file: the commands' dispatch, MPI set-up and error reporting; each
// command lives in its own file (commands.hpp).
#include "args.hpp"
#include "commands.hpp"
#include "ranks.hpp"

#include <plexus/core/error.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace mi {
namespace {

const char* kUsage =
    "usage: matrix_inverse <command> [flags]   (matrix_inverse <command> --help lists its flags)\n"
    "\n"
    "Teaches a network to invert N x N matrices (--size N, 2 to 8; default 3): reproduces a well-known Q&A\n"
    "experiment (a Keras dense network) and trains an improved recipe. See docs/matrix_inverse.md.\n"
    "\n"
    "commands:\n"
    "  question   reproduces the question: a Dense 9-9-9 ReLU network trained with MSE on 10,000 matrices\n"
    "             rescaled to det 1; it fails (validation RMSE in the hundreds)\n"
    "  answer     reproduces the answer: a 4.71M-parameter concat-ResNet trained with MSE on fresh samples at\n"
    "             lr 1e-5; it learns, slowly (the full recipe takes days), so give it --samples or --seconds\n"
    "  train      the project's improved recipe (A/||A||_F in, residual loss, cosine decay): learns in minutes\n"
    "             (default budget 240 s)\n"
    "  predict    writes a model's predicted inverses of the matrices in a .npy file\n"
    "  evaluate   prints a model's median residual r = ||A X - I||_F, its shares under 0.02, 0.05, 0.1, the RMSE\n"
    "             on inverse/5 and Charton's shares of sum |A X - I| / N under 0.05, 0.02, 0.01, 0.005\n"
    "  export     writes a model's Dense layers to .npz for NumPy / PyTorch, or the model as an ONNX graph of\n"
    "             predict --views 1 (raw matrices in, inverses out)\n"
    "\n"
    "Built with -DPLEXUS_WITH_MPI=ON, `mpirun -np N matrix_inverse train|answer` trains data-parallel.\n";

int dispatch(int argc, char** argv) {
  if (argc < 2)
    throw usage_error(
        "missing command (question, answer, train, predict, evaluate, export); see matrix_inverse --help");
  const std::string cmd = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (g_ranks.size > 1 && cmd != "train" && cmd != "answer")
    throw usage_error(cmd + " runs in one process; under mpirun only train and answer run (data-parallel)");
  if (cmd == "question") return cmd_question(rest);
  if (cmd == "answer") return cmd_answer(rest);
  if (cmd == "train") return cmd_train(rest);
  if (cmd == "predict") return cmd_predict(rest);
  if (cmd == "evaluate") return cmd_evaluate(rest);
  if (cmd == "export") return cmd_export(rest);
  throw usage_error("unknown command '" + cmd + "' (commands: question, answer, train, predict, evaluate, export)");
}

// Messages are one line: a multi-line what() is folded.
std::string one_line(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return s;
}

}  // namespace
}  // namespace mi

int main(int argc, char** argv) {
#ifdef PLEXUS_WITH_MPI
  // Under mpirun: MPI for the whole run (finalized when main returns).
  std::unique_ptr<plexus::mpi::Environment> mpi;
  if (mi::launched_by_mpi()) {
    try {
      mpi = std::make_unique<plexus::mpi::Environment>(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "matrix_inverse: error: %s\n", mi::one_line(e.what()).c_str());
      return 1;
    }
    mi::g_mpi = mpi.get();
    mi::g_ranks = {mpi->rank(), mpi->size()};
  }
#endif
  try {
    return mi::dispatch(argc, argv);
  } catch (const mi::usage_error& e) {  // every rank parses the same flags: rank 0 reports
    if (mi::root()) std::fprintf(stderr, "matrix_inverse: %s\n", mi::one_line(e.what()).c_str());
    return 2;
  } catch (const std::exception& e) {
#ifdef PLEXUS_WITH_MPI
    // An error on every rank (a divergence: the reduced gradients are the same
    // everywhere; or rank 0's, shared): rank 0 reports it and all end
    // normally. An error on one rank alone ends the whole job.
    const bool everywhere = mi::g_error_shared || dynamic_cast<const plexus::divergence_error*>(&e);
    if (mpi && mpi->size() > 1 && !everywhere) {
      std::fprintf(stderr, "matrix_inverse: rank %d of %d: error: %s; stopping all ranks\n", mpi->rank(), mpi->size(),
                   mi::one_line(e.what()).c_str());
      std::fflush(stderr);
      mpi->abort(1);
    }
    if (!mi::root()) return 1;
#endif
    std::fprintf(stderr, "matrix_inverse: error: %s\n", mi::one_line(e.what()).c_str());
    return 1;
  }
}
