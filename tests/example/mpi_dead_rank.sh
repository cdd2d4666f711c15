#!/usr/bin/env bash
# Data-parallel training under mpiexec when a rank dies: rank 1 is SIGKILLed
# mid-training (the test-only PLEXUS_TEST_DIE_AT_STEP), the whole job must
# exit non-zero saying which rank died, and the last checkpoint (written by
# rank 0 alone) must load and resume, under mpiexec again, to the end.
#   mpi_dead_rank.sh MATRIX_INVERSE WORK_DIR MPIEXEC [NUMPROC_FLAG]
source "$(dirname "$0")/common.sh"
MPIEXEC="$3"
NP="${4:--n}"
ARGS=(train --samples 102400 "${SMALL[@]}" --seed 7)

rc=0
PLEXUS_TEST_DIE_AT_STEP=200 "$MPIEXEC" "$NP" 2 "$MI" "${ARGS[@]}" --checkpoint ck.plx --checkpoint-every 0.02 \
  --model never.plx > dead.log 2>&1 || rc=$?
cat dead.log
[ "$rc" -ne 0 ] || fail "the job exited 0 although rank 1 died"
grep -q "dying at step 200" dead.log || fail "rank 1 did not die as planned"
grep -Eiq "rank 1.*(killed|signal|exit)|(killed|signal|exit).*rank 1" dead.log \
  || fail "no message says that rank 1 died"
[ ! -f never.plx ] || fail "a model was written by a job that lost a rank"
[ "$(grep -c 'concat-ResNet' dead.log)" -eq 1 ] || fail "ranks other than 0 printed the run's header"
[ -f ck.plx ] || fail "no checkpoint was written before rank 1 died"
"$MI" evaluate --model ck.plx --samples 100 > eval.log 2>&1 || fail "the last checkpoint does not load: $(cat eval.log)"
echo "job exit status $rc; the last checkpoint loads: $(grep -m1 'median' eval.log)"

"$MPIEXEC" "$NP" 2 "$MI" train --resume --checkpoint ck.plx --model resumed.plx > resume.log 2>&1 \
  || fail "resuming under $MPIEXEC failed: $(cat resume.log)"
[ "$(grep -c 'resumed from' resume.log)" -eq 1 ] || fail "expected one 'resumed from' line (rank 0's): $(cat resume.log)"
step=$(sed -n 's/.*resumed from .* at step \([0-9]*\),.*/\1/p' resume.log)
[ -n "$step" ] && [ "$step" -gt 0 ] && [ "$step" -le 200 ] || fail "resumed at step '$step', expected 1..200"
grep -q "trained 102400 samples" resume.log || fail "the resumed run did not finish its budget: $(cat resume.log)"
"$MI" evaluate --model resumed.plx --samples 100 > /dev/null || fail "the resumed run's model does not load"
echo "resumed at step $step under $MPIEXEC -n 2 and finished"
echo "PASS"
