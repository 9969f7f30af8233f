#!/usr/bin/env bash
# bench/deq.sh — `make bench-deq`: dopt_deq.h's fixed points of the tanh layer z = tanh(W z + U x + b)
# (n = 64, 256, 1024; batch 32; input 32; W Gaussian rescaled to spectral norm 0.9), solved to
# relative residual 1e-6 by Picard, Anderson (m = 6) and Broyden, and the implicit backward of
# sum z*^2, side by side with torchdeq 0.1.0 (torch 2.5.1, float64, one thread: Anderson, Broyden,
# IFT backward) and jaxopt 0.8.5 AndersonAcceleration (jax 0.4.30, float64, CPU, jit, implicit
# diff).  dopt is built twice: built-in kernels and DOPT_USE_CBLAS (OpenBLAS, one thread).
# Lines: `bench deq forward_n<N>_<method> lib=... iters=... ms=...`, `bench deq backward_n<N> ...`,
# `bench deq gemm_n<N> ... fraction_of_dgemm=...` (the Anderson solve's product flops per second
# over the same run's dgemm rate of the map's product, the faster of its shapes nn_ms / tn_ms),
# then `bench deq ratio_forward_n<N> backend=... ratio=` (dopt Anderson / the fastest peer
# forward), `ratio_backward_n<N>` and `grad_n<N> dW_rel_diff_<peer>=` (dL/dW of tight solves,
# relative difference).  Times: best of several runs, process CPU time.
# DEQ_SIZES overrides the sizes (default "64 256 1024").
source "$(dirname "$0")/common.sh"
bench_apt libopenblas-dev liblapacke-dev python3-venv
V=$(bench_venv)
if ! "$V/bin/python" -c "import torch, torchdeq, jax, jaxopt" 2>/dev/null; then
    # --no-deps for ml_dtypes: its newer wheels need numpy 2, the shared venv keeps numpy 1.26
    flock /tmp/dopt-venv.lock "$V/bin/pip" install -q torch==2.5.1 torchdeq==0.1.0 jax==0.4.30 jaxlib==0.4.30 \
        jaxopt==0.8.5 >&2
    flock /tmp/dopt-venv.lock "$V/bin/pip" install -q --no-deps ml_dtypes==0.4.1 >&2
fi
SIZES=${DEQ_SIZES:-64 256 1024}
CFLAGS=$(bench_cflags)
OUT=$BENCH_DIR/deq
mkdir -p "$OUT"
echo "# $(gcc --version | head -n 1); libopenblas $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null)"
gcc $CFLAGS "$ROOT/bench/deq_dopt.c" -o "$BENCH_DIR/deq_builtin" -lm
gcc $CFLAGS -DDOPT_USE_CBLAS "$ROOT/bench/deq_dopt.c" -o "$BENCH_DIR/deq_cblas" -lopenblas -llapacke -lm
DEQ_BACKEND=builtin "$BENCH_DIR/deq_builtin" "$OUT" $SIZES
DEQ_BACKEND=openblas "$BENCH_DIR/deq_cblas" "$OUT" $SIZES
"$V/bin/python" -W ignore "$ROOT/bench/deq_peer.py" "$OUT" $SIZES
