"""The replay (rv32_trace.replay): what each cycle reads, writes and last touched, worked out
by hand for a short program, and the runs it refuses, each with its reason."""

import numpy as np
import pytest

from atlasdev.engine.airbender import isa, rv32_air, rv32_trace
from atlasdev.engine.airbender.emulator import COLUMN_NAMES, PROVER_COLUMNS, emulate
from atlasdev.engine.airbender.rom import Op, Rom
from atlasdev.engine.airbender.rv32_air import MemoryLayout, word_key

E = isa.encode
BASE, INPUT, OUTPUT = 0x10000, 0x20000, 0x30000
VALUE = 0x12345678
EXIT = [E("addi", 17, 0, 93), E("ecall")]


def _replay(code: list[int], below: int = 0, poke: dict[int, int] | None = None) -> rv32_trace.Run:
    """Emulate ``code`` at BASE (memory from BASE - below, words in ``poke`` set first) and
    replay it for a layout whose program starts at BASE, with one output word."""
    words = np.array(code, dtype=np.uint32)
    mem = np.zeros(below + 0x30000, dtype=np.uint8)
    mem[below : below + 4 * len(words)] = words.view(np.uint8)
    for address, value in (poke or {}).items():
        mem[address - BASE + below : address - BASE + below + 4] = np.array([value], "<u4").view(
            np.uint8
        )
    res = emulate(mem, BASE - below, np.zeros(32, np.uint32), BASE, 10_000, trace=True)
    rv = rv32_air.build(BASE, MemoryLayout(BASE, BASE + 4 * len(words), INPUT, OUTPUT, 1))
    return rv32_trace.replay(rv, Rom.build(BASE, words), res.trace.array[: res.trace.rows])


def test_the_replay_tracks_registers_and_memory_words() -> None:
    code = [*isa.li(5, VALUE), *isa.li(28, OUTPUT), E("sw", 5, 28, 0), E("lw", 6, 28, 0)]
    code += [E("sb", 5, 28, 2), *isa.li(29, BASE), E("lw", 7, 29, 0), *EXIT]
    run = _replay(code)
    sw, lw, sb = 4, 5, 6  # the cycles of the store word, load word and store byte
    step = {name: run.step(name).astype(np.int64) for name in rv32_trace.STEP}
    assert run.cycles == len(code)
    assert [run.pc(i) for i in range(run.cycles)] == [BASE + 4 * i for i in range(len(code))]
    assert list(step["rom_row"]) == list(range(len(code)))
    # sw x5, 0(x28): reads x28 (written by li's addi at cycle 3) and x5 (cycle 1)
    assert (step["x"][sw], step["b"][sw]) == (OUTPUT, VALUE)
    assert (step["prev0"][sw], step["prev1"][sw]) == (4 * 3 + 4, 4 * 1 + 4)
    # the memory word: first touched by sw, then lw, then sb (timestamps 4 i + 3)
    assert (step["mem_prev"][sw], step["mem_prev"][lw], step["mem_prev"][sb]) == (
        0,
        4 * sw + 3,
        4 * lw + 3,
    )
    assert step["mem_prev"][[0, 1, 2, 3]].tolist() == [0, 0, 0, 0]  # no memory access
    assert (step["mem_old"][lw], step["d"][lw], step["old"][lw]) == (VALUE, VALUE, 0)
    stored = (VALUE & ~0xFF0000) | ((VALUE & 0xFF) << 16)  # what the replay makes of the sb
    # x6 was never touched before; li's addi writes x5 right after reading it as rs1
    assert step["prev2"][lw] == 0 and step["prev2"][1] == 4 * 1 + 1
    assert run.outputs == [stored & 0xFFFF, stored >> 16]
    assert run.touched == 2 and run.rows_needed == rv32_air.N_REGS + 2 + 1  # the table's
    t = run.table  # the output word, then the program's first word (a load leaves it)
    assert list(t.keys) == [word_key(OUTPUT // 4), word_key(BASE // 4)]
    assert (t.init[0], t.final[0], t.final_ts[0]) == (0, stored, 4 * sb + 3)
    assert (t.init[1], t.final[1], t.final_ts[1]) == (code[0], code[0], 4 * (sb + 3) + 3)
    assert list(t.c_img) == [False, True] and list(t.image_rows) == [0]
    assert run.final[6] == VALUE and run.final_ts[6] == 4 * lw + 4


def test_untouched_output_words_are_in_the_table() -> None:
    run = _replay(EXIT)
    assert run.touched == 0 and run.outputs == [0, 0]
    assert list(run.table.keys) == [word_key(OUTPUT // 4)]
    assert run.table.final_ts[0] == 0


REFUSED = {
    "below the program": (
        [*isa.li(5, BASE - 4), E("sw", 0, 5, 0), *EXIT],
        {"below": 0x100},
        "touched memory below the program",
    ),
    "above the outputs": (
        [*isa.li(5, OUTPUT + 4), E("lw", 6, 5, 0), *EXIT],
        {},
        "touched memory above its public output words",
    ),
    "a zero word that was not": (
        [*isa.li(5, INPUT - 8), E("lw", 6, 5, 0), *EXIT],
        {"poke": {INPUT - 8: 7}},
        "did not start at zero",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_runs_outside_the_memory_layout_are_refused(case: str) -> None:
    code, options, reason = REFUSED[case]
    with pytest.raises(rv32_trace.TraceError, match=reason):
        _replay(code, **options)


def _trace(code: list[int]) -> tuple[rv32_air.Rv32Air, Rom, np.ndarray]:
    words = np.array(code, dtype=np.uint32)
    mem = np.zeros(0x30000, dtype=np.uint8)
    mem[: 4 * len(words)] = words.view(np.uint8)
    res = emulate(mem, BASE, np.zeros(32, np.uint32), BASE, 10_000, trace=True)
    rv = rv32_air.build(BASE, MemoryLayout(BASE, BASE + 4 * len(words), INPUT, OUTPUT, 1))
    return rv, Rom.build(BASE, words), res.trace.array[: res.trace.rows]


def test_a_trace_that_leaves_the_code_or_does_not_exit_is_refused() -> None:
    rv, rom, trace = _trace([E("addi", 5, 0, 1), *EXIT])
    with pytest.raises(rv32_trace.TraceError, match="does not end with an exit ecall"):
        rv32_trace.replay(rv, rom, trace[:-1])
    with pytest.raises(rv32_trace.TraceError, match="does not end with an exit ecall"):
        rv32_trace.replay(rv, rom, trace[:0])
    for pc in (BASE - 4, BASE + 2, BASE + 4 * len(rom.words)):
        outside = trace.copy()
        outside[1, 0] = pc
        with pytest.raises(rv32_trace.TraceError, match="left the program's code"):
            rv32_trace.replay(rv, rom, outside)
    assert rom.columns[1, 0] == Op.ADD  # the trace is fine as it was
    assert rv32_trace.replay(rv, rom, trace).cycles == 3
    with pytest.raises(rv32_trace.TraceError, match="a trace has 13 or 3 columns"):
        rv32_trace.replay(rv, rom, trace[:, :4])


def test_a_provers_trace_replays_the_same() -> None:
    code = [*isa.li(5, VALUE), *isa.li(28, OUTPUT), E("sw", 5, 28, 0), E("lb", 6, 28, 1), *EXIT]
    rv, rom, trace = _trace(code)
    narrow = trace[:, [COLUMN_NAMES.index(name) for name in PROVER_COLUMNS]].copy()
    want, got = rv32_trace.replay(rv, rom, trace), rv32_trace.replay(rv, rom, narrow)
    assert np.array_equal(got.steps, want.steps) and got.outputs == want.outputs == [0x5678, 0x1234]
    assert np.array_equal(got.table.final_ts, want.table.final_ts)
