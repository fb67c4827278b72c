"""The independent reference: Debian's riscv64-unknown-elf-gcc and qemu-riscv32 user mode.

Tests that need them are skipped, with the package to install, when they are missing; CI
installs both (.ci/run).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

GCC = shutil.which("riscv64-unknown-elf-gcc")
QEMU = shutil.which("qemu-riscv32")

needs_gcc = pytest.mark.skipif(
    GCC is None,
    reason="riscv64-unknown-elf-gcc not found (apt-get install gcc-riscv64-unknown-elf)",
)
needs_qemu = pytest.mark.skipif(
    GCC is None or QEMU is None,
    reason="riscv64-unknown-elf-gcc or qemu-riscv32 not found "
    "(apt-get install gcc-riscv64-unknown-elf qemu-user)",
)

ARCH = ["-march=rv32im", "-mabi=ilp32"]
LINK = ["-static", "-nostdlib", "-nostartfiles", "-Wl,-Ttext=0x10000"]
C_FLAGS = [
    "-O2",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-tree-loop-distribute-patterns",  # keeps memset/memcpy from calling themselves
    "-Wall",
    "-Werror",
]

# Freestanding runtime for the C test programs: Linux syscalls through ecall, the helpers gcc may
# call, and _start (gp set up as crt0 would, then main's return value as the exit code).
C_RUNTIME = r"""
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;

__attribute__((unused)) static long sys_write(int fd, const void *buf, unsigned n) {
    register long a0 asm("a0") = fd;
    register long a1 asm("a1") = (long)buf;
    register long a2 asm("a2") = n;
    register long a7 asm("a7") = 64;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

void *memset(void *d, int c, unsigned long n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}

int main(void);

__attribute__((naked)) void _start(void) {
    asm volatile(
        ".option push\n.option norelax\nla gp, __global_pointer$\n.option pop\n"
        "call main\nli a7, 93\necall\n");
}
"""


def build(source: str, out_dir: Path, name: str, lang: str = "c") -> Path:
    """Compile and link one program; `lang` is "c" (the runtime is prepended) or "asm"."""
    assert GCC is not None
    out_dir.mkdir(parents=True, exist_ok=True)
    if lang == "c":
        src = out_dir / f"{name}.c"
        src.write_text(C_RUNTIME + source)
        flags = C_FLAGS
    else:
        src = out_dir / f"{name}.S"
        src.write_text(source)
        flags = []
    exe = out_dir / name
    cmd = [GCC, *ARCH, *flags, *LINK, str(src), "-o", str(exe), "-lgcc"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"gcc failed for {name}:\n{proc.stderr}")
    return exe


def run_qemu(exe: Path, timeout: float = 30) -> tuple[bytes, int]:
    """(stdout, exit code) of the program under qemu-riscv32."""
    assert QEMU is not None
    proc = subprocess.run([QEMU, str(exe)], capture_output=True, timeout=timeout)
    return proc.stdout, proc.returncode
