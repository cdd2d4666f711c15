// matrix_inverse predict: a model's predicted inverses of the matrices in a
// .npy file, written as .npy.
#include "args.hpp"
#include "commands.hpp"
#include "model_io.hpp"

#include <cstdio>

namespace mi {

int cmd_predict(const std::vector<std::string>& argv) {
  const std::vector<FlagSpec> flags = {
      {"model", "FILE", "the model (required)"},
      {"input", "IN.npy", "the matrices: float32 or float64, shape (n, N, N) or (n, N^2) (required)"},
      {"size", "N", "the model's matrix size, checked (default: the model's)"},
      {"output", "OUT.npy", "where the predicted inverses go: float64, the input's shape (required)"},
      {"views", "K",
       "average the network over the first K (1..256) exact symmetric views of each matrix from the model's table; 1: "
       "the network once (default: the model's views.default, else " +
           std::to_string(kDefaultViews) + " at 3x3, " + std::to_string(default_views_for(4)) + " from 4x4 on)"},
      {"weights", "float|int8",
       "float: the network in its own precision (default); int8: through plexus::Int8Predictor, Dense weights "
       "quantised to int8 per output channel and each layer's input per row, products summed in int32"},
      {"threads", "T", "threads (default: all cores); results do not depend on it"},
      {"help", "", "print this help"},
  };
  const Args a("predict", argv, flags);
  if (a.has("help")) {
    std::printf(
        "usage: matrix_inverse predict --model FILE --input IN.npy --output OUT.npy [--views K] [--threads T]\n\n%s\n\n"
        "flags:\n%s",
        wrap("Reads N x N matrices, N the model's size (float32 or float64, shape (n, N, N) or (n, N^2)) and writes "
             "their predicted "
             "inverses, in the inverse's own scale, as float64 of the same shape. Each prediction is the network's "
             "answer averaged over K fixed views P op(A) Q of the matrix (P, Q signed permutations, op the "
             "identity or the transpose), each mapped back exactly by inv(P A Q) = Q^T inv(A) P^T; the views "
             "come from the table in the model's metadata, so predictions are reproducible.",
             100)
            .c_str(),
        flags_help(flags).c_str());
    return 0;
  }
  for (const char* k : {"model", "input", "output"})
    if (!a.has(k)) throw usage_error(std::string("predict: --") + k + " is required (see --help)");
  if (a.has("views")) a.integer("views", 1, 1, kMaxViews);  // a bad K is refused before any file is read
  if (a.has("threads")) plexus::set_num_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
  int8_weights_flag(a);  // a bad value is refused before any file is read
  LoadedModel model = load_inverse_model(a.str("model"));
  check_size_flag(a, model);
  weights_flag(a, model);
  std::vector<std::int64_t> shape;
  const Eigen::MatrixXd m = read_matrices(a.str("input"), model.meta.size, shape);
  const int k = views_flag(a, model.views);
  const Eigen::MatrixXd x = model.predict(m, k);
  plexus::write_npy(a.str("output"), plexus::matrix_to_npy(x, shape), plexus::NpyType::float64);
  std::printf("wrote %lld predicted inverses to %s (%d view%s)\n", static_cast<long long>(x.rows()),
              a.str("output").c_str(), k, k == 1 ? "" : "s");
  return 0;
}

}  // namespace mi
