// The avx512_bf16 engine's products at Precision::bf16: operands rounded to
// bf16 (VCVTNE2PS2BF16) as they are packed, in pairs along K, and
// multiplied by VDPBF16PS, which adds the two products of a pair into a
// float accumulator. Also the pair packing of op(A) the amx engine reuses.
#pragma once

#include "isa_avx512.hpp"

#if PLEXUS_X86
namespace plexus {
namespace detail {
namespace avx512_bf16 {

#define PLEXUS_ISA PLEXUS_TARGET_AVX512_BF16

using avx512::lesser;
using avx512::mask16;

// Packed layout: 32-bit words, each a pair of bf16 (k even in the low half,
// k + 1 in the high half). op(A): panels of up to MR rows (a multiple of 16
// wide), pair row by pair row; op(B): panels of 8 columns, pair row by pair
// row. A pair past the end of K holds zeros.
PLEXUS_ISA inline __m512i bits(__m512bh v) {
  __m512i r;
  __builtin_memcpy(&r, &v, sizeof r);
  return r;
}
PLEXUS_ISA inline __m512bh as_bf16(__m512i v) {
  __m512bh r;
  __builtin_memcpy(&r, &v, sizeof r);
  return r;
}

// Words (bf16(lo[i]), bf16(hi[i])) for the 16 lanes.
PLEXUS_ISA inline __m512i pair_words(__m512 lo, __m512 hi) {
  alignas(64) static constexpr std::uint16_t kInterleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                                                21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                                                11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  return _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), bits(_mm512_cvtne2ps_pbh(hi, lo)));
}

// The len (<= 32) contiguous floats at src as 16 pair words (zeros past len).
PLEXUS_ISA inline __m512i contiguous_pairs(const float* src, Index len) {
  const __m512 lo = _mm512_maskz_loadu_ps(mask16(len), src);
  const __m512 hi = len > 16 ? _mm512_maskz_loadu_ps(mask16(len - 16), src + 16) : _mm512_setzero_ps();
  return bits(_mm512_cvtne2ps_pbh(hi, lo));
}

PLEXUS_ISA inline void transpose_words(__m512i r[16]) {
  __m512 f[16];
  for (int i = 0; i < 16; ++i) f[i] = _mm512_castsi512_ps(r[i]);
  avx512::F32::transpose(f);
  for (int i = 0; i < 16; ++i) r[i] = _mm512_castps_si512(f[i]);
}

// Eight rows of 16 words to two rows of the transpose per register (as
// avx512::F32::transpose_half).
PLEXUS_ISA inline void transpose_words_half(__m512i r[8]) {
  __m512 f[8];
  for (int i = 0; i < 8; ++i) f[i] = _mm512_castsi512_ps(r[i]);
  avx512::F32::transpose_half(f);
  for (int i = 0; i < 8; ++i) r[i] = _mm512_castps_si512(f[i]);
}

// r[l] = the first len (<= 32) floats of row l (at src + l * ld) as pair
// words for l < lines, zeros for lines <= l < count; each row loaded is
// prefetched two blocks of 32 ahead (the packs walk their rows 32 at a time).
PLEXUS_ISA inline void pair_lines(__m512i* r, Index count, const float* src, Index ld, Index lines, Index len) {
  for (Index l = 0; l < count; ++l) {
    if (l >= lines) {
      r[l] = _mm512_setzero_si512();
      continue;
    }
    r[l] = contiguous_pairs(src + l * ld, len);
    avx512::prefetch_ahead<avx512::F32>(src + l * ld, 64);
    avx512::prefetch_ahead<avx512::F32>(src + l * ld, 80);
  }
}

// op(A)[i0 : i0 + mi, k0 : k0 + kc] as pair rows of panels of MR rows; the
// depth is padded with zero pairs to a multiple of KPad.
template <int MR, int KPad, bool Trans>
PLEXUS_ISA void pack_lhs_pairs(void* out, const float* a, Index lda, Index i0, Index k0, Index mi, Index kc) {
  auto* dst = static_cast<std::uint32_t*>(out);
  const Index pairs = round_up(kc, KPad) / 2;
  for (Index p = 0; p < mi; p += MR) {
    const Index rows = lesser(MR, mi - p), width = round_up(rows, 16);
    if (!Trans) {  // element (i, k) at a[i + k * lda]: each column of K is contiguous
      for (Index q = 0; q < pairs; ++q) {
        const Index k = 2 * q;
        for (Index v = 0; v < width; v += 16) {
          const float* s = a + (i0 + p + v) + (k0 + k) * lda;
          const __mmask16 m = mask16(rows - v);
          const __m512 lo = k < kc ? _mm512_maskz_loadu_ps(m, s) : _mm512_setzero_ps();
          const __m512 hi = k + 1 < kc ? _mm512_maskz_loadu_ps(m, s + lda) : _mm512_setzero_ps();
          avx512::prefetch_ahead<avx512::F32>(s, 4 * lda);  // two pairs of columns ahead
          avx512::prefetch_ahead<avx512::F32>(s, 5 * lda);
          _mm512_storeu_si512(dst + q * width + v, pair_words(lo, hi));
        }
      }
    } else {  // element (i, k) at a[k + i * lda]: rows are contiguous, pairs too; transpose 16 x 16 words
      for (Index v = 0; v < width; v += 16)
        for (Index k = 0; k < 2 * pairs; k += 32) {
          __m512i r[16];
          const Index len = k >= kc ? 0 : lesser(32, kc - k), lines = len > 0 ? lesser(16, rows - v) : 0;
          // No pointer into the depth padding past K: a stands in when no line is read.
          pair_lines(r, 16, lines > 0 ? a + (k0 + k) + (i0 + p + v) * lda : a, lda, lines, len);
          transpose_words(r);
          const Index stored = lesser(16, pairs - k / 2);
          for (Index q = 0; q < stored; ++q) _mm512_storeu_si512(dst + (k / 2 + q) * width + v, r[q]);
        }
    }
    dst += width * pairs;
  }
}

// op(B)[k0 : k0 + kc, j0 : j0 + nj] as pair rows of panels of 8 columns.
template <bool Trans>
PLEXUS_ISA void pack_rhs_pairs(void* out, const float* b, Index ldb, Index k0, Index j0, Index kc, Index nj) {
  auto* dst = static_cast<std::uint32_t*>(out);
  const Index pairs = round_up(kc, 2) / 2;
  if (Trans) {  // element (k, j) at b[j + k * ldb]: rows contiguous; 16 columns (two panels) at a time
    for (Index q = 0; q < pairs; ++q) {
      const Index k = 2 * q;
      for (Index j = 0; j < nj; j += 16) {
        const __mmask16 m = mask16(nj - j);
        const float* s = b + (j0 + j) + (k0 + k) * ldb;
        const __m512 lo = _mm512_maskz_loadu_ps(m, s);
        const __m512 hi = k + 1 < kc ? _mm512_maskz_loadu_ps(m, s + ldb) : _mm512_setzero_ps();
        const __m512i w = pair_words(lo, hi);
        _mm512_mask_storeu_epi32(dst + j * pairs + q * 8, 0xFF, w);
        if (nj - j > 8)
          _mm512_mask_storeu_epi32(dst + (j + 8) * pairs + q * 8 - 8, 0xFF00, w);  // words 8..15 land at q * 8
      }
    }
    return;
  }
  for (Index j = 0; j < nj; j += 8) {  // element (k, j) at b[k + j * ldb]: columns contiguous; transpose
    const Index cols = lesser(8, nj - j);
    for (Index k = 0; k < 2 * pairs; k += 32) {
      __m512i r[8];  // column l's 16 pair words; then pair rows 2q and 2q + 1 in r[q]
      pair_lines(r, 8, b + (k0 + k) + (j0 + j) * ldb, ldb, cols, lesser(32, kc - k));
      transpose_words_half(r);
      const Index stored = lesser(16, pairs - k / 2);
      for (Index q = 0; 2 * q < stored; ++q)
        _mm512_mask_storeu_epi32(dst + (k / 2 + 2 * q) * 8, mask16((stored - 2 * q) * 8), r[q]);
    }
    dst += 8 * pairs;
  }
}

// C[rows x cols] (=, or += when !zero) alpha * A * B for one pair-packed
// panel of A (16 * MV wide) and one of B (8 wide).
template <int MV>
PLEXUS_ISA inline void micro_kernel(Index pairs, const std::uint32_t* pa, const std::uint32_t* pb, float* c, Index ldc,
                                    Index rows, Index cols, float alpha, bool zero) {
  __m512 acc[MV][8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j)
#pragma GCC unroll 3
    for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (Index q = 0; q < pairs; ++q) {
    __m512bh av[MV];
#pragma GCC unroll 3
    for (int v = 0; v < MV; ++v) av[v] = as_bf16(_mm512_loadu_si512(pa + v * 16));
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m512bh bj = as_bf16(_mm512_set1_epi32(static_cast<int>(pb[j])));
#pragma GCC unroll 3
      for (int v = 0; v < MV; ++v) acc[v][j] = _mm512_dpbf16_ps(acc[v][j], av[v], bj);
    }
    pa += MV * 16;
    pb += 8;
  }
  const __m512 al = _mm512_set1_ps(alpha);
  for (int j = 0; j < 8; ++j) {
    if (j >= cols) break;
    for (int v = 0; v < MV; ++v) {
      if (v * 16 >= rows) break;
      float* p = c + j * ldc + v * 16;
      const __mmask16 m = mask16(rows - v * 16);
      _mm512_mask_storeu_ps(
          p, m, zero ? _mm512_mul_ps(al, acc[v][j]) : _mm512_fmadd_ps(al, acc[v][j], _mm512_maskz_loadu_ps(m, p)));
    }
  }
}

PLEXUS_ISA inline void gemm_kernel(float* c, Index ldc, const void* pa_, const void* pb_, Index mi, Index kc, Index nj,
                                   float alpha, bool zero) {
  const Index pairs = round_up(kc, 2) / 2;
  const auto* pb = static_cast<const std::uint32_t*>(pb_);
  for (Index q = 0; q < nj; q += 8) {
    const Index cols = lesser(8, nj - q);
    const auto* a = static_cast<const std::uint32_t*>(pa_);
    for (Index p = 0; p < mi; p += 48) {
      const Index rows = lesser(48, mi - p), width = round_up(rows, 16);
      float* cp = c + p + q * ldc;
      if (width == 48) micro_kernel<3>(pairs, a, pb, cp, ldc, rows, cols, alpha, zero);
      else if (width == 32) micro_kernel<2>(pairs, a, pb, cp, ldc, rows, cols, alpha, zero);
      else micro_kernel<1>(pairs, a, pb, cp, ldc, rows, cols, alpha, zero);
      a += width * pairs;
    }
    pb += 8 * pairs;
  }
}

#undef PLEXUS_ISA

inline GemmKernels<float> gemm_kernels() {
  GemmKernels<float> k;
  k.nr = 8;
  k.row_align = 16;
  k.k_align = 2;
  k.elem_bytes = 2;
  k.kc_whole = 1024;
  k.kc_panel = 768;
  k.pack_lhs[0] = &pack_lhs_pairs<48, 2, false>;
  k.pack_lhs[1] = &pack_lhs_pairs<48, 2, true>;
  k.pack_rhs[0] = &pack_rhs_pairs<false>;
  k.pack_rhs[1] = &pack_rhs_pairs<true>;
  k.kernel = &gemm_kernel;
  return k;
}

// The avx512 engine with these bf16 products.
template <typename T>
KernelTable<T> table() {
  KernelTable<T> t = avx512::table<T>();
  if constexpr (std::is_same_v<T, float>) t.gemm_bf16 = gemm_kernels();
  return t;
}

}  // namespace avx512_bf16
}  // namespace detail
}  // namespace plexus
#endif
