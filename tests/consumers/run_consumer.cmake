# Configures, builds and runs one consumer project (cmake -P script, run by
# ctest; see CMakeLists.txt here). Inputs (-D): KIND (find_package, native, compiled,
# add_subdirectory, fetchcontent), CONSUMER_SOURCE_DIR, WORK_DIR,
# PLEXUS_SOURCE_DIR, GENERATOR, MAKE_PROGRAM, CXX_COMPILER, BUILD_TYPE (may be
# empty), CONFIG, OPENMP, Eigen3_DIR; for find_package, native and compiled (an
# installed Plexus) also PREFIX, CMAKEDIR; EXTRA_FLAGS (may be empty): CMAKE_CXX_FLAGS
# for the consumer (the compiled library's own flags).
cmake_minimum_required(VERSION 3.16)

function(run what)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
  string(TIMESTAMP t1 "%s")
  math(EXPR dt "${t1} - ${t0}")
  message(STATUS "consumer ${KIND}: ${what} took ${dt} s")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer ${KIND}: ${what} failed (${rc})")
  endif()
endfunction()

function(expect_cache var expected)
  file(STRINGS "${WORK_DIR}/CMakeCache.txt" line REGEX "^${var}:[A-Z]+=")
  string(REGEX REPLACE "^[^=]*=" "" value "${line}")
  if(NOT value STREQUAL expected)
    message(FATAL_ERROR "consumer ${KIND}: ${var} is '${value}', expected '${expected}'")
  endif()
endfunction()

set(build_config "${CONFIG}")
if(BUILD_TYPE)
  set(build_config "${BUILD_TYPE}")
endif()

# A fresh build directory each time: no stale cache, nothing shared.
file(REMOVE_RECURSE "${WORK_DIR}")
set(args -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}"
         "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DEigen3_DIR=${Eigen3_DIR}")
if(MAKE_PROGRAM)
  list(APPEND args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(BUILD_TYPE)
  list(APPEND args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()
if(EXTRA_FLAGS)  # the flags the compiled library was built with
  list(APPEND args "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}")
endif()
set(installed OFF)
if(KIND STREQUAL "find_package" OR KIND STREQUAL "native" OR KIND STREQUAL "compiled")
  set(installed ON)
endif()
if(installed)
  list(APPEND args "-DCMAKE_PREFIX_PATH=${PREFIX}")
else()
  list(APPEND args "-DPLEXUS_SOURCE_DIR=${PLEXUS_SOURCE_DIR}")
  if(NOT OPENMP)
    list(APPEND args -DPLEXUS_USE_OPENMP=OFF)  # as the enclosing build was configured
  endif()
endif()
run(configure ${CMAKE_COMMAND} ${args})

if(installed)
  expect_cache(plexus_DIR "${PREFIX}/${CMAKEDIR}")  # the fresh install, not some other copy
else()
  # As a subproject Plexus adds none of its own programs or install rules and
  # leaves the build type to the enclosing project.
  foreach(opt PLEXUS_BUILD_TESTS PLEXUS_BUILD_EXAMPLES PLEXUS_BUILD_BENCH PLEXUS_BUILD_DOCS PLEXUS_INSTALL
              PLEXUS_NATIVE)
    expect_cache(${opt} OFF)
  endforeach()
  expect_cache(PLEXUS_USE_OPENMP "${OPENMP}")
  expect_cache(CMAKE_BUILD_TYPE "${BUILD_TYPE}")
endif()

run(build ${CMAKE_COMMAND} --build "${WORK_DIR}" --config "${build_config}")

set(app "${WORK_DIR}/app")
if(NOT EXISTS "${app}")
  set(app "${WORK_DIR}/${build_config}/app")  # multi-config generators
endif()
run(run "${app}")
