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
  if (dist != "answer" && dist != "question" && dist != "charton" && dist != "custom")
    throw plexus::io_error("'" + path + "': unknown distribution '" + dist + "'");
  if (auto it = md.find("size"); it != md.end()) {  // models saved before it: 3
    char* end = nullptr;
    const long n = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end || n < kMinSize || n > kMaxSize)
      throw plexus::io_error(
          plexus::detail::concat("'", path, "': bad size '", it->second, "' (", kMinSize, "..", kMaxSize, ")"));
    m.size = static_cast<int>(n);
  }
  m.conv.normalize = norm == "frobenius";
  if (auto it = md.find("input_canon"); it != md.end()) {  // models saved before it: none
    if (it->second != "none" && it->second != "signs")
      throw plexus::io_error("'" + path + "': unknown input_canon '" + it->second + "'");
    m.conv.canonical_signs = it->second == "signs";
  }
  if (dist == "custom" && !md.count("dist.lo"))
    throw plexus::io_error("'" + path + "': a custom distribution without its dist.* settings");
  const MatrixDistribution named = dist == "question"  ? InverseDistribution::question
                                   : dist == "charton" ? InverseDistribution::charton
                                                       : InverseDistribution::answer;
  m.distribution = distribution_from_metadata(md, "", path, named);
  const std::string s = get("output_scale");
  char* end = nullptr;
  m.conv.output_scale = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(m.conv.output_scale) || m.conv.output_scale == 0.0)
    throw plexus::io_error("'" + path + "': bad output_scale '" + s + "'");
  m.extra = md;
  return m;
}

void distribution_to_metadata(const MatrixDistribution& d, const std::string& prefix,
                              std::map<std::string, std::string>& md) {
  md[prefix + "dist.lo"] = format_double(d.lo);
  md[prefix + "dist.hi"] = format_double(d.hi);
  md[prefix + "dist.det"] = d.has_det ? format_double(d.det) : "none";
  md[prefix + "dist.min_det"] = format_double(d.min_det);
}

MatrixDistribution distribution_from_metadata(const std::map<std::string, std::string>& md, const std::string& prefix,
                                              const std::string& path, const MatrixDistribution& fallback) {
  if (!md.count(prefix + "dist.lo")) return fallback;
  auto num = [&](const std::string& k) {
    auto it = md.find(prefix + k);
    if (it == md.end()) throw plexus::io_error("'" + path + "': the distribution has no " + prefix + k);
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end || !std::isfinite(v))
      throw plexus::io_error("'" + path + "': bad " + prefix + k + " '" + it->second + "'");
    return v;
  };
  MatrixDistribution d;
  d.lo = num("dist.lo"), d.hi = num("dist.hi"), d.min_det = num("dist.min_det");
  auto det = md.find(prefix + "dist.det");
  d.has_det = det != md.end() && det->second != "none";
  if (d.has_det) d.det = num("dist.det");
  try {
    d.check();
  } catch (const plexus::value_error& e) {
    throw plexus::io_error("'" + path + "': " + e.what());
  }
  return d;
}

namespace {

// The network, or its int8 snapshot (made on first use), behind the views.
template <typename T>
Eigen::MatrixXd predict_through(const plexus::Network<T>& net, std::shared_ptr<const plexus::Int8Predictor<T>>& q,
                                bool int8, const LoadedModel& m, const Eigen::MatrixXd& a, int k,
                                const StopCheck& stop) {
  if (int8 && !q) q = std::make_shared<const plexus::Int8Predictor<T>>(net);
  return predict_views<T>(
      [&](const plexus::Matrix<T>& x, plexus::Matrix<T>& y) {
        if (int8) q->predict(x, y);
        else net.predict(x, y);
      },
      m.meta.conv, a, m.views.codes, k, stop);
}

}  // namespace

Eigen::MatrixXd LoadedModel::predict(const Eigen::MatrixXd& a, int k, const StopCheck& stop) {
  if (a.cols() != static_cast<plexus::Index>(meta.size) * meta.size)
    throw plexus::shape_error(plexus::detail::concat("predict: the model inverts ", meta.size, "x", meta.size,
                                                     " matrices (", meta.size * meta.size, " columns), got ",
                                                     plexus::shape_str(a.rows(), a.cols())));
  if (scalar == plexus::ScalarType::float32) return predict_through(f32, q32, int8, *this, a, k, stop);
  return predict_through(f64, q64, int8, *this, a, k, stop);
}

bool int8_weights_flag(const Args& a) {
  const std::string w = a.str("weights", "float");
  if (w != "float" && w != "int8")
    throw usage_error(a.command() + ": --weights must be float or int8, got '" + w + "'");
  return w == "int8";
}

void weights_flag(const Args& a, LoadedModel& m) {
  m.int8 = int8_weights_flag(a);
  if (m.int8) {
    std::string engine;
    if (m.scalar == plexus::ScalarType::float32)
      m.q32 = std::make_shared<const plexus::Int8Predictor<float>>(m.f32), engine = m.q32->engine();
    else m.q64 = std::make_shared<const plexus::Int8Predictor<double>>(m.f64), engine = m.q64->engine();
    std::printf("int8 weights (Int8Predictor, engine %s): Dense weights per output channel, inputs per row\n",
                engine.c_str());
  }
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
  m.views = ViewSet::from_metadata(md, path, m.meta.size);
  const plexus::Index in = m.scalar == plexus::ScalarType::float32 ? m.f32.input_width() : m.f64.input_width();
  const plexus::Index out = m.scalar == plexus::ScalarType::float32 ? m.f32.output_width() : m.f64.output_width();
  const plexus::Index nn = static_cast<plexus::Index>(m.meta.size) * m.meta.size;
  if (in != nn || out != nn)
    throw plexus::io_error(plexus::detail::concat("'", path, "': the network maps ", in, " to ", out, " columns; a ",
                                                  m.meta.size, "x", m.meta.size, " model needs ", nn, " to ", nn));
  return m;
}

void check_size_flag(const Args& a, const LoadedModel& m) {
  if (!a.has("size")) return;
  const auto n = a.integer("size", 3, kMinSize, kMaxSize);
  if (n != m.meta.size)
    throw usage_error(plexus::detail::concat(a.command(), ": --size ", n, " but the model '", a.str("model"),
                                             "' inverts ", m.meta.size, "x", m.meta.size, " matrices"));
}

Eigen::MatrixXd read_matrices(const std::string& path, int size, std::vector<std::int64_t>& shape) {
  const plexus::NpyArray<double> a = plexus::read_npy<double>(path);
  shape = a.shape;
  const std::int64_t n = size, nn = n * n;
  const bool ok = (a.shape.size() == 3 && a.shape[1] == n && a.shape[2] == n) ||
                  (a.shape.size() == 2 && a.shape[1] == nn);
  if (!ok) {
    std::string seen;  // the size the file's matrices have, when they are square
    if (a.shape.size() == 3 && a.shape[1] == a.shape[2]) seen = std::to_string(a.shape[1]);
    if (a.shape.size() == 2) {
      const auto r = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(a.shape[1]))));
      if (r * r == a.shape[1]) seen = std::to_string(r);
    }
    throw plexus::shape_error(plexus::detail::concat(
        "'", path, "': the model inverts ", n, "x", n, " matrices: shape (n, ", n, ", ", n, ") or (n, ", nn, "), got ",
        plexus::detail::shape_text(a.shape), seen.empty() ? std::string() : " (" + seen + "x" + seen + " matrices)"));
  }
  if (a.shape[0] == 0)
    throw plexus::value_error("'" + path + "': holds no matrices (shape " + plexus::detail::shape_text(a.shape) + ")");
  Eigen::MatrixXd m = plexus::npy_to_matrix(a);
  for (plexus::Index s = 0; s < m.rows(); ++s) {
    for (plexus::Index i = 0; i < nn; ++i)
      if (!std::isfinite(m(s, i)))
        throw plexus::value_error(plexus::detail::concat("'", path, "': matrix ", s, " has a non-finite entry (",
                                                         m(s, i), ") at (", i / n, ", ", i % n, ")"));
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
  std::printf(
      "%s, Charton's e = sum |AX - I| / %lld: share e < 0.05 = %.1f%%, e < 0.02 = %.1f%%, e < 0.01 = %.1f%%, "
      "e < 0.005 = %.1f%%\n",
      label, static_cast<long long>(m.size), 100 * m.charton[0], 100 * m.charton[1], 100 * m.charton[2],
      100 * m.charton[3]);
}

Eigen::MatrixXd held_out_matrices(std::uint64_t seed, plexus::Index n, const MatrixDistribution& dist, int size) {
  mi::MatrixInverseSource<double> src(plexus::mix64(seed, 0x5EED0E7A1ULL), {dist, false, 1.0, false, size});
  Eigen::MatrixXd a(n, size * size), inv(n, size * size);
  src.fill(0, a, inv);
  return a;
}

}  // namespace mi
