#!/usr/bin/env bash
# Same seed, any thread count: byte-identical model files, run after run.
source "$(dirname "$0")/common.sh"
for t in 1 2 3 1; do
  "$MI" train --samples 60000 "${SMALL[@]}" --seed 11 --threads "$t" --model "t$t.plx" > /dev/null 2>&1 || fail "threads $t"
done
for t in 2 3; do cmp t1.plx "t$t.plx" || fail "threads 1 and $t differ"; done
"$MI" answer --samples 8192 --width 16 --growth 8 --blocks 1 --seed 3 --threads 1 --model a1.plx > /dev/null 2>&1
"$MI" answer --samples 8192 --width 16 --growth 8 --blocks 1 --seed 3 --threads 2 --model a2.plx > /dev/null 2>&1
cmp a1.plx a2.plx || fail "answer: threads 1 and 2 differ"
"$MI" train --samples 60000 "${SMALL[@]}" --seed 12 --threads 2 --model other.plx > /dev/null 2>&1
cmp -s t1.plx other.plx && fail "a different seed gave the same model"
echo PASS
