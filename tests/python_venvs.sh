#!/usr/bin/env bash
# tests/python_venvs.sh — the two torch versions the bridge is tested against (downloads from the
# Python package index; run it where that is allowed):
#   ~/.cache/dopt-bench-venv          torch 2.5.1 (shared with the benches; under the venv lock)
#   ~/.cache/dopt-torch-latest-venv   the newest torch on the index
set -eu
lock() { if command -v flock >/dev/null 2>&1; then flock /tmp/dopt-venv.lock "$@"; else "$@"; fi; }
V1=$HOME/.cache/dopt-bench-venv
V2=$HOME/.cache/dopt-torch-latest-venv
lock bash -c "test -x '$V1/bin/python' || python3 -m venv '$V1'; '$V1/bin/python' -c 'import torch' 2>/dev/null || '$V1/bin/pip' install -q torch==2.5.1 numpy"
test -x "$V2/bin/python" || python3 -m venv "$V2"
"$V2/bin/pip" install -q --upgrade torch numpy
"$V1/bin/python" -c "import torch; print('torch', torch.__version__, 'in $V1')"
"$V2/bin/python" -c "import torch; print('torch', torch.__version__, 'in $V2')"
