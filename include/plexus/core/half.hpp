// IEEE 754 half precision (binary16) storage for weights: conversions and
// the dot product of a half-precision vector with a float vector.
//
// Halves are only a storage format here: every product and sum is done in
// float. Conversions round to nearest, ties to even, as F16C's VCVTPS2PH.
#pragma once

#include "types.hpp"

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || (defined(__F16C__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace plexus {

// The largest finite half, 65504; floats from 65520 up round to infinity.
inline constexpr float kHalfMax = 65504.0f;

// float -> half, rounding to nearest (ties to even). Values too large for a
// half become infinities and NaN stays NaN; callers that must not produce
// them check |f| <= kHalfMax first.
inline std::uint16_t float_to_half(float f) {
  std::uint32_t x = 0;
  std::memcpy(&x, &f, sizeof x);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);  // NaN (quiet)
  if (x >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: infinity
  const std::uint32_t e = x >> 23;                                          // biased float exponent
  if (e <= 101) return sign;                                                // below 2^-25: zero
  std::uint32_t mant, drop;
  if (e < 113) {  // a half subnormal: value = h * 2^-24
    mant = (x & 0x7fffffu) | 0x800000u;
    drop = 126 - e;  // 14..24 bits rounded off
  } else {          // normal: rebias the exponent, keep 10 of the 23 mantissa bits
    mant = ((e - 112) << 23) | (x & 0x7fffffu);
    drop = 13;
  }
  std::uint32_t h = mant >> drop;
  const std::uint32_t rest = mant & ((1u << drop) - 1), half_way = 1u << (drop - 1);
  if (rest > half_way || (rest == half_way && (h & 1u))) ++h;  // a carry moves into the exponent: correct
  return static_cast<std::uint16_t>(sign | h);
}

// half -> float (exact).
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x = 0;
  if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {  // subnormal: normalise
      e = 113;
      while (!(m & 0x400u)) {
        m <<= 1;
        --e;
      }
      x = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (e == 31) {
    x = sign | 0x7f800000u | (m << 13);
  } else {
    x = sign | ((e + 112) << 23) | (m << 13);
  }
  float f = 0;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

namespace detail {

// dot_half asks for the weights 2 KB ahead of its reads, one cache line per
// 32 halves: the hardware prefetcher alone left the loop well short of the
// speed at which the weights can merely be read. The address is formed as
// an integer, since it may lie past the end of the array (a prefetch never
// faults).
#if defined(__AVX512F__) || (defined(__F16C__) && defined(__FMA__))
constexpr std::uintptr_t kHalfPrefetchBytes = 2048;
inline void prefetch_ahead(const std::uint16_t* p) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + kHalfPrefetchBytes),
               _MM_HINT_T0);
}
#endif

#if defined(__AVX512F__)
// The sum of the 16 lanes of v, added in the order of GCC's
// _mm512_reduce_add_ps (upper half + lower half, then again on 128 and 64
// bits), but through intrinsics that do not expand to _mm256_undefined_pd():
// g++ 12 reports that one as an uninitialised read (-Wuninitialized, GCC bug
// 105593), which fails builds with -Werror.
inline float reduce_add(__m512 v) {
  const __m256 hi = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(v), 1));
  const __m256 lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(v), 0));
  const __m256 s8 = _mm256_add_ps(hi, lo);
  const __m128 s4 = _mm_add_ps(_mm256_extractf128_ps(s8, 1), _mm256_castps256_ps128(s8));
  const __m128 s2 = _mm_add_ps(s4, _mm_shuffle_ps(s4, s4, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm_cvtss_f32(s2) + _mm_cvtss_f32(_mm_shuffle_ps(s2, s2, _MM_SHUFFLE(1, 1, 1, 1)));
}
#endif

// sum_i half_to_float(w[i]) * x[i], in float. The order of the additions
// depends only on n (and on the instruction set the code was built for).
inline float dot_half(const std::uint16_t* w, const float* x, Index n) {
  Index i = 0;
  float s = 0;
#if defined(__AVX512F__)
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    prefetch_ahead(w + i);
    s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))),
                         _mm512_loadu_ps(x + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i + 16))),
                         _mm512_loadu_ps(x + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))),
                         _mm512_loadu_ps(x + i), s0);
  s = reduce_add(_mm512_add_ps(s0, s1));
#elif defined(__F16C__) && defined(__FMA__)
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    if (i % 32 == 0) prefetch_ahead(w + i);
    s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i))),
                         _mm256_loadu_ps(x + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i + 8))),
                         _mm256_loadu_ps(x + i + 8), s1);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(s0, s1));
  for (float v : lanes) s += v;
#endif
  for (; i < n; ++i) s += half_to_float(w[i]) * x[i];
  return s;
}

}  // namespace detail
}  // namespace plexus
