// The matrix-inverse sample source (both distributions of the well-known
// Q&A experiment) and the metrics used to judge a predicted inverse.
//
// A 3x3 matrix is flattened row-major: feature 3 i + j is A(i, j); the
// inverse likewise.
#pragma once

#include <plexus/plexus.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace mi {

using plexus::Index;
using plexus::Rng;
using plexus::shape_error;
using plexus::value_error;
namespace detail = plexus::detail;

// The signs that make the first row and the first column of a 3x3 matrix
// (row-major) non-negative: C = diag(s) A diag(t) with t_j = sign(a_0j),
// s_0 = 1 and s_i = sign(t_0 a_i0) (sign(0) = +1). Signed row and column
// flips are exact symmetries of the answer's distribution, so the network
// need only learn the canonical matrices: inv(A) = diag(t) inv(C) diag(s).
// Multiplying by +-1 is exact in every type.
struct SignCanon {
  std::array<double, 3> s{1, 1, 1}, t{1, 1, 1};

  template <typename In>
  static SignCanon of(const In* a) {
    SignCanon c;
    for (int j = 0; j < 3; ++j) c.t[j] = a[j] < In(0) ? -1.0 : 1.0;
    for (int i = 1; i < 3; ++i) c.s[i] = c.t[0] * static_cast<double>(a[3 * i]) < 0.0 ? -1.0 : 1.0;
    return c;
  }
  // a becomes C = diag(s) a diag(t), in place.
  template <typename T>
  void apply(T* a) const {
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        if (s[i] * t[j] < 0) a[3 * i + j] = -a[3 * i + j];
  }
  // y ~ inv(C) becomes the matching estimate of inv(A) = diag(t) y diag(s), in place.
  template <typename T>
  void restore(T* y) const {
    for (int k = 0; k < 3; ++k)
      for (int l = 0; l < 3; ++l)
        if (t[k] * s[l] < 0) y[3 * k + l] = -y[3 * k + l];
  }
};

enum class InverseDistribution : int {
  // The question: entries uniform in (0, 100), row 0 scaled by 1/det so det = 1.
  question = 0,
  // The answer: entries uniform in [-2, 2], kept when |det| > 0.1.
  answer = 1,
};

struct MatrixInverseOptions {
  InverseDistribution distribution = InverseDistribution::answer;
  // Feed A / ||A||_F instead of A (the prediction is then divided by ||A||_F).
  bool normalize_input = false;
  // target = target_scale * inverse of the (possibly normalised) input;
  // the answer used inverse / 5.
  double target_scale = 1.0;
  // Draw each matrix's sign-canonical form (SignCanon) instead: the inputs a
  // network of Convention::canonical_signs sees.
  bool canonical_signs = false;
};

template <typename T>
class MatrixInverseSource : public plexus::SampleSource<T> {
 public:
  MatrixInverseSource(std::uint64_t seed, MatrixInverseOptions opt = {}) : plexus::SampleSource<T>(seed), opt_(opt) {
    if (!std::isfinite(opt.target_scale) || opt.target_scale == 0.0)
      throw value_error(
          detail::concat("MatrixInverseSource: target_scale must be finite and non-zero, got ", opt.target_scale));
  }
  std::string name() const override { return "MatrixInverseSource"; }
  Index input_width() const override { return 9; }
  Index target_width() const override { return 9; }
  const MatrixInverseOptions& options() const { return opt_; }

  // The raw matrix of sample `index` (before normalisation), row-major.
  Eigen::Matrix3d matrix(std::uint64_t index) const {
    Rng rng = Rng::stream(this->seed(), index);
    return draw(rng);
  }

 protected:
  void generate(std::uint64_t /*index*/, Rng& rng, T* input, T* target) const override {
    Eigen::Matrix3d a = draw(rng);
    if (opt_.normalize_input) a /= a.norm();
    const Eigen::Matrix3d inv = a.inverse();
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        input[3 * i + j] = static_cast<T>(a(i, j));
        target[3 * i + j] = static_cast<T>(opt_.target_scale * inv(i, j));
      }
    if (opt_.canonical_signs) {  // C = diag(s) A diag(t), and inv(C) = diag(t) inv(A) diag(s): restore's flips
      const SignCanon sc = SignCanon::of(input);
      sc.apply(input);
      sc.restore(target);
    }
  }

 private:
  Eigen::Matrix3d draw(Rng& rng) const {
    Eigen::Matrix3d a;
    if (opt_.distribution == InverseDistribution::question) {
      for (;;) {
        for (int i = 0; i < 9; ++i) {
          double v;
          do v = rng.uniform(0.0, 100.0);
          while (v <= 0.0);  // the open interval (0, 100)
          a(i / 3, i % 3) = v;
        }
        const double det = a.determinant();
        if (std::abs(det) < 1e-9) continue;  // practically never; keeps 1/det finite
        a.row(0) /= det;
        return a;
      }
    }
    for (;;) {
      for (int i = 0; i < 9; ++i) a(i / 3, i % 3) = rng.uniform(-2.0, 2.0);
      if (std::abs(a.determinant()) > 0.1) return a;
    }
  }

  MatrixInverseOptions opt_;
};

// How good predicted inverses are. For each matrix A and prediction X:
// r = ||A X - I||_F (predicting zero gives sqrt(3) ~ 1.73).
struct InverseMetrics {
  Index count = 0;
  double median_r = 0.0;
  double share_below_002 = 0.0;  // share of matrices with r < 0.02
  double share_below_005 = 0.0;  // share of matrices with r < 0.05
  double share_below_01 = 0.0;   // share with r < 0.1
  double rmse_div5 = 0.0;        // RMSE of X / 5 against inverse(A) / 5, over all entries
  std::vector<double> r;         // per matrix
};

// a and x: n x 9, row-major 3x3 matrices and their predicted inverses.
inline InverseMetrics inverse_metrics(const Eigen::Ref<const Eigen::MatrixXd>& a,
                                      const Eigen::Ref<const Eigen::MatrixXd>& x) {
  if (a.cols() != 9 || x.cols() != 9 || a.rows() != x.rows())
    throw shape_error(detail::concat("inverse_metrics: need n x 9 matrices and predictions, got ",
                                     plexus::shape_str(a.rows(), a.cols()), " and ",
                                     plexus::shape_str(x.rows(), x.cols())));
  InverseMetrics m;
  m.count = a.rows();
  if (m.count == 0) return m;
  m.r.resize(static_cast<std::size_t>(m.count));
  double se = 0.0;
  Index below002 = 0, below005 = 0, below01 = 0;
  for (Index s = 0; s < m.count; ++s) {
    Eigen::Matrix3d am, xm;
    for (int i = 0; i < 9; ++i) {
      am(i / 3, i % 3) = a(s, i);
      xm(i / 3, i % 3) = x(s, i);
    }
    const double r = (am * xm - Eigen::Matrix3d::Identity()).norm();
    m.r[static_cast<std::size_t>(s)] = r;
    below002 += r < 0.02;
    below005 += r < 0.05;
    below01 += r < 0.1;
    se += ((xm - am.inverse()) / 5.0).squaredNorm();
  }
  std::vector<double> sorted = m.r;
  const std::size_t mid = sorted.size() / 2;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(mid), sorted.end());
  double med = sorted[mid];
  if (sorted.size() % 2 == 0) {
    const double lower = *std::max_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(mid));
    med = 0.5 * (med + lower);
  }
  m.median_r = med;
  m.share_below_002 = static_cast<double>(below002) / static_cast<double>(m.count);
  m.share_below_005 = static_cast<double>(below005) / static_cast<double>(m.count);
  m.share_below_01 = static_cast<double>(below01) / static_cast<double>(m.count);
  m.rmse_div5 = std::sqrt(se / (9.0 * static_cast<double>(m.count)));
  return m;
}

}  // namespace mi
