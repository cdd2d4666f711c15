// Moved to <plexus/engine/dispatch.hpp>: the product engines are in engine/, apart
// from the basic types that stay in core/. This old path still works.
#pragma once

#include "../engine/dispatch.hpp"
