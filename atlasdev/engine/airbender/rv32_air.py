"""The RV32IM AIR: one CPU row per executed instruction, constrained to the RISC-V semantics.

What a row holds and why (the design, with what is not covered yet, is in docs/prover.md):

- The instruction: (pc, op, rd, rs1, rs2, imm bytes, signed imm, constant result, writes-rd,
  uses-imm) looked up in the program ROM (preprocessed, so the image ID binds the code), and a
  one-hot flag per op whose weighted sum is the ROM's op.
- Values as bytes: X (rs1), B (rs2), Z (the second operand: B or the immediate), D (the result
  written to rd), S (the adder's output), L (X op Z through the byte-operation table). A 32-bit
  word does not fit in BabyBear, so words are compared limb by limb (16-bit limbs of bytes);
  every byte is range-checked by a lookup.
- Registers live in memory, checked by an offline memory argument: each access reads the cell's
  (value, previous timestamp) and writes (value', now) into a LogUp multiset; the register table
  (rows 0..31) writes the initial zeros and reads the final values, and each read's previous
  timestamp is range-checked to be older than now. So every read returns the last write.
- Control flow: the next row's pc is this row's next pc; execution starts at the entry point,
  stays active until an exit ecall (a7 = 93), and the last row must be inactive: a proof covers a
  whole run to its exit, never a prefix.

Each constraint has degree <= 3 and each lookup tuple is linear in the cells, which keeps LogUp's
paired helper columns at degree 3 and the quotient at two chunks (blowup 4).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import air as A
from . import field, lookup
from .air import Air, Expr, Where
from .lookup import Interaction
from .rom import BRANCHES, FIELDS, Op

BYTE_TABLE_LOG = 16  # the byte-pair table: 65536 rows, the smallest trace
N_REGS = 32
TS_PER_ROW = 4  # timestamps: 4 row + 1 (rs1), + 2 (rs2), + 3 (memory, later), + 4 (rd)

TAG_AND, TAG_OR, TAG_XOR, TAG_RANGE, TAG_ROM, TAG_MEM = 1, 2, 3, 4, 5, 6
SYS_EXIT = 93
SYS_WRITE = 64


class Columns:
    """Names to column indices for one matrix, allocated in order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.index: dict[str, int] = {}

    def one(self, name: str) -> Expr:
        if name in self.index:
            raise ValueError(f"column {name} declared twice")
        self.index[name] = len(self.index)
        return Expr(self.kind, value=self.index[name])

    def many(self, name: str, count: int) -> list[Expr]:
        return [self.one(f"{name}{i}") for i in range(count)]

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class Rv32Air:
    """The AIR with its column map (for the trace builder) and LogUp layout."""

    air: Air
    pre: Columns
    main: Columns
    logup: lookup.LogUp
    entry: int
    ops: list[Op]


def lo16(b: list[Expr]) -> Expr:
    return b[0] + 256 * b[1]


def hi16(b: list[Expr]) -> Expr:
    return b[2] + 256 * b[3]


def build(entry: int) -> Rv32Air:
    """The AIR of a program whose execution starts at ``entry``."""
    air = Air("rv32im", n_pre=0, n_main=0)
    pre, cols = Columns("pre"), Columns("main")
    ops = list(Op)

    # ---- preprocessed: row index, the byte table, the ROM, the register rows ------------------
    idx = pre.one("idx")
    ta, tb, t_and, t_or, t_xor = (pre.one(n) for n in ("ta", "tb", "t_and", "t_or", "t_xor"))
    rom = {name: pre.one(f"rom_{name}") for name in FIELDS}
    reg_row = pre.one("reg_row")

    # ---- main ----------------------------------------------------------------------------------
    active, pc, next_pc = cols.one("active"), cols.one("pc"), cols.one("next_pc")
    ins = {name: cols.one(name) for name in FIELDS if name != "pc"}
    flag = {op: cols.one(f"f_{op.name.lower()}") for op in ops}
    X, B, Z, D, S, L = (cols.many(n, 4) for n in ("x", "b", "z", "d", "s", "l"))
    c0, c1, sx, sz, lt = (cols.one(n) for n in ("c0", "c1", "sx", "sz", "lt"))
    inv_s, is_zero, taken, j0 = (cols.one(n) for n in ("inv_s", "is_zero", "taken", "j0"))
    prev = cols.many("prev_ts", 3)  # rs1, rs2, rd
    old_lo, old_hi = cols.one("old_lo"), cols.one("old_hi")  # rd's value before the write
    dlo = cols.many("dlo", 3)  # now - prev - 1 = dlo + 2^16 dhi, per access
    dhi = cols.many("dhi", 3)
    m_flo, m_fhi, m_fts = cols.one("m_flo"), cols.one("m_fhi"), cols.one("m_fts")
    mult = {name: cols.one(f"mult_{name}") for name in ("and", "or", "xor", "range", "rom")}

    def add(where: Where, expr: Expr, name: str) -> None:
        air.add(where, expr, name)

    def every(expr: Expr, name: str) -> None:
        add(Where.EVERY_ROW, expr, name)

    f = flag
    imm = [ins["imm0"], ins["imm1"], ins["imm2"], ins["imm3"]]

    # ---- decoding: one flag per op, matching the ROM's op --------------------------------------
    every(active * (active - 1), "active is boolean")
    flag_sum: Expr = A.lift(0)
    op_sum: Expr = A.lift(0)
    for op in ops:
        every(f[op] * (f[op] - 1), f"{op.name} flag is boolean")
        flag_sum = flag_sum + f[op]
        op_sum = op_sum + int(op) * f[op]
    every(flag_sum - active, "an active row does exactly one op")
    every(op_sum - ins["op"], "the flag is the ROM's op")
    every((1 - active) * ins["wr"], "inactive rows write nothing")

    # ---- the second operand ---------------------------------------------------------------------
    for i in range(4):
        every(Z[i] - B[i] - ins["use_imm"] * (imm[i] - B[i]), f"z{i} is rs2 or the immediate")

    # ---- the adder: S = X + Z (add mode) or X = S + Z (sub mode), carries c0, c1 ----------------
    adds = f[Op.ADD] + f[Op.JALR]
    subs = f[Op.SUB] + f[Op.SLT] + f[Op.SLTU]
    for op in BRANCHES:
        subs = subs + f[op]
    every(adds * (lo16(X) + lo16(Z) - lo16(S) - 65536 * c0), "add: low limb")
    every(adds * (hi16(X) + hi16(Z) + c0 - hi16(S) - 65536 * c1), "add: high limb")
    every(subs * (lo16(S) + lo16(Z) - lo16(X) - 65536 * c0), "sub: low limb")
    every(subs * (hi16(S) + hi16(Z) + c0 - hi16(X) - 65536 * c1), "sub: high limb")
    every(c0 * (c0 - 1), "c0 is boolean")
    every(c1 * (c1 - 1), "c1 is boolean")

    # ---- comparisons: signs through the byte table, lt, zero test of S ---------------------------
    every(sx * (sx - 1), "sx is boolean")
    every(sz * (sz - 1), "sz is boolean")
    # X < Z signed: the signs differ and X is negative, or they agree and X - Z borrows.
    every(lt - sx * (1 - sz) - (1 - sx - sz + 2 * sx * sz) * c1, "signed less-than")
    s_sum = S[0] + S[1] + S[2] + S[3]
    every(is_zero - 1 + s_sum * inv_s, "is_zero = 1 - S inv")
    every(is_zero * s_sum, "is_zero only when S = 0")
    cond = (
        f[Op.BEQ] * is_zero
        + f[Op.BNE] * (1 - is_zero)
        + f[Op.BLT] * lt
        + f[Op.BGE] * (1 - lt)
        + f[Op.BLTU] * c1
        + f[Op.BGEU] * (1 - c1)
    )
    every(taken - cond, "branch taken")

    # ---- results --------------------------------------------------------------------------------
    for i in range(4):
        every((f[Op.ADD] + f[Op.SUB]) * (D[i] - S[i]), f"add/sub result byte {i}")
        every((f[Op.AND] + f[Op.OR] + f[Op.XOR]) * (D[i] - L[i]), f"logic result byte {i}")
        every(f[Op.ECALL] * (D[i] - B[i]), f"ecall: a0 = a2, byte {i}")
    consts = f[Op.LUI] + f[Op.AUIPC] + f[Op.JAL] + f[Op.JALR]
    every(consts * (lo16(D) - ins["klo"]), "constant result, low limb")
    every(consts * (hi16(D) - ins["khi"]), "constant result, high limb")
    every(f[Op.SLT] * (D[0] - lt) + f[Op.SLTU] * (D[0] - c1), "set-less-than bit")
    every((f[Op.SLT] + f[Op.SLTU]) * (D[1] + D[2] + D[3]), "set-less-than high bytes")

    # ---- control flow ---------------------------------------------------------------------------
    sequential = f[Op.ADD] + f[Op.SUB] + f[Op.AND] + f[Op.OR] + f[Op.XOR] + f[Op.SLT] + f[Op.SLTU]
    sequential = sequential + f[Op.LUI] + f[Op.AUIPC] + f[Op.NOP]
    branch: Expr = A.lift(0)
    for op in BRANCHES:
        branch = branch + f[op]
    s_field = S[0] + 256 * S[1] + 65536 * S[2]  # S3 = 0 for jalr: the target is below 2^24
    target = (
        sequential * (pc + 4)
        + f[Op.JAL] * (pc + ins["immf"])
        + branch * (pc + 4)
        + taken * (ins["immf"] - 4)
        + f[Op.JALR] * (s_field - j0)
        + f[Op.ECALL] * (pc + 4)
    )
    every(next_pc - target, "next pc")
    every(f[Op.JALR] * S[3], "jalr target below 2^24")
    every(j0 * (j0 - 1), "j0 is boolean")
    add(Where.TRANSITION, active.next * (pc.next - next_pc), "the next row runs the next pc")
    add(Where.TRANSITION, active.next * (1 - active), "a halted machine stays halted")
    halts = f[Op.ECALL] * is_exit_expr(X)
    add(Where.TRANSITION, active * (1 - active.next) - halts, "only an exit ecall halts")
    add(Where.FIRST_ROW, active - 1, "the run starts active")
    add(Where.FIRST_ROW, pc - entry, "the run starts at the entry point")
    add(Where.LAST_ROW, active, "the run has halted by the last row")
    # ecalls: a7 is 93 (exit) or 64 (write): (X0 - 93)(X0 - 64) = 0 with X1..X3 = 0
    every(f[Op.ECALL] * (X[0] - SYS_EXIT) * (X[0] - SYS_WRITE), "ecall is exit or write")
    every(f[Op.ECALL] * (X[1] + X[2] + X[3]), "ecall number below 256")

    # ---- lookups --------------------------------------------------------------------------------
    its: list[Interaction] = []
    rom_tuple = (A.lift(TAG_ROM), pc, *(ins[n] for n in FIELDS if n != "pc"))
    its.append(Interaction(rom_tuple, active, "instruction from the ROM"))
    tag = TAG_AND + f[Op.OR] + 2 * f[Op.XOR]
    for i in range(4):
        its.append(Interaction((tag, X[i], Z[i], L[i]), active, f"byte op {i}"))
        its.append(
            Interaction((A.lift(TAG_RANGE), 256 * D[i] + S[i]), active, f"D{i}, S{i} are bytes")
        )
    its.append(Interaction((A.lift(TAG_AND), X[3], A.lift(128), 128 * sx), active, "sign of X"))
    its.append(Interaction((A.lift(TAG_AND), Z[3], A.lift(128), 128 * sz), active, "sign of Z"))
    its.append(Interaction((A.lift(TAG_AND), S[0], A.lift(1), j0), f[Op.JALR], "jalr clears bit 0"))
    its.append(
        Interaction((A.lift(TAG_AND), S[2], A.lift(252), A.lift(0)), f[Op.JALR], "jalr S2 < 4")
    )

    # registers: read (value, prev) then write (value', now) for rs1, rs2 and rd
    now = [TS_PER_ROW * idx + k for k in (1, 2, 4)]
    accesses = [
        (ins["rs1"], lo16(X), hi16(X), lo16(X), hi16(X), active, "rs1"),
        (ins["rs2"], lo16(B), hi16(B), lo16(B), hi16(B), active, "rs2"),
        (ins["rd"], old_lo, old_hi, lo16(D), hi16(D), ins["wr"], "rd"),
    ]
    for k, (reg, rlo, rhi, wlo, whi, m, name) in enumerate(accesses):
        mem = A.lift(TAG_MEM)
        its.append(Interaction((mem, reg, rlo, rhi, prev[k]), -m, f"{name} reads"))
        its.append(Interaction((mem, reg, wlo, whi, now[k]), m, f"{name} writes"))
        every(m * (now[k] - prev[k] - 1 - dlo[k] - 65536 * dhi[k]), f"{name}: prev < now")
        its.append(Interaction((A.lift(TAG_RANGE), dlo[k]), m, f"{name}: ts gap low limb"))
    its.append(Interaction((A.lift(TAG_RANGE), 256 * dhi[0] + dhi[1]), active, "ts gap high bytes"))
    its.append(Interaction((A.lift(TAG_RANGE), 256 * dhi[2]), active, "ts gap high byte"))
    # the register file: zeros written at time 0, final values read at the end
    mem = A.lift(TAG_MEM)
    its.append(
        Interaction((mem, idx, A.lift(0), A.lift(0), A.lift(0)), reg_row, "registers start at 0")
    )
    its.append(Interaction((mem, idx, m_flo, m_fhi, m_fts), -reg_row, "registers' final values"))

    # the tables' side: minus how often each entry was used
    its.append(Interaction((A.lift(TAG_AND), ta, tb, t_and), -mult["and"], "AND table"))
    its.append(Interaction((A.lift(TAG_OR), ta, tb, t_or), -mult["or"], "OR table"))
    its.append(Interaction((A.lift(TAG_XOR), ta, tb, t_xor), -mult["xor"], "XOR table"))
    its.append(Interaction((A.lift(TAG_RANGE), 256 * ta + tb), -mult["range"], "16-bit table"))
    rom_entry = (A.lift(TAG_ROM), *(rom[n] for n in FIELDS))
    its.append(Interaction(rom_entry, -mult["rom"], "ROM"))

    air.n_pre, air.n_main = len(pre), len(cols)
    layout = lookup.add_logup(air, its)
    return Rv32Air(air, pre, cols, layout, entry, ops)


def is_exit_expr(X: list[Expr]) -> Expr:
    """1 when a7 (X) is 93 (exit), 0 when it is 64 (write): the only two numbers an ecall row
    may carry, so the line through them is exact."""
    return (X[0] - SYS_WRITE) * field.inv(SYS_EXIT - SYS_WRITE)
