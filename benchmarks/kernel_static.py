"""The GPU kernels' machine code without a GPU: SASS instructions, registers and spills.

    python benchmarks/kernel_static.py [--arch sm_90] [--out FILE]

Builds kernels.cu and the RV32IM AIR's two written-out programs (the quotient and the LogUp
rows, straight_line.py) with nvcc for ``--arch``, as CuPy's NVRTC would, and reads each
kernel's registers and spilled bytes (ptxas -v) and its SASS instruction count and mix
(cuobjdump -sass; a NOINLINE per-point function is counted in its kernel). A static profile:
it says what a change does to the code a GPU runs (fewer remainders, fewer spills) where no GPU
is at hand to time it, not how fast that code runs. Needs the CUDA toolkit's nvcc and cuobjdump
(`pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm` provide the latter); writes
benchmarks/results/kernel-static.json. The programs take about a minute to build on two cores.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import write_result

from atlasdev.engine.airbender import block_prover, kernels, straight_line
from atlasdev.engine.airbender.evaluation import QuotientKernel
from atlasdev.engine.airbender.lookup import AuxTrace

RESULTS = Path(__file__).parent / "results" / "kernel-static.json"


def cuobjdump() -> str:
    """cuobjdump from the toolkit or the nvidia-cuda-cuobjdump wheel."""
    found = shutil.which("cuobjdump")
    if found:
        return found
    wheels = importlib.util.find_spec("nvidia")  # the wheels' namespace package
    for root in (wheels.submodule_search_locations or []) if wheels else []:
        for path in sorted(Path(root).glob("cu*/bin/cuobjdump")):
            return str(path)
    raise SystemExit(
        "no cuobjdump: install the CUDA toolkit or `pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm`"
    )


def resources(ptxas_log: str) -> dict[str, dict[str, int]]:
    """Registers and spilled bytes of each function ptxas -v reports."""
    out: dict[str, dict[str, int]] = {}
    name = ""
    for line in ptxas_log.splitlines():
        if m := re.search(r"Function properties for (\S+)", line):
            name = m.group(1)
        elif (m := re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)) and name:
            out.setdefault(name, {})["spill_bytes"] = int(m.group(1))
        elif m := re.search(r"Compiling entry function '(\S+)'", line):
            name = m.group(1)
        elif (m := re.search(r"Used (\d+) registers", line)) and name:
            out.setdefault(name, {})["registers"] = int(m.group(1))
    return out


def sass_counts(sass: str) -> dict[str, collections.Counter[str]]:
    """Each kernel's SASS instructions by opcode (predicates and modifiers dropped)."""
    out: dict[str, collections.Counter[str]] = {}
    for block in sass.split("Function : ")[1:]:
        name, ops = block.split("\n", 1)[0].strip(), collections.Counter[str]()
        for line in block.splitlines():
            line = line.strip()
            if not line.startswith("/*") or "*/" not in line:
                continue
            text = line.split("*/", 1)[1].strip()
            if not text or text.startswith("/*"):
                continue
            words = text.split()
            op = words[1] if words[0].startswith("@") and len(words) > 1 else words[0]
            ops[op.split(".")[0].rstrip(";")] += 1
        out[name] = ops
    return out


def build(source: str, arch: str, tool: str) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        src, cubin = Path(tmp) / "k.cu", Path(tmp) / "k.cubin"
        src.write_text(source)
        done = subprocess.run(
            ["nvcc", "-cubin", f"-arch={arch}", "-Xptxas", "-v", "-o", str(cubin), str(src)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        sass = subprocess.run(
            [tool, "-sass", str(cubin)], capture_output=True, text=True, check=True
        ).stdout
    return resources(done.stderr), sass_counts(sass)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if shutil.which("nvcc") is None:
        raise SystemExit("no nvcc: install the CUDA toolkit")
    tool = cuobjdump()
    program = block_prover.installed_program()
    air = program.air
    modules = {
        "kernels.cu": "",
        straight_line.QUOTIENT: straight_line.quotient_source(QuotientKernel(air.air.constraints).code),
        straight_line.ROWS: straight_line.rows_source(AuxTrace(air.air, air.logup).kernel.code),
    }  # fmt: skip
    report = {}
    for module, extra in modules.items():
        regs, counts = build(kernels.source() + extra, args.arch, tool)
        wanted = [module] if extra else [k for k in counts if k not in modules]
        for name in wanted:
            point = [v for k, v in regs.items() if "_point" in k] if extra else []
            report[name] = {
                "sass_instructions": sum(counts[name].values()),
                "registers": regs.get(name, {}).get("registers"),
                "spill_bytes": max([regs.get(name, {}).get("spill_bytes", 0)]
                                   + [p.get("spill_bytes", 0) for p in point]),
                "mix": dict(counts[name].most_common(8)),
            }  # fmt: skip
    write_result(args.out, {"what": f"SASS of the GPU kernels for {args.arch}", "kernels": report})


if __name__ == "__main__":
    main()
