#!/usr/bin/env bash
# bench/theseus.sh — `make bench-theseus`: the Theseus paper's §5.1 pose-graph benchmark, Theseus
# itself and dopt side by side on the same generated problems, one thread each.
#   Theseus (bench/theseus_pgo.py, theseus-ai 0.2.3 on torch 2.5.1, CHOLMOD via scikit-sparse):
#     generate_synthetic_3D (float64, batch 16), Welsch Between costs with one learnable
#     log-radius, prior on pose 0, LM 10 iterations, step 0.75, damping 1e-3, IMPLICIT backward;
#     forward + backward time per batch; it exports the problem and its gradient.
#   dopt (bench/theseus_dopt.c): the same data and settings, dopt_nlls_diff IMPLICIT.
# One line per size: `bench theseus pgo_<N> dopt_s=.. theseus_s=.. grad_rel=.. ratio=dopt/theseus`.
# Both sides are timed in process CPU time (time.process_time, CLOCK_PROCESS_CPUTIME_ID; torch and
# CHOLMOD on one thread), so a shared machine's load does not enter the ratio.
# Sizes: THESEUS_SIZES (default "64 256 1024").  The venv lives outside the tree
# ($DOPT_THESEUS_VENV, default ~/.cache/dopt-theseus-venv) so the shared bench venv is untouched.
source "$(dirname "$0")/common.sh"
bench_apt libsuitesparse-dev libopenblas0-pthread python3-venv
export DOPT_VENV=${DOPT_THESEUS_VENV:-$HOME/.cache/dopt-theseus-venv}
V=$(bench_venv)
if ! "$V/bin/python" -c "import torch, theseus, sksparse.cholmod; torch.__version__" 2>/dev/null; then
    echo "# installing torch 2.5.1, scikit-sparse 0.4.16, theseus-ai 0.2.3 into $V (minutes)" >&2
    # numpy < 2: scikit-sparse 0.4.16 and theseus 0.2.3 predate numpy 2.  A torch that was cut off
    # mid-download imports without __version__: it is reinstalled (--force-reinstall, no deps).
    flock /tmp/dopt-venv.lock sh -c "
      '$V/bin/pip' install -q --upgrade pip wheel setuptools cython 'numpy<2' scipy &&
      ('$V/bin/python' -c 'import torch; torch.__version__' 2>/dev/null ||
       '$V/bin/pip' install -q --force-reinstall --no-deps torch==2.5.1 --index-url https://download.pytorch.org/whl/cpu ||
       ('$V/bin/pip' install -q torch==2.5.1 && '$V/bin/pip' install -q --force-reinstall --no-deps torch==2.5.1)) &&
      '$V/bin/pip' install -q scikit-sparse==0.4.16 &&
      '$V/bin/pip' install -q --no-build-isolation theseus-ai==0.2.3" >&2
fi
CFLAGS=$(bench_cflags)
OUT=$BENCH_DIR/theseus
mkdir -p "$OUT"
echo "# $(gcc --version | head -n 1); libsuitesparse $(dpkg-query -W -f='${Version}' libsuitesparse-dev 2>/dev/null); libopenblas $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null)"
gcc $CFLAGS "$ROOT/bench/theseus_dopt.c" -o "$BENCH_DIR/theseus_dopt" -lm
SIZES=${THESEUS_SIZES:-64 256 1024}
OMP_THREAD_LIMIT=1 "$V/bin/python" -W ignore "$ROOT/bench/theseus_pgo.py" "$OUT" $SIZES
for n in $SIZES; do "$BENCH_DIR/theseus_dopt" "$OUT/theseus_$n.txt"; done
