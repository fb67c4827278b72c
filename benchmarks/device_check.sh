#!/usr/bin/env bash
# Issue 8's GPU checks as one script for a lent GPU machine (the `device` tool's `run`, with
# carry [".whl"] from benchmarks/device_wheels.sh): the GPU backend against its CPU twins and
# the CPU backend's proof bytes, then the prover benchmark on the GPU. Everything goes to $OUT.
# `device_check.sh tests` or `device_check.sh bench` runs one stage (each fits one 600 s call);
# no argument runs both.
set -uo pipefail
STAGE=${1:-all}
OUT=${OUT:-/tmp/atlasdev-device}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "from atlasdev.engine.airbender.device import probe; print(probe())" | tee -a "$OUT/gpu.txt"
# the device flavours (cuda-kernels: what --prover gpu runs; cupy: the array code) and the
# pinned CPU proof bytes; the NumPy and host-kernel flavours ran in CI
if [ "$STAGE" != bench ]; then
timeout 420 python3 -m pytest -q -p no:cacheprovider -k "cupy or cuda" tests/engine/airbender/test_gpu.py \
  tests/engine/airbender/test_device.py tests/engine/airbender/test_kernels.py \
  tests/engine/airbender/test_rv32_witness.py 2>&1 \
  | tee "$OUT/tests.log"
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/engine/airbender/test_stark.py 2>&1 \
  | tail -3 | tee -a "$OUT/tests.log"
fi
[ "$STAGE" = tests ] && exit 0
# the hot loops alone at 2^22 rows (16 columns, LDE to 2^24): butterflies and Blake2s hashes
# per second beside plain CuPy's on an H100, the commitment's root checked against the CPU's
timeout 60 python3 benchmarks/kernels.py --backend gpu --log-n 22 --out "$OUT/kernels-gpu.json" \
  2>&1 | tee -a "$OUT/bench.log"
# transfers, segment log, byte check, seconds: 1 transfer = 2 x 2^18 rows (checked against a
# CPU proof; on a fresh machine this run also builds numba's kernels and, before its clock, the
# AIR's quotient and LogUp programs for the GPU, about a minute each), 6 transfers = one
# 2^20-row segment, 100 transfers = 3 x 2^22 rows (the block); each block twice, since
# the first of a size in a process also pays first touches of fresh host and device memory
for spec in "1,1 18 check 270" "6,6 20 no 110" "100,100 22 no 150"; do
  set -- $spec
  flag=$([ "$3" = check ] || echo --no-check)
  timeout "$4" python3 benchmarks/prover.py --backend gpu --transfers "$1" --max-log-n "$2" \
    $flag --out "$OUT/prover-gpu-${1%%,*}tx-2e$2.json" 2>&1 | tee -a "$OUT/bench.log"
done
