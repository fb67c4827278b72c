"""The ELF loader on hand-built executables: segments, bss, entry point, stack, and rejections."""

import struct
from pathlib import Path

import numpy as np
import pytest

from atlasdev.engine.airbender.elf import ElfError, load_elf
from atlasdev.engine.airbender.isa import ECALL, NOP, encode, li
from tests.engine.airbender.rv_toolchain import build, needs_gcc


def make_elf(
    segments: list[tuple[int, bytes, int]],
    entry: int,
    machine: int = 243,
    cls: int = 1,
    e_type: int = 2,
) -> bytes:
    """ELF32 LE executable with one PT_LOAD per (vaddr, file bytes, memsz)."""
    phoff = 52
    data_off = phoff + 32 * len(segments)
    header = b"\x7fELF" + bytes([cls, 1, 1]) + bytes(9)
    header += struct.pack(
        "<HHIIIIIHHHHHH", e_type, machine, 1, entry, phoff, 0, 0, 52, 32, len(segments), 40, 0, 0
    )
    phdrs, blobs, off = b"", b"", data_off
    for vaddr, blob, memsz in segments:
        phdrs += struct.pack("<IIIIIIII", 1, off, vaddr, vaddr, len(blob), memsz, 7, 4)
        blobs += blob
        off += len(blob)
    return header + phdrs + blobs


def _words(ws: list[int]) -> bytes:
    return np.array(ws, dtype=np.uint32).tobytes()


def test_segments_bss_entry_and_stack() -> None:
    # code at 0x20000 (entry at its second word); data at 0x21000 with 8 initialised bytes and
    # 24 bytes of bss; the program sums the bss (must be zero) and a data word, and checks sp
    code = [
        NOP,
        *li(5, 0x21000),
        encode("lw", 6, 5, 4),
        encode("lw", 7, 5, 8),
        encode("lw", 8, 5, 28),
        encode("add", 10, 6, 7),
        encode("add", 10, 10, 8),
        encode("andi", 9, 2, 15),  # sp is 16-byte aligned
        encode("add", 10, 10, 9),
        *li(17, 93),
        ECALL,
    ]
    data = _words([0xFFFFFFFF, 42])
    elf = make_elf([(0x20000, _words(code), 0x100), (0x21000, data, 32)], entry=0x20004)
    elf += b"\xff" * 64  # bytes after the last segment's file image must not leak into its bss
    prog = load_elf(elf, mem_size=0x10000)
    assert (prog.mem_base, prog.entry) == (0x20000, 0x20004)
    assert prog.sp == 0x20000 + 0x10000 - 16
    assert prog.segments == [(0x20000, 0x100), (0x21000, 32)]
    res = prog.run()
    assert res.exit_code == 42
    assert res.regs[2] == prog.sp


def test_program_runs_are_independent() -> None:
    code = [
        *li(5, 0x10100),
        encode("lw", 10, 5, 0),
        encode("addi", 10, 10, 1),
        encode("sw", 10, 5, 0),
    ]
    code += [*li(17, 93), ECALL]
    prog = load_elf(make_elf([(0x10000, _words(code), 0x200)], entry=0x10000), mem_size=0x1000)
    assert prog.run().exit_code == 1
    assert prog.run().exit_code == 1  # run() works on a copy of the memory image


@pytest.mark.parametrize(
    ("elf", "message"),
    [
        (b"\x7fELX" + bytes(60), "not an ELF file"),
        (make_elf([(0x10000, b"\0" * 4, 4)], 0x10000, cls=2), "not ELF32 little-endian"),
        (make_elf([(0x10000, b"\0" * 4, 4)], 0x10000, machine=62), "machine 62 is not RISC-V"),
        (make_elf([(0x10000, b"\0" * 4, 4)], 0x10000, e_type=3), "not a static executable"),
        (make_elf([], 0x10000), "no PT_LOAD segment"),
        (make_elf([(0x10000, b"\0" * 4, 0x20000)], 0x10000), "beyond mem_size"),
        (make_elf([(0x10000, b"\0" * 8, 4)], 0x10000), "segment 0 is malformed"),
    ],
)
def test_rejections(elf: bytes, message: str) -> None:
    with pytest.raises(ElfError, match=message):
        load_elf(elf, mem_size=0x10000)


@needs_gcc
def test_gcc_executable_with_bss(tmp_path: Path) -> None:
    src = r"""
static u32 zeros[1000];
static u32 init[4] = {1, 2, 3, 4};
int main(void) {
    u32 s = 0;
    for (int i = 0; i < 1000; i++) s += zeros[i];
    for (int i = 0; i < 4; i++) s += init[i];
    return (int)s;
}
"""
    prog = load_elf(build(src, tmp_path, "bss"))
    assert prog.entry >= 0x10000
    assert prog.run().exit_code == 10
