#!/usr/bin/env bash
# tests/python.sh — the PyTorch bridge (python/dopt) under every torch found, run by `make test`:
#   1. `make lib` into build/test/py (libdopt.so with the dopt_bridge_* entry points);
#   2. python/tests/test_layers.py (gradcheck of every layer, independent torch references,
#      float32, errors) under each distinct Python that imports torch, among $DOPT_PYTHON,
#      ~/.cache/dopt-bench-venv (torch 2.5.1, the benches' venv), ~/.cache/dopt-torch-latest-venv
#      (the newest torch on the index) and python3;
#   3. `pip install ./python`, python/examples/train_mpc.py and the ```python snippets of docs/*.md;
#   4. the two-version check: torch 2.5.1 and a newer torch both ran, else a skip line.
# Set DOPT_PY_INSTALL=1 to create the two venvs first (tests/python_venvs.sh: downloads torch).
# Prints `ok`/`FAIL`/`skip:` lines and ends with `N passed, N failed, N skipped`.
set -u
cd "$(dirname "$0")/.."
B=build/test/py
ROOT=$PWD
LIBB=build/test/pkg/build   # the library tests/packaging.sh built (make keeps it when up to date)
mkdir -p "$B"
P=0; F=0; S=0
[ "${DOPT_PY_INSTALL:-0}" = 1 ] && bash tests/python_venvs.sh > "$B/venvs.log" 2>&1
cands=()
[ -n "${DOPT_PYTHON:-}" ] && cands+=("$DOPT_PYTHON")
cands+=("$HOME/.cache/dopt-bench-venv/bin/python" "$HOME/.cache/dopt-torch-latest-venv/bin/python" python3)
seen=" "; versions=()
for py in "${cands[@]}"; do
    command -v "$py" >/dev/null 2>&1 || continue
    v=$("$py" -c "import torch; print(torch.__version__)" 2>/dev/null) || continue
    case "$seen" in *" $v "*) continue ;; esac
    seen="$seen$v "; versions+=("$py=$v")
done
if [ ${#versions[@]} = 0 ]; then
    echo "skip: python bridge (no Python with torch; DOPT_PY_INSTALL=1 or tests/python_venvs.sh makes one)"
    echo "0 passed, 0 failed, 1 skipped"; exit 0
fi
if ! make -s lib BUILD="$LIBB" > "$B/lib.log" 2>&1; then
    echo "FAIL python bridge: make lib"; tail -n 20 "$B/lib.log"; echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
have251=0; havenew=0
for pv in "${versions[@]}"; do
    py=${pv%%=*}; v=${pv#*=}
    log="$B/test-$v.log"
    DOPT_LIB="$PWD/$LIBB/libdopt.so" "$py" python/tests/test_layers.py > "$log" 2>&1; rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
    if [ $rc = 0 ] && [ -n "$line" ]; then
        echo "ok   python bridge, torch $v: $line"; P=$((P + 1))
        case "$v" in 2.5.1*) have251=1 ;; *) havenew=1 ;; esac
    else
        echo "FAIL python bridge, torch $v: ${line:-no summary} (exit $rc)"; grep -E '^FAIL|Error' "$log" | head -n 20
        F=$((F + 1))
    fi
done
# 4. `pip install ./python` (no compiler: bundles the built library; with build isolation when
#    the Python lacks setuptools and wheel) and the training script, under
#    the first torch found
py=${versions[0]%%=*}
rm -rf "$B/site"
iso="--no-build-isolation"; "$py" -c "import setuptools, wheel" 2>/dev/null || iso=""  # else pip fetches setuptools
if DOPT_LIB="$PWD/$LIBB/libdopt.so" "$py" -m pip install -q --no-deps $iso --target "$B/site" ./python \
       > "$B/pip.log" 2>&1 && (cd "$B" && env -u DOPT_LIB PYTHONPATH="$ROOT/$B/site" "$py" -c \
       "import dopt, torch; assert dopt.lib()._name.startswith('$ROOT/$B/site'); print(dopt.qp(torch.eye(1)[None].double(), torch.ones(1, 1).double()))") \
       >> "$B/pip.log" 2>&1; then echo "ok   python bridge: pip install ./python, import from the bundled library"; P=$((P + 1))
elif [ -z "$iso" ] && grep -qiE 'connection|resolve|network|No matching distribution' "$B/pip.log"; then
    echo "skip: python bridge pip install (no setuptools/wheel in that Python and no package index)"; S=$((S + 1))
else echo "FAIL python bridge: pip install ./python"; tail -n 15 "$B/pip.log"; F=$((F + 1)); fi
rm -rf python/build python/dopt.egg-info
if DOPT_LIB="$PWD/$LIBB/libdopt.so" "$py" python/examples/train_mpc.py --epochs 60 > "$B/train.log" 2>&1; then
    echo "ok   python bridge: train_mpc.py $(tail -n 1 "$B/train.log")"; P=$((P + 1))
else echo "FAIL python bridge: train_mpc.py"; tail -n 15 "$B/train.log"; F=$((F + 1)); fi
# 5. the Python snippets of docs/*.md (```python blocks), each run as a script
for md in docs/*.md; do
    [ -f "$md" ] || continue
    awk -v out="$B/docs-$(basename "$md" .md)" '
        /^```python$/ { file = out "-" NR ".py"; printf "" > file; inb = 1; next }
        /^```$/ { if (inb) close(file); inb = 0; next }
        { if (inb) print >> file }' "$md"
done
for snip in "$B"/docs-*.py; do
    [ -f "$snip" ] || continue
    if DOPT_LIB="$PWD/$LIBB/libdopt.so" PYTHONPATH="$PWD/python" "$py" "$snip" > "${snip%.py}.log" 2>&1; then
        echo "ok   python snippet $(basename "$snip")"; P=$((P + 1))
    else echo "FAIL python snippet $(basename "$snip")"; tail -n 15 "${snip%.py}.log"; F=$((F + 1)); fi
done
if [ $have251 = 1 ] && [ $havenew = 1 ]; then echo "ok   python bridge: torch 2.5.1 and a newer torch both pass"; P=$((P + 1))
else echo "skip: python bridge two-version check (torch 2.5.1 and a newer torch not both installed: tests/python_venvs.sh)"; S=$((S + 1)); fi
echo "$P passed, $F failed, $S skipped"
[ $F = 0 ]
