// The compiled library (CMake target plexus::plexus_compiled), its float
// half: the float instantiations listed in <plexus/instantiations.hpp>, the
// float kernel tables of the engines and the registry's built-in kinds,
// compiled once. src/plexus_compiled_double.cpp is the double half. See
// <plexus/core/compiled.hpp>.
#define PLEXUS_COMPILED_LIB_SOURCE 1
#include <plexus/plexus.hpp>

namespace plexus {
namespace detail {
extern const int PLEXUS_DETAIL_COMPILED_ABI_SYMBOL = EIGEN_MAX_ALIGN_BYTES;
}  // namespace detail
}  // namespace plexus
