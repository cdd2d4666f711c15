// The amx engine's products at Precision::bf16: AMX tiles (TDPBF16PS), four
// 16 x 16 float accumulators per 32 x 32 block of C. Written from Intel's
// documentation; it has never run on the machine this was developed on
// (no AMX there), so its tests skip unless the CPU has AMX.
#pragma once

#include "gemm_bf16.hpp"

#if PLEXUS_AMX
namespace plexus {
namespace detail {
namespace amx {

using avx512::lesser;
using avx512::mask16;

// The 64-byte LDTILECFG operand: palette 1, tiles 0-7 all 16 rows of 64
// bytes (16 floats, or 32 bf16). Constant, so its bytes are in memory when
// the instruction reads them.
struct alignas(64) TileConfig {
  std::uint8_t palette = 0, start_row = 0, reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};
constexpr TileConfig make_tile_config() {
  TileConfig c;
  c.palette = 1;
  for (int t = 0; t < 8; ++t) {
    c.colsb[t] = 64;
    c.rows[t] = 16;
  }
  return c;
}
inline constexpr TileConfig kTileConfig = make_tile_config();

// Packed layouts. C is column-major, so a tile row (16 contiguous floats)
// is part of a column of C: the accumulator tile holds C^T, and
// C^T = B^T A^T. Tile operand 1 is B^T: 16 columns of op(B), each with 32
// consecutive K (one 64-byte row). Tile operand 2 is A^T in pairs: 16 pair
// rows, each 16 rows of op(A) x 2 K, exactly avx512_bf16's pair packing of
// op(A) (panels of 32 rows here, K padded to 32).
//
// op(B)[k0 : k0 + kc, j0 : j0 + nj] in panels of 32 columns; in a panel,
// for each chunk of 32 K, the 32 columns' 32 bf16 one after another.
template <bool Trans>
PLEXUS_TARGET_AVX512_BF16 void pack_rhs(void* out, const float* b, Index ldb, Index k0, Index j0, Index kc, Index nj) {
  auto* dst = static_cast<std::uint16_t*>(out);
  const Index kp = round_up(kc, 32), chunks = kp / 32;
  for (Index q = 0; q < nj; q += 32, dst += 32 * kp) {
    for (Index ch = 0; ch < chunks; ++ch) {
      const Index k = ch * 32, len = lesser(32, kc - k);
      std::uint16_t* chunk = dst + ch * 32 * 32;
      if (!Trans) {  // element (k, j) at b[k + j * ldb]: a column's K is contiguous
        for (Index jj = 0; jj < 32; ++jj) {
          const __m512i w = q + jj < nj ? avx512_bf16::contiguous_pairs(b + (k0 + k) + (j0 + q + jj) * ldb, len)
                                        : _mm512_setzero_si512();
          _mm512_storeu_si512(chunk + jj * 32, w);
        }
      } else {  // element (k, j) at b[j + k * ldb]: rows contiguous; pair them, transpose 16 x 16 words
        for (Index js = 0; js < 32; js += 16) {
          __m512i r[16];
          const __mmask16 m = q + js < nj ? mask16(nj - q - js) : __mmask16(0);
          for (Index p = 0; p < 16; ++p) {
            const Index kk = k + 2 * p;
            const float* s = b + (j0 + q + js) + (k0 + kk) * ldb;
            const __m512 lo = kk < kc ? _mm512_maskz_loadu_ps(m, s) : _mm512_setzero_ps();
            const __m512 hi = kk + 1 < kc ? _mm512_maskz_loadu_ps(m, s + ldb) : _mm512_setzero_ps();
            r[p] = avx512_bf16::pair_words(lo, hi);
          }
          avx512_bf16::transpose_words(r);  // r[jj]: the 16 pairs (32 K) of column q + js + jj
          for (Index jj = 0; jj < 16; ++jj) _mm512_storeu_si512(chunk + (js + jj) * 32, r[jj]);
        }
      }
    }
  }
}

// C[mi x nj] (=, or += when !zero) alpha * A * B. Every call loads the tile
// configuration itself (whichever OpenMP thread runs it, and whatever
// another library left configured) and releases the tiles at the end.
PLEXUS_TARGET_AMX inline void gemm_kernel(float* c, Index ldc, const void* pa_, const void* pb_, Index mi, Index kc,
                                          Index nj, float alpha, bool zero) {
  _tile_loadconfig(&kTileConfig);
  const Index kp = round_up(kc, 32), chunks = kp / 32;
  const auto* pb = static_cast<const char*>(pb_);
  alignas(64) float out[4][256];  // tile t = 2 * (column half) + (row half): out[t][16 * jj + ii]
  const __m512 al = _mm512_set1_ps(alpha);
  for (Index q = 0; q < nj; q += 32, pb += 32 * kp * 2) {
    const Index cols = lesser(32, nj - q);
    const auto* a = static_cast<const char*>(pa_);
    for (Index p = 0; p < mi; p += 32) {
      const Index rows = lesser(32, mi - p), width = round_up(rows, 16);
      const Index pair_row = width * 4;  // bytes from one pair row of the A panel to the next
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (Index ch = 0; ch < chunks; ++ch) {
        const char* bt = pb + ch * 32 * 64;       // B^T: columns q .. q + 15, then q + 16 .. q + 31
        const char* at = a + ch * 16 * pair_row;  // A: 16 pair rows; rows p .. p + 15, then p + 16 ..
        _tile_loadd(4, bt, 64);
        _tile_loadd(6, at, pair_row);
        _tile_dpbf16ps(0, 4, 6);
        if (cols > 16) {
          _tile_loadd(5, bt + 16 * 64, 64);
          _tile_dpbf16ps(2, 5, 6);
        }
        if (width > 16) {
          _tile_loadd(7, at + 64, pair_row);
          _tile_dpbf16ps(1, 4, 7);
          if (cols > 16) _tile_dpbf16ps(3, 5, 7);
        }
      }
      _tile_stored(0, out[0], 64);
      _tile_stored(1, out[1], 64);
      _tile_stored(2, out[2], 64);
      _tile_stored(3, out[3], 64);
      for (Index j = 0; j < cols; ++j)
        for (Index ti = 0; ti * 16 < rows; ++ti) {
          float* cp = c + (p + 16 * ti) + (q + j) * ldc;
          const __mmask16 m = mask16(rows - 16 * ti);
          const __m512 t = _mm512_load_ps(out[2 * (j / 16) + ti] + 16 * (j % 16));
          _mm512_mask_storeu_ps(cp, m,
                                zero ? _mm512_mul_ps(al, t) : _mm512_fmadd_ps(al, t, _mm512_maskz_loadu_ps(m, cp)));
        }
      a += width * kp * 2;
    }
  }
  _tile_release();
}

inline GemmKernels<float> gemm_kernels() {
  GemmKernels<float> k;
  k.nr = 32;
  k.row_align = 16;
  k.k_align = 32;
  k.elem_bytes = 2;
  k.kc_whole = 1024;
  k.kc_panel = 768;
  k.kc_round = 32;
  k.pack_lhs[0] = &avx512_bf16::pack_lhs_pairs<32, 32, false>;
  k.pack_lhs[1] = &avx512_bf16::pack_lhs_pairs<32, 32, true>;
  k.pack_rhs[0] = &pack_rhs<false>;
  k.pack_rhs[1] = &pack_rhs<true>;
  k.kernel = &gemm_kernel;
  return k;
}

// The avx512_bf16 engine with these bf16 products.
template <typename T>
KernelTable<T> table() {
  KernelTable<T> t = avx512_bf16::table<T>();
  if constexpr (std::is_same_v<T, float>) t.gemm_bf16 = gemm_kernels();
  return t;
}

}  // namespace amx
}  // namespace detail
}  // namespace plexus
#endif
