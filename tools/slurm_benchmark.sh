#!/usr/bin/env bash
# Run a benchmark under slurm: one task per GPU (or per CPU process), srun starts them; each
# cell's images are split over the tasks (see tools/dist_benchmark.sh).
#   tools/slurm_benchmark.sh PARTITION JOB_NAME BENCH_CONFIG [benchmark.py ARGS...]
# Environment: GPUS (total tasks, default 8), GPUS_PER_NODE (default 8),
# CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun arguments). --out must be on a folder
# every node sees. A requeued job (sbatch --requeue) resumes from the finished cells.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 3 ]]; then
    echo "usage: $0 PARTITION JOB_NAME BENCH_CONFIG [ARGS...]" >&2; exit 2
fi
PARTITION=$1; JOB_NAME=$2; CONFIG=$3; shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
"$PYTHON" "$here/benchmark.py" "$CONFIG" --check "$@" > /dev/null || exit $?
# shellcheck disable=SC2086
exec srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
    "$PYTHON" -u "$here/benchmark.py" "$CONFIG" --launcher slurm "$@"
