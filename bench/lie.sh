#!/usr/bin/env bash
# bench/lie.sh — `make bench-lie`: dopt_lie.h (SO3/SE3 exp, log, compose, act and their Jacobian
# variants) against Ceres' rotation.h (+ Jet autodiff for the Jacobians) and Eigen's
# Quaternion/AngleAxis, double, one thread, batch 1e6 (override: LIE_N, LIE_REPS).
# One line per operation: `bench lie <op> ... ratio=<dopt ns / faster anchor ns>`.
source "$(dirname "$0")/common.sh"
bench_apt libceres-dev libeigen3-dev g++
N=${LIE_N:-1000000}
REPS=${LIE_REPS:-7}
cc $(bench_cflags) -c "$ROOT/bench/lie_dopt.c" -o "$BENCH_DIR/lie_dopt.o"
c++ -std=c++17 -O3 -march=native -DNDEBUG -I"$ROOT" -I/usr/include/eigen3 \
    "$ROOT/bench/lie_bench.cpp" "$BENCH_DIR/lie_dopt.o" -o "$BENCH_DIR/lie_bench" -lm
echo "# ceres $(dpkg-query -W -f='${Version}' libceres-dev), eigen $(dpkg-query -W -f='${Version}' libeigen3-dev); dopt: cc $(bench_cflags); anchors: c++ -O3 -march=native; cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"$BENCH_DIR/lie_bench" "$N" "$REPS"
