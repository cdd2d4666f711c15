// The include paths of headers that moved (core/ -> engine/, layers/ ->
// model/) still work: each old path is a forwarding header, included here
// alone, before anything else, so that removing one fails the build.
#include <plexus/core/cpu.hpp>
#include <plexus/core/dispatch.hpp>
#include <plexus/core/dot.hpp>
#include <plexus/core/engine.hpp>
#include <plexus/core/gemm.hpp>
#include <plexus/core/gemm_amx.hpp>
#include <plexus/core/gemm_bf16.hpp>
#include <plexus/core/int8.hpp>
#include <plexus/core/isa_avx2.hpp>
#include <plexus/core/isa_avx512.hpp>
#include <plexus/core/isa_generic.hpp>
#include <plexus/core/kernel_table.hpp>
#include <plexus/core/kernels.hpp>
#include <plexus/core/target.hpp>
#include <plexus/layers/activations.hpp>
#include <plexus/layers/context.hpp>
#include <plexus/layers/factory.hpp>
#include <plexus/layers/half_predictor.hpp>
#include <plexus/layers/inference.hpp>
#include <plexus/layers/int8_predictor.hpp>
#include <plexus/layers/interop.hpp>
#include <plexus/layers/layer.hpp>
#include <plexus/layers/network.hpp>
#include <plexus/layers/registration.hpp>
#include <plexus/layers/registry.hpp>
#include <plexus/layers/row_plan.hpp>
#include <plexus/layers/row_steps.hpp>
#include <plexus/layers/spec.hpp>
#include <plexus/layers/wrapper.hpp>

// Included inside an engine's namespace, never on its own: checked for presence.
#if !__has_include(<plexus/core/engine_kernels.hpp>)
#error "the forwarding header plexus/core/engine_kernels.hpp is missing"
#endif

// Then the rest, so that in compiled mode (PLEXUS_DEV_COMPILED) the
// library's instantiations are declared extern here too, as in every other
// test file (this one is outside the unity batches).
#include <plexus/plexus.hpp>

#include <doctest/doctest.h>

#include <string>
#include <type_traits>

TEST_CASE("old include paths reach the moved headers") {
  static_assert(std::is_base_of_v<plexus::Layer<float>, plexus::Sequential<float>>);
  plexus::Network<float> net;
  net.add(plexus::Dense<float>(3, plexus::Activation::relu));
  net.build(2, 1);
  CHECK(net.parameter_count() == 9);
  CHECK(plexus::layer_registered("Dense"));
  CHECK(std::string(plexus::to_string(plexus::engine())).size() > 0);
}
