#!/usr/bin/env bash
# ctest onnx.tool: plexus_onnx on a model file (float and double): export,
# describe, import; a second import -> export gives the same ONNX bytes; a file it
# cannot import is refused with the op and node named (exit 1); bad usage
# exits 2.
# Usage: tool.sh <plexus_onnx> <repo root> <work dir>
set -euo pipefail
tool="$1" root="$2" work="$3"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
for t in f32 f64; do
  "$tool" export "$root/tests/data/v1/v1_model_$t.plx" a_$t.onnx > out.txt || fail "export $t: $(cat out.txt)"
  "$tool" describe a_$t.onnx > describe.txt || fail "describe $t"
  grep -q "imports as a Network<$([ $t = f32 ] && echo float || echo double)>" describe.txt || fail "describe $t: $(cat describe.txt)"
  grep -q "total parameters" describe.txt || fail "describe $t lists no layers: $(cat describe.txt)"
  "$tool" import a_$t.onnx b_$t.plx > /dev/null || fail "import $t"
  "$tool" export b_$t.plx b_$t.onnx > /dev/null || fail "export again $t"
  # a nested Sequential comes back flattened; from then on the round trip is exact
  "$tool" import b_$t.onnx c_$t.plx > /dev/null || fail "import again $t"
  "$tool" export c_$t.plx c_$t.onnx > /dev/null || fail "export a third time $t"
  cmp -s b_$t.onnx c_$t.onnx || fail "$t: import -> export changed the ONNX file"
  [ "$(grep -c Dense describe.txt)" -ge 1 ] || fail "$t: no Dense described"
done
"$tool" export "$root/tests/data/v1/v1_model_f32.plx" o13.onnx --opset 13 > /dev/null || fail "export --opset 13"
set +e
"$tool" describe "$root/tests/fuzz/corpus/onnx/unsupported_op.onnx" > out.txt 2> err.txt; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "unsupported op: exit $rc"
grep -q "Softmin" err.txt && grep -q "(node " err.txt || fail "unsupported op not named: $(cat err.txt)"
set +e
"$tool" describe "$root/tests/fuzz/corpus/onnx/truncated_half.onnx" > /dev/null 2> err.txt; rc=$?
"$tool" frobnicate x > /dev/null 2>&1; rc2=$?
set -e
[ "$rc" -eq 1 ] && grep -q "malformed protobuf\|runs past the end\|claims" err.txt || fail "truncated: exit $rc: $(cat err.txt)"
[ "$rc2" -eq 2 ] || fail "bad usage: exit $rc2"
echo "1 passed, 0 failed"
