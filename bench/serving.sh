#!/usr/bin/env bash
# Many callers at once on one network, three engines in one run: Plexus
# (plexus_serving: one shared const Network), LibTorch (plexus_torch_serving:
# one shared module under c10::InferenceMode) and ONNX Runtime (ort_run.js
# serve: one shared session, and worker_threads with a session each), one
# after the other, on the same network with the same weights (plexus_serving
# writes them for the other two and exports the ONNX file; both check their
# outputs against Plexus' first). Prints the CPU, load, engines and one
# markdown table: each side against its own ideal (cores x its own serial
# rate) and against Plexus' ideal, so that the sides compare on one scale.
#
#   bench/serving.sh [--seconds S] [--callers 1,2,8,32] [--batches 1,64] [--build DIR]
#
# Builds nothing: DIR (default build) must hold bench/plexus_serving and
# bench/plexus_torch_serving (cmake --build DIR --target plexus_serving plexus_torch_serving).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=2 callers=1,2,8,32 batches=1,64 build=build
die() { echo "serving.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || case "$1" in -h|--help) ;; *) die "$1 needs a value (see --help)" ;; esac
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --callers) callers="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] && [ "$seconds" -le 600 ] ||
  die "--seconds needs an integer in [1, 600], got '$seconds'"
for l in "$callers" "$batches"; do
  [[ "$l" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--callers and --batches need lists like 1,2,8, got '$l'"
done
plexus="$build/bench/plexus_serving" torch="$build/bench/plexus_torch_serving"
for b in "$plexus" "$torch"; do
  [ -x "$b" ] || die "$b not found; build it: cmake --build $build --target plexus_serving plexus_torch_serving"
done
tools/onnx/install.sh

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
flags=(--seconds "$seconds" --callers "$callers" --batches "$batches")
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p'))," \
     "$(nproc) cores, AVX-512: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no); load average: $(load)"
# LibTorch's Linear runs on whatever libblas.so.3 resolves to (Debian: an alternative).
blas="$(ldd "$torch" | sed -n 's/^[[:space:]]*libblas\.so\.3 => \([^ ]*\).*/\1/p')"
[ -z "$blas" ] || blas="$(readlink -f "$blas")"
pkg="$( [ -n "$blas" ] && dpkg-query -S "$blas" 2>/dev/null | cut -d: -f1 || true)"
echo "LibTorch's BLAS: ${blas:-none linked}${pkg:+ (package $pkg)}"
echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "command: $0 ${flags[*]} --build $build"
echo

# Plexus first: it writes the weights and the ONNX file the others load.
"$plexus" "${flags[@]}" --init-out "$tmp/weights.init" --export-onnx "$tmp/answer.onnx" | tee "$tmp/plexus.md"
echo
"$torch" "${flags[@]}" --init "$tmp/weights.init" | tee "$tmp/torch.md"
echo
node tools/onnx/ort_run.js serve "$tmp/answer.onnx" --width 9 "${flags[@]}" --expect "$tmp/weights.init" |
  tee "$tmp/ort.md"
echo
echo "load average at the end: $(load)"
echo

node - "$tmp" <<'EOF_NODE'
const fs = require('fs');
const tmp = process.argv[2];
const sides = [['Plexus', 'plexus.md'], ['LibTorch', 'torch.md'], ['ORT', 'ort.md']];
const rows = [];
const ideals = {};  // engine -> batch -> ideal calls/s
sides.forEach(([engine, file], e) => {
  ideals[engine] = {};
  for (const line of fs.readFileSync(`${tmp}/${file}`, 'utf8').split('\n')) {
    if (!/^\| [0-9]/.test(line)) continue;
    const [batch, callers, mode, calls, ideal, median, p99, tail] = line.split('|').slice(1, 9).map((s) => s.trim());
    const serial = ideal.startsWith('ideal ');
    if (serial) ideals[engine][batch] = +ideal.slice(6);
    rows.push({ engine, e, batch: +batch, callers: +callers, mode, calls: +calls, ideal, median, p99, tail, serial });
  }
});
for (const [engine] of sides) {
  if (!Object.keys(ideals[engine]).length) throw new Error(`no rows from ${engine}`);
}
rows.sort((a, b) => a.batch - b.batch || a.callers - b.callers || b.serial - a.serial || a.e - b.e);
console.log('| batch | callers | engine | mode | calls/s | / own ideal | / Plexus ideal | median µs | p99 µs | ' +
  'p99 / own serial median |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const vsPlexus = (r.calls / ideals.Plexus[r.batch]).toFixed(2);
  console.log(`| ${r.batch} | ${r.callers} | ${r.engine} | ${r.mode} | ${r.calls} | ${r.ideal} | ${vsPlexus} | ` +
    `${r.median} | ${r.p99} | ${r.tail} |`);
}
EOF_NODE
