#!/usr/bin/env bash
# tests/run.sh — what `make test` runs.  Builds every tests/test_*.c in each configuration, runs
# them (two at a time), compiles every header as C++ and dopt_cuda.cuh with nvcc, and ends with
# one line `total: N passed, N failed, N skipped`.  Exit status 1 if anything failed.
#
# Configurations (each a separate build under build/test/<config>/):
#   gcc        gcc   -std=c99 -pedantic -Wall -Wextra -Werror -O2 (no -march: on x86-64 the
#                    runtime-dispatched kernels, the best family the CPU runs)
#   clang      clang (same flags, -march=native: the native family, compile-time choice)
#   sanitize   gcc   -O1 -g -fsanitize=address,undefined (DOPT_TEST_QUICK=1: smaller sizes)
#   cblas      gcc   -DDOPT_USE_CBLAS against OpenBLAS, when cblas.h and lapacke.h are installed
# and, for the kernel families (dopt_kernel_family: the gcc build dispatches at run time, clang's
# -march=native compiles the best the CPU has), test_dense and test_sparse only:
#   baseline   gcc   -DDOPT_NO_DISPATCH, no -march (baseline x86-64: the plain-C kernels)
#   v3         gcc   -march=x86-64-v3 (AVX2 + FMA kernels), where the CPU has AVX2 and FMA
#   aarch64    aarch64-linux-gnu-gcc -static (NEON kernels), run under qemu-aarch64 (DOPT_TEST_QUICK=1)
# Every test program covers float and double itself (the _f and _d functions).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=build/test
mkdir -p "$OUT"
# two runs at once would share build/test: the second waits for the first
if command -v flock >/dev/null 2>&1; then exec 9>"$OUT/.lock"; flock 9; fi
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
WARN="-std=c99 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith -Wcast-qual"
export DOPT_DATA_DIR="${DOPT_DATA_DIR:-$ROOT/../shared/data}"

have() { command -v "$1" >/dev/null 2>&1; }
ensure() { # ensure TOOL PACKAGE: install a missing compiler when we are allowed to
    have "$1" && return 0
    if [ "$(id -u)" = 0 ] && have apt-get; then
        echo "installing $2 (needed for the $1 configuration)"
        flock /tmp/dopt-apt.lock sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $2" >/dev/null 2>&1
    fi
    have "$1"
}

CONFIGS=()
ensure gcc gcc && CONFIGS+=(gcc sanitize)
if ensure clang clang; then CONFIGS+=(clang); else echo "skip: clang configuration (clang not available)"; fi
CBLAS_LIBS=""
if [ -f /usr/include/cblas.h ] || [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || ls /usr/include/*/cblas.h >/dev/null 2>&1; then
    if [ -f /usr/include/lapacke.h ] || ls /usr/include/*/lapacke.h >/dev/null 2>&1; then
        CBLAS_LIBS="-lopenblas -llapacke"
        CONFIGS+=(cblas)
    fi
fi
[ -z "$CBLAS_LIBS" ] && echo "skip: cblas configuration (OpenBLAS headers not installed: make deps-blas)"
FAMILY_TESTS="tests/test_dense.c tests/test_sparse.c"
have gcc && CONFIGS+=(baseline)
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && have gcc; then CONFIGS+=(v3)
else echo "skip: x86-64-v3 configuration (the CPU has no AVX2 + FMA)"; fi
if ensure aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu && ensure qemu-aarch64 qemu-user; then CONFIGS+=(aarch64)
else echo "skip: aarch64 configuration (aarch64-linux-gnu-gcc or qemu-aarch64 missing)"; fi

cflags_of() {
    case "$1" in
        gcc) echo "gcc $WARN -O2 -g" ;;
        clang) echo "clang $WARN -O2 -g -march=native" ;;
        sanitize) echo "gcc $WARN -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" ;;
        cblas) echo "gcc $WARN -O2 -g -DDOPT_USE_CBLAS" ;;
        baseline) echo "gcc $WARN -O2 -g -DDOPT_NO_DISPATCH" ;;
        v3) echo "gcc $WARN -O2 -g -march=x86-64-v3" ;;
        aarch64) echo "aarch64-linux-gnu-gcc $WARN -O2 -g -static" ;;
    esac
}
tests_of() { case "$1" in baseline|v3|aarch64) echo "$FAMILY_TESTS" ;; *) echo "$TESTS" ;; esac; }
runner_of() { case "$1" in aarch64) echo "qemu-aarch64" ;; *) echo "" ;; esac; }
libs_of() { case "$1" in cblas) echo "$CBLAS_LIBS -lm" ;; *) echo "-lm" ;; esac; }

TESTS=$(ls tests/test_*.c 2>/dev/null)
PASSED=0; FAILED=0; SKIPPED=0
LOG=$OUT/log; rm -rf "$LOG"; mkdir -p "$LOG"

# ---- build (in parallel) ----
jobs_list=$OUT/jobs.txt; : > "$jobs_list"
for cfg in "${CONFIGS[@]}"; do
    mkdir -p "$OUT/$cfg"
    for t in $(tests_of "$cfg"); do
        name=$(basename "$t" .c)
        echo "$(cflags_of "$cfg") -I. $t -o $OUT/$cfg/$name $(libs_of "$cfg") > $LOG/build-$cfg-$name.txt 2>&1 || echo FAILED >> $LOG/build-$cfg-$name.txt" >> "$jobs_list"
    done
done
# C++: every header, implementation included, compiled and run by g++
if ensure g++ g++; then
    echo "g++ -std=c++11 -Wall -Wextra -Werror -pedantic -I. tests/cxx_check.cpp -o $OUT/cxx_check > $LOG/build-cxx.txt 2>&1 || echo FAILED >> $LOG/build-cxx.txt" >> "$jobs_list"
    # dopt_cuda.cuh's __host__ __device__ element functions, host-compiled (no CUDA needed)
    echo "g++ -std=c++11 -Wall -Wextra -Werror -pedantic -Wshadow -Wpointer-arith -Wcast-qual -O2 -g -I. tests/test_cuda_host.cpp -o $OUT/test_cuda_host > $LOG/build-cuda-host.txt 2>&1 || echo FAILED >> $LOG/build-cuda-host.txt" >> "$jobs_list"
fi
if have nvcc; then
    echo "nvcc -std=c++14 -I. -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -c tests/cuda_check.cu -o $OUT/cuda_check.o > $LOG/build-nvcc.txt 2>&1 || echo FAILED >> $LOG/build-nvcc.txt" >> "$jobs_list"
else
    echo "skip: nvcc not found, dopt_cuda.cuh not compiled"
fi
xargs -P "$JOBS" -I{} sh -c '{}' < "$jobs_list"

count_compile() { # label logfile
    if grep -q '^FAILED$' "$2"; then
        echo "FAIL compile: $1"; sed -n '1,40p' "$2"; FAILED=$((FAILED + 1))
    else
        echo "ok   compile: $1"; PASSED=$((PASSED + 1))
    fi
}

# ---- run ----
run_list=$OUT/runs.txt; : > "$run_list"
for cfg in "${CONFIGS[@]}"; do
    for t in $(tests_of "$cfg"); do
        name=$(basename "$t" .c)
        if grep -q '^FAILED$' "$LOG/build-$cfg-$name.txt"; then continue; fi
        quick=0; [ "$cfg" = sanitize ] || [ "$cfg" = aarch64 ] && quick=1
        echo "DOPT_TEST_QUICK=$quick $(runner_of "$cfg") ./$OUT/$cfg/$name > $LOG/run-$cfg-$name.txt 2>&1; echo \"exit \$?\" >> $LOG/run-$cfg-$name.txt" >> "$run_list"
    done
done
xargs -P "$JOBS" -I{} sh -c '{}' < "$run_list"

for cfg in "${CONFIGS[@]}"; do
    for t in $(tests_of "$cfg"); do
        name=$(basename "$t" .c)
        blog=$LOG/build-$cfg-$name.txt; rlog=$LOG/run-$cfg-$name.txt
        if grep -q '^FAILED$' "$blog"; then
            echo "FAIL build $cfg/$name"; sed -n '1,40p' "$blog"; FAILED=$((FAILED + 1)); continue
        fi
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$rlog" | tail -n 1)
        code=$(grep -E '^exit [0-9]+$' "$rlog" | tail -n 1 | cut -d' ' -f2)
        if [ -z "$line" ]; then
            echo "FAIL $cfg/$name: crashed or printed no summary (exit $code)"; tail -n 30 "$rlog"
            FAILED=$((FAILED + 1)); continue
        fi
        p=$(echo "$line" | cut -d' ' -f1); f=$(echo "$line" | cut -d' ' -f3 | tr -d ,); s=$(echo "$line" | cut -d' ' -f5)
        PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
        if [ "$f" != 0 ] || [ "$code" != 0 ]; then
            echo "FAIL $cfg/$name: $line (exit $code)"; grep -E 'FAIL|failed:|ERROR|runtime error' "$rlog" | head -n 30
            [ "$f" = 0 ] && FAILED=$((FAILED + 1))
        else
            echo "ok   $cfg/$name: $line"
            grep -E '^  SKIP' "$rlog" | sed "s|^  |     $cfg/$name: |"
        fi
    done
done
[ -f "$LOG/build-cxx.txt" ] && count_compile "all headers as C++ (g++), run" "$LOG/build-cxx.txt"
if [ -f "$LOG/build-cxx.txt" ] && ! grep -q '^FAILED$' "$LOG/build-cxx.txt"; then
    if ./$OUT/cxx_check > "$LOG/run-cxx.txt" 2>&1; then PASSED=$((PASSED + 1)); echo "ok   run: C++ smoke test";
    else FAILED=$((FAILED + 1)); echo "FAIL run: C++ smoke test"; cat "$LOG/run-cxx.txt"; fi
fi
[ -f "$LOG/build-nvcc.txt" ] && count_compile "dopt_cuda.cuh with nvcc (sm_80, sm_90)" "$LOG/build-nvcc.txt"
# host build of dopt_cuda.cuh's element functions: its own `N passed, N failed, N skipped` line
if [ -f "$LOG/build-cuda-host.txt" ]; then
    if grep -q '^FAILED$' "$LOG/build-cuda-host.txt"; then
        echo "FAIL build g++/test_cuda_host"; sed -n '1,40p' "$LOG/build-cuda-host.txt"; FAILED=$((FAILED + 1))
    else
        ./$OUT/test_cuda_host > "$LOG/run-cuda-host.txt" 2>&1; code=$?
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$LOG/run-cuda-host.txt" | tail -n 1)
        if [ -z "$line" ] || [ "$code" != 0 ]; then
            echo "FAIL g++/test_cuda_host: ${line:-no summary} (exit $code)"; tail -n 30 "$LOG/run-cuda-host.txt"
            FAILED=$((FAILED + 1))
        else
            echo "ok   g++/test_cuda_host: $line"
            PASSED=$((PASSED + $(echo "$line" | cut -d' ' -f1))); SKIPPED=$((SKIPPED + $(echo "$line" | cut -d' ' -f5)))
        fi
    fi
fi

# packaging: make lib, make install, pkg-config and CMake consumers (tests/packaging.sh)
bash tests/packaging.sh > "$LOG/packaging.txt" 2>&1
grep -E '^(ok|FAIL|skip)' "$LOG/packaging.txt"
pline=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/packaging.txt" | tail -n 1)
if [ -n "$pline" ]; then
    PASSED=$((PASSED + $(echo "$pline" | cut -d' ' -f1))); FAILED=$((FAILED + $(echo "$pline" | cut -d' ' -f3)))
else FAILED=$((FAILED + 1)); echo "FAIL packaging: no summary"; tail -n 20 "$LOG/packaging.txt"; fi

# the PyTorch bridge (python/dopt, issue 33): gradchecks under each torch found (tests/python.sh)
bash tests/python.sh > "$LOG/python.txt" 2>&1
grep -E '^(ok|FAIL|skip)' "$LOG/python.txt"
pyline=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$LOG/python.txt" | tail -n 1)
if [ -n "$pyline" ]; then
    PASSED=$((PASSED + $(echo "$pyline" | cut -d' ' -f1))); FAILED=$((FAILED + $(echo "$pyline" | cut -d' ' -f3 | tr -d ,)))
    SKIPPED=$((SKIPPED + $(echo "$pyline" | cut -d' ' -f5)))
else FAILED=$((FAILED + 1)); echo "FAIL python bridge: no summary"; tail -n 20 "$LOG/python.txt"; fi

# reliability passes (issue 24): ThreadSanitizer and valgrind memcheck, where the tools exist
for chk in threads valgrind; do
    out=$(bash tests/check_$chk.sh 2>&1); rc=$?
    if echo "$out" | grep -q '^skip:'; then echo "$out" | grep '^skip:'
    elif [ $rc = 0 ]; then PASSED=$((PASSED + 1)); echo "ok   check-$chk: $(echo "$out" | tail -n 1)"
    else FAILED=$((FAILED + 1)); echo "FAIL check-$chk"; echo "$out" | tail -n 15; fi
done

# code examples of the header overviews: extracted, built and run (tests/sketches.sh)
if bash tests/sketches.sh "$OUT/sketch" > "$LOG/sketches.txt" 2>&1; then
    PASSED=$((PASSED + 1)); echo "ok   overview examples build and run"
else FAILED=$((FAILED + 1)); echo "FAIL overview examples"; cat "$LOG/sketches.txt"; fi
# Windows data model (LLP64: long is 32-bit): every header and test compiled by mingw-w64, warning-free
if ensure x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64; then
    mkdir -p "$OUT/mingw"; mw_fail=0
    for h in dopt.h dopt_lie.h dopt_sparse.h dopt_mpc.h dopt_deq.h; do
        printf '#define DOPT_IMPLEMENTATION\n#include "%s"\n' "$h" > "$OUT/mingw/${h%.h}_h.c"
    done
    for src in "$OUT"/mingw/*_h.c $TESTS; do
        x86_64-w64-mingw32-gcc $WARN -O2 -I. -c "$src" -o "$OUT/mingw/$(basename "$src" .c).o" >> "$LOG/mingw.txt" 2>&1 || mw_fail=1
    done
    if [ $mw_fail = 0 ]; then PASSED=$((PASSED + 1)); echo "ok   compile: headers and tests with mingw-w64 (LLP64)"
    else FAILED=$((FAILED + 1)); echo "FAIL compile: mingw-w64"; sed -n '1,40p' "$LOG/mingw.txt"; fi
else echo "skip: mingw-w64 configuration (x86_64-w64-mingw32-gcc not available)"; fi
echo "total: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ]
