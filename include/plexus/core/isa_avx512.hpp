// Moved to <plexus/engine/isa_avx512.hpp>: the product engines are in engine/, apart
// from the basic types that stay in core/. This old path still works.
#pragma once

#include "../engine/isa_avx512.hpp"
