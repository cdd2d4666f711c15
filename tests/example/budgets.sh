#!/usr/bin/env bash
# The budget rule of every training command: --samples and --seconds both
# bound the run, training stops at whichever comes first, and one given alone
# is the only one that applies (train's default of 240 s goes).
source "$(dirname "$0")/common.sh"
TINY=(--width 8 --growth 4 --blocks 1 --layers 2 --batch 256)
run() {  # run LOG ARGS...: matrix_inverse ARGS... > LOG (stdout and stderr)
  local log="$1"; shift
  "$MI" "$@" > "$log" 2>&1 || fail "matrix_inverse $* failed: $(cat "$log")"
}
trained() { sed -n 's/^trained \([0-9]*\) samples.*/\1/p' "$1"; }

# train: --samples alone replaces the default 240 s (only the samples apply)
run t1.log train --samples 4096 "${TINY[@]}"
[ "$(trained t1.log)" = 4096 ] || fail "train --samples 4096: $(cat t1.log)"
grep -q "^budget: 4096 samples" t1.log || fail "no sample budget: $(cat t1.log)"
grep -q "^budget: .* seconds" t1.log && fail "train --samples alone kept a time budget: $(cat t1.log)"
# both: the samples come first
run t2.log train --samples 4096 --seconds 1000 "${TINY[@]}"
[ "$(trained t2.log)" = 4096 ] || fail "train --samples 4096 --seconds 1000: $(cat t2.log)"
grep -q "^budget: 1000 seconds" t2.log || fail "no time budget: $(cat t2.log)"
# both: the seconds come first
run t3.log train --samples 1e12 --seconds 0.5 "${TINY[@]}"
n="$(trained t3.log)"
[ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt 1000000000000 ] || fail "train --samples 1e12 --seconds 0.5 trained '$n'"
secs="$(sed -n 's/.*samples in [0-9]* steps: \([0-9.]*\) s in training steps.*/\1/p' t3.log)"
awk -v s="$secs" 'BEGIN { exit !(s >= 0.5 && s < 30) }' || fail "train --seconds 0.5 trained for '$secs' s"

# train from 4x4 on: a budget over 300 s (or over 20M samples without --seconds) defaults to lr 1e-3, a
# shorter one to 2e-3; --lr wins; 3x3 keeps 1e-3. (The long runs are stopped by Ctrl-C once they have
# printed their settings.)
header_lr() {  # header_lr LOG ARGS...: the lr train's settings line gives for ARGS, the run then stopped
  local log="$1"; shift
  "$MI" train "$@" --eval-samples 50 "${TINY[@]}" > "$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1200); do grep -q " lr [0-9.e-]* (" "$log" && break; sleep 0.05; done
  kill -INT "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  sed -n 's/.* lr \([0-9.e-]*\) (.*/\1/p' "$log" | head -1
}
[ "$(header_lr l1.log --size 4 --seconds 1800)" = 0.001 ] || fail "--size 4 --seconds 1800: $(cat l1.log)"
[ "$(header_lr l2.log --size 4 --samples 30000000)" = 0.001 ] || fail "--size 4 --samples 3e7: $(cat l2.log)"
[ "$(header_lr l3.log --size 4 --seconds 240)" = 0.002 ] || fail "--size 4 --seconds 240: $(cat l3.log)"
[ "$(header_lr l4.log --size 4 --seconds 1800 --lr 0.003)" = 0.003 ] || fail "--size 4 --lr 0.003: $(cat l4.log)"
[ "$(header_lr l5.log --seconds 1800)" = 0.001 ] || fail "3x3 --seconds 1800: $(cat l5.log)"

# answer: --seconds alone, and both
run a1.log answer --seconds 0.3 "${TINY[@]}"
grep -q "^budget: 0.3 seconds of training" a1.log || fail "answer --seconds: $(cat a1.log)"
grep -q "^budget: .* samples" a1.log && fail "answer --seconds alone has a sample budget: $(cat a1.log)"
run a2.log answer --samples 2048 --seconds 1000 "${TINY[@]}"
[ "$(trained a2.log)" = 2048 ] || fail "answer --samples 2048 --seconds 1000: $(cat a2.log)"

# question: --epochs, and --samples or --seconds before them
run q1.log question --samples 1000
grep -q "^after 10 steps (1000 samples" q1.log || fail "question --samples 1000 (batch 100): $(cat q1.log)"
run q2.log question --seconds 0.2 --epochs 1000000
grep -q "^after [0-9]* steps ([0-9]* samples, 0\.[2-9] s)\|^after [0-9]* steps ([0-9]* samples, [1-9][0-9.]* s)" q2.log \
  || fail "question --seconds 0.2: $(cat q2.log)"
run q3.log question --epochs 2 --samples 1e9
grep -q "^after 134 steps (13398 samples" q3.log || fail "question --epochs 2: $(cat q3.log)"
echo PASS
