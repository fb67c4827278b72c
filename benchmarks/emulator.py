"""RV32IM emulator speed: MIPS without and with trace recording, next to qemu-riscv32.

    python benchmarks/emulator.py [--iterations N]

Builds one compute-heavy C program (hashing, multiply/divide, loads and stores of every width,
calls) with riscv64-unknown-elf-gcc -march=rv32im -mabi=ilp32, checks that the emulator and QEMU
print the same bytes, then times both. The traced run records in segments of 2^20 rows into one
reused buffer, as a prover consumes a long execution. Prints JSON and writes
benchmarks/results/emulator.json. QEMU's wall time includes its process start; the start-up of a
three-instruction program is reported separately so both figures can be read.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atlasdev.engine.airbender import emulator as em
from atlasdev.engine.airbender.elf import load_elf

RESULTS = Path(__file__).parent / "results" / "emulator.json"
SEGMENT = 1 << 20

PROGRAM = r"""
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

static long sys_write(int fd, const void *buf, unsigned n) {
    register long a0 asm("a0") = fd;
    register long a1 asm("a1") = (long)buf;
    register long a2 asm("a2") = n;
    register long a7 asm("a7") = 64;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static u32 table[1024];
static u32 result[8];

__attribute__((noinline)) static u32 mix(u32 h, u32 v) {
    h ^= v;
    h *= 0x01000193u;
    return (h << 13) | (h >> 19);
}

int main(void) {
    u32 h = 2166136261u;
    for (u32 i = 0; i < 1024; i++) table[i] = i * 2654435761u;
    for (u32 r = 0; r < ITERATIONS; r++) {
        for (u32 i = 0; i < 1024; i++) {
            u32 v = table[i];
            h = mix(h, v + r);
            table[i] = v ^ (h >> 7);
            ((u16 *)table)[(i * 3) & 2047] += (u16)h;
            h += ((u8 *)table)[(h >> 3) & 4095];
            if ((i & 15) == 0) h ^= (h / ((v | 1) & 0xffff)) + (h % 97u);
        }
    }
    for (u32 i = 0; i < 8; i++) result[i] = table[i * 127] ^ h;
    sys_write(1, result, sizeof(result));
    return (int)(h & 0x7f);
}

__attribute__((naked)) void _start(void) {
    asm volatile(
        ".option push\n.option norelax\nla gp, __global_pointer$\n.option pop\n"
        "call main\nli a7, 93\necall\n");
}
"""

EXIT_ONLY = ".globl _start\n_start:\nli a0, 0\nli a7, 93\necall\n"


def build(gcc: str, source: str, out: Path, lang: str, defines: list[str]) -> Path:
    src = out.with_suffix(".c" if lang == "c" else ".S")
    src.write_text(source)
    cmd = [gcc, "-march=rv32im", "-mabi=ilp32", "-O2", "-ffreestanding", "-fno-builtin"]
    cmd += [*defines, "-static", "-nostdlib", "-nostartfiles", "-Wl,-Ttext=0x10000"]
    subprocess.run([*cmd, str(src), "-o", str(out)], check=True)
    return out


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=1500, help="outer loop count")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = ap.parse_args()

    gcc = shutil.which("riscv64-unknown-elf-gcc")
    qemu = shutil.which("qemu-riscv32")
    if gcc is None:
        sys.exit("riscv64-unknown-elf-gcc not found (apt-get install gcc-riscv64-unknown-elf)")
    tmp = Path(tempfile.mkdtemp(prefix="atlasdev-emubench-"))
    exe = build(gcc, PROGRAM, tmp / "bench", "c", [f"-DITERATIONS={args.iterations}u"])
    prog = load_elf(exe)

    # warm-up: compile (or load from numba's cache) both kernels
    small = load_elf(build(gcc, EXIT_ONLY, tmp / "exit", "asm", []))
    small.run()
    small.run(trace=True)

    result = prog.run(max_cycles=1 << 40)
    cycles = result.cycles

    def run_fast() -> None:
        prog.run(max_cycles=1 << 40)

    seg = em.Trace.allocate(SEGMENT)
    out = np.zeros(1 << 12, dtype=np.uint8)

    def run_traced() -> None:
        mem, regs, pc, pos = prog.mem.copy(), prog.initial_regs(), prog.entry, 0
        status, total = em.ST_CYCLE_LIMIT, 0
        while status == em.ST_CYCLE_LIMIT:
            status, n, pc, pos = em.run_traced(
                mem, prog.mem_base, regs, pc, 1 << 40, out, pos, seg.array
            )
            total += n
        assert status == em.ST_HALT and total == cycles

    t_fast = best_of(args.repeat, run_fast)
    t_traced = best_of(args.repeat, run_traced)
    report = {
        "program": "FNV-style hash/mix loop (C, -O2, rv32im)",
        "instructions": cycles,
        "emulator_s": round(t_fast, 4),
        "emulator_mips": round(cycles / t_fast / 1e6, 1),
        "emulator_traced_s": round(t_traced, 4),
        "emulator_traced_mips": round(cycles / t_traced / 1e6, 1),
        "trace_segment_rows": SEGMENT,
        "trace_bytes_per_row": em.N_COLS * 4,
    }
    if qemu is not None:
        proc = subprocess.run([qemu, str(exe)], capture_output=True, check=False)
        if proc.stdout != result.output or proc.returncode != result.exit_code:
            sys.exit("emulator and qemu-riscv32 disagree on the benchmark program")
        t_qemu = best_of(
            args.repeat, lambda: subprocess.run([qemu, str(exe)], capture_output=True, check=False)
        )
        t_start = best_of(
            args.repeat,
            lambda: subprocess.run([qemu, str(tmp / "exit")], capture_output=True, check=False),
        )
        report |= {
            "qemu_wall_s": round(t_qemu, 4),
            "qemu_startup_s": round(t_start, 4),
            "qemu_mips_wall": round(cycles / t_qemu / 1e6, 1),
            "qemu_mips_minus_startup": round(cycles / max(t_qemu - t_start, 1e-9) / 1e6, 1),
            "qemu_version": subprocess.run(
                [qemu, "--version"], capture_output=True, text=True, check=False
            ).stdout.splitlines()[0],
        }
    else:
        report["qemu"] = "qemu-riscv32 not found (apt-get install qemu-user)"
    report |= {
        "machine": " ".join(
            filter(None, [platform.machine(), platform.processor(), f"{os.cpu_count()} cores"])
        ),
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
    }
    shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
