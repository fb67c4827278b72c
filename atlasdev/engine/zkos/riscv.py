"""zkOS's second target: the STF's own LLVM IR, re-targeted to RV32IM and emitted as an object.

The sequencer runs `stf.execute_block` compiled by numba for the host. This module takes the LLVM
IR numba generated for that same function, removes what only the host needs (the CPython
wrappers, numba's reference-counting runtime), adds the guest entry (`_start` and
`atlasdev_main`) and re-targets the module to `riscv32-unknown-elf` (cpu generic-rv32, +m, no
compressed instructions, static relocation model). No second implementation of the STF exists.

The IR is taken unoptimised (NUMBA_OPT=0) from a fresh numba compile in a subprocess with an
empty cache: numba's on-disk cache holds machine code, not IR, and its optimised IR is already
x86-specific. LLVM then optimises it for RISC-V.

Guest memory map (all fixed, see `image.py`): code and data from TEXT_BASE, the stack below
STACK_TOP, the input region (word 0: the STF input's length in words, then the input), the work
region, and the output region (word 0: numba's status, word 1: the STF status, then the STF output
whose first PUBLIC_WORDS words are the public values). The linker's start stub exits through the
Linux `exit` syscall with the STF status, after writing the output header and public values to
stdout with the `write` syscall, so qemu-riscv32 and our emulator can be compared byte for byte.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from . import image
from .layout import OUT_HEADER_WORDS

CORE_NAME = re.compile(r"@_ZN8atlasdev6engine4zkos3stf13execute_block\w*")
HOST_ONLY_PREFIXES = ("@_ZN7cpython", "@cfunc.", "@NRT_")
HOST_GLOBALS = ("@numba.dynamic.globals",)
RISCV_TRIPLE = "riscv32-unknown-elf"
RISCV_DATALAYOUT = "e-m:e-p:32:32-i64:64-n32-S128"
RISCV_CPU = "generic-rv32"
RISCV_FEATURES = "+m,-c,-relax"
REPORTED_OUTPUT_WORDS = 2 + OUT_HEADER_WORDS  # status words + public values and block meta


class BuildError(RuntimeError):
    pass


def dump_stf_ir() -> str:
    """Unoptimised LLVM IR of execute_block (and everything it calls), from a fresh compile."""
    code = (
        "import sys, numpy as np\n"
        "from atlasdev.engine.zkos import stf\n"
        "a = np.zeros(64, np.uint32)\n"
        "stf.execute_block(a, a.copy(), a.copy())\n"
        "sys.stdout.write(stf.execute_block.inspect_llvm(stf.execute_block.signatures[0]))\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_OPT": "0", "NUMBA_CACHE_DIR": cache}
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parents[3],
        )
    if proc.returncode != 0:
        raise BuildError(f"could not compile the STF for its IR: {proc.stderr.strip()[-400:]}")
    return proc.stdout


def guest_ir(host_ir: str) -> str:
    """The host module minus host-only parts, plus the guest entry, re-targeted to RV32."""
    lines = host_ir.split("\n")
    out: list[str] = []
    core = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("define"):
            name = re.search(r"@[\"\w.$-]+", line)
            end = i
            while lines[end] != "}":
                end += 1
            if name is None or not name.group(0).startswith(HOST_ONLY_PREFIXES):
                out.extend(lines[i : end + 1])
                found = CORE_NAME.search(line)
                if found and core is None:
                    core = found.group(0)
            i = end + 1
            continue
        if line.startswith("declare") and "@llvm." not in line:
            i += 1  # the Python C API and numba's helpers: only the removed wrappers use them
            continue
        if line.startswith(HOST_GLOBALS):
            # a host object's address (exception classes on raise paths the STF never takes):
            # null it, so the image does not differ from one build to the next
            line = re.sub(r"=.*$", "= linkonce global ptr null", line)
        if line.startswith("target datalayout"):
            line = f'target datalayout = "{RISCV_DATALAYOUT}"'
        elif line.startswith("target triple"):
            line = f'target triple = "{RISCV_TRIPLE}"'
        out.append(line)
        i += 1
    if core is None:
        raise BuildError("the IR holds no execute_block core function")
    text = "\n".join(out)
    text = re.sub(r'"target-(cpu|features)"="[^"]*"', "", text)
    # their names carry host addresses too: number them in order of appearance instead
    names: dict[str, str] = {}
    text = re.sub(
        r"@numba\.dynamic\.globals\.[0-9a-f]+(?:\.\d+)?",
        lambda m: names.setdefault(m.group(0), f"@atlasdev.host_object.{len(names)}"),
        text,
    )
    return text + "\n" + _runtime_ir(core)


def _runtime_ir(core: str) -> str:
    """`atlasdev_main`: call the STF on the fixed regions and store its status.

    The linker's start stub sets the stack, calls this, reports and exits (llvmlite has no
    RISC-V assembler, so the few instructions that need named registers are encoded there).
    numba's NRT_incref/NRT_decref become no-ops: the guest frees nothing (nothing is allocated)
    and has no atomics.
    """
    m = image.MEMORY
    arr = "ptr null, ptr null, i64 {n}, i64 4, ptr {data}, i64 {n}, i64 4"
    return f"""
define linkonce_odr void @NRT_incref(ptr %p) {{
  ret void
}}
define linkonce_odr void @NRT_decref(ptr %p) {{
  ret void
}}
define i32 @atlasdev_main() {{
entry:
  %ret = alloca i64, align 8
  %exc = alloca ptr, align 4
  %inbase = inttoptr i32 {m.input_base} to ptr
  %n32 = load i32, ptr %inbase, align 4
  %n = zext i32 %n32 to i64
  %indata = inttoptr i32 {m.input_base + 4} to ptr
  %work = inttoptr i32 {m.work_base} to ptr
  %outhead = inttoptr i32 {m.output_base} to ptr
  %outdata = inttoptr i32 {m.output_base + 8} to ptr
  %numba = call i32 {core}(ptr %ret, ptr %exc, {arr.format(n="%n", data="%indata")}, {
        arr.format(n=m.work_size // 4, data="%work")
    }, {arr.format(n=(m.output_size - 8) // 4, data="%outdata")})
  %status64 = load i64, ptr %ret, align 8
  %status = trunc i64 %status64 to i32
  %faulted = icmp ne i32 %numba, 0
  %final = select i1 %faulted, i32 255, i32 %status
  store i32 %numba, ptr %outhead, align 4
  %outstatus = getelementptr i32, ptr %outhead, i32 1
  store i32 %final, ptr %outstatus, align 4
  ret i32 %final
}}
"""


def compile_object(ir: str) -> bytes:
    """Optimise the guest module for RV32IM and emit an ELF relocatable object."""
    import llvmlite.binding as llvm

    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    try:
        module = llvm.parse_assembly(ir)
        module.verify()
    except RuntimeError as exc:
        raise BuildError(f"the guest IR does not verify: {str(exc).strip()[:300]}") from None
    target = llvm.Target.from_triple(RISCV_TRIPLE)
    tm = target.create_target_machine(
        cpu=RISCV_CPU, features=RISCV_FEATURES, reloc="static", codemodel="small", opt=2
    )
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module, pb)
    return tm.emit_object(module)
