// Helpers of the tests that run kernels on each engine: the engines this
// CPU runs (each one it lacks reported as skipped, naming what it lacks), a
// scope that forces one engine, and a float from its bits.
#pragma once

#include <doctest/doctest.h>

#include <plexus/plexus.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace plexus_test {

// Under PLEXUS_ENGINE (the engine.suite.* runs of the whole program on one
// engine) only that engine: the run without it has checked every engine.
inline std::vector<plexus::Engine> engines_here() {
  const char* named = std::getenv("PLEXUS_ENGINE");
  if (named && *named) {
    MESSAGE((std::string("PLEXUS_ENGINE=") + named + ": only that engine"));
    return {plexus::detail::default_engine()};
  }
  std::vector<plexus::Engine> here;
  for (int i = 0; i < plexus::kEngineCount; ++i) {
    const auto e = static_cast<plexus::Engine>(i);
    if (plexus::engine_supported(e)) {
      here.push_back(e);
    } else {
      const std::string why =
          std::string("engine ") + plexus::to_string(e) + " skipped: the CPU lacks " + plexus::engine_missing(e);
      MESSAGE(why);
    }
  }
  return here;
}

// Forces an engine for one scope, then restores the default.
struct ForcedEngine {
  explicit ForcedEngine(plexus::Engine e) { plexus::set_engine(e); }
  ~ForcedEngine() { plexus::reset_engine(); }
  ForcedEngine(const ForcedEngine&) = delete;
  ForcedEngine& operator=(const ForcedEngine&) = delete;
};

inline float from_bits(std::uint32_t x) {
  float f = 0;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

}  // namespace plexus_test
