#!/usr/bin/env bash
# bench/constrained.sh — `make bench-constrained`: bound-constrained least squares, dopt's
# projected LM (CONSTRAINED LEAST SQUARES in dopt.h) against Ceres with parameter bounds.
#   curve_fit   y = a exp(-b t) + c on 2000 points, 0 <= b <= 0.5 active at the solution
#               (bench/constrained_data.h; both sides: analytic Jacobians, LM, dense linear
#               algebra, one thread, function / gradient tolerance 1e-10, 200 solves from the
#               same start, best of 5 rounds, per-solve time)
# Lines: bench constrained curve_fit solver=dopt|ceres iterations=.. final_cost=.. time_s=..
#        bench constrained curve_fit ratio=<dopt / ceres time> cost_dopt=.. cost_ceres=..
#              cost_ratio=<dopt / ceres final cost> target_ratio=0.5
# Not here yet: the pose graph with 10% of its translations boxed (dopt's bounds hold Euclidean
# variables; a boxed SE(3) translation needs the pose split into R^3 x SO(3)).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
bench_apt libceres-dev libeigen3-dev g++
CFLAGS_D=$(bench_cflags)
cc $CFLAGS_D -Wall -Wextra bench/constrained_dopt.c -o "$BENCH_DIR/constrained_dopt" -lm
g++ -std=c++17 -O3 -march=native -DNDEBUG -I/usr/include/eigen3 -Ibench bench/constrained_ceres.cpp \
    -o "$BENCH_DIR/constrained_ceres" -lceres -lglog -lgflags
echo "# anchors: ceres $(sed -n 's/.*CERES_VERSION_\(MAJOR\|MINOR\|REVISION\) \([0-9]*\).*/\2/p' /usr/include/ceres/version.h | paste -sd.) (LM, DENSE_QR, SetParameterLower/UpperBound, 1 thread); kernel family: dopt dense Cholesky (dopt_linear_solver_dense)"
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
d=$("$BENCH_DIR/constrained_dopt" | grep '^result ')
c=$("$BENCH_DIR/constrained_ceres" | grep '^result ')
echo "bench constrained curve_fit ${d#result }"
echo "bench constrained curve_fit ${c#result }"
td=$(kv time_s "$d"); tc=$(kv time_s "$c"); fd=$(kv final_cost "$d"); fc=$(kv final_cost "$c")
echo "bench constrained curve_fit ratio=$(awk -v a="$td" -v b="$tc" 'BEGIN{printf "%.4f", a / b}') cost_dopt=$fd cost_ceres=$fc cost_ratio=$(awk -v a="$fd" -v b="$fc" 'BEGIN{printf "%.6f", a / b}') target_ratio=0.5"
