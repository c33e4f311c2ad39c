#!/usr/bin/env bash
# One node, several processes: bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py args]
# Several nodes: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=host0 bash tools/dist_train.sh CONFIG PROCESSES_PER_NODE
# Without CUDA the processes talk over gloo; give each its share of the CPU cores (OMP_NUM_THREADS).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
# the interpreter: PYTHON if set, else the active environment's python, else make setup's .venv of this clone
if [ -z "${PYTHON:-}" ] && [ -z "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] && [ -x "$(dirname "$0")/../.venv/bin/python" ]; then
    PYTHON="$(dirname "$0")/../.venv/bin/python"
fi
PYTHON=${PYTHON:-python}
if [ -z "${OMP_NUM_THREADS:-}" ]; then
    export OMP_NUM_THREADS=$(( $(nproc) / GPUS > 0 ? $(nproc) / GPUS : 1 ))
fi

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3}
