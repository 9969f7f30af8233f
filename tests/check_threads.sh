#!/usr/bin/env bash
# tests/check_threads.sh — `make check-threads`: tests/check_threads.c under ThreadSanitizer
# (clang, else gcc).  Prints the program's `N passed, N failed, N skipped` line; exit 1 on a
# failed check or any ThreadSanitizer report; "skip: ..." and exit 0 when no compiler has TSan.
set -u
cd "$(dirname "$0")/.."
OUT=build/check
mkdir -p "$OUT"
WARN="-std=c99 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith -Wcast-qual"
CC=""
for c in clang gcc; do
    command -v $c >/dev/null 2>&1 || continue
    if echo 'int main(void){return 0;}' | $c -x c -fsanitize=thread - -o "$OUT/.tsan_probe" >/dev/null 2>&1 &&
       "$OUT/.tsan_probe" >/dev/null 2>&1; then CC=$c; break; fi
done
if [ -z "$CC" ]; then echo "skip: check-threads (no compiler with a working ThreadSanitizer)"; exit 0; fi
$CC $WARN -O1 -g -fsanitize=thread -pthread -I. tests/check_threads.c -o "$OUT/check_threads" -lm || exit 1
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$OUT/check_threads" > "$OUT/threads.log" 2>&1
rc=$?
grep -E '^[0-9]+ passed' "$OUT/threads.log" || true
if [ $rc != 0 ]; then grep -E 'WARNING: ThreadSanitizer|FAIL' "$OUT/threads.log" | head -10; echo "check-threads: FAILED (exit $rc)"; exit 1; fi
echo "check-threads: ok ($CC -fsanitize=thread, 4 threads)"
