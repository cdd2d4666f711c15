// bfloat16 (the upper half of an IEEE float) for products: the scalar
// conversions, and the precision a product's operands are rounded to.
//
// Only the operands of a product are rounded: sums stay in float, and the
// weights a network trains stay in float (master weights).
#pragma once

#include <cstdint>
#include <cstring>

namespace plexus {

// The precision of a product's operands. native: the scalar type itself.
// bf16: float operands rounded to bfloat16 (to nearest, ties to even) as
// they are packed, products summed in float; on CPUs without bf16
// instructions this is emulated (see bf16_emulated() in engine/engine.hpp).
enum class Precision { native, bf16 };

inline const char* to_string(Precision p) { return p == Precision::bf16 ? "bf16" : "native"; }

// float -> bfloat16 exactly as the VCVTNEPS2BF16 instruction converts, so
// that emulated and hardware products round their operands alike: to
// nearest, ties to even; denormals become zeros of the same sign; NaN stays
// NaN (made quiet); values beyond the largest bf16 become infinities.
inline std::uint16_t float_to_bf16(float f) {
  std::uint32_t x = 0;
  std::memcpy(&x, &f, sizeof x);
  const std::uint32_t exponent = x & 0x7f800000u;
  if (exponent == 0) return static_cast<std::uint16_t>((x >> 16) & 0x8000u);  // zero or denormal
  if (exponent == 0x7f800000u && (x & 0x7fffffu) != 0) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>(x >> 16);
}

// bfloat16 -> float (exact).
inline float bf16_to_float(std::uint16_t b) {
  const std::uint32_t x = static_cast<std::uint32_t>(b) << 16;
  float f = 0;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

// f rounded to the nearest bfloat16, as a float.
inline float round_to_bf16(float f) { return bf16_to_float(float_to_bf16(f)); }

}  // namespace plexus
