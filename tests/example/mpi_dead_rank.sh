#!/usr/bin/env bash
# Data-parallel training under mpiexec when a rank dies: once rank 0 has
# written a checkpoint, rank 1 is SIGKILLed from outside (found by its rank
# variable and this test's tag in its environment). The whole job must exit
# non-zero saying which rank died, write no model, and the last checkpoint
# (written by rank 0 alone) must load and resume, under mpiexec again, to the end.
#   mpi_dead_rank.sh MATRIX_INVERSE WORK_DIR MPIEXEC [NUMPROC_FLAG]
source "$(dirname "$0")/common.sh"
MPIEXEC="$3"
NP="${4:--n}"
SAMPLES=600000
ARGS=(train --samples "$SAMPLES" "${SMALL[@]}" --seed 7)
TAG="mi-dead-rank-$$-$RANDOM"

# rank_pid R: the pid of this test's rank R (an mpiexec passes its environment to its ranks)
rank_pid() {
  local dir pid env exe
  exe="$(readlink -f "$MI")"
  for dir in /proc/[0-9]*; do
    [ "$(readlink "$dir/exe" 2> /dev/null)" = "$exe" ] || continue
    env="$( { tr '\0' '\n' < "$dir/environ"; } 2> /dev/null)" || continue
    grep -qx "MI_TEST_TAG=$TAG" <<< "$env" || continue
    grep -Eqx "(OMPI_COMM_WORLD_RANK|PMIX_RANK|PMI_RANK)=$1" <<< "$env" && { echo "${dir#/proc/}"; return 0; }
  done
  return 1
}

rc=0
MI_TEST_TAG="$TAG" "$MPIEXEC" "$NP" 2 "$MI" "${ARGS[@]}" --checkpoint ck.plx --checkpoint-every 0.02 \
  --model never.plx > dead.log 2>&1 &
job=$!
victim=""
for _ in $(seq 1200); do
  kill -0 "$job" 2> /dev/null || break
  [ -n "$victim" ] || victim="$(rank_pid 1 || true)"
  [ -n "$victim" ] && [ -f ck.plx ] && break
  sleep 0.05
done
[ -n "$victim" ] || { cat dead.log; fail "rank 1's process was not found"; }
[ -f ck.plx ] || { cat dead.log; fail "no checkpoint appeared"; }
kill -9 "$victim"
echo "killed rank 1 (pid $victim) once the first checkpoint was written"
wait "$job" || rc=$?
cat dead.log
[ "$rc" -ne 0 ] || fail "the job exited 0 although rank 1 died"
grep -q "^trained $SAMPLES samples" dead.log && fail "the job finished its budget before rank 1 was killed"
grep -Eiq "rank 1.*(killed|signal|exit)|(killed|signal|exit).*rank 1" dead.log \
  || fail "no message says that rank 1 died"
[ ! -f never.plx ] || fail "a model was written by a job that lost a rank"
[ "$(grep -c 'concat-ResNet' dead.log)" -eq 1 ] || fail "ranks other than 0 printed the run's header"
"$MI" evaluate --model ck.plx --samples 100 > eval.log 2>&1 || fail "the last checkpoint does not load: $(cat eval.log)"
echo "job exit status $rc; the last checkpoint loads: $(grep -m1 'median' eval.log)"

"$MPIEXEC" "$NP" 2 "$MI" train --resume --checkpoint ck.plx --model resumed.plx > resume.log 2>&1 \
  || fail "resuming under $MPIEXEC failed: $(cat resume.log)"
[ "$(grep -c 'resumed from' resume.log)" -eq 1 ] || fail "expected one 'resumed from' line (rank 0's): $(cat resume.log)"
step=$(sed -n 's/.*resumed from .* at step \([0-9]*\),.*/\1/p' resume.log)
total=$((SAMPLES / 256))
[ -n "$step" ] && [ "$step" -gt 0 ] && [ "$step" -lt "$total" ] || fail "resumed at step '$step', expected 1..$((total - 1))"
grep -q "trained $SAMPLES samples" resume.log || fail "the resumed run did not finish its budget: $(cat resume.log)"
"$MI" evaluate --model resumed.plx --samples 100 > /dev/null || fail "the resumed run's model does not load"
echo "resumed at step $step of $total under $MPIEXEC -n 2 and finished"
echo "PASS"
