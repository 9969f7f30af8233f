#!/usr/bin/env bash
# bench/constrained.sh — `make bench-constrained`: bound-constrained least squares, dopt's
# projected LM (CONSTRAINED LEAST SQUARES in dopt.h) against Ceres with parameter bounds.  Every
# time is process CPU time (the machine is shared), the fastest of several runs.
#   curve_fit   y = a exp(-b t) + c on 2000 points, 0 <= b <= 0.5 active at the solution
#               (bench/constrained_data.h; both sides: analytic Jacobians, LM, dense linear
#               algebra, one thread, function / gradient tolerance 1e-10, 200 solves from the
#               same start, best of 5 rounds, per-solve time)
#   pgo_<name>  a pose graph with 10% of its translations boxed (bench/constrained_pgo.h: every
#               SE(3) pose split into a Euclidean translation and a quaternion rotation, as Ceres'
#               pose_graph_3d example does, so a box on a translation is an ordinary bound on both
#               sides; each boxed pose's translation within +-0.02 of its start; pose 0 fixed;
#               Ceres' example residual; LM, sparse Cholesky (dopt_sparse / CHOLMOD), one thread,
#               function / gradient / step tolerance 1e-10, at most 100 iterations; dopt: analytic
#               Jacobians, checked against central differences (jacobian_check=), solver creation
#               timed; Ceres: autodiff as the example).  Cases: cube1000 (dopt_lie_cube_graph, 1000
#               poses, seed 1: always there) and parking-garage ($DOPT_DATA_DIR/pgo3d, skipped
#               when absent).
# Lines: bench constrained <case> solver=dopt|ceres iterations=.. final_cost=.. time_s=..
#        bench constrained <case> ratio=<dopt / ceres time> cost_dopt=.. cost_ceres=..
#              cost_ratio=<dopt / ceres final cost> target_ratio=0.5
#        (pgo: also ceres_cost_in_dopt=<Ceres' final poses scored by dopt's objective: equals
#        cost_ceres when the two sides minimize the same function> ceres_max_violation=..)
# Equal cost: Ceres does not reach the constrained minimum on these problems; it stops higher
# (curve_fit: 4.9467 against 4.7219, the exact minimum, which a linear least-squares solve at
# b = 0.5 confirms; with every tolerance off it stays at 4.9467 after 112 iterations: its projected
# steps stall on the bound), so cost_ratio < 1 and dopt's whole-solve time bounds its time to
# Ceres' cost from above: ratio is the conservative figure.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
bench_apt libceres-dev libeigen3-dev g++ libsuitesparse-dev libopenblas0
CFLAGS_D=$(bench_cflags)
cc $CFLAGS_D -Wall -Wextra bench/constrained_dopt.c -o "$BENCH_DIR/constrained_dopt" -lm
g++ -std=c++17 -O3 -march=native -DNDEBUG -I/usr/include/eigen3 -Ibench bench/constrained_ceres.cpp \
    -o "$BENCH_DIR/constrained_ceres" -lceres -lglog -lgflags
cc $CFLAGS_D -Wall -Wextra bench/constrained_pgo_dopt.c -o "$BENCH_DIR/constrained_pgo_dopt" -lm
g++ -std=c++17 -O3 -march=native -DNDEBUG -I/usr/include/eigen3 -Ibench bench/constrained_pgo_ceres.cpp \
    -o "$BENCH_DIR/constrained_pgo_ceres" -lceres -lglog -lgflags
cc $CFLAGS_D -Wall -Wextra bench/pgo_eval.c -o "$BENCH_DIR/pgo_eval" -lm
echo "# anchors: ceres $(sed -n 's/.*CERES_VERSION_\(MAJOR\|MINOR\|REVISION\) \([0-9]*\).*/\2/p' /usr/include/ceres/version.h | paste -sd.) (LM, DENSE_QR / SPARSE_NORMAL_CHOLESKY with CHOLMOD, SetParameterLower/UpperBound, 1 thread); kernel family: dopt dense Cholesky (curve_fit), dopt_sparse supernodal Cholesky (pgo)"
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
ratio_line() { # ratio_line CASE DOPT_LINE CERES_LINE [EXTRA]
    local td tc fd fc
    td=$(kv time_s "$2"); tc=$(kv time_s "$3"); fd=$(kv final_cost "$2"); fc=$(kv final_cost "$3")
    echo "bench constrained $1 ratio=$(awk -v a="$td" -v b="$tc" 'BEGIN{printf "%.4f", a / b}') cost_dopt=$fd cost_ceres=$fc cost_ratio=$(awk -v a="$fd" -v b="$fc" 'BEGIN{printf "%.6f", a / b}')${4:+ $4} target_ratio=0.5"
}

# ---- curve fit ----
d=$("$BENCH_DIR/constrained_dopt" | grep '^result ')
c=$("$BENCH_DIR/constrained_ceres" | grep '^result ')
echo "bench constrained curve_fit ${d#result }"
echo "bench constrained curve_fit ${c#result }"
ratio_line curve_fit "$d" "$c"

# ---- pose graph, 10% of the translations boxed ----
W=$BENCH_DIR/constrained
mkdir -p "$W"
pgo_case() { # pgo_case NAME NORMALIZED.g2o
    local d c s
    d=$("$BENCH_DIR/constrained_pgo_dopt" "$2" "$W/$1.dopt.g2o" | grep '^result ') || { echo "bench constrained pgo_$1 dopt=failed"; return; }
    c=$(env LD_PRELOAD=libopenblas.so.0 "$BENCH_DIR/constrained_pgo_ceres" "$2" "$W/$1.ceres.g2o" 2>>"$W/ceres.log" | grep '^result ') ||
        { echo "bench constrained pgo_$1 ceres=failed"; return; }
    s=$("$BENCH_DIR/constrained_pgo_dopt" "$2" "$W/$1.dopt.g2o" --score "$W/$1.ceres.g2o" | grep '^score ')
    echo "bench constrained pgo_$1 ${d#result }"
    echo "bench constrained pgo_$1 ${c#result }"
    ratio_line "pgo_$1" "$d" "$c" "ceres_cost_in_dopt=$(kv cost "$s") ceres_max_violation=$(kv max_violation "$s")"
}
"$BENCH_DIR/constrained_pgo_dopt" --write "$W/cube1000.raw.g2o" --poses 1000 --seed 1
"$BENCH_DIR/pgo_eval" normalize "$W/cube1000.raw.g2o" "$W/cube1000.g2o" 2>/dev/null
pgo_case cube1000 "$W/cube1000.g2o"
PG=$DOPT_DATA_DIR/pgo3d/parking-garage.g2o
if [ -f "$PG" ]; then
    "$BENCH_DIR/pgo_eval" normalize "$PG" "$W/parking-garage.g2o" 2>/dev/null
    pgo_case parking-garage "$W/parking-garage.g2o"
else
    echo "bench constrained pgo_parking-garage skipped=no-data file=$PG"
fi
