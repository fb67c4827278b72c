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
- Segments (continuations): a run longer than one trace is proven as consecutive segments of
  the same size, each with public values (start pc, end pc, first cycle, is-last). A segment
  but the last runs active to its last row without exiting and ends at its end pc; the verifier
  chains end and start pcs from the entry point. Timestamps are global (first cycle + row), so
  the memory argument, whose LogUp sums must cancel over all segments, links a read in one
  segment to the write in an earlier one; the memory table (registers and words, with their
  initial and final values) is on the last segment only.

Each constraint has degree <= 3 and each lookup tuple is linear in the cells, which keeps LogUp's
paired helper columns at degree 3 and the quotient at two chunks (2n points: blowup 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import air as A
from . import field, lookup
from .air import Air, Expr, Where
from .lookup import Interaction
from .rom import BRANCHES, DIVISIONS, FIELDS, LOADS, MULTIPLIES, SHIFTS, STORES, Op

BYTE_TABLE_LOG = 16  # the byte-pair table: 65536 rows, the smallest trace
N_REGS = 32
TS_PER_ROW = 4  # timestamps: 4 row + 1 (rs1), + 2 (rs2), + 3 (memory, later), + 4 (rd)

TAG_AND, TAG_OR, TAG_XOR, TAG_RANGE, TAG_ROM, TAG_MEM, TAG_BYTES, TAG_IMAGE = 1, 2, 3, 4, 5, 6, 7, 8
TAG_POW = 9
INPUT_WORDS_LOG = 22  # the input region: at most 2^22 words (16 MiB)
# A timestamp gap is range-checked below 2^30 + 2^16; with every timestamp below 2^29 (runs up
# to 2^27 rows in all), a read of a later write would need a gap above p - 2^29 > 2^30 + 2^16.
MAX_ROWS_LOG = 27
SEGMENT_FIELDS = ("start_pc", "end_pc", "base", "last")  # after the output words' limbs
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


@dataclass(frozen=True)
class MemoryLayout:
    """Where a program's memory regions are, in bytes: what each word starts as.

    Words in [text_base, image_end) start as the image (the preprocessed image table); words in
    the input region start as the prover supplies (the block's input); every other word from
    image_end on starts at zero; words below text_base cannot be touched. The output region's
    first `output_words` words are the public values: their final contents are pinned to them.
    """

    text_base: int
    image_end: int
    input_base: int
    output_base: int
    output_words: int

    def words(self) -> list[int]:
        return [
            self.text_base,
            self.image_end,
            self.input_base,
            self.output_base,
            self.output_words,
        ]


@dataclass(frozen=True)
class Segment:
    """Where one segment of a run sits: its first pc and cycle, and the pc it hands on."""

    start_pc: int
    end_pc: int  # the next segment's start (0 on the last)
    base: int  # the run's cycle on the segment's row 0
    last: bool

    def publics(self, output_limbs: list[int]) -> list[int]:
        """The segment's public values: the output words' limbs, then the segment fields."""
        return [*output_limbs, self.start_pc, self.end_pc, self.base, int(self.last)]


def chain(entry: int, boundaries: list[int], log_n: int) -> list[Segment]:
    """The segments a verifier expects for a run handed on at these pcs: the first starts at
    the entry point, each next one where the one before ends, segment i's row 0 is cycle
    i 2^log_n, and only the last may (and must) exit."""
    starts, ends = [entry, *boundaries], [*boundaries, 0]
    count = len(starts)
    return [Segment(starts[i], ends[i], i << log_n, i == count - 1) for i in range(count)]


@dataclass
class Rv32Air:
    """The AIR with its column map (for the trace builder) and LogUp layout."""

    air: Air
    pre: Columns
    main: Columns
    logup: lookup.LogUp
    entry: int
    memory: MemoryLayout
    ops: list[Op]


def word_key(word_index: int) -> int:
    """The memory argument's address of a memory word (registers take keys 0..31)."""
    return N_REGS + word_index


def lo16(b: list[Expr]) -> Expr:
    return b[0] + 256 * b[1]


def hi16(b: list[Expr]) -> Expr:
    return b[2] + 256 * b[3]


def build(entry: int, memory: MemoryLayout) -> Rv32Air:
    """The AIR of a program whose execution starts at ``entry`` with this memory layout."""
    k_out = memory.output_words
    n_public = 2 * k_out + len(SEGMENT_FIELDS)
    air = Air("rv32im", n_pre=0, n_main=0, n_public=n_public, n_pubcols=2)
    start_pc, end_pc, base, last = (A.public(2 * k_out + i) for i in range(len(SEGMENT_FIELDS)))
    # Memory rows run in descending key order from row 32, so the output words (the highest
    # keys a program touches) sit on fixed rows, where the public columns pin their values.
    for j in range(k_out):
        row = N_REGS + j
        word = k_out - 1 - j
        air.public_cells += [(0, row, 2 * word), (1, row, 2 * word + 1)]
    pre, cols = Columns("pre"), Columns("main")
    ops = list(Op)

    # ---- preprocessed: row index, the byte table, the ROM, the register rows ------------------
    idx = pre.one("idx")
    ta, tb, t_and, t_or, t_xor = (pre.one(n) for n in ("ta", "tb", "t_and", "t_or", "t_xor"))
    rom = {name: pre.one(f"rom_{name}") for name in FIELDS}
    reg_row = pre.one("reg_row")
    img_key, img_lo, img_hi = pre.one("img_key"), pre.one("img_lo"), pre.one("img_hi")
    out_row, out_key = pre.one("out_row"), pre.one("out_key")
    pow_s, pow_lo, pow_hi = pre.one("pow_s"), pre.one("pow_lo"), pre.one("pow_hi")

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
    # loads and stores: offset one-hot, the word before (M) and after (N), selected bytes
    o = cols.many("o", 4)
    M, N = cols.many("m", 4), cols.many("n", 4)
    sel0, sel1, top, sgn = (cols.one(n) for n in ("sel0", "sel1", "top", "sgn"))
    prev_m, dlo_m, dhi_m = cols.one("prev_tsm"), cols.one("dlom"), cols.one("dhim")
    # the memory table: registers on rows 0..31, touched words from row 32 down in key order
    m_on, m_key = cols.one("m_on"), cols.one("m_key")
    m_ilo, m_ihi = cols.one("m_ilo"), cols.one("m_ihi")
    m_flo, m_fhi, m_fts = cols.one("m_flo"), cols.one("m_fhi"), cols.one("m_fts")
    c_img, c_in, c_zero = cols.one("c_img"), cols.one("c_in"), cols.one("c_zero")
    lim_lo, lim_hi = cols.one("lim_lo"), cols.one("lim_hi")
    gap_lo, gap_hi = cols.one("gap_lo"), cols.one("gap_hi")
    # the multiplier: P = U V over 64 bits (bytes, carries k), U and V sign-extended by su, sv;
    # right shifts divide: X = D 2^sh + R with R < 2^sh (W = 2^sh - 1 - R), e: limb carries
    U, V, Pm = cols.many("u", 4), cols.many("v", 4), cols.many("p", 8)
    kc = cols.many("k", 8)
    su, sv, sd, sh = (cols.one(n) for n in ("su", "sv", "sd", "sh"))
    R, W = cols.many("r", 4), cols.many("w", 4)
    e = cols.many("e", 5)
    sr, nr, ny, xh = (cols.one(n) for n in ("sr", "nr", "ny", "xh"))
    yz, inv_v, ovf = (cols.one(n) for n in ("yz", "inv_v", "ovf"))
    AR, AY = cols.many("ar", 4), cols.many("ay", 4)
    g = [cols.one("g0"), A.lift(0), cols.one("g2"), A.lift(0)]  # negation carries (R, V)
    mult_names = ("and", "or", "xor", "range", "rom", "bytes", "image", "pow")
    mult = {name: cols.one(f"mult_{name}") for name in mult_names}

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
    f_load: Expr = A.lift(0)
    for op in LOADS:
        f_load = f_load + f[op]
    f_store: Expr = A.lift(0)
    for op in STORES:
        f_store = f_store + f[op]
    f_mem = f_load + f_store
    adds = f[Op.ADD] + f[Op.JALR] + f_mem  # loads and stores: the address is rs1 + imm
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
    sequential = sequential + f[Op.LUI] + f[Op.AUIPC] + f[Op.NOP] + f_mem
    for op in (*MULTIPLIES, *SHIFTS, *DIVISIONS):
        sequential = sequential + f[op]
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
    add(Where.FIRST_ROW, active - 1, "the segment starts active")
    add(Where.FIRST_ROW, pc - start_pc, "the segment starts at its start pc")
    add(Where.LAST_ROW, last * active, "the run has halted by the last row")
    add(Where.LAST_ROW, (1 - last) * (active - 1), "a segment but the last runs to its end")
    add(Where.LAST_ROW, (1 - last) * halts, "only the last segment exits")
    add(Where.LAST_ROW, (1 - last) * (next_pc - end_pc), "a segment ends at its end pc")
    # ecalls: a7 is 93 (exit) or 64 (write): (X0 - 93)(X0 - 64) = 0 with X1..X3 = 0
    every(f[Op.ECALL] * (X[0] - SYS_EXIT) * (X[0] - SYS_WRITE), "ecall is exit or write")
    every(f[Op.ECALL] * (X[1] + X[2] + X[3]), "ecall number below 256")

    # ---- loads and stores -----------------------------------------------------------------------
    off = o[1] + 2 * o[2] + 3 * o[3]
    o_sum: Expr = A.lift(0)
    for k in range(4):
        every(o[k] * (o[k] - 1), f"o{k} is boolean")
        o_sum = o_sum + o[k]
    every(o_sum - f_mem, "a memory op has one offset")
    every((f[Op.LW] + f[Op.SW]) * off, "word accesses are aligned")
    every((f[Op.LH] + f[Op.LHU] + f[Op.SH]) * (o[1] + o[3]), "half-word accesses are aligned")
    every(sel0 - o[0] * M[0] - o[1] * M[1] - o[2] * M[2] - o[3] * M[3], "the addressed byte")
    every(sel1 - o[0] * M[1] - o[2] * M[3], "the half-word's high byte")
    every(top - f[Op.LB] * sel0 - f[Op.LH] * sel1, "the byte whose sign extends")
    every(sgn * (sgn - 1), "sgn is boolean")
    for i in range(4):
        every(f[Op.LW] * (D[i] - M[i]), f"lw byte {i}")
        every(f_load * (N[i] - M[i]), f"a load leaves byte {i}")
        every(f[Op.SW] * (N[i] - B[i]), f"sw byte {i}")
        every(f[Op.SB] * (N[i] - M[i] - o[i] * (B[0] - M[i])), f"sb byte {i}")
    for op in (Op.LB, Op.LBU, Op.LH, Op.LHU):
        every(f[op] * (D[0] - sel0), f"{op.name.lower()} byte 0")
    for op in (Op.LH, Op.LHU):
        every(f[op] * (D[1] - sel1), f"{op.name.lower()} byte 1")
    every(f[Op.LBU] * (D[1] + D[2] + D[3]), "lbu zero-extends")
    every(f[Op.LHU] * (D[2] + D[3]), "lhu zero-extends")
    for i in (1, 2, 3):
        every(f[Op.LB] * (D[i] - 255 * sgn), f"lb sign-extends byte {i}")
    for i in (2, 3):
        every(f[Op.LH] * (D[i] - 255 * sgn), f"lh sign-extends byte {i}")
    for i, (half, src) in enumerate(((o[0], B[0]), (o[0], B[1]), (o[2], B[0]), (o[2], B[1]))):
        every(f[Op.SH] * (N[i] - M[i] - half * (src - M[i])), f"sh byte {i}")
    word = (S[0] - off) * field.inv(4) + 64 * S[1] + 16384 * S[2] + 4194304 * S[3]
    key = N_REGS + word

    # ---- multiplies, shifts and divisions ------------------------------------------------------
    # One unit: P = U V over 64 bits. Multiplies: U = X, V = Z. SLL: U = X, V = 2^sh. Right
    # shifts and divisions divide: X = U V + R (64-bit, signs extended), U the quotient (D for
    # shifts), with |R| < |V| checked on absolute values AR, AY: AR + W + 1 = AY.
    f_mul: Expr = A.lift(0)
    for op in MULTIPLIES:
        f_mul = f_mul + f[op]
    f_shr = f[Op.SRL] + f[Op.SRA]
    f_shift = f[Op.SLL] + f_shr
    f_sdiv = f[Op.DIV] + f[Op.REM]
    f_div = f_sdiv + f[Op.DIVU] + f[Op.REMU]
    f_divlike = f_shr + f_div
    f_unit = f_mul + f_shift + f_div
    for i in range(4):
        every(f_mul * (U[i] - X[i]) + f[Op.SLL] * (U[i] - X[i]) + f_shr * (U[i] - D[i]), f"u{i}")
        every((f_mul + f_div) * (V[i] - Z[i]), f"v{i} for multiplies and divisions")
        every((f[Op.MUL] + f[Op.SLL]) * (D[i] - Pm[i]), f"low product byte {i}")
        every(
            (f[Op.MULH] + f[Op.MULHSU] + f[Op.MULHU]) * (D[i] - Pm[4 + i]), f"high product byte {i}"
        )
        every((f[Op.DIV] + f[Op.DIVU]) * (D[i] - U[i]), f"quotient byte {i}")
        every((f[Op.REM] + f[Op.REMU]) * (D[i] - R[i]), f"remainder byte {i}")
        every(yz * f_div * (U[i] - 255), f"division by zero: quotient byte {i} is 255")
    for c in (su, sv, sd, sr, ovf):
        every(c * (c - 1), "a sign or overflow flag is boolean")
    every(su - (f[Op.MULH] + f[Op.MULHSU]) * sx - (f[Op.SRA] + f_sdiv) * sd, "U's sign extension")
    every(sv - (f[Op.MULH] + f_sdiv) * sz, "V's sign extension")
    every(nr - f_sdiv * sr, "signed division: R negative")
    every(ny - f_sdiv * sz, "signed division: V negative")
    every(xh - (f[Op.SRA] + f_sdiv) * sx, "X's sign extension")
    v_sum = V[0] + V[1] + V[2] + V[3]
    every(yz - 1 + v_sum * inv_v, "yz = 1 - V inv")
    every(yz * v_sum, "yz only when V = 0")
    u_ext = [*U, 255 * su, 255 * su, 255 * su, 255 * su]
    v_ext = [*V, 255 * sv, 255 * sv, 255 * sv, 255 * sv]
    for t in range(8):
        column: Expr = A.lift(0)
        for i in range(t + 1):
            column = column + u_ext[i] * v_ext[t - i]
        carry_in = kc[t - 1] if t else A.lift(0)
        every(f_unit * (column + carry_in - Pm[t] - 256 * kc[t]), f"product byte {t}")
    # P + R = X, both sides extended to 64 bits; the high half is skipped only for the one
    # signed overflow (-2^31 / -1), whose quotient -2^31 is right modulo 2^32 only.
    every(f_divlike * (lo16(Pm) + lo16(R) - lo16(X) - 65536 * e[0]), "division: limb 0")
    every(f_divlike * (hi16(Pm) + hi16(R) + e[0] - hi16(X) - 65536 * e[1]), "division: limb 1")
    p_hi = Pm[4:]
    limb2 = lo16(p_hi) + e[1] + 65535 * nr - 65535 * xh - 65536 * e[2]
    limb3 = hi16(p_hi) + e[2] + 65535 * nr - 65535 * xh - 65536 * e[3]
    every(f_divlike * (1 - ovf) * limb2, "division: limb 2")
    every(f_divlike * (1 - ovf) * limb3, "division: limb 3")
    every(ovf * (1 - f_sdiv), "overflow only in signed division")
    every(ovf * (X[0] + X[1] + X[2]) + ovf * (X[3] - 128), "overflow: X = -2^31")
    every(ovf * (1020 - v_sum), "overflow: V = -1")
    # the remainder: its sign is X's (or it is 0), and |R| < |V| unless V = 0
    r_sum = R[0] + R[1] + R[2] + R[3]
    every(f_sdiv * (sr - sx) * r_sum, "a nonzero remainder has the dividend's sign")
    for src, neg, absv, carry, name in ((R, nr, AR, g[0], "R"), (V, ny, AY, g[2], "V")):
        lo_eq = neg * (lo16(absv) + lo16(src) - 65536 * carry) + (1 - neg) * (
            lo16(absv) - lo16(src)
        )
        hi_eq = neg * (hi16(absv) + hi16(src) + carry - 65536) + (1 - neg) * (
            hi16(absv) - hi16(src)
        )
        every(f_divlike * lo_eq, f"|{name}|, low limb")
        every(f_divlike * hi_eq, f"|{name}|, high limb")
    for c in (g[0], g[2]):
        every(c * (c - 1), "a negation carry is boolean")
    every(
        f_divlike * (1 - yz) * (lo16(AR) + lo16(W) + 1 - lo16(AY) - 65536 * e[4]), "|R| < |V|, low"
    )
    every(f_divlike * (1 - yz) * (hi16(AR) + hi16(W) + e[4] - hi16(AY)), "|R| < |V|")
    for i in range(5):
        every(e[i] * (e[i] - 1), f"e{i} is boolean")

    # ---- the memory table -----------------------------------------------------------------------
    live = reg_row * last + m_on  # the table is on the last segment
    every(m_on * (1 - last), "memory rows are on the last segment")
    every(m_on * (m_on - 1), "m_on is boolean")
    every(m_on * reg_row, "register rows are not memory rows")
    every(reg_row * (m_key - idx), "register r has key r")
    every(reg_row * m_ilo + reg_row * m_ihi, "registers start at zero")
    add(Where.TRANSITION, m_on.next * (1 - live), "memory rows follow the registers without gaps")
    gap = m_key - m_key.next - 1 - gap_lo - 65536 * gap_hi
    add(Where.TRANSITION, m_on * m_on.next * gap, "memory keys strictly descend")
    for c in (c_img, c_in, c_zero):
        every(c * (c - 1), "a class flag is boolean")
    every(c_img + c_in + c_zero - m_on, "a memory row has one class")
    in_w, img_end_w = memory.input_base // 4, memory.image_end // 4
    every(c_in * (m_key - N_REGS - in_w - lim_lo - 65536 * lim_hi), "input words are in the input")
    every(
        c_zero * (m_key - N_REGS - img_end_w - lim_lo - 65536 * lim_hi),
        "zero words are past the image",
    )
    every(c_zero * m_ilo + c_zero * m_ihi, "zero words start at zero")
    out_last = out_row * last
    every(out_last * (m_on - 1), "output rows are memory rows")
    every(out_last * (m_key - out_key), "output rows hold the output words")
    every(out_last * (m_flo - A.public_column(0)), "output words end as the public values (low)")
    every(out_last * (m_fhi - A.public_column(1)), "output words end as the public values (high)")

    # ---- lookups --------------------------------------------------------------------------------
    its: list[Interaction] = []
    rom_tuple = (A.lift(TAG_ROM), pc, *(ins[n] for n in FIELDS if n != "pc"))
    its.append(Interaction(rom_tuple, active, "instruction from the ROM"))
    tag = TAG_AND + f[Op.OR] + 2 * f[Op.XOR]
    for i in range(4):
        its.append(Interaction((tag, X[i], Z[i], L[i]), active, f"byte op {i}"))
        its.append(Interaction((A.lift(TAG_BYTES), D[i], S[i]), active, f"D{i}, S{i} are bytes"))
        its.append(Interaction((A.lift(TAG_BYTES), B[i], M[i]), active, f"B{i}, M{i} are bytes"))
    and_ = A.lift(TAG_AND)
    its.append(Interaction((and_, X[3], A.lift(128), 128 * sx), active, "sign of X"))
    its.append(Interaction((and_, Z[3], A.lift(128), 128 * sz), active, "sign of Z"))
    its.append(Interaction((and_, S[0], A.lift(1), j0), f[Op.JALR], "jalr clears bit 0"))
    its.append(Interaction((and_, S[2], A.lift(252), A.lift(0)), f[Op.JALR], "jalr S2 < 4"))
    its.append(Interaction((and_, S[0], A.lift(3), off), f_mem, "the address's offset"))
    its.append(Interaction((and_, top, A.lift(128), 128 * sgn), f[Op.LB] + f[Op.LH], "load sign"))
    its.append(Interaction((and_, Z[0], A.lift(31), sh), f_shift, "shift amount"))
    its.append(Interaction((and_, U[3], A.lift(128), 128 * sd), f[Op.SRA] + f_sdiv, "sign of U"))
    its.append(Interaction((and_, R[3], A.lift(128), 128 * sr), f_sdiv, "sign of R"))
    its.append(Interaction((A.lift(TAG_POW), sh, lo16(V), hi16(V)), f_shift, "V = 2^sh"))
    for i in range(0, 8, 2):
        its.append(Interaction((A.lift(TAG_BYTES), Pm[i], Pm[i + 1]), f_unit, f"product bytes {i}"))
    for i in range(8):
        its.append(Interaction((A.lift(TAG_RANGE), kc[i]), f_unit, f"product carry {i}"))
    for i in range(4):
        its.append(Interaction((A.lift(TAG_BYTES), R[i], W[i]), f_divlike, f"R{i}, W{i} are bytes"))
        its.append(
            Interaction((A.lift(TAG_BYTES), AR[i], AY[i]), f_divlike, f"|R|{i}, |V|{i} bytes")
        )
    its.append(Interaction((A.lift(TAG_BYTES), U[0], U[1]), f_div, "quotient low bytes"))
    its.append(Interaction((A.lift(TAG_BYTES), U[2], U[3]), f_div, "quotient high bytes"))
    its.append(Interaction((A.lift(TAG_BYTES), V[0], V[1]), f_shift, "V low bytes"))
    its.append(Interaction((A.lift(TAG_BYTES), V[2], V[3]), f_shift, "V high bytes"))

    # registers: read (value, prev) then write (value', now) for rs1, rs2 and rd
    cycle = idx + base
    now = [TS_PER_ROW * cycle + k for k in (1, 2, 4)]
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
        its.append(Interaction((A.lift(TAG_RANGE), 4 * dhi[k]), m, f"{name}: ts gap < 2^30"))
    # the memory word: read (M, prev) and write (N, now) at timestamp 4 row + 3
    mem = A.lift(TAG_MEM)
    now_m = TS_PER_ROW * cycle + 3
    its.append(Interaction((mem, key, lo16(M), hi16(M), prev_m), -f_mem, "memory word reads"))
    its.append(Interaction((mem, key, lo16(N), hi16(N), now_m), f_mem, "memory word writes"))
    every(f_mem * (now_m - prev_m - 1 - dlo_m - 65536 * dhi_m), "memory: prev < now")
    its.append(Interaction((A.lift(TAG_RANGE), dlo_m), f_mem, "memory: ts gap low limb"))
    its.append(Interaction((A.lift(TAG_RANGE), 4 * dhi_m), f_mem, "memory: ts gap < 2^30"))
    # the memory table: each cell's first value written at time 0, its last value read at the end
    its.append(Interaction((mem, m_key, m_ilo, m_ihi, A.lift(0)), live, "cells start"))
    its.append(Interaction((mem, m_key, m_flo, m_fhi, m_fts), -live, "cells end"))
    its.append(Interaction((A.lift(TAG_RANGE), gap_lo), m_on, "key gap low limb"))
    its.append(Interaction((A.lift(TAG_RANGE), gap_hi), m_on, "key gap high limb"))
    its.append(Interaction((A.lift(TAG_RANGE), 4 * gap_hi), m_on, "key gap below 2^30"))
    image = (A.lift(TAG_IMAGE), m_key, m_ilo, m_ihi)
    its.append(Interaction(image, c_img, "image words start as the image"))
    its.append(Interaction((A.lift(TAG_RANGE), lim_lo), c_in + c_zero, "region offset low limb"))
    its.append(Interaction((A.lift(TAG_BYTES), lim_hi, 4 * lim_hi), c_in, "input offset < 2^22"))
    its.append(Interaction((A.lift(TAG_RANGE), lim_hi), c_zero, "zero-word offset high limb"))
    its.append(Interaction((A.lift(TAG_RANGE), 4 * lim_hi), c_zero, "zero-word offset < 2^30"))
    its.append(Interaction((A.lift(TAG_RANGE), m_ilo), c_in, "input words: 16-bit low limb"))
    its.append(Interaction((A.lift(TAG_RANGE), m_ihi), c_in, "input words: 16-bit high limb"))

    # the tables' side: minus how often each entry was used
    its.append(Interaction((A.lift(TAG_AND), ta, tb, t_and), -mult["and"], "AND table"))
    its.append(Interaction((A.lift(TAG_OR), ta, tb, t_or), -mult["or"], "OR table"))
    its.append(Interaction((A.lift(TAG_XOR), ta, tb, t_xor), -mult["xor"], "XOR table"))
    its.append(Interaction((A.lift(TAG_RANGE), 256 * ta + tb), -mult["range"], "16-bit table"))
    its.append(Interaction((A.lift(TAG_BYTES), ta, tb), -mult["bytes"], "byte-pair table"))
    its.append(Interaction((A.lift(TAG_POW), pow_s, pow_lo, pow_hi), -mult["pow"], "powers of 2"))
    its.append(
        Interaction((A.lift(TAG_IMAGE), img_key, img_lo, img_hi), -mult["image"], "image table")
    )
    rom_entry = (A.lift(TAG_ROM), *(rom[n] for n in FIELDS))
    its.append(Interaction(rom_entry, -mult["rom"], "ROM"))

    air.n_pre, air.n_main = len(pre), len(cols)
    layout = lookup.add_logup(air, its)
    return Rv32Air(air, pre, cols, layout, entry, memory, ops)


def is_exit_expr(X: list[Expr]) -> Expr:
    """1 when a7 (X) is 93 (exit), 0 when it is 64 (write): the only two numbers an ecall row
    may carry, so the line through them is exact."""
    return (X[0] - SYS_WRITE) * field.inv(SYS_EXIT - SYS_WRITE)
