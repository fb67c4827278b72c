"""The execution trace: each row is consistent with its neighbours and with the machine state.

Replaying the recorded register writes and memory stores from the initial state must reproduce
the final state, every recorded read must equal the replayed state at that row, and the traced
run must end exactly where the fast run ends.
"""

from pathlib import Path

import numpy as np
import pytest

from atlasdev.engine.airbender import emulator as em
from atlasdev.engine.airbender.elf import Program, load_elf
from atlasdev.engine.airbender.isa import ECALL, encode, li
from tests.engine.airbender.rv_toolchain import build, needs_gcc

BASE = 0x10000
DATA = BASE + 0x800


def _program() -> Program:
    """A loop over loads and stores of every width, M-extension ops, a call and a write."""
    body = [
        *li(31, DATA),
        *li(5, 40),  # loop counter
        *li(6, 0x80FF7F01),
        # loop:
        encode("sw", 6, 31, 0),
        encode("sh", 6, 31, 6),
        encode("sb", 6, 31, 9),
        encode("lb", 7, 31, 0),
        encode("lbu", 8, 31, 3),
        encode("lh", 9, 31, 6),
        encode("lhu", 10, 31, 2),
        encode("lw", 11, 31, 8),
        encode("mul", 12, 6, 5),
        encode("divu", 13, 6, 5),
        encode("rem", 14, 6, 7),
        encode("mulhsu", 15, 7, 6),
        encode("add", 6, 6, 12),
        encode("xor", 6, 6, 11),
        encode("jal", 1, 12),  # call fn
        encode("addi", 5, 5, -1),
        encode("bne", 5, 0, -64),
        encode("jal", 0, 12),  # to the exit sequence
        # fn: keep a running sum at DATA+16, return
        encode("lw", 16, 31, 16),
        encode("add", 16, 16, 6),
        encode("sw", 16, 31, 16),
        encode("jalr", 0, 1, 0),
    ]
    # patch the jumps: the loop starts at word 6 (sw x6), fn right after the jump to the exit
    loop_start = 6
    bne = body.index(encode("bne", 5, 0, -64))
    body[bne] = encode("bne", 5, 0, -4 * (bne - loop_start))
    call = bne - 2
    fn = bne + 2
    body[call] = encode("jal", 1, 4 * (fn - call))
    body[bne + 1] = encode("jal", 0, 4 * (len(body) - bne - 1))
    exit_seq = [*li(10, 1), *li(11, DATA), *li(12, 20), *li(17, 64), ECALL]
    exit_seq += [*li(10, 7), *li(17, 93), ECALL]
    words = np.array(body + exit_seq, dtype=np.uint32)
    mem = np.zeros(0x1000, dtype=np.uint8)
    mem[: 4 * len(words)] = words.view(np.uint8)
    return Program(mem, BASE, BASE, BASE + 0x1000 - 16, [(BASE, 0x1000)])


def check_trace(prog: Program, max_cycles: int = 1_000_000) -> em.Result:
    fast_mem, traced_mem = prog.mem.copy(), prog.mem.copy()
    fast = em.emulate(fast_mem, prog.mem_base, prog.initial_regs(), prog.entry, max_cycles)
    traced = em.emulate(
        traced_mem, prog.mem_base, prog.initial_regs(), prog.entry, max_cycles, trace=True
    )
    assert traced.trace is not None
    assert (traced.cycles, traced.pc, traced.output) == (fast.cycles, fast.pc, fast.output)
    assert np.array_equal(traced.regs, fast.regs)
    assert np.array_equal(traced_mem, fast_mem)

    t = traced.trace
    n = t.rows
    assert n == traced.cycles
    col = {name: t.column(name).astype(np.int64) for name in em.COLUMN_NAMES}
    assert col["pc"][0] == prog.entry
    assert np.array_equal(col["next_pc"][:-1], col["pc"][1:])
    assert col["next_pc"][-1] == col["pc"][-1] == traced.pc  # the exit ecall: halted in place
    mem0 = prog.mem.view(np.uint32)
    assert np.array_equal(col["insn"], mem0[(col["pc"] - prog.mem_base) >> 2])  # no self-mod here

    regs = prog.initial_regs().astype(np.int64)
    mem = prog.mem.copy()
    kinds = {em.MEM_LB: 1, em.MEM_LBU: 1, em.MEM_LH: 2, em.MEM_LHU: 2, em.MEM_LW: 4}
    stores = {em.MEM_SB: 1, em.MEM_SH: 2, em.MEM_SW: 4}
    for i in range(n):
        for idx, val in (("rs1", "rs1_val"), ("rs2", "rs2_val")):
            assert col[val][i] == regs[col[idx][i]], f"row {i}: {idx}"
        kind, addr = col["mem_kind"][i], col["mem_addr"][i]
        off = addr - prog.mem_base
        if kind != em.MEM_NONE:
            word_off = off & ~3
            old = int.from_bytes(bytes(mem[word_off : word_off + 4]), "little")
            assert col["mem_old"][i] == old, f"row {i}: old word"
        if kind in kinds:
            w = kinds[kind]
            raw = int.from_bytes(bytes(mem[off : off + w]), "little")
            assert col["mem_val"][i] == raw
            signed = kind in (em.MEM_LB, em.MEM_LH) and raw >> (8 * w - 1)
            assert col["rd_val"][i] == (raw - (1 << (8 * w)) if signed else raw) & 0xFFFFFFFF
        elif kind in stores:
            w = stores[kind]
            mem[off : off + w] = np.frombuffer(
                int(col["mem_val"][i]).to_bytes(w, "little"), np.uint8
            )
        if col["rd"][i] != 0:
            regs[col["rd"][i]] = col["rd_val"][i]
        else:
            assert col["rd_val"][i] == 0
    assert np.array_equal(regs, fast.regs.astype(np.int64))
    assert np.array_equal(mem, fast_mem)
    return traced


def test_trace_replays_to_the_final_state() -> None:
    res = check_trace(_program())
    kinds = set(res.trace.column("mem_kind").tolist())
    assert kinds == set(range(em.MEM_SW + 1))  # no access, and every load and store width
    assert len(res.output) == 20
    assert res.exit_code == 7


def test_trace_rows_for_known_instructions() -> None:
    prog = _program()
    res = prog.run(trace=True)
    t = res.trace
    assert t is not None
    rows = {int(t.column("pc")[i]): i for i in range(16)}
    sw = rows[BASE + 24]  # sw x6, 0(x31)
    assert t.column("rs1")[sw] == 31 and t.column("rs1_val")[sw] == DATA
    assert t.column("rs2")[sw] == 6 and t.column("rs2_val")[sw] == 0x80FF7F01
    assert t.column("rd")[sw] == 0 and t.column("mem_kind")[sw] == em.MEM_SW
    assert t.column("mem_addr")[sw] == DATA and t.column("mem_val")[sw] == 0x80FF7F01
    lb = rows[BASE + 36]  # lb x7, 0(x31)
    assert t.column("rd")[lb] == 7 and t.column("rd_val")[lb] == 1
    assert t.column("mem_kind")[lb] == em.MEM_LB and t.column("rs2")[lb] == 0
    last = t.rows - 1
    assert t.column("insn")[last] == ECALL
    assert (t.column("rs1")[last], t.column("rs1_val")[last]) == (17, 93)
    assert (t.column("rs2")[last], t.column("rs2_val")[last]) == (10, 7)
    write = int(np.flatnonzero(t.column("insn") == ECALL)[0])
    assert (t.column("rd")[write], t.column("rd_val")[write]) == (10, 20)


def test_traced_segments_equal_one_trace() -> None:
    prog = _program()
    whole = prog.run(trace=True).trace
    assert whole is not None
    mem, regs, pc = prog.mem.copy(), prog.initial_regs(), prog.entry
    out = np.zeros(64, np.uint8)
    pos, rows, status = 0, [], em.ST_CYCLE_LIMIT
    seg = em.Trace.allocate(97)
    while status == em.ST_CYCLE_LIMIT:
        status, cycles, pc, pos = em.run_traced(mem, BASE, regs, pc, 10**6, out, pos, seg.array)
        rows.append(seg.array[:cycles].copy())
    assert status == em.ST_HALT
    assert np.array_equal(np.concatenate(rows), whole.array[: whole.rows])


def test_a_provers_trace_holds_the_full_traces_columns() -> None:
    prog = _program()
    whole = prog.run(trace=True).trace
    narrow = prog.run(trace=em.Trace.allocate(10_000, em.PROVER_COLUMNS)).trace
    assert whole is not None and narrow is not None
    assert narrow.array.shape[1] == 3 and narrow.rows == whole.rows
    for name in em.PROVER_COLUMNS:
        assert np.array_equal(narrow.column(name), whole.column(name)), name
    assert narrow.column("mem_old").any() and narrow.column("rd_val").any()
    with pytest.raises(ValueError, match="COLUMN_NAMES or PROVER_COLUMNS"):
        em.Trace.allocate(4, ("pc",))


@pytest.mark.parametrize(("rows", "cycles_over"), [(16, 10**6), (-1, 10**6), (0, 0), (0, 10**6)])
def test_a_recorded_trace_grows_to_the_run(rows: int, cycles_over: int) -> None:
    """From 16 rows, from one row short of the run, from exactly its length, and with a cycle
    limit of exactly its length (rows and the limit counted from the run's cycles)."""
    prog = _program()
    plain = prog.run(trace=True)
    whole = plain.trace
    assert whole is not None and whole.rows > 64
    room = rows if rows > 0 else whole.rows + rows
    mem, regs = prog.mem.copy(), prog.initial_regs()
    res = em.record(mem, BASE, regs, prog.entry, whole.rows + cycles_over, rows=room)
    assert res.status == em.ST_HALT and res.trace is not None and res.trace.rows == whole.rows
    for name in em.PROVER_COLUMNS:
        assert np.array_equal(res.trace.column(name), whole.column(name)), name
    assert res.output == plain.output and res.exit_code == 7
    assert res.pc == plain.pc and np.array_equal(res.regs, plain.regs)


def test_a_recording_past_its_cycle_limit_is_refused() -> None:
    prog = _program()
    with pytest.raises(em.EmulatorError, match="cycle limit 50 reached") as err:
        em.record(prog.mem.copy(), BASE, prog.initial_regs(), prog.entry, 50, rows=16)
    assert err.value.cycles == 50


def test_trace_capacity_ends_the_run() -> None:
    prog = _program()
    with pytest.raises(em.EmulatorError, match="trace capacity 50 reached") as err:
        prog.run(trace=em.Trace.allocate(50))
    assert err.value.status == em.ST_CYCLE_LIMIT and err.value.cycles == 50


@needs_gcc
def test_trace_of_a_compiled_program(tmp_path: Path) -> None:
    src = r"""
static u32 buf[64];
int main(void) {
    u32 h = 2166136261u;
    for (u32 i = 0; i < 64; i++) buf[i] = i * 2654435761u;
    for (u32 r = 0; r < 4; r++)
        for (u32 i = 0; i < 256; i++) {
            h = (h ^ ((unsigned char *)buf)[i]) * 16777619u;
            ((unsigned short *)buf)[i & 127] ^= (unsigned short)(h >> (r + 3));
            ((signed char *)buf)[(i * 7) & 255] += (signed char)(h % 251);
        }
    sys_write(1, buf, sizeof(buf));
    return (int)(h / 3 % 100);
}
"""
    prog = load_elf(build(src, tmp_path, "fnv"))
    res = check_trace(prog)
    assert res.cycles > 5000
