// The matrix-inverse sample source (the distributions of the well-known Q&A
// experiment and of the published N x N results) and the metrics used to
// judge a predicted inverse.
//
// An N x N matrix is flattened row-major: feature N i + j is A(i, j); the
// inverse likewise. N is 2..kMaxSize; 3 is the default.
#pragma once

#include <plexus/plexus.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace mi {

using plexus::Index;
using plexus::Rng;
using plexus::shape_error;
using plexus::value_error;
namespace detail = plexus::detail;

constexpr int kMinSize = 2, kMaxSize = 8;

inline void check_size(Index n, const char* who) {
  if (n < kMinSize || n > kMaxSize)
    throw value_error(detail::concat(who, ": matrix size must be in ", kMinSize, "..", kMaxSize, ", got ", n));
}

// A square matrix of at most kMaxSize rows: no heap allocation.
using SmallMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, kMaxSize, kMaxSize>;

// Row s of a (n x N^2, row-major matrices) as an N x N matrix.
template <typename Rows>
SmallMatrix matrix_of_row(const Rows& a, Index s, Index n) {
  SmallMatrix m(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) m(i, j) = static_cast<double>(a(s, i * n + j));
  return m;
}

// inv(m) and det(m): closed forms at 3 x 3 (the bits the 3 x 3 example had
// before it took other sizes), LU with partial pivoting otherwise.
inline double small_det(const SmallMatrix& m) {
  if (m.rows() == 3) return Eigen::Matrix3d(m).determinant();
  return m.partialPivLu().determinant();
}
inline SmallMatrix small_inverse(const SmallMatrix& m) {
  if (m.rows() == 3) return Eigen::Matrix3d(Eigen::Matrix3d(m).inverse());
  return m.partialPivLu().inverse();
}

// The signs that make the first row and the first column of an N x N matrix
// (row-major) non-negative: C = diag(s) A diag(t) with t_j = sign(a_0j),
// s_0 = 1 and s_i = sign(t_0 a_i0) (sign(0) = +1). Signed row and column
// flips are exact symmetries of every distribution here (entries symmetric
// about 0, a filter on |det|), so the network need only learn the canonical
// matrices: inv(A) = diag(t) inv(C) diag(s). Multiplying by +-1 is exact.
struct SignCanon {
  int n = 3;
  std::array<double, kMaxSize> s, t;
  SignCanon() { s.fill(1.0), t.fill(1.0); }

  template <typename In>
  static SignCanon of(const In* a, int n = 3) {
    SignCanon c;
    n = std::min(n, kMaxSize);
    c.n = n;
    for (int j = 0; j < n; ++j) c.t[j] = a[j] < In(0) ? -1.0 : 1.0;
    for (int i = 1; i < n; ++i) c.s[i] = c.t[0] * static_cast<double>(a[n * i]) < 0.0 ? -1.0 : 1.0;
    return c;
  }
  // a becomes C = diag(s) a diag(t), in place.
  template <typename T>
  void apply(T* a) const {
    const int n = std::min(this->n, kMaxSize);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (s[i] * t[j] < 0) a[n * i + j] = -a[n * i + j];
  }
  // y ~ inv(C) becomes the matching estimate of inv(A) = diag(t) y diag(s), in place.
  template <typename T>
  void restore(T* y) const {
    const int n = std::min(this->n, kMaxSize);
    for (int k = 0; k < n; ++k)
      for (int l = 0; l < n; ++l)
        if (t[k] * s[l] < 0) y[n * k + l] = -y[n * k + l];
  }
};

// The named distributions: the presets of MatrixDistribution.
enum class InverseDistribution : int {
  // The question: entries uniform in [0, 100), row 0 scaled so that det = 1.
  question = 0,
  // The answer: entries uniform in [-2, 2), kept when |det| > 0.1.
  answer = 1,
  // Charton's "Linear algebra with transformers": entries uniform in
  // [-10, 10), no filter.
  charton = 2,
};

// The matrices a run draws: entries uniform in [lo, hi); with a determinant
// D (has_det), row 0 rescaled by D / det(A), as the question's generator
// does; kept only when |det| > min_det (0: every matrix). A matrix whose
// determinant is below 1e-9 in magnitude is drawn again when it must be
// rescaled (1/det would not be finite).
struct MatrixDistribution {
  double lo = -2, hi = 2;
  bool has_det = false;
  double det = 1;
  double min_det = 0.1;

  MatrixDistribution() = default;
  MatrixDistribution(InverseDistribution d) {  // NOLINT: the presets convert implicitly
    if (d == InverseDistribution::question) lo = 0, hi = 100, has_det = true, det = 1, min_det = 0;
    else if (d == InverseDistribution::charton) lo = -10, hi = 10, min_det = 0;
  }
  MatrixDistribution(double lo_, double hi_, bool has_det_, double det_, double min_det_)
      : lo(lo_), hi(hi_), has_det(has_det_), det(det_), min_det(min_det_) {
    check();
  }
  void check() const {
    if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
      throw value_error(
          detail::concat("MatrixDistribution: the range must be finite with lo < hi, got [", lo, ", ", hi, ")"));
    if (has_det && !(std::isfinite(det) && det != 0.0))
      throw value_error(detail::concat("MatrixDistribution: the determinant must be finite and non-zero, got ", det));
    if (!(std::isfinite(min_det) && min_det >= 0.0))
      throw value_error(detail::concat("MatrixDistribution: min_det must be finite and >= 0, got ", min_det));
    if (has_det && min_det >= std::abs(det))
      throw value_error(detail::concat("MatrixDistribution: every matrix has determinant ", det,
                                       ", which the filter |det| > ", min_det, " refuses"));
  }
  bool operator==(const MatrixDistribution& o) const {
    return lo == o.lo && hi == o.hi && has_det == o.has_det && (!has_det || det == o.det) && min_det == o.min_det;
  }
  bool operator!=(const MatrixDistribution& o) const { return !(*this == o); }
  // e.g. "entries U[-2, 2), |det| > 0.1"
  std::string text() const {
    std::string s = detail::concat("entries U[", lo, ", ", hi, ")");
    if (has_det) s += detail::concat(", row 0 rescaled to det ", det);
    if (min_det > 0) s += detail::concat(", |det| > ", min_det);
    else if (!has_det) s += ", no filter";
    return s;
  }
};

// The default distribution of answer and train for N x N matrices: the
// answer's at 3 x 3, Charton's from 4 x 4 on (the published 5 x 5 task).
inline MatrixDistribution default_distribution(Index n) {
  return n == 3 || n == 2 ? MatrixDistribution(InverseDistribution::answer)
                          : MatrixDistribution(InverseDistribution::charton);
}

struct MatrixInverseOptions {
  MatrixDistribution distribution = InverseDistribution::answer;
  // Feed A / ||A||_F instead of A (the prediction is then divided by ||A||_F).
  bool normalize_input = false;
  // target = target_scale * inverse of the (possibly normalised) input;
  // the answer used inverse / 5.
  double target_scale = 1.0;
  // Draw each matrix's sign-canonical form (SignCanon) instead: the inputs a
  // network of Convention::canonical_signs sees.
  bool canonical_signs = false;
  // N: the matrices are N x N.
  int size = 3;
};

template <typename T>
class MatrixInverseSource : public plexus::SampleSource<T> {
 public:
  MatrixInverseSource(std::uint64_t seed, MatrixInverseOptions opt = {}) : plexus::SampleSource<T>(seed), opt_(opt) {
    if (!std::isfinite(opt.target_scale) || opt.target_scale == 0.0)
      throw value_error(
          detail::concat("MatrixInverseSource: target_scale must be finite and non-zero, got ", opt.target_scale));
    check_size(opt.size, "MatrixInverseSource");
    opt.distribution.check();
  }
  std::string name() const override { return "MatrixInverseSource"; }
  Index input_width() const override { return Index(opt_.size) * opt_.size; }
  Index target_width() const override { return Index(opt_.size) * opt_.size; }
  const MatrixInverseOptions& options() const { return opt_; }

  // The raw matrix of sample `index` (before normalisation).
  SmallMatrix matrix(std::uint64_t index) const {
    Rng rng = Rng::stream(this->seed(), index);
    return draw(rng);
  }

 protected:
  void generate(std::uint64_t /*index*/, Rng& rng, T* input, T* target) const override {
    const int n = opt_.size;
    SmallMatrix a = draw(rng);
    if (opt_.normalize_input) a /= a.norm();
    const SmallMatrix inv = small_inverse(a);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        input[n * i + j] = static_cast<T>(a(i, j));
        target[n * i + j] = static_cast<T>(opt_.target_scale * inv(i, j));
      }
    if (opt_.canonical_signs) {  // C = diag(s) A diag(t), and inv(C) = diag(t) inv(A) diag(s): restore's flips
      const SignCanon sc = SignCanon::of(input, n);
      sc.apply(input);
      sc.restore(target);
    }
  }

 private:
  SmallMatrix draw(Rng& rng) const {
    const int n = opt_.size;
    const MatrixDistribution& d = opt_.distribution;
    SmallMatrix a(n, n);
    for (;;) {
      for (int i = 0; i < n * n; ++i) a(i / n, i % n) = rng.uniform(d.lo, d.hi);
      const double det = small_det(a);
      if (d.has_det) {
        if (std::abs(det) < 1e-9) continue;  // practically never; keeps D/det finite
        if (d.det == 1.0) a.row(0) /= det;   // the question's own expression
        else a.row(0) *= d.det / det;
        return a;
      }
      if (std::abs(det) > d.min_det || d.min_det == 0.0) return a;
    }
  }

  MatrixInverseOptions opt_;
};

// How good predicted inverses are. For each N x N matrix A and prediction X:
// r = ||A X - I||_F (predicting zero gives sqrt(N)), and Charton's measure
// e = sum_ij |(A X - I)_ij| / N (a prediction is correct at tolerance tau
// when e < tau).
struct InverseMetrics {
  Index count = 0, size = 3;
  double median_r = 0.0;
  double share_below_002 = 0.0;  // share of matrices with r < 0.02
  double share_below_005 = 0.0;  // share of matrices with r < 0.05
  double share_below_01 = 0.0;   // share with r < 0.1
  double rmse_div5 = 0.0;        // RMSE of X / 5 against inverse(A) / 5, over all entries
  // Charton's shares: e below 0.05, 0.02, 0.01 and 0.005 (kCharton order).
  std::array<double, 4> charton{};
  std::vector<double> r;  // per matrix
};
constexpr std::array<double, 4> kChartonTolerances = {0.05, 0.02, 0.01, 0.005};

// The median of v (the mean of the two middle values for an even count).
inline double median_of(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double med = v[mid];
  if (v.size() % 2 == 0) med = 0.5 * (med + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)));
  return med;
}

// N from a width of N^2 columns; shape_error naming `who` otherwise.
inline Index size_of_width(Index width, const char* who) {
  const auto n = static_cast<Index>(std::lround(std::sqrt(static_cast<double>(width))));
  if (n * n != width || n < kMinSize || n > kMaxSize)
    throw shape_error(
        detail::concat(who, ": ", width, " columns are not N x N matrices, N in ", kMinSize, "..", kMaxSize));
  return n;
}

// a and x: n x N^2, row-major N x N matrices and their predicted inverses.
inline InverseMetrics inverse_metrics(const Eigen::Ref<const Eigen::MatrixXd>& a,
                                      const Eigen::Ref<const Eigen::MatrixXd>& x) {
  if (a.cols() != x.cols() || a.rows() != x.rows())
    throw shape_error(detail::concat("inverse_metrics: need matrices and predictions of one shape, got ",
                                     plexus::shape_str(a.rows(), a.cols()), " and ",
                                     plexus::shape_str(x.rows(), x.cols())));
  InverseMetrics m;
  m.size = size_of_width(a.cols(), "inverse_metrics");
  const Index n = m.size;
  m.count = a.rows();
  if (m.count == 0) return m;
  m.r.resize(static_cast<std::size_t>(m.count));
  double se = 0.0;
  Index below002 = 0, below005 = 0, below01 = 0;
  std::array<Index, 4> charton{};
  for (Index s = 0; s < m.count; ++s) {
    const SmallMatrix am = matrix_of_row(a, s, n), xm = matrix_of_row(x, s, n);
    SmallMatrix res = am * xm;
    res.diagonal().array() -= 1.0;
    const double r = res.norm(), e = res.cwiseAbs().sum() / static_cast<double>(n);
    m.r[static_cast<std::size_t>(s)] = r;
    below002 += r < 0.02;
    below005 += r < 0.05;
    below01 += r < 0.1;
    for (std::size_t k = 0; k < charton.size(); ++k) charton[k] += e < kChartonTolerances[k];
    se += ((xm - small_inverse(am)) / 5.0).squaredNorm();
  }
  m.median_r = median_of(m.r);
  const auto share = [&](Index k) { return static_cast<double>(k) / static_cast<double>(m.count); };
  m.share_below_002 = share(below002);
  m.share_below_005 = share(below005);
  m.share_below_01 = share(below01);
  for (std::size_t k = 0; k < charton.size(); ++k) m.charton[k] = share(charton[k]);
  m.rmse_div5 = std::sqrt(se / (static_cast<double>(n * n) * static_cast<double>(m.count)));
  return m;
}

}  // namespace mi
