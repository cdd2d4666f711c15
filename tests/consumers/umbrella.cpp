// The umbrella header alone is a complete translation unit: it compiles with
// -Wall -Wextra -Wpedantic -Werror, and its version macros equal the CMake
// project version (which the installed plexusConfigVersion.cmake carries).
#include <plexus/plexus.hpp>

static_assert(PLEXUS_VERSION_MAJOR == PLEXUS_EXPECTED_MAJOR && PLEXUS_VERSION_MINOR == PLEXUS_EXPECTED_MINOR &&
                  PLEXUS_VERSION_PATCH == PLEXUS_EXPECTED_PATCH,
              "include/plexus/version.hpp and project(plexus VERSION ...) in CMakeLists.txt disagree");

int main() { return 0; }
