//===- half.h - IEEE half and bfloat16 to float conversion ----------------===//
//
// safetensors files from PyTorch often hold F16 or BF16 weights; bisc computes in f32, so
// they are widened on load. Done by bit manipulation so results do not depend on the
// platform's (optional) _Float16 support.
#pragma once

#include <bit>
#include <cstdint>

namespace bisc {

/// Exact conversion of an IEEE 754 binary16 value: normals, subnormals, +-0, inf and NaN
/// (payload kept in the high mantissa bits).
inline float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal: value = mantissa * 2^-24; normalise so the leading 1 becomes implicit.
    int shift = std::countl_zero(uint16_t(mantissa)) - 6;  // zeros above the top bit, of 10
    mantissa = (mantissa << (shift + 1)) & 0x3ffu;
    bits = sign | (uint32_t(127 - 15 - shift) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

/// bfloat16 is the upper half of an f32.
inline float bfloat16ToFloat(uint16_t b) { return std::bit_cast<float>(uint32_t(b) << 16); }

} // namespace bisc
