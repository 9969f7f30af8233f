#!/usr/bin/env bash
# bench/cem.sh — `make bench-cem`: CEM, DCEM and the LML projection of dopt_mpc.h against the same
# algorithms written with torch 2.5.1 tensor operations (bench/cem_torch.py: the way the DCEM
# paper's code runs, batched float64 tensors on one thread; a torch version written for this
# benchmark, not a library).  Both sides run the same problems (bench/cem_dopt.c):
#   cem_quad_D<d>_P<p>   one CEM iteration, batch 32, dim d, population p, elites p/10, objective
#                        sum_i (i+1)/d (x_i - 0.5)^2
#   cem_car_H20_P<p>     one CEM-MPC iteration (dopt_mpc_cem_plan), batch 32, a 2-D car (4 states,
#                        2 controls in [-2, 2]) rolled out 20 steps around three obstacles
#   dcem_D10_P<p>        DCEM forward + backward, 10 iterations, batch 32, tau 1
#   lml_n<n>             LML forward + backward, batch 32, k = max(n/10, 1)
# One line per case: `bench cem <case> dopt_s=.. torch_s=.. [samples_per_s=..] [overhead=..]
# ratio=dopt/torch`.  Times are process CPU seconds (best of several repetitions; the machine is
# shared), per CEM iteration, per DCEM forward+backward, per LML forward+backward of the batch.
# overhead = share of the CEM iteration spent outside the user objective (the objective timed
# alone on the same number of samples).
source "$(dirname "$0")/common.sh"
V=$(bench_venv)
if ! "$V/bin/python" -c "import torch" 2>/dev/null; then
    echo "# installing torch 2.5.1 into $V (minutes)" >&2
    flock /tmp/dopt-venv.lock sh -c "'$V/bin/pip' install -q torch==2.5.1 --index-url https://download.pytorch.org/whl/cpu ||
                                     '$V/bin/pip' install -q torch==2.5.1" >&2
fi
CFLAGS=$(bench_cflags)
echo "# $(gcc --version | head -n 1); dopt double, one thread; $("$V/bin/python" -c 'import torch; print("torch", torch.__version__)')"
gcc $CFLAGS "$ROOT/bench/cem_dopt.c" -o "$BENCH_DIR/cem_dopt" -lm
"$BENCH_DIR/cem_dopt" > "$BENCH_DIR/cem_dopt.txt"
"$V/bin/python" -W ignore "$ROOT/bench/cem_torch.py" > "$BENCH_DIR/cem_torch.txt"
python3 - "$BENCH_DIR/cem_dopt.txt" "$BENCH_DIR/cem_torch.txt" <<'PY'
import re, sys
def read(path):
    out = {}
    for line in open(path):
        if line.startswith("#"):
            print(line.rstrip()); continue
        side, case, *kv = line.split()
        out[case] = dict(k.split("=") for k in kv)
    return out
d, t = read(sys.argv[1]), read(sys.argv[2])
for case, dv in d.items():
    ds, ts = float(dv["time_s"]), float(t[case]["time_s"])
    extra = ""
    m = re.match(r"cem_\w+_P(\d+)$", case)
    if m:
        extra += f" samples_per_s={32 * int(m.group(1)) / ds:.3e}"
    if "obj_s" in dv:
        extra += f" overhead={max(0.0, 1 - float(dv['obj_s']) / ds):.3f}"
    print(f"bench cem {case} dopt_s={ds:.3e} torch_s={ts:.3e}{extra} ratio={ds / ts:.4f}")
PY
