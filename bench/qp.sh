#!/usr/bin/env bash
# make bench-qp: dopt's batched dense QP (dopt_mpc.h) against DAQP 0.11.0, PIQP 0.6.4, ProxQP
# (ProxSuite 0.8.0), OSQP 1.1.3 (forward) and qpth 0.0.18, ProxSuite's QPFunction (forward +
# backward, torch 2.5.1 CPU, float64, one thread), in one run on the same 128 QPs per case
# (n = 10, 50, 100; m_eq = n/4, m_ineq = n; with and without bounds).  See bench/qp_peer.py.
# DAQP runs twice: through Python (corrected for the binding's per-call cost) and through its C
# API (bench/qp_daqp.c, no correction needed), the latter side by side with dopt's forward in one
# process (alternating pairs: `fwd_pair_daqp_c ... ratio= pair_min= pair_med= pair_max=`).
# DOPT_BENCH_CPU_TIME=1: all sides time with CPU time (a machine shared with other jobs);
# DOPT_QP_METHOD=1 / 2: dopt's active-set / interior point method only (default: AUTO).
source "$(dirname "$0")/common.sh"
V=$(bench_venv)
PIP="flock /tmp/dopt-venv.lock $V/bin/pip install -q"
"$V/bin/python" -c "import daqp, piqp, proxsuite, osqp, qpth, torch, scipy" 2>/dev/null ||
    $PIP numpy scipy daqp==0.11.0 piqp==0.6.4 proxsuite==0.8.0 osqp==1.1.3 qpth==0.0.18 torch==2.5.1 >&2
cc $(bench_cflags) "$ROOT/bench/qp_dopt.c" -o "$BENCH_DIR/qp_dopt" -lm
# DAQP through its C API (bench/qp_daqp.c), built from DAQP 0.11.0's own sources: its PyPI source
# archive, fetched once into a folder outside the tree ($DOPT_PEER_SRC); compiled with the flags
# of its Python build plus the -march dopt gets.  Skipped (Python figures only) if unavailable.
PEER_SRC=${DOPT_PEER_SRC:-$HOME/.cache/dopt-peer-src}
DAQP_SRC=$PEER_SRC/daqp-0.11.0/csrc
if [ ! -f "$DAQP_SRC/src/daqp.c" ]; then
    mkdir -p "$PEER_SRC"
    # --no-binary daqp (not :all:, which builds pip's build dependencies from source too)
    flock /tmp/dopt-venv.lock "$V/bin/pip" download -q daqp==0.11.0 --no-binary daqp --no-deps \
        -d "$PEER_SRC" >&2 && tar xzf "$PEER_SRC/daqp-0.11.0.tar.gz" -C "$PEER_SRC" || true
fi
rm -f "$BENCH_DIR/daqp_c_times.txt"
# DAQP's sources get its own flags (those of its Python build plus dopt's -march); the harness
# bench/qp_daqp.c, which times dopt and DAQP alternately in one process, gets dopt's.
DAQP_C=0
if [ -f "$DAQP_SRC/src/daqp.c" ]; then
    mkdir -p "$BENCH_DIR/daqp_obj"
    DAQP_C=1
    for s in "$DAQP_SRC"/src/*.c; do
        cc -O3 $(bench_march) -fassociative-math -fno-signed-zeros -fno-trapping-math -w -I"$DAQP_SRC/include" \
            -c "$s" -o "$BENCH_DIR/daqp_obj/$(basename "$s" .c).o" || DAQP_C=0
    done
    [ "$DAQP_C" = 1 ] && cc $(bench_cflags) -I"$DAQP_SRC/include" "$ROOT/bench/qp_daqp.c" "$BENCH_DIR"/daqp_obj/*.o \
        -o "$BENCH_DIR/qp_daqp" -lm || DAQP_C=0
fi
[ "$DAQP_C" = 1 ] || echo "# DAQP's C sources unavailable: DAQP through Python only"
echo "# versions: $("$V/bin/python" -c 'import importlib.metadata as m; print(" ".join(p+"="+m.version(p) for p in ["daqp","piqp","proxsuite","osqp","qpth","torch","numpy"]))')"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), one thread, float64, tolerances 1e-9, us per QP in a batch of 128"
"$BENCH_DIR/qp_dopt" "$BENCH_DIR" | tee "$BENCH_DIR/dopt_times.txt" | sed 's/^dopt /bench qp dopt /'
# dopt's forward and DAQP's C API side by side (the forward ratio that counts: same process,
# alternating pairs, best of each and the spread of the per-pair ratios)
if [ "$DAQP_C" = 1 ]; then
    "$BENCH_DIR/qp_daqp" "$BENCH_DIR" | tee "$BENCH_DIR/daqp_c_times.txt" | sed 's/^daqp_c /bench qp fwd_pair_daqp_c /'
fi
"$V/bin/python" "$ROOT/bench/qp_peer.py" "$BENCH_DIR"
