// matrix_inverse evaluate: a model's median residual r = ||A X - I||_F, share
// r < 0.05 and RMSE on inverse/5, on given or held-out matrices.
#include "args.hpp"
#include "commands.hpp"
#include "model_io.hpp"

#include <cstdio>

namespace mi {

int cmd_evaluate(const std::vector<std::string>& argv) {
  const std::vector<FlagSpec> flags = {
      {"model", "FILE", "the model, or a checkpoint (required)"},
      {"input", "IN.npy", "judge on these matrices: float32 or float64, shape (n, 3, 3) or (n, 9)"},
      {"samples", "N", "judge on N held-out matrices of the model's distribution (default 10000)"},
      {"seed", "K", "the held-out set of seed K (default: the model's training seed)"},
      {"threads", "T", "threads (default: all cores); results do not depend on it"},
      {"help", "", "print this help"},
  };
  const Args a("evaluate", argv, flags);
  if (a.has("help")) {
    std::printf("usage: matrix_inverse evaluate --model FILE [--input IN.npy] [--samples N] [--seed K] [--threads T]\n\n"
                "%s\n\nflags:\n%s",
                wrap("Prints the median residual r = ||A X - I||_F, the share of matrices with r < 0.05 and the RMSE "
                     "on inverse/5, on the matrices of IN.npy or on N (default 10,000) held-out matrices of the "
                     "model's distribution (the held-out set of its training seed unless --seed is given).",
                     100)
                    .c_str(),
                flags_help(flags).c_str());
    return 0;
  }
  if (!a.has("model")) throw usage_error("evaluate: --model is required (see --help)");
  if (a.has("input") && (a.has("samples") || a.has("seed")))
    throw usage_error("evaluate: --input and --samples/--seed exclude each other");
  if (a.has("threads")) plexus::set_num_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
  LoadedModel model = load_inverse_model(a.str("model"));
  Eigen::MatrixXd m;
  if (a.has("input")) {
    std::vector<std::int64_t> shape;
    m = read_matrices(a.str("input"), shape);
  } else {
    std::uint64_t seed = 1;
    if (auto it = model.meta.extra.find("seed"); it != model.meta.extra.end()) seed = std::stoull(it->second);
    seed = static_cast<std::uint64_t>(a.integer("seed", static_cast<std::int64_t>(seed), 0, (1LL << 53)));
    m = held_out_matrices(seed, a.integer("samples", 10000, 1, 100000000), model.meta.distribution);
  }
  std::printf("model %s: %s recipe, %lld parameters, input %s\n", a.str("model").c_str(), model.meta.recipe.c_str(),
              static_cast<long long>(model.parameter_count()), model.meta.conv.normalize ? "A/||A||_F" : "A");
  print_inverse_metrics(a.has("input") ? "given matrices" : "held-out", mi::inverse_metrics(m, model.predict(m)));
  return 0;
}

}  // namespace mi
