#!/usr/bin/env bash
# The GPU check: one command on a machine with a GPU, one summary, exit status 1 when a CUDA test
# fails, the plain and fast paths disagree, the fast path is slower than the plain one on CUDA, or a
# training tool run fails (details: benchmarks/gpu_check.py). Designed for under 8 minutes on one GPU.
#   bash benchmarks/gpu_check.sh [--json FILE] [gpu_check.py options]
# Without a GPU it reports the environment and a tiny plain-vs-fast agreement check on the CPU,
# says that no GPU was found, and exits 0.
# PYTHON: the interpreter (default: .venv/bin/python of `make install` when present, else python on
# PATH).
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" && -x .venv/bin/python ]]; then
    PYTHON=.venv/bin/python
fi
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "error: $PYTHON cannot import torch; run \`make install\` first (or set PYTHON)" >&2
    exit 2
fi
if "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    exec "$PYTHON" benchmarks/gpu_check.py --device cuda "$@"
fi
"$PYTHON" benchmarks/gpu_check.py --device cpu --tiny --sections env,agreement "$@"
status=$?
echo "no GPU found (torch.cuda.is_available() is False): only the environment and a tiny CPU" \
     "agreement check ran; run this on a machine with a CUDA GPU for the GPU check"
if [[ $status -ne 0 ]]; then
    echo "the CPU agreement check failed (exit status $status)" >&2
    exit $status
fi
exit 0
