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
#   SHUTDOWN_TIMEOUT=S
#                    on SIGINT/SIGTERM, the seconds the processes have to stop (default 60).
# torchrun runs through tools/dist_launch.py: its own messages go to OUT/torchrun.log, the
# processes' to the screen; SIGINT/SIGTERM end with status 128+N and one message; a run that
# makes no progress for --watchdog-timeout seconds ends with the watchdog's paragraph
# (docs/reliability.md). A process that stops leaves the finished cells in OUT/results.json,
# and its message (or the watchdog's) says how to resume. See docs/benchmarking.md.
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
SHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT:-60}
if ! [[ "$SHUTDOWN_TIMEOUT" =~ ^[0-9]+$ ]]; then
    echo "error: SHUTDOWN_TIMEOUT must be a non-negative integer, got '$SHUTDOWN_TIMEOUT'" >&2; exit 2
fi
# A config that would be refused is one message and exit status 2, before any process starts;
# the check also names the output folder (its last line), for torchrun's log.
OUT=$("$PYTHON" "$here/benchmark.py" "$CONFIG" --check --print-out-dir "$@" | tail -n 1) || exit $?
exec "$PYTHON" "$here/dist_launch.py" --log-file "$OUT/torchrun.log" "${rdzv[@]}" \
    --nproc_per_node="$NPROCS" --max-restarts="$MAX_RESTARTS" \
    --shutdown-timeout="$SHUTDOWN_TIMEOUT" "$here/benchmark.py" "$CONFIG" --launcher pytorch "$@"
