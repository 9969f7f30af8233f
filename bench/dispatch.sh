#!/usr/bin/env bash
# bench/dispatch.sh — `make bench-dispatch`: the runtime-dispatched build (no -march: the CPU
# picks the kernel family at run time) against the -march=native build, side by side in one run
# (issue 27: dispatched / native <= 1.15).  Both builds of the same programs run alternately,
# DISPATCH_ROUNDS rounds (default 3), every time in process CPU time; the best of each build is
# kept and the spread (worst / best) printed:
#   cube_batch256   pgo_dopt --cube-batch: 256 cube problems of 256 poses, 10 LM iterations
#   sphere2500      pgo_dopt on sphere2500.g2o (bench-pgo's default configuration)
#   factor/sphere2500  sparse_bench's built-in factorization of sphere2500's Gauss-Newton Hessian
#                   (bench-sparse's pgo section; CHOLMOD runs beside it but is not compared here)
# Lines: bench dispatch <case> ratio=<dispatched / native> native_s=.. dispatched_s=..
#        native_spread=.. dispatched_spread=.. kernel_family_native=.. kernel_family_dispatched=..
# DISPATCH_CASES (default "cube sphere factor") picks cases.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
ROUNDS=${DISPATCH_ROUNDS:-3}
CASES=${DISPATCH_CASES:-"cube sphere factor"}
W=$BENCH_DIR/dispatch
mkdir -p "$W"
SS_INC=/usr/include/suitesparse
export OMP_THREAD_LIMIT=1
BASE="-std=c99 -O3 -ffp-contract=fast -DNDEBUG -I$ROOT"
for b in native dispatched; do
    m=""
    [ $b = native ] && m="-march=native"
    cc $BASE $m bench/pgo_dopt.c -o "$W/pgo_dopt_$b" -lm
    if [[ $CASES == *factor* ]]; then
        gcc $BASE $m -I"$SS_INC" bench/sparse_bench.c -o "$W/sparse_$b" -lcholmod -lopenblas -lm
    fi
done
cc $BASE -march=native bench/pgo_eval.c -o "$W/pgo_eval" -lm

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
# one_run CASE BUILD -> seconds and the kernel family, "T FAMILY"
one_run() {
    local line
    case $1 in
        cube)
            line=$("$W/pgo_dopt_$2" --cube-batch "$W/cube/norm" --cpu-time | grep '^result ')
            echo "$(kv time_s "$line") $(kv kernel_family "$line")" ;;
        sphere)
            line=$("$W/pgo_dopt_$2" --cpu-time "$W/sphere2500.norm.g2o" "$W/sphere2500.$2.g2o" | grep '^result ')
            echo "$(kv time_s "$line") $(kv kernel_family "$line")" ;;
        factor)
            out=$(SPARSE_BENCH_ONLY=pgo SPARSE_BENCH_NO_BATCH=1 SPARSE_BENCH_FILES=sphere2500 "$W/sparse_$2")
            line=$(grep '^bench sparse .*sphere2500' <<<"$out")
            echo "$(awk -v m="$(kv factor_ms "$line")" 'BEGIN{printf "%.6f", m / 1e3}')" \
                "$(sed -n 's/.*kernel family \([a-z0-9]*\).*/\1/p' <<<"$out" | head -1)" ;;
    esac
}

for c in $CASES; do
    case $c in
        cube)
            rm -rf "$W/cube"
            mkdir -p "$W/cube/raw" "$W/cube/norm"
            "$W/pgo_dopt_native" --write-cube "$W/cube/raw" --count 256 --poses 256 --seed 1 >/dev/null
            for f in "$W/cube/raw"/*.g2o; do "$W/pgo_eval" normalize "$f" "$W/cube/norm/$(basename "$f")" 2>/dev/null; done
            name=cube_batch256 ;;
        sphere)
            f=$DOPT_DATA_DIR/pgo3d/sphere2500.g2o
            [ -f "$f" ] || { echo "bench dispatch sphere2500 skipped=no-data"; continue; }
            "$W/pgo_eval" normalize "$f" "$W/sphere2500.norm.g2o" 2>/dev/null
            name=sphere2500 ;;
        factor) name=factor/sphere2500 ;;
        *) continue ;;
    esac
    declare -A best=() worst=() fam=()
    for ((r = 0; r < ROUNDS; r++)); do
        for b in native dispatched; do
            read -r t f < <(one_run "$c" "$b")
            [ -n "$t" ] || continue
            fam[$b]=$f
            if [ -z "${best[$b]:-}" ] || awk -v a="$t" -v b="${best[$b]}" 'BEGIN{exit !(a < b)}'; then best[$b]=$t; fi
            if [ -z "${worst[$b]:-}" ] || awk -v a="$t" -v b="${worst[$b]}" 'BEGIN{exit !(a > b)}'; then worst[$b]=$t; fi
        done
    done
    if [ -n "${best[native]:-}" ] && [ -n "${best[dispatched]:-}" ]; then
        echo "bench dispatch $name ratio=$(awk -v a="${best[dispatched]}" -v b="${best[native]}" 'BEGIN{printf "%.3f", a / b}')" \
            "native_s=${best[native]} dispatched_s=${best[dispatched]}" \
            "native_spread=$(awk -v a="${worst[native]}" -v b="${best[native]}" 'BEGIN{printf "%.3f", a / b}')" \
            "dispatched_spread=$(awk -v a="${worst[dispatched]}" -v b="${best[dispatched]}" 'BEGIN{printf "%.3f", a / b}')" \
            "rounds=$ROUNDS kernel_family_native=${fam[native]} kernel_family_dispatched=${fam[dispatched]} target_ratio=1.15"
    else
        echo "bench dispatch $name ratio=na (a run failed)"
    fi
    unset best worst fam
done
