// Matrix products for the layers: C = alpha * op(A) * op(B) (+ C).
//
// The output is cut into tiles whose sizes depend only on the problem's
// shape, never on the thread count; each tile is one single-threaded Eigen
// GEMM with its full inner dimension. An element's value therefore depends
// on the shape alone, which is what makes training bit-reproducible across
// thread counts. Packing buffers live in per-thread workspaces that only
// grow, so a steady-state training step does not touch the heap.
#pragma once

#include "parallel.hpp"
#include "types.hpp"

#include <Eigen/Core>

#include <algorithm>

namespace plexus {

namespace detail {

// Eigen's blocking object, pointed at our own packing memory.
template <typename T>
class WorkspaceBlocking : public Eigen::internal::level3_blocking<T, T> {
 public:
  WorkspaceBlocking(Index mc, Index nc, Index kc, T* block_a, T* block_b) {
    this->m_mc = mc;
    this->m_nc = nc;
    this->m_kc = kc;
    this->m_blockA = block_a;
    this->m_blockB = block_b;
  }
};

template <typename T>
Buffer<T>& packing_workspace() {
  thread_local Buffer<T> ws;
  return ws;
}

inline Index round_up(Index x, Index to) { return (x + to - 1) / to * to; }

// C(m x n) += alpha * op(A) * op(B) on the calling thread.
template <typename T, int LhsOrder, int RhsOrder>
void serial_gemm(Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb, T* c,
                 Index ldc) {
  if (m == 0 || n == 0 || k == 0) return;
  Index kc = k, mc = m, nc = n;
  Eigen::internal::computeProductBlockingSizes<T, T, 1, Index>(kc, mc, nc, Index(1));
  constexpr Index align = 64 / static_cast<Index>(sizeof(T));
  const Index size_a = round_up(kc * mc, align) + align;
  const Index size_b = round_up(kc * nc, align) + align;
  Buffer<T>& ws = packing_workspace<T>();
  ws.reserve(static_cast<std::size_t>(size_a + size_b));
  WorkspaceBlocking<T> blocking(mc, nc, kc, ws.data(), ws.data() + size_a);
  Eigen::internal::general_matrix_matrix_product<Index, T, LhsOrder, false, T, RhsOrder, false, Eigen::ColMajor,
                                                 1>::run(m, n, k, a, lda, b, ldb, c, 1, ldc, alpha, blocking,
                                                         nullptr);
}

}  // namespace detail

// Tile edge along one output dimension: whole when small, else fixed pieces.
inline Index gemm_tile(Index extent) { return extent <= 192 ? extent : 128; }

struct NoEpilogue {
  void operator()(Index, Index, Index, Index) const {}
};

// C(m x n) = alpha * op(A) * op(B) + beta * C for beta in {0, 1}, column-major
// with leading dimensions. op(X) is X or its transpose. After each tile of C
// is final, epilogue(row0, col0, rows, cols) runs on the same thread, so a
// bias or activation can be applied while the tile is still in cache.
template <typename T, typename Epilogue = NoEpilogue>
void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b,
          Index ldb, T beta, T* c, Index ldc, Epilogue&& epilogue = Epilogue()) {
  if (m <= 0 || n <= 0) return;
  const Index tm = gemm_tile(m), tn = gemm_tile(n);
  const Index tiles_m = (m + tm - 1) / tm, tiles_n = (n + tn - 1) / tn;
  parallel_for(tiles_m * tiles_n, [&](Index t) {
    const Index i0 = (t % tiles_m) * tm, j0 = (t / tiles_m) * tn;
    const Index mi = std::min(tm, m - i0), nj = std::min(tn, n - j0);
    T* ct = c + i0 + j0 * ldc;
    if (beta == T(0)) {
      Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>(ct, mi, nj, Eigen::OuterStride<>(ldc)).setZero();
    }
    // op(A) rows i0.. : A(i0, 0) when not transposed, A(0, i0) when transposed.
    const T* at = trans_a ? a + i0 * lda : a + i0;
    const T* bt = trans_b ? b + j0 : b + j0 * ldb;
    if (!trans_a && !trans_b)
      detail::serial_gemm<T, Eigen::ColMajor, Eigen::ColMajor>(mi, nj, k, alpha, at, lda, bt, ldb, ct, ldc);
    else if (!trans_a && trans_b)
      detail::serial_gemm<T, Eigen::ColMajor, Eigen::RowMajor>(mi, nj, k, alpha, at, lda, bt, ldb, ct, ldc);
    else if (trans_a && !trans_b)
      detail::serial_gemm<T, Eigen::RowMajor, Eigen::ColMajor>(mi, nj, k, alpha, at, lda, bt, ldb, ct, ldc);
    else
      detail::serial_gemm<T, Eigen::RowMajor, Eigen::RowMajor>(mi, nj, k, alpha, at, lda, bt, ldb, ct, ldc);
    epilogue(i0, j0, mi, nj);
  });
}

}  // namespace plexus
