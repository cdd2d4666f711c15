#!/usr/bin/env bash
# export --onnx -> onnx.checker (tools/onnx/check_model.py) -> ONNX Runtime
# (tools/onnx/ort_run.js): the graph maps raw matrices (n, 9) to the same
# inverses as `predict --views 1` (the network once, with the example's maps
# around it: A/||A||_F and the rescale, the sign-canonical form and its
# restore), to 1e-5 relative (atol 1e-6 x the row's largest entry), for a
# sign-canonical model (train's default), a --canonical none model, one with
# the signs but no scaling, one of GELU (Erf) layers, a float64 model, the
# answer's model (no scaling, output_scale 5), the question's, and 5x5 ones
# (--size 5: train's defaults' maps and the question's network). The
# matrices include zeros and negative zeros in the first row and column (the
# sign convention's ties) and scales from 1e-3 to 1e3; a graph with the ties
# the other way round must disagree on them. Without Node.js, ONNX Runtime
# (tools/onnx/install.sh), or a python3 with onnx and NumPy, the test FAILS.
# Usage: onnx_export.sh MATRIX_INVERSE WORKDIR MAKE_INPUTS
MAKE_INPUTS="$3"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/common.sh"
source "$ROOT/tests/torch/find_python.sh"
PLEXUS_ALLOW_NO_TORCH=0 plexus_torch_python onnx numpy  # sets PY; never a skip
command -v node > /dev/null 2>&1 || fail "node not found on PATH (Node.js runs ONNX Runtime: tools/onnx/install.sh)"
"$ROOT/tools/onnx/install.sh" || fail "tools/onnx/install.sh: ONNX Runtime (onnxruntime-node) is not available"
ORT=(node "$ROOT/tools/onnx/ort_run.js")
"$MAKE_INPUTS" "$WORK" || fail "make_inputs"

# The matrices: make_inputs' 64, then 400 uniform in [-2, 2], the first 100
# of them scaled by 10^u, u in [-3, 3], and 120 with zeros (+0 or -0) at
# random places of the first row and column. a_f32.npy for float32 graphs,
# a_f64.npy (the same matrices, plus sub-float detail) for float64 ones.
"$PY" - <<'EOF' || fail "writing the matrices"
import numpy as np
rng = np.random.default_rng(20260401)
base = np.load("good33_f32.npy").reshape(-1, 9).astype(np.float64)
a = rng.uniform(-2, 2, size=(400, 9))
a[:100] *= 10.0 ** rng.uniform(-3, 3, size=(100, 1))
ties = a[100:220]
for r in ties:
    for idx in (0, 1, 2, 3, 6):
        if rng.random() < 0.45:
            r[idx] = 0.0 if rng.random() < 0.5 else -0.0
ties[0, [0, 1, 2, 3, 6]] = -0.0  # the whole first row and column -0
ties[1, [0, 3, 6]] = [0.0, -1.0, 1.0]
ties[2, [0, 3, 6]] = [-0.0, -1.0, 1.0]
a = np.concatenate([base, a])
np.save("a_f32.npy", a.astype(np.float32))
np.save("a_f64.npy", a.astype(np.float32).astype(np.float64) * (1 + 1e-10 * rng.standard_normal(a.shape)))
np.save("ties.npy", np.arange(64 + 100, 64 + 220))
EOF

# compare GOT EXPECTED LABEL [ROWS.npy]: |got - expected| <= 1e-5 |expected| +
# 1e-6 max|expected's row| everywhere (or on ROWS only), non-finite entries
# equal; prints the largest errors; exit 1 otherwise. The absolute term is
# relative to the row: the network's last Dense forms each entry as a sum of
# terms of the row's size, and float rounding is relative to those (an entry
# that cancels to near zero keeps their absolute error).
compare() {
  "$PY" - "$@" <<'EOF'
import sys
import numpy as np
got, want, label = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
if len(sys.argv) > 4:
    rows = np.load(sys.argv[4])
    got, want = got[rows], want[rows]
if got.shape != want.shape:
    sys.exit(f"{label}: ORT shape {got.shape}, predict shape {want.shape}")
g = got.astype(np.float64)
same = (g == want) | (np.isnan(g) & np.isnan(want))
fin = np.isfinite(want)
row = np.where(fin, np.abs(want), 0).max(axis=1, keepdims=True)
err = np.where(same, 0, np.abs(g - want))
tol = 1e-5 * np.abs(want) + 1e-6 * row
bad = ~(err <= tol)
ok = ~bad & fin
worst = (err / np.where(tol > 0, tol, 1))[ok].max(initial=0)
print(f"{label}: {got.shape[0]} matrices ({got.dtype}), {int((~fin).any(axis=1).sum())} of them non-finite in "
      f"predict, max abs err {err[ok].max(initial=0):.3e}, "
      f"max err / row max {(err / np.where(row > 0, row, 1))[ok].max(initial=0):.3e}, "
      f"max err / tolerance {worst:.3f}, {int(bad.sum())} outside tolerance")
if bad.any():
    i, j = np.argwhere(bad)[0]
    sys.exit(f"{label}: first bad entry: matrix {i}, entry {j}: ORT {g[i, j]!r}, predict {want[i, j]!r}")
EOF
}

i=0
for run in "f32 train --samples 20000 --width 16 --growth 8 --blocks 2" \
           "f32 train --samples 20000 --width 16 --growth 8 --blocks 2 --canonical none" \
           "f32 train --samples 20000 --width 16 --growth 8 --blocks 2 --norm none --gate none" \
           "f32 train --samples 20000 --width 16 --growth 8 --blocks 2 --gate none --activation gelu" \
           "f64 train --samples 20000 --width 16 --growth 8 --blocks 2 --precision f64" \
           "f32 answer --samples 8192 --width 16 --growth 8 --blocks 1" \
           "f32 question --epochs 2"; do
  i=$((i + 1))
  read -r dtype recipe <<< "$run"
  evals=(--eval-samples 200); [[ "$recipe" == question* ]] && evals=()
  # shellcheck disable=SC2086
  "$MI" $recipe "${evals[@]}" --model "m$i.plx" > "train$i.txt" 2>&1 || fail "$recipe: $(tail -3 "train$i.txt")"
  "$MI" export --model "m$i.plx" --onnx "m$i.onnx" > "export$i.txt" || fail "export --onnx ($recipe)"
  grep -q "^wrote m$i.onnx: ONNX opset 17, float${dtype#f}, " "export$i.txt" || fail "export --onnx said: $(cat "export$i.txt")"
  "$PY" "$ROOT/tools/onnx/check_model.py" "m$i.onnx" || fail "onnx.checker refuses the export of $recipe"
  "$MI" predict --model "m$i.plx" --views 1 --input "a_$dtype.npy" --output "p$i.npy" > /dev/null || fail "predict ($recipe)"
  "${ORT[@]}" run "m$i.onnx" "a_$dtype.npy" "o$i.npy" > /dev/null || fail "ONNX Runtime on the export of $recipe"
  compare "o$i.npy" "p$i.npy" "$recipe" || fail "$recipe: ONNX Runtime disagrees with predict --views 1"
  "$MI" export --model "m$i.plx" --npz "m$i.npz" --onnx "both$i.onnx" > /dev/null || fail "export --npz --onnx ($recipe)"
  cmp -s "m$i.onnx" "both$i.onnx" || fail "export --onnx wrote another file beside --npz ($recipe)"
done

# 5x5 models (--size 5): the same maps around the network on (n, 25) inputs,
# for train's sign-canonical A/||A||_F and for the question's network; the
# matrices uniform in [-10, 10], scaled by 10^u, zeros in the first row and
# column.
"$PY" - <<'EOF' || fail "writing the 5x5 matrices"
import numpy as np
rng = np.random.default_rng(20261207)
a = rng.uniform(-10, 10, size=(300, 25))
a[:50] *= 10.0 ** rng.uniform(-3, 3, size=(50, 1))
for r in a[50:150]:
    for idx in (0, 1, 2, 3, 4, 5, 10, 15, 20):
        if rng.random() < 0.4:
            r[idx] = 0.0 if rng.random() < 0.5 else -0.0
np.save("a5_f32.npy", a.astype(np.float32))
EOF
for recipe in "train --size 5 --samples 20000 --width 16 --growth 8 --blocks 2 --eval-samples 200" \
              "question --size 5 --epochs 2"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  "$MI" $recipe --model "m$i.plx" > "train$i.txt" 2>&1 || fail "$recipe: $(tail -3 "train$i.txt")"
  "$MI" export --model "m$i.plx" --onnx "m$i.onnx" > "export$i.txt" || fail "export --onnx ($recipe)"
  grep -q "5x5 matrices (batch, 25) -> inverses (batch, 25)" "export$i.txt" || fail "export said: $(cat "export$i.txt")"
  "$PY" "$ROOT/tools/onnx/check_model.py" "m$i.onnx" || fail "onnx.checker refuses the export of $recipe"
  "$MI" predict --model "m$i.plx" --views 1 --input a5_f32.npy --output "p$i.npy" > /dev/null || fail "predict ($recipe)"
  "${ORT[@]}" run "m$i.onnx" a5_f32.npy "o$i.npy" > /dev/null || fail "ONNX Runtime on the export of $recipe"
  compare "o$i.npy" "p$i.npy" "$recipe" || fail "$recipe: ONNX Runtime disagrees with predict --views 1"
done

# The sign convention's ties are tested: with Less turned into LessOrEqual
# (zeros, -0 too, counted as negative) the sign-canonical graph (model 1)
# disagrees with predict on the tie matrices; it still agrees elsewhere.
"$PY" - m1.onnx tied_wrong.onnx <<'EOF' || fail "rewriting the graph's ties"
import sys
import onnx
m = onnx.load(sys.argv[1])
n = sum(1 for node in m.graph.node if node.op_type == "Less")
assert n == 2, f"expected the 2 Less nodes of the sign maps, found {n}"
for node in m.graph.node:
    if node.op_type == "Less":
        node.op_type = "LessOrEqual"
onnx.save(m, sys.argv[2])
EOF
"${ORT[@]}" run tied_wrong.onnx a_f32.npy tied_wrong.npy > /dev/null || fail "ONNX Runtime on tied_wrong.onnx"
compare tied_wrong.npy p1.npy "ties as negative" ties.npy > ties.txt 2>&1 && fail "the ties do not matter: $(cat ties.txt)"
echo "disagrees, as it must: $(tr '\n' ' ' < ties.txt)"
"$PY" -c 'import numpy as np; np.save("rest.npy", np.setdiff1d(np.arange(464), np.load("ties.npy")))'
compare tied_wrong.npy p1.npy "ties as negative, other matrices" rest.npy || fail "LessOrEqual changed matrices without ties"

# The graph is the network once: predict's default (64 views) is another answer.
"$MI" predict --model m1.plx --input a_f32.npy --output p64.npy > /dev/null || fail "predict (default views)"
compare o1.npy p64.npy "64 views" > v64.txt 2>&1 && fail "the graph matches predict's 64 views: $(cat v64.txt)"
echo "disagrees, as it must: $(tr '\n' ' ' < v64.txt)"

# Usage errors: exit 2, nothing written.
for args in "--model m1.plx" "--onnx x.onnx" "--model m1.plx --onnx x.onnx --dtype float32" \
            "--model m1.plx --npz x.onnx --onnx x.onnx" "--model m1.plx --onnx"; do
  set +e
  # shellcheck disable=SC2086
  "$MI" export $args > out.txt 2> err.txt
  code=$?
  set -e
  [ "$code" -eq 2 ] || fail "export $args exited $code: $(cat err.txt)"
done
[ ! -e x.onnx ] || fail "a refused export wrote x.onnx"
echo PASS
