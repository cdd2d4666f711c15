#!/usr/bin/env bash
# ctest tools.torch_missing_fails: the PyTorch tests (torch.reference's
# tests/torch/run.sh, torch.interop's tests/torch/interop.sh,
# example.torch_interop's tests/example/torch_interop.sh)
# FAIL when no python3 with torch is found, and are skipped (exit 77) only
# with PLEXUS_ALLOW_NO_TORCH=1. PLEXUS_PYTHON points at a python3 that does
# not exist, so no script gets past its search.
# Usage: torch_missing.sh <source dir> <work dir>
set -uo pipefail
SRC="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
export PLEXUS_PYTHON="$WORK/no-such-python3"
unset PLEXUS_ALLOW_NO_TORCH
for test in "torch/run.sh /bin/false /dev/null $WORK/ref" "torch/interop.sh /bin/false /dev/null $WORK/twin" \
            "example/torch_interop.sh /bin/false $WORK/interop /bin/false /dev/null"; do
  read -r script args <<< "$test"
  # shellcheck disable=SC2086
  out="$(bash "$SRC/tests/$script" $args 2>&1)"
  rc=$?
  [ "$rc" -eq 1 ] || fail "$script without torch exited $rc, expected 1: $out"
  case "$out" in *"FAIL: no python3"*"python3-torch"*"PLEXUS_ALLOW_NO_TORCH=1"*) ;; *) fail "$script said: $out" ;; esac
  # shellcheck disable=SC2086
  out="$(PLEXUS_ALLOW_NO_TORCH=1 bash "$SRC/tests/$script" $args 2>&1)"
  rc=$?
  [ "$rc" -eq 77 ] || fail "$script without torch, PLEXUS_ALLOW_NO_TORCH=1: exited $rc, expected 77: $out"
  case "$out" in *"SKIP: no python3"*) ;; *) fail "$script said: $out" ;; esac
done
echo PASS
