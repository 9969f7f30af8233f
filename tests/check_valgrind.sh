#!/usr/bin/env bash
# tests/check_valgrind.sh — `make check-valgrind`: tests/test_reliability.c (small: the defect
# regressions and the allocation-failure injection, float and double) built without sanitizers
# and run under valgrind memcheck (leaks, invalid reads/writes, uninitialized values).  Prints the
# program's `N passed, N failed, N skipped` line; exit 1 on a failed check or a valgrind error;
# "skip: ..." and exit 0 without valgrind.
set -u
cd "$(dirname "$0")/.."
OUT=build/check
mkdir -p "$OUT"
if ! command -v valgrind >/dev/null 2>&1; then echo "skip: check-valgrind (valgrind not installed)"; exit 0; fi
CC=gcc; command -v gcc >/dev/null 2>&1 || CC=cc
WARN="-std=c99 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith -Wcast-qual"
$CC $WARN -O1 -g -I. tests/test_reliability.c -o "$OUT/reliability_vg" -lm || exit 1
DOPT_TEST_QUICK=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$OUT/reliability_vg" > "$OUT/valgrind.log" 2>&1
rc=$?
grep -E '^[0-9]+ passed' "$OUT/valgrind.log" || true
if [ $rc != 0 ]; then grep -E '==[0-9]+==|FAIL' "$OUT/valgrind.log" | head -20; echo "check-valgrind: FAILED (exit $rc)"; exit 1; fi
echo "check-valgrind: ok (valgrind memcheck, test_reliability)"
