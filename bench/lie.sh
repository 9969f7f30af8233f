#!/usr/bin/env bash
# bench/lie.sh — `make bench-lie`: dopt_lie.h (SO3/SE3 exp, log, compose, act and their Jacobian
# variants) against Ceres' rotation.h (+ Jet autodiff for the Jacobians) and Eigen's
# Quaternion/AngleAxis, double, one thread, batch 1e6 (override: LIE_N, LIE_REPS), then the same
# at a cache-resident batch of 4096 (LIE_N_SMALL; 0 skips it), where arithmetic rather than memory
# bandwidth decides compose/act.  One line per operation and size:
#   bench lie <op> n=... dopt_ns=... ceres_ns=... eigen_ns=... ratio=<dopt ns / faster anchor ns>
# Times: the best of LIE_REPS repetitions, the competitors interleaved in each, in process CPU
# time (DOPT_BENCH_CPU_TIME=1, the default here; 0 for the wall clock).  LIE_DOPT_FLAGS adds
# flags to dopt's side (e.g. -DDOPT_LIE_STREAM_BYTES=0: no non-temporal stores).
source "$(dirname "$0")/common.sh"
bench_apt libceres-dev libeigen3-dev g++
N=${LIE_N:-1000000}
REPS=${LIE_REPS:-15}
# -ffp-contract=fast: the anchors' C++ build fuses multiply-adds (g++'s default, and gcc's for
# C except in strict -std=c99 mode); dopt gets the same freedom.
DOPT_CFLAGS="$(bench_cflags) -ffp-contract=fast ${LIE_DOPT_FLAGS:-}"
export DOPT_BENCH_CPU_TIME=${DOPT_BENCH_CPU_TIME:-1}
cc $DOPT_CFLAGS -c "$ROOT/bench/lie_dopt.c" -o "$BENCH_DIR/lie_dopt.o"
c++ -std=c++17 -O3 -march=native -DNDEBUG -I"$ROOT" -I/usr/include/eigen3 \
    "$ROOT/bench/lie_bench.cpp" "$BENCH_DIR/lie_dopt.o" -o "$BENCH_DIR/lie_bench" -lm
echo "# ceres $(dpkg-query -W -f='${Version}' libceres-dev), eigen $(dpkg-query -W -f='${Version}' libeigen3-dev); dopt: cc $DOPT_CFLAGS; anchors: c++ -O3 -march=native; cpu_time=$DOPT_BENCH_CPU_TIME; cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"$BENCH_DIR/lie_bench" "$N" "$REPS"
NS=${LIE_N_SMALL:-4096}
[ "$NS" != 0 ] && "$BENCH_DIR/lie_bench" "$NS" "${LIE_REPS_SMALL:-400}"
exit 0
