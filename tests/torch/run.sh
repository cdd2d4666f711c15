#!/usr/bin/env bash
# ctest torch.reference: runs reference.py under a python3 that has torch
# (find_python.sh: $PLEXUS_PYTHON, /usr/bin/python3 or python3), then
# check_torch on what it printed. Without torch the test FAILS, unless
# PLEXUS_ALLOW_NO_TORCH=1, which makes it a skip (exit 77).
# Usage: run.sh <check_torch> <reference.py> <work dir>
set -u
CHECK="$1"
SCRIPT="$2"
WORK="$3"
mkdir -p "$WORK"
source "$(dirname "$0")/find_python.sh"
plexus_torch_python torch
"$PY" "$SCRIPT" > "$WORK/reference.txt" || { echo "FAIL: $PY $SCRIPT exited with $?"; exit 1; }
exec "$CHECK" "$WORK/reference.txt"
