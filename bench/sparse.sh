#!/usr/bin/env bash
# bench/sparse.sh — `make bench-sparse`: dopt_sparse.h against CHOLMOD (SuiteSparse, supernodal,
# AMD ordering, OpenBLAS, one thread).  Builds bench/sparse_bench.c twice: with dopt's built-in
# dense kernels and with DOPT_USE_CBLAS (OpenBLAS backend), and prints one `bench sparse ...` line
# per matrix: every $DOPT_DATA_DIR/spd/*.mtx, the Gauss-Newton Hessian of every pose graph in
# pgo2d/ and pgo3d/, 64-matrix batch refactorizations, and 3-D grid Laplacians (30^3, 50^3) with
# GFLOP/s next to the dgemm rate.  ratio = dopt factor time / CHOLMOD factor time (lower is
# better); times are process CPU time, best of several runs.
# SPARSE_BENCH_ONLY=grid|spd|pgo|dense limits the sections; SPARSE_BENCH_NO_BATCH=1 skips the batches.
# SPARSE_BENCH_BATCH_GB (default 8) caps the memory of a 64-matrix batch (larger ones print a skip line).
source "$(dirname "$0")/common.sh"
bench_apt libsuitesparse-dev libopenblas-dev liblapacke-dev
# Debian's CHOLMOD asks OpenMP for 4 threads inside its supernodal numeric phase whatever
# OMP_NUM_THREADS says; the thread limit keeps it on one thread like everything else here.
export OMP_THREAD_LIMIT=1
CFLAGS=$(bench_cflags)
SS_INC=/usr/include/suitesparse
echo "# libsuitesparse-dev $(dpkg-query -W -f='${Version}' libsuitesparse-dev 2>/dev/null), libopenblas $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null), BLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3), LAPACK $(readlink -f /usr/lib/x86_64-linux-gnu/liblapack.so.3), $(gcc --version | head -n 1)"
gcc $CFLAGS -I"$SS_INC" "$ROOT/bench/sparse_bench.c" -o "$BENCH_DIR/sparse_builtin" -lcholmod -lopenblas -lm
gcc $CFLAGS -DDOPT_USE_CBLAS -I"$SS_INC" "$ROOT/bench/sparse_bench.c" -o "$BENCH_DIR/sparse_cblas" -lcholmod -lopenblas -llapacke -lm
SPARSE_BENCH_BACKEND=builtin "$BENCH_DIR/sparse_builtin"
SPARSE_BENCH_BACKEND=openblas "$BENCH_DIR/sparse_cblas"
