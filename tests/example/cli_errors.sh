#!/usr/bin/env bash
# Bad input to every subcommand exits non-zero with a one-line message and
# never crashes (no signal, no abort); good input works.
MAKE_INPUTS="$3"
source "$(dirname "$0")/common.sh"
"$MAKE_INPUTS" "$WORK" || fail "make_inputs"
expect_error() {  # expect_error CODE ARGS...: exit CODE, one error line on stderr (after any progress lines)
  local want="$1"; shift
  set +e
  "$MI" "$@" > out.txt 2> err.txt
  local code=$?
  set -e
  [ "$code" -eq "$want" ] || fail "matrix_inverse $* exited $code, expected $want; stderr: $(cat err.txt)"
  grep -v -E "^(train|answer|question): [0-9]+ samples" err.txt > msg.txt || true
  [ "$(wc -l < msg.txt)" -eq 1 ] || fail "matrix_inverse $*: expected one message line on stderr, got: $(cat err.txt)"
  grep -q "^matrix_inverse: " msg.txt || fail "matrix_inverse $*: message lacks the program name: $(cat msg.txt)"
  cp msg.txt err.txt
  echo "ok ($code): $* -> $(cat msg.txt)"
}
# usage errors: exit 2
expect_error 2
expect_error 2 frobnicate
for cmd in question answer train predict evaluate export; do
  "$MI" "$cmd" --help > /dev/null || fail "$cmd --help"
  expect_error 2 "$cmd" --no-such-flag
done
for bad in "--samples abc" "--samples -5" "--samples 1.5" "--batch 0" "--lr nan" "--lr -1" "--seconds 1e99" \
           "--threads 0" "--seconds" "--norm maybe" "--loss-power 3" "--width 0" "--checkpoint-every 5" "--resume" \
           "--clip-norm -1" "--clip-norm nan"; do
  # shellcheck disable=SC2086
  expect_error 2 train $bad
done
expect_error 2 question --epochs 0
expect_error 2 answer --batch -3
expect_error 2 predict --model m.plx --input x.npy
expect_error 2 evaluate
expect_error 2 export --model m.plx --npz x.npz --dtype int8
expect_error 2 train --samples 100 --samples 200
expect_error 2 train --optimizer rmsprop
expect_error 2 train --resume --checkpoint missing.ck
# answer has no default budget (its full recipe takes days): refused, naming the flags
for args in "" "--lr 1e-4" "--width 8 --model a.plx"; do
  # shellcheck disable=SC2086
  expect_error 2 answer $args
  grep -q -- "--samples" err.txt && grep -q -- "--seconds" err.txt || fail "answer without a budget: $(cat err.txt)"
done
[ ! -f a.plx ] || fail "answer without a budget wrote a model"
# a flag of another command is unknown here
for bad in "question --micro-batch 256" "question --width 8" "question --eval-every 1" "train --epochs 3" \
           "answer --dataset 100" "predict --samples 5" "evaluate --output o.npy" "export --threads 2" \
           "train --input x.npy" "question --npz x.npz"; do
  # shellcheck disable=SC2086
  expect_error 2 $bad
  grep -q "unknown flag '--" err.txt || fail "$bad: $(cat err.txt)"
done

# a real model to test the file checks against
"$MI" train --samples 4096 --width 8 --growth 4 --blocks 1 --model m.plx > /dev/null 2>&1 || fail "tiny training run"
"$MI" predict --model m.plx --input good33_f32.npy --output p33.npy > /dev/null || fail "predict (n,3,3) f32"
"$MI" predict --model m.plx --input good9_f64.npy --output p9.npy > /dev/null || fail "predict (n,9) f64"
"$MI" evaluate --model m.plx --input good9_f64.npy > /dev/null || fail "evaluate --input"
"$MI" export --model m.plx --npz m.npz > /dev/null || fail "export"

# runtime errors: exit 1
expect_error 1 predict --model missing.plx --input good9_f64.npy --output o.npy
expect_error 1 predict --model "$WORK" --input good9_f64.npy --output o.npy
head -c 1000 /dev/urandom > junk.plx
expect_error 1 predict --model junk.plx --input good9_f64.npy --output o.npy
head -c 300 m.plx > truncated.plx
expect_error 1 evaluate --model truncated.plx
cp m.plx flipped.plx && printf '\x55' | dd of=flipped.plx bs=1 seek=200 conv=notrunc 2> /dev/null
expect_error 1 evaluate --model flipped.plx
expect_error 1 predict --model m.plx --input missing.npy --output o.npy
expect_error 1 predict --model m.plx --input m.plx --output o.npy
for f in nan.npy inf.npy wrong_shape.npy wrong_shape3.npy empty.npy zero_matrix.npy; do
  expect_error 1 predict --model m.plx --input "$f" --output o.npy
  expect_error 1 evaluate --model m.plx --input "$f"
done
expect_error 1 predict --model m.plx --input good9_f64.npy --output no/such/dir/o.npy
# --size N and the distribution's flags: bad values are usage errors
for bad in "--size 1" "--size 9" "--size 2.5" "--range 1" "--range 2 1" "--range=-1,1" "--range -1 x" "--det 0" \
           "--det x" "--min-det -1" "--det 1 --min-det 2"; do
  # shellcheck disable=SC2086
  expect_error 2 train $bad
done
# a 5x5 model: reads (n, 5, 5), refuses 3x3 matrices naming both sizes; --size must be the model's
"$MI" train --size 5 --samples 2048 --width 8 --growth 4 --blocks 1 --eval-samples 200 --model m5.plx > /dev/null 2>&1 \
  || fail "tiny 5x5 training run"
"$MI" predict --model m5.plx --input good55_f64.npy --output p55.npy > /dev/null || fail "predict (n,5,5)"
"$MI" predict --model m5.plx --size 5 --input good55_f64.npy --output p55.npy > /dev/null || fail "predict --size 5"
for f in good9_f64.npy good33_f32.npy; do
  expect_error 1 predict --model m5.plx --input "$f" --output o.npy
  grep -q "5x5" err.txt && grep -q "3x3" err.txt || fail "predict 5x5 model on $f: $(cat err.txt)"
done
expect_error 1 predict --model m.plx --input good55_f64.npy --output o.npy
grep -q "5x5" err.txt && grep -q "3x3" err.txt || fail "predict 3x3 model on 5x5 matrices: $(cat err.txt)"
for cmd in "evaluate --model m5.plx --size 3" "predict --model m.plx --size 5 --input good9_f64.npy --output o.npy" \
           "export --model m5.plx --size 4 --npz x.npz"; do
  # shellcheck disable=SC2086
  expect_error 2 $cmd
  grep -q "size" err.txt || fail "$cmd: $(cat err.txt)"
done
expect_error 2 evaluate --model m.plx --input good9_f64.npy --range -1 1
expect_error 2 train --resume --checkpoint m.plx
expect_error 2 answer --resume --checkpoint m.plx
# --resume takes the run's settings from the checkpoint: only output, thread and budget flags may change
"$MI" train --samples 4096 --width 8 --growth 4 --blocks 1 --checkpoint r.ck > /dev/null 2>&1 || fail "checkpointed tiny run"
for bad in "--lr 1e-4" "--width 16" "--seed 3" "--micro-batch 0"; do
  # shellcheck disable=SC2086
  expect_error 2 train --resume --checkpoint r.ck $bad
  grep -q "cannot change a resumed run" err.txt || fail "train --resume $bad: $(cat err.txt)"
done
expect_error 2 question --resume --checkpoint r.ck
grep -q "checkpoint of 'train'" err.txt || fail "question --resume on train's checkpoint: $(cat err.txt)"
# divergence: a clear error naming the step; the last checkpoint stays loadable
"$MI" train --samples 8192 --width 8 --growth 4 --blocks 1 --checkpoint good.ck > /dev/null 2>&1 || fail "checkpointed run"
cp good.ck before.ck
expect_error 1 train --samples 200000 --width 8 --growth 4 --blocks 1 --loss mse --optimizer sgd --lr 10 --schedule constant --checkpoint good.ck --checkpoint-every 1000
grep -q "diverged at step" err.txt || fail "divergence message: $(cat err.txt)"
cmp good.ck before.ck || fail "divergence changed the last good checkpoint"
echo PASS
