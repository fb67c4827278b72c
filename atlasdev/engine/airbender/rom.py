"""The program ROM: every instruction of the image, decoded once at setup into the fields the
RV32IM AIR constrains, and committed as preprocessed columns (so the image ID binds the code).

A CPU row proves which instruction it executed by looking its (pc, decoded fields) up in this
table; the prover cannot execute anything the ROM does not hold. Values the instruction fixes on
its own are decoded here rather than proven per row: the immediate (as 4 bytes and as a signed
field element), and the constant result of LUI, AUIPC, JAL and JALR (imm, pc + imm, pc + 4).

Words outside RV32IM as the AIR defines it (EBREAK, CSR instructions, illegal encodings) decode
to op 0, which no CPU row can take: a program may contain them, but an execution that reaches
one cannot be proven (`unsupported_at` names it for the error message).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import isa
from .field import P


class Op(IntEnum):
    """The operations a CPU row can perform (0: none, the ROM's mark for unsupported)."""

    ADD = 1
    SUB = 2
    AND = 3
    OR = 4
    XOR = 5
    SLT = 6
    SLTU = 7
    LUI = 8
    AUIPC = 9
    JAL = 10
    JALR = 11
    BEQ = 12
    BNE = 13
    BLT = 14
    BGE = 15
    BLTU = 16
    BGEU = 17
    ECALL = 18
    NOP = 19  # FENCE
    LB = 20
    LH = 21
    LW = 22
    LBU = 23
    LHU = 24
    SB = 25
    SH = 26
    SW = 27
    SLL = 28
    SRL = 29
    SRA = 30
    MUL = 31
    MULH = 32
    MULHSU = 33
    MULHU = 34
    DIV = 35
    DIVU = 36
    REM = 37
    REMU = 38


BRANCHES = (Op.BEQ, Op.BNE, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU)
LOADS = (Op.LB, Op.LH, Op.LW, Op.LBU, Op.LHU)
STORES = (Op.SB, Op.SH, Op.SW)
MULTIPLIES = (Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU)
SHIFTS = (Op.SLL, Op.SRL, Op.SRA)
DIVISIONS = (Op.DIV, Op.DIVU, Op.REM, Op.REMU)
FIELDS = (
    "pc",
    "op",
    "rd",
    "rs1",
    "rs2",
    "imm0",
    "imm1",
    "imm2",
    "imm3",
    "immf",
    "klo",
    "khi",
    "wr",
    "use_imm",
)

_ALU = {
    isa.F3_ADD: Op.ADD,
    isa.F3_SLT: Op.SLT,
    isa.F3_SLTU: Op.SLTU,
    isa.F3_XOR: Op.XOR,
    isa.F3_OR: Op.OR,
    isa.F3_AND: Op.AND,
}
_SHIFT = {
    (isa.F3_SLL, isa.F7_BASE): Op.SLL,
    (isa.F3_SRL, isa.F7_BASE): Op.SRL,
    (isa.F3_SRA, isa.F7_ALT): Op.SRA,
}
_MULDIV = {
    isa.F3_MUL: Op.MUL,
    isa.F3_MULH: Op.MULH,
    isa.F3_MULHSU: Op.MULHSU,
    isa.F3_MULHU: Op.MULHU,
    isa.F3_DIV: Op.DIV,
    isa.F3_DIVU: Op.DIVU,
    isa.F3_REM: Op.REM,
    isa.F3_REMU: Op.REMU,
}
_LOAD = {
    isa.F3_LB: Op.LB,
    isa.F3_LH: Op.LH,
    isa.F3_LW: Op.LW,
    isa.F3_LBU: Op.LBU,
    isa.F3_LHU: Op.LHU,
}
_STORE = {isa.F3_SB: Op.SB, isa.F3_SH: Op.SH, isa.F3_SW: Op.SW}
_BRANCH = {
    isa.F3_BEQ: Op.BEQ,
    isa.F3_BNE: Op.BNE,
    isa.F3_BLT: Op.BLT,
    isa.F3_BGE: Op.BGE,
    isa.F3_BLTU: Op.BLTU,
    isa.F3_BGEU: Op.BGEU,
}


@dataclass(frozen=True)
class Decoded:
    op: int
    rd: int = 0
    rs1: int = 0
    rs2: int = 0
    imm: int = 0  # signed
    const: int = 0  # the instruction's constant result (u32), where it has one
    writes: bool = False  # writes a register other than x0
    use_imm: bool = False  # the second ALU operand is the immediate, not rs2


def decode(pc: int, insn: int) -> Decoded:
    """The ROM entry for one instruction word (op 0 when the prover does not support it)."""
    opc, f3, f7 = isa.opcode(insn), isa.funct3(insn), isa.funct7(insn)
    rd, rs1, rs2 = isa.rd(insn), isa.rs1(insn), isa.rs2(insn)
    w = rd != 0
    if opc == isa.OP_REG and (f3, f7) in _SHIFT:
        return Decoded(_SHIFT[(f3, f7)], rd, rs1, rs2, writes=w)
    if opc == isa.OP_IMM and (f3, f7) in _SHIFT:
        return Decoded(_SHIFT[(f3, f7)], rd, rs1, 0, isa.imm_i(insn), writes=w, use_imm=True)
    if opc == isa.OP_REG and f7 == isa.F7_MULDIV:
        return Decoded(_MULDIV[f3], rd, rs1, rs2, writes=w)
    if opc == isa.OP_REG and f7 in (isa.F7_BASE, isa.F7_ALT):
        alt = Op.SUB if f3 == isa.F3_SUB else 0
        op = alt if f7 == isa.F7_ALT else _ALU.get(f3, 0)
        return Decoded(op, rd, rs1, rs2, writes=w)
    if opc == isa.OP_IMM and f3 in _ALU:
        return Decoded(_ALU[f3], rd, rs1, 0, isa.imm_i(insn), writes=w, use_imm=True)
    if opc == isa.OP_LUI:
        imm = isa.imm_u(insn)
        return Decoded(Op.LUI, rd, imm=isa.to_signed(imm), const=imm, writes=w)
    if opc == isa.OP_AUIPC:
        imm = isa.imm_u(insn)
        return Decoded(
            Op.AUIPC, rd, imm=isa.to_signed(imm), const=(pc + imm) & isa.MASK32, writes=w
        )
    if opc == isa.OP_JAL:
        return Decoded(Op.JAL, rd, imm=isa.imm_j(insn), const=(pc + 4) & isa.MASK32, writes=w)
    if opc == isa.OP_JALR and f3 == 0:
        imm = isa.imm_i(insn)
        return Decoded(Op.JALR, rd, rs1, 0, imm, (pc + 4) & isa.MASK32, w, use_imm=True)
    if opc == isa.OP_BRANCH and f3 in _BRANCH:
        return Decoded(_BRANCH[f3], 0, rs1, rs2, isa.imm_b(insn))
    if opc == isa.OP_LOAD and f3 in _LOAD:
        return Decoded(_LOAD[f3], rd, rs1, 0, isa.imm_i(insn), writes=w, use_imm=True)
    if opc == isa.OP_STORE and f3 in _STORE:
        return Decoded(_STORE[f3], 0, rs1, rs2, isa.imm_s(insn), use_imm=True)
    if insn == isa.ECALL:
        # a7 says which call: exit (93) halts, write (64) sets a0 = a2 and goes on.
        return Decoded(Op.ECALL, isa.REG_A0, isa.REG_A7, isa.REG_A2, writes=True)
    if opc == isa.OP_MISC_MEM:
        return Decoded(Op.NOP)
    return Decoded(0)


@dataclass(frozen=True)
class Rom:
    """The decoded program: one row per instruction word of the text segment."""

    base: int
    words: np.ndarray  # u32 instruction words
    columns: np.ndarray  # (len(FIELDS), rows) u32, field elements

    @classmethod
    def build(cls, base: int, words: np.ndarray) -> Rom:
        cols = np.zeros((len(FIELDS), len(words)), dtype=np.uint32)
        for i, insn in enumerate(int(w) for w in words):
            pc = base + 4 * i
            d = decode(pc, insn)
            imm = d.imm & isa.MASK32
            cols[:, i] = [
                pc,
                d.op,
                d.rd,
                d.rs1,
                d.rs2,
                imm & 0xFF,
                (imm >> 8) & 0xFF,
                (imm >> 16) & 0xFF,
                imm >> 24,
                d.imm % P,
                d.const & 0xFFFF,
                d.const >> 16,
                int(d.writes),
                int(d.use_imm),
            ]
        return cls(base, np.asarray(words, dtype=np.uint32), cols)

    def row(self, pc: int) -> int:
        i = (pc - self.base) // 4
        if pc % 4 or not 0 <= i < len(self.words):
            raise ValueError(f"pc {pc:#x} is outside the program")
        return i

    def unsupported_at(self, pc: int) -> str | None:
        """Why the instruction at pc cannot be proven, or None if it can."""
        i = self.row(pc)
        if self.columns[1, i] != 0:
            return None
        word = int(self.words[i])
        return f"instruction {word:#010x} at pc {pc:#x} is not supported by the prover (not RV32IM)"
