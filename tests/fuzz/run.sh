#!/usr/bin/env bash
# tests/fuzz/run.sh — what `make fuzz` runs: builds every tests/fuzz/fuzz_*.c with clang's
# libFuzzer under ASan + UBSan (float-cast-overflow included) and runs each for FUZZ_RUNS
# executions or FUZZ_TIME seconds, whichever comes first (defaults 1000000 and 600), on a
# working corpus in build/fuzz/<target>/ seeded from tests/fuzz/seeds_<target>/ (the seeds are
# never modified).  Prints one line per target: `fuzz <target> runs=N seconds=S result=ok|CRASH`
# and exits 1 on any crash (the input is saved in build/fuzz/<target>/crash-*; make it a
# regression test).  FUZZ_TARGETS="g2o mm" picks targets; FUZZ_JOBS runs targets side by side.
set -u
cd "$(dirname "$0")/../.."
RUNS=${FUZZ_RUNS:-1000000}
TIME=${FUZZ_TIME:-600}
OUT=build/fuzz
mkdir -p "$OUT"
if ! command -v clang >/dev/null 2>&1 || ! echo 'int LLVMFuzzerTestOneInput(const unsigned char*d,unsigned long n){(void)d;(void)n;return 0;}' |
        clang -x c -fsanitize=fuzzer - -o "$OUT/.probe" >/dev/null 2>&1; then
    echo "skip: make fuzz (clang with libFuzzer not available)"
    exit 0
fi
TARGETS=${FUZZ_TARGETS:-$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')}
FLAGS="-std=gnu99 -g -O1 -fsanitize=fuzzer,address,undefined,float-cast-overflow -fno-sanitize-recover=all -I."
status=0
for t in $TARGETS; do
    clang $FLAGS "tests/fuzz/fuzz_$t.c" -o "$OUT/fuzz_$t" -lm || { echo "fuzz $t result=BUILD-FAILED"; status=1; continue; }
done
run_one() {
    t=$1
    mkdir -p "$OUT/$t/corpus"
    ( cd "$OUT/$t" && ASAN_OPTIONS=detect_leaks=1 nice ./../fuzz_$t -runs="$RUNS" -max_total_time="$TIME" \
        -print_final_stats=1 corpus "../../../tests/fuzz/seeds_$t" > log.txt 2>&1 )
    rc=$?
    runs=$(grep -E '^stat::number_of_executed_units' "$OUT/$t/log.txt" | awk '{print $2}')
    secs=$(grep -E '^Done [0-9]+ runs in' "$OUT/$t/log.txt" | awk '{print $5}')
    if [ "$rc" = 0 ]; then echo "fuzz $t runs=${runs:-?} seconds=${secs:-?} result=ok"
    else echo "fuzz $t runs=${runs:-?} result=CRASH (see $OUT/$t/log.txt)"; grep -E 'ERROR|rule broken|runtime error' "$OUT/$t/log.txt" | head -5; return 1; fi
}
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    pids=""
    for t in $TARGETS; do [ -x "$OUT/fuzz_$t" ] && { run_one "$t" & pids="$pids $!"; }; done
    for p in $pids; do wait "$p" || status=1; done
else
    for t in $TARGETS; do [ -x "$OUT/fuzz_$t" ] && { run_one "$t" || status=1; }; done
fi
exit $status
