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
STF_WORK_BYTES = 24 << 20  # the work region's first 24 MiB; its last 8 MiB take the STF's out
REPORTED_OUTPUT_WORDS = 2 + OUT_HEADER_WORDS  # status words + public values and block meta


class BuildError(RuntimeError):
    """The STF could not be compiled to RISC-V; the message carries the compiler's reason."""


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


# The compiler-runtime helpers LLVM may call on rv32, written as LLVM IR here (not copied from a
# libgcc/compiler-rt): 64-bit division and remainder, memcpy/memmove/memset. "no-builtins" keeps
# LLVM from turning their own loops back into calls to themselves. They are plain external
# definitions, because code generation may call them after IR-level dead-code removal.
RUNTIME_IR = r"""
define i64 @__udivdi3(i64 %n, i64 %d) #100 {
  %r = call { i64, i64 } @atlasdev.udivmod64(i64 %n, i64 %d)
  %q = extractvalue { i64, i64 } %r, 0
  ret i64 %q
}
define i64 @__umoddi3(i64 %n, i64 %d) #100 {
  %r = call { i64, i64 } @atlasdev.udivmod64(i64 %n, i64 %d)
  %m = extractvalue { i64, i64 } %r, 1
  ret i64 %m
}
define i64 @__divdi3(i64 %n, i64 %d) #100 {
  %nneg = icmp slt i64 %n, 0
  %dneg = icmp slt i64 %d, 0
  %nn = sub i64 0, %n
  %dn = sub i64 0, %d
  %na = select i1 %nneg, i64 %nn, i64 %n
  %da = select i1 %dneg, i64 %dn, i64 %d
  %r = call { i64, i64 } @atlasdev.udivmod64(i64 %na, i64 %da)
  %q = extractvalue { i64, i64 } %r, 0
  %flip = xor i1 %nneg, %dneg
  %qn = sub i64 0, %q
  %out = select i1 %flip, i64 %qn, i64 %q
  ret i64 %out
}
define i64 @__moddi3(i64 %n, i64 %d) #100 {
  %nneg = icmp slt i64 %n, 0
  %dneg = icmp slt i64 %d, 0
  %nn = sub i64 0, %n
  %dn = sub i64 0, %d
  %na = select i1 %nneg, i64 %nn, i64 %n
  %da = select i1 %dneg, i64 %dn, i64 %d
  %r = call { i64, i64 } @atlasdev.udivmod64(i64 %na, i64 %da)
  %m = extractvalue { i64, i64 } %r, 1
  %mn = sub i64 0, %m
  %out = select i1 %nneg, i64 %mn, i64 %m
  ret i64 %out
}
; restoring shift-subtract division, one quotient bit per step; d = 0 gives q = ~0, r = n
; (the RISC-V DIVU/REMU convention)
define internal { i64, i64 } @atlasdev.udivmod64(i64 %n, i64 %d) #100 {
entry:
  br label %loop
loop:
  %i = phi i32 [ 63, %entry ], [ %i.next, %step ]
  %q = phi i64 [ 0, %entry ], [ %q.next, %step ]
  %r = phi i64 [ 0, %entry ], [ %r.next, %step ]
  %i64 = zext i32 %i to i64
  %bit = lshr i64 %n, %i64
  %bit1 = and i64 %bit, 1
  %r.sh = shl i64 %r, 1
  %r.in = or i64 %r.sh, %bit1
  %ge = icmp uge i64 %r.in, %d
  %r.sub = sub i64 %r.in, %d
  %r.next = select i1 %ge, i64 %r.sub, i64 %r.in
  %qbit = shl i64 1, %i64
  %q.set = or i64 %q, %qbit
  %q.next = select i1 %ge, i64 %q.set, i64 %q
  br label %step
step:
  %done = icmp eq i32 %i, 0
  %i.next = sub i32 %i, 1
  br i1 %done, label %exit, label %loop
exit:
  %res0 = insertvalue { i64, i64 } undef, i64 %q.next, 0
  %res1 = insertvalue { i64, i64 } %res0, i64 %r.next, 1
  ret { i64, i64 } %res1
}
define ptr @memset(ptr %dst, i32 %c, i32 %n) #100 {
entry:
  %b = trunc i32 %c to i8
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i.next, %body ]
  %done = icmp eq i32 %i, %n
  br i1 %done, label %exit, label %body
body:
  %p = getelementptr i8, ptr %dst, i32 %i
  store volatile i8 %b, ptr %p
  %i.next = add i32 %i, 1
  br label %loop
exit:
  ret ptr %dst
}
define ptr @memcpy(ptr %dst, ptr %src, i32 %n) #100 {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i.next, %body ]
  %done = icmp eq i32 %i, %n
  br i1 %done, label %exit, label %body
body:
  %s = getelementptr i8, ptr %src, i32 %i
  %v = load volatile i8, ptr %s
  %d = getelementptr i8, ptr %dst, i32 %i
  store volatile i8 %v, ptr %d
  %i.next = add i32 %i, 1
  br label %loop
exit:
  ret ptr %dst
}
define ptr @memmove(ptr %dst, ptr %src, i32 %n) #100 {
entry:
  %di = ptrtoint ptr %dst to i32
  %si = ptrtoint ptr %src to i32
  %forward = icmp ule i32 %di, %si
  br i1 %forward, label %fwd, label %back
fwd:
  %c = call ptr @memcpy(ptr %dst, ptr %src, i32 %n)
  ret ptr %dst
back:
  %j = phi i32 [ %n, %entry ], [ %j.next, %bbody ]
  %bdone = icmp eq i32 %j, 0
  br i1 %bdone, label %bexit, label %bbody
bbody:
  %j.next = sub i32 %j, 1
  %s = getelementptr i8, ptr %src, i32 %j.next
  %v = load volatile i8, ptr %s
  %d = getelementptr i8, ptr %dst, i32 %j.next
  store volatile i8 %v, ptr %d
  br label %back
bexit:
  ret ptr %dst
}
define linkonce_odr void @NRT_incref(ptr %p) {
  ret void
}
define linkonce_odr void @NRT_decref(ptr %p) {
  ret void
}
attributes #100 = { nounwind "no-builtins" }
"""


def _runtime_ir(core: str) -> str:
    """`atlasdev_main`: call the STF on the fixed regions and store its status.

    The STF's `out` array (header, receipts, logs, messages) lives at the end of the work region;
    only the header (public values and block meta) is copied to the output region, so the output
    region holds exactly the report: what a proof of the run makes public.

    The linker's start stub sets the stack, calls this, reports and exits (llvmlite has no
    RISC-V assembler, so the few instructions that need named registers are encoded there).
    numba's NRT_incref/NRT_decref become no-ops: the guest frees nothing (nothing is allocated)
    and has no atomics.
    """
    m = image.MEMORY
    arr = "ptr null, ptr null, i64 {n}, i64 4, ptr {data}, i64 {n}, i64 4"
    return (
        RUNTIME_IR
        + f"""
define i32 @atlasdev_main() {{
entry:
  %ret = alloca i64, align 8
  %exc = alloca ptr, align 4
  %inbase = inttoptr i32 {m.input_base} to ptr
  %n32 = load i32, ptr %inbase, align 4
  %n = zext i32 %n32 to i64
  %indata = inttoptr i32 {m.input_base + 4} to ptr
  %work = inttoptr i32 {m.work_base} to ptr
  %scratch = inttoptr i32 {m.work_base + STF_WORK_BYTES} to ptr
  %outhead = inttoptr i32 {m.output_base} to ptr
  %outdata = inttoptr i32 {m.output_base + 8} to ptr
  %numba = call i32 {core}(ptr %ret, ptr %exc, {arr.format(n="%n", data="%indata")}, {
            arr.format(n=STF_WORK_BYTES // 4, data="%work")
        }, {arr.format(n=(m.work_size - STF_WORK_BYTES) // 4, data="%scratch")})
  %copied = call ptr @memcpy(ptr %outdata, ptr %scratch, i32 {4 * OUT_HEADER_WORDS})
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
    )


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
