// Matrix products for the layers: C = alpha * op(A) * op(B) (+ C).
//
// A Goto/BLIS-style driver: each K x N panel of op(B) is packed once and
// shared by all threads, and the rows and columns of C are cut into tasks
// whose sizes depend only on the problem's shape, never on the thread count.
// An element's value thus depends on the shape alone: training is
// bit-reproducible whatever the number of threads. Packing buffers live in
// per-thread workspaces that only grow, so a steady-state training step does
// not touch the heap.
//
// Two engines plug into the driver: Eigen's packing routines and GEBP
// micro-kernel (any scalar, any instruction set), and, for float on CPUs
// with AVX-512, the library's own 48 x 8 micro-kernel, which keeps 24 of the
// 32 vector registers busy as accumulators where Eigen 3.4's kernel uses 12.
// Define PLEXUS_NO_AVX512_GEMM to use Eigen's everywhere.
#pragma once

#include "parallel.hpp"
#include "types.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__) && !defined(PLEXUS_NO_AVX512_GEMM)
#include <immintrin.h>
#define PLEXUS_GEMM_AVX512 1
#else
#define PLEXUS_GEMM_AVX512 0
#endif

namespace plexus {

namespace detail {

template <typename T, int Slot>
Buffer<T>& gemm_workspace() {
  thread_local Buffer<T> ws;
  return ws;
}

inline Index round_up(Index x, Index to) { return (x + to - 1) / to * to; }

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

// Engine: Eigen's packing and GEBP kernel. The kernel accumulates, so a
// block of C that starts from zero is cleared first.
template <typename T>
struct EigenGemmEngine {
  using Traits = Eigen::internal::gebp_traits<T, T>;
  static constexpr Index nr = Traits::nr;
  template <int Order>
  using Mapper = Eigen::internal::const_blas_data_mapper<T, Index, Order>;
  using ResMapper = Eigen::internal::blas_data_mapper<T, Index, Eigen::ColMajor, Eigen::Unaligned, 1>;

  static void blocking(Index& kc, Index& mc, Index& nc) {
    Eigen::internal::computeProductBlockingSizes<T, T, 1, Index>(kc, mc, nc, Index(1));
    mc = std::min<Index>(mc, 128);
  }
  static Index lhs_size(Index mb, Index kc) { return mb * kc; }
  // op(A)[i0 : i0 + mi, k0 : k0 + kc], op(A) = A (ColMajor) or A^T (RowMajor).
  template <int Order>
  static void pack_lhs(T* dst, const T* a, Index lda, Index i0, Index k0, Index mi, Index kc) {
    Eigen::internal::gemm_pack_lhs<T, Index, Mapper<Order>, Traits::mr, Traits::LhsProgress,
                                   typename Traits::LhsPacket4Packing, Order>
        pack;
    pack(dst, Mapper<Order>(a, lda).getSubMapper(i0, k0), kc, mi);
  }
  // op(B)[k0 : k0 + kc, j0 : j0 + nj]; column j of the panel starts at dst + j * kc.
  template <int Order>
  static void pack_rhs(T* dst, const T* b, Index ldb, Index k0, Index j0, Index kc, Index nj) {
    Eigen::internal::gemm_pack_rhs<T, Index, Mapper<Order>, nr, Order> pack;
    pack(dst, Mapper<Order>(b, ldb).getSubMapper(k0, j0), kc, nj);
  }
  // C[mi x nj] (=, or += when !zero) alpha * packed A * packed B.
  static void kernel(T* c, Index ldc, const T* pa, const T* pb, Index mi, Index kc, Index nj, T alpha, bool zero) {
    if (zero) zero_block(c, ldc, mi, nj);
    Eigen::internal::gebp_kernel<T, T, Index, ResMapper, Traits::mr, Traits::nr, false, false> gebp;
    gebp(ResMapper(c, ldc), pa, pb, mi, kc, nj, alpha);
  }
};

#if PLEXUS_GEMM_AVX512
// Engine: float, AVX-512. op(A) is packed in panels of up to 48 rows (the
// last one 16, 32 or 48 wide, zero-padded), each stored k by k; op(B) in
// panels of 8 columns, k by k, zero-padded. The micro-kernel holds a
// 48 x 8 block of C in 24 registers and writes it once, either replacing C
// (the first K-panel of a product with beta = 0: no clearing pass) or adding
// to it; partial blocks are written under masks.
namespace avx512 {

constexpr Index kMr = 48, kNr = 8, kVec = 16;

inline __mmask16 rows_mask(Index rows) {
  return rows >= kVec ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << rows) - 1u);
}

// The shuffles, through their zero-masking forms with every lane selected:
// the plain forms expand to _mm512_undefined_ps(), which g++ 12 reports as
// an uninitialised read (-Wuninitialized, GCC bug 105593).
constexpr __mmask16 kAll = 0xFFFF;
inline __m512 unpacklo(__m512 a, __m512 b) { return _mm512_maskz_unpacklo_ps(kAll, a, b); }
inline __m512 unpackhi(__m512 a, __m512 b) { return _mm512_maskz_unpackhi_ps(kAll, a, b); }
template <int Imm>
inline __m512 shuffle(__m512 a, __m512 b) {
  return _mm512_maskz_shuffle_ps(kAll, a, b, Imm);
}
template <int Imm>
inline __m512 shuffle_lanes(__m512 a, __m512 b) {
  return _mm512_maskz_shuffle_f32x4(kAll, a, b, Imm);
}

// Transposes a 16 x 16 block held as 16 rows.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = unpacklo(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = unpackhi(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i + 0] = shuffle<0x44>(t[4 * i + 0], t[4 * i + 2]);
    r[4 * i + 1] = shuffle<0xEE>(t[4 * i + 0], t[4 * i + 2]);
    r[4 * i + 2] = shuffle<0x44>(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = shuffle<0xEE>(t[4 * i + 1], t[4 * i + 3]);
  }
  // r[4g + e], 128-bit lane l, now holds elements 4l + e of rows 4g..4g+3.
  for (int e = 0; e < 4; ++e) {
    const __m512 u0 = shuffle_lanes<0x44>(r[e], r[4 + e]), u1 = shuffle_lanes<0xEE>(r[e], r[4 + e]);
    const __m512 u2 = shuffle_lanes<0x44>(r[8 + e], r[12 + e]);
    const __m512 u3 = shuffle_lanes<0xEE>(r[8 + e], r[12 + e]);
    t[e] = shuffle_lanes<0x88>(u0, u2);
    t[4 + e] = shuffle_lanes<0xDD>(u0, u2);
    t[8 + e] = shuffle_lanes<0x88>(u1, u3);
    t[12 + e] = shuffle_lanes<0xDD>(u1, u3);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Writes the transpose of `lines` rows of `len` floats each (row l at
// src + l * ld; lines, len <= 16) to dst: element (l, q) goes to
// dst[q * dst_ld + l], for l < lines padded with zeros to `width` <= 16.
inline void pack_transposed(float* dst, Index dst_ld, Index width, const float* src, Index ld, Index lines,
                            Index len) {
  __m512 r[16];
  const __mmask16 m = rows_mask(len);
  for (Index l = 0; l < 16; ++l) r[l] = l < lines ? _mm512_maskz_loadu_ps(m, src + l * ld) : _mm512_setzero_ps();
  transpose16(r);
  const __mmask16 w = rows_mask(width);
  for (Index q = 0; q < len; ++q) _mm512_mask_storeu_ps(dst + q * dst_ld, w, r[q]);
}

template <int Order>
void pack_lhs(float* dst, const float* a, Index lda, Index i0, Index k0, Index mi, Index kc) {
  for (Index p = 0; p < mi; p += kMr) {
    const Index rows = std::min(kMr, mi - p), width = round_up(rows, kVec);
    if (Order == Eigen::ColMajor) {  // element (i, k) at a[i + k * lda]: rows are contiguous
      for (Index k = 0; k < kc; ++k) {
        const float* s = a + (i0 + p) + (k0 + k) * lda;
        float* d = dst + k * width;
        for (Index v = 0; v < width; v += kVec) _mm512_storeu_ps(d + v, _mm512_maskz_loadu_ps(rows_mask(rows - v), s + v));
      }
    } else {  // element (i, k) at a[k + i * lda]: transpose 16 x 16 blocks
      for (Index v = 0; v < width; v += kVec)
        for (Index k = 0; k < kc; k += kVec)
          pack_transposed(dst + k * width + v, width, kVec, a + (k0 + k) + (i0 + p + v) * lda, lda,
                          std::min(kVec, rows - v), std::min(kVec, kc - k));
    }
    dst += width * kc;
  }
}

template <int Order>
void pack_rhs(float* dst, const float* b, Index ldb, Index k0, Index j0, Index kc, Index nj) {
  if (Order == Eigen::RowMajor) {  // element (k, j) at b[j + k * ldb]: read each row once, left to right
    for (Index k = 0; k < kc; ++k) {
      const float* src = b + j0 + (k0 + k) * ldb;
      for (Index q = 0; q < nj; q += kNr)
        _mm512_mask_storeu_ps(dst + q * kc + k * kNr, 0xFF,
                              _mm512_maskz_loadu_ps(rows_mask(std::min(kNr, nj - q)), src + q));
    }
    return;
  }
  for (Index q = 0; q < nj; q += kNr) {  // element (k, j) at b[k + j * ldb]: transpose
    const Index cols = std::min(kNr, nj - q);
    for (Index k = 0; k < kc; k += kVec)
      pack_transposed(dst + k * kNr, kNr, kNr, b + (k0 + k) + (j0 + q) * ldb, ldb, cols, std::min(kVec, kc - k));
    dst += kNr * kc;
  }
}

// C[rows x cols] (=, or += when !zero) alpha * A * B for one panel of A
// (16 * MV wide) and one panel of B (8 wide); rows <= 16 * MV, cols <= 8.
template <int MV>
inline void micro_kernel(Index kc, const float* pa, const float* pb, float* c, Index ldc, Index rows, Index cols,
                         float alpha, bool zero) {
  __m512 acc[MV][kNr];
#pragma GCC unroll 8
  for (int j = 0; j < kNr; ++j)
#pragma GCC unroll 3
    for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (Index k = 0; k < kc; ++k) {
    __m512 av[MV];
#pragma GCC unroll 3
    for (int v = 0; v < MV; ++v) av[v] = _mm512_loadu_ps(pa + v * kVec);
#pragma GCC unroll 8
    for (int j = 0; j < kNr; ++j) {
      const __m512 bj = _mm512_set1_ps(pb[j]);
#pragma GCC unroll 3
      for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_fmadd_ps(av[v], bj, acc[v][j]);
    }
    pa += MV * kVec;
    pb += kNr;
  }
  const __m512 al = _mm512_set1_ps(alpha);
  __mmask16 masks[MV];
  for (int v = 0; v < MV; ++v) masks[v] = rows_mask(rows - v * kVec);
  if (cols == kNr && rows == MV * kVec) {
#pragma GCC unroll 8
    for (int j = 0; j < kNr; ++j)
#pragma GCC unroll 3
      for (int v = 0; v < MV; ++v) {
        float* p = c + j * ldc + v * kVec;
        _mm512_storeu_ps(p, zero ? _mm512_mul_ps(al, acc[v][j]) : _mm512_fmadd_ps(al, acc[v][j], _mm512_loadu_ps(p)));
      }
    return;
  }
  for (int j = 0; j < kNr; ++j) {
    if (j >= cols) break;
    for (int v = 0; v < MV; ++v) {
      if (v * kVec >= rows) break;
      float* p = c + j * ldc + v * kVec;
      const __m512 r = zero ? _mm512_mul_ps(al, acc[v][j])
                            : _mm512_fmadd_ps(al, acc[v][j], _mm512_maskz_loadu_ps(masks[v], p));
      _mm512_mask_storeu_ps(p, masks[v], r);
    }
  }
}

}  // namespace avx512

struct Avx512GemmEngine {
  static constexpr Index nr = avx512::kNr;
  static void blocking(Index& kc, Index& mc, Index& nc) {
    // Whole K up to 512, else equal K-panels of at most 384; C in column
    // blocks of at most 2048.
    const Index k = kc;
    if (k > 512) {
      const Index panels = (k + 383) / 384;
      kc = round_up((k + panels - 1) / panels, 8);
    }
    mc = 128;
    nc = std::min<Index>(nc, 2048);
  }
  static Index lhs_size(Index mb, Index kc) { return round_up(mb, avx512::kVec) * kc; }
  template <int Order>
  static void pack_lhs(float* dst, const float* a, Index lda, Index i0, Index k0, Index mi, Index kc) {
    avx512::pack_lhs<Order>(dst, a, lda, i0, k0, mi, kc);
  }
  template <int Order>
  static void pack_rhs(float* dst, const float* b, Index ldb, Index k0, Index j0, Index kc, Index nj) {
    avx512::pack_rhs<Order>(dst, b, ldb, k0, j0, kc, nj);
  }
  static void kernel(float* c, Index ldc, const float* pa, const float* pb, Index mi, Index kc, Index nj,
                     float alpha, bool zero) {
    using namespace avx512;
    for (Index q = 0; q < nj; q += kNr) {
      const Index cols = std::min(kNr, nj - q);
      const float* a = pa;
      for (Index p = 0; p < mi; p += kMr) {
        const Index rows = std::min(kMr, mi - p), width = round_up(rows, kVec);
        float* cp = c + p + q * ldc;
        if (width == 48) micro_kernel<3>(kc, a, pb, cp, ldc, rows, cols, alpha, zero);
        else if (width == 32) micro_kernel<2>(kc, a, pb, cp, ldc, rows, cols, alpha, zero);
        else micro_kernel<1>(kc, a, pb, cp, ldc, rows, cols, alpha, zero);
        a += width * kc;
      }
      pb += kNr * kc;
    }
  }
};
#endif

template <typename Engine, typename T, int LhsOrder, int RhsOrder, typename Epilogue>
void gemm_impl(Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb, bool zero_c, T* c,
               Index ldc, Epilogue& epilogue) {
  constexpr Index nr = Engine::nr;
  constexpr Index align = 64 / static_cast<Index>(sizeof(T));

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

  Index kc = k, mc = m, nc = n;
  Engine::blocking(kc, mc, nc);
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
        const Index j = s * 64, w = std::min<Index>(64, nc2 - j);
        Engine::template pack_rhs<RhsOrder>(block_b + j * kc2, b, ldb, k2, j2 + j, kc2, w);
      };
      const std::uint64_t panel = next_panel_id();
      // Tasks run row block by row block, and a thread takes all the column
      // tasks of a row block at once (dynamically, for balance), so each row
      // block of op(A) is packed once.
      auto compute = [&](Index task) {
        const Index i0 = (task / t.col_tasks) * t.mb, jj = (task % t.col_tasks) * t.nb;
        const Index mi = std::min(t.mb, m - i0), nj = std::min(t.nb, nc2 - jj);
        Buffer<T>& ws = gemm_workspace<T, 1>();
        PackedLhs& memo = packed_lhs_memo();
        if (memo.panel != panel || memo.i0 != i0) {
          Engine::template pack_lhs<LhsOrder>(ws.data(), a, lda, i0, k2, mi, kc2);
          memo.panel = panel;
          memo.i0 = i0;
        }
        Engine::kernel(c + i0 + (j2 + jj) * ldc, ldc, ws.data(), block_b + jj * kc2, mi, kc2, nj, alpha,
                       first && zero_c);
        if (last) epilogue(i0, j2 + jj, mi, nj);
      };
      const Index tasks = t.row_tasks * t.col_tasks;
      // Every thread sizes its own workspace, whether or not it wins a task
      // this time, so no later step finds a thread with a small one.
      const auto a_size = static_cast<std::size_t>(round_up(Engine::lhs_size(t.mb, kc2), align) + align);
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

// The engine gemm() uses for T.
template <typename T>
struct DefaultGemmEngine {
  using type = EigenGemmEngine<T>;
};
#if PLEXUS_GEMM_AVX512
template <>
struct DefaultGemmEngine<float> {
  using type = Avx512GemmEngine;
};
#endif

template <typename Engine, typename T, typename Epilogue>
void gemm_with(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b,
               Index ldb, T beta, T* c, Index ldc, Epilogue& e) {
  if (m <= 0 || n <= 0) return;
  const bool zero_c = beta == T(0);
  if (!trans_a && !trans_b)
    gemm_impl<Engine, T, Eigen::ColMajor, Eigen::ColMajor>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
  else if (!trans_a && trans_b)
    gemm_impl<Engine, T, Eigen::ColMajor, Eigen::RowMajor>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
  else if (trans_a && !trans_b)
    gemm_impl<Engine, T, Eigen::RowMajor, Eigen::ColMajor>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
  else
    gemm_impl<Engine, T, Eigen::RowMajor, Eigen::RowMajor>(m, n, k, alpha, a, lda, b, ldb, zero_c, c, ldc, e);
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
  using E = std::remove_reference_t<Epilogue>;
  E& e = epilogue;
  detail::gemm_with<typename detail::DefaultGemmEngine<T>::type, T>(trans_a, trans_b, m, n, k, alpha, a, lda, b,
                                                                     ldb, beta, c, ldc, e);
}

}  // namespace plexus
