#!/usr/bin/env bash
# make bench-python: the PyTorch bridge (python/dopt).
#   1. overhead of the torch layer per call: dopt.lqr forward+backward from Python against the
#      same two C calls made directly (ctypes, arrays and solver prepared once), at (n,m,T) =
#      (4,2,20) for batch 1 and 256;
#   2. the LQR layer's forward+backward from Python against mpc.pytorch (mpc 0.0.6, MPC with
#      LinDx dynamics and QuadCost, settings as bench/mpc_peer.py, float64) at (4,2,20,64) and
#      (4,2,20,1), with the largest relative gradient difference over every input (dgrad).
# Line format: bench python <case> key=value ... ratio= (dopt / anchor).  Thread CPU time, min of
# repetitions (the machine may be shared), one thread (torch.set_num_threads(1)).
source "$(dirname "$0")/common.sh"
V=$(bench_venv)
"$V/bin/python" -c "import torch" 2>/dev/null || flock /tmp/dopt-venv.lock "$V/bin/pip" install -q torch==2.5.1
"$V/bin/python" -c "import mpc" 2>/dev/null || flock /tmp/dopt-venv.lock "$V/bin/pip" install -q mpc==0.0.6
make -s -C "$ROOT" lib BUILD="$BENCH_DIR/lib" LIB_CFLAGS="-std=c99 -O3 -march=native -DNDEBUG"
echo "# torch $("$V/bin/python" -c 'import torch; print(torch.__version__)'), mpc $("$V/bin/pip" show mpc 2>/dev/null | awk '/^Version/{print $2}'), kernels: dopt built-in (no BLAS), cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
DOPT_LIB="$BENCH_DIR/lib/libdopt.so" PYTHONPATH="$ROOT/python" "$V/bin/python" "$ROOT/bench/python_bridge.py"
