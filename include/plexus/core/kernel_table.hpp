// Moved to <plexus/engine/kernel_table.hpp>: the product engines are in engine/, apart
// from the basic types that stay in core/. This old path still works.
#pragma once

#include "../engine/kernel_table.hpp"
