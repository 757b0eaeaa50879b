#!/usr/bin/env bash
# Test a checkpoint on several processes of this machine with torchrun.
#   tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py ARGS...]
# torchrun runs through tools/dist_launch.py: its own messages go to WORK_DIR/torchrun.log,
# the processes' to the screen; SIGINT/SIGTERM end the test with status 128+N and one message.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 3 ]]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS [ARGS...]" >&2; exit 2
fi
CONFIG=$1; CHECKPOINT=$2; NPROCS=$3; shift 3
if ! [[ "$NPROCS" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: NUM_PROCS must be a positive integer, got '$NPROCS'" >&2; exit 2
fi
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
WORK_DIR=$("$PYTHON" "$here/test.py" "$CONFIG" "$CHECKPOINT" --print-work-dir "$@" | tail -n 1) \
    || exit $?
exec "$PYTHON" "$here/dist_launch.py" --log-file "$WORK_DIR/torchrun.log" --standalone \
    --nproc_per_node="$NPROCS" --shutdown-timeout="${SHUTDOWN_TIMEOUT:-60}" \
    "$here/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
