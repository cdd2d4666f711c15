// The version macros of <plexus/version.hpp> equal the CMake project version
// (project(plexus VERSION ...) in CMakeLists.txt, which the installed
// plexus-config-version.cmake and plexus.pc carry), passed in by
// tests/CMakeLists.txt.
#include <plexus/version.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_CASE("the version macros equal the CMake project version") {
  CHECK(PLEXUS_VERSION_MAJOR == PLEXUS_TEST_CMAKE_VERSION_MAJOR);
  CHECK(PLEXUS_VERSION_MINOR == PLEXUS_TEST_CMAKE_VERSION_MINOR);
  CHECK(PLEXUS_VERSION_PATCH == PLEXUS_TEST_CMAKE_VERSION_PATCH);
  CHECK(std::string(PLEXUS_VERSION_STRING) == PLEXUS_TEST_CMAKE_VERSION);
}
