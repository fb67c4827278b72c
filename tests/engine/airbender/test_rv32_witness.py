"""The witness kernel (rv32_witness.cu) against rv32_trace.segment_witness, byte for byte:
every supported instruction, random operands, division edge cases, a run in two segments, a
real zkOS block, and a false trace refused with NumPy's reason. Through the host build of the
kernels, and on an NVIDIA GPU where one is at hand (those cases skip with the reason
otherwise)."""

import dataclasses
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender import isa, rv32_air, rv32_trace, rv32_witness
from atlasdev.engine.airbender.device import probe
from atlasdev.engine.airbender.emulator import emulate
from atlasdev.engine.airbender.kernels import CudaKernels, Kernels
from atlasdev.engine.airbender.rom import Op, Rom
from atlasdev.engine.airbender.rv32_air import MemoryLayout
from tests.engine.airbender import test_rv32_prover as every_op
from tests.engine.airbender import test_rv32_segments as two_segments

E = isa.encode
BASE, INPUT, OUTPUT = 0x10000, 0x20000, 0x30000


def _flavours() -> list:
    found = probe()
    no_gpu = pytest.mark.skipif(found.gpu is None, reason=found.reason or "a GPU")
    return ["host", pytest.param("cuda", marks=no_gpu)]


@pytest.fixture(scope="module", params=_flavours())
def kernels(request: pytest.FixtureRequest) -> Kernels:
    if request.param == "cuda":
        import cupy

        return CudaKernels(cupy)
    from tests.engine.airbender.test_gpu import host_kernels

    return host_kernels()


def assert_same_witness(
    kernels: Kernels, rv: rv32_air.Rv32Air, rom: Rom, run: rv32_trace.Run, log_n: int
) -> None:
    for segment in run.segments(log_n):
        want = rv32_trace.segment_witness(rv, rom, run, segment, log_n).main
        got = rv32_witness.segment_witness(kernels, rv, rom, run, segment, log_n)
        got = got.get() if hasattr(got, "get") else got
        differ = sorted({name for name, c in rv.main.index.items() if (got[c] != want[c]).any()})
        assert not differ, f"columns differ: {differ}"
        assert got.dtype == want.dtype and np.array_equal(got, want)


def _run(code: list[int], steps: int = 10_000) -> tuple[rv32_air.Rv32Air, Rom, rv32_trace.Run]:
    words = np.array(code, dtype=np.uint32)
    mem = np.zeros(0x30000, dtype=np.uint8)
    mem[: 4 * len(words)] = words.view(np.uint8)
    res = emulate(mem, BASE, np.zeros(32, np.uint32), BASE, steps, trace=True)
    rv = rv32_air.build(BASE, MemoryLayout(BASE, BASE + 4 * len(words), INPUT, OUTPUT, 1))
    rom = Rom.build(BASE, words)
    return rv, rom, rv32_trace.replay(rv, rom, res.trace.array[: res.trace.rows])


def test_every_supported_instruction(kernels: Kernels) -> None:
    rv = every_op.machine()[0]
    rom, _, trace = every_op.run()
    assert_same_witness(kernels, rv, rom, rv32_trace.replay(rv, rom, trace), every_op.LOG_N)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(every_op.ALU_MNEMONICS),
    st.integers(0, 2**32 - 1) | st.sampled_from(every_op.EDGE_VALUES),
    st.integers(0, 2**32 - 1) | st.sampled_from(every_op.EDGE_VALUES),
)
def test_random_operands(kernels: Kernels, mnemonic: str, a: int, b: int) -> None:
    code = [*isa.li(5, a), *isa.li(6, b), E(mnemonic, 7, 5, 6), *isa.li(28, OUTPUT)]
    code += [E("sw", 7, 28, 0), E("sb", 6, 28, 1), E("lh", 9, 28, 2), E("lb", 9, 28, 3)]
    assert_same_witness(kernels, *_run([*code, E("addi", 17, 0, 93), E("ecall")]), 16)


def test_division_edge_cases(kernels: Kernels) -> None:
    code: list[int] = []
    for a, b in [(7, -2), (-(2**31), -1), (5, 0), (-5, 0), (2**31 - 1, -(2**31)), (0, 3)]:
        code += [*isa.li(5, a), *isa.li(6, b)]
        code += [E(op, 7 + i, 5, 6) for i, op in enumerate(("div", "divu", "rem", "remu"))]
    assert_same_witness(kernels, *_run([*code, E("addi", 17, 0, 93), E("ecall")]), 16)


def test_a_run_in_two_segments(kernels: Kernels) -> None:
    rv, rom, _, run = two_segments.setup()
    assert len(run.segments(two_segments.LOG_N)) == 2
    assert_same_witness(kernels, rv, rom, run, two_segments.LOG_N)


def test_a_zkos_block_of_one_transfer(kernels: Kernels) -> None:
    """The real workload: 411,466 cycles in two segments of 2^18 rows."""
    from atlasdev.bench_prover import transfers_block
    from atlasdev.engine.airbender import block_prover
    from atlasdev.engine.airbender.elf import load_elf
    from atlasdev.engine.zkos.block import execute
    from atlasdev.engine.zkos.linker import to_elf

    program = block_prover.installed_program()
    native = execute(*transfers_block(1))
    m = program.image.memory
    words = np.asarray(native.input_words, dtype="<u4")
    elf = load_elf(
        to_elf(program.image, struct.pack("<I", len(words)) + words.tobytes()),
        mem_size=m.end - m.text_base,
    )
    res = emulate(elf.mem.copy(), elf.mem_base, elf.initial_regs(), elf.entry, 10**6, trace=True)
    run = rv32_trace.replay(program.air, program.rom, res.trace.array[: res.trace.rows])
    assert_same_witness(kernels, program.air, program.rom, run, 18)


def test_a_false_trace_is_refused_with_numpys_reason(kernels: Kernels) -> None:
    rv, rom, run = _run([*isa.li(5, 40), E("add", 7, 5, 5), E("addi", 17, 0, 93), E("ecall")])
    row = int(np.flatnonzero(rom.columns[1][run.step("rom_row")] == Op.ADD)[0])
    steps = run.steps.copy()
    steps[row, rv32_trace.STEP.index("d")] ^= 1  # li's addi: the emulator claims 41 for 0 + 40
    false = dataclasses.replace(run, steps=steps)
    (segment,) = false.segments(16)
    with pytest.raises(rv32_trace.TraceError, match=r"the emulator wrote 0x29 .* computes 0x28"):
        rv32_witness.segment_witness(kernels, rv, rom, false, segment, 16)


def test_a_rom_row_past_the_rom_is_reported_not_read(kernels: Kernels) -> None:
    """On a GPU the read would fault and lose the device's context; the kernel refuses the row."""
    rv, rom, run = _run([*isa.li(5, 40), E("addi", 17, 0, 93), E("ecall")])
    steps = run.steps.copy()
    steps[1, rv32_trace.STEP.index("rom_row")] = rom.columns.shape[1]
    (segment,) = run.segments(16)
    with pytest.raises(rv32_trace.TraceError, match="ROM row is past the program's ROM"):
        rv32_witness.segment_witness(
            kernels, rv, rom, dataclasses.replace(run, steps=steps), segment, 16
        )
