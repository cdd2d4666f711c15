// Plexus version numbers. The CMake project version and these macros are kept
// equal by a test (tests/test_version.cpp).
#pragma once

#define PLEXUS_VERSION_MAJOR 0
#define PLEXUS_VERSION_MINOR 1
#define PLEXUS_VERSION_PATCH 0

#define PLEXUS_VERSION_STRING_IMPL2(a, b, c) #a "." #b "." #c
#define PLEXUS_VERSION_STRING_IMPL(a, b, c) PLEXUS_VERSION_STRING_IMPL2(a, b, c)
#define PLEXUS_VERSION_STRING \
  PLEXUS_VERSION_STRING_IMPL(PLEXUS_VERSION_MAJOR, PLEXUS_VERSION_MINOR, PLEXUS_VERSION_PATCH)
