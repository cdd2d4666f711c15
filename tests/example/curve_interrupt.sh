#!/usr/bin/env bash
# curve.csv grows by one line at every evaluation, so a run stopped by
# Ctrl-C or killed keeps its curve; Ctrl-C also writes the plots (and no
# model), and stops the final evaluation within a second; a resumed run
# continues the curve without repeating steps. The
# progress line shows the evaluation's numbers, labelled.
source "$(dirname "$0")/common.sh"
ARGS=(train --samples 1500000 "${SMALL[@]}" --seed 5 --eval-every 0.05 --log-every 0.1)
rows() { [ -f "$1" ] && echo $(($(wc -l < "$1") - 1)) || echo 0; }
wait_rows() {  # wait_rows FILE N PID: until FILE has N data rows (while PID runs)
  for _ in $(seq 1200); do
    [ "$(rows "$1")" -ge "$2" ] && return 0
    kill -0 "$3" 2> /dev/null || fail "the run ended before $1 had $2 rows"
    sleep 0.05
  done
  fail "$1 never reached $2 rows"
}

# Ctrl-C (SIGINT): exit 130, the curve so far, both plots, the checkpoint, no model
"$MI" "${ARGS[@]}" --out int --checkpoint int.ck --model never.plx > int.log 2> int.err &
pid=$!
wait_rows int/curve.csv 4 "$pid"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || fail "Ctrl-C: exit $rc, expected 130: $(cat int.err)"
grep -q "interrupted at step" int.err || fail "no interruption message: $(cat int.err)"
for f in curve.csv curve.svg scatter.svg; do [ -s "int/$f" ] || fail "Ctrl-C: no $f"; done
grep -q "<polyline" int/curve.svg || fail "curve.svg has no line"
[ ! -f never.plx ] || fail "an interrupted run wrote its model"
[ -f int.ck ] || fail "Ctrl-C: no checkpoint"
step=$(sed -n 's/.*interrupted at step \([0-9]*\) .*/\1/p' int.err)
[ "$(tail -n 1 int/curve.csv | cut -d, -f1)" = "$step" ] || fail "the curve's last row is not at step $step"
echo "Ctrl-C at step $step: $(rows int/curve.csv) rows, curve.svg and scatter.svg written"

# Ctrl-C during the final evaluation (400,000 held-out matrices, 64 views of
# each: many seconds): the command stops within a second, exit 130; the
# training was done, so the model is written
"$MI" train --samples 4096 "${SMALL[@]}" --eval-samples 400000 --model fin.plx > fin.log 2> fin.err &
pid=$!
for _ in $(seq 2400); do
  grep -q "^held-out, network once: 400000 matrices" fin.log && break
  kill -0 "$pid" 2> /dev/null || fail "the run ended before its final evaluation: $(cat fin.log fin.err)"
  sleep 0.05
done
grep -q "^held-out, network once: 400000 matrices" fin.log || fail "no final evaluation: $(cat fin.log)"
t0=$(date +%s.%N)
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
t1=$(date +%s.%N)
[ "$rc" -eq 130 ] || fail "Ctrl-C in the final evaluation: exit $rc, expected 130: $(cat fin.err)"
grep -q "interrupted during the final evaluation" fin.err || fail "no interruption message: $(cat fin.err)"
grep -q "views (predict's default)" fin.log && fail "the evaluation Ctrl-C stopped ran to its end: $(cat fin.log)"
[ -s fin.plx ] || fail "Ctrl-C in the final evaluation: no model, though training was done"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 1.0) }' || fail "Ctrl-C in the final evaluation took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
echo "Ctrl-C in the final evaluation: stopped in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s, model written"

# the progress line: samples, rate, the loss under its name, the held-out numbers
grep -Eq "^train: [0-9]+ samples, [0-9]+ samples/s, loss \(mean \|\|AX-I\|\|\^0.5\) [0-9.e+-]+, held-out median r [0-9.e+-]+, r < 0.05 [0-9.]+%, " int.err \
  || fail "no labelled progress line with the held-out numbers: $(head -3 int.err)"

# SIGKILL: the rows written so far stay, whole
"$MI" "${ARGS[@]}" --out kill --checkpoint kill.ck --checkpoint-every 0.02 > kill.log 2>&1 &
pid=$!
wait_rows kill/curve.csv 3 "$pid"
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
n=$(rows kill/curve.csv)
[ "$n" -ge 3 ] || fail "SIGKILL: the curve has $n rows"
[ -z "$(tail -c 1 kill/curve.csv)" ] || fail "SIGKILL: the curve's last line is torn"
awk -F, 'NR > 1 && NF != 8 { exit 1 }' kill/curve.csv || fail "SIGKILL: a row without 8 fields"
echo "SIGKILL: $n rows kept"

# resume: the curve continues from the checkpoint's step, each step once, to the end
"$MI" train --resume --checkpoint kill.ck --out kill > resume.log 2>&1 || fail "resume failed: $(cat resume.log)"
at=$(sed -n 's/.*resumed from .* at step \([0-9]*\),.*/\1/p' resume.log)
awk -F, 'NR > 2 && $1 <= prev { exit 1 } { prev = $1 }' kill/curve.csv || fail "resumed curve repeats steps: $(cut -d, -f1 kill/curve.csv | tr '\n' ' ')"
grep -q "^$at," kill/curve.csv || fail "no row at the resumed step $at"
[ "$(tail -n 1 kill/curve.csv | cut -d, -f2)" = 1500000 ] || fail "the curve does not reach the end of the budget"
[ -s kill/curve.svg ] || fail "the resumed run wrote no curve.svg"
echo "resumed at step $at: $(rows kill/curve.csv) rows, steps increasing"

# question: Ctrl-C keeps its per-epoch curve and writes its plots; its progress line shows the validation numbers
"$MI" question --epochs 1000000 --out q --log-every 0.1 > q.log 2> q.err &
pid=$!
wait_rows q/curve.csv 20 "$pid"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || fail "question Ctrl-C: exit $rc: $(cat q.err)"
for f in curve.csv curve.svg scatter.svg; do [ -s "q/$f" ] || fail "question Ctrl-C: no $f"; done
grep -Eq "^question: [0-9]+ samples, .*loss \(MSE\) [0-9.e+-]+, validation RMSE [0-9.e+-]+, median r [0-9.e+-]+, r < 0.05 [0-9.]+%" q.err \
  || fail "question: no labelled progress line: $(head -3 q.err)"
echo "question Ctrl-C after $(rows q/curve.csv) epochs: plots written"
echo PASS
