// Exact symmetric views of a 3x3 matrix for prediction: B = P op(A) Q with
// P, Q signed permutations and op the identity or the transpose. Since
// inv(P A Q) = Q^T inv(A) P^T, a prediction Y of inv(B) maps back exactly to
// one of inv(A); averaging the network over K such views of each input is a
// fixed exact map around the network (no solver, no Newton step).
#pragma once

#include "recipes.hpp"

#include <plexus/plexus.hpp>

#include <Eigen/Dense>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mi {

// One view, as a code in [0, kViewCodes): transpose bit, row permutation
// (0..5), row signs (3 bits), column permutation, signs of columns 1 and 2
// (2 bits). Code 0 is the identity. Column 0 keeps its sign because flipping
// every row and every column leaves A as it is: so each code is a distinct
// map, and the codes are all of them.
constexpr int kViewCodes = 2 * 6 * 8 * 6 * 4;         // 2304
constexpr int kMaxViews = 64;                         // the table's length: --views K takes 1..64
constexpr std::uint64_t kDefaultViewSeed = 20261202;  // the table of models saved without one
constexpr int kDefaultViews = 64;                     // chosen by measurement: docs/matrix_inverse.md

struct View {
  bool transpose = false;
  std::array<int, 3> p{0, 1, 2}, q{0, 1, 2};  // B(i, j) = s[i] t[j] op(A)(p[i], q[j])
  std::array<double, 3> s{1, 1, 1}, t{1, 1, 1};

  static View from_code(int code) {
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    if (code < 0 || code >= kViewCodes)
      throw plexus::value_error(plexus::detail::concat("View: code ", code, " is not in [0, ", kViewCodes, ")"));
    View v;
    v.transpose = code % 2;
    code /= 2;
    const int pi = code % 6;
    code /= 6;
    const int ps = code % 8;
    code /= 8;
    const int qi = code % 6;
    code /= 6;
    const int qs = code;
    for (int i = 0; i < 3; ++i) {
      v.p[i] = perms[pi][i], v.q[i] = perms[qi][i];
      v.s[i] = (ps >> i) & 1 ? -1.0 : 1.0;
      v.t[i] = i > 0 && ((qs >> (i - 1)) & 1) ? -1.0 : 1.0;
    }
    return v;
  }

  // B = P op(A) Q, entries row-major (a and b: 9 values each).
  template <typename In, typename Out>
  void apply(const In* a, Out* b) const {
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        const int r = p[i], c = q[j];
        const double x = transpose ? static_cast<double>(a[3 * c + r]) : static_cast<double>(a[3 * r + c]);
        b[3 * i + j] = static_cast<Out>(s[i] * t[j] * x);
      }
  }

  // From Y ~ inv(B) to the matching X ~ inv(A): op(A)^-1 = Q Y P, so
  // op(A)^-1(q[k], p[l]) = t[k] s[l] Y(k, l); transposed back when op is.
  template <typename In>
  void map_back(const In* y, double* x) const {
    for (int k = 0; k < 3; ++k)
      for (int l = 0; l < 3; ++l) {
        const double v = t[k] * s[l] * static_cast<double>(y[3 * k + l]);
        const int r = q[k], c = p[l];
        if (transpose) x[3 * c + r] = v;
        else x[3 * r + c] = v;
      }
  }
};

// The code of the unsigned view: transpose bit, row and column permutations.
constexpr int kUnsignedViewCodes = 2 * 6 * 6;  // 72
inline int unsigned_view_code(int u) { return u % 2 + 2 * ((u / 2) % 6) + 96 * (u / 12); }

// The fixed table of views: code 0 (the identity) first, then distinct
// codes drawn from `seed`; kMaxViews of them. With `unsigned_only` the codes
// are drawn from the 72 views without sign flips: a model of
// Convention::canonical_signs answers every signed variant of a view alike.
inline std::vector<int> view_table(std::uint64_t seed, bool unsigned_only = false) {
  std::vector<int> codes = {0};
  std::vector<bool> used(kViewCodes, false);
  used[0] = true;
  plexus::Rng rng(plexus::mix64(seed, 0x71E35ULL));
  const std::uint64_t range = static_cast<std::uint64_t>(unsigned_only ? kUnsignedViewCodes : kViewCodes);
  while (static_cast<int>(codes.size()) < kMaxViews) {
    const int u = static_cast<int>(rng.next_u64() % range);
    const int c = unsigned_only ? unsigned_view_code(u) : u;
    if (!used[static_cast<std::size_t>(c)]) used[static_cast<std::size_t>(c)] = true, codes.push_back(c);
  }
  return codes;
}

inline std::string view_table_text(const std::vector<int>& codes) {
  std::string s;
  for (int c : codes) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

// The views a model predicts with: its metadata's "views.table" (written by
// train), else the table of kDefaultViewSeed; io_error naming `path` for a
// table that does not parse.
struct ViewSet {
  std::vector<int> codes;  // kMaxViews codes, codes[0] == 0
  std::uint64_t seed = kDefaultViewSeed;
  int default_views = kDefaultViews;
  bool recorded = false;  // read from the model's metadata

  static ViewSet from_metadata(const std::map<std::string, std::string>& md, const std::string& path);
  // The metadata train writes.
  std::map<std::string, std::string> metadata() const {
    return {{"views.seed", std::to_string(seed)},
            {"views.table", view_table_text(codes)},
            {"views.default", std::to_string(default_views)}};
  }
};

// The views train records for a network of convention c: the table of
// kDefaultViewSeed, from the unsigned views when c.canonical_signs.
inline ViewSet views_for(const Convention& c) {
  ViewSet v;
  v.codes = view_table(v.seed, c.canonical_signs);
  return v;
}

inline ViewSet ViewSet::from_metadata(const std::map<std::string, std::string>& md, const std::string& path) {
  ViewSet v;
  auto it = md.find("views.table");
  if (it == md.end()) {
    v.codes = view_table(v.seed);
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
    const long c = tok.empty() ? -1 : std::strtol(tok.c_str(), &stop, 10);
    if (tok.empty() || *stop || c < 0 || c >= kViewCodes)
      throw plexus::io_error("'" + path + "': bad views.table entry '" + tok + "'");
    v.codes.push_back(static_cast<int>(c));
    at = end + 1;
  }
  if (v.codes.empty() || v.codes[0] != 0 || static_cast<int>(v.codes.size()) > kMaxViews)
    throw plexus::io_error(plexus::detail::concat("'", path,
                                                  "': views.table must start with the identity (0) and hold 1..",
                                                  kMaxViews, " views, got ", v.codes.size()));
  if (auto s2 = md.find("views.seed"); s2 != md.end()) v.seed = std::stoull(s2->second);
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
inline void check_views(int k, const std::vector<int>& codes) {
  if (k < 1 || k > static_cast<int>(codes.size()))
    throw plexus::value_error(plexus::detail::concat("views: K must be in 1..", codes.size(), ", got ", k));
}

// Predicted inverses (n x 9) of a (n x 9): the mean over the first k views
// of `codes` of the network's answer mapped back. `net(x, y)` maps m x 9
// network inputs to m x 9 outputs (x already in the network's convention:
// A/||A||_F when c.normalize). With k == 1 (code 0 is the identity) this is
// predict_inverse, bit for bit.
template <typename T, typename Net>
Eigen::MatrixXd predict_views(Net&& net, const Convention& c, const Eigen::MatrixXd& a, const std::vector<int>& codes,
                              int k) {
  check_views(k, codes);
  if (a.cols() != 9)
    throw plexus::shape_error(
        plexus::detail::concat("predict_views: need n x 9 matrices, got ", plexus::shape_str(a.rows(), a.cols())));
  std::vector<View> views;
  for (int i = 0; i < k; ++i) views.push_back(View::from_code(codes[static_cast<std::size_t>(i)]));
  const plexus::Index n = a.rows(), chunk = std::max<plexus::Index>(1, 4096 / k);
  Eigen::MatrixXd out(n, 9);
  plexus::Matrix<T> x, y;
  Eigen::Matrix<double, 1, 9> in, back, sum;
  for (plexus::Index r0 = 0; r0 < n; r0 += chunk) {
    const plexus::Index m = std::min(chunk, n - r0);
    x.resize(m * k, 9);
    Eigen::VectorXd scale = Eigen::VectorXd::Ones(m);
    for (plexus::Index i = 0; i < m; ++i) {
      if (c.normalize) scale[i] = row_norm(a, r0 + i);
      if (k == 1) {  // the network once: predict_inverse's own expressions, so the same bits
        x.row(i) = (a.row(r0 + i) / scale[i]).template cast<T>();
        continue;
      }
      in = a.row(r0 + i) / scale[i];
      for (int v = 0; v < k; ++v) {
        Eigen::Matrix<T, 1, 9> row;
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
        const Eigen::Matrix<T, 1, 9> row = y.row(i * k + v);
        views[static_cast<std::size_t>(v)].map_back(row.data(), back.data());
        sum += back;
      }
      out.row(r0 + i) = (sum / static_cast<double>(k)) * (c.output_scale / scale[i]);
    }
  }
  return out;
}

}  // namespace mi
