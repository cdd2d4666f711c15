// Function attributes that compile one function for one instruction set,
// whatever flags the translation unit was built with: every translation
// unit then holds the same definition of every engine function (no ODR
// hazard between a -march=native file and a default-flags one), and the
// engine that runs is chosen at run time (engine/engine.hpp).
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define PLEXUS_X86 1
#include <immintrin.h>
// AMX exists on x86-64 only.
#if defined(__x86_64__)
#define PLEXUS_AMX 1
#else
#define PLEXUS_AMX 0
#endif
// The portable engine gets no vector extension beyond SSE4: no FMA, so its
// multiply-adds round twice whatever the file's flags (a file built with
// -mfma would otherwise contract them and change its results).
#define PLEXUS_TARGET_GENERIC __attribute__((target("no-avx")))
#define PLEXUS_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define PLEXUS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#define PLEXUS_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c")))
#define PLEXUS_TARGET_AMX \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c,amx-tile,amx-bf16")))
#else
#define PLEXUS_X86 0
#define PLEXUS_AMX 0
#define PLEXUS_TARGET_GENERIC
#endif
