// The GEMM driver and its engines against a plain double-precision product:
// every transpose combination, shapes that leave partial micro-tiles and
// partial K-panels, beta = 0 and 1, an epilogue, and bit-identical results
// for any number of threads.
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
