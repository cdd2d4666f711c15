# Shared by the example's ctest scripts: $MI is the matrix_inverse binary,
# $WORK a fresh scratch folder.
set -euo pipefail
MI="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
# a small network: fast enough for a test, the same code paths as the real one
SMALL=(--width 32 --growth 16 --blocks 2 --layers 3 --batch 256)
