# docs/install.md shows the consumer projects verbatim: each of these files,
# and the pkg-config command in pkg-config/main.cpp, must appear in it as is
# (cmake -P script, run by ctest). Inputs (-D): PLEXUS_SOURCE_DIR.
cmake_minimum_required(VERSION 3.16)

set(consumers "${PLEXUS_SOURCE_DIR}/tests/consumers")
file(READ "${PLEXUS_SOURCE_DIR}/docs/install.md" doc)
set(failed "")
foreach(f find_package/CMakeLists.txt find_package/main.cpp add_subdirectory/CMakeLists.txt
          fetchcontent/CMakeLists.txt)
  file(READ "${consumers}/${f}" text)
  string(REGEX REPLACE "\n+$" "" text "${text}")
  string(FIND "${doc}" "${text}" at)
  if(at EQUAL -1)
    list(APPEND failed "tests/consumers/${f}")
  endif()
endforeach()
file(STRINGS "${consumers}/pkg-config/main.cpp" command REGEX "^//   g\\+\\+ ")
string(REGEX REPLACE "^//   " "" command "${command}")
string(FIND "${doc}" "\n${command}\n" at)
if(command STREQUAL "" OR at EQUAL -1)
  list(APPEND failed "the g++ command in tests/consumers/pkg-config/main.cpp")
endif()
if(failed)
  string(REPLACE ";" "\n  " failed "${failed}")
  message(FATAL_ERROR "docs/install.md does not show, verbatim:\n  ${failed}")
endif()
message(STATUS "docs/install.md shows the consumer files verbatim")
