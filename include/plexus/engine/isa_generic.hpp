// The generic engine: portable C++ "registers" of a few lanes that any
// compiler keeps in vector registers where it can (float: 4 lanes, 8 x 4
// micro-tiles; double: 4 lanes, 4 x 4), the shared kernels compiled for
// them, and the half dot product. Runs on any CPU.
#pragma once

#include "../core/bf16.hpp"
#include "../core/half.hpp"
#include "kernel_table.hpp"
#include "target.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace plexus {
namespace detail {
namespace generic {

#define PLEXUS_ISA PLEXUS_TARGET_GENERIC

// Lanes of plain scalars. Multiply-adds round twice (a * b, then + c).
template <typename Scalar, int Lanes, int Panel, int Cols>
struct Vec {
  using T = Scalar;
  struct R {
    T v[Lanes];
  };
  static constexpr int W = Lanes, MV = Panel, NR = Cols;
  PLEXUS_ISA static R zero() { return set1(T(0)); }
  PLEXUS_ISA static R set1(T x) {
    R r;
    for (int l = 0; l < W; ++l) r.v[l] = x;
    return r;
  }
  PLEXUS_ISA static R load(const T* p) {
    R r;
    for (int l = 0; l < W; ++l) r.v[l] = p[l];
    return r;
  }
  PLEXUS_ISA static R load_n(const T* p, Index n) {
    R r;
    for (int l = 0; l < W; ++l) r.v[l] = l < n ? p[l] : T(0);
    return r;
  }
  PLEXUS_ISA static void store(T* p, R a) {
    for (int l = 0; l < W; ++l) p[l] = a.v[l];
  }
  PLEXUS_ISA static void store_n(T* p, Index n, R a) {
    for (int l = 0; l < W && l < n; ++l) p[l] = a.v[l];
  }
#define PLEXUS_GENERIC_OP(name, expr)          \
  PLEXUS_ISA static R name(R a, R b) {         \
    R r;                                       \
    for (int l = 0; l < W; ++l) r.v[l] = expr; \
    return r;                                  \
  }
  PLEXUS_GENERIC_OP(add, a.v[l] + b.v[l])
  PLEXUS_GENERIC_OP(mul, a.v[l] * b.v[l])
  PLEXUS_GENERIC_OP(div, a.v[l] / b.v[l])
#undef PLEXUS_GENERIC_OP
  PLEXUS_ISA static R fmadd(R a, R b, R c) {
    R r;
    for (int l = 0; l < W; ++l) {
      const T p = a.v[l] * b.v[l];
      r.v[l] = p + c.v[l];
    }
    return r;
  }
  PLEXUS_ISA static R fnmadd(R a, R b, R c) {
    R r;
    for (int l = 0; l < W; ++l) {
      const T p = a.v[l] * b.v[l];
      r.v[l] = c.v[l] - p;
    }
    return r;
  }
  PLEXUS_ISA static R sqrt(R a) {
    R r;
    for (int l = 0; l < W; ++l) {
      if constexpr (sizeof(T) == 4) r.v[l] = __builtin_sqrtf(a.v[l]);
      else r.v[l] = __builtin_sqrt(a.v[l]);
    }
    return r;
  }
  PLEXUS_ISA static R adam_sqrt(R a) { return sqrt(a); }
  PLEXUS_ISA static T reduce_add(R a) {
    for (int w = W / 2; w > 0; w /= 2)
      for (int l = 0; l < w; ++l) a.v[l] += a.v[l + w];
    return a.v[0];
  }
  PLEXUS_ISA static void prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
  }
  PLEXUS_ISA static R round_bf16(R a) {
    if constexpr (sizeof(T) == 4) {
      for (int l = 0; l < W; ++l) {
        std::uint32_t x;
        __builtin_memcpy(&x, &a.v[l], 4);
        const std::uint32_t exponent = x & 0x7f800000u;
        if (exponent == 0) x &= 0x80000000u;
        else if (exponent == 0x7f800000u && (x & 0x7fffffu) != 0) x |= 0x400000u;
        else x += 0x7fffu + ((x >> 16) & 1u);
        x &= 0xffff0000u;
        __builtin_memcpy(&a.v[l], &x, 4);
      }
    }
    return a;
  }
  PLEXUS_ISA static R load_bf16_n(const std::uint16_t* p, Index n) {
    R r;
    for (int l = 0; l < W; ++l) {
      const std::uint32_t x = l < n ? static_cast<std::uint32_t>(p[l]) << 16 : 0u;
      __builtin_memcpy(&r.v[l], &x, 4);
    }
    return r;
  }
  PLEXUS_ISA static R load_bf16(const std::uint16_t* p) { return load_bf16_n(p, W); }
  PLEXUS_ISA static void transpose(R r[W]) {
    for (int i = 0; i < W; ++i)
      for (int j = i + 1; j < W; ++j) {
        const T t = r[i].v[j];
        r[i].v[j] = r[j].v[i];
        r[j].v[i] = t;
      }
  }
};

using F32 = Vec<float, 4, 2, 4>;
using F64 = Vec<double, 4, 1, 4>;

#include "engine_kernels.hpp"

// half -> float without branches on the value (so the loop vectorises):
// the half's exponent and mantissa moved into a float's and scaled by 2^112
// (exact for normals and subnormals alike); infinities and NaNs set apart
// under a mask.
PLEXUS_ISA inline float half_bits_to_float(std::uint16_t h) {
  const std::uint32_t magnitude = h & 0x7fffu, sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t moved = magnitude << 13;
  float f;
  __builtin_memcpy(&f, &moved, 4);
  f *= 0x1p112f;
  std::uint32_t x;
  __builtin_memcpy(&x, &f, 4);
  const std::uint32_t special = 0u - static_cast<std::uint32_t>(magnitude >= 0x7c00u);
  x = (x & ~special) | ((moved | 0x7f800000u) & special) | sign;
  __builtin_memcpy(&f, &x, 4);
  return f;
}

// sum_i half_to_float(w[i]) * x[i] in 8 interleaved lanes, combined
// pairwise; the weights asked for 2 KB ahead, one line per 32.
PLEXUS_ISA inline float hdot(const std::uint16_t* w, const float* x, Index n) {
  constexpr int L = 8;
  float acc[L] = {};
  Index i = 0;
  for (; i + 32 <= n; i += 32) {
    __builtin_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(w + i) + 2048));
    for (int b = 0; b < 32; b += L)
      for (int l = 0; l < L; ++l) {
        const float p = half_bits_to_float(w[i + b + l]) * x[i + b + l];
        acc[l] += p;
      }
  }
  const int tail = static_cast<int>(n - i);  // < 32
  for (int t = 0; t < tail; ++t) {
    const float p = half_bits_to_float(w[i + t]) * x[i + t];
    acc[t % L] += p;
  }
  for (int s = L / 2; s > 0; s /= 2)
    for (int l = 0; l < s; ++l) acc[l] += acc[l + s];
  return acc[0];
}

#undef PLEXUS_ISA

}  // namespace generic
}  // namespace detail
}  // namespace plexus
