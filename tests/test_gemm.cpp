// The GEMM driver and its engines against a plain double-precision product:
// every transpose combination, shapes that leave partial micro-tiles and
// partial K-panels, beta = 0 and 1, an epilogue, and bit-identical results
// for any number of threads; and the spinning team that one-row prediction
// hands its per-layer products to.
#include <doctest/doctest.h>

#include <plexus/plexus.hpp>

#include "gradcheck.hpp"
#include "nets.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using plexus::Index;

struct Problem {
  bool ta, tb;
  Index m, n, k;
};

template <typename T>
struct Operands {
  Index lda, ldb, ldc;
  std::vector<T> a, b, c0;
};

// op(A) is m x k and op(B) k x n; leading dimensions carry 3 spare rows so a
// driver that ignored them would read the wrong elements.
template <typename T>
Operands<T> make(const Problem& p, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Operands<T> o;
  const Index ar = p.ta ? p.k : p.m, ac = p.ta ? p.m : p.k;
  const Index br = p.tb ? p.n : p.k, bc = p.tb ? p.k : p.n;
  o.lda = ar + 3;
  o.ldb = br + 3;
  o.ldc = p.m + 3;
  o.a.resize(static_cast<std::size_t>(o.lda * ac));
  o.b.resize(static_cast<std::size_t>(o.ldb * bc));
  o.c0.resize(static_cast<std::size_t>(o.ldc * p.n));
  for (auto& x : o.a) x = static_cast<T>(u(g));
  for (auto& x : o.b) x = static_cast<T>(u(g));
  for (auto& x : o.c0) x = static_cast<T>(u(g));
  return o;
}

template <typename T>
double op_a(const Problem& p, const Operands<T>& o, Index i, Index l) {
  return p.ta ? o.a[static_cast<std::size_t>(l + i * o.lda)] : o.a[static_cast<std::size_t>(i + l * o.lda)];
}
template <typename T>
double op_b(const Problem& p, const Operands<T>& o, Index l, Index j) {
  return p.tb ? o.b[static_cast<std::size_t>(j + l * o.ldb)] : o.b[static_cast<std::size_t>(l + j * o.ldb)];
}

// Runs C = alpha op(A) op(B) + beta C with the given engine and checks every
// element of C, and that the padding rows of C are untouched.
template <typename Engine, typename T>
void check(const Problem& p, T beta, double tol) {
  CAPTURE(p.ta);
  CAPTURE(p.tb);
  CAPTURE(p.m);
  CAPTURE(p.n);
  CAPTURE(p.k);
  CAPTURE(beta);
  const auto o = make<T>(p, static_cast<unsigned>(p.m * 131 + p.n * 17 + p.k));
  std::vector<T> c = o.c0;
  const T alpha = T(0.75);
  plexus::NoEpilogue none;
  plexus::detail::gemm_with<Engine, T>(p.ta, p.tb, p.m, p.n, p.k, alpha, o.a.data(), o.lda, o.b.data(), o.ldb, beta,
                                       c.data(), o.ldc, none);
  double worst = 0;
  bool padding_kept = true;
  for (Index j = 0; j < p.n; ++j) {
    for (Index i = 0; i < p.m; ++i) {
      double s = 0, mag = 0;
      for (Index l = 0; l < p.k; ++l) {
        s += op_a(p, o, i, l) * op_b(p, o, l, j);
        mag += std::abs(op_a(p, o, i, l) * op_b(p, o, l, j));
      }
      const auto at = static_cast<std::size_t>(i + j * o.ldc);
      const double want = alpha * s + (beta == T(0) ? 0.0 : double(o.c0[at]));
      worst = std::max(worst, std::abs(double(c[at]) - want) / (1.0 + alpha * mag));
    }
    for (Index i = p.m; i < o.ldc; ++i) {
      const auto at = static_cast<std::size_t>(i + j * o.ldc);
      padding_kept = padding_kept && c[at] == o.c0[at];
    }
  }
  CHECK(worst < tol);
  CHECK(padding_kept);
}

const Problem kProblems[] = {
    {false, false, 1, 1, 1},     {false, false, 7, 5, 3},     {false, false, 47, 9, 33},
    {false, false, 49, 17, 16},  {false, false, 130, 70, 600}, {false, false, 1024, 256, 128},
    {false, true, 33, 31, 17},   {false, true, 100, 9, 256},   {false, true, 257, 129, 520},
    {true, false, 9, 128, 1024}, {true, false, 50, 23, 37},    {true, false, 200, 70, 1030},
    {true, true, 15, 16, 17},    {true, true, 96, 40, 300},    {false, false, 64, 64, 0},
};

}  // namespace

TEST_CASE("gemm: the Eigen engine matches a double product, float and double") {
  for (const auto& p : kProblems)
    for (double beta : {0.0, 1.0}) {
      check<plexus::detail::EigenGemmEngine<float>, float>(p, static_cast<float>(beta), 1e-5);
      check<plexus::detail::EigenGemmEngine<double>, double>(p, beta, 1e-13);
    }
}

#if PLEXUS_GEMM_AVX512
TEST_CASE("gemm: the AVX-512 engine matches a double product") {
  for (const auto& p : kProblems)
    for (float beta : {0.0f, 1.0f}) check<plexus::detail::Avx512GemmEngine, float>(p, beta, 1e-5);
}
#endif

TEST_CASE("gemm: the epilogue sees every block of C once, after its last K-panel") {
  const Problem p{false, false, 300, 200, 700};
  const auto o = make<float>(p, 5);
  std::vector<float> c(o.c0.size(), 0.0f), want(o.c0.size(), 0.0f);
  plexus::gemm<float>(false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, want.data(),
                      o.ldc);
  std::vector<int> seen(static_cast<std::size_t>(p.m * p.n), 0);
  plexus::gemm<float>(false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, c.data(), o.ldc,
                      [&](Index i0, Index j0, Index mi, Index nj) {
                        for (Index j = j0; j < j0 + nj; ++j)
                          for (Index i = i0; i < i0 + mi; ++i) {
                            auto& x = c[static_cast<std::size_t>(i + j * o.ldc)];
                            x = 2 * x + 1;  // the final value, doubled: wrong if applied to a partial sum
                            ++seen[static_cast<std::size_t>(i + j * p.m)];
                          }
                      });
  bool once = true, applied = true;
  for (Index j = 0; j < p.n; ++j)
    for (Index i = 0; i < p.m; ++i) {
      once = once && seen[static_cast<std::size_t>(i + j * p.m)] == 1;
      const auto at = static_cast<std::size_t>(i + j * o.ldc);
      applied = applied && c[at] == 2 * want[at] + 1;
    }
  CHECK(once);
  CHECK(applied);
}

TEST_CASE("gemm: results are bit-identical for 1, 2 and 3 threads") {
  for (const auto& p : {Problem{false, false, 1024, 256, 640}, Problem{true, false, 1152, 128, 1024},
                        Problem{false, true, 1024, 896, 256}}) {
    const auto o = make<float>(p, 9);
    std::vector<std::vector<float>> out;
    for (int threads : {1, 2, 3}) {
      plexus::set_num_threads(threads);
      std::vector<float> c = o.c0;
      plexus::gemm<float>(p.ta, p.tb, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 1.0f, c.data(),
                          o.ldc);
      out.push_back(c);
    }
    plexus::set_num_threads(0);
    CHECK(out[0] == out[1]);
    CHECK(out[0] == out[2]);
  }
}

#if defined(_OPENMP)
TEST_CASE("SpinTeam: parallel_for inside run hands every item to exactly one thread, loop after loop") {
  using plexus::detail::SpinTeam;
  for (int threads : {1, 2, 3, 5}) {
    CAPTURE(threads);
    plexus::set_num_threads(threads);  // also for the loops made without a team
    for (plexus::Index n : {1, 2, 7, 100, 257}) {
      CAPTURE(n);
      std::vector<int> hits(static_cast<std::size_t>(n), 0), who(static_cast<std::size_t>(n), -1);
      int team_size = 0;
      SpinTeam::run(threads, [&] {
        team_size = SpinTeam::current() ? SpinTeam::current()->size() : 1;
        for (int loop = 0; loop < 20; ++loop)  // many loops in one run: the helpers go round their loop
          plexus::parallel_for(n, [&](plexus::Index i) {
            ++hits[static_cast<std::size_t>(i)];
            who[static_cast<std::size_t>(i)] = omp_get_thread_num();
          });
      });
      CHECK(SpinTeam::current() == nullptr);
      CHECK(team_size == threads);
      CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 20; }));
      const bool spread = std::any_of(who.begin(), who.end(), [](int t) { return t != 0; });
      CHECK(spread == (threads > 1 && n > 1));
    }
  }
  plexus::set_num_threads(0);

  // A loop inside an item runs on that item's thread, the leader's included.
  std::vector<int> outer(4, -1), inner(32, -2);
  SpinTeam::run(2, [&] {
    plexus::parallel_for(4, [&](plexus::Index i) {
      outer[static_cast<std::size_t>(i)] = omp_get_thread_num();
      plexus::parallel_for(8, [&](plexus::Index k) {
        inner[static_cast<std::size_t>(i * 8 + k)] = omp_get_thread_num();
      });
    });
  });
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t k = 0; k < 8; ++k) CHECK(inner[i * 8 + k] == outer[i]);
  CHECK(std::count(outer.begin(), outer.end(), 0) == 2);
}

TEST_CASE("SpinTeam: an exception from the body stops the team and reaches the caller") {
  using plexus::detail::SpinTeam;
  std::vector<int> v(64, 0);
  CHECK_THROWS_WITH_AS(SpinTeam::run(2,
                                     [&] {
                                       plexus::parallel_for(64, [&](plexus::Index i) { v[static_cast<std::size_t>(i)] = 1; });
                                       throw plexus::value_error("stop here");
                                     }),
                       "stop here", plexus::value_error);
  CHECK(SpinTeam::current() == nullptr);
  CHECK(std::count(v.begin(), v.end(), 1) == 64);
  // a nested run inside a team runs its body on the leader, with the outer team
  bool same = false;
  SpinTeam::run(2, [&] {
    SpinTeam* outer = SpinTeam::current();
    SpinTeam::run(2, [&] { same = SpinTeam::current() == outer; });
  });
  CHECK(same);
}

TEST_CASE("one-row prediction is bit-identical for 1, 2 and 3 threads and matches the batch path") {
  auto net = plexus_test::answer_like<float>(256, 128, 2, 2, 9, plexus::Init::glorot_uniform);
  net.build(9, 5);
  const plexus::Matrix<float> x = plexus_test::random_matrix(4, 9, 6).cast<float>();
  const plexus::Matrix<float> batch = net.predict(x);
  std::vector<plexus::Matrix<float>> rows;
  for (int threads : {1, 2, 3}) {
    plexus::set_num_threads(threads);
    plexus::Matrix<float> y(x.rows(), 9);
    for (plexus::Index r = 0; r < x.rows(); ++r) y.row(r) = net.predict(x.row(r));
    rows.push_back(y);
  }
  plexus::set_num_threads(0);
  CHECK(rows[0] == rows[1]);
  CHECK(rows[0] == rows[2]);
  CHECK((rows[0] - batch).cwiseAbs().maxCoeff() <= 1e-5f * batch.cwiseAbs().maxCoeff());

  // Called from the caller's own parallel region (one copy per thread), a
  // prediction runs on its thread alone and gives the same values.
  std::vector<plexus::Network<float>> copies{net, net};
  std::vector<plexus::Matrix<float>> got(2);
#pragma omp parallel num_threads(2)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    got[t] = copies[t].predict(x.row(1));
  }
  CHECK(got[0] == rows[0].row(1));
  CHECK(got[1] == rows[0].row(1));
}
#endif
