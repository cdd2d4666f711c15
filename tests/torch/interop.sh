#!/usr/bin/env bash
# ctest torch.interop: Plexus -> .npz -> the twin torch module
# (tools/plexus_torch.py) gives Plexus' outputs, torch's tuned weights ->
# .npz -> plexus::import_torch_npz gives torch's outputs, and mismatching
# files are refused by name. Without torch the test FAILS, unless
# PLEXUS_ALLOW_NO_TORCH=1, which makes it a skip (exit 77).
# Usage: interop.sh <interop program> <tools dir> <work dir>
set -u
PROG="$1"
TOOLS="$2"
WORK="$3"
source "$(dirname "$0")/find_python.sh"
plexus_torch_python torch numpy
rm -rf "$WORK" && mkdir -p "$WORK"
"$PROG" export "$WORK" || { echo "FAIL: interop export exited with $?"; exit 1; }
"$PY" "$(dirname "$0")/interop.py" "$TOOLS" "$WORK" || { echo "FAIL: interop.py exited with $?"; exit 1; }
exec "$PROG" import "$WORK"
