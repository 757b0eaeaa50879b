#!/usr/bin/env bash
# Train on several processes with torchrun (nccl on GPUs, gloo on the CPU, chosen by
# tools/train.py).
#   tools/dist_train.sh [CONFIG] NUM_PROCS [train.py ARGS...]
# A bare `tools/dist_train.sh 4` trains configs/drsformer_rain200h.py.
# Environment:
#   MAX_RESTARTS=N   when a process dies, torchrun stops the others and starts the group
#                    again, up to N times; the restarted run resumes from the newest
#                    complete checkpoint of its work dir (default 0: the job ends).
#   NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT
#                    several machines, ranks fixed by NODE_RANK (run the same command
#                    on each with its NODE_RANK). On one machine torchrun picks a free
#                    port itself.
#   RDZV_ENDPOINT=HOST:PORT [RDZV_ID=NAME]
#                    several machines meeting at HOST:PORT (torchrun's c10d rendezvous):
#                    with MAX_RESTARTS, the machines restart together.
#   SHUTDOWN_TIMEOUT=S
#                    on SIGINT/SIGTERM, the seconds the processes have to finish their
#                    iteration and save a checkpoint before they are killed (default 300).
# torchrun runs through tools/dist_launch.py: its own messages go to WORK_DIR/torchrun.log,
# the processes' to the screen; SIGINT/SIGTERM end with status 128+N after the checkpoint
# is saved and one message from rank 0. A run that stops making progress ends (restarted
# with MAX_RESTARTS) through the watchdog (--watchdog-timeout). See docs/reliability.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -ge 1 && "$1" =~ ^[0-9]+$ ]]; then
    CONFIG="$here/../configs/drsformer_rain200h.py"
else
    if [[ $# -lt 2 ]]; then
        echo "usage: $0 [CONFIG] NUM_PROCS [ARGS...]" >&2; exit 2
    fi
    CONFIG=$1; shift
fi
NPROCS=$1; shift
if ! [[ "$NPROCS" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: NUM_PROCS must be a positive integer, got '$NPROCS'" >&2; exit 2
fi
MAX_RESTARTS=${MAX_RESTARTS:-0}
if ! [[ "$MAX_RESTARTS" =~ ^[0-9]+$ ]]; then
    echo "error: MAX_RESTARTS must be a non-negative integer, got '$MAX_RESTARTS'" >&2; exit 2
fi
SHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT:-300}
if ! [[ "$SHUTDOWN_TIMEOUT" =~ ^[0-9]+$ ]]; then
    echo "error: SHUTDOWN_TIMEOUT must be a non-negative integer, got '$SHUTDOWN_TIMEOUT'" >&2; exit 2
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
# What can be checked in one process is checked before the processes are launched, so a
# missing data folder or checkpoint is one message, last on the screen, and exit status 2.
# WORLD_SIZE: the batch split (total_batch_size, --batch-size) is checked for all processes.
# The check also says where the work dir is (its last line), for torchrun's log.
WORK_DIR=$(WORLD_SIZE=$((NPROCS * NNODES)) "$PYTHON" "$here/train.py" "$CONFIG" --check \
           --print-work-dir "$@" | tail -n 1) || exit $?
exec "$PYTHON" "$here/dist_launch.py" --log-file "$WORK_DIR/torchrun.log" "${rdzv[@]}" \
    --nproc_per_node="$NPROCS" --max-restarts="$MAX_RESTARTS" \
    --shutdown-timeout="$SHUTDOWN_TIMEOUT" "$here/train.py" "$CONFIG" --launcher pytorch "$@"
