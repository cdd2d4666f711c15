# Sourced by the tests that need PyTorch (tests/torch/run.sh,
# tests/example/torch_interop.sh): plexus_torch_python <module> ... sets PY to
# a python3 that imports them all: $PLEXUS_PYTHON alone when set, else
# /usr/bin/python3, else python3 on PATH. Without one the test FAILS (exit 1;
# tools/run_tests.sh installs python3-torch and python3-numpy), unless
# PLEXUS_ALLOW_NO_TORCH=1, which makes it a skip (exit 77).
plexus_torch_python() {
  local imports candidates p
  imports="import $(IFS=,; echo "$*")"
  candidates="/usr/bin/python3 python3"
  [ -n "${PLEXUS_PYTHON:-}" ] && candidates="$PLEXUS_PYTHON"
  PY=""
  for p in $candidates; do
    if command -v "$p" > /dev/null 2>&1 && "$p" -c "$imports" > /dev/null 2>&1; then PY="$p"; return 0; fi
  done
  if [ "${PLEXUS_ALLOW_NO_TORCH:-0}" = "1" ]; then
    echo "SKIP: no python3 that can '$imports' (PLEXUS_ALLOW_NO_TORCH=1)"
    exit 77
  fi
  echo "FAIL: no python3 among ($candidates) that can '$imports' (Debian: python3-torch python3-numpy, which" \
       "tools/run_tests.sh installs; set PLEXUS_PYTHON to another python3, or PLEXUS_ALLOW_NO_TORCH=1 to skip)"
  exit 1
}
