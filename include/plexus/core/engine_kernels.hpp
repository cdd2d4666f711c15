// Moved to <plexus/engine/engine_kernels.hpp>: the product engines are in engine/, apart
// from the basic types that stay in core/. This old path still works.
// (Included inside an engine's namespace, as the new path is: no guard.)
#include "../engine/engine_kernels.hpp"
