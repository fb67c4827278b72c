#!/usr/bin/env bash
# The Python packages the lent GPU machine lacks (it has Python 3.12, numpy, numba, llvmlite,
# CuPy, pytest, hypothesis, typer and rich, and no network), as wheels in .whl/ for
# benchmarks/device_check.sh. Run here, where pip reaches PyPI; 9 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl \
  eth-hash==0.8.0 pycryptodome==3.24.1 eth-abi==6.0.0 eth-typing==6.0.0 eth-utils==6.0.0 \
  cytoolz==1.2.0 parsimonious==0.10.0 pydantic==2.14.4 pydantic_core==2.50.5 \
  annotated-types==0.8.0 typing-inspection==0.4.5 platformdirs==4.14.8 hexbytes==2.0.0
ls .whl
