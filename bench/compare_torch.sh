#!/usr/bin/env bash
# Side by side, in one run: Plexus, PyTorch (Python) and, where it was
# built, the LibTorch C++ twin train the answer's network (4.71M
# parameters, batch 1024, Adam, MSE) for the same number of steps, in fp32
# and in bf16 (Plexus: Precision::bf16 products; torch: the forward under
# CPU autocast to bfloat16), all three from the same initial weights; then
# batch-1 prediction, the net peak memory of training (peak RSS minus the
# RSS before the network was made) and the 2048^3 product rates.
#
#   bench/compare_torch.sh [--threads "1 2"] [--steps N] [--rounds R] [--precisions "f32 bf16"] [--build DIR]
#                          [--keep DIR]   (keep every program's key=value output there)
#
# First a check: plexus_compare writes its initial weights and first batch
# (--init-out), the torch sides load them and report their first step's
# loss, which must equal Plexus' (fp32: within 1e-5 relative, or the script
# fails; bf16: printed, the two round differently). Then the rounds
# alternate the contenders and the best round of each is kept, so a noisy
# neighbour hurts all alike. Installs python3-torch and libopenblas0-openmp
# when missing (Debian); the LibTorch twin needs libtorch-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

threads="2"
steps=20
rounds=2
precisions="f32 bf16"
build=build
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --precisions) precisions="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_torch.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for p in $precisions; do
  case "$p" in f32|bf16) ;; *) echo "compare_torch.sh: --precisions takes f32 and/or bf16, got '$p'" >&2; exit 2 ;; esac
done

source tools/deps.sh
plexus_install_missing "${PLEXUS_BASE_PACKAGES[@]}" libbenchmark-dev python3-torch libopenblas0-openmp
py=/usr/bin/python3

# -march=native, as docs/performance.md's figures were measured (the folder
# may hold tools/run_tests.sh's configuration, which turns it off).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPLEXUS_NATIVE=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target plexus_compare >/dev/null
compare="$build/bench/plexus_compare"
twin=""
targets="$(cmake --build "$build" --target help)"  # (not piped into grep -q: pipefail would see a broken pipe)
if grep -q plexus_torch_twin <<< "$targets"; then
  cmake --build "$build" -j "$(nproc)" --target plexus_torch_twin >/dev/null
  twin="$build/bench/plexus_torch_twin"
else
  echo "LibTorch twin: not built (no LibTorch CMake package found; apt-get install libtorch-dev)"
fi

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
echo "Plexus engine: $("$compare" --steps 1 --warmup 1 --predict-calls 1 --gemm 0 --width 8 --growth 8 --blocks 0 | sed -n 's/^engine=//p')"

tmp="$(mktemp -d)"
trap '[ -n "$keep" ] && mkdir -p "$keep" && cp "$tmp"/check.* "$tmp"/plexus.* "$tmp"/torch.* "$keep"/ 2>/dev/null; [ -n "$keep" ] && cp "$tmp"/twin.* "$keep"/ 2>/dev/null; rm -rf "$tmp"' EXIT
echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset (the OpenMP default)}"

# The same start: Plexus' initial weights and first batch, its first loss.
t0="${threads%% *}"
for p in $precisions; do
  OMP_NUM_THREADS="$t0" "$compare" --threads "$t0" --precision "$p" --steps 1 --warmup 1 --predict-calls 1 --gemm 0 \
    --init-out "$tmp/init.$p" > "$tmp/check.plexus.$p"
  OMP_NUM_THREADS="$t0" $py bench/compare_torch.py --threads "$t0" --precision "$p" --steps 1 --warmup 1 \
    --predict-calls 1 --gemm 0 --init "$tmp/init.$p" > "$tmp/check.torch.$p"
  if [ -n "$twin" ]; then
    OMP_NUM_THREADS="$t0" "$twin" --threads "$t0" --precision "$p" --steps 1 --warmup 1 --predict-calls 1 \
      --init "$tmp/init.$p" > "$tmp/check.twin.$p"
  fi
done

for t in $threads; do
  for r in $(seq "$rounds"); do
    for p in $precisions; do
      OMP_NUM_THREADS="$t" "$compare" --threads "$t" --precision "$p" --steps "$steps" > "$tmp/plexus.$t.$p.$r"
      for ct in "${coretypes[@]}"; do
        OMP_NUM_THREADS="$t" OPENBLAS_CORETYPE="$ct" $py bench/compare_torch.py --threads "$t" --precision "$p" \
          --steps "$steps" --init "$tmp/init.$p" > "$tmp/torch.$t.$p.${ct:-auto}.$r"
      done
      if [ -n "$twin" ]; then
        OMP_NUM_THREADS="$t" "$twin" --threads "$t" --precision "$p" --steps "$steps" --init "$tmp/init.$p" \
          > "$tmp/twin.$t.$p.$r"
      fi
    done
  done
done

$py - "$tmp" "$threads" "$precisions" "${coretypes[@]:-}" <<'EOF'
import glob, os, sys
tmp, threads, precisions = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
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
def best(rs, key, f=max):
    return f(float(r[key]) for r in rs) if rs and key in rs[0] else float("nan")

failed = False
print("first step's loss from the same weights on Plexus' first batch:")
for p in precisions:
    pl = float(read(f"{tmp}/check.plexus.{p}")["train_first_loss"])
    line = f"  {p:4}  Plexus {pl:.9g}"
    for side in ("torch", "twin"):
        path = f"{tmp}/check.{side}.{p}"
        if not os.path.exists(path):
            continue
        d = read(path)
        v = float(d["train_first_loss"])
        rel = abs(v - pl) / abs(pl)
        name = "PyTorch" if side == "torch" else "LibTorch"
        line += f"   {name} {v:.9g} (relative difference {rel:.2g})"
        if p == "f32" and not rel <= 1e-5:
            failed = True
    print(line)
if failed:
    print("FAIL: the fp32 first losses differ by more than 1e-5: the sides do not start from the same weights")

print(f"\n{'threads':>7} {'precision':>9} {'':22} {'Plexus':>10} {'PyTorch':>10} {'LibTorch':>10} "
      f"{'P/PyT':>6} {'P/LibT':>6}")
for t in threads:
    for p in precisions:
        pr = runs(f"plexus.{t}.{p}.*")
        tw = runs(f"twin.{t}.{p}.*")
        for core in cores:
            tr = runs(f"torch.{t}.{p}.{core or 'auto'}.*")
            if not tr:
                continue
            ps, ts, ws = (best(x, "train_samples_per_s") for x in (pr, tr, tw))
            tag = f"(OpenBLAS core {core or 'auto'})" if len(cores) > 1 else ""
            print(f"{t:>7} {p:>9} training samples/s     {ps:10.0f} {ts:10.0f} {ws:10.0f} {ps / ts:6.2f} "
                  f"{ps / ws:6.2f} {tag}")
            pm, tm, wm = (best(x, "train_rss_delta_mb") for x in (pr, tr, tw))
            print(f"{t:>7} {p:>9} net peak memory, MB    {pm:10.0f} {tm:10.0f} {wm:10.0f}   (peak RSS - RSS before "
                  f"the network)")
            if p == "f32" or "f32" not in precisions:
                pl, tl, wl = (best(x, "predict1_median_us", min) for x in (pr, tr, tw))
                ph = best(pr, "predict1_half_median_us", min)
                print(f"{t:>7} {'f32':>9} batch-1 predict, us    {pl:10.1f} {tl:10.1f} {wl:10.1f} {tl / pl:6.2f} "
                      f"{wl / pl:6.2f} x faster (torch: no_grad / InferenceMode)")
                print(f"{t:>7} {'':>9}   16-bit weights, us   {ph:10.1f} {'':10} {'':10} {tl / ph:6.2f} "
                      f"{wl / ph:6.2f} x faster (HalfPredictor)")
        if pr:
            print(f"{t:>7} {p:>9} Plexus engine {pr[0].get('engine', '?')}"
                  + (" (bf16 emulated)" if pr[0].get("bf16_emulated") == "1" else ""))
    pf = runs(f"plexus.{t}.f32.*") or runs(f"plexus.{t}.*")
    tf = runs(f"torch.{t}.f32.*") or runs(f"torch.{t}.*")
    each = {"eigen": best(pf, "sgemm_eigen_gflops"), "plexus": best(pf, "sgemm_plexus_gflops"),
            "torch": best(tf, "sgemm_torch_gflops")}
    ceiling = max(v for v in each.values() if v == v)
    params = int(pf[0]["params"])
    limit = ceiling * 1e9 / (6 * params)
    ps = best(runs(f"plexus.{t}.f32.*"), "train_samples_per_s")
    print(f"{t:>7} sgemm 2048^3 ceiling: {ceiling:.1f} GFLOP/s (best of Eigen {each['eigen']:.1f}, "
          f"Plexus' driver {each['plexus']:.1f}, PyTorch/OpenBLAS {each['torch']:.1f})")
    if ps == ps:
        print(f"{t:>7} Plexus fp32: {ps:.0f} samples/s = {ps / limit:.2f} of the limit {limit:.0f} samples/s "
              f"({params} weights x 6 FLOP per sample)")
    if "bf16" in precisions:
        pb, tb = runs(f"plexus.{t}.bf16.*"), runs(f"torch.{t}.bf16.*")
        gb, tgb = best(pb, "gemm_plexus_bf16_gflops"), best(tb, "gemm_torch_bf16_gflops")
        print(f"{t:>7} 2048^3 with bf16 operands: Plexus {gb:.1f} GFLOP/s ({gb / each['plexus']:.2f} x its fp32), "
              f"torch.mm on bfloat16 {tgb:.1f} GFLOP/s")
        sb = best(pb, "train_samples_per_s")
        if ps == ps and sb == sb:
            print(f"{t:>7} Plexus training bf16 / fp32: {sb / ps:.2f} x")
    # The register peak of t cores (plexus_compare's loop of independent multiply-adds, bench/peak.hpp)
    # and the fraction of it each precision's training step reaches.
    for p in precisions:
        rs = runs(f"plexus.{t}.{p}.*")
        peak = best(rs, f"peak_{p}_gflops")
        if rs and peak == peak and peak > 0:
            got = best(rs, "train_gflops")
            print(f"{t:>7} {p:>9} register peak {peak:.1f} GFLOP/s ({rs[0].get(f'peak_{p}_instruction', '?')}); "
                  f"Plexus' training step {got:.1f} GFLOP/s = {got / peak:.2f} of it")
sys.exit(1 if failed else 0)
EOF
