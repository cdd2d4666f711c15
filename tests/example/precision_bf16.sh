#!/usr/bin/env bash
# --precision bf16 (answer, train): a float network trained with bf16
# products. It says which engine runs them and whether they are emulated,
# records bf16 in the model file's metadata, gives byte-identical models for
# any thread count, differs from f32, and question refuses it; --precision
# auto (train's default) is bf16 only where the engine has bf16 instructions.
source "$(dirname "$0")/common.sh"
TINY=(--width 16 --growth 8 --blocks 1 --layers 2 --batch 256 --samples 8192 --seed 5)
run() {  # run LOG ARGS...: matrix_inverse ARGS... > LOG (stdout and stderr)
  local log="$1"; shift
  "$MI" "$@" > "$log" 2>&1 || fail "matrix_inverse $* failed: $(cat "$log")"
}
# The metadata entry "precision" followed by its value (length-prefixed strings).
has_meta() { LC_ALL=C grep -a -q -P "precision[\x00-\x10]{1,8}$2" "$1"; }

run b1.log train --precision bf16 "${TINY[@]}" --threads 1 --model b1.plx
run b2.log train --precision bf16 "${TINY[@]}" --threads 2 --model b2.plx
run b3.log train --precision bf16 "${TINY[@]}" --threads 3 --model b3.plx
run f1.log train --precision f32 "${TINY[@]}" --threads 2 --model f1.plx
grep -q "^bf16 products on engine " b1.log || fail "train --precision bf16 does not say so: $(cat b1.log)"
grep -q "^bf16 products" f1.log && fail "an f32 run speaks of bf16: $(cat f1.log)"
cmp b1.plx b2.plx || fail "bf16: threads 1 and 2 differ"
cmp b1.plx b3.plx || fail "bf16: threads 1 and 3 differ"
cmp -s b1.plx f1.plx && fail "bf16 and f32 gave the same model"
has_meta b1.plx bf16 || fail "the bf16 model's metadata does not record precision bf16"
has_meta f1.plx f32 || fail "the f32 model's metadata does not record precision f32"
has_meta f1.plx bf16 && fail "the f32 model's metadata says bf16"
# the bf16 model is a float model like any other
run e.log evaluate --model b1.plx --samples 500
grep -q "median r" e.log || fail "evaluate on the bf16 model: $(cat e.log)"

# an engine without bf16 instructions runs them emulated, and says so
if PLEXUS_ENGINE=avx512 "$MI" train --precision bf16 "${TINY[@]}" > em.log 2>&1; then
  grep -q "^bf16 products on engine avx512 (emulated" em.log || fail "avx512: no 'emulated': $(cat em.log)"
fi
PLEXUS_ENGINE=generic "$MI" answer --precision bf16 "${TINY[@]}" > gen.log 2>&1 || fail "generic bf16: $(cat gen.log)"
grep -q "^bf16 products on engine generic (emulated" gen.log || fail "generic: no 'emulated': $(cat gen.log)"
# the engine that has them does not say emulated
if grep -q avx512_bf16 /proc/cpuinfo; then
  PLEXUS_ENGINE=avx512_bf16 "$MI" train --precision bf16 "${TINY[@]}" > hw.log 2>&1 || fail "avx512_bf16: $(cat hw.log)"
  grep -q "^bf16 products on engine avx512_bf16$" hw.log || fail "avx512_bf16: $(cat hw.log)"
fi

# --precision auto (train's default): bf16 on an engine with bf16
# instructions, f32 on one without, recorded as what it resolved to
PLEXUS_ENGINE=generic "$MI" train "${TINY[@]}" --model ag.plx > ag.log 2>&1 || fail "auto on generic: $(cat ag.log)"
grep -q "^bf16 products" ag.log && fail "auto chose bf16 on the generic engine: $(cat ag.log)"
has_meta ag.plx f32 || fail "auto on generic did not record f32"
if grep -q avx512_bf16 /proc/cpuinfo; then
  PLEXUS_ENGINE=avx512_bf16 "$MI" train "${TINY[@]}" --model ah.plx > ah.log 2>&1 || fail "auto: $(cat ah.log)"
  grep -q "^bf16 products on engine avx512_bf16$" ah.log || fail "auto did not choose bf16 on avx512_bf16: $(cat ah.log)"
  has_meta ah.plx bf16 || fail "auto on avx512_bf16 did not record bf16"
  cmp ah.plx b1.plx || fail "auto on avx512_bf16 is not --precision bf16"
fi
"$MI" question --precision auto --epochs 1 > qa.log 2>&1 || fail "question --precision auto: $(cat qa.log)"

# question trains in f32 or f64 only
if "$MI" question --precision bf16 --epochs 1 > q.log 2>&1; then fail "question accepted --precision bf16"; fi
grep -q "precision bf16 is for answer and train" q.log || fail "question's refusal: $(cat q.log)"
echo PASS
