#!/usr/bin/env bash
# bench/cuda.sh — `make bench-cuda`: dopt_cuda.cuh on the GPU against one CPU core running dopt's CPU
# code (bench/cuda_bench.cu): Lie ops at batch 1 .. 1e6 (throughput, achieved memory bandwidth and
# its fraction of the device's peak), the µs-per-solve crossover of batched Cholesky + solve
# (n = 6 .. 64, batch 1 .. 4096), the batched Anderson step, CEM sampling and update, batched LQR
# forward + backward against dopt_mpc.h on one core.  Skips with a
# line where nvcc or a CUDA device is missing.  CUDA_N: largest Lie batch (default 1e6).
# CUDA_ARCH: nvcc targets (default sm_80 and sm_90).
source "$(dirname "$0")/common.sh"
if ! command -v nvcc >/dev/null 2>&1; then echo "# skip: nvcc not found (bench-cuda needs the CUDA toolkit)"; exit 0; fi
ARCH=${CUDA_ARCH:--gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90}
# the CPU side (dopt_lie.h, dopt.h) is host code in the same file: -O3 -march=native with FMA, as
# the other suites' bench_cflags
nvcc -std=c++14 -O3 $ARCH -Xcompiler -O3,-march=native,-ffp-contract=fast -DNDEBUG -I"$ROOT" \
    "$ROOT/bench/cuda_bench.cu" -o "$BENCH_DIR/cuda_bench"
echo "# nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'); CPU side: one thread, cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"$BENCH_DIR/cuda_bench" "${CUDA_N:-1000000}"
exit 0
