#!/usr/bin/env bash
# bench/pgo.sh — `make bench-pgo`: pose-graph optimization, dopt against Ceres and GTSAM.
#
# Every input of ../shared/data/pgo2d and pgo3d is first normalized by build/bench/pgo_eval
# (all vertices present, unit quaternions, %.17g numbers; files without VERTEX lines get their
# initial values by chaining the odometry edges from pose 0 = identity), and every solver reads
# that same normalized file, so all start from identical values.  Each solver is a program
# `<solver> IN OUT` that writes its final poses and prints one `result solver=...` line:
#   dopt   build/bench/pgo_dopt      (bench/pgo_dopt.c, built here when present)
#   ceres  build/bench/pgo_ceres     (bench/pgo_ceres.cpp: LM, SPARSE_NORMAL_CHOLESKY/CHOLMOD, one
#                                     thread, autodiff residual of Ceres' pose_graph_2d/3d examples,
#                                     run with LD_PRELOAD=libopenblas.so.0)
#   gtsam  bench/pgo_gtsam.py        (PyPI gtsam 4.3.0, readG2o + LevenbergMarquardtOptimizer with
#                                     default parameters, prior on pose 0; times optimize() only)
# One evaluator (pgo_eval score) scores every solver's final poses in dopt's metric
# (1/2 sum ||Log(z^-1 x_i^-1 x_j)||^2_info) and in Ceres' metric (the examples' residual), so all
# costs compare.  Lines:
#   bench pgo <file> solver=<s> iterations=N initial_cost=X final_cost=Y time_s=T converged=..
#         cost_dopt_metric=A cost_ceres_metric=B        (final_cost: the solver's own metric)
#   bench pgo <file> config=default|ceres|ceres-log|dogleg ratio=<dopt time / min(ceres, gtsam)> ... checks
#   bench pgo <file> targets dopt_metric=<configs with ratio <= 0.5 and cost <= GTSAM's (1 + 1e-6)>
#         ceres_metric=<configs with ratio <= 0.5 and Ceres-metric cost <= Ceres' x 1.01> met=yes|no
#   bench pgo cube_batch256 ratio=<dopt batch time / min(ceres, gtsam) one-after-another> ...
#         (process CPU time on every side, --cpu-time: the machine may be shared)
# Environment:
#   PGO_FILES     space-separated names or paths (e.g. "MIT torus3D"); default: every file
#   PGO_SOLVERS   subset of "dopt dopt_ceres dopt_clog dopt_dogleg ceres gtsam" (default all).  dopt is
#                 pgo_dopt's default (group-log residual); the two documented options:
#                 dopt_ceres = --residual ceres (minimizes Ceres' metric itself: the configuration
#                 to compare with Ceres, since on CSAIL, MIT, manhattan, intel the two metrics have
#                 different minimizers), dopt_clog = --residual ceres-log (Ceres' form first, then
#                 the group log from its minimizer: the better basin of dopt's metric on torus3D
#                 and sphere_bignoise), dopt_dogleg = --method dogleg (Powell's dogleg instead of
#                 LM: cubicle in 13 iterations instead of 45, where LM's damping, raised by seven
#                 rejected Gauss-Newton steps at the start, takes ~35 iterations to come back down;
#                 it stalls on ais2klinik, so it is not the default).
#   PGO_REPEAT    runs per solver and file; the best time is kept (default 3)
#   PGO_REPEAT_LONG  runs when a run takes 2 s or more (default 2; total bench ~6-10 min here)
#   PGO_TIMEOUT   seconds per solver run (default 600)
#   PGO_CUBE      0 skips the batch-of-256 cube case; PGO_CUBE_POSES (default 256), PGO_CUBE_SEED
#   PGO_RAGGED    0 skips the ragged case (256 cube problems of random sizes 64..256 poses, every
#                 side timed in process CPU time (--cpu-time), the machine being shared:
#                 `bench pgo ragged256 ratio=` dopt's dopt_nlls_ragged / the faster anchor; the ragged
#                 case alone: PGO_FILES=none PGO_CUBE=0 make bench-pgo)
#   PGO_SQRT_EXAMPLE=1  weight Ceres' residual with the examples' llt().matrixL() (see pgo_ceres)
# Cube batch: pgo_dopt --write-cube writes the 256 problems (Theseus' synthetic recipe, via
# dopt_lie_cube_graph); when it cannot, pgo_eval cube writes them with the same recipe.  Anchors
# solve them one after another with 10 LM iterations (tolerances off); dopt: --cube-batch DIR.
# Notes on the data, measured here:
#  - The two metrics have different minimizers on CSAIL, MIT and manhattan: their information is
#    strongly anisotropic (eigenvalue ratio ~1e-7) and Ceres' residual expresses the translation
#    error in frame i, the group log in the frame of the measurement, so each solver's optimum
#    scores badly in the other metric (e.g. CSAIL: GTSAM 20.3 / 5819, Ceres 19270 / 30.6).
#  - cubicle has 5021 edges with an indefinite information (planar z/roll/pitch block); Ceres is
#    weighted there by the PSD part, the evaluator uses the matrix as given.
#  - torus3D: Ceres ends at 22556 (its metric); GTSAM ~29954 (dopt metric) / 28980 (Ceres').
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

# Debian's CHOLMOD (SuiteSparse 5) runs parts of cholmod_super_numeric in OpenMP regions with a
# compiled-in num_threads(4) that ignores OMP_NUM_THREADS; only OMP_THREAD_LIMIT caps it.  Without
# this, "one-thread" Ceres runs 4 threads (and is ~2x slower on this 2-core machine).
export OMP_THREAD_LIMIT=1
PGO_REPEAT=${PGO_REPEAT:-3}
PGO_REPEAT_LONG=${PGO_REPEAT_LONG:-2}
PGO_TIMEOUT=${PGO_TIMEOUT:-600}
PGO_SOLVERS=${PGO_SOLVERS:-"dopt dopt_ceres dopt_clog dopt_dogleg ceres gtsam"}
PGO_CUBE=${PGO_CUBE:-1}
PGO_CUBE_POSES=${PGO_CUBE_POSES:-256}
PGO_CUBE_SEED=${PGO_CUBE_SEED:-1}
W=$BENCH_DIR/pgo
mkdir -p "$W"
# one bench-pgo at a time (shared work folder; concurrent runs would also spoil each other's timings)
exec 9>"$BENCH_DIR/pgo.lock"
flock -n 9 || { echo "# waiting for another bench-pgo run to finish" >&2; flock 9; }
rm -f "$W"/*.log

# ---- anchors ------------------------------------------------------------------------------
bench_apt libceres-dev libopenblas-dev libopenblas0 libsuitesparse-dev libeigen3-dev g++ python3-venv
VENV=$(bench_venv)
GTSAM_WANT=4.3.0
have=$("$VENV/bin/python" -c "from importlib.metadata import version; print(version('gtsam'))" 2>/dev/null || true)
if [ "$have" != "$GTSAM_WANT" ]; then
    flock /tmp/dopt-venv.lock "$VENV/bin/pip" install -q "gtsam==$GTSAM_WANT" >&2 ||
        flock /tmp/dopt-venv.lock "$VENV/bin/pip" install -q gtsam >&2
fi
GTSAM_VER=$("$VENV/bin/python" -c "from importlib.metadata import version; print(version('gtsam'))")
[ "$GTSAM_VER" = "$GTSAM_WANT" ] || echo "# note: gtsam $GTSAM_WANT unavailable, using $GTSAM_VER"

CFLAGS_D=$(bench_cflags)
cc $CFLAGS_D -Wall -Wextra bench/pgo_eval.c -o "$BENCH_DIR/pgo_eval" -lm
if [ ! -x "$BENCH_DIR/pgo_ceres" ] || [ bench/pgo_ceres.cpp -nt "$BENCH_DIR/pgo_ceres" ]; then
    echo "# building pgo_ceres" >&2
    g++ -std=c++17 -O3 -march=native -DNDEBUG -I/usr/include/eigen3 bench/pgo_ceres.cpp \
        -o "$BENCH_DIR/pgo_ceres" -lceres -lglog -lgflags
fi
DOPT=""
if [ -f bench/pgo_dopt.c ]; then
    if cc $CFLAGS_D bench/pgo_dopt.c -o "$BENCH_DIR/pgo_dopt" -lm 2>"$W/pgo_dopt.build.log"; then
        DOPT=$BENCH_DIR/pgo_dopt
    else
        echo "# bench/pgo_dopt.c does not build (see $W/pgo_dopt.build.log)"
    fi
fi

OPENBLAS=$(ldconfig -p | awk '/libopenblas\.so\.0 /{print $NF; exit}')
CERES_ENV=(env LD_PRELOAD=libopenblas.so.0)
CERES_FLAGS=()
EVAL_FLAGS=()
if [ "${PGO_SQRT_EXAMPLE:-0}" = 1 ]; then
    CERES_FLAGS+=(--sqrt-example)
    EVAL_FLAGS+=(--sqrt-example)
fi
CHOLMOD=$(ldd "$BENCH_DIR/pgo_ceres" | awk '/libcholmod/{print $3}')
echo "# anchors: ceres $(sed -n 's/.*CERES_VERSION_\(MAJOR\|MINOR\|REVISION\) \([0-9]*\).*/\2/p' /usr/include/ceres/version.h | paste -sd.) (LM, SPARSE_NORMAL_CHOLESKY, SuiteSparse CHOLMOD $CHOLMOD, BLAS: LD_PRELOAD $OPENBLAS over Debian's ATLAS link, 1 thread); gtsam $GTSAM_VER (PyPI wheel, no TBB; LevenbergMarquardtOptimizer defaults, MULTIFRONTAL_CHOLESKY, COLAMD)"
WEIGHT="Lambda (upper Cholesky factor U, Lambda = U^T U)"
[ "${PGO_SQRT_EXAMPLE:-0}" = 1 ] && WEIGHT="the examples' L^T L (L = llt().matrixL(), Lambda = L L^T)"
echo "# ceres residual weight: $WEIGHT; gauge: pose 0 fixed (ceres: constant block; gtsam: prior sigma 1e-6); OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS OMP_NUM_THREADS=$OMP_NUM_THREADS OMP_THREAD_LIMIT=$OMP_THREAD_LIMIT"

# ---- helpers ------------------------------------------------------------------------------
kv() { # kv KEY LINE -> value
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

solver_cmd() { # solver_cmd NAME -> the command array in CMD
    case $1 in
        dopt) CMD=("$DOPT") ;;
        dopt_ceres) CMD=("$DOPT" --residual ceres) ;;
        dopt_clog) CMD=("$DOPT" --residual ceres-log) ;;
        dopt_dogleg) CMD=("$DOPT" --method dogleg) ;;
        ceres) CMD=("${CERES_ENV[@]}" "$BENCH_DIR/pgo_ceres" "${CERES_FLAGS[@]}") ;;
        gtsam) CMD=("$VENV/bin/python" "$ROOT/bench/pgo_gtsam.py") ;;
    esac
}

# run_solver NAME NORM OUT -> sets RES (result line with the best time of the runs)
run_solver() {
    local name=$1 norm=$2 out=$3 best="" line t r
    solver_cmd "$name"
    RES=""
    for ((r = 0; r < PGO_REPEAT; r++)); do
        if ! line=$(timeout "$PGO_TIMEOUT" "${CMD[@]}" "$norm" "$out" 2>>"$W/$name.log" | grep '^result '); then
            [ -n "$RES" ] && break
            return 1
        fi
        t=$(kv time_s "$line")
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then
            best=$t
            RES=$line
        fi
        # short runs: up to PGO_REPEAT; runs of 2 s or more: up to PGO_REPEAT_LONG
        if awk -v a="$t" 'BEGIN{exit !(a >= 2.0)}' && ((r + 1 >= PGO_REPEAT_LONG)); then break; fi
    done
    # keep the cost/iteration fields of the run, the best time
    RES=$(sed "s/time_s=[^ ]*/time_s=$best/" <<<"$RES")
    return 0
}

lt() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a <= b)}'; }

# ---- files --------------------------------------------------------------------------------
ALL=()
for d in pgo2d pgo3d; do
    for f in "$DOPT_DATA_DIR/$d"/*.g2o; do [ -f "$f" ] && ALL+=("$f"); done
done
if [ ${#ALL[@]} -eq 0 ]; then
    echo "bench pgo skipped=no-data dir=$DOPT_DATA_DIR"
    exit 0
fi
FILES=()
if [ -n "${PGO_FILES:-}" ]; then
    for want in $PGO_FILES; do
        for f in "${ALL[@]}"; do
            case $f in *"/$want" | *"/$want.g2o" | "$want") FILES+=("$f") ;; esac
        done
    done
else
    FILES=("${ALL[@]}")
fi

for f in "${FILES[@]}"; do
    name=$(basename "$f" .g2o)
    norm=$W/$name.norm.g2o
    "$BENCH_DIR/pgo_eval" normalize "$f" "$norm" 2>>"$W/normalize.log"
    init_scores=$("$BENCH_DIR/pgo_eval" score "$norm" "$norm" "${EVAL_FLAGS[@]}")
    echo "bench pgo $name initial $init_scores"
    declare -A T=() CD=() CC=() CONV=() FC=()
    for s in $PGO_SOLVERS; do
        if [ "${s#dopt}" != "$s" ] && [ -z "$DOPT" ]; then
            echo "bench pgo $name dopt=missing"
            continue
        fi
        out=$W/$name.$s.g2o
        rm -f "$out"
        if ! run_solver "$s" "$norm" "$out" || [ ! -s "$out" ]; then
            echo "bench pgo $name solver=$s failed=yes (see $W/$s.log)"
            continue
        fi
        if [ "$s" = ceres ] && [ -z "${CERES_SHOWN:-}" ]; then
            # what Ceres reports it used (version, SPARSE_NORMAL_CHOLESKY on SUITE_SPARSE = CHOLMOD)
            grep '^# ceres' "$W/ceres.log" | tail -1 | cut -d' ' -f1-6
            CERES_SHOWN=1
        fi
        scores=$("$BENCH_DIR/pgo_eval" score "$norm" "$out" "${EVAL_FLAGS[@]}")
        rest=$(sed "s/^result solver=[^ ]* //" <<<"$RES")
        # the evaluator must reproduce each solver's own final cost: Ceres' in Ceres' metric,
        # GTSAM's and dopt's in dopt's metric (relative 1e-6)
        own=cost_dopt_metric
        [ "$s" = ceres ] || [ "$s" = dopt_ceres ] && own=cost_ceres_metric
        match=$(awk -v a="$(kv final_cost "$RES")" -v b="$(kv $own "$scores")" \
            'BEGIN{d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); print (d <= 1e-6 * m + 1e-12 ? "yes" : "no")}')
        echo "bench pgo $name solver=$s $rest $scores eval_matches_own=$match"
        T[$s]=$(kv time_s "$RES")
        FC[$s]=$(kv final_cost "$RES")
        CONV[$s]=$(kv converged "$RES")
        CD[$s]=$(kv cost_dopt_metric "$scores")
        CC[$s]=$(kv cost_ceres_metric "$scores")
    done
    # summary lines: one per dopt configuration (default, then the documented --residual
    # ceres-log option), and which of them meets all three targets on this file
    anchor=""
    for s in ceres gtsam; do
        [ -n "${T[$s]:-}" ] || continue
        if [ -z "$anchor" ] || lt "${T[$s]}" "$anchor"; then anchor=${T[$s]}; fi
    done
    met_d="" met_c="" cnc=0
    for v in dopt dopt_ceres dopt_clog dopt_dogleg; do
        [ -n "${T[$v]:-}" ] || continue
        case $v in dopt) cfg=default ;; dopt_ceres) cfg=ceres ;; dopt_clog) cfg=ceres-log ;; *) cfg=dogleg ;; esac
        if [ -z "$anchor" ]; then
            echo "bench pgo $name config=$cfg ratio=na dopt_time_s=${T[$v]} ceres_time_s=na gtsam_time_s=na"
            continue
        fi
        ratio=$(awk -v a="${T[$v]}" -v b="$anchor" 'BEGIN{printf "%.3f", a / b}')
        rok=0
        lt "$ratio" 0.5 && rok=1
        line="bench pgo $name config=$cfg ratio=$ratio dopt_time_s=${T[$v]} ceres_time_s=${T[ceres]:-na} gtsam_time_s=${T[gtsam]:-na}"
        line+=" ratio_ok=$([ $rok = 1 ] && echo yes || echo no)"
        if [ -n "${CD[gtsam]:-}" ]; then
            lim=$(awk -v g="${CD[gtsam]}" 'BEGIN{printf "%.10g", g * (1 + 1e-6)}')
            if lt "${CD[$v]}" "$lim"; then
                line+=" dopt_metric_vs_gtsam=ok"
                [ $rok = 1 ] && met_d+="${met_d:+,}$cfg"
            else line+=" dopt_metric_vs_gtsam=worse"; fi
        fi
        if [ -n "${CC[ceres]:-}" ]; then
            if [ "${CONV[ceres]}" = yes ]; then
                lim=$(awk -v c="${CC[ceres]}" 'BEGIN{printf "%.10g", c * 1.01}')
                if lt "${CC[$v]}" "$lim"; then
                    line+=" ceres_metric_vs_ceres=ok"
                    [ $rok = 1 ] && met_c+="${met_c:+,}$cfg"
                else line+=" ceres_metric_vs_ceres=worse"; fi
            else
                line+=" ceres_metric_vs_ceres=ceres-not-converged"
                cnc=1
            fi
        fi
        echo "$line"
    done
    if [ -n "${T[dopt]:-}${T[dopt_ceres]:-}${T[dopt_clog]:-}${T[dopt_dogleg]:-}" ] && [ -n "$anchor" ]; then
        [ $cnc = 1 ] && met_c="ceres-not-converged"
        met=no
        [ -n "$met_d" ] && [ -n "$met_c" ] && met=yes
        echo "bench pgo $name targets dopt_metric=${met_d:-none} ceres_metric=${met_c:-none} met=$met"
    fi
    unset T CD CC CONV FC
done

# ---- ragged batch: 256 cube problems of random sizes 64..256 poses (10 LM iterations) ------
ragged_case() {
    local R=$W/ragged src cres gres dres tc tg td anchor
    rm -rf "$R"
    mkdir -p "$R/raw" "$R/norm" "$R/ceres" "$R/gtsam"
    if [ -z "$DOPT" ] || ! "$DOPT" --write-ragged "$R/raw" --count 256 --sizes 64 256 --seed "$PGO_CUBE_SEED" >"$W/ragged_write.log" 2>&1; then
        echo "bench pgo ragged256 ratio=na dopt=missing (pgo_dopt --write-ragged unavailable)"
        return
    fi
    for f in "$R/raw"/*.g2o; do
        "$BENCH_DIR/pgo_eval" normalize "$f" "$R/norm/$(basename "$f")" 2>/dev/null
    done
    local RAG=("$R/norm"/*.g2o)
    echo "# ragged batch: ${#RAG[@]} cube problems of 64..256 poses (random, seed $PGO_CUBE_SEED; each its own structure), 10 LM iterations each (tolerances off); dopt: one dopt_nlls_ragged over all of them (creation + solve timed); anchors: one after another; every side timed in process CPU time"
    cres=$(timeout "$PGO_TIMEOUT" "${CERES_ENV[@]}" "$BENCH_DIR/pgo_ceres" --batch "$R/ceres" "${RAG[@]}" \
        --max-iter 10 --fixed-iters --cpu-time "${CERES_FLAGS[@]}" 2>>"$W/ceres.log" | grep '^result ' || true)
    gres=$(timeout "$PGO_TIMEOUT" "$VENV/bin/python" bench/pgo_gtsam.py --batch "$R/gtsam" "${RAG[@]}" \
        --max-iter 10 --fixed-iters --cpu-time 2>>"$W/gtsam.log" | grep '^result ' || true)
    dres=$(timeout "$PGO_TIMEOUT" "$DOPT" --ragged-batch "$R/norm" --cpu-time 2>>"$W/dopt.log" | grep '^result ' || true)
    echo "bench pgo ragged256 solver=ceres ${cres#result solver=ceres }"
    echo "bench pgo ragged256 solver=gtsam ${gres#result solver=gtsam }"
    echo "bench pgo ragged256 solver=dopt ${dres#result solver=dopt }"
    tc=$(kv time_s "$cres"); tg=$(kv time_s "$gres"); td=$(kv time_s "$dres")
    anchor=$(awk -v a="${tc:-1e30}" -v b="${tg:-1e30}" 'BEGIN{print (a < b ? a : b)}')
    if [ -n "$td" ]; then
        echo "bench pgo ragged256 ratio=$(awk -v a="$td" -v b="$anchor" 'BEGIN{printf "%.3f", a / b}') dopt_time_s=$td ceres_time_s=${tc:-na} gtsam_time_s=${tg:-na} target_ratio=0.3"
    else
        echo "bench pgo ragged256 ratio=na dopt=failed ceres_time_s=${tc:-na} gtsam_time_s=${tg:-na}"
    fi
}
[ "${PGO_RAGGED:-1}" = 0 ] || ragged_case

# ---- batch of 256 synthetic cube problems (Theseus sec. 5.2: 10 LM iterations) -------------
[ "$PGO_CUBE" = 0 ] && exit 0
C=$W/cube
rm -rf "$C"
mkdir -p "$C/raw" "$C/norm" "$C/ceres" "$C/gtsam"
src=""
if [ -n "$DOPT" ] && "$DOPT" --write-cube "$C/raw" --count 256 --poses "$PGO_CUBE_POSES" --seed "$PGO_CUBE_SEED" >"$W/cube_write.log" 2>&1 &&
    ls "$C/raw"/*.g2o >/dev/null 2>&1; then
    src="pgo_dopt --write-cube"
else
    "$BENCH_DIR/pgo_eval" cube "$C/raw" 256 "$PGO_CUBE_POSES" "$PGO_CUBE_SEED"
    src="pgo_eval cube (pgo_dopt --write-cube unavailable)"
fi
for f in "$C/raw"/*.g2o; do
    "$BENCH_DIR/pgo_eval" normalize "$f" "$C/norm/$(basename "$f")" 2>/dev/null
done
CUBES=("$C/norm"/*.g2o)
echo "# cube batch: ${#CUBES[@]} problems, $PGO_CUBE_POSES poses each, seed $PGO_CUBE_SEED, written by $src; anchors solve them one after another, 10 LM iterations each (tolerances off); every side timed in process CPU time"
cres=$(timeout "$PGO_TIMEOUT" "${CERES_ENV[@]}" "$BENCH_DIR/pgo_ceres" --batch "$C/ceres" "${CUBES[@]}" \
    --max-iter 10 --fixed-iters --cpu-time "${CERES_FLAGS[@]}" 2>>"$W/ceres.log" | grep '^result ' || true)
gres=$(timeout "$PGO_TIMEOUT" "$VENV/bin/python" bench/pgo_gtsam.py --batch "$C/gtsam" "${CUBES[@]}" \
    --max-iter 10 --fixed-iters --cpu-time 2>>"$W/gtsam.log" | grep '^result ' || true)
echo "bench pgo cube_batch256 solver=ceres ${cres#result solver=ceres }"
echo "bench pgo cube_batch256 solver=gtsam ${gres#result solver=gtsam }"
tc=$(kv time_s "$cres")
tg=$(kv time_s "$gres")
anchor=$(awk -v a="${tc:-1e30}" -v b="${tg:-1e30}" 'BEGIN{print (a < b ? a : b)}')
if [ -n "$DOPT" ] && dres=$(timeout "$PGO_TIMEOUT" "$DOPT" --cube-batch "$C/norm" --cpu-time 2>>"$W/dopt.log" | grep '^result '); then
    echo "bench pgo cube_batch256 solver=dopt ${dres#result solver=dopt }"
    td=$(kv time_s "$dres")
    echo "bench pgo cube_batch256 ratio=$(awk -v a="$td" -v b="$anchor" 'BEGIN{printf "%.3f", a / b}') dopt_time_s=$td ceres_time_s=${tc:-na} gtsam_time_s=${tg:-na} target_ratio=0.25 kernel_family=$(kv kernel_family "$dres")"
else
    echo "bench pgo cube_batch256 ratio=na dopt=missing (pgo_dopt --cube-batch unavailable) ceres_time_s=${tc:-na} gtsam_time_s=${tg:-na}"
fi
