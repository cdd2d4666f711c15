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
# plexus_extract_cpp_each(<page.md> <out-prefix> <sources-var>)
#   Every ```cpp block of the page as a program of its own,
#   <out-prefix>_<n>.cpp: a block that defines main() verbatim, any other
#   wrapped as a fragment (in main(), after `#include <plexus/plexus.hpp>`
#   and `using namespace plexus;`). Sets <sources-var> to the files, in
#   order, so a new block becomes a new program without a change here.
# An output file is rewritten only when its content changes, so an
# unchanged page does not trigger a rebuild.
# Works on positions (string(FIND)/SUBSTRING), never on CMake lists: C++ is
# full of the semicolons that lists split on.

# Cuts the next ```cpp block off the front of the variable named by
# text_var; sets block_var to it, or found_var to FALSE when none is left.
macro(_plexus_next_cpp_block md text_var block_var found_var)
  string(FIND "${${text_var}}" "\n```cpp\n" _at)
  if(_at EQUAL -1)
    set(${found_var} FALSE)
  else()
    set(${found_var} TRUE)
    math(EXPR _start "${_at} + 8")  # the length of "\n```cpp\n"
    string(SUBSTRING "${${text_var}}" ${_start} -1 ${text_var})
    string(FIND "${${text_var}}" "\n```" _end)
    if(_end EQUAL -1)
      message(FATAL_ERROR "${md}: a ```cpp block is not closed")
    endif()
    string(SUBSTRING "${${text_var}}" 0 ${_end} ${block_var})
    string(SUBSTRING "${${text_var}}" ${_end} -1 ${text_var})
  endif()
endmacro()

function(_plexus_write_if_changed out content)
  file(WRITE "${out}.new" "${content}")
  configure_file("${out}.new" "${out}" COPYONLY)
  file(REMOVE "${out}.new")
endfunction()

function(plexus_extract_cpp md out)
  cmake_parse_arguments(arg "FRAGMENTS" "INDEX" "" ${ARGN})
  if(NOT arg_INDEX)
    set(arg_INDEX 1)
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${md}")
  file(READ "${md}" text)
  set(found 0)
  set(body "")
  set(calls "")
  while(TRUE)
    _plexus_next_cpp_block("${md}" text block more)
    if(NOT more)
      break()
    endif()
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
  _plexus_write_if_changed("${out}" "${body}")
endfunction()

function(plexus_extract_cpp_each md prefix sources_var)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${md}")
  file(READ "${md}" text)
  set(found 0)
  set(sources "")
  while(TRUE)
    _plexus_next_cpp_block("${md}" text block more)
    if(NOT more)
      break()
    endif()
    math(EXPR found "${found} + 1")
    if(block MATCHES "(^|\n)int main\\(")
      set(body "// Generated from ${md}: its ```cpp block number ${found}, verbatim.\n${block}\n")
    else()
      set(body "// Generated from ${md}: its ```cpp block number ${found}, as the body of main().\n#include <plexus/plexus.hpp>\n\nint main() {\n  using namespace plexus;\n${block}\n  return 0;\n}\n")
    endif()
    _plexus_write_if_changed("${prefix}_${found}.cpp" "${body}")
    list(APPEND sources "${prefix}_${found}.cpp")
  endwhile()
  if(found EQUAL 0)
    message(FATAL_ERROR "${md}: no ```cpp block")
  endif()
  set(${sources_var} "${sources}" PARENT_SCOPE)
endfunction()
