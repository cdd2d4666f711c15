#!/usr/bin/env bash
# Each command's --help and its parser agree: every flag its help lists is
# accepted (with a value when the help shows one), and every flag another
# command lists is refused as unknown. The helps show the command's own
# defaults, and matrix_inverse --help explains each command.
source "$(dirname "$0")/common.sh"
COMMANDS=(question answer train predict evaluate export)

# flags COMMAND: "name value" per flag of its help (value "-" for a switch)
flags() {
  "$MI" "$1" --help | sed -n -E 's/^  --([a-z0-9-]+)( ([^ ]+))?( {2,}.*)?$/\1 \3/p' | awk '{ print $1, ($2 == "" ? "-" : $2) }'
}
# joined COMMAND: its help with each flag's wrapped lines joined into one
joined() {
  "$MI" "$1" --help | awk 'substr($0, 1, 26) == sprintf("%26s", "") { sub(/^ +/, " "); line = line $0; next }
                           { if (NR > 1) print line; line = $0 } END { print line }'
}
# flat COMMAND: its help as one line
flat() { "$MI" "$1" --help | tr '\n' ' ' | tr -s ' '; }
# the parser's answer to COMMAND ARGS... followed by a flag no command has
probe() {
  local cmd="$1"; shift
  set +e
  "$MI" "$cmd" "$@" --zz-no-such-flag > /dev/null 2> probe.txt
  local code=$?
  set -e
  [ "$code" -eq 2 ] || fail "$cmd $* --zz-no-such-flag exited $code, expected 2: $(cat probe.txt)"
}

declare -A listed all
for cmd in "${COMMANDS[@]}"; do
  n=0
  while read -r name value; do
    listed["$cmd $name"]="$value"
    all["$name"]="$value"
    n=$((n + 1))
  done < <(flags "$cmd")
  [ "$n" -ge 4 ] || fail "$cmd --help lists $n flags"
  echo "$cmd: $n flags"
done
[ "${#all[@]}" -ge 30 ] || fail "only ${#all[@]} distinct flags over all commands"

for cmd in "${COMMANDS[@]}"; do
  for name in "${!all[@]}"; do
    if [ -n "${listed["$cmd $name"]+x}" ]; then
      value="${listed["$cmd $name"]}"
      args=("--$name"); [ "$value" = "-" ] || args+=("$value")
      probe "$cmd" "${args[@]}"  # accepted: the parser reaches the next flag
      grep -q "unknown flag '--zz-no-such-flag'" probe.txt \
        || fail "$cmd --help lists --$name but the parser refuses '${args[*]}': $(cat probe.txt)"
    else
      value="${all[$name]}"
      args=("--$name"); [ "$value" = "-" ] || args+=("$value")
      probe "$cmd" "${args[@]}"
      grep -q "unknown flag '--$name'" probe.txt \
        || fail "$cmd --help does not list --$name but the parser accepts it: $(cat probe.txt)"
    fi
  done
done
echo "help and parser agree for ${#COMMANDS[@]} commands over ${#all[@]} flags"

# each command's own defaults
expect_line() {  # expect_line COMMAND REGEX
  # the text first: grep -q stops reading at its match, which under pipefail
  # would fail a producer still writing
  local text
  text="$(joined "$1")"
  grep -Eq -- "$2" <<< "$text" || fail "$1 --help has no line matching '$2': $text"
}
expect_line train '^  --micro-batch M .*\(default 256 at N <= 3, 128 from N = 4\)'
expect_line train '^  --growth N .*\(default 32\)'
expect_line train '^  --batch B .*\(default 512 at N <= 3, 256 from N = 4\)'
expect_line train '^  --seconds S .*\(default 240\)'
expect_line train '^  --canonical none\|signs .*\(default signs\)'
expect_line train '^  --precision f32\|f64\|bf16\|auto .*\(default auto\)'
expect_line answer '^  --canonical none\|signs .*\(default none\)'
# the defaults that change with --size: the distribution (question's at every N), train's network
expect_line train '^  --blocks N .*\(default 7 at N <= 3, 10 from N = 4\)'
expect_line train '^  --lr X .*\(default 0.001 at N <= 3, 0.002 from N = 4\)'
expect_line train '^  --range LO HI .*\(default \[-2, 2\) at N <= 3, \[-10, 10\) from N = 4\)'
expect_line answer '^  --min-det T .*\(default 0.1 at N <= 3, 0 from N = 4\)'
expect_line question '^  --range LO HI .*\(default \[0, 100\)\)'
expect_line question '^  --det D\|none .*\(default 1\)'
expect_line train '^  --size N .*\(default 3\)'
expect_line train '^  --gate none\|sigmoid\|identity\|relu\|silu\|gelu .*\(default relu at N <= 3, sigmoid from N = 4\)'
expect_line answer '^  --gate none\|sigmoid\|identity\|relu\|silu\|gelu .*\(default none\)'
expect_line answer '^  --precision f32\|f64\|bf16\|auto .*\(default f32\)'
grep -q "train's default budget is --seconds 240" <<< "$(flat train)" || fail "train --help does not give its default budget"
expect_line answer '^  --micro-batch M .*\(default 512\)'
expect_line answer '^  --growth N .*\(default 256\)'
expect_line answer '^  --seconds S .*\(default none\)'
grep -q "answer has no default budget" <<< "$(flat answer)" || fail "answer --help does not say it has no default budget"
expect_line question '^  --batch B .*\(default 100\)'
expect_line question '^  --epochs E .*\(default 400\)'
for cmd in question answer train; do
  grep -q -- "--samples and --seconds both bound the run: training stops at whichever comes first; given alone, only that one applies" <<< "$(flat "$cmd")" \
    || fail "$cmd --help does not state the budget rule"
done
grep -q "answer:" <<< "$("$MI" train --help)" && fail "train --help shows another command's settings"

"$MI" --help > top.txt
for cmd in "${COMMANDS[@]}"; do grep -q "^  $cmd " top.txt || fail "matrix_inverse --help does not explain $cmd"; done
grep -q "reproduces the question" top.txt || fail "matrix_inverse --help does not say what question reproduces"
grep -q "reproduces the answer" top.txt || fail "matrix_inverse --help does not say what answer reproduces"
echo PASS
