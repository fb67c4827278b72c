#!/usr/bin/env bash
# Issue 8's GPU checks as one script for a lent GPU machine (the `device` tool's `run`, with
# carry [".whl"] from benchmarks/device_wheels.sh). Everything goes to $OUT (8 files at most
# come back). A session's device time is 15 minutes, the machine's start included, so the
# stages come in order of what a session must not miss, each one call under 600 s, check and
# bench together under 13 minutes:
#   check  what `--prover gpu` runs (the cuda-kernels flavours) against the CPU twins, whole
#          proofs byte for byte, then the hot loops alone at 2^22 rows      (5 minutes at most)
#   bench  the prover benchmark: 1 transfer (byte check), 100 transfers at 2^22, 6 at 2^20
#                                                                         (8 minutes at most)
#   more   the array code on CuPy (the cupy flavours) and the pinned proof bytes, if time is left
# The stage is named: no call holds two of them.
set -uo pipefail
STAGE=${1:-}
case "$STAGE" in
  check | bench | more) ;;
  *) echo "usage: device_check.sh check|bench|more (one stage a call)" >&2; exit 2 ;;
esac
OUT=${OUT:-/tmp/atlasdev-device}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
TESTS="tests/engine/airbender/test_gpu.py tests/engine/airbender/test_device.py \
  tests/engine/airbender/test_kernels.py tests/engine/airbender/test_rv32_witness.py"
# pytest-xdist is on the lent machines: workers compile numba's kernels side by side
WORKERS=$(python3 -c "import xdist" 2>/dev/null && echo "-n 6" || echo "")
if [ "$STAGE" = check ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
  python3 -c "from atlasdev.engine.airbender.device import probe; print(probe())" \
    | tee -a "$OUT/gpu.txt"
  timeout 240 python3 -m pytest -q -p no:cacheprovider $WORKERS -k "cuda or nvrtc" $TESTS 2>&1 \
    | tee "$OUT/tests.log"
  # 16 columns, LDE to 2^23: butterflies and Blake2s hashes per second beside plain CuPy's on
  # an H100, the commitment's root checked against the CPU's
  timeout 60 python3 benchmarks/kernels.py --backend gpu --log-n 22 \
    --out "$OUT/kernels-gpu.json" 2>&1 | tee -a "$OUT/tests.log"
fi
if [ "$STAGE" = bench ]; then
  # transfers, segment log, byte check, seconds. Each block twice: the first of a size in a
  # process also pays first touches of fresh host and device memory (and, before its clock,
  # builds the AIR's quotient and LogUp programs for the GPU, from CuPy's disk cache after
  # the check stage). 1 transfer = 2 x 2^18 rows, checked against a CPU proof; 100 transfers
  # = 3 x 2^22 rows (the block), each then proven once more with its kernel launches
  # timed one by one ("times": where the device time goes); 6 transfers = one 2^20-row segment.
  # prover.py rewrites its result file after each block: one cut off by its timeout keeps the
  # blocks before
  for spec in "1,1 18 check 170" "100,100 22 times 220" "6,6 20 no 70"; do
    set -- $spec
    case "$3" in
      check) flag="" ;;
      times) flag="--no-check --kernel-times" ;;
      *) flag="--no-check" ;;
    esac
    timeout "$4" python3 benchmarks/prover.py --backend gpu --transfers "$1" --max-log-n "$2" \
      $flag --out "$OUT/prover-gpu-${1%%,*}tx-2e$2.json" 2>&1 | tee -a "$OUT/bench.log"
  done
fi
if [ "$STAGE" = more ]; then
  timeout 400 python3 -m pytest -q -p no:cacheprovider $WORKERS -k "cupy" $TESTS 2>&1 \
    | tee "$OUT/tests-cupy.log"
  timeout 120 python3 -m pytest -q -p no:cacheprovider tests/engine/airbender/test_stark.py \
    2>&1 | tail -3 | tee -a "$OUT/tests-cupy.log"
fi
