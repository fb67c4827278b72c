"""RV32IM encoding: opcode and funct constants, field decoders and a small assembler.

The decoders are numba `inline="always"` helpers so the emulator's hot loop and the prover's
arithmetization read fields the same way. Instruction words are handled as non-negative int64
values (a u32 zero-extended): numba mixes uint64 with int64 into float64, and an int64 holding a
u32 never needs that mix. The encoders (plain Python) build instruction words for tests and
hand-written programs; they are checked against the GNU assembler in the tests.
"""

from numba import njit

# ---- major opcodes (bits 6:0) -------------------------------------------------------------------
OP_LOAD = 0x03
OP_MISC_MEM = 0x0F  # FENCE, FENCE.I
OP_IMM = 0x13
OP_AUIPC = 0x17
OP_STORE = 0x23
OP_REG = 0x33  # ALU register-register, and the M extension (funct7 = 1)
OP_LUI = 0x37
OP_BRANCH = 0x63
OP_JALR = 0x67
OP_JAL = 0x6F
OP_SYSTEM = 0x73  # ECALL, EBREAK

# ---- funct3 -------------------------------------------------------------------------------------
# branches
F3_BEQ, F3_BNE, F3_BLT, F3_BGE, F3_BLTU, F3_BGEU = 0, 1, 4, 5, 6, 7
# loads
F3_LB, F3_LH, F3_LW, F3_LBU, F3_LHU = 0, 1, 2, 4, 5
# stores
F3_SB, F3_SH, F3_SW = 0, 1, 2
# ALU (OP_IMM and OP_REG with funct7 0 / 0x20)
F3_ADD, F3_SLL, F3_SLT, F3_SLTU, F3_XOR, F3_SRL, F3_OR, F3_AND = 0, 1, 2, 3, 4, 5, 6, 7
F3_SUB, F3_SRA = 0, 5  # with funct7 = F7_ALT
# M extension (OP_REG with funct7 = F7_MULDIV)
F3_MUL, F3_MULH, F3_MULHSU, F3_MULHU, F3_DIV, F3_DIVU, F3_REM, F3_REMU = 0, 1, 2, 3, 4, 5, 6, 7

# ---- funct7 -------------------------------------------------------------------------------------
F7_BASE = 0x00
F7_ALT = 0x20  # SUB, SRA, SRAI
F7_MULDIV = 0x01

# ---- SYSTEM immediates --------------------------------------------------------------------------
IMM_ECALL = 0
IMM_EBREAK = 1

# Linux syscall numbers (the halt / IO convention shared with qemu-riscv32 user mode)
SYS_WRITE = 64
SYS_EXIT = 93

# ABI register numbers used by the syscall convention
REG_SP = 2
REG_A0 = 10
REG_A1 = 11
REG_A2 = 12
REG_A7 = 17

MASK32 = 0xFFFFFFFF


# ---- field decoders (insn: int64 holding a u32) ------------------------------------------------
@njit(inline="always", cache=True)
def opcode(insn):
    return insn & 0x7F


@njit(inline="always", cache=True)
def rd(insn):
    return (insn >> 7) & 0x1F


@njit(inline="always", cache=True)
def funct3(insn):
    return (insn >> 12) & 0x7


@njit(inline="always", cache=True)
def rs1(insn):
    return (insn >> 15) & 0x1F


@njit(inline="always", cache=True)
def rs2(insn):
    return (insn >> 20) & 0x1F


@njit(inline="always", cache=True)
def funct7(insn):
    return insn >> 25


@njit(inline="always", cache=True)
def imm_i(insn):
    """I-type immediate, sign-extended: bits 31:20."""
    return ((insn >> 20) ^ 0x800) - 0x800


@njit(inline="always", cache=True)
def imm_s(insn):
    """S-type immediate, sign-extended: bits 31:25 | 11:7."""
    v = ((insn >> 20) & 0xFE0) | ((insn >> 7) & 0x1F)
    return (v ^ 0x800) - 0x800


@njit(inline="always", cache=True)
def imm_b(insn):
    """B-type immediate (a multiple of 2), sign-extended over 13 bits."""
    v = (
        ((insn >> 19) & 0x1000)
        | ((insn << 4) & 0x800)
        | ((insn >> 20) & 0x7E0)
        | ((insn >> 7) & 0x1E)
    )
    return (v ^ 0x1000) - 0x1000


@njit(inline="always", cache=True)
def imm_u(insn):
    """U-type immediate: bits 31:12 in place, as an unsigned 32-bit value."""
    return insn & 0xFFFFF000


@njit(inline="always", cache=True)
def imm_j(insn):
    """J-type immediate (a multiple of 2), sign-extended over 21 bits."""
    v = (
        ((insn >> 11) & 0x100000)
        | (insn & 0xFF000)
        | ((insn >> 9) & 0x800)
        | ((insn >> 20) & 0x7FE)
    )
    return (v ^ 0x100000) - 0x100000


@njit(inline="always", cache=True)
def to_signed(x):
    """A u32 held in an int64, reinterpreted as a signed 32-bit value."""
    return (x ^ 0x80000000) - 0x80000000


# ---- encoders (plain Python) --------------------------------------------------------------------
def _check_reg(*regs: int) -> None:
    for r in regs:
        if not 0 <= r < 32:
            raise ValueError(f"register x{r} out of range")


def _check_imm(imm: int, bits: int, align: int = 1) -> None:
    if not -(1 << (bits - 1)) <= imm < (1 << (bits - 1)) or imm % align:
        raise ValueError(f"immediate {imm} does not fit {bits} bits (alignment {align})")


def enc_r(op: int, f3: int, f7: int, rd_: int, rs1_: int, rs2_: int) -> int:
    _check_reg(rd_, rs1_, rs2_)
    return (f7 << 25) | (rs2_ << 20) | (rs1_ << 15) | (f3 << 12) | (rd_ << 7) | op


def enc_i(op: int, f3: int, rd_: int, rs1_: int, imm: int) -> int:
    _check_reg(rd_, rs1_)
    _check_imm(imm, 12)
    return ((imm & 0xFFF) << 20) | (rs1_ << 15) | (f3 << 12) | (rd_ << 7) | op


def enc_shift_imm(f3: int, f7: int, rd_: int, rs1_: int, shamt: int) -> int:
    """SLLI / SRLI / SRAI: shamt is 5 bits; bit 25 set is an illegal encoding on RV32."""
    _check_reg(rd_, rs1_)
    return (f7 << 25) | ((shamt & 0x1F) << 20) | (rs1_ << 15) | (f3 << 12) | (rd_ << 7) | OP_IMM


def enc_s(f3: int, rs1_: int, rs2_: int, imm: int) -> int:
    _check_reg(rs1_, rs2_)
    _check_imm(imm, 12)
    imm &= 0xFFF
    return (
        ((imm >> 5) << 25) | (rs2_ << 20) | (rs1_ << 15) | (f3 << 12) | ((imm & 0x1F) << 7)
    ) | OP_STORE


def enc_b(f3: int, rs1_: int, rs2_: int, imm: int) -> int:
    _check_reg(rs1_, rs2_)
    _check_imm(imm, 13, 2)
    imm &= 0x1FFF
    return (
        (((imm >> 12) & 1) << 31)
        | (((imm >> 5) & 0x3F) << 25)
        | (rs2_ << 20)
        | (rs1_ << 15)
        | (f3 << 12)
        | (((imm >> 1) & 0xF) << 8)
        | (((imm >> 11) & 1) << 7)
        | OP_BRANCH
    )


def enc_u(op: int, rd_: int, imm: int) -> int:
    """LUI / AUIPC: imm is the 20-bit upper immediate (the value is imm << 12)."""
    _check_reg(rd_)
    if not 0 <= imm < (1 << 20):
        raise ValueError(f"upper immediate {imm:#x} does not fit 20 bits")
    return (imm << 12) | (rd_ << 7) | op


def enc_j(rd_: int, imm: int) -> int:
    _check_reg(rd_)
    _check_imm(imm, 21, 2)
    imm &= 0x1FFFFF
    return (
        (((imm >> 20) & 1) << 31)
        | (((imm >> 1) & 0x3FF) << 21)
        | (((imm >> 11) & 1) << 20)
        | (((imm >> 12) & 0xFF) << 12)
        | (rd_ << 7)
        | OP_JAL
    )


# Mnemonic -> (kind, opcode, funct3, funct7) for the small assembler below.
_R_OPS = {
    "add": (F3_ADD, F7_BASE),
    "sub": (F3_SUB, F7_ALT),
    "sll": (F3_SLL, F7_BASE),
    "slt": (F3_SLT, F7_BASE),
    "sltu": (F3_SLTU, F7_BASE),
    "xor": (F3_XOR, F7_BASE),
    "srl": (F3_SRL, F7_BASE),
    "sra": (F3_SRA, F7_ALT),
    "or": (F3_OR, F7_BASE),
    "and": (F3_AND, F7_BASE),
    "mul": (F3_MUL, F7_MULDIV),
    "mulh": (F3_MULH, F7_MULDIV),
    "mulhsu": (F3_MULHSU, F7_MULDIV),
    "mulhu": (F3_MULHU, F7_MULDIV),
    "div": (F3_DIV, F7_MULDIV),
    "divu": (F3_DIVU, F7_MULDIV),
    "rem": (F3_REM, F7_MULDIV),
    "remu": (F3_REMU, F7_MULDIV),
}
_I_ALU = {
    "addi": F3_ADD,
    "slti": F3_SLT,
    "sltiu": F3_SLTU,
    "xori": F3_XOR,
    "ori": F3_OR,
    "andi": F3_AND,
}
_SHIFT_I = {"slli": (F3_SLL, F7_BASE), "srli": (F3_SRL, F7_BASE), "srai": (F3_SRA, F7_ALT)}
_LOADS = {"lb": F3_LB, "lh": F3_LH, "lw": F3_LW, "lbu": F3_LBU, "lhu": F3_LHU}
_STORES = {"sb": F3_SB, "sh": F3_SH, "sw": F3_SW}
_BRANCHES = {
    "beq": F3_BEQ,
    "bne": F3_BNE,
    "blt": F3_BLT,
    "bge": F3_BGE,
    "bltu": F3_BLTU,
    "bgeu": F3_BGEU,
}

R_MNEMONICS = tuple(_R_OPS)
I_ALU_MNEMONICS = tuple(_I_ALU)
SHIFT_IMM_MNEMONICS = tuple(_SHIFT_I)
LOAD_MNEMONICS = tuple(_LOADS)
STORE_MNEMONICS = tuple(_STORES)
BRANCH_MNEMONICS = tuple(_BRANCHES)

ECALL = 0x00000073
EBREAK = 0x00100073
FENCE = 0x0FF0000F  # fence iorw, iorw
NOP = 0x00000013  # addi x0, x0, 0


def encode(mnemonic: str, *ops: int) -> int:
    """One instruction word from a mnemonic and numeric operands, in assembler operand order.

    Loads are `lw rd, rs1, imm` and stores `sw rs2, rs1, imm` (the `imm(rs1)` of assembly,
    flattened); branch and jump offsets are relative to the instruction, in bytes.
    """
    m = mnemonic.lower()
    if m in _R_OPS:
        f3, f7 = _R_OPS[m]
        return enc_r(OP_REG, f3, f7, *ops)
    if m in _I_ALU:
        return enc_i(OP_IMM, _I_ALU[m], *ops)
    if m in _SHIFT_I:
        f3, f7 = _SHIFT_I[m]
        return enc_shift_imm(f3, f7, *ops)
    if m in _LOADS:
        return enc_i(OP_LOAD, _LOADS[m], *ops)
    if m in _STORES:
        rs2_, rs1_, imm = ops
        return enc_s(_STORES[m], rs1_, rs2_, imm)
    if m in _BRANCHES:
        return enc_b(_BRANCHES[m], *ops)
    if m == "lui":
        return enc_u(OP_LUI, *ops)
    if m == "auipc":
        return enc_u(OP_AUIPC, *ops)
    if m == "jal":
        return enc_j(*ops)
    if m == "jalr":
        return enc_i(OP_JALR, 0, *ops)
    if m == "ecall":
        return ECALL
    if m == "ebreak":
        return EBREAK
    if m == "fence":
        return FENCE
    raise ValueError(f"unknown mnemonic {mnemonic!r}")


def li(rd_: int, value: int) -> list[int]:
    """`li rd, value` as LUI + ADDI (always two words, so programs have a fixed layout)."""
    value &= MASK32
    lo = ((value & 0xFFF) ^ 0x800) - 0x800
    hi = ((value - lo) >> 12) & 0xFFFFF
    return [enc_u(OP_LUI, rd_, hi), enc_i(OP_IMM, F3_ADD, rd_, rd_, lo)]
