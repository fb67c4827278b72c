"""atlasdev's own small linker: one RV32 ELF relocatable object in, a program image out.

LLVM emits a single object for the whole guest, so linking is: lay out the allocatable sections
at fixed addresses (entry code first, then code, read-only data, data, bss, each page aligned so
that a loader can map them separately), resolve symbols, and apply the RISC-V relocations LLVM
emits for the medium-low code model. `.eh_frame` is dropped: the guest never unwinds.

`to_elf` writes an ELF executable of an image plus an input region, for qemu-riscv32 and the
emulator's loader alike.
"""

import struct
from dataclasses import dataclass

from .image import Image, MemoryMap, Segment

SHT_PROGBITS, SHT_SYMTAB, SHT_NOBITS, SHT_RELA = 1, 2, 8, 4
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2
STT_FUNC = 2
PAGE = 0x1000

R_RISCV_32 = 1
R_RISCV_BRANCH = 16
R_RISCV_JAL = 17
R_RISCV_CALL = 18
R_RISCV_CALL_PLT = 19
R_RISCV_PCREL_HI20 = 23
R_RISCV_PCREL_LO12_I = 24
R_RISCV_PCREL_LO12_S = 25
R_RISCV_HI20 = 26
R_RISCV_LO12_I = 27
R_RISCV_LO12_S = 28
R_RISCV_RELAX = 51


class LinkError(RuntimeError):
    """The object cannot be linked into an image; the message names the symbol or relocation."""


@dataclass
class _Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    align: int
    link: int
    info: int
    address: int = 0


def _sections(obj: bytes) -> list[_Section]:
    if obj[:4] != b"\x7fELF" or obj[4] != 1 or obj[5] != 1:
        raise LinkError("not a little-endian ELF32 object")
    (e_type, e_machine) = struct.unpack_from("<HH", obj, 16)
    if e_type != 1 or e_machine != 243:
        raise LinkError(f"not a RISC-V relocatable object (type {e_type}, machine {e_machine})")
    shoff = struct.unpack_from("<I", obj, 32)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", obj, 46)
    raw = [struct.unpack_from("<10I", obj, shoff + i * shentsize) for i in range(shnum)]
    names_off = raw[shstrndx][4]
    out = []
    for i, (name, typ, flags, _addr, off, size, link, info, align, _es) in enumerate(raw):
        end = obj.index(b"\0", names_off + name)
        out.append(
            _Section(
                i,
                obj[names_off + name : end].decode(),
                typ,
                flags,
                off,
                size,
                max(align, 1),
                link,
                info,
            )
        )
    return out


def _group(sec: _Section) -> int | None:
    """Layout order of an allocatable section, None if it is not loaded."""
    if not sec.flags & SHF_ALLOC or sec.name.startswith(".eh_frame"):
        return None
    if sec.flags & SHF_EXECINSTR:
        return 1
    if sec.type == SHT_NOBITS:
        return 4
    if sec.flags & SHF_WRITE:
        return 3
    return 2


GROUP_NAMES = ("text", "text", "rodata", "data", "bss")


def _symbols(obj: bytes, sections: list[_Section]) -> tuple[list[tuple[str, int, int, int]], int]:
    """(name, value, section index, size) per symbol, and the symbol table's section index."""
    symtab = next((s for s in sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        raise LinkError("object has no symbol table")
    strtab = sections[symtab.link]
    syms = []
    for i in range(symtab.size // 16):
        name, value, size, info, _other, shndx = struct.unpack_from(
            "<IIIBBH", obj, symtab.offset + 16 * i
        )
        end = obj.index(b"\0", strtab.offset + name)
        syms.append((obj[strtab.offset + name : end].decode(), value, shndx, size | (info << 32)))
    return syms, symtab.index


def link(obj: bytes, memory: MemoryMap, report_bytes: int = 4 * 98) -> Image:
    """Link the guest object; the start stub reports `report_bytes` of the output region."""
    sections = _sections(obj)
    loaded = sorted(
        (s for s in sections if _group(s) is not None), key=lambda s: (_group(s), s.index)
    )
    # lay out: the start stub, then page-aligned groups, sections aligned within a group
    addr = memory.text_base + STUB_BYTES
    started = {"text"}  # the text segment starts at text_base, with the stub
    for sec in loaded:
        name = GROUP_NAMES[_group(sec)]
        if name not in started:
            addr = (addr + PAGE - 1) & ~(PAGE - 1)
            started.add(name)
        addr = (addr + sec.align - 1) & ~(sec.align - 1)
        sec.address = addr
        addr += sec.size
    if addr > memory.stack_top - 0x10000:
        raise LinkError(f"image ends at 0x{addr:x}: it leaves no room for the stack")

    image = bytearray(addr - memory.text_base)
    for sec in loaded:
        if sec.type != SHT_NOBITS:
            at = sec.address - memory.text_base
            image[at : at + sec.size] = obj[sec.offset : sec.offset + sec.size]

    syms, symtab_index = _symbols(obj, sections)
    by_index = {s.index: s for s in sections}

    def address_of(sym: int) -> int:
        name, value, shndx, _ = syms[sym]
        if shndx == SHN_ABS:
            return value
        if shndx == SHN_UNDEF or shndx == SHN_COMMON:
            raise LinkError(f"undefined symbol '{name}'")
        sec = by_index[shndx]
        if _group(sec) is None:
            raise LinkError(f"symbol '{name}' lives in unloaded section {sec.name}")
        return sec.address + value

    for rela in sections:
        if rela.type != SHT_RELA or rela.link != symtab_index:
            continue
        target = by_index[rela.info]
        if _group(target) is None:
            continue
        _relocate(obj, rela, target, image, memory.text_base, address_of)

    main = next((i for i, (n, _, sh, _) in enumerate(syms) if n == MAIN and sh != SHN_UNDEF), None)
    if main is None:
        raise LinkError(f"the object does not define {MAIN}")
    stub = start_stub(memory, memory.text_base, address_of(main), report_bytes)
    image[: len(stub)] = stub
    entry = memory.text_base

    segments = []
    names = [GROUP_NAMES[_group(s)] for s in loaded]
    for name in dict.fromkeys(names):
        secs = [s for s, n in zip(loaded, names, strict=True) if n == name]
        lo = memory.text_base if name == "text" else min(s.address for s in secs)
        hi = max(s.address + s.size for s in secs)
        data = b"" if name == "bss" else bytes(image[lo - memory.text_base : hi - memory.text_base])
        segments.append(Segment(name, lo, data, hi - lo))
    functions = [(memory.text_base, STUB_BYTES, "_start")]
    for i, (name, _value, shndx, size_info) in enumerate(syms):
        if size_info >> 32 & 0xF == STT_FUNC and shndx not in (SHN_UNDEF, SHN_ABS, SHN_COMMON):
            functions.append((address_of(i), size_info & 0xFFFFFFFF, name))
    return Image(entry, tuple(segments), memory, tuple(sorted(functions)))


def _relocate(obj, rela, target, image, base, address_of) -> None:
    def read(p: int) -> int:
        return struct.unpack_from("<I", image, p - base)[0]

    def write(p: int, v: int) -> None:
        struct.pack_into("<I", image, p - base, v & 0xFFFFFFFF)

    pcrel_hi: dict[int, int] = {}
    entries = [
        struct.unpack_from("<IIi", obj, rela.offset + 12 * i) for i in range(rela.size // 12)
    ]
    # PCREL_LO12 refers to its PCREL_HI20 partner: resolve all HI20 first
    for r_offset, r_info, addend in entries:
        if r_info & 0xFF == R_RISCV_PCREL_HI20:
            p = target.address + r_offset
            off = address_of(r_info >> 8) + addend - p
            pcrel_hi[p] = off
    for r_offset, r_info, addend in entries:
        kind, sym = r_info & 0xFF, r_info >> 8
        p = target.address + r_offset
        if kind == R_RISCV_RELAX:
            continue
        if kind in (R_RISCV_PCREL_LO12_I, R_RISCV_PCREL_LO12_S):
            hi_at = address_of(sym) + addend
            if hi_at not in pcrel_hi:
                raise LinkError(f"PCREL_LO12 at 0x{p:x} has no PCREL_HI20 partner")
            v = pcrel_hi[hi_at]
            lo = v - (((v + 0x800) >> 12) << 12)
            write(p, _set_i(read(p), lo) if kind == R_RISCV_PCREL_LO12_I else _set_s(read(p), lo))
            continue
        s = address_of(sym) + addend
        if kind == R_RISCV_32:
            write(p, s)
        elif kind in (R_RISCV_CALL, R_RISCV_CALL_PLT):
            off = s - p
            hi = (off + 0x800) >> 12
            write(p, (read(p) & 0xFFF) | ((hi & 0xFFFFF) << 12))
            write(p + 4, _set_i(read(p + 4), off - (hi << 12)))
        elif kind == R_RISCV_PCREL_HI20:
            off = s - p
            write(p, (read(p) & 0xFFF) | ((((off + 0x800) >> 12) & 0xFFFFF) << 12))
        elif kind == R_RISCV_HI20:
            write(p, (read(p) & 0xFFF) | ((((s + 0x800) >> 12) & 0xFFFFF) << 12))
        elif kind == R_RISCV_LO12_I:
            write(p, _set_i(read(p), s - (((s + 0x800) >> 12) << 12)))
        elif kind == R_RISCV_LO12_S:
            write(p, _set_s(read(p), s - (((s + 0x800) >> 12) << 12)))
        elif kind == R_RISCV_BRANCH:
            write(p, _set_b(read(p), s - p))
        elif kind == R_RISCV_JAL:
            write(p, _set_j(read(p), s - p))
        else:
            raise LinkError(f"unsupported relocation type {kind} at 0x{p:x} in {target.name}")


MAIN = "atlasdev_main"
STUB_BYTES = 64
SP, RA, S0, A0, A1, A2, A7 = 2, 1, 8, 10, 11, 12, 17
SYS_WRITE, SYS_EXIT = 64, 93


def _lui(rd: int, value: int) -> int:
    return ((((value + 0x800) >> 12) & 0xFFFFF) << 12) | (rd << 7) | 0x37


def _addi(rd: int, rs1: int, imm: int) -> int:
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (rd << 7) | 0x13


def _li(rd: int, value: int) -> list[int]:
    """lui + addi loading any 32-bit value (the addi's sign extension is undone by lui's +0x800)."""
    return [_lui(rd, value), _addi(rd, rd, value - (((value + 0x800) >> 12) << 12))]


def start_stub(memory: MemoryMap, at: int, main: int, report_bytes: int) -> bytes:
    """The guest's first instructions: stack, call atlasdev_main, write the report, exit(status).

    Encoded here because llvmlite offers no RISC-V assembler.
    """
    ecall = 0x00000073
    code = [*_li(SP, memory.stack_top)]
    code.append(_set_j(0x6F | (RA << 7), main - (at + 4 * len(code))))  # jal ra, main
    code += [
        _addi(S0, A0, 0),
        _addi(A0, 0, 1),
        *_li(A1, memory.output_base),
        *_li(A2, report_bytes),
        _addi(A7, 0, SYS_WRITE),
        ecall,
        _addi(A0, S0, 0),
        _addi(A7, 0, SYS_EXIT),
        ecall,
        0x0000006F,
    ]  # j . (never reached)
    stub = struct.pack(f"<{len(code)}I", *code)
    assert len(stub) <= STUB_BYTES
    return stub.ljust(STUB_BYTES, b"\0")


def _set_i(insn: int, imm: int) -> int:
    return (insn & 0x000FFFFF) | ((imm & 0xFFF) << 20)


def _set_s(insn: int, imm: int) -> int:
    imm &= 0xFFF
    return (insn & 0x01FFF07F) | ((imm >> 5) << 25) | ((imm & 0x1F) << 7)


def _set_b(insn: int, off: int) -> int:
    if not -4096 <= off < 4096 or off & 1:
        raise LinkError(f"branch offset {off} out of range")
    o = off & 0x1FFF
    return (
        (insn & 0x01FFF07F)
        | (((o >> 12) & 1) << 31)
        | (((o >> 5) & 0x3F) << 25)
        | (((o >> 1) & 0xF) << 8)
        | (((o >> 11) & 1) << 7)
    )


def _set_j(insn: int, off: int) -> int:
    if not -(1 << 20) <= off < (1 << 20) or off & 1:
        raise LinkError(f"jump offset {off} out of range")
    o = off & 0x1FFFFF
    return (
        (insn & 0xFFF)
        | (((o >> 20) & 1) << 31)
        | (((o >> 1) & 0x3FF) << 21)
        | (((o >> 11) & 1) << 20)
        | (((o >> 12) & 0xFF) << 12)
    )


def to_elf(image: Image, input_words: bytes) -> bytes:
    """An ELF32 executable of the image with the input region filled (for QEMU and loaders).

    Besides the image's segments it maps, as zero-filled memory, the stack (from the end of the
    image up to the stack top), the rest of the input region, the work and the output regions.
    """
    m = image.memory
    if len(input_words) > m.input_size:
        raise LinkError(f"input of {len(input_words)} bytes exceeds the {m.input_size}-byte region")
    end = max(s.address + s.size for s in image.segments)
    stack_lo = (end + PAGE - 1) & ~(PAGE - 1)
    loads: list[tuple[int, bytes, int, int]] = []  # (address, file bytes, memsz, flags)
    for seg in image.segments:
        flags = {"text": 5, "rodata": 4}.get(seg.name, 6)
        loads.append((seg.address, seg.data, seg.size, flags))
    loads.append((stack_lo, b"", m.stack_top - stack_lo, 6))
    loads.append((m.input_base, input_words, m.input_size, 6))
    loads.append((m.work_base, b"", m.work_size, 6))
    loads.append((m.output_base, b"", m.output_size, 6))
    phoff = 52
    data_off = (phoff + 32 * len(loads) + PAGE - 1) & ~(PAGE - 1)
    headers, blobs = [], []
    off = data_off
    for addr, data, memsz, flags in loads:
        off = (off + PAGE - 1) & ~(PAGE - 1)
        off += (addr - off) % PAGE  # p_offset == p_vaddr modulo the page size
        headers.append(struct.pack("<8I", 1, off, addr, addr, len(data), memsz, flags, PAGE))
        blobs.append((off, data))
        off += len(data)
    ehdr = (
        b"\x7fELF\x01\x01\x01"
        + bytes(9)
        + struct.pack(
            "<HHIIIIIHHHHHH", 2, 243, 1, image.entry, phoff, 0, 0, 52, 32, len(loads), 40, 0, 0
        )
    )
    out = bytearray(off)
    out[:52] = ehdr
    out[phoff : phoff + 32 * len(loads)] = b"".join(headers)
    for at, data in blobs:
        out[at : at + len(data)] = data
    return bytes(out)
