// The GEMM driver on every engine this CPU runs, against a plain
// double-precision product: every transpose combination, shapes that leave
// partial micro-tiles and partial K-panels, beta = 0 and 1, float, double
// and bf16 operands, an epilogue, and bit-identical results for any number
// of threads.
#include <doctest/doctest.h>

#include <plexus/plexus.hpp>

#include "engines.hpp"
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
using plexus_test::engines_here;
using plexus_test::ForcedEngine;

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

std::string name(plexus::Engine e) { return plexus::to_string(e); }

double bf16(double x) { return plexus::round_to_bf16(static_cast<float>(x)); }

// Runs C = alpha op(A) op(B) + beta C through plexus::gemm on the engine
// running now and checks every element of C, and that the padding rows of
// C are untouched. At Precision::bf16 C must match the double product of
// the operands rounded to bf16 to within float summation (tol), and the
// exact product to within bf16 rounding.
template <typename T>
void check(const Problem& p, T beta, double tol, plexus::Precision precision = plexus::Precision::native) {
  CAPTURE(p.ta);
  CAPTURE(p.tb);
  CAPTURE(p.m);
  CAPTURE(p.n);
  CAPTURE(p.k);
  CAPTURE(beta);
  const bool rounded = precision == plexus::Precision::bf16;
  const auto o = make<T>(p, static_cast<unsigned>(p.m * 131 + p.n * 17 + p.k));
  std::vector<T> c = o.c0;
  const T alpha = T(0.75);
  plexus::gemm<T>(p.ta, p.tb, p.m, p.n, p.k, alpha, o.a.data(), o.lda, o.b.data(), o.ldb, beta, c.data(), o.ldc,
                  precision);
  // op(A) by rows and op(B) by columns, in double (and rounded to bf16),
  // so that the reference's inner loop reads contiguous memory.
  const auto m = static_cast<std::size_t>(p.m), n = static_cast<std::size_t>(p.n), k = static_cast<std::size_t>(p.k);
  std::vector<double> a_rows(m * k), b_cols(k * n), a_rounded, b_rounded;
  for (std::size_t l = 0; l < k; ++l) {
    for (std::size_t i = 0; i < m; ++i) a_rows[i * k + l] = op_a(p, o, Index(i), Index(l));
    for (std::size_t j = 0; j < n; ++j) b_cols[j * k + l] = op_b(p, o, Index(l), Index(j));
  }
  if (rounded) {
    for (const double x : a_rows) a_rounded.push_back(bf16(x));
    for (const double x : b_cols) b_rounded.push_back(bf16(x));
  }
  const std::vector<double>& ra = rounded ? a_rounded : a_rows;
  const std::vector<double>& rb = rounded ? b_rounded : b_cols;
  double worst = 0, worst_exact = 0;
  bool padding_kept = true;
  for (Index j = 0; j < p.n; ++j) {
    for (Index i = 0; i < p.m; ++i) {
      double s = 0, exact = 0, mag = 0;
      const double *xa = a_rows.data() + std::size_t(i) * k, *xb = b_cols.data() + std::size_t(j) * k;
      const double *sa = ra.data() + std::size_t(i) * k, *sb = rb.data() + std::size_t(j) * k;
      for (std::size_t l = 0; l < k; ++l) {
        const double xy = xa[l] * xb[l];
        s += sa[l] * sb[l];
        exact += xy;
        mag += std::abs(xy);
      }
      const auto at = static_cast<std::size_t>(i + j * o.ldc);
      const double c0 = beta == T(0) ? 0.0 : double(o.c0[at]);
      worst = std::max(worst, std::abs(double(c[at]) - (alpha * s + c0)) / (1.0 + alpha * mag));
      worst_exact = std::max(worst_exact, std::abs(double(c[at]) - (alpha * exact + c0)) / (1.0 + alpha * mag));
    }
    for (Index i = p.m; i < o.ldc; ++i) {
      const auto at = static_cast<std::size_t>(i + j * o.ldc);
      padding_kept = padding_kept && c[at] == o.c0[at];
    }
  }
  CHECK(worst < tol);
  if (rounded) CHECK(worst_exact < 1.0 / 128);  // two operands each within 2^-9, relative
  CHECK(padding_kept);
}

const Problem kProblems[] = {
    {false, false, 1, 1, 1},      {false, false, 7, 5, 3},      {false, false, 47, 9, 33},
    {false, false, 49, 17, 16},   {false, false, 130, 70, 600}, {false, false, 1024, 256, 128},
    {false, true, 33, 31, 17},    {false, true, 100, 9, 256},   {false, true, 257, 129, 520},
    {true, false, 9, 128, 1024},  {true, false, 50, 23, 37},    {true, false, 200, 70, 1030},
    {true, true, 15, 16, 17},     {true, true, 96, 40, 300},    {false, false, 64, 64, 0},
    {false, false, 33, 65, 2100}, {true, true, 70, 100, 63},    {false, true, 40, 97, 1},
};

}  // namespace

TEST_CASE("gemm: every engine this CPU runs matches a double product (float, double, bf16)") {
  for (const plexus::Engine e : engines_here()) {
    const std::string engine = name(e);
    CAPTURE(engine);
    ForcedEngine forced(e);
    REQUIRE(plexus::engine() == e);
    for (const auto& p : kProblems)
      for (double beta : {0.0, 1.0}) {
        check<float>(p, static_cast<float>(beta), 1e-5);
        check<double>(p, beta, 1e-13);
        check<float>(p, static_cast<float>(beta), 1e-5, plexus::Precision::bf16);
      }
  }
}

TEST_CASE("gemm: bf16 products of doubles are refused") {
  std::vector<double> a(4, 1.0), c(4, 0.0);
  CHECK_THROWS_AS(plexus::gemm<double>(false, false, 2, 2, 2, 1.0, a.data(), 2, a.data(), 2, 0.0, c.data(), 2,
                                       plexus::Precision::bf16),
                  plexus::value_error);
}

TEST_CASE("gemm: the epilogue sees every block of C once, after its last K-panel, on every engine") {
  const Problem p{false, false, 300, 200, 700};
  const auto o = make<float>(p, 5);
  for (const plexus::Engine e : engines_here())
    for (const auto precision : {plexus::Precision::native, plexus::Precision::bf16}) {
      const std::string engine = name(e);
      CAPTURE(engine);
      const std::string precision_name = plexus::to_string(precision);
      CAPTURE(precision_name);
      ForcedEngine forced(e);
      std::vector<float> c(o.c0.size(), 0.0f), want(o.c0.size(), 0.0f);
      plexus::gemm<float>(false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, want.data(),
                          o.ldc, precision);
      std::vector<int> seen(static_cast<std::size_t>(p.m * p.n), 0);
      plexus::gemm<float>(
          false, false, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, c.data(), o.ldc,
          [&](Index i0, Index j0, Index mi, Index nj) {
            for (Index j = j0; j < j0 + nj; ++j)
              for (Index i = i0; i < i0 + mi; ++i) {
                auto& x = c[static_cast<std::size_t>(i + j * o.ldc)];
                x = 2 * x + 1;  // the final value, doubled: wrong if applied to a partial sum
                ++seen[static_cast<std::size_t>(i + j * p.m)];
              }
          },
          precision);
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
}

// Products of every engine and precision on three threads counts: each is
// bit-identical across them, and the engines and precisions really differ
// (a switch that changed nothing would give the same bits everywhere).
TEST_CASE("gemm: bit-identical for 1, 2 and 3 threads on every engine, and engines and bf16 really switch") {
  const Problem problems[] = {
      {false, false, 1024, 256, 640}, {true, false, 1152, 128, 1024}, {false, true, 1024, 896, 256}};
  const auto here = engines_here();
  for (const auto& p : problems) {
    CAPTURE(p.ta);
    CAPTURE(p.tb);
    const auto o = make<float>(p, 9);
    const auto od = make<double>(p, 9);
    std::vector<std::vector<float>> natives, bf16s;
    std::vector<std::vector<double>> doubles;
    for (const plexus::Engine e : here) {
      const std::string engine = name(e);
      CAPTURE(engine);
      ForcedEngine forced(e);
      std::vector<std::vector<float>> out[2];
      std::vector<std::vector<double>> out_d;
      for (int threads : {1, 2, 3}) {
        plexus::set_num_threads(threads);
        for (int b = 0; b < 2; ++b) {
          std::vector<float> c = o.c0;
          plexus::gemm<float>(p.ta, p.tb, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 1.0f, c.data(),
                              o.ldc, b ? plexus::Precision::bf16 : plexus::Precision::native);
          out[b].push_back(c);
        }
        std::vector<double> cd = od.c0;
        plexus::gemm<double>(p.ta, p.tb, p.m, p.n, p.k, 1.0, od.a.data(), od.lda, od.b.data(), od.ldb, 1.0, cd.data(),
                             od.ldc);
        out_d.push_back(cd);
      }
      plexus::set_num_threads(0);
      for (int b = 0; b < 2; ++b) {
        CHECK(out[b][0] == out[b][1]);
        CHECK(out[b][0] == out[b][2]);
      }
      CHECK(out_d[0] == out_d[1]);
      CHECK(out_d[0] == out_d[2]);
      CHECK(out[0][0] != out[1][0]);  // bf16 operands change the last bits of almost every element
      natives.push_back(out[0][0]);
      bf16s.push_back(out[1][0]);
      doubles.push_back(out_d[0]);
    }
    // The generic engine rounds every multiply-add twice, the vector engines
    // once: their float results differ. avx512 and avx512_bf16 share float
    // kernels but not bf16 ones (emulated against vdpbf16ps).
    for (std::size_t i = 1; i < here.size(); ++i) {
      const std::string engine = name(here[i]);
      CAPTURE(engine);
      if (here[0] == plexus::Engine::generic) CHECK(natives[0] != natives[i]);
      if (here[i] == plexus::Engine::avx512_bf16 && here[i - 1] == plexus::Engine::avx512) {
        CHECK(natives[i] == natives[i - 1]);
        CHECK(bf16s[i] != bf16s[i - 1]);
      }
    }
  }
}
