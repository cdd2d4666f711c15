// The avx512 engine: AVX-512 F/BW/DQ/VL vector traits for float (16 lanes,
// 48 x 8 micro-tiles: 24 of the 32 registers hold C) and double (8 lanes,
// 24 x 8), the shared kernels compiled for them, and the half-precision dot
// product. The avx512_bf16 and amx engines run these too.
#pragma once

#include "../core/half.hpp"
#include "kernel_table.hpp"
#include "target.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>

#if PLEXUS_X86
namespace plexus {
namespace detail {
namespace avx512 {

#define PLEXUS_ISA PLEXUS_TARGET_AVX512

// Shuffles and extracts go through their zero-masking forms with every lane
// selected: the plain forms expand to _mm512_undefined_*(), which g++ 12
// reports as an uninitialised read (-Wuninitialized, GCC bug 105593).
constexpr __mmask16 kAll16 = 0xFFFF;
constexpr __mmask8 kAll8 = 0xFF;
PLEXUS_ISA inline __mmask16 mask16(Index n) { return n >= 16 ? kAll16 : static_cast<__mmask16>((1u << n) - 1u); }
PLEXUS_ISA inline __mmask8 mask8(Index n) { return n >= 8 ? kAll8 : static_cast<__mmask8>((1u << n) - 1u); }

// The sum of 16 lanes in the order of GCC's _mm512_reduce_add_ps (upper
// half + lower half, then again on 128 and 64 bits), through intrinsics that
// do not expand to _mm256_undefined_pd().
PLEXUS_ISA inline float reduce_add16(__m512 v) {
  const __m256 hi = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(v), 1));
  const __m256 lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(v), 0));
  const __m256 s8 = _mm256_add_ps(hi, lo);
  const __m128 s4 = _mm_add_ps(_mm256_extractf128_ps(s8, 1), _mm256_castps256_ps128(s8));
  const __m128 s2 = _mm_add_ps(s4, _mm_shuffle_ps(s4, s4, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm_cvtss_f32(s2) + _mm_cvtss_f32(_mm_shuffle_ps(s2, s2, _MM_SHUFFLE(1, 1, 1, 1)));
}

struct F32 {
  using T = float;
  using R = __m512;
  static constexpr int W = 16, MV = 3, NR = 8;
  PLEXUS_ISA static R zero() { return _mm512_setzero_ps(); }
  PLEXUS_ISA static R set1(T x) { return _mm512_set1_ps(x); }
  PLEXUS_ISA static R load(const T* p) { return _mm512_loadu_ps(p); }
  PLEXUS_ISA static R load_n(const T* p, Index n) { return _mm512_maskz_loadu_ps(mask16(n), p); }
  PLEXUS_ISA static void store(T* p, R v) { _mm512_storeu_ps(p, v); }
  PLEXUS_ISA static void store_n(T* p, Index n, R v) { _mm512_mask_storeu_ps(p, mask16(n), v); }
  PLEXUS_ISA static R add(R a, R b) { return _mm512_add_ps(a, b); }
  PLEXUS_ISA static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  PLEXUS_ISA static R div(R a, R b) { return _mm512_div_ps(a, b); }
  PLEXUS_ISA static R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  PLEXUS_ISA static R fnmadd(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }
  PLEXUS_ISA static R sqrt(R a) { return _mm512_maskz_sqrt_ps(kAll16, a); }
  // Eigen 3.4's fast psqrt for 16 floats: rsqrt14 and one Newton step,
  // inputs below the smallest normal (and zero) giving zero.
  PLEXUS_ISA static R adam_sqrt(R x) {
    const R neg_half = _mm512_mul_ps(x, _mm512_set1_ps(-0.5f));
    const __mmask16 tiny =
        _mm512_kand(_mm512_cmp_ps_mask(x, _mm512_set1_ps(std::numeric_limits<float>::min()), _CMP_LT_OQ),
                    _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ));
    R r = _mm512_maskz_rsqrt14_ps(kAll16, x);
    r = _mm512_mul_ps(r, _mm512_fmadd_ps(neg_half, _mm512_mul_ps(r, r), _mm512_set1_ps(1.5f)));
    return _mm512_mask_blend_ps(tiny, _mm512_mul_ps(x, r), _mm512_setzero_ps());
  }
  PLEXUS_ISA static T reduce_add(R v) { return reduce_add16(v); }
  PLEXUS_ISA static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  // To nearest bf16 (ties to even) as VCVTNEPS2BF16 rounds, kept as floats.
  PLEXUS_ISA static R round_bf16(R v) {
    const __m512i x = _mm512_castps_si512(v);
    const __m512i exp = _mm512_and_si512(x, _mm512_set1_epi32(0x7f800000));
    const __m512i lsb = _mm512_and_si512(_mm512_maskz_srli_epi32(kAll16, x, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(x, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    const __mmask16 nan =
        _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_or_epi32(r, nan, x, _mm512_set1_epi32(0x400000));  // NaN: made quiet, not rounded
    const __mmask16 tiny = _mm512_cmpeq_epi32_mask(exp, _mm512_setzero_si512());
    r = _mm512_mask_and_epi32(r, tiny, x, _mm512_set1_epi32(static_cast<int>(0x80000000u)));  // denormal: signed 0
    return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  PLEXUS_ISA static R load_bf16(const std::uint16_t* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll16, _mm512_maskz_cvtepu16_epi32(kAll16, h), 16));
  }
  PLEXUS_ISA static R load_bf16_n(const std::uint16_t* p, Index n) {
    const __m256i h = _mm256_maskz_loadu_epi16(mask16(n), p);
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll16, _mm512_maskz_cvtepu16_epi32(kAll16, h), 16));
  }
  // The first two steps of both transposes: rows 4g..4g+3 of r (g < groups)
  // to x[4g + e], whose 128-bit lane l holds element 4l + e of those rows.
  PLEXUS_ISA static void transpose_quads(const R* r, R* x, int groups) {
    for (int g = 0; g < groups; ++g) {
      const __m512 t0 = _mm512_maskz_unpacklo_ps(kAll16, r[4 * g], r[4 * g + 1]);
      const __m512 t1 = _mm512_maskz_unpackhi_ps(kAll16, r[4 * g], r[4 * g + 1]);
      const __m512 t2 = _mm512_maskz_unpacklo_ps(kAll16, r[4 * g + 2], r[4 * g + 3]);
      const __m512 t3 = _mm512_maskz_unpackhi_ps(kAll16, r[4 * g + 2], r[4 * g + 3]);
      x[4 * g + 0] = _mm512_maskz_shuffle_ps(kAll16, t0, t2, 0x44);
      x[4 * g + 1] = _mm512_maskz_shuffle_ps(kAll16, t0, t2, 0xEE);
      x[4 * g + 2] = _mm512_maskz_shuffle_ps(kAll16, t1, t3, 0x44);
      x[4 * g + 3] = _mm512_maskz_shuffle_ps(kAll16, t1, t3, 0xEE);
    }
  }
  PLEXUS_ISA static void transpose(R r[16]) {
    __m512 x[16];
    transpose_quads(r, x, 4);
    for (int e = 0; e < 4; ++e) {
      const __m512 u0 = _mm512_maskz_shuffle_f32x4(kAll16, x[e], x[4 + e], 0x44);
      const __m512 u1 = _mm512_maskz_shuffle_f32x4(kAll16, x[e], x[4 + e], 0xEE);
      const __m512 u2 = _mm512_maskz_shuffle_f32x4(kAll16, x[8 + e], x[12 + e], 0x44);
      const __m512 u3 = _mm512_maskz_shuffle_f32x4(kAll16, x[8 + e], x[12 + e], 0xEE);
      r[e] = _mm512_maskz_shuffle_f32x4(kAll16, u0, u2, 0x88);
      r[4 + e] = _mm512_maskz_shuffle_f32x4(kAll16, u0, u2, 0xDD);
      r[8 + e] = _mm512_maskz_shuffle_f32x4(kAll16, u1, u3, 0x88);
      r[12 + e] = _mm512_maskz_shuffle_f32x4(kAll16, u1, u3, 0xDD);
    }
  }
  // Eight rows of 16 (r[j], element k) to the 16 x 8 transpose, two rows of
  // it per register: r[q] holds elements 2q (lanes 0-7) and 2q + 1 (lanes
  // 8-15) of rows 0..7. Half the work of transpose() for 8-column panels.
  static constexpr bool kTransposeHalf = true;
  PLEXUS_ISA static void transpose_half(R r[8]) {
    __m512 x[8];
    transpose_quads(r, x, 2);
    for (int e = 0; e < 4; e += 2) {
      const __m512 u0 = _mm512_maskz_shuffle_f32x4(kAll16, x[e], x[4 + e], 0x44);
      const __m512 u1 = _mm512_maskz_shuffle_f32x4(kAll16, x[e], x[4 + e], 0xEE);
      const __m512 u2 = _mm512_maskz_shuffle_f32x4(kAll16, x[e + 1], x[5 + e], 0x44);
      const __m512 u3 = _mm512_maskz_shuffle_f32x4(kAll16, x[e + 1], x[5 + e], 0xEE);
      const int h = e / 2;
      r[h] = _mm512_maskz_shuffle_f32x4(kAll16, u0, u2, 0x88);
      r[2 + h] = _mm512_maskz_shuffle_f32x4(kAll16, u0, u2, 0xDD);
      r[4 + h] = _mm512_maskz_shuffle_f32x4(kAll16, u1, u3, 0x88);
      r[6 + h] = _mm512_maskz_shuffle_f32x4(kAll16, u1, u3, 0xDD);
    }
  }
};

struct F64 {
  using T = double;
  using R = __m512d;
  static constexpr int W = 8, MV = 3, NR = 8;
  PLEXUS_ISA static R zero() { return _mm512_setzero_pd(); }
  PLEXUS_ISA static R set1(T x) { return _mm512_set1_pd(x); }
  PLEXUS_ISA static R load(const T* p) { return _mm512_loadu_pd(p); }
  PLEXUS_ISA static R load_n(const T* p, Index n) { return _mm512_maskz_loadu_pd(mask8(n), p); }
  PLEXUS_ISA static void store(T* p, R v) { _mm512_storeu_pd(p, v); }
  PLEXUS_ISA static void store_n(T* p, Index n, R v) { _mm512_mask_storeu_pd(p, mask8(n), v); }
  PLEXUS_ISA static R add(R a, R b) { return _mm512_add_pd(a, b); }
  PLEXUS_ISA static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  PLEXUS_ISA static R div(R a, R b) { return _mm512_div_pd(a, b); }
  PLEXUS_ISA static R fmadd(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  PLEXUS_ISA static R fnmadd(R a, R b, R c) { return _mm512_fnmadd_pd(a, b, c); }
  PLEXUS_ISA static R sqrt(R a) { return _mm512_maskz_sqrt_pd(kAll8, a); }
  // Eigen 3.4's fast psqrt for 8 doubles: rsqrt14 and two Newton steps.
  PLEXUS_ISA static R adam_sqrt(R x) {
    const R neg_half = _mm512_mul_pd(x, _mm512_set1_pd(-0.5));
    const __mmask8 tiny =
        static_cast<__mmask8>(_mm512_cmp_pd_mask(x, _mm512_set1_pd(std::numeric_limits<double>::min()), _CMP_LT_OQ) &
                              _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GE_OQ));
    R r = _mm512_maskz_rsqrt14_pd(kAll8, x);
    r = _mm512_mul_pd(r, _mm512_fmadd_pd(neg_half, _mm512_mul_pd(r, r), _mm512_set1_pd(1.5)));
    r = _mm512_mul_pd(r, _mm512_fmadd_pd(neg_half, _mm512_mul_pd(r, r), _mm512_set1_pd(1.5)));
    return _mm512_mask_blend_pd(tiny, _mm512_mul_pd(x, r), _mm512_setzero_pd());
  }
  PLEXUS_ISA static T reduce_add(R v) {
    const __m256d s4 = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, v, 1), _mm512_maskz_extractf64x4_pd(0xF, v, 0));
    const __m128d s2 = _mm_add_pd(_mm256_extractf128_pd(s4, 1), _mm256_castpd256_pd128(s4));
    return _mm_cvtsd_f64(s2) + _mm_cvtsd_f64(_mm_unpackhi_pd(s2, s2));
  }
  PLEXUS_ISA static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  PLEXUS_ISA static R round_bf16(R v) { return v; }  // not used: bf16 products take float operands
  PLEXUS_ISA static void transpose(R r[8]) {
    __m512d t[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm512_maskz_unpacklo_pd(kAll8, r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_maskz_unpackhi_pd(kAll8, r[2 * i], r[2 * i + 1]);
    }
    // t[2g + e], 128-bit lane l: elements 2l + e of rows 2g, 2g + 1.
    __m512d u[8];
    for (int e = 0; e < 2; ++e)
      for (int h = 0; h < 2; ++h) {  // rows 4h .. 4h + 3
        u[4 * h + e] = _mm512_maskz_shuffle_f64x2(kAll8, t[4 * h + e], t[4 * h + 2 + e], 0x88);
        u[4 * h + 2 + e] = _mm512_maskz_shuffle_f64x2(kAll8, t[4 * h + e], t[4 * h + 2 + e], 0xDD);
      }
    // u[4h + 2s + e], 128-bit lane l: elements 4l' + 2s + e ... of rows 4h..4h+3
    for (int e = 0; e < 2; ++e)
      for (int s = 0; s < 2; ++s) {
        r[2 * s + e] = _mm512_maskz_shuffle_f64x2(kAll8, u[2 * s + e], u[4 + 2 * s + e], 0x88);
        r[4 + 2 * s + e] = _mm512_maskz_shuffle_f64x2(kAll8, u[2 * s + e], u[4 + 2 * s + e], 0xDD);
      }
  }
};

#include "engine_kernels.hpp"

// sum_i half_to_float(w[i]) * x[i]: two accumulators 32 halves at a time,
// asking for the weights 2 KB ahead (one line per 32 halves: the hardware
// prefetcher alone left the loop well short of the rate at which the
// weights can be read), then 16, then one by one.
PLEXUS_ISA inline float hdot(const std::uint16_t* w, const float* x, Index n) {
  Index i = 0;
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(w + i) + 2048), _MM_HINT_T0);
    s0 = _mm512_fmadd_ps(_mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))),
                         _mm512_loadu_ps(x + i), s0);
    s1 =
        _mm512_fmadd_ps(_mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i + 16))),
                        _mm512_loadu_ps(x + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))),
                         _mm512_loadu_ps(x + i), s0);
  float s = reduce_add16(_mm512_add_ps(s0, s1));
  for (; i < n; ++i)  // multiply, then add: g++ 12 did not fuse these in the AVX-512 build before the engines
    s = _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(s), _mm_mul_ss(_mm_cvtph_ps(_mm_cvtsi32_si128(w[i])), _mm_set_ss(x[i]))));
  return s;
}

#undef PLEXUS_ISA

}  // namespace avx512
}  // namespace detail
}  // namespace plexus
#endif
