#!/usr/bin/env bash
# bench/latency.sh — `make bench-latency`: microseconds per solve of tiny least-squares problems
# at batch 1, 16, 256, 1024 (bench/latency.c: dopt, one batched problem per size, the analysis
# reused; bench/latency_ceres.cpp: Ceres 2.x, the same problems built up front and solved one
# after another, DENSE_NORMAL_CHOLESKY, 1 thread).  Cases: curve_fit (2 parameters, 20 samples),
# pgo2d_10 (10 SE2 poses, 13 edges).  Lines:
#   bench latency <case> batch=B dopt_us=X ceres_us=Y ratio=X/Y dopt_iterations=.. ceres_iterations=..
#         dopt_setup_us=.. ceres_setup_us=..      (setup: problem + solver creation, per problem)
# LATENCY_REPS (default 20) repetitions per size (a quarter for B >= 256); the best is kept.
# LATENCY_ROUNDS (default 3): the two programs run alternately that many times and each keeps its
# best per case and batch (a shared machine's load comes and goes).  Times are process CPU time
# (DOPT_BENCH_CPU_TIME=1, the default here; 0 for the wall clock).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
REPS=${LATENCY_REPS:-20}
bench_apt libceres-dev libeigen3-dev libopenblas0 g++
cc $(bench_cflags) bench/latency.c -o "$BENCH_DIR/latency" -lm
if [ ! -x "$BENCH_DIR/latency_ceres" ] || [ bench/latency_ceres.cpp -nt "$BENCH_DIR/latency_ceres" ] ||
   [ bench/latency_data.h -nt "$BENCH_DIR/latency_ceres" ]; then
    g++ -std=c++17 -O3 -march=native -DNDEBUG -I/usr/include/eigen3 -Ibench bench/latency_ceres.cpp \
        -o "$BENCH_DIR/latency_ceres" -lceres -lglog -lgflags
fi
export DOPT_BENCH_CPU_TIME=${DOPT_BENCH_CPU_TIME:-1}
ROUNDS=${LATENCY_ROUNDS:-3}
echo "# dopt: LM (dopt defaults), dense Cholesky, analytic Jacobians; ceres $(sed -n 's/.*CERES_VERSION_\(MAJOR\|MINOR\|REVISION\) \([0-9]*\).*/\2/p' /usr/include/ceres/version.h | paste -sd.): LM, DENSE_NORMAL_CHOLESKY, autodiff, 1 thread; $(getconf _NPROCESSORS_ONLN) cores, best of $REPS, $ROUNDS alternating rounds, cpu_time=$DOPT_BENCH_CPU_TIME"
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
# best_of OLD NEW: per (case, batch), the line with the smaller us_per_solve
best_of() {
    awk 'function k(l) { match(l, / case=[^ ]* batch=[^ ]* /); return substr(l, RSTART, RLENGTH) }
         function t(l) { match(l, / us_per_solve=[^ ]*/); return substr(l, RSTART + 14, RLENGTH - 14) + 0 }
         NR == FNR { if ($0 != "") { old[k(" " $0)] = $0; order[++n] = k(" " $0) } next }
         { key = k(" " $0); if (!(key in old)) { old[key] = $0; order[++n] = key }
           else if (t(" " $0) < t(" " old[key])) old[key] = $0 }
         END { for (i = 1; i <= n; ++i) print old[order[i]] }' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}
D="" C=""
for ((r = 0; r < ROUNDS; r++)); do
    D=$(best_of "$D" "$("$BENCH_DIR/latency" --reps "$REPS")")
    C=$(best_of "$C" "$(env LD_PRELOAD=libopenblas.so.0 "$BENCH_DIR/latency_ceres" --reps "$REPS")")
done
while read -r dl; do
    case=$(kv case "$dl"); b=$(kv batch "$dl")
    cl=$(grep " case=$case batch=$b " <<<"$C" || true)
    du=$(kv us_per_solve "$dl"); cu=$(kv us_per_solve "$cl")
    ratio=$(awk -v a="$du" -v c="$cu" 'BEGIN{ if (c > 0) printf "%.3f", a / c; else print "na" }')
    echo "bench latency $case batch=$b dopt_us=$du ceres_us=${cu:-na} ratio=$ratio dopt_iterations=$(kv iterations "$dl") ceres_iterations=$(kv iterations "$cl") dopt_setup_us=$(kv setup_us "$dl") ceres_setup_us=$(kv setup_us "$cl") kernel_family=$(kv kernel_family "$dl")"
done <<<"$D"
