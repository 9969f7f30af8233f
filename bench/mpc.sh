#!/usr/bin/env bash
# make bench-mpc: dopt's LQR (forward solve and adjoint-LQR backward, double) against mpc.pytorch
# (mpc 0.0.6, torch 2.5.1, float64) and PyPose (0.9.5, its differentiable LQR) on the same
# problems, with and without box limits |u| <= 0.5 (PyPose ignores bounds: unconstrained only),
# one thread; plus one LQR forward of (12,4,50,1) against the same run's dgemm rate.
# Line format: bench mpc lqr n= m= T= B= box= fwd_us= bwd_us= gflops_fwd= <peer>_fwd_ms= ...
#   <peer>_dsol= <peer>_dgrad= (largest relative difference of the solutions and of the gradients
#   of sum |x_t|^2 + |u_t|^2 w.r.t. C, c, F, f, x_init) speedup= ratio= (dopt fwd+bwd / the
#   faster peer's).  Times are thread CPU time (the bench machine may be shared).
#   kkt= certifies dopt's solution: the largest projected reduced gradient (costate sweep) and
#   dynamics residual, ~1e-15 at the optimum.  mpc_conv=k/B: the elements on which mpc.pytorch's
#   box-DDP passed its own fixed-point test (||du|| < 1e-7 within its default 10 iterations);
#   it detaches the others (no gradient), so mpc_dsol / mpc_dgrad compare those k elements and
#   mpc_dgrad_all (printed when k < B) all of them.
source "$(dirname "$0")/common.sh"
bench_apt libopenblas-dev
V=$(bench_venv)
"$V/bin/python" -c "import torch" 2>/dev/null || flock /tmp/dopt-venv.lock "$V/bin/pip" install -q torch==2.5.1
"$V/bin/python" -c "import mpc, pypose" 2>/dev/null || flock /tmp/dopt-venv.lock "$V/bin/pip" install -q mpc==0.0.6 pypose==0.9.5
cc $(bench_cflags) "$ROOT/bench/mpc_dopt.c" -o "$BENCH_DIR/mpc_dopt" -lopenblas -lm
echo "# torch $("$V/bin/python" -c 'import torch; print(torch.__version__)'), mpc $("$V/bin/pip" show mpc 2>/dev/null | awk '/^Version/{print $2}'), pypose $("$V/bin/python" -c 'import pypose; print(pypose.__version__)' 2>/dev/null), cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"$BENCH_DIR/mpc_dopt" riccati 12 4 50
DATA=$BENCH_DIR/mpc_data
mkdir -p "$DATA"
for size in "4 2 20 1" "4 2 20 64" "10 4 50 64" "20 8 100 16" "12 4 50 256"; do
    for box in 0 1; do
        peers=$("$V/bin/python" "$ROOT/bench/mpc_peer.py" "$DATA" $size $box | awk '/^peer/{printf "%s %s %s ", ($2 == "mpc.pytorch" ? "mpc" : $2), $3, $4}')
        "$BENCH_DIR/mpc_dopt" lqr "$DATA" $size $box $peers
    done
done
