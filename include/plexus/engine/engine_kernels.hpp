// The kernels every engine compiles for its own instruction set: the
// products' packing and micro-kernel, dot products, lane sums, finiteness
// and Adam's update. Included once per instruction set (hence no include
// guard) inside that set's namespace, by engine/isa_*.hpp, which first define
// PLEXUS_ISA (its target attribute) and its vector traits F32 and F64, and
// then define hdot (declared here) for their half weights.
//
// Traits V: T (scalar), R (register), W (lanes), MV (registers per packed
// panel of op(A): panels of MV * W rows, MV <= 3), NR (columns per packed
// panel of op(B)); static functions zero, set1, load, load_n (the first n
// lanes, zeros after; n >= W loads all), store, store_n, add, mul, div,
// fmadd(a, b, c) = a b + c, fnmadd(a, b, c) = c - a b, sqrt, adam_sqrt
// (Adam's square root on whole registers), add_n (adds to the first n lanes
// only), reduce_add, transpose (W registers as a W x W block), round_bf16,
// prefetch; F32 also load_bf16 and load_bf16_n (bf16 -> float). Optional:
// transpose_half, with kTransposeHalf = true (below), where NR = W / 2.

template <class V, bool Round>
PLEXUS_ISA inline typename V::R rounded(typename V::R r) {
  if constexpr (Round) return V::round_bf16(r);
  else return r;
}

PLEXUS_ISA inline Index lesser(Index a, Index b) { return a < b ? a : b; }

// Prefetches the element `ahead` elements past p, which may lie past the
// operand's end (a prefetch never faults): the address is formed as an
// integer, not by pointer arithmetic out of the array.
template <class V>
PLEXUS_ISA inline void prefetch_ahead(const typename V::T* p, Index ahead) {
  V::prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) +
                                            static_cast<std::uintptr_t>(ahead) * sizeof(typename V::T)));
}

// r[l] = the first len values of row l (at src + l * ld) for l < lines,
// zeros for lines <= l < count; each row loaded is prefetched four blocks of
// W ahead (the transposing packs walk their rows W values at a time).
template <class V>
PLEXUS_ISA inline void load_lines(typename V::R* r, Index count, const typename V::T* src, Index ld, Index lines,
                                  Index len) {
  for (Index l = 0; l < count; ++l) {
    if (l >= lines) {
      r[l] = V::zero();
      continue;
    }
    r[l] = V::load_n(src + l * ld, len);
    prefetch_ahead<V>(src + l * ld, 4 * V::W);
  }
}

// Writes the transpose of `lines` rows of `len` values (row l at src + l *
// ld; lines, len <= W) to dst: element (l, q) goes to dst[q * dst_ld + l],
// lanes l >= lines zero, `width` <= W lanes stored per row.
template <class V, bool Round>
PLEXUS_ISA inline void pack_transposed(typename V::T* dst, Index dst_ld, Index width, const typename V::T* src,
                                       Index ld, Index lines, Index len) {
  typename V::R r[V::W];
  load_lines<V>(r, V::W, src, ld, lines, len);
  V::transpose(r);
  for (Index q = 0; q < len; ++q) V::store_n(dst + q * dst_ld, width, rounded<V, Round>(r[q]));
}

// Whether V has transpose_half (W / 2 rows of W to W rows of W / 2, two
// rows per register), which it says with a constant kTransposeHalf: the
// narrow transpose of pack_rhs for NR = W / 2.
template <class V, class = void>
struct HasTransposeHalf : std::false_type {};
template <class V>
struct HasTransposeHalf<V, std::void_t<decltype(V::kTransposeHalf)>> : std::bool_constant<V::kTransposeHalf> {};

// pack_transposed for W / 2 lines, to rows of W / 2 lanes stored back to back
// (dst_ld = width = W / 2): element (l, q) to dst[q * W / 2 + l].
template <class V, bool Round>
PLEXUS_ISA inline void pack_transposed_half(typename V::T* dst, const typename V::T* src, Index ld, Index lines,
                                            Index len) {
  constexpr Index H = V::W / 2;
  typename V::R r[H];
  load_lines<V>(r, H, src, ld, lines, len);
  V::transpose_half(r);
  for (Index q = 0; 2 * q < len; ++q)
    V::store_n(dst + q * V::W, lesser(V::W, (len - 2 * q) * H), rounded<V, Round>(r[q]));
}

// op(A)[i0 : i0 + mi, k0 : k0 + kc] in panels of up to MV * W rows (the last
// one a multiple of W wide, zero-padded), each stored k by k. Trans: op(A) =
// A^T, element (i, k) at a[k + i * lda]; else at a[i + k * lda].
template <class V, bool Trans, bool Round>
PLEXUS_ISA void pack_lhs(void* out, const typename V::T* a, Index lda, Index i0, Index k0, Index mi, Index kc) {
  constexpr Index W = V::W, MR = V::MV * V::W;
  auto* dst = static_cast<typename V::T*>(out);
  for (Index p = 0; p < mi; p += MR) {
    const Index rows = lesser(MR, mi - p), width = round_up(rows, W);
    if (!Trans) {  // rows are contiguous
      for (Index k = 0; k < kc; ++k) {
        const auto* s = a + (i0 + p) + (k0 + k) * lda;
        auto* d = dst + k * width;
        for (Index v = 0; v < width; v += W) V::store(d + v, rounded<V, Round>(V::load_n(s + v, rows - v)));
        for (Index v = 0; v < width; v += W) prefetch_ahead<V>(s + v, 4 * lda);  // four columns ahead
      }
    } else {  // transpose W x W blocks
      for (Index v = 0; v < width; v += W)
        for (Index k = 0; k < kc; k += W)
          pack_transposed<V, Round>(dst + k * width + v, width, W, a + (k0 + k) + (i0 + p + v) * lda, lda,
                                    lesser(W, rows - v), lesser(W, kc - k));
    }
    dst += width * kc;
  }
}

// op(B)[k0 : k0 + kc, j0 : j0 + nj] in panels of NR columns, k by k,
// zero-padded. Trans: op(B) = B^T, element (k, j) at b[j + k * ldb]; else
// at b[k + j * ldb].
template <class V, bool Trans, bool Round>
PLEXUS_ISA void pack_rhs(void* out, const typename V::T* b, Index ldb, Index k0, Index j0, Index kc, Index nj) {
  constexpr Index NR = V::NR;
  static_assert(V::NR <= V::W && V::MV >= 1 && V::MV <= 3, "a panel of op(B) is transposed in one W x W block");
  auto* dst = static_cast<typename V::T*>(out);
  if (Trans) {  // read each row once, left to right
    for (Index k = 0; k < kc; ++k) {
      const auto* src = b + j0 + (k0 + k) * ldb;
      for (Index q = 0; q < nj; q += NR)
        V::store_n(dst + q * kc + k * NR, NR, rounded<V, Round>(V::load_n(src + q, lesser(NR, nj - q))));
    }
    return;
  }
  for (Index q = 0; q < nj; q += NR) {  // transpose
    const Index cols = lesser(NR, nj - q);
    for (Index k = 0; k < kc; k += V::W) {
      const auto* src = b + (k0 + k) + (j0 + q) * ldb;
      if constexpr (2 * NR == V::W && HasTransposeHalf<V>::value)
        pack_transposed_half<V, Round>(dst + k * NR, src, ldb, cols, lesser(V::W, kc - k));
      else pack_transposed<V, Round>(dst + k * NR, NR, NR, src, ldb, cols, lesser(V::W, kc - k));
    }
    dst += NR * kc;
  }
}

// C[rows x cols] (=, or += when !zero) alpha * A * B for one panel of A
// (MV2 * W wide) and one of B (NR wide). The MV2 x NR block of C stays in
// registers for the whole depth and is written once; edges under masks.
// The panel of A is read at pa, column k at pa + k * step: packed (step
// MV2 * W, zero-padded rows) or in place (step lda; the driver reads in
// place only blocks whose rows are a whole number of registers, so no load
// needs a mask: masked loads here cost two thirds of the speed).
template <class V, int MV2>
PLEXUS_ISA inline void micro_kernel(Index kc, const typename V::T* pa, Index step, const typename V::T* pb,
                                    typename V::T* c, Index ldc, Index rows, Index cols, typename V::T alpha,
                                    bool zero) {
  constexpr int W = V::W, NR = V::NR;
  using R = typename V::R;
  R acc[MV2][NR];
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 3
    for (int v = 0; v < MV2; ++v) acc[v][j] = V::zero();
#pragma GCC unroll 2
  for (Index k = 0; k < kc; ++k) {
    R av[MV2];
#pragma GCC unroll 3
    for (int v = 0; v < MV2; ++v) av[v] = V::load(pa + v * W);
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const R bj = V::set1(pb[j]);
#pragma GCC unroll 3
      for (int v = 0; v < MV2; ++v) acc[v][j] = V::fmadd(av[v], bj, acc[v][j]);
    }
    pa += step;
    pb += NR;
  }
  const R al = V::set1(alpha);
  if (cols == NR && rows == MV2 * W) {
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 3
      for (int v = 0; v < MV2; ++v) {
        auto* p = c + j * ldc + v * W;
        V::store(p, zero ? V::mul(al, acc[v][j]) : V::fmadd(al, acc[v][j], V::load(p)));
      }
    return;
  }
  for (int j = 0; j < NR; ++j) {
    if (j >= cols) break;
    for (int v = 0; v < MV2; ++v) {
      if (v * W >= rows) break;
      auto* p = c + j * ldc + v * W;
      const Index n = rows - v * W;
      V::store_n(p, n, zero ? V::mul(al, acc[v][j]) : V::fmadd(al, acc[v][j], V::load_n(p, n)));
    }
  }
}

// The panels of A (packed at a, or in place: rows p.. at a + p) against
// those of B.
template <class V, bool Direct>
PLEXUS_ISA void gemm_panels(typename V::T* c, Index ldc, const typename V::T* a, Index lda, const void* pb_, Index mi,
                            Index kc, Index nj, typename V::T alpha, bool zero) {
  constexpr Index W = V::W, MR = V::MV * V::W, NR = V::NR;
  const auto* pb = static_cast<const typename V::T*>(pb_);
  for (Index q = 0; q < nj; q += NR) {
    const Index cols = lesser(NR, nj - q);
    for (Index p = 0; p < mi; p += MR) {
      const Index rows = lesser(MR, mi - p), width = round_up(rows, W);
      // Packed: panels of `width` rows, k by k; in place: column k at lda.
      const auto* ap = Direct ? a + p : a + p * kc;
      const Index step = Direct ? lda : width;
      auto* cp = c + p + q * ldc;
      if (width == 3 * W) {
        if constexpr (V::MV >= 3) micro_kernel<V, 3>(kc, ap, step, pb, cp, ldc, rows, cols, alpha, zero);
      } else if (width == 2 * W) {
        if constexpr (V::MV >= 2) micro_kernel<V, 2>(kc, ap, step, pb, cp, ldc, rows, cols, alpha, zero);
      } else {
        micro_kernel<V, 1>(kc, ap, step, pb, cp, ldc, rows, cols, alpha, zero);
      }
    }
    pb += NR * kc;
  }
}
template <class V>
PLEXUS_ISA void gemm_kernel(typename V::T* c, Index ldc, const void* pa, const void* pb, Index mi, Index kc, Index nj,
                            typename V::T alpha, bool zero) {
  gemm_panels<V, false>(c, ldc, static_cast<const typename V::T*>(pa), 0, pb, mi, kc, nj, alpha, zero);
}

// The products of this instruction set for V::T; Round: bf16 emulated by
// rounding the operands as they are packed.
template <class V, bool Round>
GemmKernels<typename V::T> gemm_kernels() {
  GemmKernels<typename V::T> k;
  k.nr = V::NR;
  k.row_align = V::W;
  if (sizeof(typename V::T) == 8) k.kc_whole = 256, k.kc_panel = 256;
  k.pack_lhs[0] = &pack_lhs<V, false, Round>;
  k.pack_lhs[1] = &pack_lhs<V, true, Round>;
  k.pack_rhs[0] = &pack_rhs<V, false, Round>;
  k.pack_rhs[1] = &pack_rhs<V, true, Round>;
  k.kernel = &gemm_kernel<V>;
  if (!Round) k.kernel_direct = &gemm_panels<V, true>;  // Round: the pack rounds op(A) to bf16
  return k;
}

#include "dot_kernels.hpp"

// Sum of n values in 16 interleaved lanes combined pairwise: the order is
// fixed by n alone, so every engine gives the same bits.
template <typename T>
PLEXUS_ISA T lane_sum(const T* p, Index n) {
  constexpr int L = 16;
  T acc[L] = {};
  Index i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) acc[l] += p[i + l];
  const int tail = static_cast<int>(n - i);  // < L
  for (int l = 0; l < tail && l < L; ++l) acc[l] += p[i + l];
  for (int w = L / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// true when the largest exponent field among the n values is not all ones.
// Integer operations only: vectorises without early exits and holds under
// -ffast-math.
template <typename T>
PLEXUS_ISA bool finite_block(const T* p, Index n) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = sizeof(T) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
  Bits top = 0;
  for (Index i = 0; i < n; ++i) {
    Bits b;
    __builtin_memcpy(&b, p + i, sizeof b);
    const Bits e = b & exponent;
    top = top > e ? top : e;
  }
  return top != exponent;
}

// Adam's update over n values (see AdamCoefficients), whole registers then a
// masked tail. The multiply-adds are fused as g++ 12 fused Eigen's array
// expressions in the AVX-512 build that came before the engines, so the
// avx512 engine keeps its results bit for bit: m = fma(1 - b1, g, b1 m),
// v = fma((1 - b2) g, g, b2 v), p = p - step * q in one rounding. Whole
// registers take V::adam_sqrt, the tail V::sqrt (exact), as Eigen did.
template <class V>
PLEXUS_ISA inline void adam_step(typename V::T* p, const typename V::T* g, typename V::T* m, typename V::T* v,
                                 Index cnt, bool whole, const AdamCoefficients<typename V::T>& c) {
  using R = typename V::R;
  using T = typename V::T;
  R pv = V::load_n(p, cnt);
  const R gv = V::load_n(g, cnt);
  const R gw = c.weight_decay != T(0) ? V::fmadd(V::set1(c.weight_decay), pv, gv) : gv;
  if (c.decay != T(1)) pv = V::mul(pv, V::set1(c.decay));
  const R mv = V::fmadd(V::set1(c.one_minus_beta1), gw, V::mul(V::set1(c.beta1), V::load_n(m, cnt)));
  const R vv = V::fmadd(V::mul(V::set1(c.one_minus_beta2), gw), gw, V::mul(V::set1(c.beta2), V::load_n(v, cnt)));
  const R s = whole ? V::adam_sqrt(vv) : V::sqrt(vv);
  const R q = V::div(mv, V::add(V::div(s, V::set1(c.bias2_sqrt)), V::set1(c.eps)));
  V::store_n(m, cnt, mv);
  V::store_n(v, cnt, vv);
  V::store_n(p, cnt, V::fnmadd(V::set1(c.step_size), q, pv));
}

template <class V>
PLEXUS_ISA void adam(typename V::T* p, const typename V::T* g, typename V::T* m, typename V::T* v, Index n,
                     const AdamCoefficients<typename V::T>& c) {
  Index i = 0;
  for (; i + V::W <= n; i += V::W) adam_step<V>(p + i, g + i, m + i, v + i, V::W, true, c);
  if (i < n) adam_step<V>(p + i, g + i, m + i, v + i, n - i, false, c);
}

// sum_i half_to_float(w[i]) * x[i] in float: each instruction set defines
// its own, after including this file.
PLEXUS_ISA inline float hdot(const std::uint16_t* w, const float* x, Index n);

PLEXUS_ISA inline void hdot_columns(const std::uint16_t* w, Index ldw, const float* x, Index n, Index cols,
                                    float* out) {
  for (Index j = 0; j < cols; ++j) out[j] = hdot(w + j * ldw, x, n);
}

// Everything above for this instruction set and scalar T, in one table
// (the engine's kernels: engine/dispatch.hpp builds one per engine).
template <typename T>
KernelTable<T> table() {
  KernelTable<T> t;
  if constexpr (std::is_same_v<T, float>) {
    t.gemm = gemm_kernels<F32, false>();
    t.gemm_bf16 = gemm_kernels<F32, true>();
    t.dot = &dot<F32>;
    t.hdot = &hdot;
    t.bdot = &dot_bf16<F32>;
    t.dot_columns = &dot_columns<F32>;
    t.hdot_columns = &hdot_columns;
    t.bdot_columns = &dot_bf16_columns<F32>;
    t.dot_rows = &dot_rows<F32>;
    t.adam = &adam<F32>;
  } else {
    t.gemm = gemm_kernels<F64, false>();
    t.dot = &dot<F64>;
    t.dot_rows = &dot_rows<F64>;
    t.adam = &adam<F64>;
  }
  t.lane_sum = &lane_sum<T>;
  t.finite = &finite_block<T>;
  return t;
}
