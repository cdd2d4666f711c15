// Moved to <plexus/engine/gemm.hpp>: the product engines are in engine/, apart
// from the basic types that stay in core/. This old path still works.
#pragma once

#include "../engine/gemm.hpp"
