// Matrix products for the layers: C = alpha * op(A) * op(B) (+ C).
//
// A Goto/BLIS-style driver over Eigen's packing routines and micro-kernel:
// each K x N panel of op(B) is packed once and shared by all threads, and
// the rows and columns of C are cut into tasks whose sizes depend only on
// the problem's shape, never on the thread count. An element's value thus
// depends on the shape alone: training is bit-reproducible whatever the
// number of threads. Packing buffers live in per-thread workspaces that only
// grow, so a steady-state training step does not touch the heap.
#pragma once

#include "parallel.hpp"
#include "types.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace plexus {

namespace detail {

template <typename T, int Slot>
Buffer<T>& gemm_workspace() {
  thread_local Buffer<T> ws;
  return ws;
}

inline Index round_up(Index x, Index to) { return (x + to - 1) / to * to; }

// What a thread's LHS workspace holds: the row block `i0` of K-panel number
// `panel` (a process-wide count, so no two panels share a number). A thread
// that runs several column tasks of one row block packs it once.
struct PackedLhs {
  std::uint64_t panel = 0;
  Index i0 = -1;
};
inline PackedLhs& packed_lhs_memo() {
  thread_local PackedLhs memo;
  return memo;
}
inline std::uint64_t next_panel_id() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

// The task grid of one K-panel: rows in blocks of mb, columns in blocks of
// nb (a multiple of the micro-kernel's nr). Shape-only, so results never
// depend on the thread count; aims at >= 16 tasks of >= 48 x 64 for balance.
struct GemmTasks {
  Index mb, nb, row_tasks, col_tasks;
};
inline GemmTasks gemm_tasks(Index m, Index nc, Index mc, Index nr) {
  GemmTasks t{};
  t.mb = std::min<Index>({m, mc, 128});
  t.row_tasks = (m + t.mb - 1) / t.mb;
  t.nb = round_up(nc, nr);
  while (t.row_tasks * ((nc + t.nb - 1) / t.nb) < 16 && t.nb >= 2 * 64) t.nb = round_up(t.nb / 2, nr);
  t.col_tasks = (nc + t.nb - 1) / t.nb;
  return t;
}

template <typename T, int LhsOrder, int RhsOrder, typename Epilogue>
void gemm_impl(Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb, bool zero_c, T* c,
               Index ldc, Epilogue& epilogue) {
  using namespace Eigen::internal;
  using Traits = gebp_traits<T, T>;
  using LhsMapper = const_blas_data_mapper<T, Index, LhsOrder>;
  using RhsMapper = const_blas_data_mapper<T, Index, RhsOrder>;
  using ResMapper = blas_data_mapper<T, Index, Eigen::ColMajor, Eigen::Unaligned, 1>;
  constexpr Index nr = Traits::nr;
  constexpr Index align = 64 / static_cast<Index>(sizeof(T));

  const LhsMapper lhs(a, lda);
  const RhsMapper rhs(b, ldb);
  const ResMapper res(c, ldc);
  auto zero = [&](Index i0, Index j0, Index mi, Index nj) {
    for (Index j = j0; j < j0 + nj; ++j) std::fill(c + i0 + j * ldc, c + i0 + mi + j * ldc, T(0));
  };

  if (k == 0) {
    const GemmTasks t = gemm_tasks(m, n, m, nr);
    parallel_for(t.row_tasks * t.col_tasks, [&](Index task) {
      const Index i0 = (task % t.row_tasks) * t.mb, j0 = (task / t.row_tasks) * t.nb;
      const Index mi = std::min(t.mb, m - i0), nj = std::min(t.nb, n - j0);
      if (zero_c) zero(i0, j0, mi, nj);
      epilogue(i0, j0, mi, nj);
    });
    return;
  }

  Index kc = k, mc = m, nc = n;
  computeProductBlockingSizes<T, T, 1, Index>(kc, mc, nc, Index(1));
  Buffer<T>& shared_b = gemm_workspace<T, 0>();
  shared_b.reserve(static_cast<std::size_t>(round_up(kc * round_up(nc, nr), align) + align));
  T* block_b = shared_b.data();

  for (Index j2 = 0; j2 < n; j2 += nc) {
    const Index nc2 = std::min(nc, n - j2);
    const GemmTasks t = gemm_tasks(m, nc2, mc, nr);
    const Index strips = (nc2 + 63) / 64;
    for (Index k2 = 0; k2 < k; k2 += kc) {
      const Index kc2 = std::min(kc, k - k2);
      const bool first = k2 == 0, last = k2 + kc2 == k;
      // Pack op(B)[k2 : k2 + kc2, j2 : j2 + nc2] once, in column strips
      // (packing is a copy: any split gives the same packed panel).
      auto pack_strip = [&](Index s) {
        gemm_pack_rhs<T, Index, RhsMapper, nr, RhsOrder> pack_rhs;
        const Index j = s * 64, w = std::min<Index>(64, nc2 - j);
        pack_rhs(block_b + j * kc2, rhs.getSubMapper(k2, j2 + j), kc2, w);
      };
      const std::uint64_t panel = next_panel_id();
      // Tasks run row block by row block, and a thread takes all the column
      // tasks of a row block at once (dynamically, for balance), so each row
      // block of op(A) is packed once.
      auto compute = [&](Index task) {
        gemm_pack_lhs<T, Index, LhsMapper, Traits::mr, Traits::LhsProgress, typename Traits::LhsPacket4Packing,
                      LhsOrder>
            pack_lhs;
        gebp_kernel<T, T, Index, ResMapper, Traits::mr, Traits::nr, false, false> gebp;
        const Index i0 = (task / t.col_tasks) * t.mb, jj = (task % t.col_tasks) * t.nb;
        const Index mi = std::min(t.mb, m - i0), nj = std::min(t.nb, nc2 - jj);
        Buffer<T>& ws = gemm_workspace<T, 1>();
        if (first && zero_c) zero(i0, j2 + jj, mi, nj);
        PackedLhs& memo = packed_lhs_memo();
        if (memo.panel != panel || memo.i0 != i0) {
          pack_lhs(ws.data(), lhs.getSubMapper(i0, k2), kc2, mi);
          memo.panel = panel;
          memo.i0 = i0;
        }
        gebp(res.getSubMapper(i0, j2 + jj), ws.data(), block_b + jj * kc2, mi, kc2, nj, alpha);
        if (last) epilogue(i0, j2 + jj, mi, nj);
      };
      const Index tasks = t.row_tasks * t.col_tasks;
      const int chunk = static_cast<int>(t.col_tasks);
      // Every thread sizes its own workspace, whether or not it wins a task
      // this time, so no later step finds a thread with a small one.
      const auto a_size = static_cast<std::size_t>(round_up(kc2 * t.mb, align) + align);
#if defined(_OPENMP)
      // Small products run on one thread: a fork/join costs more than they
      // do. Which thread runs a task never changes its result.
      const Index work_threads = std::max<Index>(1, (m * nc2 * kc2) / (Index(1) << 17));
      const int threads = static_cast<int>(std::min<Index>({num_threads(), tasks, work_threads}));
      if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
        {
          gemm_workspace<T, 1>().reserve(a_size);
#pragma omp for schedule(static)
          for (Index s = 0; s < strips; ++s) pack_strip(s);
#pragma omp for schedule(dynamic, chunk)
          for (Index task = 0; task < tasks; ++task) compute(task);
        }
        continue;
      }
#endif
      gemm_workspace<T, 1>().reserve(a_size);
      for (Index s = 0; s < strips; ++s) pack_strip(s);
      for (Index task = 0; task < tasks; ++task) compute(task);
    }
  }
}

}  // namespace detail

struct NoEpilogue {
  void operator()(Index, Index, Index, Index) const {}
};

// C(m x n) = alpha * op(A) * op(B) + beta * C for beta in {0, 1}, column-major
// with leading dimensions; op(X) is X or its transpose. Once a block of C is
// final, epilogue(row0, col0, rows, cols) runs on the thread that computed
// it, so a bias or activation is applied while the block is in cache.
template <typename T, typename Epilogue = NoEpilogue>
void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b,
          Index ldb, T beta, T* c, Index ldc, Epilogue&& epilogue = Epilogue()) {
  if (m <= 0 || n <= 0) return;
  const bool zero_c = beta == T(0);
  using E = std::remove_reference_t<Epilogue>;
  E& e = epilogue;
  if (!trans_a && !trans_b)
    detail::gemm_impl<T, Eigen::ColMajor, Eigen::ColMajor, E>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
  else if (!trans_a && trans_b)
    detail::gemm_impl<T, Eigen::ColMajor, Eigen::RowMajor, E>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
  else if (trans_a && !trans_b)
    detail::gemm_impl<T, Eigen::RowMajor, Eigen::ColMajor, E>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
  else
    detail::gemm_impl<T, Eigen::RowMajor, Eigen::RowMajor, E>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
}

}  // namespace plexus
