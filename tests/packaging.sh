#!/usr/bin/env bash
# tests/packaging.sh — what a user of the built library meets, checked from this tree:
#   1. `make lib` builds build/test/pkg/libdopt.so and it exports dopt_* symbols only;
#   2. `make install PREFIX=<tmp>` installs headers, the library, dopt.pc and the CMake files;
#   3. a program built with `pkg-config --cflags --libs dopt` against that prefix runs;
#   4. tests/cmake_consumer builds and runs against the source tree (add_subdirectory) and
#      against the installed prefix (find_package), headers-only and shared.
# Prints one `ok   ...` / `FAIL ...` / `skip: ...` line per check and ends with
# `N passed, N failed, 0 skipped` (tests/run.sh adds it to the total).  Needs cc and make;
# pkg-config and cmake are optional (a skip line each).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/build/test/pkg
rm -rf "$B"; mkdir -p "$B"
P=0; F=0
ok() { echo "ok   packaging: $1"; P=$((P + 1)); }
bad() { echo "FAIL packaging: $1"; [ -n "${2:-}" ] && tail -n 20 "$2"; F=$((F + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }

if make -s lib BUILD="$B/build" > "$B/lib.log" 2>&1; then ok "make lib"; else bad "make lib" "$B/lib.log"; fi
if [ -f "$B/build/libdopt.so" ]; then
    extra=$(nm -D --defined-only "$B/build/libdopt.so" | awk '{print $3}' | grep -v '^dopt_' | head -n 5)
    count=$(nm -D --defined-only "$B/build/libdopt.so" | grep -c ' dopt_')
    if [ -z "$extra" ] && [ "$count" -gt 100 ]; then ok "libdopt.so exports $count dopt_* symbols and nothing else"
    else bad "libdopt.so exports non-dopt symbols: $extra (or too few: $count)"; fi
fi
PREFIX=$B/prefix
if make -s install BUILD="$B/build" PREFIX="$PREFIX" > "$B/install.log" 2>&1 \
   && [ -f "$PREFIX/include/dopt.h" ] && [ -f "$PREFIX/lib/libdopt.so" ] && [ -f "$PREFIX/lib/pkgconfig/dopt.pc" ]; then
    ok "make install PREFIX=<tmp>"
else bad "make install" "$B/install.log"; fi

if have pkg-config; then
    flags=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags --libs dopt 2>"$B/pc.log")
    if [ -n "$flags" ] && cc -std=c99 -Wall -Wextra -Werror tests/cmake_consumer/main.c -o "$B/pc_prog" $flags -lm \
          > "$B/pc_build.log" 2>&1 && "$B/pc_prog" > "$B/pc_run.log" 2>&1; then
        ok "program built with pkg-config --cflags --libs dopt runs"
    else bad "pkg-config consumer" "$B/pc_build.log"; fi
else echo "skip: pkg-config not installed"; fi

if have cmake; then
    for mode in source installed; do
        d=$B/cmake-$mode
        if [ $mode = source ]; then arg="-DDOPT_SOURCE_DIR=$ROOT"; else arg="-DCMAKE_PREFIX_PATH=$PREFIX"; fi
        if cmake -S tests/cmake_consumer -B "$d" $arg > "$B/cmake-$mode.log" 2>&1 \
           && cmake --build "$d" >> "$B/cmake-$mode.log" 2>&1 \
           && "$d/consumer_headers" >> "$B/cmake-$mode.log" 2>&1 && "$d/consumer_shared" >> "$B/cmake-$mode.log" 2>&1; then
            ok "CMake consumer against the $mode tree (dopt::dopt and dopt::shared)"
        else bad "CMake consumer against the $mode tree" "$B/cmake-$mode.log"; fi
    done
else echo "skip: cmake not installed (CMake consumer)"; fi
echo "$P passed, $F failed, 0 skipped"
[ "$F" = 0 ]
