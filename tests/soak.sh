#!/usr/bin/env bash
# Soak test (outside ctest): trains `matrix_inverse train` for a long time
# with a checkpoint every 30 s and watches its resident memory. Prints the
# peak resident set (VmHWM) after the first minute and at the end, the
# current RSS over time, and fails if memory grew by more than 5% (plus
# 8 MiB of slack) between the two, or if training or a checkpoint failed.
#
#   tests/soak.sh [--minutes M] [--threads T] [--build DIR] [--keep DIR] [-- extra train flags]
#
# Default: 20 minutes, 2 threads, build/. Writes its files to a temporary
# folder (or --keep DIR) and prints a summary; exit status 0 when flat.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=20
threads=2
build=build
keep=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

exe="$build/examples/matrix_inverse/matrix_inverse"
if [ ! -x "$exe" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j "$(nproc)" --target matrix_inverse >/dev/null
fi
if [ -n "$keep" ]; then dir="$keep"; mkdir -p "$dir"; else dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT; fi

seconds=$((minutes * 60))
"$exe" train --seconds "$seconds" --threads "$threads" --checkpoint "$dir/ck.plx" --checkpoint-every 30 \
  --model "$dir/model.plx" --out "$dir/out" --log-every 60 "${extra[@]}" > "$dir/train.log" 2>&1 &
pid=$!

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status" 2>/dev/null || true; }
start_hwm="" end_hwm="" t=0 ck=0 last_m=""
echo "soak: ${minutes} min of 'matrix_inverse train --threads $threads', checkpoint every 30 s, files in $dir"
printf '%8s %12s %12s %12s\n' "minute" "RSS MiB" "peak MiB" "checkpoints"
while kill -0 "$pid" 2>/dev/null; do
  sleep 5
  t=$((t + 5))
  hwm="$(kib VmHWM)"
  [ -n "$hwm" ] || break
  end_hwm="$hwm"
  [ "$t" -eq 60 ] && start_hwm="$hwm"
  m="$(stat -c %Y "$dir/ck.plx" 2>/dev/null || true)"
  if [ -n "$m" ] && [ "$m" != "$last_m" ]; then ck=$((ck + 1)); last_m="$m"; fi
  if [ $((t % 60)) -eq 0 ]; then
    printf '%8d %12s %12s %12s\n' $((t / 60)) "$(mib "$(kib VmRSS)")" "$(mib "$hwm")" "$ck"
  fi
done
status=0
wait "$pid" || status=$?
tail -n 4 "$dir/train.log"
if [ "$status" -ne 0 ]; then echo "soak: FAILED: training exited with status $status (log: $dir/train.log)"; exit 1; fi
[ -n "$start_hwm" ] || { echo "soak: FAILED: the run ended within its first minute"; exit 1; }
"$exe" evaluate --model "$dir/ck.plx" > "$dir/eval_ck.txt" 2>&1 ||
  { echo "soak: FAILED: the last checkpoint does not load"; cat "$dir/eval_ck.txt"; exit 1; }
echo "soak: peak resident memory after 1 min: $(mib "$start_hwm") MiB, at the end ($minutes min): $(mib "$end_hwm") MiB"
limit=$((start_hwm + start_hwm / 20 + 8192))
if [ "$end_hwm" -gt "$limit" ]; then
  echo "soak: FAILED: memory grew (more than 5% + 8 MiB)"
  exit 1
fi
echo "soak: flat; the last checkpoint loads"
