// Exact symmetric views of an N x N matrix for prediction: B = P op(A) Q with
// P, Q signed permutations and op the identity or the transpose. Since
// inv(P A Q) = Q^T inv(A) P^T, a prediction Y of inv(B) maps back exactly to
// one of inv(A); averaging the network over K such views of each input is a
// fixed exact map around the network (no solver, no Newton step).
#pragma once

#include "recipes.hpp"

#include <plexus/plexus.hpp>

#include <Eigen/Dense>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace mi {

using ViewCode = std::uint64_t;

// N! for N <= kMaxSize.
constexpr ViewCode factorial(int n) { return n <= 1 ? 1 : static_cast<ViewCode>(n) * factorial(n - 1); }

// One view of an N x N matrix, as a code in [0, view_codes(N)): transpose
// bit, row permutation (0..N!-1, lexicographic), row signs (N bits), column
// permutation, signs of columns 1..N-1 (N-1 bits). Code 0 is the identity.
// Column 0 keeps its sign because flipping every row and every column leaves
// A as it is: so each code is a distinct map, and the codes are all of them.
constexpr ViewCode view_codes(int n) {
  return 2 * factorial(n) * (ViewCode(1) << n) * factorial(n) * (ViewCode(1) << (n - 1));
}
constexpr ViewCode kViewCodes = view_codes(3);        // 2304
constexpr int kMaxViews = 256;                        // the table's length: --views K takes 1..256
constexpr std::uint64_t kDefaultViewSeed = 20261202;  // the table of models saved without one
// predict's default K for 3 x 3 models (and models saved without a default),
// chosen by measurement: docs/matrix_inverse.md
constexpr int kDefaultViews = 64;
// predict's default K for N x N models: 64 at N <= 3, 256 from N = 4 on
// (docs/matrix_inverse.md, #mi_sizes).
constexpr int default_views_for(int n) { return n <= 3 ? kDefaultViews : 256; }

struct View {
  int n = 3;
  bool transpose = false;
  std::array<int, kMaxSize> p{}, q{};  // B(i, j) = s[i] t[j] op(A)(p[i], q[j])
  std::array<double, kMaxSize> s{}, t{};

  // The permutation of index `k` in lexicographic order (its Lehmer code).
  static std::array<int, kMaxSize> permutation(ViewCode k, int n) {
    n = std::min(n, kMaxSize);  // (checked by the caller; the bound lets the compiler see it)
    std::array<int, kMaxSize> left{}, out{};
    for (int i = 0; i < n; ++i) left[i] = i;
    for (int i = 0; i < n; ++i) {
      const ViewCode f = factorial(n - 1 - i);
      const int at = static_cast<int>(k / f);
      k %= f;
      out[i] = left[at];
      for (int j = at; j + 1 < n - i; ++j) left[j] = left[j + 1];
    }
    return out;
  }

  static View from_code(ViewCode code, int n = 3) {
    check_size(n, "View");
    if (code >= view_codes(n))
      throw plexus::value_error(
          plexus::detail::concat("View: code ", code, " is not in [0, ", view_codes(n), ") for ", n, "x", n));
    View v;
    v.n = n;
    const ViewCode perms = factorial(n);
    v.transpose = code % 2;
    code /= 2;
    v.p = permutation(code % perms, n);
    code /= perms;
    const ViewCode ps = code % (ViewCode(1) << n);
    code >>= n;
    v.q = permutation(code % perms, n);
    code /= perms;
    const ViewCode qs = code;
    for (int i = 0; i < std::min(n, kMaxSize); ++i) {
      v.s[i] = (ps >> i) & 1 ? -1.0 : 1.0;
      v.t[i] = i > 0 && ((qs >> (i - 1)) & 1) ? -1.0 : 1.0;
    }
    return v;
  }

  // B = P op(A) Q, entries row-major (a and b: N^2 values each).
  template <typename In, typename Out>
  void apply(const In* a, Out* b) const {
    const int n = std::min(this->n, kMaxSize);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const int r = p[i], c = q[j];
        const double x = transpose ? static_cast<double>(a[n * c + r]) : static_cast<double>(a[n * r + c]);
        b[n * i + j] = static_cast<Out>(s[i] * t[j] * x);
      }
  }

  // From Y ~ inv(B) to the matching X ~ inv(A): op(A)^-1 = Q Y P, so
  // op(A)^-1(q[k], p[l]) = t[k] s[l] Y(k, l); transposed back when op is.
  template <typename In>
  void map_back(const In* y, double* x) const {
    const int n = std::min(this->n, kMaxSize);
    for (int k = 0; k < n; ++k)
      for (int l = 0; l < n; ++l) {
        const double v = t[k] * s[l] * static_cast<double>(y[n * k + l]);
        const int r = q[k], c = p[l];
        if (transpose) x[n * c + r] = v;
        else x[n * r + c] = v;
      }
  }
};

// The views without sign flips: transpose bit, row and column permutations.
constexpr ViewCode unsigned_view_codes(int n) { return 2 * factorial(n) * factorial(n); }
constexpr ViewCode kUnsignedViewCodes = unsigned_view_codes(3);  // 72
// The code of unsigned view u of an N x N matrix.
inline ViewCode unsigned_view_code(ViewCode u, int n = 3) {
  const ViewCode perms = factorial(n);
  return u % (2 * perms) + 2 * perms * (ViewCode(1) << n) * (u / (2 * perms));
}

// The length of a table: kMaxViews, or every view where there are fewer.
inline int table_length(int n, bool unsigned_only) {
  const ViewCode all = unsigned_only ? unsigned_view_codes(n) : view_codes(n);
  return static_cast<int>(std::min<ViewCode>(kMaxViews, all));
}

// The fixed table of views of N x N matrices: code 0 (the identity) first,
// then distinct codes drawn from `seed`; kMaxViews of them (all of them for
// 2 x 2 matrices, which have fewer). With `unsigned_only` the codes are drawn
// from the views without sign flips: a model of Convention::canonical_signs
// answers every signed variant of a view alike.
inline std::vector<ViewCode> view_table(std::uint64_t seed, bool unsigned_only = false, int n = 3) {
  check_size(n, "view_table");
  std::vector<ViewCode> codes = {0};
  std::set<ViewCode> used = {0};
  plexus::Rng rng(plexus::mix64(seed, 0x71E35ULL));
  const ViewCode range = unsigned_only ? unsigned_view_codes(n) : view_codes(n);
  const auto length = static_cast<std::size_t>(table_length(n, unsigned_only));
  while (codes.size() < length) {
    const ViewCode u = rng.next_u64() % range;
    const ViewCode c = unsigned_only ? unsigned_view_code(u, n) : u;
    if (used.insert(c).second) codes.push_back(c);
  }
  return codes;
}

inline std::string view_table_text(const std::vector<ViewCode>& codes) {
  std::string s;
  for (ViewCode c : codes) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

// The views a model predicts with: its metadata's "views.table" (written by
// train), else the table of kDefaultViewSeed; io_error naming `path` for a
// table that does not parse or names a view an N x N matrix does not have.
struct ViewSet {
  std::vector<ViewCode> codes;  // up to kMaxViews codes, codes[0] == 0
  std::uint64_t seed = kDefaultViewSeed;
  int default_views = kDefaultViews;
  bool recorded = false;  // read from the model's metadata

  static ViewSet from_metadata(const std::map<std::string, std::string>& md, const std::string& path, int n = 3);
  // The metadata train writes.
  std::map<std::string, std::string> metadata() const {
    return {{"views.seed", std::to_string(seed)},
            {"views.table", view_table_text(codes)},
            {"views.default", std::to_string(default_views)}};
  }
};

// The views train records for a network of convention c on N x N matrices:
// the table of kDefaultViewSeed, from the unsigned views when
// c.canonical_signs; the default K is default_views_for(n), at most the table.
inline ViewSet views_for(const Convention& c, int n = 3) {
  ViewSet v;
  v.codes = view_table(v.seed, c.canonical_signs, n);
  v.default_views = std::min(default_views_for(n), static_cast<int>(v.codes.size()));
  return v;
}

inline ViewSet ViewSet::from_metadata(const std::map<std::string, std::string>& md, const std::string& path, int n) {
  ViewSet v;
  auto it = md.find("views.table");
  if (it == md.end()) {
    v.codes = view_table(v.seed, false, n);
    v.default_views = std::min(kDefaultViews, static_cast<int>(v.codes.size()));
    return v;
  }
  v.recorded = true;
  const std::string& s = it->second;
  std::size_t at = 0;
  while (at <= s.size()) {
    std::size_t end = s.find(',', at);
    if (end == std::string::npos) end = s.size();
    const std::string tok = s.substr(at, end - at);
    char* stop = nullptr;
    errno = 0;
    const unsigned long long c = tok.empty() || tok[0] == '-' ? 0 : std::strtoull(tok.c_str(), &stop, 10);
    if (tok.empty() || tok[0] == '-' || *stop || errno == ERANGE || c >= view_codes(n))
      throw plexus::io_error(plexus::detail::concat("'", path, "': bad views.table entry '", tok, "' (a view of a ", n,
                                                    "x", n, " matrix is a code in [0, ", view_codes(n), "))"));
    v.codes.push_back(static_cast<ViewCode>(c));
    at = end + 1;
  }
  if (v.codes.empty() || v.codes[0] != 0 || static_cast<int>(v.codes.size()) > kMaxViews)
    throw plexus::io_error(plexus::detail::concat("'", path,
                                                  "': views.table must start with the identity (0) and hold 1..",
                                                  kMaxViews, " views, got ", v.codes.size()));
  if (auto s2 = md.find("views.seed"); s2 != md.end()) v.seed = std::stoull(s2->second);
  v.default_views = std::min(kDefaultViews, static_cast<int>(v.codes.size()));
  if (auto d = md.find("views.default"); d != md.end()) {
    const int k = std::atoi(d->second.c_str());
    if (k < 1 || k > static_cast<int>(v.codes.size()))
      throw plexus::io_error("'" + path + "': bad views.default '" + d->second + "'");
    v.default_views = k;
  }
  return v;
}

// Checks --views K against a table: usage errors are the caller's; this
// throws value_error.
inline void check_views(int k, const std::vector<ViewCode>& codes) {
  if (k < 1 || k > static_cast<int>(codes.size()))
    throw plexus::value_error(plexus::detail::concat("views: K must be in 1..", codes.size(), ", got ", k));
}

// Asked between chunks of a long prediction: true stops it (predict_views
// then throws prediction_stopped). The default never stops.
using StopCheck = std::function<bool()>;
struct prediction_stopped : std::runtime_error {
  prediction_stopped() : std::runtime_error("prediction stopped") {}
};

// Predicted inverses (n x N^2) of a (n x N^2): the mean over the first k
// views of `codes` of the network's answer mapped back. `net(x, y)` maps
// m x N^2 network inputs to m x N^2 outputs (x already in the network's
// convention: A/||A||_F when c.normalize). With k == 1 (code 0 is the
// identity) this is predict_inverse, bit for bit.
template <typename T, typename Net>
Eigen::MatrixXd predict_views(Net&& net, const Convention& c, const Eigen::MatrixXd& a,
                              const std::vector<ViewCode>& codes, int k, const StopCheck& stop = {}) {
  check_views(k, codes);
  const int n = static_cast<int>(size_of_width(a.cols(), "predict_views")), nn = n * n;
  std::vector<View> views;
  for (int i = 0; i < k; ++i) views.push_back(View::from_code(codes[static_cast<std::size_t>(i)], n));
  const plexus::Index rows = a.rows(), chunk = std::max<plexus::Index>(1, 4096 / k);
  Eigen::MatrixXd out(rows, nn);
  plexus::Matrix<T> x, y;
  Eigen::Matrix<double, 1, Eigen::Dynamic> in(nn), back(nn), sum(nn);
  Eigen::Matrix<T, 1, Eigen::Dynamic> row(nn);
  for (plexus::Index r0 = 0; r0 < rows; r0 += chunk) {
    if (stop && stop()) throw prediction_stopped();
    const plexus::Index m = std::min(chunk, rows - r0);
    x.resize(m * k, nn);
    Eigen::VectorXd scale = Eigen::VectorXd::Ones(m);
    for (plexus::Index i = 0; i < m; ++i) {
      if (c.normalize) scale[i] = row_norm(a, r0 + i);
      if (k == 1) {  // the network once: predict_inverse's own expressions, so the same bits
        x.row(i) = (a.row(r0 + i) / scale[i]).template cast<T>();
        continue;
      }
      in = a.row(r0 + i) / scale[i];
      for (int v = 0; v < k; ++v) {
        views[static_cast<std::size_t>(v)].apply(in.data(), row.data());
        x.row(i * k + v) = row;
      }
    }
    run_network(net, c, x, y);
    for (plexus::Index i = 0; i < m; ++i) {
      if (k == 1) {
        out.row(r0 + i) = y.row(i).template cast<double>() * (c.output_scale / scale[i]);
        continue;
      }
      sum.setZero();
      for (int v = 0; v < k; ++v) {
        row = y.row(i * k + v);
        views[static_cast<std::size_t>(v)].map_back(row.data(), back.data());
        sum += back;
      }
      out.row(r0 + i) = (sum / static_cast<double>(k)) * (c.output_scale / scale[i]);
    }
  }
  return out;
}

}  // namespace mi
