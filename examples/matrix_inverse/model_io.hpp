// The example's model files, the matrices the commands read, and the
// held-out matrices they are judged on. A model file is a Plexus model file
// whose metadata also records how matrices become inputs and outputs become
// inverses.
#pragma once

#include "args.hpp"
#include "recipes.hpp"
#include "views.hpp"

#include <plexus/plexus.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mi {

struct ModelMeta {
  std::string recipe;  // question, answer, train
  Convention conv;
  int size = 3;  // N: the model inverts N x N matrices
  // What it was trained on: evaluate's default held-out matrices.
  MatrixDistribution distribution = InverseDistribution::answer;
  std::map<std::string, std::string> extra;  // seed, samples, ... (informational)
};

inline std::string format_double(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// The name of a preset distribution ("question", "answer", "charton"), else "custom".
inline std::string distribution_name(const MatrixDistribution& d) {
  for (auto [p, name] :
       {std::pair{InverseDistribution::question, "question"}, std::pair{InverseDistribution::answer, "answer"},
        std::pair{InverseDistribution::charton, "charton"}})
    if (d == MatrixDistribution(p)) return name;
  return "custom";
}

// A distribution as metadata under `prefix` (prefix + "dist.lo", ...), and back.
void distribution_to_metadata(const MatrixDistribution& d, const std::string& prefix,
                              std::map<std::string, std::string>& md);
// `fallback` when the metadata has none of it (files from before the keys).
MatrixDistribution distribution_from_metadata(const std::map<std::string, std::string>& md, const std::string& prefix,
                                              const std::string& path, const MatrixDistribution& fallback);

inline std::map<std::string, std::string> to_metadata(const ModelMeta& m) {
  std::map<std::string, std::string> md = m.extra;
  md["example"] = "matrix_inverse";
  md["recipe"] = m.recipe;
  md["size"] = std::to_string(m.size);
  md["input_norm"] = m.conv.normalize ? "frobenius" : "none";
  md["output_scale"] = format_double(m.conv.output_scale);
  md["input_canon"] = m.conv.canonical_signs ? "signs" : "none";
  md["distribution"] = distribution_name(m.distribution);
  distribution_to_metadata(m.distribution, "", md);
  return md;
}

// The ModelMeta in a model's metadata (to_metadata's); io_error naming
// `path` when it is not a matrix_inverse model.
ModelMeta from_metadata(const std::map<std::string, std::string>& md, const std::string& path);

template <typename T>
void save_inverse_model(const plexus::Network<T>& net, const std::string& path, const ModelMeta& meta) {
  plexus::save_model(net, path, to_metadata(meta));
}

// A loaded model in either precision.
struct LoadedModel {
  ModelMeta meta;
  plexus::ScalarType scalar = plexus::ScalarType::float32;
  plexus::Network<float> f32;
  plexus::Network<double> f64;
  ViewSet views;  // the model's table of exact views (or the default table)
  // --weights int8: predict through plexus::Int8Predictor (Dense weights
  // quantised per output channel, each step's input per row) instead of the
  // network in its own precision.
  bool int8 = false;
  std::shared_ptr<const plexus::Int8Predictor<float>> q32;
  std::shared_ptr<const plexus::Int8Predictor<double>> q64;

  // Predicted inverses (n x N^2) of matrices a (n x N^2), in the inverse's
  // own scale: the network once (k = 1) or averaged over the first k views
  // of the model's table (predict_views); `stop` may end a long one.
  Eigen::MatrixXd predict(const Eigen::MatrixXd& a, int k = 1, const StopCheck& stop = {});
  plexus::Index parameter_count() const;
};

// A matrix_inverse model file (or checkpoint), checked to map N^2 to N^2
// columns for its recorded size N.
LoadedModel load_inverse_model(const std::string& path);

// --size N of predict, evaluate and export: when given it must be the
// model's (usage_error naming both).
void check_size_flag(const Args& a, const LoadedModel& m);

// --weights float|int8 of predict and evaluate: whether it asks for int8
// (usage_error for anything else), so that a bad value is refused before
// any file is read.
bool int8_weights_flag(const Args& a);
// Sets m.int8 from --weights and makes the int8 snapshot (saying so on
// stdout with the engine that runs).
void weights_flag(const Args& a, LoadedModel& m);

// The distribution's flags of the training commands and evaluate, each
// applied to d when given; usage_error for a value no distribution has (the
// whole is checked by MatrixDistribution::check).
inline void read_range_flag(const Args& a, MatrixDistribution& d) {
  if (!a.has("range")) return;
  const std::vector<double> v = a.reals("range", -1e6, 1e6);
  if (!(v[0] < v[1])) throw usage_error(a.command() + ": --range LO HI needs LO < HI, got " + a.str("range"));
  d.lo = v[0], d.hi = v[1];
}
inline void read_det_flag(const Args& a, MatrixDistribution& d) {
  if (!a.has("det")) return;
  d.has_det = a.str("det") != "none";
  if (!d.has_det) return;
  d.det = a.real("det", 1.0, -1e6, 1e6);
  if (d.det == 0.0) throw usage_error(a.command() + ": --det must not be 0 (no inverse)");
}
inline void read_min_det_flag(const Args& a, MatrixDistribution& d) {
  d.min_det = a.real("min-det", d.min_det, 0.0, 1e6);
}

// --views K of predict and evaluate: 1..kMaxViews (usage_error otherwise),
// at most the model's table; without the flag the model's default.
inline int views_flag(const Args& a, const ViewSet& views) {
  const int n = static_cast<int>(views.codes.size());
  if (!a.has("views")) return std::min(views.default_views, n);
  const int k = static_cast<int>(a.integer("views", 1, 1, kMaxViews));
  if (k > n)
    throw usage_error(a.command() + ": --views must be at most " + std::to_string(n) + " (the model's table holds " +
                      std::to_string(n) + " views), got " + std::to_string(k));
  return k;
}

// N x N matrices from a .npy file: float32 or float64, shape (n, N, N) or
// (n, N^2); returns them as n x N^2 (row-major matrices) and the shape to
// answer in. shape_error naming both sizes for matrices of another size;
// value_error for a non-finite entry or a zero matrix.
Eigen::MatrixXd read_matrices(const std::string& path, int size, std::vector<std::int64_t>& shape);

// Two lines: count, median r, shares under 0.02, 0.05 and 0.1, RMSE on
// inverse/5; then Charton's shares of sum |A X - I| / N under 0.05, 0.02,
// 0.01 and 0.005.
void print_inverse_metrics(const char* label, const mi::InverseMetrics& m);

// Held-out N x N matrices: a stream no training run of `seed` draws from.
Eigen::MatrixXd held_out_matrices(std::uint64_t seed, plexus::Index n, const MatrixDistribution& dist, int size = 3);

}  // namespace mi
