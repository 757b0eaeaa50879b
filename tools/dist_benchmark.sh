#!/usr/bin/env bash
# Run a benchmark on several processes with torchrun: each cell's images are split over the
# processes by mmengine's distributed sampler and gathered by its evaluator, so the table is
# the one-process table; costs and the outputs are written by the first process.
#   tools/dist_benchmark.sh BENCH_CONFIG NUM_PROCS [benchmark.py ARGS...]
# Environment (as tools/dist_train.sh):
#   MAX_RESTARTS=N   when a process dies, torchrun stops the others and starts the group
#                    again, up to N times; the restarted run resumes from the finished cells
#                    of results.json (default 0: the job ends; run it again with --resume).
#   NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT
#                    several machines, ranks fixed by NODE_RANK (run the same command on
#                    each with its NODE_RANK; --out must be on a folder they share). On one
#                    machine torchrun picks a free port itself.
#   RDZV_ENDPOINT=HOST:PORT [RDZV_ID=NAME]
#                    several machines meeting at HOST:PORT (torchrun's c10d rendezvous).
# See docs/benchmarking.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 2 ]]; then
    echo "usage: $0 BENCH_CONFIG NUM_PROCS [ARGS...]" >&2; exit 2
fi
CONFIG=$1; NPROCS=$2; shift 2
if ! [[ "$NPROCS" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: NUM_PROCS must be a positive integer, got '$NPROCS'" >&2; exit 2
fi
MAX_RESTARTS=${MAX_RESTARTS:-0}
if ! [[ "$MAX_RESTARTS" =~ ^[0-9]+$ ]]; then
    echo "error: MAX_RESTARTS must be a non-negative integer, got '$MAX_RESTARTS'" >&2; exit 2
fi
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
NNODES=${NNODES:-1}
rdzv=()
if [[ -n "${RDZV_ENDPOINT:-}" ]]; then
    rdzv=(--nnodes="$NNODES" --rdzv-backend=c10d --rdzv-endpoint="$RDZV_ENDPOINT"
          --rdzv-id="${RDZV_ID:-restorelab}")
elif [[ "$NNODES" -gt 1 || -n "${MASTER_PORT:-}" ]]; then
    rdzv=(--nnodes="$NNODES" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}"
          --master_port="${MASTER_PORT:-29500}")
else
    rdzv=(--standalone)
fi
# A config that would be refused is one message and exit status 2, before any process starts.
"$PYTHON" "$here/benchmark.py" "$CONFIG" --check "$@" > /dev/null || exit $?
# The first process leaves its exit status here (torchrun would take a status of 1, "every model
# failed on a set", for a crashed process and print its traceback).
export RESTORELAB_BENCHMARK_STATUS
RESTORELAB_BENCHMARK_STATUS=$(mktemp)
trap 'rm -f "$RESTORELAB_BENCHMARK_STATUS"' EXIT
status=0
"$PYTHON" -m torch.distributed.run "${rdzv[@]}" --nproc_per_node="$NPROCS" \
    --max-restarts="$MAX_RESTARTS" "$here/benchmark.py" "$CONFIG" --launcher pytorch "$@" || status=$?
if [[ $status -ne 0 ]]; then
    # A process that was killed says nothing itself: the finished cells are on disk.
    echo "error: the benchmark's processes stopped (exit status $status); the cells finished" \
         "before are in results.json of the --out folder: run the same command with --resume" \
         "to run the others." >&2
    exit $status
fi
status=$(cat "$RESTORELAB_BENCHMARK_STATUS" 2>/dev/null)
exit "${status:-0}"
