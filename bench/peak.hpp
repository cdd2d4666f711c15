// The register peak of the cores: a loop of 12 independent multiply-adds on
// registers (no memory traffic), one copy per thread, timed together. fp32:
// 512-bit vfmadd231ps (32 flop each) where the CPU has AVX-512, 256-bit FMA
// (16 flop) where it has AVX2; bf16: 512-bit vdpbf16ps (64 flop: 16 lanes x
// 2 pairs x multiply and add) where it has AVX512_BF16. The fraction of the
// peak a training step reaches is then measured on this machine, in this
// run, not taken from a data sheet.
#pragma once
#include <plexus/plexus.hpp>

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>

namespace bench {

namespace peak_detail {

__attribute__((target("avx512f"))) inline float sum512(__m512 s) {
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  float t = 0;
  for (float v : out) t += v;
  return t;
}

// Each returns a value that depends on every accumulator, so that the loop is not removed.
__attribute__((target("avx512f"))) inline float fma512(long iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.0001f);
  for (long k = 0; k < iters; ++k)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  return sum512(s);
}

__attribute__((target("avx2,fma"))) inline float fma256(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.0001f);
  for (long k = 0; k < iters; ++k)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  float t = 0;
  for (float v : out) t += v;
  return t;
}

__attribute__((target("avx512f,avx512bf16"))) inline float dpbf16(long iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 one = _mm512_set1_ps(1e-4f);
  const __m512bh a = _mm512_cvtne2ps_pbh(one, one), b = _mm512_cvtne2ps_pbh(one, one);
  for (long k = 0; k < iters; ++k)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  return sum512(s);
}

// GFLOP/s of `threads` copies of kernel(iters) run at once (best of `rounds`).
template <typename F>
double measure(F kernel, double flop_per_iter, int threads, long iters, int rounds) {
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      const float v = kernel(iters);
#pragma omp critical
      sink = sink + v;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flop_per_iter * static_cast<double>(iters) * threads / s * 1e-9);
  }
  return best;
}

}  // namespace peak_detail

struct RegisterPeak {
  double fp32_gflops = 0;  // 0: the CPU has neither AVX-512 nor AVX2 + FMA
  double bf16_gflops = 0;  // 0: the CPU has no AVX512_BF16
  const char* fp32_instruction = "none";
  const char* bf16_instruction = "none";
};

// The peak of `threads` cores (each loop about 0.15-0.3 s at 4 GHz; best of 3).
inline RegisterPeak register_peak(int threads) {
  const auto& f = plexus::cpu_features();
  RegisterPeak p;
  constexpr long iters = 100'000'000;
  constexpr int rounds = 3;
  if (f.avx512f) {
    p.fp32_gflops = peak_detail::measure(peak_detail::fma512, 12 * 32.0, threads, iters, rounds);
    p.fp32_instruction = "vfmadd231ps zmm";
  } else if (f.avx2 && f.fma) {
    p.fp32_gflops = peak_detail::measure(peak_detail::fma256, 12 * 16.0, threads, iters, rounds);
    p.fp32_instruction = "vfmadd231ps ymm";
  }
  if (f.avx512_bf16) {
    p.bf16_gflops = peak_detail::measure(peak_detail::dpbf16, 12 * 64.0, threads, iters, rounds);
    p.bf16_instruction = "vdpbf16ps zmm";
  }
  return p;
}

}  // namespace bench
