#!/usr/bin/env bash
# Self-test of the ONNX Runtime harness: builds tiny Gemm models (float32 and
# float64) with /usr/bin/python3 (onnx, numpy), then checks that ort_run.js
# check/run/bench/serve pass good cases and FAIL wrong ones. Usage: tools/onnx/selftest.sh
set -uo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
"$dir/install.sh" || exit 1
$py -c 'import onnx, onnx.helper, numpy' || { echo "selftest: $py lacks onnx or numpy" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

$py - "$tmp" <<'EOF' || { echo "selftest: building the models failed" >&2; exit 1; }
import json, sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
d = sys.argv[1]
rng = np.random.default_rng(0)
W, b, x = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
for tag, et, nt in (("f32", T.FLOAT, np.float32), ("f64", T.DOUBLE, np.float64)):
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["y"])], "gemm_" + tag,
        [helper.make_tensor_value_info("x", et, ["N", 3])],
        [helper.make_tensor_value_info("y", et, ["N", 2])],
        [numpy_helper.from_array(W.astype(nt), "W"), numpy_helper.from_array(b.astype(nt), "b")])
    m = helper.make_model(g)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, f"{d}/gemm_{tag}.onnx")
    xs = x.astype(nt)
    y = xs.astype(np.float64) @ W.astype(nt).astype(np.float64) + b.astype(nt)
    np.save(f"{d}/x_{tag}.npy", xs)
    np.save(f"{d}/y_{tag}.npy", y.astype(nt))
    wrong = y.astype(nt); wrong[2, 1] += 0.5
    np.save(f"{d}/wrong_{tag}.npy", wrong)
np.save(f"{d}/y_f32_as_f64.npy", np.load(f"{d}/y_f32.npy").astype(np.float64))
# Init files (bench/init_file.hpp) for serve --expect: the f32 case's input
# and output (one dummy parameter, which serve does not read), and a wrong one.
for name, y in (("good", np.load(f"{d}/y_f32.npy")), ("wrong", np.load(f"{d}/wrong_f32.npy"))):
    with open(f"{d}/{name}.init", "wb") as f:
        f.write(b"PLXINIT1" + np.array([1, 4, 3, 2], "<i8").tobytes() + np.zeros(1, "<f4").tobytes())
        f.write(x.astype("<f4").tobytes() + y.astype("<f4").tobytes() + np.zeros(1, "<f8").tobytes())
case = lambda n, t, e, rtol, **k: dict(name=n, model=f"gemm_{t}.onnx", input=f"x_{t}.npy", expected=e, rtol=rtol, **k)
manifests = {
    "good": [case("gemm_f32", "f32", "y_f32.npy", 1e-5, atol=1e-6),
             case("gemm_f32_2threads", "f32", "y_f32.npy", 1e-5, atol=1e-6, threads=2),
             case("gemm_f64", "f64", "y_f64.npy", 1e-12)],
    "wrong": [case("gemm_f32", "f32", "y_f32.npy", 1e-5, atol=1e-6),
              case("gemm_f64_wrong", "f64", "wrong_f64.npy", 1e-6)],
    "dtype": [case("gemm_f32_vs_f64", "f32", "y_f32_as_f64.npy", 1e-5, atol=1e-6)],
    "missing": [case("no_model", "nope", "y_f32.npy", 1e-5)],
}
for k, v in manifests.items():
    json.dump(v, open(f"{d}/{k}.json", "w"), indent=1)
EOF

passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
# expect NAME WANTED_RC GREP_PATTERN -- COMMAND...: the command's exit code is
# WANTED_RC (0, or "nz" for non-zero) and its output matches GREP_PATTERN.
expect() {
  local name="$1" want="$2" pat="$3"; shift 4
  local out rc
  out="$("$@" 2>&1)"; rc=$?
  sed 's/^/    | /' <<<"$out"
  if { [ "$want" = nz ] && [ "$rc" -ne 0 ]; } || [ "$rc" = "$want" ]; then :; else bad "$name (exit $rc)"; return; fi
  grep -Eq -- "$pat" <<<"$out" && ok "$name" || bad "$name (no line matching /$pat/)"
}
run=(node "$dir/ort_run.js")
expect "check: good cases pass" 0 '^3 passed, 0 failed$' -- "${run[@]}" check "$tmp/good.json"
expect "check: wrong expected file FAILs" nz '^FAIL gemm_f64_wrong: 1 of 8 elements .*worst at \[2, 1\]' -- \
  "${run[@]}" check "$tmp/wrong.json"
expect "check: summary counts the failure" nz '^1 passed, 1 failed$' -- "${run[@]}" check "$tmp/wrong.json"
expect "check: float64 expected vs float32 model FAILs" nz '^FAIL gemm_f32_vs_f64: output type float32 but expected float64' -- \
  "${run[@]}" check "$tmp/dtype.json"
expect "check: missing model FAILs" nz '^FAIL no_model: model file .* not found' -- "${run[@]}" check "$tmp/missing.json"
expect "run: writes the output" 0 '^wrote ' -- "${run[@]}" run "$tmp/gemm_f64.onnx" "$tmp/x_f64.npy" "$tmp/out.npy" --threads 2
expect "run: output equals numpy's" 0 '^same$' -- $py -c \
  "import numpy as np, sys; a, b = np.load(sys.argv[1]), np.load(sys.argv[2]); \
print('same' if a.dtype == b.dtype and a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=0) else 'differ')" \
  "$tmp/out.npy" "$tmp/y_f64.npy"
expect "bench: prints the JSON line" 0 '^\{"engine":"onnxruntime","version":"1\.31\.1".*"best_round_median_us"' -- \
  "${run[@]}" bench "$tmp/gemm_f32.onnx" --width 3 --batch 8 --threads 1 --calls 50 --rounds 2 --warmup 5 \
  --json-out "$tmp/bench.json"
expect "bench: --json-out file parses" 0 '^2 rounds$' -- node -e \
  "const j = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); console.log(j.rounds.length + ' rounds')" \
  "$tmp/bench.json"
expect "bench: --double on the float64 model" 0 '"dtype":"float64"' -- \
  "${run[@]}" bench "$tmp/gemm_f64.onnx" --width 3 --calls 10 --rounds 1 --warmup 1 --double
expect "serve: rows for 1 and 2 callers, both setups" 0 \
  '^\| 2 \| 2 \| worker_threads, a 1-thread session each \| [0-9]+ \| [0-9.]+ \|' -- \
  "${run[@]}" serve "$tmp/gemm_f32.onnx" --width 3 --seconds 1 --callers 1,2 --batches 2 --threads 2 \
  --expect "$tmp/good.init"
expect "serve: --expect with other outputs FAILs" 1 '^check: 4 inputs, max \|ort - plexus\| = 0\.500' -- \
  "${run[@]}" serve "$tmp/gemm_f32.onnx" --width 3 --seconds 1 --callers 1 --batches 1 --expect "$tmp/wrong.init"
expect "serve: a bad --callers list exits 2" 2 "--callers needs integers in \\[1, 4096\\], got '1,x'" -- \
  "${run[@]}" serve "$tmp/gemm_f32.onnx" --width 3 --callers 1,x
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
