#!/usr/bin/env bash
# Every GPU check of mmdarts in one run, for a session lent a GPU machine (../shared/device/README.md):
#   device run:  bash .device/gpu_env.sh bash tools/gpu_checks.sh      (carry [".device"])
# Tried on CPU first:
#   DEVICE=cpu BATCH=2 STEPS=1 WARMUP=0 AMP_DTYPE= GRAPH_BACKEND=replay PY=.venv/bin/python bash tools/gpu_checks.sh
# PARTS picks the parts (default all): graph_tests (the captured passes against eager), test_gpu (make test-gpu:
# every test marked cuda), bench (fp32, CUDA graphs on and off, the straightforward baseline, precision),
# bench_per_edge (the same with the cells' edges per edge: --edge-layout per_edge; 'auto' batches them on CUDA;
# PER_EDGE_ARGS replaces BENCH_ARGS there), BENCH_EXTRA (default '--baseline --precision') adds to bench only;
# BENCH_ARGS may add --profile N (the device's busy time and top kernels of one step of each variant),
# bench_two_passes (the second-order step with graphs and Eq. 8's two passes instead of the twin pass: its memory),
# bench_cudnn (graphs with cudnn.benchmark), bench_amp (--amp, graphs on and off).
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
GRAPH_BACKEND=${GRAPH_BACKEND:-cuda}
PARTS=${PARTS:-graph_tests test_gpu bench bench_per_edge bench_two_passes bench_cudnn bench_amp}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

part() {  # part NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  case " $PARTS " in *" $name "*) ;; *) return 0 ;; esac
  echo "== $name (limit ${limit} s): $*"
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $((SECONDS - start)) s" | tee -a "$OUT/status.txt"
  tail -n 30 "$OUT/$name.log"
}

# the carried packages are installed without byte code: compile them once, not in every benchmark process
"$PY" -m compileall -q -j 0 "$("$PY" -c 'import os, mmengine; print(os.path.dirname(os.path.dirname(mmengine.__file__)))')" \
  > /dev/null 2>&1 || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')" | tee "$OUT/device.txt"
part graph_tests 150 "$PY" -m pytest tests/test_models/test_algorithms/test_captured_passes.py -q -p no:cacheprovider -rA \
  -m cuda
part test_gpu "${TEST_GPU_LIMIT:-300}" make test-gpu PY="$PY" PYTEST_ARGS="--junitxml=$OUT/test_gpu.xml"
BENCH_ARGS=${BENCH_ARGS:---cuda-graphs both}
BENCH_EXTRA=${BENCH_EXTRA---baseline --precision}  # set empty to skip the straightforward baseline and precision
PER_EDGE_ARGS=${PER_EDGE_ARGS:-$BENCH_ARGS}
part bench "${BENCH_LIMIT:-300}" "$PY" tools/benchmark.py configs/darts_cifar10.py --device "$DEVICE" --batch "$BATCH" \
  --steps "$STEPS" --warmup "$WARMUP" --graph-backend "$GRAPH_BACKEND" $BENCH_EXTRA $BENCH_ARGS \
  --json "$OUT/bench.json"
part bench_per_edge "${PER_EDGE_LIMIT:-${BENCH_LIMIT:-300}}" "$PY" tools/benchmark.py configs/darts_cifar10.py \
  --device "$DEVICE" --batch "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --graph-backend "$GRAPH_BACKEND" \
  --edge-layout per_edge $PER_EDGE_ARGS --json "$OUT/bench_per_edge.json"
part bench_two_passes "${PER_EDGE_LIMIT:-${BENCH_LIMIT:-300}}" "$PY" tools/benchmark.py configs/darts_cifar10.py \
  --device "$DEVICE" --batch "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --graph-backend "$GRAPH_BACKEND" \
  --twin-pass off --order 2 --cuda-graphs on --json "$OUT/bench_two_passes.json"
part bench_cudnn 150 "$PY" tools/benchmark.py configs/darts_cifar10.py --device "$DEVICE" --batch "$BATCH" \
  --steps "$STEPS" --warmup "$WARMUP" --graph-backend "$GRAPH_BACKEND" --cuda-graphs on --cudnn-benchmark \
  --json "$OUT/bench_cudnn.json"
if [ -n "$AMP_DTYPE" ]; then
  part bench_amp 150 "$PY" tools/benchmark.py configs/darts_cifar10.py --device "$DEVICE" --batch "$BATCH" \
    --steps "$STEPS" --warmup "$WARMUP" --graph-backend "$GRAPH_BACKEND" --cuda-graphs both --amp "$AMP_DTYPE" \
    --json "$OUT/bench_amp.json"
fi
cat "$OUT/status.txt"
