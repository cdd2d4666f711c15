// Which engine runs Plexus' hot loops (products, one-row dots, sums,
// finiteness checks, Adam): the best one this CPU and OS allow, chosen once
// at run time; PLEXUS_ENGINE (read once) or set_engine() forces another.
#pragma once

#include "../core/error.hpp"
#include "cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

namespace plexus {

// From slowest to fastest. generic: portable C++ (any CPU). avx2: AVX2 +
// FMA + F16C. avx512: AVX-512 F/BW/DQ/VL. avx512_bf16: avx512 plus
// vdpbf16ps for bf16 products. amx: avx512_bf16 plus AMX tiles for bf16
// products. Only bf16 products differ between the last three.
enum class Engine : int { generic = 0, avx2 = 1, avx512 = 2, avx512_bf16 = 3, amx = 4 };
inline constexpr int kEngineCount = 5;

inline const char* to_string(Engine e) {
  switch (e) {
    case Engine::generic: return "generic";
    case Engine::avx2: return "avx2";
    case Engine::avx512: return "avx512";
    case Engine::avx512_bf16: return "avx512_bf16";
    case Engine::amx: return "amx";
  }
  return "unknown";
}

// What the CPU or OS lacks for engine e, as a list of feature names ("" when
// it has everything).
inline std::string engine_missing(Engine e, const CpuFeatures& f = cpu_features()) {
  std::string missing;
  auto need = [&](bool have, const char* name) {
    if (!have) (missing += missing.empty() ? "" : ", ") += name;
  };
  const int level = static_cast<int>(e);
  if (level >= 1) {
    need(f.avx2, f.cpu_avx2 && !f.os_avx ? "avx2 (present, but the OS has not enabled AVX state)" : "avx2");
    need(f.fma, "fma");
    need(f.f16c, "f16c");
  }
  if (level >= 2) {
    need(f.avx512f,
         f.cpu_avx512f && !f.os_avx512 ? "avx512f (present, but the OS has not enabled AVX-512 state)" : "avx512f");
    need(f.avx512bw, "avx512bw");
    need(f.avx512dq, "avx512dq");
    need(f.avx512vl, "avx512vl");
  }
  if (level >= 3) need(f.avx512_bf16, "avx512_bf16");
  if (level >= 4) {
    if (!f.cpu_amx_tile) need(false, "amx_tile");
    else if (!f.os_amx) need(false, "amx_tile (present, but the OS has not enabled tile state)");
#if defined(__linux__)
    else if (!f.amx_permission) need(false, "amx_tile (present, but Linux refused the tile-data permission)");
#else
    else if (!f.amx_permission)
      need(false, "amx_tile (present, but only Linux builds ask for the tile-data permission)");
#endif
    need(f.cpu_amx_bf16, "amx_bf16");
  }
#if !PLEXUS_CPU_X86
  if (level >= 1) missing = "an x86 processor (this build is not for x86)";
#endif
  return missing;
}

inline bool engine_supported(Engine e) { return engine_missing(e).empty(); }

// The fastest engine this CPU and OS allow.
inline Engine best_engine() {
  for (int e = kEngineCount - 1; e > 0; --e)
    if (engine_supported(static_cast<Engine>(e))) return static_cast<Engine>(e);
  return Engine::generic;
}

namespace detail {

// The engine named `name`; `how` says where the name came from, for errors.
inline Engine parse_engine(const std::string& name, const char* how) {
  for (int e = 0; e < kEngineCount; ++e)
    if (name == to_string(static_cast<Engine>(e))) return static_cast<Engine>(e);
  throw value_error(concat(how, ": unknown engine '", name, "' (engines: generic, avx2, avx512, avx512_bf16, amx)"));
}

// Throws unless this CPU can run e.
inline Engine checked_engine(Engine e, const char* how) {
  const std::string missing = engine_missing(e);
  if (!missing.empty())
    throw value_error(concat(how, ": engine '", to_string(e), "' cannot run here: the CPU lacks ", missing,
                             " (CPU: ", cpu_features().text, ")"));
  return e;
}

// The engine PLEXUS_ENGINE names (checked), or the best one when it is unset or empty.
inline Engine engine_from_environment(const char* value) {
  if (!value || !*value) return best_engine();
  return checked_engine(parse_engine(value, "PLEXUS_ENGINE"), "PLEXUS_ENGINE");
}

// The default engine, settled on first use. A bad PLEXUS_ENGINE throws from
// every call that needs an engine (a throwing static initialiser is retried).
inline Engine default_engine() {
  static const Engine e = engine_from_environment(std::getenv("PLEXUS_ENGINE"));
  return e;
}

// set_engine's choice, or -1 for the default.
inline std::atomic<int>& forced_engine() {
  static std::atomic<int> e{-1};
  return e;
}

}  // namespace detail

// The engine running now.
inline Engine engine() {
  const int forced = detail::forced_engine().load(std::memory_order_acquire);
  return forced >= 0 ? static_cast<Engine>(forced) : detail::default_engine();
}

inline std::string engine_name() { return to_string(engine()); }

// true when Precision::bf16 products are emulated on this engine: operands
// rounded to bf16 as they are packed, then multiplied and summed in float
// by the engine's float kernel (no bf16 instructions used).
inline bool bf16_emulated() {
  const Engine e = engine();
  return e != Engine::avx512_bf16 && e != Engine::amx;
}

// Forces an engine for the whole process (tests, benchmarks); throws
// plexus::value_error naming what the CPU lacks if it cannot run here. Not
// to be called while another thread runs Plexus code.
inline void set_engine(Engine e) {
  detail::forced_engine().store(static_cast<int>(detail::checked_engine(e, "set_engine")), std::memory_order_release);
}
inline void set_engine(const std::string& name) { set_engine(detail::parse_engine(name, "set_engine")); }

// Back to the default: PLEXUS_ENGINE if set, else the best engine.
inline void reset_engine() { detail::forced_engine().store(-1, std::memory_order_release); }

}  // namespace plexus
