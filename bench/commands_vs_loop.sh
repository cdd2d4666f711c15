#!/usr/bin/env bash
# matrix_inverse's training commands against the bare training loop: `answer` and `train` beside
# plexus_compare --recipe answer|train (train_step on generated batches, nothing else) for the same
# network, precision, batch and threads, in alternation (R rounds, best of each side kept).
# The command's steady rate is its "after them" figure (the steps after its first 10); its whole
# rate counts every step; its wall rate counts its held-out evaluations and printing too.
#
#   bench/commands_vs_loop.sh [--rounds R] [--threads T] [--answer-steps N] [--train-steps N] [--build DIR]
#
# Builds nothing: DIR (default build) must hold bench/plexus_compare and
# examples/matrix_inverse/matrix_inverse (cmake --build DIR --target plexus_compare matrix_inverse).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 threads="$(nproc)" answer_steps=40 train_steps=1500 build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --answer-steps) answer_steps="$2"; shift 2 ;;
    --train-steps) train_steps="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "commands_vs_loop.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
loop="$build/bench/plexus_compare" cmd="$build/examples/matrix_inverse/matrix_inverse"
for b in "$loop" "$cmd"; do
  [ -x "$b" ] || { echo "commands_vs_loop.sh: $b not found; cmake --build $build --target plexus_compare matrix_inverse" >&2; exit 2; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Each side gets the same explicit settings: the commands' defaults at 3 x 3 written out, so that a
# change of a default cannot make the two sides differ.
precision=f32
"$loop" --recipe train --steps 1 --warmup 0 --predict-calls 1 --gemm 0 --peak 0 --precision bf16 --width 8 --growth 8 \
  --blocks 1 --gate relu --batch 8 --micro-batch 8 | grep -q '^bf16_emulated=0' && precision=bf16
declare -A net=(
  [answer]="--width 128 --growth 256 --blocks 7 --layers 4"
  [train]="--width 128 --growth 32 --blocks 7 --layers 4 --gate relu"
)
declare -A batch=([answer]=1024 [train]=512) micro=([answer]=512 [train]=256) steps=([answer]=$answer_steps [train]=$train_steps)
declare -A prec=([answer]=f32 [train]=$precision)

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: $0 --rounds $rounds --threads $threads --answer-steps $answer_steps --train-steps $train_steps"
for r in $(seq "$rounds"); do
  for recipe in answer train; do
    b=${batch[$recipe]} m=${micro[$recipe]} n=${steps[$recipe]} p=${prec[$recipe]}
    # shellcheck disable=SC2086
    "$loop" --recipe "$recipe" ${net[$recipe]} --threads "$threads" --steps "$n" --warmup 10 --batch "$b" \
      --micro-batch "$m" --precision "$p" --predict-calls 1 --gemm 0 --peak 0 > "$tmp/loop.$recipe.$r"
    # shellcheck disable=SC2086
    "$cmd" "$recipe" ${net[$recipe]} --threads "$threads" --samples $(((n + 10) * b)) --batch "$b" \
      --micro-batch "$m" --precision "$p" --eval-samples 200 > "$tmp/cmd.$recipe.$r" 2>&1
  done
done

echo
echo "| command | network | precision | batch (parts) | loop samples/s | command, steady | / loop | command, every step | / loop | command, wall | / loop | first 10 steps s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for recipe in answer train; do
  best_loop=0 best_steady=0 best_whole=0 best_wall=0 first=""
  for r in $(seq "$rounds"); do
    l=$(sed -n 's/^train_samples_per_s=//p' "$tmp/loop.$recipe.$r")
    line=$(grep '^trained ' "$tmp/cmd.$recipe.$r") || { cat "$tmp/cmd.$recipe.$r" >&2; exit 1; }
    whole=$(sed 's/.*training steps (\([0-9.]*\) samples\/s).*/\1/' <<< "$line")
    samples=$(awk '{print $2}' <<< "$line")
    wall=$(sed 's/.*, \([0-9.]*\) s wall.*/\1/' <<< "$line")
    steady=$(sed -n 's/.*after them \([0-9.]*\) samples\/s.*/\1/p' "$tmp/cmd.$recipe.$r")
    f=$(sed -n 's/^the first 10 steps took \([0-9.]*\) s.*/\1/p' "$tmp/cmd.$recipe.$r")
    best_loop=$(awk -v a="$best_loop" -v b="$l" 'BEGIN{print (b > a ? b : a)}')
    if awk -v a="$best_steady" -v b="$steady" 'BEGIN{exit !(b > a)}'; then best_steady=$steady first=$f; fi
    best_whole=$(awk -v a="$best_whole" -v b="$whole" 'BEGIN{print (b > a ? b : a)}')
    best_wall=$(awk -v a="$best_wall" -v s="$samples" -v w="$wall" 'BEGIN{x = s / w; print (x > a ? x : a)}')
  done
  awk -v c="$recipe" -v net="${net[$recipe]}" -v p="${prec[$recipe]}" -v b="${batch[$recipe]}" -v m="${micro[$recipe]}" \
    -v l="$best_loop" -v s="$best_steady" -v w="$best_whole" -v wa="$best_wall" -v f="$first" \
    'BEGIN{printf "| %s | %s | %s | %d (%d) | %.0f | %.0f | %.3f | %.0f | %.3f | %.0f | %.3f | %s |\n",
           c, net, p, b, m, l, s, s / l, w, w / l, wa, wa / l, f}'
done
