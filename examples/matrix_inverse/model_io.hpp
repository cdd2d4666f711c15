// The example's model files and the commands that use them: predict,
// evaluate and export. A model file is a Plexus model file whose metadata
// also records how matrices become inputs and outputs become inverses.
#pragma once

#include "args.hpp"
#include "recipes.hpp"

#include <plexus/plexus.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace mi {

struct ModelMeta {
  std::string recipe;  // question, answer, train
  Convention conv;
  mi::InverseDistribution distribution = mi::InverseDistribution::answer;
  std::map<std::string, std::string> extra;  // seed, samples, ... (informational)
};

inline void write_text(const std::string& path, const std::string& text) {
  plexus::write_file_atomic(path, text.data(), text.size());
}

inline std::string format_double(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

inline std::map<std::string, std::string> to_metadata(const ModelMeta& m) {
  std::map<std::string, std::string> md = m.extra;
  md["example"] = "matrix_inverse";
  md["recipe"] = m.recipe;
  md["input_norm"] = m.conv.normalize ? "frobenius" : "none";
  md["output_scale"] = format_double(m.conv.output_scale);
  md["distribution"] = m.distribution == mi::InverseDistribution::question ? "question" : "answer";
  return md;
}

inline ModelMeta from_metadata(const std::map<std::string, std::string>& md, const std::string& path) {
  auto get = [&](const std::string& k) {
    auto it = md.find(k);
    if (it == md.end())
      throw plexus::io_error("'" + path + "': not a matrix_inverse model (its metadata has no '" + k + "')");
    return it->second;
  };
  if (get("example") != "matrix_inverse")
    throw plexus::io_error("'" + path + "': a model of '" + get("example") + "', not of matrix_inverse");
  ModelMeta m;
  m.recipe = get("recipe");
  const std::string norm = get("input_norm"), dist = get("distribution");
  if (norm != "none" && norm != "frobenius") throw plexus::io_error("'" + path + "': unknown input_norm '" + norm + "'");
  if (dist != "answer" && dist != "question") throw plexus::io_error("'" + path + "': unknown distribution '" + dist + "'");
  m.conv.normalize = norm == "frobenius";
  m.distribution = dist == "question" ? mi::InverseDistribution::question : mi::InverseDistribution::answer;
  const std::string s = get("output_scale");
  char* end = nullptr;
  m.conv.output_scale = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(m.conv.output_scale) || m.conv.output_scale == 0.0)
    throw plexus::io_error("'" + path + "': bad output_scale '" + s + "'");
  m.extra = md;
  return m;
}

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

  Eigen::MatrixXd predict(const Eigen::MatrixXd& a) {
    return scalar == plexus::ScalarType::float32 ? predict_inverse(f32, meta.conv, a) : predict_inverse(f64, meta.conv, a);
  }
  plexus::Index parameter_count() const {
    return scalar == plexus::ScalarType::float32 ? f32.parameter_count() : f64.parameter_count();
  }
};

inline LoadedModel load_inverse_model(const std::string& path) {
  const plexus::ModelInfo info = plexus::peek_model(path);
  LoadedModel m;
  m.scalar = info.scalar;
  std::map<std::string, std::string> md;
  if (m.scalar == plexus::ScalarType::float32) m.f32 = plexus::load_model<float>(path, &md);
  else m.f64 = plexus::load_model<double>(path, &md);
  m.meta = from_metadata(md, path);
  const plexus::Index in = m.scalar == plexus::ScalarType::float32 ? m.f32.input_width() : m.f64.input_width();
  const plexus::Index out = m.scalar == plexus::ScalarType::float32 ? m.f32.output_width() : m.f64.output_width();
  if (in != 9 || out != 9)
    throw plexus::io_error(plexus::detail::concat("'", path, "': the network maps ", in, " to ", out,
                                                  " columns; matrix_inverse needs 9 to 9"));
  return m;
}

// Matrices from a .npy file: float32 or float64, shape (n, 3, 3) or (n, 9);
// returns them as n x 9 (row-major matrices) and the shape to answer in.
inline Eigen::MatrixXd read_matrices(const std::string& path, std::vector<std::int64_t>& shape) {
  const plexus::NpyArray<double> a = plexus::read_npy<double>(path);
  shape = a.shape;
  const bool ok = (a.shape.size() == 3 && a.shape[1] == 3 && a.shape[2] == 3) || (a.shape.size() == 2 && a.shape[1] == 9);
  if (!ok)
    throw plexus::shape_error("'" + path + "': matrices must have shape (n, 3, 3) or (n, 9), got " +
                              plexus::detail::shape_text(a.shape));
  if (a.shape[0] == 0) throw plexus::value_error("'" + path + "': holds no matrices (shape " + plexus::detail::shape_text(a.shape) + ")");
  Eigen::MatrixXd m = plexus::npy_to_matrix(a);
  for (plexus::Index s = 0; s < m.rows(); ++s) {
    for (int i = 0; i < 9; ++i)
      if (!std::isfinite(m(s, i)))
        throw plexus::value_error(plexus::detail::concat("'", path, "': matrix ", s, " has a non-finite entry (",
                                                         m(s, i), ") at (", i / 3, ", ", i % 3, ")"));
    if (m.row(s).squaredNorm() == 0.0)
      throw plexus::value_error(plexus::detail::concat("'", path, "': matrix ", s, " is zero and has no inverse"));
  }
  return m;
}

inline int cmd_predict(const std::vector<std::string>& argv) {
  Args a("predict", argv, {{"model", true}, {"input", true}, {"output", true}, {"threads", true}, {"help", false}});
  if (a.has("help")) {
    std::printf("usage: matrix_inverse predict --model FILE --input IN.npy --output OUT.npy [--threads T]\n\n"
                "Reads matrices (float32 or float64, shape (n, 3, 3) or (n, 9)) and writes their predicted inverses, "
                "in the inverse's own scale, as float64 of the same shape.\n");
    return 0;
  }
  for (const char* k : {"model", "input", "output"})
    if (!a.has(k)) throw usage_error(std::string("predict: --") + k + " is required (see --help)");
  if (a.has("threads")) plexus::set_num_threads(static_cast<int>(a.integer("threads", 0, 1, 1024)));
  LoadedModel model = load_inverse_model(a.str("model"));
  std::vector<std::int64_t> shape;
  const Eigen::MatrixXd m = read_matrices(a.str("input"), shape);
  const Eigen::MatrixXd x = model.predict(m);
  plexus::write_npy(a.str("output"), plexus::matrix_to_npy(x, shape), plexus::NpyType::float64);
  std::printf("wrote %lld predicted inverses to %s\n", static_cast<long long>(x.rows()), a.str("output").c_str());
  return 0;
}

inline void print_inverse_metrics(const char* label, const mi::InverseMetrics& m) {
  std::printf("%s: %lld matrices, median r = %.4f, share r < 0.05 = %.1f%%, share r < 0.1 = %.1f%%, "
              "RMSE on inverse/5 = %.4f\n",
              label, static_cast<long long>(m.count), m.median_r, 100 * m.share_below_005, 100 * m.share_below_01,
              m.rmse_div5);
}

// Held-out matrices: a stream no training run of `seed` draws from.
inline Eigen::MatrixXd held_out_matrices(std::uint64_t seed, plexus::Index n, mi::InverseDistribution dist) {
  mi::MatrixInverseSource<double> src(plexus::mix64(seed, 0x5EED0E7A1ULL), {dist, false, 1.0});
  Eigen::MatrixXd a(n, 9), inv(n, 9);
  src.fill(0, a, inv);
  return a;
}

inline int cmd_evaluate(const std::vector<std::string>& argv) {
  Args a("evaluate", argv,
         {{"model", true}, {"input", true}, {"samples", true}, {"seed", true}, {"threads", true}, {"help", false}});
  if (a.has("help")) {
    std::printf("usage: matrix_inverse evaluate --model FILE [--input IN.npy] [--samples N] [--seed K] [--threads T]\n\n"
                "Prints the median residual r = ||A X - I||_F, the share of matrices with r < 0.05 and the RMSE "
                "on inverse/5, on the matrices of IN.npy or on N (default 10,000) held-out matrices of the model's "
                "distribution (the held-out set of its training seed unless --seed is given).\n");
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

template <typename T>
std::vector<plexus::NpzMember> export_members(plexus::Network<T>& net, const ModelMeta& meta, plexus::NpyType type) {
  const std::vector<plexus::Dense<T>*> dense = plexus::dense_layers<T>(net.layers());
  std::vector<plexus::NpzMember> members;
  for (std::size_t i = 0; i < dense.size(); ++i) {
    const std::string name = "dense" + std::to_string(i);
    // Plexus stores W as in x out column-major; PyTorch's weight is (out, in).
    const plexus::Matrix<T> w = dense[i]->weight().transpose();
    members.push_back(plexus::npz_member(name + ".weight", w, type));
    const plexus::Matrix<T> b = dense[i]->bias();
    members.push_back(plexus::npz_member(name + ".bias", plexus::matrix_to_npy(b, {b.rows()}), type));
  }
  // How to use the weights: the architecture and the input/output convention.
  const auto get = [&](const char* k) {
    auto it = meta.extra.find(k);
    return it == meta.extra.end() ? -1.0 : std::stod(it->second);
  };
  Eigen::Matrix<double, 7, 1> cfg;
  cfg << (meta.recipe == "question" ? 0.0 : 1.0), get("width"), get("growth"), get("blocks"), get("layers"),
      meta.conv.normalize ? 1.0 : 0.0, meta.conv.output_scale;
  members.push_back(plexus::npz_member("config", plexus::matrix_to_npy(cfg, {7}), plexus::NpyType::float64));
  return members;
}

inline int cmd_export(const std::vector<std::string>& argv) {
  Args a("export", argv, {{"model", true}, {"npz", true}, {"dtype", true}, {"help", false}});
  if (a.has("help")) {
    std::printf("usage: matrix_inverse export --model FILE --npz OUT.npz [--dtype float64|float32]\n\n"
                "Writes every Dense layer, in forward order, as dense{i}.weight (PyTorch's (out, in) layout) and "
                "dense{i}.bias, plus 'config' = [kind (0 question, 1 concat-ResNet), width, growth, blocks, layers, "
                "normalize, output_scale]. examples/matrix_inverse/to_torch.py loads it into torch.nn.\n");
    return 0;
  }
  if (!a.has("model") || !a.has("npz")) throw usage_error("export: --model and --npz are required (see --help)");
  const std::string dtype = a.str("dtype", "float64");
  if (dtype != "float64" && dtype != "float32")
    throw usage_error("export: --dtype must be float64 or float32, got '" + dtype + "'");
  const auto type = dtype == "float64" ? plexus::NpyType::float64 : plexus::NpyType::float32;
  LoadedModel model = load_inverse_model(a.str("model"));
  const auto members = model.scalar == plexus::ScalarType::float32 ? export_members(model.f32, model.meta, type)
                                                                   : export_members(model.f64, model.meta, type);
  plexus::write_npz(a.str("npz"), members);
  std::printf("wrote %zu Dense layers to %s\n", (members.size() - 1) / 2, a.str("npz").c_str());
  return 0;
}

}  // namespace mi
