#!/usr/bin/env bash
# predict and evaluate --views K, end to end: the views are fixed exact maps
# around the network, not a solver, so a model trained on only 2,048 samples
# still leaves a median r above 0.3 with the default views; K = 1 is the
# network once (train's own "network once" figure); predictions are
# reproducible (run after run, any thread count) from the table the model
# records; a bad K is refused.
MAKE_INPUTS="$3"
source "$(dirname "$0")/common.sh"
"$MAKE_INPUTS" "$WORK" || fail "make_inputs"

# median LABEL FILE: the median r of the metrics line labelled LABEL
median() { sed -n -E "s/^$1: [0-9]+ matrices, median r = ([0-9.]+),.*/\1/p" "$2"; }

# The question's budget: 2,048 samples of the default network.
# (2,000 held-out matrices, as evaluate below, keep the run short under a
# sanitizer: the final figures average 64 views of each.)
"$MI" train --samples 2048 --seed 1 --eval-samples 2000 --model q.plx > train.txt 2>&1 || fail "train --samples 2048: $(cat train.txt)"
grep -aq "views.table" q.plx || fail "the model file records no views.table"
"$MI" evaluate --model q.plx --samples 2000 > ev.txt 2>&1 || fail "evaluate: $(cat ev.txt)"
m=$(median "held-out, [0-9]+ views" ev.txt)
[ -n "$m" ] || fail "evaluate printed no averaged median: $(cat ev.txt)"
awk -v m="$m" 'BEGIN { exit !(m > 0.3) }' || fail "2,048 samples and the default views gave median r $m <= 0.3"
echo "2048 samples, default views: median r $m"
grep -Eq "^predict time per matrix, [0-9]+ views, [0-9]+ threads: [0-9.]+ us in batches \(2000 matrices\), [0-9.]+ us one matrix at a time \(200 matrices\)" ev.txt \
  || fail "evaluate printed no timing: $(cat ev.txt)"

# the same at 5 x 5 (Charton's distribution): 2,048 samples still fail with the default views
# (fewer held-out matrices: a 5x5 model's default is 256 views of each)
"$MI" train --size 5 --samples 2048 --seed 1 --eval-samples 200 --model q5.plx > train5.txt 2>&1 || fail "train --size 5 --samples 2048: $(cat train5.txt)"
"$MI" evaluate --model q5.plx --samples 500 > ev5.txt 2>&1 || fail "evaluate 5x5: $(cat ev5.txt)"
m5=$(median "held-out, [0-9]+ views" ev5.txt)
[ -n "$m5" ] || fail "evaluate 5x5 printed no averaged median: $(cat ev5.txt)"
awk -v m="$m5" 'BEGIN { exit !(m > 0.3) }' || fail "5x5: 2,048 samples and the default views gave median r $m5 <= 0.3"
grep -q "5x5 matrices" ev5.txt || fail "evaluate does not say the model's size: $(cat ev5.txt)"
grep -Eq "Charton's e = sum \|AX - I\| / 5: share e < 0.05 = [0-9.]+%" ev5.txt || fail "no Charton measure: $(cat ev5.txt)"
echo "5x5, 2048 samples, default views: median r $m5"

# K = 1: the network once, the very figure train printed
"$MI" evaluate --model q.plx --samples 2000 --views 1 > ev1.txt 2>&1 || fail "evaluate --views 1: $(cat ev1.txt)"
once=$(median "held-out, network once" train.txt)
[ -n "$once" ] && [ "$(median "held-out, 1 view" ev1.txt)" = "$once" ] \
  || fail "evaluate --views 1 ($(median "held-out, 1 view" ev1.txt)) is not train's network once ($once)"
grep -q "network once" ev1.txt && fail "evaluate --views 1 printed a second, single-view line"

# reproducible: the same K gives the same file, whatever the thread count; another K another file
"$MI" predict --model q.plx --input good9_f64.npy --output v8a.npy --views 8 --threads 1 > /dev/null || fail "predict --views 8"
"$MI" predict --model q.plx --input good9_f64.npy --output v8b.npy --views 8 --threads 2 > /dev/null || fail "predict --views 8"
cmp v8a.npy v8b.npy || fail "predict --views 8 differs between runs / thread counts"
"$MI" predict --model q.plx --input good9_f64.npy --output v1.npy --views 1 > /dev/null || fail "predict --views 1"
cmp -s v1.npy v8a.npy && fail "--views 1 and --views 8 gave the same predictions"
"$MI" predict --model q.plx --input good9_f64.npy --output vd.npy > vd.txt || fail "predict"
grep -q "(64 views)" vd.txt || fail "predict's default is not the model's views.default: $(cat vd.txt)"

# a bad K: exit 2 and one line naming the flag
for k in 0 73 257 -1 1.5 abc ""; do  # 73: past the 72 views of the model's table; 257: past any table
  for cmd in "predict --model q.plx --input good9_f64.npy --output bad.npy" "evaluate --model q.plx"; do
    set +e
    # shellcheck disable=SC2086
    "$MI" $cmd --views "$k" > out.txt 2> err.txt
    code=$?
    set -e
    [ "$code" -eq 2 ] || fail "$cmd --views '$k' exited $code: $(cat err.txt)"
    grep -q -- "--views" err.txt || fail "$cmd --views '$k': $(cat err.txt)"
  done
done
[ ! -f bad.npy ] || fail "a refused --views wrote predictions"
echo PASS
