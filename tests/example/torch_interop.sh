#!/usr/bin/env bash
# export -> examples/matrix_inverse/to_torch.py -> the same predictions as
# `predict`, to 1e-5 relative. Skipped (exit 77) without NumPy and PyTorch.
MAKE_INPUTS="$3"
SCRIPT="$4"
source "$(dirname "$0")/common.sh"
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" > /dev/null && "$p" -c "import numpy, torch" 2> /dev/null; then PY="$p"; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with numpy and torch (Debian: python3-numpy python3-torch)"; exit 77; }
"$MAKE_INPUTS" "$WORK"
# The export keeps the model's precision, so torch computes as Plexus did.
for run in "float32 train --samples 20000 --width 16 --growth 8 --blocks 2" \
           "float64 train --samples 20000 --width 16 --growth 8 --blocks 2 --precision f64" \
           "float32 answer --samples 8192 --width 16 --growth 8 --blocks 1" \
           "float64 question --epochs 2 --precision f64"; do
  read -r dtype recipe <<< "$run"
  # shellcheck disable=SC2086
  "$MI" $recipe --model m.plx > /dev/null 2>&1 || fail "$recipe"
  "$MI" predict --model m.plx --input good33_f32.npy --output pred.npy > /dev/null
  "$MI" export --model m.plx --npz m.npz --dtype "$dtype" > /dev/null
  "$PY" "$SCRIPT" m.npz --input good33_f32.npy --expect pred.npy --rtol 1e-5 || fail "$recipe ($dtype): torch disagrees"
done
echo PASS
