#!/usr/bin/env bash
# A run killed by SIGKILL mid-training resumes from its last checkpoint and
# ends with a model byte-identical to the uninterrupted run (with another
# thread count, too); the checkpoint is never torn.
source "$(dirname "$0")/common.sh"
ARGS=(train --samples 1500000 "${SMALL[@]}" --seed 7)
"$MI" "${ARGS[@]}" --threads 1 --model straight.plx > straight.log 2>&1 || fail "uninterrupted run failed"
for round in 1 2 3; do
  rm -f ck.plx
  "$MI" "${ARGS[@]}" --threads 2 --checkpoint ck.plx --checkpoint-every 0.02 > run.log 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -f ck.plx ] && break; sleep 0.05; done
  [ -f ck.plx ] || fail "no checkpoint appeared"
  sleep "0.$((round * 3))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  "$MI" evaluate --model ck.plx --samples 100 > /dev/null || fail "round $round: the checkpoint left by SIGKILL does not load"
  "$MI" train --resume --checkpoint ck.plx --threads 2 --model resumed.plx > resume.log 2>&1 || fail "resume failed: $(cat resume.log)"
  grep -q "resumed from" resume.log || fail "round $round: no resume message"
  cmp straight.plx resumed.plx || fail "round $round: resumed model differs from the uninterrupted one"
  echo "round $round: $(grep 'resumed from' resume.log)"
done
echo "PASS"
