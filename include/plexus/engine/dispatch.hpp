// The one dispatch table: every engine's kernels, built once, and the entry
// of the engine running now (engine/engine.hpp chooses it).
#pragma once

#include "../core/compiled.hpp"
#include "engine.hpp"
#include "gemm_amx.hpp"
#include "gemm_bf16.hpp"
#include "isa_avx2.hpp"
#include "isa_avx512.hpp"
#include "isa_generic.hpp"
#include "kernel_table.hpp"

#include <type_traits>

namespace plexus {
namespace detail {

// Each scalar's table of every engine, built once, out of line: inlined into
// every caller, the tables' construction had the compiler load their
// constants on the hot path of each dispatch (26 ns per call of detail::dot,
// measured). A template per scalar, so that a header-only program compiles
// the kernels of the scalars it runs and no others (a float program no
// double kernel). In compiled mode (compiled.hpp) the library instantiates
// both, so that the engines' kernels are compiled once, there, and not in
// every file that dispatches.
template <typename T>
#if PLEXUS_USE_COMPILED_LIB
const KernelTable<T>* build_kernel_tables();
#else
PLEXUS_DETAIL_COLD_CALL const KernelTable<T>* build_kernel_tables() {
  // An engine this build has no code for (not x86) is never chosen: it is
  // unsupported (see engine_missing), so its entry only fills the slot.
  static const KernelTable<T> tables[kEngineCount] = {
    generic::table<T>(),
#if PLEXUS_X86
    avx2::table<T>(),
    avx512::table<T>(),
    avx512_bf16::table<T>(),
#else
    generic::table<T>(),
    generic::table<T>(),
    generic::table<T>(),
#endif
#if PLEXUS_AMX
    amx::table<T>(),
#else
    generic::table<T>(),
#endif
  };
  return tables;
}
#endif
PLEXUS_DETAIL_FLOAT(const KernelTable<float>* build_kernel_tables<float>())
PLEXUS_DETAIL_DOUBLE(const KernelTable<double>* build_kernel_tables<double>())

template <typename T>
const KernelTable<T>& kernel_table(Engine e) {
  static const KernelTable<T>* const tables = build_kernel_tables<T>();
  return tables[static_cast<int>(e)];
}

// The running engine's kernels for scalar T (float or double).
template <typename T>
const KernelTable<T>& kernels() {
  return kernel_table<T>(engine());
}

// The running engine's products for scalar T at precision p.
template <typename T>
const GemmKernels<T>& gemm_kernels_for(Precision p) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
  const KernelTable<T>& t = kernels<T>();
  if constexpr (std::is_same_v<T, float>) {
    return p == Precision::bf16 ? t.gemm_bf16 : t.gemm;
  } else {
    if (p == Precision::bf16)
      throw value_error("gemm: Precision::bf16 takes float operands; double products run in double");
    return t.gemm;
  }
}

}  // namespace detail
}  // namespace plexus
