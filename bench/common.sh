# bench/common.sh — sourced by every bench/<suite>.sh.  Not a suite itself (it has no .sh twin
# target: the Makefile's suite list skips it).
#   bench_apt PKG...        install Debian packages that are missing (serialized with flock)
#   bench_venv              create/refresh the Python venv outside the tree ($DOPT_VENV, default
#                           $HOME/.cache/dopt-bench-venv) and print its path
#   bench_cflags            compiler flags for dopt's side of a benchmark; BENCH_MARCH picks the
#                           target: native (default), x86-64-v3 (the AVX2 kernels), none (no -march:
#                           the baseline build, plain C kernels or the runtime-dispatched ones)
#   BENCH_DIR               build folder for the suite (build/bench)
# Anchors run single-threaded: OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1 are exported here.
set -eu
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/build/bench
mkdir -p "$BENCH_DIR"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# Debian's CHOLMOD runs parts of its supernodal factorization on several OpenMP threads whatever
# OMP_NUM_THREADS says; the thread limit really holds it (and every OpenMP anchor) to one.
export OMP_THREAD_LIMIT=1
export DOPT_DATA_DIR="${DOPT_DATA_DIR:-$ROOT/../shared/data}"

bench_apt() {
    local missing=()
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "# installing ${missing[*]}" >&2
    flock /tmp/dopt-apt.lock sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing[*]}" >&2
}

bench_venv() {
    local v=${DOPT_VENV:-$HOME/.cache/dopt-bench-venv}
    if [ ! -x "$v/bin/python" ]; then
        flock /tmp/dopt-venv.lock python3 -m venv "$v" >&2
    fi
    echo "$v"
}

# -ffp-contract=fast: -std=c99 turns FMA contraction off in gcc, while g++ (the C++ anchors)
# contracts by default; both sides get fused multiply-adds.
bench_march() { case "${BENCH_MARCH:-native}" in none) echo "" ;; *) echo "-march=${BENCH_MARCH:-native}" ;; esac; }
bench_cflags() { echo "-std=c99 -O3 $(bench_march) -ffp-contract=fast -DNDEBUG -I$ROOT"; }
