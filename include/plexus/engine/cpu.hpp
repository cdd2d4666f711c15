// What the processor and the operating system let Plexus' engines use:
// cpuid for the instruction sets, xgetbv for the register state the OS
// saves (AVX, AVX-512, AMX tiles), and on Linux the AMX tile-data permission.
#pragma once

#include <string>
#include <utility>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define PLEXUS_CPU_X86 1
#else
#define PLEXUS_CPU_X86 0
#endif

#if PLEXUS_CPU_X86 && defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace plexus {

// Instruction sets the CPU reports *and* the OS has enabled (a feature
// whose register state the OS does not save reads as false), and a one-line
// summary for logs and benchmark output.
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512_bf16 = false;
  bool avx512_vnni = false;                 // VPDPBUSD, u8 x s8 sums in int32 (Int8Predictor)
  bool amx_tile = false, amx_bf16 = false;  // also false when Linux refused the tile-data permission
  // What the CPU reports, whatever the OS allows: to tell "CPU lacks" from "OS disabled".
  bool cpu_avx2 = false, cpu_avx512f = false, cpu_amx_tile = false, cpu_amx_bf16 = false;
  bool os_avx = false, os_avx512 = false, os_amx = false;
  bool amx_permission = false;  // Linux: arch_prctl(ARCH_REQ_XCOMP_PERM) granted
  std::string text;
};

namespace detail {

#if PLEXUS_CPU_X86
struct CpuidRegs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};
inline CpuidRegs cpuid(unsigned leaf, unsigned sub) {
  CpuidRegs r;
  if (!__get_cpuid_count(leaf, sub, &r.a, &r.b, &r.c, &r.d)) r = CpuidRegs{};
  return r;
}
// XCR0: the register state components the OS saves on a context switch.
// Read with the instruction's bytes, so no target attribute is needed.
inline unsigned long long xcr0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
inline bool bit(unsigned x, int i) { return ((x >> i) & 1u) != 0; }
#endif

// Linux keeps the AMX tile data (8 KB per thread) off until a process asks
// for it; without the permission the first tile instruction is a SIGILL.
// Granted once for the whole process.
inline bool request_amx_permission() {
#if PLEXUS_CPU_X86 && defined(__x86_64__) && defined(__linux__) && defined(SYS_arch_prctl)
  constexpr long kReqXcompPerm = 0x1023, kGetXcompPerm = 0x1022, kXtileData = 18;
  if (syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) != 0) return false;
  unsigned long long permitted = 0;
  if (syscall(SYS_arch_prctl, kGetXcompPerm, &permitted) != 0) return false;
  return ((permitted >> kXtileData) & 1u) != 0;
#else
  return false;
#endif
}

inline CpuFeatures detect_cpu() {
  CpuFeatures f;
#if PLEXUS_CPU_X86
  const CpuidRegs l0 = cpuid(0, 0);
  const CpuidRegs l1 = l0.a >= 1 ? cpuid(1, 0) : CpuidRegs{};
  const CpuidRegs l7 = l0.a >= 7 ? cpuid(7, 0) : CpuidRegs{};
  const CpuidRegs l71 = l7.a >= 1 ? cpuid(7, 1) : CpuidRegs{};
  const bool osxsave = bit(l1.c, 27);
  const unsigned long long xcr = osxsave ? xcr0() : 0;
  f.os_avx = (xcr & 0x6) == 0x6;                   // SSE and AVX (YMM upper halves) state
  f.os_avx512 = f.os_avx && (xcr & 0xe0) == 0xe0;  // opmask, ZMM upper halves, ZMM16-31
  f.os_amx = (xcr & 0x60000) == 0x60000;           // XTILECFG and XTILEDATA
  const bool avx = bit(l1.c, 28);
  f.cpu_avx2 = avx && bit(l7.b, 5);
  f.cpu_avx512f = bit(l7.b, 16);
  f.cpu_amx_tile = bit(l7.d, 24);
  f.fma = f.os_avx && avx && bit(l1.c, 12);
  f.f16c = f.os_avx && avx && bit(l1.c, 29);
  f.avx2 = f.os_avx && f.cpu_avx2;
  f.avx512f = f.os_avx512 && f.cpu_avx512f;
  f.avx512dq = f.avx512f && bit(l7.b, 17);
  f.avx512bw = f.avx512f && bit(l7.b, 30);
  f.avx512vl = f.avx512f && bit(l7.b, 31);
  f.avx512_bf16 = f.avx512f && bit(l71.a, 5);
  f.avx512_vnni = f.avx512f && bit(l7.c, 11);
  f.cpu_amx_bf16 = bit(l7.d, 22);
  const bool cpu_amx = f.cpu_amx_tile && f.cpu_amx_bf16;
  if (cpu_amx && f.os_amx) f.amx_permission = request_amx_permission();
  f.amx_tile = f.cpu_amx_tile && f.os_amx && f.amx_permission;
  f.amx_bf16 = f.amx_tile && f.cpu_amx_bf16;

  std::string t = "x86:";
  const std::pair<const char*, bool> names[] = {
      {"avx2", f.avx2},         {"fma", f.fma},           {"f16c", f.f16c},         {"avx512f", f.avx512f},
      {"avx512bw", f.avx512bw}, {"avx512dq", f.avx512dq}, {"avx512vl", f.avx512vl}, {"avx512_bf16", f.avx512_bf16},
      {"amx_tile", f.amx_tile}, {"amx_bf16", f.amx_bf16}};
  for (const auto& n : names)
    if (n.second) (t += ' ') += n.first;
  if (f.avx512_vnni) t += " avx512_vnni";
  if (f.cpu_avx512f && !f.os_avx512) t += " (AVX-512 not enabled by the OS)";
  if (cpu_amx && !f.amx_tile) t += f.os_amx ? " (AMX: tile-data permission refused)" : " (AMX not enabled by the OS)";
  f.text = t;
#else
  f.text = "not x86: portable code only";
#endif
  return f;
}

}  // namespace detail

// The features of this CPU and OS, detected once per process (the first
// call may ask Linux for the AMX permission).
inline const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detail::detect_cpu();
  return f;
}

}  // namespace plexus
