#!/usr/bin/env bash
# bench/ba.sh — `make bench-ba`: bundle adjustment, dopt (dopt_lie.h's Schur-complement LM) against
# Ceres 2.1 (SPARSE_SCHUR).
#
# Cases: every file in ../shared/data/bal, and generated BAL scenes of BA_SIZES cameras
# (ba_dopt --write-scene: dopt_lie_bal_scene's track of cameras, ~100 observations per camera,
# each point seen by 3-10 consecutive cameras, 1 px noise, perturbed initial values), written to
# build/bench/ba/ once and read by both solvers, so both start from identical values.
#   dopt   build/bench/ba_dopt   (bench/ba_dopt.c: dopt_lie_ba_solve, reduced camera system on
#                                 dopt_sparse.h's supernodal Cholesky)
#   ceres  build/bench/ba_ceres  (bench/ba_ceres.cpp: LM, SPARSE_SCHUR/CHOLMOD, Jacobi scaling,
#                                 one thread, autodiff residual of the BAL model, run with
#                                 LD_PRELOAD=libopenblas.so.0 over Debian's ATLAS link)
# Same loss (BA_LOSS: none, huber or cauchy, scale 1), same stopping rules (Ceres' defaults:
# 50 iterations, function 1e-6, gradient 1e-10, parameter 1e-8).  Times are CPU seconds of the
# solver's process (problem/solver construction + solve; file reading excluded), best of
# BA_REPEAT runs.  Covariance: cameras 0 and 1 held constant (the gauge), all camera blocks;
# dopt_lie_ba_covariance vs ceres::Covariance (SPARSE_QR; DENSE_SVD does not finish at these
# sizes: O(n^3) with n = all parameters) on cases with at most BA_COV_MAX_CAMERAS cameras.
# Lines:
#   bench ba <case> solver=dopt|ceres iterations=N initial_cost=X final_cost=Y time_s=T stop=...
#   bench ba <case> solve ratio=<dopt/ceres time> cost_ratio=<dopt/ceres final cost> targets=met|missed
#   bench ba <case> covariance dopt_s=T ceres_s=T ratio=<dopt/ceres> speedup=<ceres/dopt>
# Environment: BA_SIZES (default "100 300 1000 3000"), BA_REPEAT (2), BA_LOSS (none),
# BA_COV_MAX_CAMERAS (300: Ceres needs ~100 s for the 1000-camera scene), BA_FILES (default: every ../shared/data/bal/*.txt), BA_TIMEOUT (900).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
BA_SIZES=${BA_SIZES-"100 300 1000 3000"}
BA_REPEAT=${BA_REPEAT:-2}
BA_LOSS=${BA_LOSS:-none}
BA_COV_MAX_CAMERAS=${BA_COV_MAX_CAMERAS:-300}
BA_TIMEOUT=${BA_TIMEOUT:-900}
W=$BENCH_DIR/ba
mkdir -p "$W"
exec 9>"$BENCH_DIR/ba.lock"
flock -n 9 || { echo "# waiting for another bench-ba run to finish" >&2; flock 9; }

bench_apt libceres-dev libopenblas-dev libopenblas0 libsuitesparse-dev libeigen3-dev g++
# shellcheck disable=SC2046
gcc $(bench_cflags) bench/ba_dopt.c -o "$BENCH_DIR/ba_dopt" -lm
if [ ! -x "$BENCH_DIR/ba_ceres" ] || [ bench/ba_ceres.cpp -nt "$BENCH_DIR/ba_ceres" ]; then
    echo "# building ba_ceres" >&2
    g++ -std=c++17 -O3 -march=native -DNDEBUG -I/usr/include/eigen3 bench/ba_ceres.cpp \
        -o "$BENCH_DIR/ba_ceres" -lceres -lglog -lgflags 2>"$W/ba_ceres.build.log"
fi
OPENBLAS=$(ldconfig -p | awk '/libopenblas\.so\.0 /{print $NF; exit}')
CHOLMOD=$(ldd "$BENCH_DIR/ba_ceres" | awk '/libcholmod/{print $3}')
echo "# dopt: $(gcc --version | head -1), $(bench_cflags | sed "s|-I$ROOT||")"
echo "# ceres $(sed -n 's/.*CERES_VERSION_\(MAJOR\|MINOR\|REVISION\) \([0-9]*\).*/\2/p' /usr/include/ceres/version.h | paste -sd.) (LM, SPARSE_SCHUR, CHOLMOD $CHOLMOD, BLAS: LD_PRELOAD $OPENBLAS, 1 thread, autodiff); loss=$BA_LOSS; OMP_THREAD_LIMIT=$OMP_THREAD_LIMIT; CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

CASES=()
if [ -n "${BA_FILES:-}" ]; then
    for f in $BA_FILES; do CASES+=("$f"); done
else
    for f in "$DOPT_DATA_DIR"/bal/*.txt; do [ -f "$f" ] && CASES+=("$f"); done
fi
[ ${#CASES[@]} -eq 0 ] && echo "# no BAL files under $DOPT_DATA_DIR/bal (skipped)"
for n in $BA_SIZES; do
    f=$W/scene-$n.txt
    [ -f "$f" ] || "$BENCH_DIR/ba_dopt" --write-scene "$n" 1 "$f" >"$W/scene-$n.log"
    CASES+=("$f")
done

for f in "${CASES[@]}"; do
    name=$(basename "$f" .txt)
    ncam=$(head -1 "$f" | awk '{print $1}')
    covflag=()
    [ "$ncam" -le "$BA_COV_MAX_CAMERAS" ] && covflag=(--covariance)
    d=$(timeout "$BA_TIMEOUT" "$BENCH_DIR/ba_dopt" "$f" --loss "$BA_LOSS" --repeat "$BA_REPEAT" "${covflag[@]}" 2>"$W/$name.dopt.err")
    c=$(timeout "$BA_TIMEOUT" env LD_PRELOAD=libopenblas.so.0 "$BENCH_DIR/ba_ceres" "$f" --loss "$BA_LOSS" --repeat "$BA_REPEAT" "${covflag[@]}" 2>"$W/$name.ceres.err")
    dr=$(grep '^result' <<<"$d" || true)
    cr=$(grep '^result' <<<"$c" || true)
    [ -n "$dr" ] && echo "bench ba $name ${dr#result }"
    [ -n "$cr" ] && echo "bench ba $name ${cr#result }"
    if [ -n "$dr" ] && [ -n "$cr" ]; then
        awk -v n="$name" -v td="$(kv time_s "$dr")" -v tc="$(kv time_s "$cr")" -v fd="$(kv final_cost "$dr")" -v fc="$(kv final_cost "$cr")" \
            'BEGIN { r = td / tc; q = fd / fc; ok = (r <= 0.5 && fd <= fc * (1 + 1e-6)) ? "met" : "missed";
                     printf "bench ba %s solve ratio=%.3f cost_ratio=%.9f targets=%s\n", n, r, q, ok }'
    else
        echo "bench ba $name solve failed (see $W/$name.*.err)"
    fi
    dc=$(grep '^covariance' <<<"$d" || true)
    cc=$(grep '^covariance' <<<"$c" || true)
    if [ -n "$dc" ] && [ -n "$cc" ]; then
        if grep -q 'failed=yes' <<<"$cc"; then
            echo "bench ba $name covariance dopt_s=$(kv time_s "$dc") ceres_s=failed (ceres: $(grep -o 'Jacobian matrix is rank deficient.*' "$W/$name.ceres.err" | head -1))"
        else
            awk -v n="$name" -v td="$(kv time_s "$dc")" -v tc="$(kv time_s "$cc")" -v a="$(kv trace_cam2 "$dc")" -v b="$(kv trace_cam2 "$cc")" \
                'BEGIN { printf "bench ba %s covariance dopt_s=%.4f ceres_s=%.4f ratio=%.4f speedup=%.1f trace_cam2_dopt=%s trace_cam2_ceres=%s\n", n, td, tc, td / tc, tc / td, a, b }'
        fi
    fi
done
