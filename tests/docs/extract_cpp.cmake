# Extracting the C++ code blocks of a Markdown page, so that ctest compiles
# and runs what the docs show. Included at configure time by
# tests/docs/CMakeLists.txt; the page is a configure dependency, so editing it
# re-runs this on the next build.
#
# plexus_extract_cpp(<page.md> <out.cpp> [INDEX n] [FRAGMENTS])
#   Default: the n-th (default 1st) block fenced as ```cpp, verbatim.
#   FRAGMENTS: every ```cpp block of the page, each wrapped in a function of
#   its own (with `using namespace plexus;`) and all called from main(), so
#   short snippets are compiled and run too.
# The output file is rewritten only when its content changes, so an
# unchanged page does not trigger a rebuild.
# Works on positions (string(FIND)/SUBSTRING), never on CMake lists: C++ is
# full of the semicolons that lists split on.

function(plexus_extract_cpp md out)
  cmake_parse_arguments(arg "FRAGMENTS" "INDEX" "" ${ARGN})
  if(NOT arg_INDEX)
    set(arg_INDEX 1)
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${md}")
  file(READ "${md}" text)
  set(open "\n```cpp\n")
  set(close "\n```")
  set(found 0)
  set(body "")
  set(calls "")
  while(TRUE)
    string(FIND "${text}" "${open}" at)
    if(at EQUAL -1)
      break()
    endif()
    string(LENGTH "${open}" open_len)
    math(EXPR start "${at} + ${open_len}")
    string(SUBSTRING "${text}" ${start} -1 text)
    string(FIND "${text}" "${close}" end)
    if(end EQUAL -1)
      message(FATAL_ERROR "${md}: a ```cpp block is not closed")
    endif()
    string(SUBSTRING "${text}" 0 ${end} block)
    string(SUBSTRING "${text}" ${end} -1 text)
    math(EXPR found "${found} + 1")
    if(arg_FRAGMENTS)
      string(APPEND body "\nstatic void snippet_${found}() {\n  using namespace plexus;\n${block}\n}\n")
      string(APPEND calls "  std::printf(\"snippet ${found}\\n\");\n  snippet_${found}();\n")
    elseif(found EQUAL arg_INDEX)
      set(body "${block}\n")
      break()
    endif()
  endwhile()
  if(arg_FRAGMENTS)
    if(found EQUAL 0)
      message(FATAL_ERROR "${md}: no ```cpp block")
    endif()
    set(body "// Generated from ${md}: every ```cpp block, in order.\n#include <plexus/plexus.hpp>\n\n#include <cstdio>\n${body}\nint main() {\n${calls}  return 0;\n}\n")
  elseif(NOT found EQUAL arg_INDEX)
    message(FATAL_ERROR "${md}: has ${found} ```cpp blocks, no block number ${arg_INDEX}")
  endif()
  file(WRITE "${out}.new" "${body}")
  configure_file("${out}.new" "${out}" COPYONLY)
  file(REMOVE "${out}.new")
endfunction()
