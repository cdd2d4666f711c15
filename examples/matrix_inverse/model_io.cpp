// The example's model files: reading them back in either precision, the
// matrices of a .npy file, the held-out matrices. One translation unit, so
// that the commands using them compile the networks' loading once.
#include "model_io.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace mi {

ModelMeta from_metadata(const std::map<std::string, std::string>& md, const std::string& path) {
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
  if (norm != "none" && norm != "frobenius")
    throw plexus::io_error("'" + path + "': unknown input_norm '" + norm + "'");
  if (dist != "answer" && dist != "question")
    throw plexus::io_error("'" + path + "': unknown distribution '" + dist + "'");
  m.conv.normalize = norm == "frobenius";
  if (auto it = md.find("input_canon"); it != md.end()) {  // models saved before it: none
    if (it->second != "none" && it->second != "signs")
      throw plexus::io_error("'" + path + "': unknown input_canon '" + it->second + "'");
    m.conv.canonical_signs = it->second == "signs";
  }
  m.distribution = dist == "question" ? mi::InverseDistribution::question : mi::InverseDistribution::answer;
  const std::string s = get("output_scale");
  char* end = nullptr;
  m.conv.output_scale = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(m.conv.output_scale) || m.conv.output_scale == 0.0)
    throw plexus::io_error("'" + path + "': bad output_scale '" + s + "'");
  m.extra = md;
  return m;
}

Eigen::MatrixXd LoadedModel::predict(const Eigen::MatrixXd& a, int k) {
  if (scalar == plexus::ScalarType::float32)
    return predict_views<float>([&](const plexus::Matrix<float>& x, plexus::Matrix<float>& y) { f32.predict(x, y); },
                                meta.conv, a, views.codes, k);
  return predict_views<double>([&](const plexus::Matrix<double>& x, plexus::Matrix<double>& y) { f64.predict(x, y); },
                               meta.conv, a, views.codes, k);
}

plexus::Index LoadedModel::parameter_count() const {
  return scalar == plexus::ScalarType::float32 ? f32.parameter_count() : f64.parameter_count();
}

LoadedModel load_inverse_model(const std::string& path) {
  const plexus::ModelInfo info = plexus::peek_model(path);
  LoadedModel m;
  m.scalar = info.scalar;
  std::map<std::string, std::string> md;
  if (m.scalar == plexus::ScalarType::float32) m.f32 = plexus::load_model<float>(path, &md);
  else m.f64 = plexus::load_model<double>(path, &md);
  m.meta = from_metadata(md, path);
  m.views = ViewSet::from_metadata(md, path);
  const plexus::Index in = m.scalar == plexus::ScalarType::float32 ? m.f32.input_width() : m.f64.input_width();
  const plexus::Index out = m.scalar == plexus::ScalarType::float32 ? m.f32.output_width() : m.f64.output_width();
  if (in != 9 || out != 9)
    throw plexus::io_error(plexus::detail::concat("'", path, "': the network maps ", in, " to ", out,
                                                  " columns; matrix_inverse needs 9 to 9"));
  return m;
}

Eigen::MatrixXd read_matrices(const std::string& path, std::vector<std::int64_t>& shape) {
  const plexus::NpyArray<double> a = plexus::read_npy<double>(path);
  shape = a.shape;
  const bool ok = (a.shape.size() == 3 && a.shape[1] == 3 && a.shape[2] == 3) ||
                  (a.shape.size() == 2 && a.shape[1] == 9);
  if (!ok)
    throw plexus::shape_error("'" + path + "': matrices must have shape (n, 3, 3) or (n, 9), got " +
                              plexus::detail::shape_text(a.shape));
  if (a.shape[0] == 0)
    throw plexus::value_error("'" + path + "': holds no matrices (shape " + plexus::detail::shape_text(a.shape) + ")");
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

void print_inverse_metrics(const char* label, const mi::InverseMetrics& m) {
  std::printf(
      "%s: %lld matrices, median r = %.4f, share r < 0.02 = %.1f%%, share r < 0.05 = %.1f%%, share r < 0.1 = %.1f%%, "
      "RMSE on inverse/5 = %.4f\n",
      label, static_cast<long long>(m.count), m.median_r, 100 * m.share_below_002, 100 * m.share_below_005,
      100 * m.share_below_01, m.rmse_div5);
}

Eigen::MatrixXd held_out_matrices(std::uint64_t seed, plexus::Index n, mi::InverseDistribution dist) {
  mi::MatrixInverseSource<double> src(plexus::mix64(seed, 0x5EED0E7A1ULL), {dist, false, 1.0});
  Eigen::MatrixXd a(n, 9), inv(n, 9);
  src.fill(0, a, inv);
  return a;
}

}  // namespace mi
