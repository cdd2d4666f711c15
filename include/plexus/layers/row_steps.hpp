// Moved to <plexus/model/row_steps.hpp>: the machinery (interface, registry, network,
// one-row plan) is in model/, apart from the kinds in layers/. This old path still works.
#pragma once

#include "../model/row_steps.hpp"
