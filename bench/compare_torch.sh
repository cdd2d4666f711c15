#!/usr/bin/env bash
# Side by side, in one run: Plexus and PyTorch train the answer's network
# (4.71M parameters, float32, batch 1024, Adam, MSE) for the same number of
# steps, then time batch-1 prediction, peak resident memory and the sgemm
# ceiling. Prints samples/s of each, their ratio and the share of the limit
# that the best measured 2048^3 sgemm allows (6 FLOP per weight per sample).
#
#   bench/compare_torch.sh [--threads "1 2"] [--steps N] [--rounds R] [--build DIR]
#
# Installs python3-torch and libopenblas0-openmp when missing (Debian). The
# rounds alternate Plexus and PyTorch and the best round of each is kept, so
# a noisy neighbour hurts both alike. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

threads="2"
steps=20
rounds=2
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_torch.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

source tools/deps.sh
plexus_install_missing "${PLEXUS_BASE_PACKAGES[@]}" libbenchmark-dev python3-torch libopenblas0-openmp
py=/usr/bin/python3

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target plexus_compare >/dev/null
compare="$build/bench/plexus_compare"

# Debian's OpenBLAS picks its kernels by CPU model; on CPUs newer than it
# knows it falls back to a generic SSE3 core ("Prescott") that is several
# times slower. Then PyTorch is also run with the core it should have
# picked, and the faster of the two is the anchor.
corename="$($py -c 'import ctypes; b = ctypes.CDLL("libopenblas.so.0"); b.openblas_get_corename.restype = ctypes.c_char_p; print(b.openblas_get_corename().decode())' 2>/dev/null || echo unknown)"
coretypes=("")
if [ "${corename,,}" = prescott ] || [ "${corename,,}" = core2 ]; then
  if grep -q avx512f /proc/cpuinfo; then coretypes+=("SkylakeX"); elif grep -q avx2 /proc/cpuinfo; then coretypes+=("Haswell"); fi
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "OpenBLAS detected core: $corename"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset (the OpenMP default)}"

for t in $threads; do
  for r in $(seq "$rounds"); do
    OMP_NUM_THREADS="$t" "$compare" --threads "$t" --steps "$steps" > "$tmp/plexus.$t.$r"
    for ct in "${coretypes[@]}"; do
      OMP_NUM_THREADS="$t" OPENBLAS_CORETYPE="$ct" $py bench/compare_torch.py --threads "$t" --steps "$steps" \
        > "$tmp/torch.$t.${ct:-auto}.$r"
    done
  done
done

$py - "$tmp" "$threads" "$steps" "${coretypes[@]:-}" <<'EOF'
import glob, os, sys
tmp, threads, steps = sys.argv[1], sys.argv[2].split(), sys.argv[3]
cores = [c for c in sys.argv[4:]] or [""]
def read(path):
    d = {}
    for line in open(path):
        if "=" in line:
            k, v = line.strip().split("=", 1)
            d[k] = v
    return d
def runs(pattern):
    return [read(p) for p in sorted(glob.glob(os.path.join(tmp, pattern)))]
print(f"{'threads':>7} {'':24} {'Plexus':>10} {'PyTorch':>10} {'ratio':>7}")
for t in threads:
    p = runs(f"plexus.{t}.*")
    # the best 2048^3 sgemm of each engine over all rounds; the ceiling is the best of them
    each = {k: max(float(r[f"sgemm_{k}_gflops"]) for r in p) for k in ("eigen", "plexus")}
    each["torch"] = max(float(r["sgemm_torch_gflops"]) for r in runs(f"torch.{t}.*"))
    ceiling = max(each.values())
    params = int(p[0]["params"])
    limit = ceiling * 1e9 / (6 * params)
    ps = max(float(r["train_samples_per_s"]) for r in p)
    pl = min(float(r["predict1_median_us"]) for r in p)
    ph = min(float(r["predict1_half_median_us"]) for r in p)
    hd = max(float(r["predict1_half_max_abs_diff"]) for r in p)
    ho = max(float(r["predict1_max_abs_output"]) for r in p)
    pm = max(float(r["train_peak_rss_mb"]) for r in p)
    for core in cores:
        tr = runs(f"torch.{t}.{core or 'auto'}.*")
        if not tr:
            continue
        ts = max(float(r["train_samples_per_s"]) for r in tr)
        tl = min(float(r["predict1_median_us"]) for r in tr)
        tm = max(float(r["train_peak_rss_mb"]) for r in tr)
        tag = f"(OpenBLAS core {core or 'auto'})"
        print(f"{t:>7} training samples/s        {ps:10.0f} {ts:10.0f} {ps / ts:7.2f}   {tag}")
        print(f"{t:>7} batch-1 predict, us       {pl:10.1f} {tl:10.1f} {tl / pl:7.2f}x faster")
        print(f"{t:>7}   with 16-bit weights, us {ph:10.1f} {tl:10.1f} {tl / ph:7.2f}x faster  "
              f"(HalfPredictor; outputs within {hd:.2g} of float's, |output| <= {ho:.2g})")
        print(f"{t:>7} peak RSS training, MB     {pm:10.0f} {tm:10.0f}")
    print(f"{t:>7} sgemm 2048^3 ceiling: {ceiling:.1f} GFLOP/s (best of Eigen {each['eigen']:.1f}, "
          f"Plexus' driver {each['plexus']:.1f}, PyTorch/OpenBLAS {each['torch']:.1f})")
    print(f"{t:>7} Plexus: {ps:.0f} samples/s = {ps / limit:.2f} of the limit {limit:.0f} samples/s "
          f"({params} weights x 6 FLOP per sample)")
EOF
