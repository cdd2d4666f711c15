// The avx2 engine: AVX2 + FMA + F16C vector traits for float (8 lanes,
// 24 x 4 micro-tiles: 12 of the 16 registers hold C) and double (4 lanes,
// 12 x 4), the shared kernels compiled for them, and the half dot product.
#pragma once

#include "../core/half.hpp"
#include "kernel_table.hpp"
#include "target.hpp"

#include <cstdint>
#include <cstring>
#include <type_traits>

#if PLEXUS_X86
namespace plexus {
namespace detail {
namespace avx2 {

#define PLEXUS_ISA PLEXUS_TARGET_AVX2

// Lanes below n set (all when n >= 8), for masked loads and stores.
PLEXUS_ISA inline __m256i lanes32(Index n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < 8 ? n : 8)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
PLEXUS_ISA inline __m256i lanes64(Index n) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n < 4 ? n : 4), _mm256_setr_epi64x(0, 1, 2, 3));
}

struct F32 {
  using T = float;
  using R = __m256;
  static constexpr int W = 8, MV = 3, NR = 4;
  PLEXUS_ISA static R zero() { return _mm256_setzero_ps(); }
  PLEXUS_ISA static R set1(T x) { return _mm256_set1_ps(x); }
  PLEXUS_ISA static R load(const T* p) { return _mm256_loadu_ps(p); }
  PLEXUS_ISA static R load_n(const T* p, Index n) { return n >= W ? load(p) : _mm256_maskload_ps(p, lanes32(n)); }
  PLEXUS_ISA static void store(T* p, R v) { _mm256_storeu_ps(p, v); }
  PLEXUS_ISA static void store_n(T* p, Index n, R v) {
    if (n >= W) store(p, v);
    else _mm256_maskstore_ps(p, lanes32(n), v);
  }
  PLEXUS_ISA static R add(R a, R b) { return _mm256_add_ps(a, b); }
  PLEXUS_ISA static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  PLEXUS_ISA static R div(R a, R b) { return _mm256_div_ps(a, b); }
  PLEXUS_ISA static R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  PLEXUS_ISA static R fnmadd(R a, R b, R c) { return _mm256_fnmadd_ps(a, b, c); }
  PLEXUS_ISA static R sqrt(R a) { return _mm256_sqrt_ps(a); }
  PLEXUS_ISA static R adam_sqrt(R a) { return _mm256_sqrt_ps(a); }  // exact: rsqrtps differs between vendors
  PLEXUS_ISA static T reduce_add(R v) {
    const __m128 s4 = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, _MM_SHUFFLE(1, 1, 1, 1))));
  }
  PLEXUS_ISA static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  PLEXUS_ISA static R round_bf16(R v) {  // as VCVTNEPS2BF16, kept as floats
    const __m256i x = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    const __m256i abs = _mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff));
    const __m256i nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));  // abs < 2^31: signed compare works
    const __m256i tiny = _mm256_cmpeq_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7f800000)), _mm256_setzero_si256());
    __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(x, _mm256_set1_epi32(0x400000)), nan);
    r = _mm256_blendv_epi8(r, _mm256_and_si256(x, _mm256_set1_epi32(static_cast<int>(0x80000000u))), tiny);
    return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  PLEXUS_ISA static R load_bf16(const std::uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  PLEXUS_ISA static R load_bf16_n(const std::uint16_t* p, Index n) {
    std::uint16_t h[8] = {};
    __builtin_memcpy(h, p, static_cast<std::size_t>(n < 8 ? n : 8) * sizeof(std::uint16_t));
    return load_bf16(h);
  }
  PLEXUS_ISA static void transpose(R r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
      u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    // u[4g + e], 128-bit lane l: elements 4l + e of rows 4g..4g+3.
    for (int e = 0; e < 4; ++e) {
      r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
      r[4 + e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
    }
  }
  // Four rows of 8 (r[j], element k) to the 8 x 4 transpose, two rows of it
  // per register: r[q] holds elements 2q (lanes 0-3) and 2q + 1 (lanes 4-7)
  // of rows 0..3. For 4-column panels.
  static constexpr bool kTransposeHalf = true;
  PLEXUS_ISA static void transpose_half(R r[4]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    // x[e], 128-bit lane l: element 4l + e of rows 0..3.
    const __m256 x0 = _mm256_shuffle_ps(t0, t2, 0x44), x1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 x2 = _mm256_shuffle_ps(t1, t3, 0x44), x3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    r[0] = _mm256_permute2f128_ps(x0, x1, 0x20);
    r[1] = _mm256_permute2f128_ps(x2, x3, 0x20);
    r[2] = _mm256_permute2f128_ps(x0, x1, 0x31);
    r[3] = _mm256_permute2f128_ps(x2, x3, 0x31);
  }
};

struct F64 {
  using T = double;
  using R = __m256d;
  static constexpr int W = 4, MV = 3, NR = 4;
  PLEXUS_ISA static R zero() { return _mm256_setzero_pd(); }
  PLEXUS_ISA static R set1(T x) { return _mm256_set1_pd(x); }
  PLEXUS_ISA static R load(const T* p) { return _mm256_loadu_pd(p); }
  PLEXUS_ISA static R load_n(const T* p, Index n) { return n >= W ? load(p) : _mm256_maskload_pd(p, lanes64(n)); }
  PLEXUS_ISA static void store(T* p, R v) { _mm256_storeu_pd(p, v); }
  PLEXUS_ISA static void store_n(T* p, Index n, R v) {
    if (n >= W) store(p, v);
    else _mm256_maskstore_pd(p, lanes64(n), v);
  }
  PLEXUS_ISA static R add(R a, R b) { return _mm256_add_pd(a, b); }
  PLEXUS_ISA static R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  PLEXUS_ISA static R div(R a, R b) { return _mm256_div_pd(a, b); }
  PLEXUS_ISA static R fmadd(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  PLEXUS_ISA static R fnmadd(R a, R b, R c) { return _mm256_fnmadd_pd(a, b, c); }
  PLEXUS_ISA static R sqrt(R a) { return _mm256_sqrt_pd(a); }
  PLEXUS_ISA static R adam_sqrt(R a) { return _mm256_sqrt_pd(a); }
  PLEXUS_ISA static T reduce_add(R v) {
    const __m128d s2 = _mm_add_pd(_mm256_extractf128_pd(v, 1), _mm256_castpd256_pd128(v));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  }
  PLEXUS_ISA static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  PLEXUS_ISA static R round_bf16(R v) { return v; }  // not used: bf16 products take float operands
  PLEXUS_ISA static void transpose(R r[4]) {
    const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
};

#include "engine_kernels.hpp"

// sum_i half_to_float(w[i]) * x[i], as the F16C build did before the
// engines: two accumulators 16 halves at a time, the weights asked for 2 KB
// ahead once per 32, the lanes then added in order, then one by one.
PLEXUS_ISA inline float hdot(const std::uint16_t* w, const float* x, Index n) {
  Index i = 0;
  float s = 0;
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    if (i % 32 == 0)
      _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(w + i) + 2048), _MM_HINT_T0);
    s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))),
                         _mm256_loadu_ps(x + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8))),
                         _mm256_loadu_ps(x + i + 8), s1);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(s0, s1));
  for (float v : lanes) s += v;
  for (; i < n; ++i)  // fused, as g++ 12 fused them in the F16C + FMA build before the engines
    s = _mm_cvtss_f32(_mm_fmadd_ss(_mm_cvtph_ps(_mm_cvtsi32_si128(w[i])), _mm_set_ss(x[i]), _mm_set_ss(s)));
  return s;
}

#undef PLEXUS_ISA

}  // namespace avx2
}  // namespace detail
}  // namespace plexus
#endif
