// matrix_inverse evaluate: a model's median residual r = ||A X - I||_F, share
// r < 0.05 and RMSE on inverse/5, on given or held-out matrices.
#include "args.hpp"
#include "commands.hpp"
#include "model_io.hpp"
#include "report.hpp"

#include <cstdio>

namespace mi {

int cmd_evaluate(const std::vector<std::string>& argv) {
  const std::vector<FlagSpec> flags = {
      {"model", "FILE", "the model, or a checkpoint (required)"},
      {"input", "IN.npy", "judge on these matrices: float32 or float64, shape (n, N, N) or (n, N^2)"},
      {"samples", "N", "judge on N held-out matrices of the model's distribution (default 10000)"},
      {"size", "N", "the model's matrix size, checked (default: the model's)"},
      {"range", "LO HI", "held-out entries uniform in [LO, HI) (default: the model's distribution)"},
      {"det", "D|none", "held-out matrices' row 0 rescaled to determinant D; none: not (default: the model's)"},
      {"min-det", "T", "held-out matrices kept only when |det| > T; 0: all (default: the model's)"},
      {"seed", "K", "the held-out set of seed K (default: the model's training seed)"},
      {"views", "K",
       "average the network over the first K (1..256) exact symmetric views of each matrix (see predict --help); 1: "
       "the network once (default: the model's views.default, else " +
           std::to_string(kDefaultViews) + " at 3x3, " + std::to_string(default_views_for(4)) + " from 4x4 on)"},
      {"scale", "X",
       "multiply every matrix by X before judging (the prediction must follow: inv(X A) = inv(A) / X; default 1)"},
      {"residuals", "FILE.csv",
       "also write each matrix's condition number ||A||_F ||A^-1||_F and its r, with the views and once (for plots)"},
      {"weights", "float|int8",
       "float: the network in its own precision (default); int8: through plexus::Int8Predictor, Dense weights "
       "quantised to int8 per output channel and each layer's input per row, products summed in int32"},
      {"threads", "T", "threads (default: all cores); results do not depend on it"},
      {"help", "", "print this help"},
  };
  const Args a("evaluate", argv, flags);
  if (a.has("help")) {
    std::printf(
        "usage: matrix_inverse evaluate --model FILE [--input IN.npy] [--samples N] [--seed K] [--views K] "
        "[--scale X] [--residuals FILE.csv]\n"
        "       [--threads T]\n\n"
        "%s\n\nflags:\n%s",
        wrap("Prints the median residual r = ||A X - I||_F, the shares of matrices with r < 0.02, 0.05 and 0.1, "
             "the RMSE on inverse/5 and Charton's measure (the shares of matrices with e = sum_ij |(A X - I)_ij| / N "
             "below 0.05, 0.02, 0.01 and 0.005), on the matrices of IN.npy or on N (default 10,000) held-out "
             "matrices of the model's distribution, or of the one --range, --det and --min-det describe (the "
             "held-out set of its training seed unless --seed is given); with K > 1 views, also the network "
             "once. Then the time per matrix of the prediction: in batches, and one matrix at a time (the first "
             "200).",
             100)
            .c_str(),
        flags_help(flags).c_str());
    return 0;
  }
  if (!a.has("model")) throw usage_error("evaluate: --model is required (see --help)");
  for (const char* k : {"samples", "seed", "range", "det", "min-det"})
    if (a.has("input") && a.has(k))
      throw usage_error(std::string("evaluate: --input and --") + k + " exclude each other");
  if (a.has("views")) a.integer("views", 1, 1, kMaxViews);  // a bad K is refused before any file is read
  const double scale = a.real("scale", 1.0, 1e-6, 1e6);
  if (a.has("threads")) plexus::set_num_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
  int8_weights_flag(a);  // a bad value is refused before any file is read
  LoadedModel model = load_inverse_model(a.str("model"));
  check_size_flag(a, model);
  weights_flag(a, model);
  const int n = model.meta.size;
  MatrixDistribution dist = model.meta.distribution;
  read_range_flag(a, dist);
  read_det_flag(a, dist);
  read_min_det_flag(a, dist);
  try {
    dist.check();
  } catch (const plexus::value_error& e) {
    throw usage_error(std::string("evaluate: --range/--det/--min-det: ") + e.what());
  }
  Eigen::MatrixXd m;
  if (a.has("input")) {
    std::vector<std::int64_t> shape;
    m = read_matrices(a.str("input"), n, shape);
  } else {
    std::uint64_t seed = 1;
    if (auto it = model.meta.extra.find("seed"); it != model.meta.extra.end()) seed = std::stoull(it->second);
    seed = static_cast<std::uint64_t>(a.integer("seed", static_cast<std::int64_t>(seed), 0, (1LL << 53)));
    m = held_out_matrices(seed, a.integer("samples", 10000, 1, 100000000), dist, n);
  }
  if (scale != 1.0) m *= scale;
  std::printf("model %s: %s recipe, %dx%d matrices, %lld parameters, input %s\n", a.str("model").c_str(),
              model.meta.recipe.c_str(), n, n, static_cast<long long>(model.parameter_count()),
              model.meta.conv.normalize ? "A/||A||_F" : "A");
  if (!a.has("input"))
    std::printf("held-out matrices: %s%s\n", dist.text().c_str(),
                (dist == model.meta.distribution ? std::string(" (the model's)")
                                                 : " (the model trained on " + model.meta.distribution.text() + ")")
                    .c_str());
  if (scale != 1.0) std::printf("every matrix multiplied by %g\n", scale);
  const int k = views_flag(a, model.views);
  const char* label = a.has("input") ? "given matrices" : "held-out";
  const auto t0 = Clock::now();
  const Eigen::MatrixXd x = model.predict(m, k);
  const double batch_s = seconds_since(t0);
  const std::string with = std::string(label) + ", " + std::to_string(k) + (k == 1 ? " view" : " views");
  const mi::InverseMetrics viewed = mi::inverse_metrics(m, x);
  print_inverse_metrics(with.c_str(), viewed);
  const mi::InverseMetrics once = k > 1 ? mi::inverse_metrics(m, model.predict(m, 1)) : viewed;
  if (k > 1) print_inverse_metrics((std::string(label) + ", network once").c_str(), once);
  if (a.has("residuals")) {
    std::string csv = "condition,r_views,r_once\n";
    for (plexus::Index s = 0; s < m.rows(); ++s) {
      const SmallMatrix am = matrix_of_row(m, s, n);
      char line[128];
      std::snprintf(line, sizeof line, "%.6g,%.6g,%.6g\n", am.norm() * small_inverse(am).norm(),
                    viewed.r[static_cast<std::size_t>(s)], once.r[static_cast<std::size_t>(s)]);
      csv += line;
    }
    write_text(a.str("residuals"), csv);
  }
  const plexus::Index one = std::min<plexus::Index>(200, m.rows());
  const auto t1 = Clock::now();
  for (plexus::Index i = 0; i < one; ++i) model.predict(m.row(i), k);
  const double one_s = seconds_since(t1);
  std::printf(
      "predict time per matrix, %d view%s, %d threads: %.1f us in batches (%lld matrices), %.1f us one matrix "
      "at a time (%lld matrices)\n",
      k, k == 1 ? "" : "s", plexus::num_threads(), 1e6 * batch_s / static_cast<double>(m.rows()),
      static_cast<long long>(m.rows()), 1e6 * one_s / static_cast<double>(one), static_cast<long long>(one));
  return 0;
}

}  // namespace mi
