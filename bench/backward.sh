#!/usr/bin/env bash
# bench/backward.sh — `make bench-backward`: time and memory of the least-squares layer's backward
# pass per mode (IMPLICIT, UNROLL, TRUNCATED(5), DLM) for 2, 5, 10, 20, 50 inner LM iterations on
# a 64-pose synthetic cube pose graph with a learnable Welsch radius (see bench/backward.c).
# One `bench backward <mode>_K<k> backward_s=... forward_s=... mem_kb=... ratio=...` line per
# point (ratio = backward time / forward time of the same solve, measured side by side); the
# chart goes to build/bench/backward.svg.  No anchor to install: the comparison is between modes.
source "$(dirname "$0")/common.sh"
CFLAGS=$(bench_cflags)
echo "# $(gcc --version | head -n 1); dopt built-in kernels, one thread"
gcc $CFLAGS "$ROOT/bench/backward.c" -o "$BENCH_DIR/backward" -lm
"$BENCH_DIR/backward" "$BENCH_DIR/backward.svg"
