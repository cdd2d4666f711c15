# Doxygen input filter for the headers (cmake/docs.cmake). Plexus' comments
# are plain `//`; so that the API reference shows them anyway, this turns, on
# the fly and without touching the files,
#   - the comment block that opens a header into the file's documentation,
#   - `//` lines at namespace or class level (indent 0 or 2) into `///`,
#   - `x,  // ...` and `x;  // ...` after an enumerator or member into `///<`.
1{
  s#^//#/// \\file\n///#
  b
}
2,/^[^/]/{
  s#^//#///#
  b
}
s#^\(  \)\{0,1\}//\( \|$\)#\1///\2#
s#\([,;]\)\( \{1,\}\)// #\1\2///< #
