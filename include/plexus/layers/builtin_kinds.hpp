// The built-in layer kinds, registered with the registry when it is first
// used (loading a model or a spec, registering a kind, layer_registered,
// layer_interop...), not when the program starts: a file that includes them
// but never uses the registry compiles none of their spec, file or interop
// code.
#pragma once

#include "../model/registration.hpp"
#include "activation.hpp"
#include "batch_norm.hpp"
#include "concat.hpp"
#include "dense.hpp"
#include "dropout.hpp"
#include "glu.hpp"
#include "layer_norm.hpp"
#include "residual.hpp"
#include "sequential.hpp"
#include "softmax.hpp"
#include "standardize.hpp"

namespace plexus {
namespace detail {

template <typename>
struct BuiltinKinds {
  static void register_all() {
    register_kind<Dense>();
    register_kind<ActivationLayer>();
    register_kind<GLU>();
    register_kind<Sequential>();
    register_kind<Concat>();
    register_kind<Residual>();
    register_kind<Dropout>();
    register_kind<LayerNorm>();
    register_kind<BatchNorm>();
    register_kind<Softmax>();
    register_kind<Standardize>();
  }
};

}  // namespace detail
}  // namespace plexus
