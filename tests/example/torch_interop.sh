#!/usr/bin/env bash
# export -> examples/matrix_inverse/to_torch.py -> the same predictions as
# `predict`, to 1e-5 relative. Without NumPy and PyTorch the test FAILS,
# unless PLEXUS_ALLOW_NO_TORCH=1, which makes it a skip (exit 77).
MAKE_INPUTS="$3"
SCRIPT="$4"
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/common.sh"
source "$HERE/../torch/find_python.sh"
plexus_torch_python numpy torch
"$MAKE_INPUTS" "$WORK"
# The export keeps the model's precision, so torch computes as Plexus did.
# The torch module is the network once, so predict runs it once (--views 1;
# the views are the example's exact maps around the network).
# train's default sign-canonical form and gated growth layers (GLU relu)
# are applied by to_torch.py too; the second run checks a model without the
# canonical form, the third plain growth layers of another activation.
# 5x5 models (the last two): the config's size builds 25-wide inputs and
# outputs and 5x5 sign maps.
for run in "float32 good33_f32.npy train --samples 20000 --width 16 --growth 8 --blocks 2" \
           "float32 good33_f32.npy train --samples 20000 --width 16 --growth 8 --blocks 2 --canonical none" \
           "float32 good33_f32.npy train --samples 20000 --width 16 --growth 8 --blocks 2 --gate none --activation gelu" \
           "float32 good33_f32.npy train --samples 20000 --width 16 --growth 8 --blocks 2 --gate silu" \
           "float64 good33_f32.npy train --samples 20000 --width 16 --growth 8 --blocks 2 --precision f64" \
           "float32 good33_f32.npy answer --samples 8192 --width 16 --growth 8 --blocks 1" \
           "float64 good33_f32.npy question --epochs 2 --precision f64" \
           "float32 good55_f64.npy train --size 5 --samples 20000 --width 16 --growth 8 --blocks 2 --eval-samples 200" \
           "float64 good55_f64.npy question --size 5 --epochs 2 --precision f64"; do
  read -r dtype input recipe <<< "$run"
  # shellcheck disable=SC2086
  "$MI" $recipe --model m.plx > /dev/null 2>&1 || fail "$recipe"
  "$MI" predict --model m.plx --views 1 --input "$input" --output pred.npy > /dev/null
  "$MI" export --model m.plx --npz m.npz --dtype "$dtype" > /dev/null
  "$PY" "$SCRIPT" m.npz --input "$input" --expect pred.npy --rtol 1e-5 || fail "$recipe ($dtype): torch disagrees"
done
echo PASS
