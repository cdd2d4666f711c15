#!/usr/bin/env bash
# ctest torch.reference: runs reference.py under a python3 that has torch
# ($PLEXUS_PYTHON alone when set, else /usr/bin/python3, else python3 on PATH), then
# check_torch on what it printed. Without torch the test FAILS, unless
# PLEXUS_ALLOW_NO_TORCH=1, which makes it a skip (exit 77).
# Usage: run.sh <check_torch> <reference.py> <work dir>
set -u
CHECK="$1"
SCRIPT="$2"
WORK="$3"
mkdir -p "$WORK"
PY=""
CANDIDATES="/usr/bin/python3 python3"
[ -n "${PLEXUS_PYTHON:-}" ] && CANDIDATES="$PLEXUS_PYTHON"
for p in $CANDIDATES; do
  if command -v "$p" > /dev/null 2>&1 && "$p" -c "import torch" > /dev/null 2>&1; then PY="$p"; break; fi
done
if [ -z "$PY" ]; then
  if [ "${PLEXUS_ALLOW_NO_TORCH:-0}" = "1" ]; then
    echo "SKIP: no python3 with torch (PLEXUS_ALLOW_NO_TORCH=1)"
    exit 77
  fi
  echo "FAIL: no python3 with torch (Debian: python3-torch; set PLEXUS_PYTHON, or PLEXUS_ALLOW_NO_TORCH=1 to skip)"
  exit 1
fi
"$PY" "$SCRIPT" > "$WORK/reference.txt" || { echo "FAIL: $PY $SCRIPT exited with $?"; exit 1; }
exec "$CHECK" "$WORK/reference.txt"
