#!/usr/bin/env bash
# Plexus against ONNX Runtime (onnxruntime-node, CPU) on the answer's network exported as
# float32 ONNX: per-call predict latency at batch 1 and 256, 1 and 2 threads (Plexus' Int8Predictor
# too, and HalfPredictor at batch 1, against the same float32 ONNX Runtime runs), the sides
# run in alternation (R rounds each, best round kept); a one-Dense model gives the call overhead.
#
#   bench/onnx_compare.sh [--calls N] [--calls-256 N] [--rounds R] [--threads "1 2"] [--bin PATH] [--build DIR]
#
# Builds nothing: the binary is --bin, else $PLEXUS_ONNX_COMPARE, else DIR/bench/plexus_onnx_compare
# (DIR: --build, default build; make it with cmake --build DIR --target plexus_onnx_compare).
set -euo pipefail
cd "$(dirname "$0")/.."

calls=2000 calls256=200 rounds=3 threads="1 2" build=build bin="${PLEXUS_ONNX_COMPARE:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls="$2"; shift 2 ;;
    --calls-256) calls256="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "onnx_compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
bin="${bin:-$build/bench/plexus_onnx_compare}"
[ -x "$bin" ] || { echo "onnx_compare.sh: $bin not found; build it: cmake --build $build --target plexus_onnx_compare" >&2; exit 2; }

tools/onnx/install.sh
ort=(node tools/onnx/ort_run.js bench)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" --export "$tmp/answer.onnx" >/dev/null
"$bin" --export "$tmp/tiny.onnx" --tiny >/dev/null

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Plexus engine: $("$bin" --calls 1 --rounds 1 --warmup 0 --tiny | sed 's/.*"plexus_engine":"\([^"]*\)".*/\1/');" \
     "Int8Predictor: $("$bin" --calls 1 --rounds 1 --warmup 0 --tiny --int8 | sed 's/.*"int8_engine":"\([^"]*\)".*/\1/')"
echo "ONNX Runtime: onnxruntime-node $(cd tools/onnx && node -p 'require("onnxruntime-node").env.versions.node')," \
     "node $(node --version); OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
echo "command: $0 --calls $calls --calls-256 $calls256 --rounds $rounds --threads \"$threads\""

# One round per invocation, the sides in turn, so a noisy neighbour hurts all alike.
for t in $threads; do
  for b in 1 256; do
    n=$calls w=200
    [ "$b" = 1 ] || n=$calls256 w=10
    for r in $(seq "$rounds"); do
      export OMP_NUM_THREADS="$t"
      "$bin" --batch "$b" --threads "$t" --calls "$n" --rounds 1 --warmup "$w" > "$tmp/plexus.answer.$b.$t.$r"
      "${ort[@]}" "$tmp/answer.onnx" --width 9 --batch "$b" --threads "$t" --calls "$n" --rounds 1 --warmup "$w" \
        > "$tmp/ort.answer.$b.$t.$r"
      "$bin" --int8 --batch "$b" --threads "$t" --calls "$n" --rounds 1 --warmup "$w" > "$tmp/int8.answer.$b.$t.$r"
      if [ "$b" = 1 ]; then
        "$bin" --half --threads "$t" --calls "$n" --rounds 1 --warmup "$w" > "$tmp/half.answer.$b.$t.$r"
        "$bin" --tiny --threads "$t" --calls "$n" --rounds 1 --warmup "$w" > "$tmp/plexus.tiny.$b.$t.$r"
        "${ort[@]}" "$tmp/tiny.onnx" --width 9 --threads "$t" --calls "$n" --rounds 1 --warmup "$w" \
          > "$tmp/ort.tiny.$b.$t.$r"
      fi
    done
  done
done

node - "$tmp" "$threads" "$rounds" <<'EOF'
const fs = require('fs');
const [tmp, threads, rounds] = [process.argv[2], process.argv[3].split(/\s+/).filter(Boolean), +process.argv[4]];
const runs = (side, model, b, t) => [...Array(rounds).keys()].map((r) =>
  JSON.parse(fs.readFileSync(`${tmp}/${side}.${model}.${b}.${t}.${r + 1}`, 'utf8').trim()));
const best = (rs) => rs.reduce((a, x) => (x.median_us < a.median_us ? x : a));
const f = (x, d = x < 10 ? 2 : 1) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
console.log('\n| model | batch | threads | Plexus median µs | ORT median µs | ORT / Plexus | Plexus p99 µs | ' +
  'ORT p99 µs | Plexus samples/s | ORT samples/s | round medians µs (Plexus; ORT) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const row = (label, side, model, b, t) => {
  const pr = runs(side, model, b, t), or = runs('ort', model, b, t), p = best(pr), o = best(or);
  const sps = (x) => (b > 1 ? f(b * 1e6 / x.median_us, 0) : '');
  const rs = (xs) => xs.map((x) => f(x.median_us)).join(' / ');
  console.log(`| ${label} | ${b} | ${t} | ${f(p.median_us)} | ${f(o.median_us)} | ${f(o.median_us / p.median_us, 2)} | ` +
    `${f(p.p99_us)} | ${f(o.p99_us)} | ${sps(p)} | ${sps(o)} | ${rs(pr)}; ${rs(or)} |`);
};
for (const t of threads) {
  row('answer (4.71M)', 'plexus', 'answer', 1, t);
  row('answer, Plexus HalfPredictor', 'half', 'answer', 1, t);
  row('answer, Plexus Int8Predictor', 'int8', 'answer', 1, t);
  row('answer (4.71M)', 'plexus', 'answer', 256, t);
  row('answer, Plexus Int8Predictor', 'int8', 'answer', 256, t);
  row('tiny Dense(9→9): call overhead', 'plexus', 'tiny', 1, t);
}
EOF
