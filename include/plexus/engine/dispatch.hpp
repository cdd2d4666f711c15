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

namespace plexus {
namespace detail {

// Built once, out of line: inlined into every caller, the tables'
// construction had the compiler load their constants on the hot path of
// each dispatch (26 ns per call of detail::dot, measured). In compiled mode
// (compiled.hpp) the library defines it, so that the engines' kernels are
// compiled once, there, and not in every file that dispatches.
#if PLEXUS_USE_COMPILED_LIB
const KernelTable* build_kernel_tables();
#else
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline, cold))
#endif
PLEXUS_DETAIL_COMPILED_INLINE const KernelTable*
build_kernel_tables() {
  // An engine this build has no code for (not x86) is never chosen: it is
  // unsupported (see engine_missing), so its entry only fills the slot.
  static const KernelTable tables[kEngineCount] = {
    generic::table(),
#if PLEXUS_X86
    avx2::table(),
    avx512::table(),
    avx512_bf16::table(),
#else
    generic::table(),
    generic::table(),
    generic::table(),
#endif
#if PLEXUS_AMX
    amx::table(),
#else
    generic::table(),
#endif
  };
  return tables;
}
#endif

inline const KernelTable& kernel_table(Engine e) {
  static const KernelTable* const tables = build_kernel_tables();
  return tables[static_cast<int>(e)];
}

// The running engine's kernels.
inline const KernelTable& kernels() { return kernel_table(engine()); }

template <typename T>
const GemmKernels<T>& gemm_kernels_for(const KernelTable& t, Precision p);
template <>
inline const GemmKernels<float>& gemm_kernels_for<float>(const KernelTable& t, Precision p) {
  return p == Precision::bf16 ? t.sgemm_bf16 : t.sgemm;
}
template <>
inline const GemmKernels<double>& gemm_kernels_for<double>(const KernelTable& t, Precision p) {
  if (p == Precision::bf16)
    throw value_error("gemm: Precision::bf16 takes float operands; double products run in double");
  return t.dgemm;
}

}  // namespace detail
}  // namespace plexus
