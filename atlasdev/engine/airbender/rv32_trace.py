"""From an emulator run to the RV32IM AIR's columns: the prover's witness.

The emulator (emulator.py) records what each cycle did; this module lays that out as the AIR's
rows: decoded instruction, operand and result bytes, adder carries, comparison bits, the
memory argument's timestamps, the register file's final state, and how often each table entry
was looked up. Register values are replayed here from the AIR's own semantics (registers start
at zero; an ecall writes a2 into a0), so the witness is what the constraints expect; results
come from the emulator's trace, and a disagreement makes the proof fail rather than lie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import field
from .emulator import COL_PC, COL_RD_VAL
from .rom import BRANCHES, FIELDS, Op, Rom
from .rv32_air import BYTE_TABLE_LOG, N_REGS, TS_PER_ROW, Rv32Air


class TraceError(ValueError):
    """The run cannot be laid out as a provable trace (the message says why)."""


def trace_length(cycles: int) -> int:
    """Rows for a run: a power of two, at least the byte table and one inactive row."""
    n = 1 << BYTE_TABLE_LOG
    while n < cycles + 1:
        n *= 2
    return n


def preprocessed(rv: Rv32Air, rom: Rom, log_n: int) -> np.ndarray:
    """The preprocessed columns: row index, byte table, ROM (padded by repeating row 0),
    register-file selector."""
    n = 1 << log_n
    if len(rom.words) > n:
        raise TraceError(f"the program has {len(rom.words)} instructions, more than 2^{log_n} rows")
    pre = np.zeros((len(rv.pre), n), dtype=np.uint32)
    col = rv.pre.index
    i = np.arange(n, dtype=np.uint32)
    pre[col["idx"]] = i
    a, b = (i >> 8) & 0xFF, i & 0xFF
    pre[col["ta"]], pre[col["tb"]] = a, b
    pre[col["t_and"]], pre[col["t_or"]], pre[col["t_xor"]] = a & b, a | b, a ^ b
    rows = np.zeros(n, dtype=np.int64)
    rows[: len(rom.words)] = np.arange(len(rom.words))
    for k, name in enumerate(FIELDS):
        pre[col[f"rom_{name}"]] = rom.columns[k][rows]
    pre[col["reg_row"], :N_REGS] = 1
    return pre


@njit(cache=True)
def _registers(rs1, rs2, rd, wr, is_ecall, rd_val, x, b, d, prev, old, final, last):
    """Replay the register file: operand values, results, and each access's previous time."""
    regs = np.zeros(32, dtype=np.int64)
    for i in range(rs1.shape[0]):
        t = 4 * i
        x[i] = regs[rs1[i]]
        prev[0, i] = last[rs1[i]]
        last[rs1[i]] = t + 1
        b[i] = regs[rs2[i]]
        prev[1, i] = last[rs2[i]]
        last[rs2[i]] = t + 2
        d[i] = b[i] if is_ecall[i] else rd_val[i]
        if wr[i]:
            old[i] = regs[rd[i]]
            prev[2, i] = last[rd[i]]
            last[rd[i]] = t + 4
            regs[rd[i]] = d[i]
    for r in range(32):
        final[r] = regs[r]


def _bytes(v: np.ndarray) -> list[np.ndarray]:
    return [(v >> (8 * k)) & 0xFF for k in range(4)]


@dataclass
class Witness:
    main: np.ndarray  # (n_main, n)
    cycles: int


def build(rv: Rv32Air, rom: Rom, trace: np.ndarray, log_n: int) -> Witness:
    """The main columns for an emulator trace (u32[T, 13], ending with the exit ecall)."""
    t_rows = trace.shape[0]
    n = 1 << log_n
    if t_rows + 1 > n:
        raise TraceError(f"a run of {t_rows} cycles needs more than 2^{log_n} rows")
    pcs = trace[:, COL_PC].astype(np.int64)
    rom_rows = (pcs - rom.base) // 4
    if np.any((pcs - rom.base) % 4) or np.any(rom_rows < 0) or np.any(rom_rows >= len(rom.words)):
        raise TraceError("the run left the program's code")
    ins = {name: rom.columns[k][rom_rows].astype(np.int64) for k, name in enumerate(FIELDS)}
    bad = np.flatnonzero(ins["op"] == 0)
    if len(bad):
        raise TraceError(rom.unsupported_at(int(pcs[bad[0]])) or "unsupported instruction")
    op = ins["op"]
    is_ecall = op == Op.ECALL
    if not is_ecall[-1]:
        raise TraceError("the run does not end with an exit ecall")

    m = np.zeros((len(rv.main), n), dtype=np.int64)
    col = rv.main.index

    def put(name: str, values: np.ndarray) -> None:
        m[col[name], :t_rows] = values

    put("active", 1)
    put("pc", pcs)
    for name in FIELDS[1:]:
        put(name, ins[name])
    for o in rv.ops:
        put(f"f_{o.name.lower()}", op == o)

    x, b, d = (np.zeros(t_rows, dtype=np.int64) for _ in range(3))
    prev = np.zeros((3, t_rows), dtype=np.int64)
    old = np.zeros(t_rows, dtype=np.int64)
    final, last = np.zeros(32, dtype=np.int64), np.zeros(32, dtype=np.int64)
    _registers(
        ins["rs1"], ins["rs2"], ins["rd"], ins["wr"], is_ecall,
        trace[:, COL_RD_VAL].astype(np.int64), x, b, d, prev, old, final, last,
    )  # fmt: skip
    imm = ins["imm0"] | ins["imm1"] << 8 | ins["imm2"] << 16 | ins["imm3"] << 24
    z = np.where(ins["use_imm"] == 1, imm, b)

    adds = (op == Op.ADD) | (op == Op.JALR)
    subs = (
        (op == Op.SUB) | (op == Op.SLT) | (op == Op.SLTU) | np.isin(op, [int(o) for o in BRANCHES])
    )
    s = np.where(adds, (x + z) & 0xFFFFFFFF, np.where(subs, (x - z) & 0xFFFFFFFF, 0))
    lo = lambda v: v & 0xFFFF  # noqa: E731
    c0 = np.where(adds, (lo(x) + lo(z)) >> 16, np.where(subs, (lo(s) + lo(z)) >> 16, 0))
    c1 = np.where(adds, (x + z) >> 32, np.where(subs, (s + z) >> 32, 0))
    sx, sz = x >> 31, z >> 31
    lt = sx * (1 - sz) + (1 - sx - sz + 2 * sx * sz) * c1
    s_sum = sum(_bytes(s))
    is_zero = (s_sum == 0).astype(np.int64)
    inv_s = np.zeros(t_rows, dtype=np.int64)
    nz = np.flatnonzero(s_sum)
    if len(nz):
        inv_s[nz] = field.batch_inv([int(v) for v in s_sum[nz]])
    cond = {
        Op.BEQ: is_zero, Op.BNE: 1 - is_zero, Op.BLT: lt, Op.BGE: 1 - lt,
        Op.BLTU: c1, Op.BGEU: 1 - c1,
    }  # fmt: skip
    taken = np.zeros(t_rows, dtype=np.int64)
    for o, v in cond.items():
        taken += np.where(op == o, v, 0)
    tag_or, tag_xor = op == Op.OR, op == Op.XOR
    logic = np.where(tag_or, x | z, np.where(tag_xor, x ^ z, x & z))
    j0 = np.where(op == Op.JALR, s & 1, 0)
    target = np.where(
        op == Op.JAL,
        pcs + imm_signed(imm),
        np.where(op == Op.JALR, s - j0, np.where(taken == 1, pcs + imm_signed(imm), pcs + 4)),
    )

    for name, v in (("x", x), ("b", b), ("z", z), ("d", d), ("s", s), ("l", logic)):
        for k, byte in enumerate(_bytes(v)):
            put(f"{name}{k}", byte)
    for name, v in (
        ("c0", c0),
        ("c1", c1),
        ("sx", sx),
        ("sz", sz),
        ("lt", lt),
        ("is_zero", is_zero),
    ):
        put(name, v)
    put("inv_s", inv_s)
    put("taken", taken)
    put("j0", j0)
    put("next_pc", target)
    m[col["is_zero"], t_rows:] = 1  # inactive rows: S = 0, so the zero test says 1

    now = [TS_PER_ROW * np.arange(t_rows) + k for k in (1, 2, 4)]
    used = [np.ones(t_rows, dtype=bool), np.ones(t_rows, dtype=bool), ins["wr"] == 1]
    gaps = []
    for k in range(3):
        gap = np.where(used[k], now[k] - prev[k] - 1, 0)
        if np.any(gap < 0) or np.any(gap >= 1 << 24):
            raise TraceError("a register access's timestamp gap is out of range")
        gaps.append(gap)
        put(f"prev_ts{k}", np.where(used[k], prev[k], 0))
        put(f"dlo{k}", gap & 0xFFFF)
        put(f"dhi{k}", gap >> 16)
    put("old_lo", np.where(used[2], old & 0xFFFF, 0))
    put("old_hi", np.where(used[2], old >> 16, 0))
    m[col["m_flo"], :N_REGS] = final & 0xFFFF
    m[col["m_fhi"], :N_REGS] = final >> 16
    m[col["m_fts"], :N_REGS] = last

    _multiplicities(m, col, rom_rows, x, z, s, d, logic, tag_or, tag_xor, op, gaps, used)
    return Witness((m % field.P).astype(np.uint32), t_rows)


def imm_signed(imm: np.ndarray) -> np.ndarray:
    return imm - ((imm >> 31) << 32)


def _multiplicities(m, col, rom_rows, x, z, s, d, logic, tag_or, tag_xor, op, gaps, used) -> None:  # type: ignore[no-untyped-def]
    """How often each table entry was looked up, on the table's rows."""
    table = 1 << 16
    xb, zb, sb, db = _bytes(x), _bytes(z), _bytes(s), _bytes(d)
    pairs = {"and": [], "or": [], "xor": []}
    for k in range(4):
        key = xb[k] * 256 + zb[k]
        pairs["or"].append(key[tag_or])
        pairs["xor"].append(key[tag_xor])
        pairs["and"].append(key[~(tag_or | tag_xor)])
    jalr = op == Op.JALR
    pairs["and"] += [
        xb[3] * 256 + 128,
        zb[3] * 256 + 128,
        sb[0][jalr] * 256 + 1,
        sb[2][jalr] * 256 + 252,
    ]
    for name, keys in pairs.items():
        m[col[f"mult_{name}"], :table] = np.bincount(np.concatenate(keys), minlength=table)
    ranges = [db[k] * 256 + sb[k] for k in range(4)]
    ranges += [(g & 0xFFFF)[u] for g, u in zip(gaps, used, strict=True)]
    ranges += [(gaps[0] >> 16) * 256 + (gaps[1] >> 16), (gaps[2] >> 16) * 256]
    m[col["mult_range"], :table] = np.bincount(np.concatenate(ranges), minlength=table)
    rom_counts = np.bincount(rom_rows)
    m[col["mult_rom"], : len(rom_counts)] = rom_counts
