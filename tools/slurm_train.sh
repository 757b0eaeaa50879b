#!/usr/bin/env bash
# Train under slurm: one task per GPU (or per CPU process), srun starts them.
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py ARGS...]
# Environment: GPUS (total tasks, default 8), GPUS_PER_NODE (default 8),
# CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun arguments).
# Inside a batch job submitted with `sbatch --requeue` a requeued job starts this
# again and tools/train.py resumes by itself from the newest complete checkpoint
# (SLURM_RESTART_COUNT > 0); a preemption's SIGTERM saves a checkpoint first.
# See docs/reliability.md for the batch script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 3 ]]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [ARGS...]" >&2; exit 2
fi
PARTITION=$1; JOB_NAME=$2; CONFIG=$3; shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
# shellcheck disable=SC2086
exec srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
    "$PYTHON" -u "$here/train.py" "$CONFIG" --launcher slurm "$@"
