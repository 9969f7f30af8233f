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
# One line per case: `bench cem <case> dopt_s=.. torch_s=.. [samples_per_s=..] [overhead=..
# overhead_spread=lo..hi] [bound=..] ratio=dopt/torch ratio_spread=lo..hi`.  Times are process
# CPU seconds per CEM iteration, per DCEM forward+backward, per LML forward+backward of the batch:
# dopt and torch run alternately BENCH_ROUNDS times (default 3; the machine may be shared), each
# side best of several repetitions per run, the figures the best over the rounds; ratio_spread
# is the lowest and highest per-round ratio.
# overhead = share of the CEM iteration spent outside the user objective (the objective timed
# alone on the same samples, in the same repetition loop); overhead_spread its lowest and highest
# value over the repetitions.  bound = (objective + drawing the normals) / torch (CEM per
# iteration, DCEM: the objective's cost and VJP calls and the normals of all its iterations): the
# ratio dopt would reach if everything else cost nothing (a floor, not a target).
source "$(dirname "$0")/common.sh"
V=$(bench_venv)
if ! "$V/bin/python" -c "import torch" 2>/dev/null; then
    echo "# installing torch 2.5.1 into $V (minutes)" >&2
    flock /tmp/dopt-venv.lock sh -c "'$V/bin/pip' install -q torch==2.5.1 --index-url https://download.pytorch.org/whl/cpu ||
                                     '$V/bin/pip' install -q torch==2.5.1" >&2
fi
CFLAGS=$(bench_cflags)
echo "# $(gcc --version | head -n 1); dopt double, one thread; $("$V/bin/python" -c 'import torch; print("torch", torch.__version__)'); $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1 /proc/loadavg)"
gcc $CFLAGS "$ROOT/bench/cem_dopt.c" -o "$BENCH_DIR/cem_dopt" -lm
ROUNDS=${BENCH_ROUNDS:-3}
for r in $(seq 1 "$ROUNDS"); do
    "$BENCH_DIR/cem_dopt" > "$BENCH_DIR/cem_dopt.$r.txt"
    "$V/bin/python" -W ignore "$ROOT/bench/cem_torch.py" > "$BENCH_DIR/cem_torch.$r.txt"
done
python3 - "$BENCH_DIR" "$ROUNDS" <<'PY'
import re, sys
def read(path, show):
    out = {}
    for line in open(path):
        if line.startswith("#"):
            if show: print(line.rstrip())
            continue
        side, case, *kv = line.split()
        out[case] = {k: float(v) for k, v in (x.split("=") for x in kv)}
    return out
d = [read(f"{sys.argv[1]}/cem_dopt.{r}.txt", r == 1) for r in range(1, int(sys.argv[2]) + 1)]
t = [read(f"{sys.argv[1]}/cem_torch.{r}.txt", r == 1) for r in range(1, int(sys.argv[2]) + 1)]
for case in d[0]:
    best = min(d, key=lambda x: x[case]["time_s"])[case]
    ds, ts = best["time_s"], min(x[case]["time_s"] for x in t)
    rr = [x[case]["time_s"] / y[case]["time_s"] for x, y in zip(d, t)]
    extra = ""
    m = re.match(r"cem_\w+_P(\d+)$", case)
    if m:
        extra += f" samples_per_s={32 * int(m.group(1)) / ds:.3e}"
    if "obj_s" in best and case.startswith("cem_"):
        lo = min(x[case]["overhead_lo"] for x in d)
        hi = max(x[case]["overhead_hi"] for x in d)
        extra += f" overhead={max(0.0, 1 - best['obj_s'] / ds):.3f} overhead_spread={lo:.3f}..{hi:.3f}"
    if "normals_s" in best:
        nrm = min(x[case]["normals_s"] for x in d)
        extra += f" bound={(best['obj_s'] + nrm) / ts:.4f}"
    print(f"bench cem {case} dopt_s={ds:.3e} torch_s={ts:.3e}{extra} ratio={ds / ts:.4f} "
          f"ratio_spread={min(rr):.4f}..{max(rr):.4f}")
PY
