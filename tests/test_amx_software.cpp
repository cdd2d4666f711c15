// The amx engine's packing and kernel, run on a CPU without AMX: the tile
// instructions are replaced by a software model of them (tile registers
// shaped by the loaded configuration, TDPBF16PS as Intel documents it), so
// the layouts, strides, tile shapes and edges of gemm_amx.hpp are checked
// against a double product; the instructions themselves are not. A program
// of its own (no other file may see these replacements).
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace soft_amx {

struct Tiles {
  alignas(64) unsigned char data[8][1024];
  int rows[8] = {}, colsb[8] = {};
  bool configured = false;
  long loads = 0, products = 0;
};
inline Tiles& tiles() {
  static thread_local Tiles t;
  return t;
}
inline void fail(const std::string& what) { throw std::logic_error("software AMX: " + what); }

inline void loadconfig(const void* config) {
  const auto* c = static_cast<const unsigned char*>(config);
  if (c[0] != 1) fail("palette must be 1");
  if (c[1] != 0) fail("start_row must be 0");
  for (int i = 2; i < 16; ++i)
    if (c[i] != 0) fail("reserved bytes must be 0");
  Tiles& t = tiles();
  for (int i = 0; i < 8; ++i) {
    std::uint16_t colsb = 0;
    std::memcpy(&colsb, c + 16 + 2 * i, 2);
    t.colsb[i] = colsb;
    t.rows[i] = c[48 + i];
    if (t.colsb[i] > 64 || t.rows[i] > 16) fail("a tile larger than 16 x 64 bytes");
  }
  t.configured = true;
}
inline void release() { tiles().configured = false; }
inline Tiles& configured() {
  Tiles& t = tiles();
  if (!t.configured) fail("tile used without a configuration");
  return t;
}
inline void load(int i, const void* base, long stride) {
  Tiles& t = configured();
  for (int r = 0; r < t.rows[i]; ++r)
    std::memcpy(t.data[i] + 64 * r, static_cast<const unsigned char*>(base) + r * stride,
                static_cast<std::size_t>(t.colsb[i]));
  ++t.loads;
}
inline void store(int i, void* base, long stride) {
  Tiles& t = configured();
  for (int r = 0; r < t.rows[i]; ++r)
    std::memcpy(static_cast<unsigned char*>(base) + r * stride, t.data[i] + 64 * r,
                static_cast<std::size_t>(t.colsb[i]));
}
inline void zero(int i) { std::memset(configured().data[i], 0, 1024); }
inline float bf16_at(const unsigned char* row, int k) {
  std::uint16_t h = 0;
  std::memcpy(&h, row + 2 * k, 2);
  const std::uint32_t x = static_cast<std::uint32_t>(h) << 16;
  float f = 0;
  std::memcpy(&f, &x, 4);
  return f;
}
// TDPBF16PS dst, a, b: dst[m][n] += a[m][2k] b[k][2n] + a[m][2k+1] b[k][2n+1].
inline void dpbf16ps(int d, int a, int b) {
  Tiles& t = configured();
  if (t.rows[d] != t.rows[a] || t.colsb[d] != t.colsb[b] || t.rows[b] != t.colsb[a] / 4)
    fail("TDPBF16PS with tiles of mismatched shapes");
  for (int m = 0; m < t.rows[d]; ++m)
    for (int n = 0; n < t.colsb[d] / 4; ++n) {
      float acc = 0;
      std::memcpy(&acc, t.data[d] + 64 * m + 4 * n, 4);
      for (int k = 0; k < t.colsb[a] / 4; ++k) {
        acc += bf16_at(t.data[a] + 64 * m, 2 * k) * bf16_at(t.data[b] + 64 * k, 2 * n);
        acc += bf16_at(t.data[a] + 64 * m, 2 * k + 1) * bf16_at(t.data[b] + 64 * k, 2 * n + 1);
      }
      std::memcpy(t.data[d] + 64 * m + 4 * n, &acc, 4);
    }
  ++t.products;
}

}  // namespace soft_amx

#undef _tile_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbf16ps
#define _tile_loadconfig(config) soft_amx::loadconfig(config)
#define _tile_release() soft_amx::release()
#define _tile_loadd(dst, base, stride) soft_amx::load(dst, base, stride)
#define _tile_stored(src, base, stride) soft_amx::store(src, base, stride)
#define _tile_zero(dst) soft_amx::zero(dst)
#define _tile_dpbf16ps(dst, a, b) soft_amx::dpbf16ps(dst, a, b)

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <plexus/engine/gemm.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using plexus::Index;

namespace {

struct Problem {
  bool ta, tb;
  Index m, n, k;
};

double bf16(float x) { return plexus::round_to_bf16(x); }

// op(A) m x k, op(B) k x n, leading dimensions with 3 spare rows; C checked
// against the double product of the bf16-rounded operands, padding intact.
void check(const Problem& p, float beta, int threads) {
  CAPTURE(p.ta);
  CAPTURE(p.tb);
  CAPTURE(p.m);
  CAPTURE(p.n);
  CAPTURE(p.k);
  CAPTURE(beta);
  std::mt19937 g(static_cast<unsigned>(p.m * 131 + p.n * 17 + p.k));
  std::uniform_real_distribution<float> u(-1, 1);
  const Index lda = (p.ta ? p.k : p.m) + 3, ldb = (p.tb ? p.n : p.k) + 3, ldc = p.m + 3;
  std::vector<float> a(static_cast<std::size_t>(lda * (p.ta ? p.m : p.k))),
      b(static_cast<std::size_t>(ldb * (p.tb ? p.k : p.n)));
  std::vector<float> c0(static_cast<std::size_t>(ldc * p.n));
  for (auto& x : a) x = u(g);
  for (auto& x : b) x = u(g);
  for (auto& x : c0) x = u(g);
  std::vector<float> c = c0;
  const float alpha = 0.75f;
  const auto ker = plexus::detail::amx::gemm_kernels();
  plexus::NoEpilogue none;
  plexus::set_num_threads(threads);
  plexus::detail::gemm_with<float>(ker, p.ta, p.tb, p.m, p.n, p.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(),
                                   ldc, none);
  plexus::set_num_threads(0);
  auto at_a = [&](Index i, Index l) { return a[static_cast<std::size_t>(p.ta ? l + i * lda : i + l * lda)]; };
  auto at_b = [&](Index l, Index j) { return b[static_cast<std::size_t>(p.tb ? j + l * ldb : l + j * ldb)]; };
  double worst = 0;
  bool padding_kept = true;
  for (Index j = 0; j < p.n; ++j) {
    for (Index i = 0; i < p.m; ++i) {
      double s = 0, mag = 0;
      for (Index l = 0; l < p.k; ++l) {
        s += bf16(at_a(i, l)) * bf16(at_b(l, j));
        mag += std::abs(bf16(at_a(i, l)) * bf16(at_b(l, j)));
      }
      const auto at = static_cast<std::size_t>(i + j * ldc);
      const double want = alpha * s + (beta == 0.0f ? 0.0 : double(c0[at]));
      worst = std::max(worst, std::abs(double(c[at]) - want) / (1.0 + alpha * mag));
    }
    for (Index i = p.m; i < ldc; ++i) {
      const auto at = static_cast<std::size_t>(i + j * ldc);
      padding_kept = padding_kept && c[at] == c0[at];
    }
  }
  CHECK(worst < 1e-5);
  CHECK(padding_kept);
}

}  // namespace

TEST_CASE("amx engine, software tiles: packing and kernel match a double product of bf16 operands") {
  if (!plexus::cpu_features().avx512_bf16) {
    MESSAGE("skipped: the amx engine's packing needs avx512_bf16, which this CPU lacks");
    return;
  }
  const Problem problems[] = {
      {false, false, 1, 1, 1},      {false, false, 7, 5, 3},    {false, false, 16, 16, 32},
      {false, false, 17, 33, 33},   {false, false, 47, 9, 31},  {false, false, 130, 70, 600},
      {false, true, 33, 31, 17},    {false, true, 100, 9, 256}, {false, true, 257, 129, 520},
      {true, false, 9, 128, 1024},  {true, false, 50, 23, 37},  {true, false, 200, 70, 1030},
      {true, true, 15, 16, 17},     {true, true, 96, 40, 300},  {false, false, 64, 64, 0},
      {false, false, 33, 65, 2100}, {true, true, 70, 100, 63},  {false, true, 40, 97, 1},
  };
  const long before = soft_amx::tiles().products;
  for (const auto& p : problems)
    for (float beta : {0.0f, 1.0f}) check(p, beta, 1);
  CHECK(soft_amx::tiles().products > before);        // the kernel really went through the tiles
  CHECK(!soft_amx::tiles().configured);              // and released them
  for (const auto& p : problems) check(p, 1.0f, 3);  // other threads load the configuration themselves
}
