// 8-bit integer products for Int8Predictor (model/int8_predictor.hpp):
// the packed layout of a dense step's int8 weights, the per-row
// quantisation of its input to unsigned 8 bits, and the u8 x s8 -> int32
// matrix-vector product, with AVX-512 VNNI (VPDPBUSD) where the CPU has it
// and a portable int32 loop elsewhere. Both give the same int32 sums: the
// products are exact and the sums cannot overflow (see kMaxInputs).
//
// Layout: outputs are packed in quads of 64 (four blocks of 16), inputs in
// groups of 4. Quad q starts at w + q * groups * 256; in it, group g is 256
// bytes at + g * 256, block k of the quad at + k * 64, and output l of the
// block holds its 4 weights of the group at + 4 * l. So weight (output j,
// input i) is at q*groups*256 + (i/4)*256 + ((j%64)/16)*64 + (j%16)*4 + i%4
// with q = j/64; padding (outputs to a multiple of 64, inputs to one of 4)
// holds zeros. One VPDPBUSD then multiplies a broadcast group of 4 inputs
// by 16 outputs' 4 weights each, and a quad reads one contiguous stream.
#pragma once

#include "../core/types.hpp"
#include "cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PLEXUS_INT8_VNNI_DETAIL_ 1
#else
#define PLEXUS_INT8_VNNI_DETAIL_ 0
#endif

namespace plexus {
namespace detail {
namespace int8 {

// The widest input the int32 sums hold exactly: each product of a u8 and an
// s8 is at most 255 * 128 in magnitude.
inline constexpr Index kMaxInputs = Index(2147483647) / (255 * 128);

inline Index groups_of(Index inputs) { return (inputs + 3) / 4; }
inline Index quads_of(Index outputs) { return (outputs + 63) / 64; }
inline std::size_t packed_size(Index inputs, Index outputs) {
  return static_cast<std::size_t>(quads_of(outputs) * groups_of(inputs) * 256);
}
inline std::size_t packed_at(Index groups, Index j, Index i) {
  return static_cast<std::size_t>((j / 64) * groups * 256 + (i / 4) * 256 + ((j % 64) / 16) * 64 + (j % 16) * 4 +
                                  i % 4);
}

// acc[64 q + o] = sum_i u[i] * w(64 q + o, i) for quads q in [q0, q1) and
// o < 64: u holds 4 * groups bytes, w the packed weights.
inline void gemv_scalar(const std::uint8_t* u, const std::int8_t* w, Index groups, Index q0, Index q1,
                        std::int32_t* acc) {
  for (Index q = q0; q < q1; ++q) {
    std::int32_t a[64] = {};
    const std::int8_t* p = w + q * groups * 256;
    for (Index g = 0; g < groups; ++g, p += 256) {
      const std::uint8_t* x = u + 4 * g;
      const std::int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
      for (int o = 0; o < 64; ++o) a[o] += x0 * p[4 * o] + x1 * p[4 * o + 1] + x2 * p[4 * o + 2] + x3 * p[4 * o + 3];
    }
    std::copy(a, a + 64, acc + 64 * q);
  }
}

#if PLEXUS_INT8_VNNI_DETAIL_
// The same with VPDPBUSD; only on a CPU with AVX-512 VNNI (avx512_vnni()).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline void gemv_vnni(const std::uint8_t* u,
                                                                             const std::int8_t* w, Index groups,
                                                                             Index q0, Index q1, std::int32_t* acc) {
  for (Index q = q0; q < q1; ++q) {
    const std::int8_t* p = w + q * groups * 256;
    // Two sets of accumulators (even and odd groups) keep eight
    // independent chains in flight.
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512(), a2 = _mm512_setzero_si512(),
            a3 = _mm512_setzero_si512(), b0 = _mm512_setzero_si512(), b1 = _mm512_setzero_si512(),
            b2 = _mm512_setzero_si512(), b3 = _mm512_setzero_si512();
    Index g = 0;
    for (; g + 2 <= groups; g += 2, p += 512) {
      std::int32_t x0, x1;
      std::memcpy(&x0, u + 4 * g, 4);
      std::memcpy(&x1, u + 4 * g + 4, 4);
      const __m512i v0 = _mm512_set1_epi32(x0), v1 = _mm512_set1_epi32(x1);
      a0 = _mm512_dpbusd_epi32(a0, v0, _mm512_loadu_si512(p));
      a1 = _mm512_dpbusd_epi32(a1, v0, _mm512_loadu_si512(p + 64));
      a2 = _mm512_dpbusd_epi32(a2, v0, _mm512_loadu_si512(p + 128));
      a3 = _mm512_dpbusd_epi32(a3, v0, _mm512_loadu_si512(p + 192));
      b0 = _mm512_dpbusd_epi32(b0, v1, _mm512_loadu_si512(p + 256));
      b1 = _mm512_dpbusd_epi32(b1, v1, _mm512_loadu_si512(p + 320));
      b2 = _mm512_dpbusd_epi32(b2, v1, _mm512_loadu_si512(p + 384));
      b3 = _mm512_dpbusd_epi32(b3, v1, _mm512_loadu_si512(p + 448));
    }
    if (g < groups) {
      std::int32_t x0;
      std::memcpy(&x0, u + 4 * g, 4);
      const __m512i v0 = _mm512_set1_epi32(x0);
      a0 = _mm512_dpbusd_epi32(a0, v0, _mm512_loadu_si512(p));
      a1 = _mm512_dpbusd_epi32(a1, v0, _mm512_loadu_si512(p + 64));
      a2 = _mm512_dpbusd_epi32(a2, v0, _mm512_loadu_si512(p + 128));
      a3 = _mm512_dpbusd_epi32(a3, v0, _mm512_loadu_si512(p + 192));
    }
    std::int32_t* out = acc + 64 * q;
    _mm512_storeu_si512(out, _mm512_add_epi32(a0, b0));
    _mm512_storeu_si512(out + 16, _mm512_add_epi32(a1, b1));
    _mm512_storeu_si512(out + 32, _mm512_add_epi32(a2, b2));
    _mm512_storeu_si512(out + 48, _mm512_add_epi32(a3, b3));
  }
}
#endif

#if PLEXUS_INT8_VNNI_DETAIL_
// gemv_vnni for R rows at once (row r's bytes at u + r * u_stride, its sums
// at acc + r * acc_stride): each weight vector loaded once for the R rows.
template <int R>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline void gemm_vnni(const std::uint8_t* u, Index u_stride,
                                                                             const std::int8_t* w, Index groups,
                                                                             Index q0, Index q1, std::int32_t* acc,
                                                                             Index acc_stride) {
  for (Index q = q0; q < q1; ++q) {
    const std::int8_t* p = w + q * groups * 256;
    __m512i a[R][4];
    for (int r = 0; r < R; ++r)
      for (int k = 0; k < 4; ++k) a[r][k] = _mm512_setzero_si512();
    for (Index g = 0; g < groups; ++g, p += 256) {
      const __m512i w0 = _mm512_loadu_si512(p), w1 = _mm512_loadu_si512(p + 64), w2 = _mm512_loadu_si512(p + 128),
                    w3 = _mm512_loadu_si512(p + 192);
      for (int r = 0; r < R; ++r) {
        std::int32_t x;
        std::memcpy(&x, u + r * u_stride + 4 * g, 4);
        const __m512i v = _mm512_set1_epi32(x);
        a[r][0] = _mm512_dpbusd_epi32(a[r][0], v, w0);
        a[r][1] = _mm512_dpbusd_epi32(a[r][1], v, w1);
        a[r][2] = _mm512_dpbusd_epi32(a[r][2], v, w2);
        a[r][3] = _mm512_dpbusd_epi32(a[r][3], v, w3);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int k = 0; k < 4; ++k) _mm512_storeu_si512(acc + r * acc_stride + 64 * q + 16 * k, a[r][k]);
  }
}
#endif

// The most rows gemm takes at once.
inline constexpr int kMaxRows = 4;

// Whether this CPU and OS run gemv_vnni.
inline bool vnni_available() {
#if PLEXUS_INT8_VNNI_DETAIL_
  return cpu_features().avx512_vnni && cpu_features().avx512bw;
#else
  return false;
#endif
}

// gemv_vnni when `vnni` (the caller checked vnni_available()), else gemv_scalar.
inline void gemv(bool vnni, const std::uint8_t* u, const std::int8_t* w, Index groups, Index q0, Index q1,
                 std::int32_t* acc) {
#if PLEXUS_INT8_VNNI_DETAIL_
  if (vnni) return gemv_vnni(u, w, groups, q0, q1, acc);
#else
  (void)vnni;
#endif
  gemv_scalar(u, w, groups, q0, q1, acc);
}

// gemv for `rows` rows (1 to kMaxRows): row r's bytes at u + r * u_stride,
// its sums at acc + r * acc_stride; the same sums as gemv row by row.
inline void gemm(bool vnni, const std::uint8_t* u, Index u_stride, int rows, const std::int8_t* w, Index groups,
                 Index q0, Index q1, std::int32_t* acc, Index acc_stride) {
#if PLEXUS_INT8_VNNI_DETAIL_
  if (vnni) {
    switch (rows) {
      case 1: return gemv_vnni(u, w, groups, q0, q1, acc);
      case 2: return gemm_vnni<2>(u, u_stride, w, groups, q0, q1, acc, acc_stride);
      case 3: return gemm_vnni<3>(u, u_stride, w, groups, q0, q1, acc, acc_stride);
      default: return gemm_vnni<4>(u, u_stride, w, groups, q0, q1, acc, acc_stride);
    }
  }
#else
  (void)vnni;
#endif
  for (int r = 0; r < rows; ++r) gemv_scalar(u + r * u_stride, w, groups, q0, q1, acc + r * acc_stride);
}

// Quantises the row x[0..n) symmetrically to q[i] = round(x[i] / s) in
// [-127, 127] with s = max|x| / 127, stored shifted as u[i] = q[i] + 128 (so
// that VPDPBUSD, unsigned x signed, can take it); u[n..4*groups) = 128 (zero).
// Rounding is to nearest, ties to even, of the product x[i] * (127 / max|x|).
// Returns s: 0 for an all-zero row, NaN when x holds a non-finite value.
template <typename T>
T quantize_row(const T* x, Index n, Index groups, std::uint8_t* u) {
  T amax = 0, probe = 0;  // probe: NaN when some x[i] is not finite
  for (Index i = 0; i < n; ++i) {
    amax = std::max(amax, std::abs(x[i]));
    probe += x[i] * T(0);
  }
  for (Index i = n; i < 4 * groups; ++i) u[i] = 128;
  if (!(amax > 0) || !(probe == 0) || !std::isfinite(amax)) {
    for (Index i = 0; i < n; ++i) u[i] = 128;
    return amax == 0 && probe == 0 ? T(0) : std::numeric_limits<T>::quiet_NaN();
  }
  const T inv = T(127) / amax;
  for (Index i = 0; i < n; ++i) {
    const T r = std::nearbyint(x[i] * inv);
    u[i] = static_cast<std::uint8_t>(static_cast<int>(std::clamp(r, T(-127), T(127))) + 128);
  }
  return amax / T(127);
}

#if PLEXUS_INT8_VNNI_DETAIL_
// The same for float with AVX-512 (the same bits: VCVTPS2DQ rounds to
// nearest even as nearbyint does in the default rounding mode).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline float quantize_row_avx512(const float* x, Index n,
                                                                                        Index groups, std::uint8_t* u) {
  __m512 m = _mm512_setzero_ps();
  __mmask16 bad = 0;
  Index i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    bad |= _mm512_cmp_ps_mask(_mm512_mul_ps(v, _mm512_setzero_ps()), _mm512_setzero_ps(), _CMP_NEQ_UQ);
    m = _mm512_max_ps(m, _mm512_abs_ps(v));
  }
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
    bad |= _mm512_cmp_ps_mask(_mm512_mul_ps(v, _mm512_setzero_ps()), _mm512_setzero_ps(), _CMP_NEQ_UQ);
    m = _mm512_max_ps(m, _mm512_abs_ps(v));
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, m);
  const float amax = *std::max_element(lanes, lanes + 16);
  for (Index j = n; j < 4 * groups; ++j) u[j] = 128;
  if (!(amax > 0) || bad || !std::isfinite(amax)) {
    for (Index i = 0; i < n; ++i) u[i] = 128;
    return amax == 0 && !bad ? 0.0f : std::numeric_limits<float>::quiet_NaN();
  }
  const __m512 inv = _mm512_set1_ps(127.0f / amax);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), shift = _mm512_set1_epi32(128);
  for (i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1u);
    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv));
    q = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, lo), hi), shift);
    _mm512_mask_cvtepi32_storeu_epi8(u + i, k, q);
  }
  return amax / 127.0f;
}
#endif

// quantize_row, with AVX-512 for float when `vnni` (the caller checked vnni_available()).
template <typename T>
T quantize(bool vnni, const T* x, Index n, Index groups, std::uint8_t* u) {
#if PLEXUS_INT8_VNNI_DETAIL_
  if constexpr (std::is_same_v<T, float>)
    if (vnni) return quantize_row_avx512(x, n, groups, u);
#endif
  (void)vnni;
  return quantize_row(x, n, groups, u);
}

}  // namespace int8
}  // namespace detail
}  // namespace plexus

#undef PLEXUS_INT8_VNNI_DETAIL_
