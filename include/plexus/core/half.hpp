// IEEE 754 half precision (binary16) storage for weights: the conversions.
// The dot product of halves with floats is in engine/dot.hpp (one kernel per
// engine).
//
// Halves are only a storage format here: every product and sum is done in
// float. Conversions round to nearest, ties to even, as F16C's VCVTPS2PH.
#pragma once

#include "types.hpp"

#include <cstdint>
#include <cstring>

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
  if (x > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);   // NaN (quiet)
  if (x >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: infinity
  const std::uint32_t e = x >> 23;                                          // biased float exponent
  if (e <= 101) return sign;                                                // below 2^-25: zero
  std::uint32_t mant, drop;
  if (e < 113) {  // a half subnormal: value = h * 2^-24
    mant = (x & 0x7fffffu) | 0x800000u;
    drop = 126 - e;  // 14..24 bits rounded off
  } else {           // normal: rebias the exponent, keep 10 of the 23 mantissa bits
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

}  // namespace plexus
