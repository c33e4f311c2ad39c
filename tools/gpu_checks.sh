#!/usr/bin/env bash
# Every GPU check of mmdarts in one run, for a session lent a GPU machine (../shared/device/README.md):
#   device run:  bash .device/gpu_env.sh bash tools/gpu_checks.sh      (carry [".device"])
# Tried on CPU first:  DEVICE=cpu BATCH=2 STEPS=1 WARMUP=0 AMP_DTYPE= PY=.venv/bin/python bash tools/gpu_checks.sh
# Each part has its own time limit; logs and JSON figures go to $OUT (the device tool brings them back), and
# status.txt lists each part's exit code. Figures go to docs/benchmarks.md by hand, with the device named.
set -uo pipefail
OUT=${OUT:-gpu_out}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-64}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-2}
AMP_DTYPE=${AMP_DTYPE-float16}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

part() {  # part NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit} s): $*"
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $((SECONDS - start)) s" | tee -a "$OUT/status.txt"
  tail -n 25 "$OUT/$name.log"
}

"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')" | tee "$OUT/device.txt"
part test_gpu 300 make test-gpu PY="$PY" PYTEST_ARGS="--junitxml=$OUT/test_gpu.xml"
part bench_fp32 240 "$PY" tools/benchmark.py configs/darts_cifar10.py --device "$DEVICE" --batch "$BATCH" \
  --steps "$STEPS" --warmup "$WARMUP" --baseline --hvp both --precision --json "$OUT/bench_fp32.json"
if [ -n "$AMP_DTYPE" ]; then
  part bench_amp 150 "$PY" tools/benchmark.py configs/darts_cifar10.py --device "$DEVICE" --batch "$BATCH" \
    --steps "$STEPS" --warmup "$WARMUP" --amp "$AMP_DTYPE" --json "$OUT/bench_amp.json"
fi
cat "$OUT/status.txt"
