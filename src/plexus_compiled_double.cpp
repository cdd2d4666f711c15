// The compiled library (CMake target plexus::plexus_compiled), its double
// half: the double instantiations listed in <plexus/instantiations.hpp> and
// the double kernel tables of the engines, compiled once, beside
// src/plexus_compiled_float.cpp. See <plexus/core/compiled.hpp>.
#define PLEXUS_COMPILED_LIB_SOURCE 2
#include <plexus/plexus.hpp>
