#!/usr/bin/env bash
# ctest classify.*: the classify example end to end on a generated CSV.
#   classify.sh train_predict <classify> <work dir>: trains to a high test
#     accuracy; predict on the held-out rows reproduces that accuracy and
#     writes one row of probabilities per input row.
#   classify.sh errors <classify> <work dir>: bad flags exit 2, bad data or
#     files exit 1, each with one message naming the problem.
#   classify.sh onnx <classify> <work dir>: `classify export --onnx` passes
#     onnx.checker and ONNX Runtime's probabilities on the held-out rows are
#     predict's (1e-5 relative, 1e-6 absolute), for three architectures.
#     Without Node.js, ONNX Runtime (tools/onnx/install.sh) or a python3
#     with onnx and NumPy it FAILS.
set -euo pipefail
MODE="$1"
CL="$2"
WORK="$3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }

# 600 rows: three classes (labels 1, 2 and 5) of four features on very
# different scales, around well-separated centres; line 1 is a header.
awk 'BEGIN {
  srand(7); print "length,width,mass,height,kind";
  split("1.5 3.4 120 90|4.0 2.8 170 150|5.2 3.0 230 200", c, "|"); split("1 2 5", lab, " ");
  split("0.7 0.6 35 35", sd, " ");
  for (i = 0; i < 600; i++) {
    k = 1 + int(rand() * 3); split(c[k], m, " "); line = "";
    for (j = 1; j <= 4; j++) {
      g = 0; for (t = 0; t < 12; t++) g += rand(); g -= 6;  # about N(0, 1)
      line = line sprintf("%.6g,", m[j] + sd[j] * g);
    }
    print line lab[k];
  }
}' > data.csv

if [ "$MODE" = train_predict ]; then
  "$CL" train --csv data.csv --label-column kind --model model.plexus --out out --epochs 80 --hidden 16 \
    --seed 3 --quiet > train.txt || fail "train exited $?: $(cat train.txt)"
  cat train.txt
  test_line="$(sed -n 's/^test accuracy //p' train.txt)"  # e.g. 0.9250 (111 of 120 rows)
  test_acc="${test_line%% *}"
  case "$test_line" in *" of 120 rows)") ;; *) fail "no 'test accuracy ... of 120 rows)' line" ;; esac
  awk -v a="$test_acc" 'BEGIN { exit !(a >= 0.9) }' || fail "test accuracy $test_acc < 0.9"
  grep -q "^read 600 rows, 4 features, 3 classes (1, 2, 5)" train.txt || fail "classes 1, 2, 5 not reported"
  grep -q "confusion matrix on the test rows" train.txt || fail "no confusion matrix"
  head -1 out/history.csv | grep -q "^epoch,loss,accuracy,val_loss,val_accuracy" || fail "history.csv header"
  [ "$(wc -l < out/test.csv)" = 121 ] || fail "test.csv: expected a header and 120 rows"

  "$CL" predict --model model.plexus --csv out/test.csv --output pred.csv > predict.txt || fail "predict exited $?"
  cat predict.txt
  grep -qF "accuracy $test_line" predict.txt || fail "predict's accuracy differs from train's $test_acc"
  [ "$(head -1 pred.csv)" = "predicted,p_1,p_2,p_5" ] || fail "pred.csv header: $(head -1 pred.csv)"
  [ "$(wc -l < pred.csv)" = 121 ] || fail "pred.csv: expected 121 lines"
  # Each row: a class of the training labels and probabilities summing to 1, the largest for the class given.
  awk -F, 'NR > 1 { s = $2 + $3 + $4; if (s < 0.9999 || s > 1.0001) bad++;
                    best = 2; for (j = 3; j <= 4; j++) if ($j > $best) best = j;
                    if ((best == 2 && $1 != 1) || (best == 3 && $1 != 2) || (best == 4 && $1 != 5)) bad++ }
           END { exit bad > 0 }' pred.csv || fail "pred.csv rows are not classes with probabilities"
  # --weights int8 (Int8Predictor): an accuracy within one row of 120 of the float one, probabilities that
  # still sum to 1, and a refused weight kind.
  "$CL" predict --model model.plexus --csv out/test.csv --output pred8.csv --weights int8 > p8.txt || fail "predict int8"
  grep -q "^int8 weights (Int8Predictor, engine " p8.txt || fail "predict --weights int8 said: $(cat p8.txt)"
  acc8=$(sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' p8.txt)
  awk -v a="$acc8" -v b="$test_acc" 'BEGIN { exit !(a >= b - 1 / 120 - 1e-9) }' || fail "int8 accuracy $acc8 against $test_acc"
  cmp -s pred.csv pred8.csv && fail "--weights int8 gave the float predictions, bit for bit"
  awk -F, 'NR > 1 { s = $2 + $3 + $4; if (s < 0.9999 || s > 1.0001) bad++ } END { exit bad > 0 }' pred8.csv \
    || fail "int8 probabilities do not sum to 1"
  "$CL" predict --model model.plexus --csv out/test.csv --output bad.csv --weights int4 > /dev/null 2> w.txt \
    && fail "--weights int4 accepted"
  grep -q -- "--weights" w.txt || fail "--weights int4: $(cat w.txt)"
  # The label column by index, and a file without it: predictions only.
  "$CL" train --csv data.csv --label-column 4 --model model2.plexus --epochs 3 --quiet > /dev/null || fail "index label"
  cut -d, -f1-4 out/test.csv > features.csv
  "$CL" predict --model model.plexus --csv features.csv --output pred2.csv > p2.txt || fail "predict without labels"
  grep -q accuracy p2.txt && fail "accuracy printed without labels"
  cmp <(cut -d, -f1 pred.csv) <(cut -d, -f1 pred2.csv) || fail "the label column changed the predictions"
  # For PyTorch: the architecture and the weights (Standardize, two Dense: 6 tensors; Softmax has none).
  "$CL" export-torch --model model.plexus --out twin > export.txt || fail "export-torch exited $?"
  grep -q "(6 tensors)" export.txt && [ -s twin.json ] && [ -s twin.npz ] || fail "export-torch: $(cat export.txt)"
  grep -q '"kind": "Softmax"' twin.json || fail "twin.json lacks the Softmax layer"
  echo PASS
  exit 0
fi

expect_error() {  # expect_error CODE TEXT ARGS...: exits CODE, stderr holds TEXT
  local want="$1" text="$2"; shift 2
  set +e
  "$CL" "$@" > out.txt 2> err.txt
  local code=$?
  set -e
  [ "$code" -eq "$want" ] || fail "classify $* exited $code, expected $want; stderr: $(cat err.txt)"
  grep -qF -- "$text" err.txt || fail "classify $*: stderr lacks '$text': $(cat err.txt)"
  [ "$(wc -l < err.txt)" -eq 1 ] || fail "classify $*: expected one line on stderr: $(cat err.txt)"
  echo "ok ($code): $* -> $(cat err.txt)"
}
if [ "$MODE" = onnx ]; then
  source "$ROOT/tests/torch/find_python.sh"
  PLEXUS_ALLOW_NO_TORCH=0 plexus_torch_python onnx numpy  # sets PY; never a skip
  command -v node > /dev/null 2>&1 || fail "node not found on PATH (Node.js runs ONNX Runtime: tools/onnx/install.sh)"
  "$ROOT/tools/onnx/install.sh" || fail "tools/onnx/install.sh: ONNX Runtime (onnxruntime-node) is not available"
  i=0
  # the default-like MLP; two hidden layers with Dropout (the identity in
  # the graph); no hidden layer (Standardize, Dense, Softmax)
  for arch in "--hidden 16" "--hidden 8,8 --dropout 0.2" "--hidden 0"; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    "$CL" train --csv data.csv --label-column kind --model "m$i.plexus" --out "out$i" --epochs 40 $arch --seed 3 \
      --quiet > "train$i.txt" || fail "train $arch exited $?: $(cat "train$i.txt")"
    "$CL" export --model "m$i.plexus" --onnx "m$i.onnx" > "export$i.txt" || fail "export --onnx ($arch) exited $?"
    grep -qF "wrote m$i.onnx: features (batch, 4) -> probabilities (batch, 3) of the classes 1, 2, 5" "export$i.txt" \
      || fail "export --onnx ($arch) said: $(cat "export$i.txt")"
    "$PY" "$ROOT/tools/onnx/check_model.py" "m$i.onnx" || fail "onnx.checker refuses the export ($arch)"
    "$CL" predict --model "m$i.plexus" --csv "out$i/test.csv" --output "pred$i.csv" > /dev/null || fail "predict ($arch)"
    "$PY" -c 'import sys, numpy as np
np.save(sys.argv[2], np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, ndmin=2)[:, :-1].astype(np.float32))' \
      "out$i/test.csv" "x$i.npy" || fail "test.csv as .npy"
    node "$ROOT/tools/onnx/ort_run.js" run "m$i.onnx" "x$i.npy" "o$i.npy" > /dev/null || fail "ONNX Runtime ($arch)"
    "$PY" - "o$i.npy" "pred$i.csv" "$arch" <<'EOF' || fail "$arch: ONNX Runtime disagrees with classify predict"
import sys
import numpy as np
got, label = np.load(sys.argv[1]), sys.argv[3]
pred = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1, ndmin=2)
want, classes = pred[:, 1:], np.array([1.0, 2.0, 5.0])
if got.dtype != np.float32 or got.shape != want.shape:
    sys.exit(f"{label}: ORT gave {got.dtype} {got.shape}, predict {want.shape}")
err = np.abs(got.astype(np.float64) - want)
bad = ~(err <= 1e-5 * np.abs(want) + 1e-6)
print(f"{label}: {got.shape[0]} rows, max abs err {err.max():.3e}, max rel err {(err / np.abs(want)).max():.3e}, "
      f"{int(bad.sum())} outside tolerance")
if bad.any():
    i, j = np.argwhere(bad)[0]
    sys.exit(f"{label}: row {i}, p_{classes[j]:g}: ORT {got[i, j]!r}, predict {want[i, j]!r}")
if not (classes[got.argmax(axis=1)] == pred[:, 0]).all():
    sys.exit(f"{label}: ORT's most probable classes are not predict's")
EOF
  done
  expect_error 2 "--onnx is required" export --model m1.plexus
  expect_error 2 "unknown flag --out" export --model m1.plexus --out x
  expect_error 1 "not a Plexus model file" export --model data.csv --onnx x.onnx
  [ ! -e x.onnx ] || fail "a refused export wrote x.onnx"
  echo PASS
  exit 0
fi

T="train --csv data.csv --model m.plexus --quiet"
expect_error 2 "a command is needed"
expect_error 2 "unknown command 'fit'" fit
# shellcheck disable=SC2086
{
expect_error 2 "unknown flag --bogus" $T --label-column kind --bogus 1
expect_error 2 "--label-column is required" $T
expect_error 2 "--epochs must be a whole number" $T --label-column kind --epochs abc
expect_error 2 "--hidden must be widths" $T --label-column kind --hidden 8,,8
expect_error 2 "--test must be a number in [0, 0.9]" $T --label-column kind --test 1.5
expect_error 2 "--header must be auto, yes or no" $T --label-column kind --header maybe
expect_error 2 "--model is required" predict --csv data.csv --output p.csv
expect_error 1 "missing.csv" train --csv missing.csv --model m.plexus --label-column kind
expect_error 1 "label column" $T --label-column 9
expect_error 1 'no column is called "species"' $T --label-column species
sed '5s/^[^,]*,/abc,/' data.csv > text.csv
expect_error 1 "line 5" train --csv text.csv --model m.plexus --label-column kind
awk -F, 'NR == 1 || NR % 2 == 0 { print }' data.csv | sed 's/,[0-9]*$/,3/' > one.csv
expect_error 1 "at least 2" train --csv one.csv --model m.plexus --label-column kind
}
"$CL" $T --label-column kind --epochs 2 > /dev/null || fail "a short training run"
cut -d, -f1-3 data.csv > narrow.csv
expect_error 1 "3 feature columns but the model takes 4" predict --model m.plexus --csv narrow.csv --output p.csv
sed '3s/,[0-9]*$/,4/' data.csv > badlabel.csv
expect_error 1 "the label 4 of data row 2 is not one of the model's classes (1, 2, 5)" \
  predict --model m.plexus --csv badlabel.csv --output p.csv
expect_error 1 "not a Plexus model file" predict --model data.csv --csv data.csv --output p.csv
[ ! -e p.csv ] || fail "a refused prediction wrote its output"
echo PASS
