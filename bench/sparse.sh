#!/usr/bin/env bash
# bench/sparse.sh — `make bench-sparse`: dopt_sparse.h against CHOLMOD (SuiteSparse, supernodal,
# AMD ordering, OpenBLAS on one thread).  Builds bench/sparse_bench.c twice: with dopt's built-in
# dense kernels and with DOPT_USE_CBLAS (OpenBLAS backend), and prints one `bench sparse ...` line
# per matrix: every $DOPT_DATA_DIR/spd/*.mtx, the Gauss-Newton Hessian of every pose graph in
# pgo2d/ and pgo3d/, 64-matrix batch refactorizations, and 3-D grid Laplacians (30^3, 50^3) with
# GFLOP/s next to the dgemm rate.  ratio = dopt factor time / CHOLMOD factor time (lower is better).
# SPARSE_BENCH_ONLY=grid|spd|pgo limits the sections.
source "$(dirname "$0")/common.sh"
bench_apt libsuitesparse-dev libopenblas-dev liblapacke-dev
CFLAGS=$(bench_cflags)
SS_INC=/usr/include/suitesparse
echo "# libsuitesparse-dev $(dpkg-query -W -f='${Version}' libsuitesparse-dev 2>/dev/null), libopenblas $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null), $(gcc --version | head -n 1)"
gcc $CFLAGS -I"$SS_INC" "$ROOT/bench/sparse_bench.c" -o "$BENCH_DIR/sparse_builtin" -lcholmod -lopenblas -lm
gcc $CFLAGS -DDOPT_USE_CBLAS -I"$SS_INC" "$ROOT/bench/sparse_bench.c" -o "$BENCH_DIR/sparse_cblas" -lcholmod -lopenblas -llapacke -lm
SPARSE_BENCH_BACKEND=builtin "$BENCH_DIR/sparse_builtin"
# the OpenBLAS backend: the SPD matrices and the grids (where big supernodes use the dense kernels)
SPARSE_BENCH_BACKEND=openblas SPARSE_BENCH_ONLY="${SPARSE_BENCH_ONLY:-spd,grid}" "$BENCH_DIR/sparse_cblas"
