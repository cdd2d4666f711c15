// Header-only or compiled: how a file that includes Plexus finds the code of
// its float and double classes and of the engines' kernels.
//
// Header-only (the default): every file compiles what it uses.
// Compiled (the program links plexus::plexus_compiled, which defines
// PLEXUS_COMPILED_LIB for it): the library compiled them once, and the files
// that include <plexus/plexus.hpp> declare them extern (instantiations.hpp),
// so they compile none of them again. The library's sources define
// PLEXUS_COMPILED_LIB_SOURCE and instantiate them (below).
//
// The library's two sources (src/plexus_compiled_float.cpp and
// src/plexus_compiled_double.cpp, which a parallel build compiles at once)
// define PLEXUS_COMPILED_LIB_SOURCE to 1 and 2: the first instantiates the
// float classes, functions and kernels and the registry's, the second the
// double ones, and each declares the other's extern. PLEXUS_DETAIL_FLOAT(...)
// and PLEXUS_DETAIL_DOUBLE(...) write an entry so (instantiations.hpp,
// engine/dispatch.hpp): an explicit instantiation definition in the source
// that owns it, a declaration everywhere else in compiled mode, nothing in
// header-only mode.
//
// The library and the program must agree on Eigen's alignment (EIGEN_MAX_ALIGN_BYTES,
// which -march changes): a program built with another one fails to link,
// naming plexus_compiled_lib_eigen_align_<bytes>, instead of crashing.
#pragma once

#include "types.hpp"

#if defined(PLEXUS_COMPILED_LIB_SOURCE)
#define PLEXUS_USE_COMPILED_LIB 0
#elif defined(PLEXUS_COMPILED_LIB)
#define PLEXUS_USE_COMPILED_LIB 1
#else
#define PLEXUS_USE_COMPILED_LIB 0
#endif

#if defined(PLEXUS_COMPILED_LIB_SOURCE) && PLEXUS_COMPILED_LIB_SOURCE == 1
#define PLEXUS_DETAIL_FLOAT(...) template __VA_ARGS__;
#define PLEXUS_DETAIL_DOUBLE(...) extern template __VA_ARGS__;
#elif defined(PLEXUS_COMPILED_LIB_SOURCE) && PLEXUS_COMPILED_LIB_SOURCE == 2
#define PLEXUS_DETAIL_FLOAT(...) extern template __VA_ARGS__;
#define PLEXUS_DETAIL_DOUBLE(...) template __VA_ARGS__;
#elif defined(PLEXUS_COMPILED_LIB_SOURCE)
#error "PLEXUS_COMPILED_LIB_SOURCE is 1 (the float source) or 2 (the double source)"
#elif defined(PLEXUS_COMPILED_LIB)
#define PLEXUS_DETAIL_FLOAT(...) extern template __VA_ARGS__;
#define PLEXUS_DETAIL_DOUBLE(...) extern template __VA_ARGS__;
#else
#define PLEXUS_DETAIL_FLOAT(...)
#define PLEXUS_DETAIL_DOUBLE(...)
#endif

#define PLEXUS_DETAIL_ABI_CAT2(a, b) a##b
#define PLEXUS_DETAIL_ABI_CAT(a, b) PLEXUS_DETAIL_ABI_CAT2(a, b)
#define PLEXUS_DETAIL_COMPILED_ABI_SYMBOL PLEXUS_DETAIL_ABI_CAT(plexus_compiled_lib_eigen_align_, EIGEN_MAX_ALIGN_BYTES)

#if defined(PLEXUS_COMPILED_LIB_SOURCE) || defined(PLEXUS_COMPILED_LIB)
namespace plexus {
namespace detail {
extern const int PLEXUS_DETAIL_COMPILED_ABI_SYMBOL;
}  // namespace detail
}  // namespace plexus
#endif

#if PLEXUS_USE_COMPILED_LIB
namespace plexus {
namespace detail {
// Referenced from every file in compiled mode, so that a library built with
// another Eigen alignment is a link error, not a crash.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((used))
#endif
static const int* const compiled_abi_check = &PLEXUS_DETAIL_COMPILED_ABI_SYMBOL;
}  // namespace detail
}  // namespace plexus
#endif
