#!/bin/bash
# Reports the C++ files of the repository that do not follow .clang-format:
# each such file with the number of its lines clang-format would change,
# then the totals. Changes nothing.
#
#   tools/check_format.sh [--diff] [FILE...]
#
# Without FILE arguments it checks every tracked *.hpp, *.cpp and *.h file.
# --diff also prints what clang-format would change, as a unified diff.
# Exit status: 0 when every file follows the style, 1 when some do not, 2
# when clang-format is missing. CLANG_FORMAT names the program (default:
# clang-format-14, else clang-format); versions format a few constructs
# differently, and the style was chosen with clang-format 14 (Debian 12's
# package `clang-format`). To reformat a file: clang-format -i FILE.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

show_diff=0
files=()
for arg in "$@"; do
  case "$arg" in
    --diff) show_diff=1 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "check_format.sh: unknown option '$arg' (see --help)" >&2
      exit 2
      ;;
    *) files+=("$arg") ;;
  esac
done

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
  if command -v clang-format-14 > /dev/null; then cf=clang-format-14; else cf=clang-format; fi
fi
if ! command -v "$cf" > /dev/null; then
  echo "check_format.sh: '$cf' not found; on Debian: apt-get install clang-format" >&2
  exit 2
fi
if [ ! -f .clang-format ]; then
  echo "check_format.sh: no .clang-format in $root" >&2
  exit 2
fi

if [ ${#files[@]} -eq 0 ]; then
  if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.hpp' '*.cpp' '*.h')
  else
    mapfile -t files < <(find . -path ./build -prune -o \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) -print |
      sed 's|^\./||' | sort)
  fi
fi

bad_files=0
bad_lines=0
for f in "${files[@]}"; do
  if [ ! -f "$f" ]; then
    echo "check_format.sh: no such file '$f'" >&2
    exit 2
  fi
  # --style=file finds the .clang-format above the file; the lines counted
  # are the file's lines that the formatted text replaces or removes.
  if ! formatted=$("$cf" --style=file --assume-filename="$f" < "$f"); then
    echo "check_format.sh: $cf failed on '$f'" >&2
    exit 2
  fi
  changed=$(diff <(cat "$f") <(printf '%s\n' "$formatted") | grep -c '^<' || true)
  added=$(diff <(cat "$f") <(printf '%s\n' "$formatted") | grep -c '^>' || true)
  if [ "$changed" -gt 0 ] || [ "$added" -gt 0 ]; then
    bad_files=$((bad_files + 1))
    bad_lines=$((bad_lines + changed))
    echo "$f: $changed lines would change"
    if [ "$show_diff" -eq 1 ]; then
      diff -u --label "$f" --label "$f (clang-format)" <(cat "$f") <(printf '%s\n' "$formatted") || true
    fi
  fi
done

version=$("$cf" --version | sed 's/.*version \([0-9.]*\).*/\1/')
if [ "$bad_files" -eq 0 ]; then
  echo "check_format.sh: all ${#files[@]} files follow .clang-format ($cf $version)"
  exit 0
fi
echo "check_format.sh: $bad_files of ${#files[@]} files do not follow .clang-format; $bad_lines of their lines would change ($cf $version)"
exit 1
