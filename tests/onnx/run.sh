#!/usr/bin/env bash
# ctest onnx.runtime / onnx.torch_import: the exports of every built-in kind
# checked by onnx.checker and run in ONNX Runtime (npm onnxruntime-node,
# installed by tools/onnx/install.sh), and PyTorch's torch.onnx.export files
# imported. A missing runtime, onnx or torch FAILS the test.
# Usage: run.sh export|import <onnx_cases> <repo root> <work dir>
set -euo pipefail
mode="$1" cases="$2" root="$3" work="$4"
rm -rf "$work" && mkdir -p "$work"
source "$root/tests/torch/find_python.sh"
if [ "$mode" = export ]; then
  plexus_torch_python onnx numpy
  "$root/tools/onnx/install.sh"
  "$cases" export "$work"
  "$PY" "$root/tools/onnx/check_model.py" "$work"/*.onnx
  node "$root/tools/onnx/ort_run.js" check "$work/manifest.json"
else
  plexus_torch_python torch onnx numpy
  "$PY" "$root/tests/onnx/make_torch_models.py" "$work" > "$work/make.log"
  "$cases" import "$work"
fi
