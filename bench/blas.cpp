// The library's GEMM driver against OpenBLAS's sgemm, at the products of
// one block of the answer's network as a training step runs them: one part
// of 512 rows per thread. Built only where OpenBLAS is installed
// (libopenblas-openmp-dev); Debian's OpenBLAS does not recognise every CPU,
// so run it as installed and with OPENBLAS_CORETYPE set (e.g. SkylakeX).
//
//   plexus_vs_blas [--rows R] [--rounds N]
//
// Part 1: each of the block's 15 products (forward, to the input and to the
// weights of Dense 128/384/640/896 -> 256 and 1152 -> 128) on one thread,
// best of N rounds, the two libraries alternated. Part 2: T threads (OpenMP's
// default, or OMP_NUM_THREADS) each run the 15 products on buffers of their
// own, as the parts of a training step do, with nothing else running; and
// the 2048^3 product on T threads by both, the ceiling compare_torch.sh
// derives its limit line from. The ratio of the two says how close to
// that limit a step could come if it did nothing but its products.
#include <plexus/plexus.hpp>

#include "args.hpp"  // the example's strict flag parser

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

extern "C" char* openblas_get_corename(void);
extern "C" void openblas_set_num_threads(int);

namespace {

using Clock = std::chrono::steady_clock;
using plexus::Index;

struct Product {
  const char* what;
  bool ta, tb;
  Index m, n, k;
};

// C = op(A) op(B), column-major, leading dimensions as tight as possible.
void run(bool blas, const Product& p, const float* a, const float* b, float* c) {
  const Index lda = p.ta ? p.k : p.m, ldb = p.tb ? p.n : p.k;
  if (blas)
    cblas_sgemm(CblasColMajor, p.ta ? CblasTrans : CblasNoTrans, p.tb ? CblasTrans : CblasNoTrans,
                static_cast<int>(p.m), static_cast<int>(p.n), static_cast<int>(p.k), 1.0f, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), 0.0f, c, static_cast<int>(p.m));
  else plexus::gemm<float>(p.ta, p.tb, p.m, p.n, p.k, 1.0f, a, lda, b, ldb, 0.0f, c, p.m);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The best time of body(false) (Plexus) and of body(true) (OpenBLAS) over
// `rounds` rounds, the two alternated within each round.
template <typename F>
std::array<double, 2> best_alternated(long rounds, F&& body) {
  std::array<double, 2> best{1e30, 1e30};
  for (long r = 0; r < rounds; ++r)
    for (int lib = 0; lib < 2; ++lib) {
      const auto t0 = Clock::now();
      body(lib == 1);
      best[static_cast<std::size_t>(lib)] = std::min(best[static_cast<std::size_t>(lib)], seconds_since(t0));
    }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  Index rows = 512;
  long rounds = 10;
  try {
    const mi::Args args("plexus_vs_blas", std::vector<std::string>(argv + 1, argv + argc),
                        {{"rows", true}, {"rounds", true}, {"help", false}});
    if (args.has("help")) {
      std::printf("usage: plexus_vs_blas [--rows R] [--rounds N]\n");
      return 0;
    }
    rows = static_cast<Index>(args.integer("rows", rows, 1, 4096));
    rounds = static_cast<long>(args.integer("rounds", rounds, 1, 1000));
  } catch (const mi::usage_error& e) {
    std::fprintf(stderr, "%s\nusage: plexus_vs_blas [--rows R] [--rounds N]\n", e.what());
    return 2;
  }
  const int threads = plexus::num_threads();
  std::vector<Product> block;
  const Index in[5] = {128, 384, 640, 896, 1152}, out[5] = {256, 256, 256, 256, 128};
  for (int l = 0; l < 5; ++l) {
    block.push_back({"forward       ", false, false, rows, out[l], in[l]});
    block.push_back({"to the input  ", false, true, rows, in[l], out[l]});
    block.push_back({"to the weights", true, false, in[l], out[l], rows});
  }
  double flop = 0;
  std::size_t size = 0;
  for (const Product& p : block) {
    flop += 2.0 * static_cast<double>(p.m * p.n * p.k);
    size = std::max({size, static_cast<std::size_t>(p.m * p.k), static_cast<std::size_t>(p.k * p.n),
                     static_cast<std::size_t>(p.m * p.n)});
  }
  std::vector<std::vector<float>> a(static_cast<std::size_t>(threads)), b(a.size()), c(a.size());
  plexus::Rng rng(1);
  for (std::size_t t = 0; t < a.size(); ++t) {
    a[t].resize(size);
    b[t].resize(size);
    c[t].assign(size, 0.0f);
    for (std::size_t i = 0; i < size; ++i) {
      a[t][i] = static_cast<float>(rng.uniform(-1, 1));
      b[t][i] = static_cast<float>(rng.uniform(-1, 1));
    }
  }
  std::printf("OpenBLAS core: %s; %d thread(s); parts of %ld rows; best of %ld rounds\n", openblas_get_corename(),
              threads, static_cast<long>(rows), rounds);

  // Part 1: one thread, product by product.
  plexus::set_num_threads(1);
  openblas_set_num_threads(1);
  std::printf("\none thread, GFLOP/s          m     n     k    Plexus  OpenBLAS\n");
  double time_plexus = 0, time_blas = 0;
  for (const Product& p : block) {
    const double f = 2.0 * static_cast<double>(p.m * p.n * p.k);
    const int reps = std::max(1, static_cast<int>(2e8 / f));
    auto best = best_alternated(rounds, [&](bool blas) {
      for (int i = 0; i < reps; ++i) run(blas, p, a[0].data(), b[0].data(), c[0].data());
    });
    for (double& t : best) t /= reps;
    time_plexus += best[0];
    time_blas += best[1];
    std::printf("  %s %c%c %5ld %5ld %5ld   %7.1f   %7.1f\n", p.what, p.ta ? 'T' : 'N', p.tb ? 'T' : 'N',
                static_cast<long>(p.m), static_cast<long>(p.n), static_cast<long>(p.k), f / best[0] * 1e-9,
                f / best[1] * 1e-9);
  }
  std::printf("  the block's 15 products: Plexus %.1f, OpenBLAS %.1f GFLOP/s (Plexus %.2fx)\n",
              flop / time_plexus * 1e-9, flop / time_blas * 1e-9, time_blas / time_plexus);

  // Part 2: every thread runs the block on buffers of its own.
  if (threads > 1) {
    auto best = best_alternated(rounds, [&](bool blas) {
#pragma omp parallel num_threads(threads)
      {
        const auto t = static_cast<std::size_t>(omp_get_thread_num());
        for (int i = 0; i < 5; ++i)
          for (const Product& p : block) run(blas, p, a[t].data(), b[t].data(), c[t].data());
      }
    });
    for (double& t : best) t /= 5;
    std::printf("\n%d threads, each its own part of %ld rows (the products of a training step, nothing else):\n",
                threads, static_cast<long>(rows));
    std::printf("  Plexus %.1f, OpenBLAS %.1f GFLOP/s in all\n", threads * flop / best[0] * 1e-9,
                threads * flop / best[1] * 1e-9);
    const double parts = threads * flop / std::min(best[0], best[1]) * 1e-9;

    // Part 3: the 2048^3 ceiling on all the threads.
    plexus::set_num_threads(threads);
    openblas_set_num_threads(threads);
    const Index n = 2048;
    std::vector<float> x(static_cast<std::size_t>(n * n)), y(x.size()), z(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(rng.uniform(-1, 1));
      y[i] = static_cast<float>(rng.uniform(-1, 1));
    }
    const Product square{"", false, false, n, n, n};
    const auto best_sq =
        best_alternated(std::min(rounds, 4L), [&](bool blas) { run(blas, square, x.data(), y.data(), z.data()); });
    const double sq = 2.0 * static_cast<double>(n * n * n) * 1e-9;
    const double ceiling = std::max(sq / best_sq[0], sq / best_sq[1]);
    std::printf("\n2048^3 on %d threads: Plexus %.1f, OpenBLAS %.1f GFLOP/s\n", threads, sq / best_sq[0],
                sq / best_sq[1]);
    std::printf("  the faster parts' rate is %.2f of the faster 2048^3 rate\n", parts / ceiling);
  }
  return 0;
}
