# API reference: `cmake --build build --target docs` runs Doxygen over the
# public headers (README.md is the main page) into build/docs/html. Doxygen
# fails on any warning; the test `plexus.docs` builds the target.
option(PLEXUS_BUILD_DOCS "Add the `docs` target (Doxygen API reference) when Doxygen is found"
       ${PLEXUS_TOP_LEVEL})
if(NOT PLEXUS_BUILD_DOCS)
  return()
endif()

find_package(Doxygen)
if(NOT DOXYGEN_FOUND)
  message(STATUS "plexus: Doxygen not found, no `docs` target")
  return()
endif()

set(_plexus_docs_dir "${CMAKE_CURRENT_LIST_DIR}")
function(plexus_add_docs)
  set(DOXYGEN_PROJECT_NAME "Plexus")
  set(DOXYGEN_PROJECT_NUMBER "${PROJECT_VERSION}")
  set(DOXYGEN_PROJECT_BRIEF "${PROJECT_DESCRIPTION}")
  set(DOXYGEN_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/docs")
  set(DOXYGEN_GENERATE_HTML YES)
  set(DOXYGEN_GENERATE_LATEX NO)
  set(DOXYGEN_EXTRACT_ALL YES)
  set(DOXYGEN_EXTRACT_STATIC YES)
  set(DOXYGEN_EXCLUDE_SYMBOLS "detail" "plexus::detail")
  set(DOXYGEN_RECURSIVE YES)
  set(DOXYGEN_FILE_PATTERNS "*.hpp" "*.md")
  set(DOXYGEN_FULL_PATH_NAMES YES)
  set(DOXYGEN_STRIP_FROM_PATH "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}")
  set(DOXYGEN_STRIP_FROM_INC_PATH "${PROJECT_SOURCE_DIR}/include")
  set(DOXYGEN_USE_MDFILE_AS_MAINPAGE "${PROJECT_SOURCE_DIR}/README.md")
  set(DOXYGEN_IMAGE_PATH "${PROJECT_SOURCE_DIR}" "${PROJECT_SOURCE_DIR}/docs")  # the plots in docs/results
  set(DOXYGEN_QUIET YES)
  set(DOXYGEN_WARNINGS YES)
  set(DOXYGEN_WARN_IF_UNDOCUMENTED NO)
  set(DOXYGEN_WARN_AS_ERROR FAIL_ON_WARNINGS)
  set(DOXYGEN_HAVE_DOT NO)
  set(DOXYGEN_JAVADOC_AUTOBRIEF YES)
  find_program(PLEXUS_SED_EXECUTABLE sed)
  mark_as_advanced(PLEXUS_SED_EXECUTABLE)
  if(PLEXUS_SED_EXECUTABLE)  # show the headers' plain `//` comments (see the script)
    set(DOXYGEN_FILTER_PATTERNS "*.hpp=${PLEXUS_SED_EXECUTABLE} -f ${_plexus_docs_dir}/doxygen-filter.sed")
  endif()
  doxygen_add_docs(docs
                   "${PROJECT_SOURCE_DIR}/README.md" "${PROJECT_SOURCE_DIR}/docs/install.md"
                   "${PROJECT_SOURCE_DIR}/docs/getting-started.md" "${PROJECT_SOURCE_DIR}/docs/layers.md"
                   "${PROJECT_SOURCE_DIR}/docs/design.md" "${PROJECT_SOURCE_DIR}/docs/model_format.md"
                   "${PROJECT_SOURCE_DIR}/docs/performance.md" "${PROJECT_SOURCE_DIR}/docs/perf-log.md"
                   "${PROJECT_SOURCE_DIR}/docs/matrix_inverse.md"
                   "${PROJECT_SOURCE_DIR}/docs/reliability.md" "${PROJECT_SOURCE_DIR}/docs/fuzzing.md"
                   "${PROJECT_SOURCE_DIR}/docs/distributed.md"
                   "${PROJECT_SOURCE_DIR}/include/plexus"
                   WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                   COMMENT "Doxygen: API reference into ${PROJECT_BINARY_DIR}/docs/html")
endfunction()
plexus_add_docs()

if(PLEXUS_BUILD_TESTS)
  add_test(NAME plexus.docs
           COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target docs --config $<CONFIG>)
  # Belt and braces: FAIL_ON_WARNINGS already makes doxygen exit non-zero.
  set_tests_properties(plexus.docs PROPERTIES FAIL_REGULAR_EXPRESSION "[Ww]arning:" LABELS docs TIMEOUT 120)
endif()
