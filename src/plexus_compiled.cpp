// The compiled library (CMake target plexus::plexus_compiled): the float and
// double instantiations listed in <plexus/instantiations.hpp> and the
// engines' kernel tables, compiled once. See <plexus/core/compiled.hpp>.
#define PLEXUS_COMPILED_LIB_SOURCE 1
#include <plexus/plexus.hpp>

namespace plexus {
namespace detail {
extern const int PLEXUS_DETAIL_COMPILED_ABI_SYMBOL = EIGEN_MAX_ALIGN_BYTES;
}  // namespace detail
}  // namespace plexus
