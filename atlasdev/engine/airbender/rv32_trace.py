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
from .emulator import COLUMN_NAMES, N_COLS, PROVER_COLUMNS
from .rom import BRANCHES, DIVISIONS, FIELDS, LOADS, MULTIPLIES, SHIFTS, STORES, Op, Rom
from .rv32_air import (
    BYTE_TABLE_LOG,
    INPUT_WORDS_LOG,
    MAX_ROWS_LOG,
    N_REGS,
    TS_PER_ROW,
    MemoryLayout,
    Rv32Air,
    Segment,
    word_key,
)


class TraceError(ValueError):
    """The run cannot be laid out as a provable trace (the message says why)."""


def trace_length(cycles: int) -> int:
    """Rows for a run: a power of two, at least the byte table and one inactive row."""
    n = 1 << BYTE_TABLE_LOG
    while n < cycles + 1:
        n *= 2
    return n


def preprocessed(rv: Rv32Air, rom: Rom, image: np.ndarray, log_n: int) -> np.ndarray:
    """The preprocessed columns: row index, byte table, ROM and image table (padded by
    repeating their row 0), register-file selector, output rows. ``image`` holds the words of
    [text_base, image_end) as the program starts."""
    n = 1 << log_n
    if len(rom.words) > n:
        raise TraceError(f"the program has {len(rom.words)} instructions, more than 2^{log_n} rows")
    mem = rv.memory
    if len(image) != (mem.image_end - mem.text_base) // 4 or len(image) > n:
        raise TraceError(f"the image has {len(image)} words; the layout or 2^{log_n} rows disagree")
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
    rows = np.zeros(n, dtype=np.int64)
    rows[: len(image)] = np.arange(len(image))
    words = np.asarray(image, dtype=np.int64)
    pre[col["img_key"]] = word_key(mem.text_base // 4) + rows
    pre[col["img_lo"]] = (words & 0xFFFF)[rows]
    pre[col["img_hi"]] = (words >> 16)[rows]
    k = mem.output_words
    pre[col["out_row"], N_REGS : N_REGS + k] = 1
    pre[col["out_key"], N_REGS : N_REGS + k] = word_key(mem.output_base // 4) + np.arange(k)[::-1]
    shifts = np.arange(32, dtype=np.int64)
    pre[col["pow_s"], :32] = shifts
    pre[col["pow_lo"]] = 1  # padding rows repeat row 0: 2^0
    pre[col["pow_lo"], :32] = (1 << shifts) & 0xFFFF
    pre[col["pow_hi"], :32] = (1 << shifts) >> 16
    return pre


# what the replay keeps of each cycle, one u32 row per cycle (Run.steps): its ROM row (so its
# pc) and the memory word it found, the register values it read (x, b), wrote (d) and overwrote
# (old), the previous access times of rs1, rs2, rd and the memory word (the gaps follow)
STEP = ("rom_row", "mem_old", "x", "b", "d", "old", "prev0", "prev1", "prev2", "mem_prev")
_ROM_ROW, _MEM_OLD, _X, _B, _D, _OLD, _PREV0, _MEM_PREV = (
    STEP.index(name) for name in ("rom_row", "mem_old", "x", "b", "d", "old", "prev0", "mem_prev")
)
_OP, _RD, _RS1, _RS2, _WR = (FIELDS.index(name) for name in ("op", "rd", "rs1", "rs2", "wr"))
_IMM = FIELDS.index("imm0")  # imm0..imm3: the immediate's bytes
_ECALL = int(Op.ECALL)
_ACCESSES_MEMORY = np.zeros(max(Op) + 1, dtype=np.bool_)  # indexed by op
_ACCESSES_MEMORY[[int(o) for o in (*LOADS, *STORES)]] = True
# why _replay stopped (with the cycle): the pc is outside the ROM, the instruction is not
# RV32IM, a memory word below the program or above the output words, a gap of 2^30 or more
_OK, _LEFT_CODE, _UNSUPPORTED, _BELOW, _ABOVE, _FAR = range(6)


@njit(cache=True, nogil=True)
def _replay(
    rom, rom_base, trace, fields, accesses, text_w, steps, final, last, mem_last, mem_init, touched
):  # fmt: skip
    """Replay the run in one pass: each cycle's row of ``steps``, the register file's final
    values and last access times, and per memory word (indexed from text_w) its first value and
    last access time, the words listed in ``touched`` in first-touch order.
    ``fields``: the trace's columns holding the pc, the value written and the memory word
    before the access. Returns (why it stopped, at which cycle, how many words were touched)."""
    pc_at, rd_at, old_at = fields
    regs = np.zeros(32, dtype=np.int64)
    rows, span, count = rom.shape[1], mem_last.shape[0], 0
    for i in range(trace.shape[0]):
        pc = np.int64(trace[i, pc_at])
        at = pc - rom_base
        if at < 0 or at & 3 or at >> 2 >= rows:
            return _LEFT_CODE, i, count
        row = at >> 2
        op = rom[_OP, row]
        if op == 0:
            return _UNSUPPORTED, i, count
        rs1, rs2, rd = rom[_RS1, row], rom[_RS2, row], rom[_RD, row]
        t = 4 * i
        x = regs[rs1]
        steps[i, _PREV0] = last[rs1]
        last[rs1] = t + 1
        b = regs[rs2]
        steps[i, _PREV0 + 1] = last[rs2]
        last[rs2] = t + 2
        d = b if op == _ECALL else np.int64(trace[i, rd_at])
        old, prev_rd = 0, 0
        if rom[_WR, row]:
            old, prev_rd = regs[rd], last[rd]
            last[rd] = t + 4
            regs[rd] = d
        old_word = np.int64(trace[i, old_at])
        steps[i, _ROM_ROW], steps[i, _MEM_OLD] = row, old_word
        steps[i, _X], steps[i, _B], steps[i, _D], steps[i, _OLD] = x, b, d, old
        steps[i, _PREV0 + 2] = prev_rd
        steps[i, _MEM_PREV] = 0
        if not accesses[op]:
            continue
        imm = np.int64(rom[_IMM, row])
        imm |= np.int64(rom[_IMM + 1, row]) << 8
        imm |= np.int64(rom[_IMM + 2, row]) << 16
        imm |= np.int64(rom[_IMM + 3, row]) << 24
        address = (x + imm) & 0xFFFFFFFF
        w = (address >> 2) - text_w
        if w < 0:
            return _BELOW, i, count
        if w >= span:
            return _ABOVE, i, count
        now = t + 3
        prev = np.int64(mem_last[w])
        if prev == 0:  # first touch (no access happens at time 0)
            mem_init[w] = old_word
            touched[count] = w
            count += 1
        if now - prev - 1 >= 1 << 30:
            return _FAR, i, count
        mem_last[w] = now
        steps[i, _MEM_PREV] = prev
    for r in range(32):
        final[r] = regs[r]
    return _OK, trace.shape[0], count


# 1 / (the sum of a word's four bytes), 0 for 0: the zero tests' inverse witnesses
BYTE_SUM_INVERSES = np.array([0, *field.batch_inv(list(range(1, 4 * 255 + 1)))], dtype=np.int64)


def _bytes(v: np.ndarray) -> list[np.ndarray]:
    return [(v >> (8 * k)) & 0xFF for k in range(4)]


@dataclass
class Witness:
    """One segment's main columns and its public values (output limbs, then segment fields)."""

    main: np.ndarray  # (n_main, n)
    outputs: list[int]  # the output words as (low, high) 16-bit limbs
    segment: Segment
    cycles: int

    @property
    def publics(self) -> list[int]:
        return self.segment.publics(self.outputs)


@dataclass
class _Table:
    """The memory table: every touched word and every output word, keys descending."""

    keys: np.ndarray
    init: np.ndarray
    final: np.ndarray
    final_ts: np.ndarray
    c_img: np.ndarray
    c_in: np.ndarray
    c_zero: np.ndarray
    lim: np.ndarray  # the word's offset into its region (input or zero words)
    image_rows: np.ndarray  # for image words: their row in the image table


@dataclass
class Run:
    """A whole run replayed under the AIR's semantics, before it is cut into segments: what
    a row needs from all the rows before it (register values, previous access times) and the
    memory table (each cell's first and last value), computed once over the run."""

    steps: np.ndarray  # u32[T, len(STEP)]: per cycle, STEP's values; the last is the exit ecall
    code_base: int  # the pc of ROM row 0
    final: np.ndarray  # the register file at the end
    final_ts: np.ndarray  # and each register's last access time
    table: _Table
    outputs: list[int]  # the output words' limbs: the public values
    touched: int  # memory words the run touched

    def step(self, name: str) -> np.ndarray:
        """One of STEP's values for every cycle (a view)."""
        return self.steps[:, STEP.index(name)]

    def pc(self, cycle: int) -> int:
        return self.code_base + 4 * int(self.steps[cycle, _ROM_ROW])

    @property
    def rows_needed(self) -> int:
        """A lower bound on the rows the run needs: its cycles plus one, and its memory
        table."""
        return max(self.cycles + 1, N_REGS + self.touched + 1)

    @property
    def cycles(self) -> int:
        return int(self.steps.shape[0])

    def segments(self, log_n: int) -> list[Segment]:
        """The run cut into segments of 2^log_n rows: all but the last run 2^log_n cycles;
        the last runs the rest, at least one cycle, ends inactive and holds the table."""
        n = 1 << log_n
        count = max(1, -(-(self.cycles + 1) // n))
        rest = self.cycles - (count - 1) * n
        if rest < 1:
            raise TraceError(
                f"a run of exactly {count - 1} x 2^{log_n} cycles cannot end a segment; "
                "prove it with another segment size"
            )
        if count * n > 1 << MAX_ROWS_LOG:
            raise TraceError(f"a run of {self.cycles} cycles is longer than 2^{MAX_ROWS_LOG} rows")
        if N_REGS + len(self.table.keys) > n:
            raise TraceError(f"{len(self.table.keys)} memory words do not fit in 2^{log_n} rows")
        out = []
        for i in range(count):
            last = i == count - 1
            end_pc = 0 if last else self.pc((i + 1) * n)
            out.append(Segment(self.pc(i * n), end_pc, i * n, last))
        return out


def replay(rv: Rv32Air, rom: Rom, trace: np.ndarray) -> Run:
    """Replay an emulator trace (u32[T, 13], or a prover's u32[T, 3]: emulator.PROVER_COLUMNS;
    ending with the exit ecall) for the AIR."""
    if trace.ndim != 2 or trace.shape[1] not in (N_COLS, len(PROVER_COLUMNS)):
        raise TraceError(f"a trace has {N_COLS} or {len(PROVER_COLUMNS)} columns")
    names = COLUMN_NAMES if trace.shape[1] == N_COLS else PROVER_COLUMNS
    fields = tuple(names.index(name) for name in ("pc", "rd_val", "mem_old"))
    t_rows = trace.shape[0]
    layout = rv.memory
    text_w = layout.text_base // 4
    out_w = layout.output_base // 4
    steps = np.empty((t_rows, len(STEP)), dtype=np.uint32)  # timestamps 4 per cycle: below 2^32
    final, last = np.zeros(32, dtype=np.int64), np.zeros(32, dtype=np.int64)
    span = out_w + layout.output_words - text_w  # the words a run may touch
    mem_last, mem_init = np.zeros(span, dtype=np.uint32), np.zeros(span, dtype=np.uint32)
    touched = np.empty(min(t_rows, span), dtype=np.int64)
    why, at, count = _replay(
        rom.columns, rom.base, trace, fields, _ACCESSES_MEMORY, text_w,
        steps, final, last, mem_last, mem_init, touched,
    )  # fmt: skip
    if why == _LEFT_CODE:
        raise TraceError("the run left the program's code")
    if why == _UNSUPPORTED:
        pc = int(trace[at, fields[0]])
        raise TraceError(rom.unsupported_at(pc) or "unsupported instruction")
    if why == _FAR:
        raise TraceError("a memory access's timestamp gap is out of range")
    if why == _ABOVE:
        raise TraceError("the run touched memory above its public output words")
    if why == _BELOW:
        raise TraceError("the run touched memory below the program")
    if not t_rows or rom.columns[_OP, steps[-1, _ROM_ROW]] != Op.ECALL:
        raise TraceError("the run does not end with an exit ecall")
    outputs_w = np.arange(out_w, out_w + layout.output_words) - text_w
    index = np.union1d(touched[:count], outputs_w)[::-1]  # keys descending
    times = mem_last[index]
    final_words = _final_words(rom, steps, times)
    table, outputs = _table(layout, text_w + index, mem_init[index], final_words, times)
    return Run(steps, rom.base, final, last, table, outputs, count)


def _final_words(rom: Rom, steps: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Each word's value after its last access (at ``times``; 0 for a word never accessed):
    the table's few thousand words, computed after the replay, not at every access."""
    accessed = times > 0
    cycles = (times[accessed].astype(np.int64) - 3) // TS_PER_ROW
    rows = steps[cycles, _ROM_ROW]
    imm = sum(rom.columns[_IMM + k][rows].astype(np.int64) << 8 * k for k in range(4))
    x, b, old = (steps[cycles, k].astype(np.int64) for k in (_X, _B, _MEM_OLD))
    op = rom.columns[_OP][rows].astype(np.int64)
    out = np.zeros(len(times), dtype=np.int64)
    out[accessed] = _stored_word(op, (x + imm) & 3, old, b)
    return out


def _table(
    layout: MemoryLayout, words: np.ndarray, init: np.ndarray, fin: np.ndarray, fts: np.ndarray
) -> tuple[_Table, list[int]]:
    """The memory table of these words (descending; their first and last values and last
    access times, 0 where untouched) and the output words' limbs."""
    text_w, img_end_w, in_w = layout.text_base // 4, layout.image_end // 4, layout.input_base // 4
    c_img = words < img_end_w
    c_in = ~c_img & (words >= in_w) & (words < in_w + (1 << INPUT_WORDS_LOG))
    c_zero = ~c_img & ~c_in
    if np.any(init[c_zero] != 0):
        raise TraceError("a word outside the image and the input did not start at zero")
    lim = np.where(c_in, words - in_w, np.where(c_zero, words - img_end_w, 0))
    outputs = []
    for v in fin[: layout.output_words][::-1].tolist():
        outputs += [v & 0xFFFF, v >> 16]
    init, fin, fts = (a.astype(np.int64) for a in (init, fin, fts))
    keys = word_key(0) + words
    table = _Table(keys, init, fin, fts, c_img, c_in, c_zero, lim, words[c_img] - text_w)
    return table, outputs


def _stored_word(op: np.ndarray, off: np.ndarray, old: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The memory word after the access: loads leave it, stores replace their bytes."""
    return sum(v << (8 * k) for k, v in enumerate(_new_bytes(op, off, _bytes(old), _bytes(b))))


def _new_bytes(op, off, mb, bb) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    out = []
    for k in range(4):
        sw, sb_ = op == Op.SW, (op == Op.SB) & (off == k)
        half = (op == Op.SH) & (off == (0 if k < 2 else 2))
        out.append(np.where(sw, bb[k], np.where(sb_, bb[0], np.where(half, bb[k % 2], mb[k]))))
    return out


def build(rv: Rv32Air, rom: Rom, trace: np.ndarray, log_n: int) -> Witness:
    """The main columns of a run that fits one trace (u32[T, 13], ending with the exit ecall)."""
    if trace.shape[0] + 1 > 1 << log_n:
        raise TraceError(f"a run of {trace.shape[0]} cycles needs more than 2^{log_n} rows")
    run = replay(rv, rom, trace)
    (segment,) = run.segments(log_n)
    return segment_witness(rv, rom, run, segment, log_n)


def segment_witness(rv: Rv32Air, rom: Rom, run: Run, segment: Segment, log_n: int) -> Witness:
    """One segment's main columns (2^log_n rows from cycle ``segment.base``)."""
    n = 1 << log_n
    lo = segment.base
    hi = min(run.cycles, lo + n)
    t_rows = hi - lo
    steps = run.steps[lo:hi]
    x, b, d, old, old_word, mem_prev = (
        steps[:, STEP.index(k)].astype(np.int64)
        for k in ("x", "b", "d", "old", "mem_old", "mem_prev")
    )
    prev = [steps[:, _PREV0 + k].astype(np.int64) for k in range(3)]
    rom_rows = steps[:, _ROM_ROW]
    ins = {name: rom.columns[k][rom_rows].astype(np.int64) for k, name in enumerate(FIELDS)}
    pcs, op = ins["pc"], ins["op"]
    is_ecall = op == Op.ECALL

    m = np.zeros((len(rv.main), n), dtype=np.uint32)
    col = rv.main.index

    def put(name: str, values: np.ndarray) -> None:
        m[col[name], :t_rows] = _column(values)

    put("active", 1)
    put("pc", pcs)
    for name in FIELDS[1:]:
        put(name, ins[name])
    flag = np.full(max(rv.ops) + 1, -1, dtype=np.int64)  # each op's flag column
    flag[[int(o) for o in rv.ops]] = [col[f"f_{o.name.lower()}"] for o in rv.ops]
    rows = np.flatnonzero(flag[op] >= 0)
    m[flag[op[rows]], rows] = 1

    imm = ins["imm0"] | ins["imm1"] << 8 | ins["imm2"] << 16 | ins["imm3"] << 24
    z = np.where(ins["use_imm"] == 1, imm, b)

    is_load = np.isin(op, [int(o) for o in LOADS])
    is_store = np.isin(op, [int(o) for o in STORES])
    is_mem = is_load | is_store
    adds = (op == Op.ADD) | (op == Op.JALR) | is_mem
    subs = (
        (op == Op.SUB) | (op == Op.SLT) | (op == Op.SLTU) | np.isin(op, [int(o) for o in BRANCHES])
    )
    s = np.where(adds, (x + z) & 0xFFFFFFFF, np.where(subs, (x - z) & 0xFFFFFFFF, 0))
    lo16 = lambda v: v & 0xFFFF  # noqa: E731
    c0 = np.where(adds, (lo16(x) + lo16(z)) >> 16, np.where(subs, (lo16(s) + lo16(z)) >> 16, 0))
    c1 = np.where(adds, (x + z) >> 32, np.where(subs, (s + z) >> 32, 0))
    sx, sz = x >> 31, z >> 31
    lt = sx * (1 - sz) + (1 - sx - sz + 2 * sx * sz) * c1
    s_sum = sum(_bytes(s))
    is_zero = (s_sum == 0).astype(np.int64)
    inv_s = BYTE_SUM_INVERSES[s_sum]
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
    semantic = _results(op, x, z, s, logic, lt, c1, ins, old_word)
    writes = ins["wr"] == 1
    checked = writes & ~is_ecall
    wrong = np.flatnonzero(checked & (semantic != d))
    if len(wrong):
        at = int(wrong[0])
        raise TraceError(
            f"the emulator wrote {int(d[at]):#x} at pc {int(pcs[at]):#x}, the AIR computes "
            f"{int(semantic[at]):#x}"
        )
    d = np.where(writes | is_ecall, d, semantic)  # rd = x0: the result is computed, not written
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

    # ---- loads and stores ---------------------------------------------------------------------
    off = np.where(is_mem, s & 3, 0)
    old_word = np.where(is_mem, old_word, 0)
    mb, bb = _bytes(old_word), _bytes(b)
    new_bytes = _new_bytes(op, off, mb, bb)
    for k in range(4):
        put(f"o{k}", is_mem & (off == k))
        put(f"m{k}", mb[k])
        put(f"n{k}", new_bytes[k])
    sel0 = np.choose(off, mb)
    sel1 = np.where(off == 0, mb[1], np.where(off == 2, mb[3], 0))
    top = np.where(op == Op.LB, sel0, np.where(op == Op.LH, sel1, 0))
    put("sel0", np.where(is_mem, sel0, 0))
    put("sel1", np.where(is_mem, sel1, 0))
    put("top", top)
    put("sgn", top >> 7)
    m[col["m_key"], :N_REGS] = np.arange(N_REGS)
    if segment.last:
        put_table(m, col, run)
    _multiplier(m, col, op, x, z, d, sx, sz)

    row_ts = TS_PER_ROW * (lo + np.arange(t_rows))  # then + 1 rs1, + 2 rs2, + 3 memory, + 4 rd
    now = [row_ts + k for k in (1, 2, 4)]
    used = [np.ones(t_rows, dtype=bool), np.ones(t_rows, dtype=bool), ins["wr"] == 1]
    gaps = []
    for k in range(3):
        gap = np.where(used[k], now[k] - prev[k] - 1, 0)
        if np.any(gap < 0) or np.any(gap >= 1 << 30):
            raise TraceError("a register access's timestamp gap is out of range")
        gaps.append(gap)
        put(f"prev_ts{k}", np.where(used[k], prev[k], 0))
        put(f"dlo{k}", gap & 0xFFFF)
        put(f"dhi{k}", gap >> 16)
    put("old_lo", np.where(used[2], old & 0xFFFF, 0))
    put("old_hi", np.where(used[2], old >> 16, 0))

    mem_gap = np.where(is_mem, row_ts + 3 - mem_prev - 1, 0)
    put("dlom", mem_gap & 0xFFFF)
    put("dhim", mem_gap >> 16)
    put("prev_tsm", mem_prev)

    _multiplicities(m, col, rom_rows, x, z, s, d, logic, tag_or, tag_xor, op, gaps, used)
    _memory_multiplicities(m, col, mb, bb, s, is_mem, top, op, mem_gap, gaps, used)
    if segment.last:
        table_multiplicities(m, col, run.table)
    _multiplier_multiplicities(m, col, op, z, d, t_rows)
    return Witness(m, run.outputs, segment, t_rows)


def _count(m: np.ndarray, c: int, counts: np.ndarray) -> None:
    """Add a table's lookup counts to its multiplicity column c."""
    m[c, : len(counts)] = _column(m[c, : len(counts)] + counts)


def _column(values: np.ndarray | int) -> np.ndarray:
    """Values as field elements for the (u32) main matrix. Most already are (bytes, flags,
    counts): only a column holding one outside [0, P) (a pc, an address, a negative
    difference) is reduced, so no value is stored wrapped."""
    v = np.asarray(values)
    if v.dtype != np.bool_ and v.size and (v.min() < 0 or v.max() >= field.P):
        v = v % field.P
    return v


def _quotients(op, x, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """RISC-V division: quotient, remainder (u32) and the signed-overflow flag per row."""
    signed = (op == Op.DIV) | (op == Op.REM)
    xs, zs = x - ((x >> 31) << 32), z - ((z >> 31) << 32)
    safe_z = np.where(z == 0, 1, z)
    q_u, r_u = x // safe_z, x % safe_z
    ovf = signed & (x == 0x80000000) & (z == 0xFFFFFFFF)
    safe_zs = np.where((zs == 0) | ovf, 1, zs)
    q_s = np.sign(xs) * np.sign(safe_zs) * (np.abs(xs) // np.abs(safe_zs))  # rounds toward 0
    r_s = xs - q_s * safe_zs
    q = np.where(signed, q_s & 0xFFFFFFFF, q_u)
    r = np.where(signed, r_s & 0xFFFFFFFF, r_u)
    q = np.where(z == 0, 0xFFFFFFFF, np.where(ovf, 0x80000000, q))
    r = np.where(z == 0, x, np.where(ovf, 0, r))
    return q, r, ovf


def _unit_rows(op: np.ndarray) -> tuple[np.ndarray, ...]:
    """Which rows use the multiplier, and how: multiplies, shifts, divisions, signed divisions,
    right shifts, division-like (right shifts and divisions), any."""
    is_mul = np.isin(op, [int(o) for o in MULTIPLIES])
    is_shift = np.isin(op, [int(o) for o in SHIFTS])
    is_div = np.isin(op, [int(o) for o in DIVISIONS])
    is_sdiv = (op == Op.DIV) | (op == Op.REM)
    is_shr = (op == Op.SRL) | (op == Op.SRA)
    return is_mul, is_shift, is_div, is_sdiv, is_shr, is_shr | is_div, is_mul | is_shift | is_div


def _multiplier(m, col, op, x, z, d, sx, sz) -> None:  # type: ignore[no-untyped-def]
    """The multiplier's columns: products over 64 bits with their byte carries; for right
    shifts and divisions the quotient, the remainder and the bound on its magnitude. Only the
    rows that use the multiplier are computed: on every other row its columns are 0 but yz,
    which is 1 (V = 0)."""
    m[col["yz"]] = 1
    rows = np.flatnonzero(_unit_rows(op)[-1])
    op, x, z, d, sx, sz = (a[rows] for a in (op, x, z, d, sx, sz))

    def put(name: str, values: np.ndarray) -> None:
        m[col[name], rows] = _column(values)

    is_mul, is_shift, is_div, is_sdiv, is_shr, divlike, _ = _unit_rows(op)
    q, r_div, ovf = _quotients(op, x, z)
    sh = np.where(is_shift, z & 31, 0)
    v = np.where(is_mul | is_div, z, np.where(is_shift, 1 << sh, 0))
    u = np.where(is_mul | (op == Op.SLL), x, np.where(is_shr, d, np.where(is_div, q, 0)))
    sd = np.where((op == Op.SRA) | is_sdiv, u >> 31, 0)
    su = np.where((op == Op.MULH) | (op == Op.MULHSU), sx, 0) + sd
    sv = np.where((op == Op.MULH) | is_sdiv, sz, 0)
    ub = [*_bytes(u), *([su * 255] * 4)]
    vb = [*_bytes(v), *([sv * 255] * 4)]
    carry = np.zeros(len(rows), dtype=np.int64)
    p_bytes = []
    for t in range(8):
        acc = carry + sum(ub[i] * vb[t - i] for i in range(t + 1))
        p_bytes.append(acc & 0xFF)
        carry = acc >> 8
        put(f"k{t}", carry)
        put(f"p{t}", acc & 0xFF)
    r = np.where(is_shr, x & (v - 1), np.where(is_div, r_div, 0))
    sr = np.where(is_sdiv, r >> 31, 0)
    nr, ny = sr, np.where(is_sdiv, sz, 0)
    xh = np.where((op == Op.SRA) | is_sdiv, sx, 0)
    ar = np.where(nr == 1, (1 << 32) - r, r)
    ay = np.where(ny == 1, (1 << 32) - v, v)
    yz = (sum(_bytes(v)) == 0).astype(np.int64)
    w = np.where(divlike & (yz == 0), ay - 1 - ar, 0)
    inv_v = BYTE_SUM_INVERSES[sum(_bytes(v))]
    columns = {
        "su": su, "sv": sv, "sd": sd, "sh": sh, "sr": sr, "nr": nr, "ny": ny, "xh": xh,
        "yz": yz, "inv_v": inv_v, "ovf": ovf,
        "g0": np.where(nr == 1, ((ar & 0xFFFF) + (r & 0xFFFF)) >> 16, 0),
        "g2": np.where(ny == 1, ((ay & 0xFFFF) + (v & 0xFFFF)) >> 16, 0),
    }  # fmt: skip
    for name, values in columns.items():
        put(name, values)
    for k in range(4):
        put(f"u{k}", _bytes(u)[k])
        put(f"v{k}", _bytes(v)[k])
        put(f"r{k}", _bytes(r)[k])
        put(f"w{k}", _bytes(w)[k])
        put(f"ar{k}", np.where(divlike, _bytes(ar)[k], 0))
        put(f"ay{k}", np.where(divlike, _bytes(ay)[k], 0))
    lo = lambda a, b: a + 256 * b  # noqa: E731
    ext = 65535 * (nr - xh)
    e0 = (lo(p_bytes[0], p_bytes[1]) + (r & 0xFFFF)) >> 16
    e1 = (lo(p_bytes[2], p_bytes[3]) + (r >> 16) + e0) >> 16
    e2 = (lo(p_bytes[4], p_bytes[5]) + e1 + ext) >> 16
    e3 = (lo(p_bytes[6], p_bytes[7]) + e2 + ext) >> 16
    e4 = ((ar & 0xFFFF) + (w & 0xFFFF) + 1) >> 16
    for k, values in enumerate((e0, e1, e2, e3)):
        put(f"e{k}", np.where(divlike & ~ovf, values, 0))
    put("e0", np.where(divlike, e0, 0))
    put("e1", np.where(divlike, e1, 0))
    put("e4", np.where(divlike & (yz == 0), e4, 0))


def _multiplier_multiplicities(m, col, op, z, d, t_rows) -> None:  # type: ignore[no-untyped-def]
    table = 1 << 16
    _, is_shift, is_div, is_sdiv, _, divlike, unit = _unit_rows(op)
    get = lambda name: m[col[name], :t_rows]  # noqa: E731
    and_keys = [
        ((z & 0xFF) * 256 + 31)[is_shift],
        (get("u3") * 256 + 128)[(op == Op.SRA) | is_sdiv],
    ]
    and_keys.append((get("r3") * 256 + 128)[is_sdiv])
    _count(m, col["mult_and"], np.bincount(np.concatenate(and_keys), minlength=table))
    byte_keys = [(get(f"p{i}") * 256 + get(f"p{i + 1}"))[unit] for i in range(0, 8, 2)]
    byte_keys += [(get(f"r{i}") * 256 + get(f"w{i}"))[divlike] for i in range(4)]
    byte_keys += [(get(f"ar{i}") * 256 + get(f"ay{i}"))[divlike] for i in range(4)]
    byte_keys += [(get("u0") * 256 + get("u1"))[is_div], (get("u2") * 256 + get("u3"))[is_div]]
    byte_keys += [(get("v0") * 256 + get("v1"))[is_shift], (get("v2") * 256 + get("v3"))[is_shift]]
    _count(m, col["mult_bytes"], np.bincount(np.concatenate(byte_keys), minlength=table))
    ranges = [get(f"k{t}")[unit] for t in range(8)]
    _count(m, col["mult_range"], np.bincount(np.concatenate(ranges), minlength=table))
    counts = np.bincount(get("sh")[is_shift], minlength=32)
    m[col["mult_pow"], :32] = _column(counts)


def put_table(m: np.ndarray, col: dict[str, int], run: Run) -> None:
    """The last segment's memory table: the register file's final state on rows 0..31, the
    touched words from row 32 down in key order."""
    m[col["m_flo"], :N_REGS] = _column(run.final & 0xFFFF)
    m[col["m_fhi"], :N_REGS] = _column(run.final >> 16)
    m[col["m_fts"], :N_REGS] = _column(run.final_ts)
    t = run.table
    rows = N_REGS + np.arange(len(t.keys))
    m[col["m_on"], rows] = 1
    m[col["m_key"], rows] = _column(t.keys)
    m[col["m_ilo"], rows] = _column(t.init & 0xFFFF)
    m[col["m_ihi"], rows] = _column(t.init >> 16)
    m[col["m_flo"], rows] = _column(t.final & 0xFFFF)
    m[col["m_fhi"], rows] = _column(t.final >> 16)
    m[col["m_fts"], rows] = _column(t.final_ts)
    m[col["c_img"], rows] = t.c_img
    m[col["c_in"], rows] = t.c_in
    m[col["c_zero"], rows] = t.c_zero
    m[col["lim_lo"], rows] = _column(t.lim & 0xFFFF)
    m[col["lim_hi"], rows] = _column(t.lim >> 16)
    gaps = np.zeros(len(t.keys), dtype=np.int64)
    gaps[:-1] = t.keys[:-1] - t.keys[1:] - 1
    m[col["gap_lo"], rows] = _column(gaps & 0xFFFF)
    m[col["gap_hi"], rows] = _column(gaps >> 16)


def _memory_multiplicities(m, col, mb, bb, s, is_mem, top, op, mem_gap, gaps, used) -> None:  # type: ignore[no-untyped-def]
    """Add the memory accesses' lookups to the table multiplicities."""
    table = 1 << 16
    sb_ = _bytes(s)
    db = [m[col[f"d{k}"], : len(s)] for k in range(4)]
    signed = (op == Op.LB) | (op == Op.LH)
    and_keys = [(sb_[0] * 256 + 3)[is_mem], (top * 256 + 128)[signed]]
    _count(m, col["mult_and"], np.bincount(np.concatenate(and_keys), minlength=table))
    byte_keys = [db[k] * 256 + sb_[k] for k in range(4)] + [bb[k] * 256 + mb[k] for k in range(4)]
    _count(m, col["mult_bytes"], np.bincount(np.concatenate(byte_keys), minlength=table))
    ranges = [(mem_gap & 0xFFFF)[is_mem], 4 * (mem_gap >> 16)[is_mem]]
    ranges += [4 * (g >> 16)[u] for g, u in zip(gaps, used, strict=True)]
    _count(m, col["mult_range"], np.bincount(np.concatenate(ranges), minlength=table))


def table_multiplicities(m: np.ndarray, col: dict[str, int], t: _Table) -> None:
    """Add the memory table's lookups (on the last segment) to the table multiplicities."""
    table = 1 << 16
    lim_lo, lim_hi = t.lim & 0xFFFF, t.lim >> 16
    byte_keys = (lim_hi * 256 + 4 * lim_hi)[t.c_in]
    _count(m, col["mult_bytes"], np.bincount(byte_keys, minlength=table))
    gaps = np.zeros(len(t.keys), dtype=np.int64)
    gaps[:-1] = t.keys[:-1] - t.keys[1:] - 1
    g_lo, g_hi = gaps & 0xFFFF, gaps >> 16
    ranges = [g_lo, g_hi, 4 * g_hi, lim_lo[t.c_in | t.c_zero]]
    ranges += [lim_hi[t.c_zero], 4 * lim_hi[t.c_zero]]
    ranges += [(t.init & 0xFFFF)[t.c_in], (t.init >> 16)[t.c_in]]
    _count(m, col["mult_range"], np.bincount(np.concatenate(ranges), minlength=table))
    if len(t.image_rows):
        counts = np.bincount(t.image_rows)
        m[col["mult_image"], : len(counts)] = _column(counts)


def _results(op, x, z, s, logic, lt, c1, ins, old_word) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Each row's result as the AIR defines it (what D must hold even when rd is x0)."""
    mask = 0xFFFFFFFF
    xs, zs = x - ((x >> 31) << 32), z - ((z >> 31) << 32)
    sh = z & 31
    off = s & 3
    byte = (old_word >> (8 * off)) & 0xFF
    half = (old_word >> (8 * (off & 2))) & 0xFFFF
    xu, zu = x.astype(np.uint64), z.astype(np.uint64)
    const = ins["klo"] | (ins["khi"] << 16)
    quotient, remainder, _ = _quotients(op, x, z)
    table = {
        Op.ADD: s, Op.SUB: s, Op.AND: logic, Op.OR: logic, Op.XOR: logic, Op.SLT: lt, Op.SLTU: c1,
        Op.LUI: const, Op.AUIPC: const, Op.JAL: const, Op.JALR: const,
        Op.LW: old_word, Op.LBU: byte, Op.LHU: half,
        Op.LB: (byte - ((byte >> 7) << 8)) & mask, Op.LH: (half - ((half >> 15) << 16)) & mask,
        Op.MUL: ((xu * zu) & np.uint64(mask)).astype(np.int64),
        Op.MULHU: ((xu * zu) >> np.uint64(32)).astype(np.int64),
        Op.MULH: ((xs * zs) >> 32) & mask,
        Op.MULHSU: ((xs * z) >> 32) & mask,
        Op.SLL: (x << sh) & mask, Op.SRL: x >> sh, Op.SRA: (xs >> sh) & mask,
        Op.DIV: quotient, Op.DIVU: quotient, Op.REM: remainder, Op.REMU: remainder,
    }  # fmt: skip
    out = np.zeros_like(x)
    for o, values in table.items():
        out = np.where(op == o, values, out)
    return out


def imm_signed(imm: np.ndarray) -> np.ndarray:
    return imm - ((imm >> 31) << 32)


def _multiplicities(m, col, rom_rows, x, z, s, d, logic, tag_or, tag_xor, op, gaps, used) -> None:  # type: ignore[no-untyped-def]
    """How often each table entry was looked up, on the table's rows."""
    table = 1 << 16
    xb, zb, sb = _bytes(x), _bytes(z), _bytes(s)
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
        m[col[f"mult_{name}"], :table] = _column(np.bincount(np.concatenate(keys), minlength=table))
    ranges = [(g & 0xFFFF)[u] for g, u in zip(gaps, used, strict=True)]
    m[col["mult_range"], :table] = _column(np.bincount(np.concatenate(ranges), minlength=table))
    rom_counts = np.bincount(rom_rows)
    m[col["mult_rom"], : len(rom_counts)] = _column(rom_counts)
