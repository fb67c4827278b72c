"""A small ELF32 little-endian RISC-V loader: PT_LOAD segments into the emulator's flat memory.

Enough for static `-nostdlib` executables (riscv64-unknown-elf-gcc -march=rv32im -mabi=ilp32
-static -nostdlib -nostartfiles): no dynamic linking, no relocations, no auxiliary vector. Memory
starts at the lowest loaded page and spans `mem_size` bytes; bss (p_memsz beyond p_filesz) is
zero-filled; the stack pointer starts 16-byte aligned at the top of memory, growing down.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import isa
from .emulator import Result, Trace, emulate

EM_RISCV = 243
ET_EXEC = 2
PT_LOAD = 1
PAGE = 0x1000


class ElfError(ValueError):
    """The file is not a static ELF32 little-endian RISC-V executable that fits the memory."""


@dataclass
class Program:
    """A loaded executable: memory image, where it is mapped, and the initial pc and sp."""

    mem: np.ndarray  # u8[mem_size]
    mem_base: int
    entry: int
    sp: int
    segments: list[tuple[int, int]]  # (vaddr, memsz) of each PT_LOAD

    def initial_regs(self) -> np.ndarray:
        regs = np.zeros(32, dtype=np.uint32)
        regs[isa.REG_SP] = self.sp
        return regs

    def run(self, max_cycles: int = 100_000_000, trace: bool | Trace = False) -> Result:
        """Run from the entry point on a copy of the memory image (the Program stays reusable)."""
        mem = self.mem.copy()
        return emulate(mem, self.mem_base, self.initial_regs(), self.entry, max_cycles, trace)


def load_elf(data: bytes | str | Path, mem_size: int = 1 << 20) -> Program:
    """Parse an executable (bytes or a path) and lay out its PT_LOAD segments in memory."""
    if not isinstance(data, bytes | bytearray):
        data = Path(data).read_bytes()
    if len(data) < 52 or data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 1 or data[5] != 1:
        raise ElfError("not ELF32 little-endian")
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_machine != EM_RISCV:
        raise ElfError(f"machine {e_machine} is not RISC-V")
    if e_type != ET_EXEC:
        raise ElfError(f"ELF type {e_type} is not a static executable")
    entry, phoff = struct.unpack_from("<II", data, 24)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    if mem_size % PAGE or mem_size <= 0:
        raise ElfError(f"mem_size {mem_size:#x} must be a positive multiple of {PAGE:#x}")

    loads = []
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 32 > len(data):
            raise ElfError("program header table truncated")
        p_type, p_offset, p_vaddr, _, p_filesz, p_memsz = struct.unpack_from("<IIIIII", data, off)
        if p_type != PT_LOAD or p_memsz == 0:
            continue
        if p_filesz > p_memsz or p_offset + p_filesz > len(data):
            raise ElfError(f"segment {i} is malformed")
        loads.append((p_vaddr, p_memsz, p_offset, p_filesz))
    if not loads:
        raise ElfError("no PT_LOAD segment")

    mem_base = min(v for v, *_ in loads) & ~(PAGE - 1)
    top = max(v + m for v, m, *_ in loads)
    if top > mem_base + mem_size or mem_base + mem_size > 1 << 32:
        raise ElfError(
            f"segments span {mem_base:#x}..{top:#x}, beyond mem_size {mem_size:#x} from the base"
        )
    mem = np.zeros(mem_size, dtype=np.uint8)
    for vaddr, _, offset, filesz in loads:
        lo = vaddr - mem_base
        mem[lo : lo + filesz] = np.frombuffer(data, dtype=np.uint8, count=filesz, offset=offset)
    sp = (mem_base + mem_size - 16) & ~0xF
    return Program(mem, mem_base, entry, sp, [(v, m) for v, m, *_ in loads])
