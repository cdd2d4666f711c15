// The dispatch table: one set of function pointers per engine for the
// products' packing and micro-kernels, the one-row dot products, sums,
// finiteness checks and Adam's update, and what the GEMM driver needs to
// know about each engine's packed layout.
#pragma once

#include "../core/types.hpp"

#include <cstdint>
#include <type_traits>

namespace plexus {
namespace detail {

inline constexpr Index round_up(Index x, Index to) { return (x + to - 1) / to * to; }

// One Adam (or AdamW) step's coefficients, as PyTorch 1.13 forms them:
//   g' = g + weight_decay * p                 (Adam's L2 term; 0: none)
//   p  = decay * p                            (AdamW; 1: none)
//   m  = beta1 m + (1 - beta1) g';  v = beta2 v + (1 - beta2) g'^2
//   p -= step_size * m / (sqrt(v) / bias2_sqrt + eps)
// with step_size = lr / (1 - beta1^t), bias2_sqrt = sqrt(1 - beta2^t).
template <typename T>
struct AdamCoefficients {
  T step_size = 0, bias2_sqrt = 1;
  T beta1 = 0, beta2 = 0, one_minus_beta1 = 1, one_minus_beta2 = 1, eps = 0;
  T weight_decay = 0;
  T decay = 1;
};

// An engine's products for scalar T at one precision. The driver packs
// op(A) in row blocks and op(B) in column strips through these, then runs
// the micro-kernel on a packed block of each.
template <typename T>
struct GemmKernels {
  // pack_lhs[trans_a](dst, a, lda, i0, k0, mi, kc): op(A)[i0 : i0+mi, k0 : k0+kc].
  // pack_rhs[trans_b](dst, b, ldb, k0, j0, kc, nj): op(B)[k0 : k0+kc, j0 : j0+nj].
  using Pack = void (*)(void* dst, const T* src, Index ld, Index r0, Index c0, Index rows, Index cols);
  // C[mi x nj] (=, or += when !zero) alpha * packed A * packed B.
  using Kernel = void (*)(T* c, Index ldc, const void* pa, const void* pb, Index mi, Index kc, Index nj, T alpha,
                          bool zero);
  Index nr = 8;          // columns per packed panel of op(B); divides 64 (the driver's strip)
  Index row_align = 16;  // a packed block of mb rows takes round_up(mb, row_align) rows
  Index k_align = 1;     // packed depth: round_up(kc, k_align), zero-filled
  Index elem_bytes = sizeof(T);
  // Blocking: the whole K up to kc_whole, else equal K-panels of at most
  // kc_panel (a multiple of kc_round); row blocks of mc, column blocks of nc.
  Index kc_whole = 512, kc_panel = 384, kc_round = 8, mc = 128, nc = 2048;
  Pack pack_lhs[2] = {nullptr, nullptr};
  Pack pack_rhs[2] = {nullptr, nullptr};
  Kernel kernel = nullptr;
  // The same with op(A) = A (not transposed) read in place, column k of the
  // block at a + k * lda, instead of packed, for blocks of a multiple of
  // row_align rows: the same sums in the same order, so the same bits.
  // nullptr: op(A) is always packed (bf16 products, which convert it as they
  // pack).
  using DirectKernel = void (*)(T* c, Index ldc, const T* a, Index lda, const void* pb, Index mi, Index kc, Index nj,
                                T alpha, bool zero);
  DirectKernel kernel_direct = nullptr;

  Index packed_depth(Index kc) const { return round_up(kc, k_align); }
  // Bytes of a packed block of op(A) with mb rows, and the offset of column j
  // (a multiple of nr) in a packed strip of op(B).
  std::size_t lhs_bytes(Index mb, Index kc) const {
    return static_cast<std::size_t>(round_up(mb, row_align) * packed_depth(kc) * elem_bytes);
  }
  std::size_t rhs_offset(Index j, Index kc) const {
    return static_cast<std::size_t>(j * packed_depth(kc) * elem_bytes);
  }
};

// An engine's kernels for one scalar type, float or double. The two are
// apart so that a program that runs only float networks compiles no double
// kernel (and the reverse) in header-only mode.
template <typename T>
struct KernelTable;

template <>
struct KernelTable<float> {
  GemmKernels<float> gemm;       // Precision::native
  GemmKernels<float> gemm_bf16;  // Precision::bf16
  float (*dot)(const float* w, const float* x, Index n) = nullptr;
  float (*hdot)(const std::uint16_t* w, const float* x, Index n) = nullptr;  // IEEE half weights
  float (*bdot)(const std::uint16_t* w, const float* x, Index n) = nullptr;  // bf16 weights
  // out[j] = dot(w + j * ldw, x, n) for j < cols: the same values as dot, one dispatch.
  void (*dot_columns)(const float* w, Index ldw, const float* x, Index n, Index cols, float* out) = nullptr;
  void (*hdot_columns)(const std::uint16_t* w, Index ldw, const float* x, Index n, Index cols, float* out) = nullptr;
  void (*bdot_columns)(const std::uint16_t* w, Index ldw, const float* x, Index n, Index cols, float* out) = nullptr;
  // out[r] = dot(w, x[r], n) for r < rows: the same values as dot, each weight loaded once.
  void (*dot_rows)(const float* w, const float* const* x, Index rows, Index n, float* out) = nullptr;
  float (*lane_sum)(const float* p, Index n) = nullptr;
  bool (*finite)(const float* p, Index n) = nullptr;
  void (*adam)(float* p, const float* g, float* m, float* v, Index n, const AdamCoefficients<float>& c) = nullptr;
};

template <>
struct KernelTable<double> {
  GemmKernels<double> gemm;
  double (*dot)(const double* w, const double* x, Index n) = nullptr;
  void (*dot_rows)(const double* w, const double* const* x, Index rows, Index n, double* out) = nullptr;
  double (*lane_sum)(const double* p, Index n) = nullptr;
  bool (*finite)(const double* p, Index n) = nullptr;
  void (*adam)(double* p, const double* g, double* m, double* v, Index n, const AdamCoefficients<double>& c) = nullptr;
};

}  // namespace detail
}  // namespace plexus
