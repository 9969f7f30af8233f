#!/usr/bin/env bash
# make bench-dense: dopt's dense kernels vs OpenBLAS (libopenblas-dev, one thread), double.
source "$(dirname "$0")/common.sh"
bench_apt libopenblas-dev liblapacke-dev
cc $(bench_cflags) "$ROOT/bench/dense.c" -o "$BENCH_DIR/dense" -lopenblas -llapacke -lm
echo "# openblas: $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null), OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS, cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), flags: $(bench_march)"
"$BENCH_DIR/dense"
