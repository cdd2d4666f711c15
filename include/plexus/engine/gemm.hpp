// Matrix products for the layers: C = alpha * op(A) * op(B) (+ C).
//
// A Goto/BLIS-style driver: each K x N panel of op(B) is packed once and
// shared by all threads (op(A) is packed per row block, or read in place
// when it is not transposed and the engine can), and the rows and columns
// of C are cut into tasks whose sizes depend only on the problem's shape,
// never on the thread count.
// An element's value thus depends on the shape (and the engine) alone:
// training is bit-reproducible whatever the number of threads. Packing
// buffers live in per-thread workspaces that only grow, so a steady-state
// training step does not touch the heap.
//
// The packing routines and micro-kernels come from the engine running now
// (engine/engine.hpp, engine/dispatch.hpp): generic, avx2, avx512 (a 48 x 8
// float micro-kernel that keeps 24 of the 32 vector registers busy as
// accumulators), avx512_bf16 and amx (bf16 products).
#pragma once

#include "../core/bf16.hpp"
#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "dispatch.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <type_traits>

namespace plexus {

namespace detail {

template <typename T, int Slot>
Buffer<T>& gemm_workspace() {
  thread_local Buffer<T> ws;
  return ws;
}

// Sets the mi x nj block of C at c (column-major, leading dimension ldc) to zero.
template <typename T>
void zero_block(T* c, Index ldc, Index mi, Index nj) {
  for (Index j = 0; j < nj; ++j) std::fill(c + j * ldc, c + j * ldc + mi, T(0));
}

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
  t.mb = std::min<Index>(m, mc);
  t.row_tasks = (m + t.mb - 1) / t.mb;
  t.nb = round_up(nc, nr);
  while (t.row_tasks * ((nc + t.nb - 1) / t.nb) < 16 && t.nb >= 2 * 64) t.nb = round_up(t.nb / 2, nr);
  t.col_tasks = (nc + t.nb - 1) / t.nb;
  return t;
}

// Blocking of a product of depth k: the whole K up to kc_whole, else equal
// K-panels of at most kc_panel (rounded up to kc_round); shape-only.
template <typename T>
Index gemm_depth_block(const GemmKernels<T>& ker, Index k) {
  if (k <= ker.kc_whole) return k;
  const Index panels = (k + ker.kc_panel - 1) / ker.kc_panel;
  return round_up((k + panels - 1) / panels, ker.kc_round);
}

template <typename T, typename Epilogue>
void gemm_impl(const GemmKernels<T>& ker, bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a,
               Index lda, const T* b, Index ldb, bool zero_c, T* c, Index ldc, Epilogue& epilogue) {
  const Index nr = ker.nr;
  constexpr Index align = 64 / static_cast<Index>(sizeof(T));
  // Workspaces are counted in T; packed elements may be narrower (bf16).
  auto elements = [](std::size_t bytes) { return (bytes + sizeof(T) - 1) / sizeof(T) + align; };

  if (k == 0) {
    const GemmTasks t = gemm_tasks(m, n, std::min<Index>(m, 128), nr);
    parallel_for(t.row_tasks * t.col_tasks, [&](Index task) {
      const Index i0 = (task % t.row_tasks) * t.mb, j0 = (task / t.row_tasks) * t.nb;
      const Index mi = std::min(t.mb, m - i0), nj = std::min(t.nb, n - j0);
      if (zero_c) zero_block(c + i0 + j0 * ldc, ldc, mi, nj);
      epilogue(i0, j0, mi, nj);
    });
    return;
  }

  const Index kc = gemm_depth_block(ker, k), mc = ker.mc, nc = std::min<Index>(n, ker.nc);
  const auto pack_a = ker.pack_lhs[trans_a ? 1 : 0];
  // op(A) = A is read in place where the engine can (its columns are
  // contiguous already) and a block's rows fill whole registers, so only
  // op(B) is packed.
  const bool direct_a = !trans_a && ker.kernel_direct != nullptr;
  const auto pack_b = ker.pack_rhs[trans_b ? 1 : 0];
  Buffer<T>& shared_b = gemm_workspace<T, 0>();
  shared_b.reserve(elements(ker.rhs_offset(round_up(nc, nr), kc)));
  auto* block_b = reinterpret_cast<unsigned char*>(shared_b.data());

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
        const Index j = s * 64, w = std::min<Index>(64, nc2 - j);
        pack_b(block_b + ker.rhs_offset(j, kc2), b, ldb, k2, j2 + j, kc2, w);
      };
      const std::uint64_t panel = next_panel_id();
      // Tasks run row block by row block, and a thread takes all the column
      // tasks of a row block at once (dynamically, for balance), so each row
      // block of op(A) is packed once.
      auto compute = [&](Index task) {
        const Index i0 = (task / t.col_tasks) * t.mb, jj = (task % t.col_tasks) * t.nb;
        const Index mi = std::min(t.mb, m - i0), nj = std::min(t.nb, nc2 - jj);
        T* const cb = c + i0 + (j2 + jj) * ldc;
        const auto* pb = block_b + ker.rhs_offset(jj, kc2);
        if (direct_a && mi % ker.row_align == 0) {  // else the last panel would need masked loads
          ker.kernel_direct(cb, ldc, a + i0 + k2 * lda, lda, pb, mi, kc2, nj, alpha, first && zero_c);
        } else {
          Buffer<T>& ws = gemm_workspace<T, 1>();
          PackedLhs& memo = packed_lhs_memo();
          if (memo.panel != panel || memo.i0 != i0) {
            pack_a(ws.data(), a, lda, i0, k2, mi, kc2);
            memo.panel = panel;
            memo.i0 = i0;
          }
          ker.kernel(cb, ldc, ws.data(), pb, mi, kc2, nj, alpha, first && zero_c);
        }
        if (last) epilogue(i0, j2 + jj, mi, nj);
      };
      const Index tasks = t.row_tasks * t.col_tasks;
      // Every thread sizes its own workspace, whether or not it wins a task
      // this time, so no later step finds a thread with a small one.
      const std::size_t a_size = elements(ker.lhs_bytes(t.mb, kc2));
#if defined(_OPENMP)
      // Small products run on one thread: a fork/join costs more than they
      // do. Which thread runs a task never changes its result.
      const Index work_threads = std::max<Index>(1, (m * nc2 * kc2) / (Index(1) << 17));
      const int threads = static_cast<int>(std::min<Index>({num_threads(), tasks, work_threads}));
      if (threads > 1 && !omp_in_parallel()) {
        // A thread takes a whole row block (packing it once), unless there
        // are fewer row blocks than threads.
        const int chunk = t.row_tasks >= threads ? static_cast<int>(t.col_tasks) : 1;
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

// C = alpha op(A) op(B) + beta C with the given kernels (beta 0 or 1).
template <typename T, typename Epilogue>
void gemm_with(const GemmKernels<T>& ker, bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a,
               Index lda, const T* b, Index ldb, T beta, T* c, Index ldc, Epilogue& e) {
  if (m <= 0 || n <= 0) return;
  gemm_impl<T>(ker, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta == T(0), c, ldc, e);
}

}  // namespace detail

struct NoEpilogue {
  void operator()(Index, Index, Index, Index) const {}
};

// C(m x n) = alpha * op(A) * op(B) + beta * C for beta in {0, 1}, column-major
// with leading dimensions; op(X) is X or its transpose. Once a block of C is
// final, epilogue(row0, col0, rows, cols) runs on the thread that computed
// it, so a bias or activation is applied while the block is in cache.
// precision: Precision::bf16 rounds float operands to bf16 as they are
// packed and sums the products in float (double operands: value_error).
template <typename T, typename Epilogue = NoEpilogue>
void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
          T beta, T* c, Index ldc, Epilogue&& epilogue = Epilogue(), Precision precision = Precision::native) {
  using E = std::remove_reference_t<Epilogue>;
  E& e = epilogue;
  const detail::GemmKernels<T>& ker = detail::gemm_kernels_for<T>(precision);
  detail::gemm_with<T>(ker, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, e);
}

// The same without an epilogue.
template <typename T>
void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
          T beta, T* c, Index ldc, Precision precision) {
  gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NoEpilogue(), precision);
}

}  // namespace plexus
