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
checks=()
i=0
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
  "$MI" $recipe --model "m$i.plx" > /dev/null 2>&1 || fail "$recipe"
  "$MI" predict --model "m$i.plx" --views 1 --input "$input" --output "pred$i.npy" > /dev/null
  "$MI" export --model "m$i.plx" --npz "m$i.npz" --dtype "$dtype" > /dev/null
  checks+=("$recipe ($dtype)|m$i.npz|$input|pred$i.npy")
  i=$((i + 1))
done
# One Python process checks every model through to_torch.py's command line
# (main(argv)): importing torch costs about 2 s a process.
"$PY" - "$SCRIPT" "${checks[@]}" << 'EOF'
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("to_torch", sys.argv[1])
to_torch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(to_torch)
failed = []
for check in sys.argv[2:]:
    what, npz, inputs, expect = check.split("|")
    try:
        rc = to_torch.main([npz, "--input", inputs, "--expect", expect, "--rtol", "1e-5"])
    except SystemExit as e:
        rc = f"exit {e.code}"
    if rc != 0:
        failed.append(f"{what}: torch disagrees ({rc})")
for f in failed:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failed else 0)
EOF
echo PASS
