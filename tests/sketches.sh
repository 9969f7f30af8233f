#!/usr/bin/env bash
# tests/sketches.sh OUTDIR [CC...] — the code examples of the header overviews and the C snippets of
# docs/*.md (docs/tutorial.md) compile and run.
# An example is a block of the header's first comment indented by 7 spaces after " * " whose
# first line is `#define DOPT_IMPLEMENTATION`: it is written to OUTDIR/<header>-<line>.c (the
# " *       " prefix stripped), built with the project's warning flags and run.  Prints one line
# per example; exit status 1 if any fails.
set -u
cd "$(dirname "$0")/.."
OUTDIR=${1:-build/test/sketch}; shift || true
CCMD=${*:-gcc -std=c99 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith -Wcast-qual -O1}
mkdir -p "$OUTDIR"
fail=0; count=0
for h in dopt.h dopt_lie.h dopt_sparse.h dopt_mpc.h dopt_deq.h; do
    [ -f "$h" ] || continue
    # one file per example: line number of its first line, then the stripped lines
    awk -v out="$OUTDIR/${h%.h}" '
        /^ \*\// { exit }
        /^ \*       / { line = substr($0, 10)
                        if (!inb && line ~ /^#define DOPT_IMPLEMENTATION/) { file = out "-" NR ".c"; printf "" > file; inb = 1 }
                        if (inb) print line >> file
                        next }
        { if (inb) close(file); inb = 0 }' "$h"
done
# the C snippets of docs/*.md (```c fenced blocks, each a complete program): docs-<file>-<line>.c
for md in docs/*.md; do
    [ -f "$md" ] || continue
    awk -v out="$OUTDIR/docs-$(basename "$md" .md)" '
        /^```c$/ { file = out "-" NR ".c"; printf "" > file; inb = 1; next }
        /^```$/ { if (inb) close(file); inb = 0; next }
        { if (inb) print >> file }' "$md"
done
for src in "$OUTDIR"/*.c; do
    [ -f "$src" ] || continue
    count=$((count + 1))
    exe=${src%.c}
    if $CCMD -I. "$src" -o "$exe" -lm > "$exe.log" 2>&1 && "$exe" >> "$exe.log" 2>&1; then
        echo "ok   sketch $(basename "$src")"
    else
        echo "FAIL sketch $(basename "$src")"; sed -n '1,30p' "$exe.log"; fail=1
    fi
done
[ "$count" -gt 0 ] || { echo "FAIL no sketches found"; fail=1; }
exit $fail
