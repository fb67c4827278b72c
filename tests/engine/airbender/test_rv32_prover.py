"""Proving RV32IM runs: honest runs verify; a trace that lies about any step cannot be proven.

The programs are hand-assembled (isa.encode) and run on our emulator; each tamper changes one
cell of the witness the way a cheating prover would, and must either break a constraint
(`diagnose` names it) or unbalance a LogUp multiset (the ROM or the memory argument), which
makes the prover refuse. Two tampers go through the whole prover to show it does refuse.
"""

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender import diagnose, isa, lookup, prover, rv32_air, rv32_trace, verifier
from atlasdev.engine.airbender.emulator import emulate
from atlasdev.engine.airbender.field import P
from atlasdev.engine.airbender.rom import Op, Rom
from atlasdev.engine.airbender.rv32_air import MemoryLayout
from atlasdev.engine.airbender.stark import StarkParams

E = isa.encode
BASE = 0x10000
PARAMS = StarkParams(num_queries=16, pow_bits=4)
LOG_N = 16
INPUT, WORK, OUTPUT = 0x20000, 0x28000, 0x30000
DATA_WORDS = [0xCAFEF00D, 0x01020304]
INPUT_WORDS = [0x8765F1F2, 0x00000042]

PROGRAM = [
    *isa.li(10, 10),  # a0 = 10
    E("addi", 11, 0, 0),  # a1 = 0
    E("add", 11, 11, 10),  # loop: a1 += a0
    E("addi", 10, 10, -1),
    E("bne", 10, 0, -8),
    E("xori", 12, 11, 0x55),
    E("sltu", 13, 0, 11),
    E("slt", 14, 12, 0),
    E("and", 15, 12, 11),
    E("or", 16, 12, 11),
    E("sub", 17, 0, 11),
    E("jal", 1, 8),  # skip the next instruction
    E("addi", 5, 0, 1),
    E("lui", 6, 0x12345),
    E("auipc", 7, 1),
    E("blt", 17, 0, 8),  # taken: a7 < 0
    E("addi", 5, 0, 2),
    E("bgeu", 0, 11, 8),  # not taken
    E("auipc", 18, 0),  # s2 = this pc
    E("jalr", 1, 18, 12),  # to s2 + 12, skipping the next instruction; ra = the link
    E("addi", 5, 0, 3),
    E("beq", 0, 0, 8),  # taken
    E("addi", 5, 0, 4),
    E("bge", 11, 0, 8),  # taken: 55 >= 0
    E("addi", 5, 0, 5),
    E("bltu", 11, 0, 8),  # not taken
    E("addi", 5, 0, 6),
    E("fence"),
    # loads from the input region, the image's data and the (zero) work region; stores to the
    # output words (the public values) and the work region
    *isa.li(20, INPUT),
    E("lw", 21, 20, 0),
    E("lb", 22, 20, 1),
    E("lbu", 23, 20, 2),
    E("lh", 24, 20, 2),
    E("lhu", 25, 20, 0),
    *isa.li(26, 0),  # patched below: the data words' address
    E("lw", 27, 26, 4),
    *isa.li(28, OUTPUT),
    E("sw", 21, 28, 0),
    E("sb", 22, 28, 4),
    E("sh", 24, 28, 6),
    *isa.li(29, WORK),
    E("lw", 30, 29, 0),
    E("sw", 11, 29, 4),
    E("lw", 31, 29, 4),
    E("sb", 27, 28, 5),
    # the multiplier: products (signed and not) and shifts by register and immediate
    *isa.li(5, 0x87654321),
    *isa.li(6, 0x12345),
    E("mul", 7, 5, 6),
    E("mulh", 8, 5, 6),
    E("mulhsu", 9, 5, 6),
    E("mulhu", 19, 5, 6),
    E("mulh", 8, 5, 5),
    E("sll", 7, 5, 6),
    E("srl", 8, 5, 6),
    E("sra", 9, 5, 6),
    E("slli", 7, 5, 31),
    E("srli", 8, 5, 0),
    E("srai", 9, 5, 7),
    E("srai", 9, 6, 3),
    E("div", 7, 5, 6),
    E("divu", 8, 5, 6),
    E("rem", 9, 5, 6),
    E("remu", 19, 5, 6),
    E("div", 7, 5, 0),  # by zero
    E("remu", 8, 6, 0),
    *isa.li(9, 0x80000000),
    E("addi", 19, 0, -1),
    E("div", 7, 9, 19),  # the signed overflow
    E("rem", 8, 9, 19),
    E("addi", 10, 0, 0),
    E("addi", 17, 0, 93),
    E("ecall"),
]


def program_words() -> np.ndarray:
    code = list(PROGRAM)
    data_at = BASE + 4 * len(code)
    i = next(k for k, w in enumerate(code) if w == isa.li(26, 0)[0])
    code[i : i + 2] = isa.li(26, data_at)
    return np.array(code, dtype=np.uint32)


LAYOUT = MemoryLayout(BASE, BASE + 4 * (len(PROGRAM) + len(DATA_WORDS)), INPUT, OUTPUT, 2)


@cache
def run() -> tuple[Rom, np.ndarray, np.ndarray]:
    code = program_words()
    image = np.concatenate([code, np.array(DATA_WORDS, dtype=np.uint32)])
    mem = np.zeros(0x30000, dtype=np.uint8)
    mem[: 4 * len(image)] = image.view(np.uint8)
    mem[INPUT - BASE : INPUT - BASE + 8] = np.array(INPUT_WORDS, dtype=np.uint32).view(np.uint8)
    res = emulate(mem, BASE, np.zeros(32, np.uint32), BASE, 10_000, trace=True)
    return Rom.build(BASE, code), image, res.trace.array[: res.trace.rows].copy()


@cache
def machine() -> tuple[rv32_air.Rv32Air, prover.ProvingKey, lookup.AuxTrace, np.ndarray]:
    rom, image, _ = run()
    rv = rv32_air.build(BASE, LAYOUT)
    pre = rv32_trace.preprocessed(rv, rom, image, LOG_N)
    return rv, prover.setup(rv.air, LOG_N, pre, PARAMS), lookup.AuxTrace(rv.air, rv.logup), pre


@cache
def witness() -> rv32_trace.Witness:
    rv, _, _, _ = machine()
    rom, _, trace = run()
    return rv32_trace.build(rv, rom, trace, LOG_N)


def test_the_program_exercises_every_supported_op() -> None:
    rom, _, trace = run()
    executed = {int(rom.columns[1, (int(pc) - BASE) // 4]) for pc in trace[:, 0]}
    assert executed == {int(op) for op in Op}


def test_the_public_values_are_the_output_words() -> None:
    w = witness()
    word0 = INPUT_WORDS[0]
    byte1 = (word0 >> 8) & 0xFF
    signed_byte = byte1 - 256 if byte1 & 0x80 else byte1
    half = word0 >> 16
    signed_half = half - 65536 if half & 0x8000 else half
    word1 = (signed_byte & 0xFF) | ((DATA_WORDS[1] & 0xFF) << 8) | ((signed_half & 0xFFFF) << 16)
    assert w.outputs == [word0 & 0xFFFF, word0 >> 16, word1 & 0xFFFF, word1 >> 16]


def test_an_honest_run_proves_and_verifies() -> None:
    rv, pk, aux, pre = machine()
    w = witness()
    assert diagnose.failing_constraints(rv.air, pre, w.main, w.publics) == []
    proof = prover.prove(pk, w.main, w.publics, aux).to_bytes()
    verifier.verify(rv.air, pk.vk, w.publics, proof)
    changed = [w.publics[0] ^ 1, *w.publics[1:]]
    with pytest.raises(verifier.InvalidProof):
        verifier.verify(rv.air, pk.vk, changed, proof)


def _row_of(op: Op, nth: int = 0) -> int:
    rv, _, _, _ = machine()
    main = witness().main
    return int(np.flatnonzero(main[rv.main.index[f"f_{op.name.lower()}"]] == 1)[nth])


def _set(main: np.ndarray, name: str, row: int, value: int) -> np.ndarray:
    rv, _, _, _ = machine()
    out = main.copy()
    out[rv.main.index[name], row] = value % P
    return out


def _bump(name: str, row: int, by: int = 1) -> np.ndarray:
    rv, _, _, _ = machine()
    main = witness().main
    return _set(main, name, row, int(main[rv.main.index[name], row]) + by)


def _broken(main: np.ndarray) -> list[str]:
    rv, _, _, pre = machine()
    return [name for name, _ in diagnose.failing_constraints(rv.air, pre, main, witness().publics)]


def _unbalanced(main: np.ndarray) -> bool:
    rv, pk, aux, _ = machine()
    challenges = [(12345, 678, 9, 10), (1112, 1314, 1516, 1718)]
    aux_values = aux.build(challenges, pk.pre_values, main, witness().publics)
    return lookup.total(aux_values, rv.logup) != (0, 0, 0, 0)


# one wrong result per instruction class: each breaks a named constraint
CLASS_TAMPERS = {
    "add": (Op.ADD, "d0", "add/sub result byte 0"),
    "sub": (Op.SUB, "s1", "sub: low limb"),
    "logic": (Op.XOR, "d0", "logic result byte 0"),
    "set-less-than": (Op.SLTU, "d0", "set-less-than bit"),
    "lui": (Op.LUI, "d2", "constant result, high limb"),
    "jal link": (Op.JAL, "d0", "constant result, low limb"),
    "branch decision": (Op.BNE, "taken", "branch taken"),
    "jalr target": (Op.JALR, "next_pc", "next pc"),
    "ecall": (Op.ECALL, "x0", "ecall is exit or write"),
    "lw": (Op.LW, "d1", "lw byte 1"),
    "lb sign": (Op.LB, "d3", "lb sign-extends byte 3"),
    "lhu": (Op.LHU, "d2", "lhu zero-extends"),
    "sb": (Op.SB, "n0", "sb byte 0"),
    "sh": (Op.SH, "n3", "sh byte 3"),
    "sw": (Op.SW, "n2", "sw byte 2"),
    "mul": (Op.MUL, "d1", "low product byte 1"),
    "mulhu": (Op.MULHU, "p5", "product byte 5"),
    "sll": (Op.SLL, "d3", "low product byte 3"),
    "srl remainder": (Op.SRL, "w0", "|R| < |V|, low"),
    "sra": (Op.SRA, "d0", "u0"),
    "div quotient": (Op.DIV, "u0", "quotient byte 0"),
    "remu": (Op.REMU, "d0", "remainder byte 0"),
    "divu remainder bound": (Op.DIVU, "w1", "|R| < |V|, low"),
}


@pytest.mark.parametrize("what", sorted(CLASS_TAMPERS))
def test_a_wrong_result_breaks_a_constraint(what: str) -> None:
    op, column, constraint = CLASS_TAMPERS[what]
    assert constraint in _broken(_bump(column, _row_of(op)))


def test_a_wrong_register_read_unbalances_the_memory_argument() -> None:
    # x (rs1's value) of an add: the adder still holds if s changes too, but the read no longer
    # matches the register's last write.
    row = _row_of(Op.ADD, 3)
    main = _bump("x0", row)
    main = _set(main, "s0", row, int(main[machine()[0].main.index["s0"], row]) + 1)
    main = _set(main, "d0", row, int(main[machine()[0].main.index["d0"], row]) + 1)
    assert _unbalanced(main)


def test_a_wrong_memory_read_unbalances_the_memory_argument() -> None:
    # a load that returns another value than the word holds: m (and d) changed consistently
    row = _row_of(Op.LW)
    main = _bump("m0", row)
    main = _set(main, "d0", row, int(main[machine()[0].main.index["d0"], row]) + 1)
    main = _set(main, "n0", row, int(main[machine()[0].main.index["n0"], row]) + 1)
    main = _set(main, "sel0", row, int(main[machine()[0].main.index["sel0"], row]) + 1)
    assert not _broken(main)
    assert _unbalanced(main)


def test_a_wrong_initial_image_word_is_not_in_the_image() -> None:
    rv, _, _, _ = machine()
    main = witness().main
    img_rows = np.flatnonzero(main[rv.main.index["c_img"]] == 1)
    assert len(img_rows) and _unbalanced(_bump("m_ilo", int(img_rows[0])))


ALU_MNEMONICS = [
    "add", "sub", "and", "or", "xor", "slt", "sltu", "sll", "srl", "sra",
    "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
]  # fmt: skip
EDGE_VALUES = [0, 1, 2**31, 2**32 - 1, 2**31 - 1, 7, 2**32 - 7]  # zero, -1, -2^31, ...


@settings(max_examples=6)
@given(
    st.sampled_from(ALU_MNEMONICS),
    st.integers(0, 2**32 - 1) | st.sampled_from(EDGE_VALUES),
    st.integers(0, 2**32 - 1) | st.sampled_from(EDGE_VALUES),
)
def test_random_operands_give_a_satisfying_witness(mnemonic: str, a: int, b: int) -> None:
    """Completeness across operands: the witness of `op rd, a, b` (and of its immediate form
    where one exists) breaks no constraint and balances every LogUp multiset."""
    imm = {"add": "addi", "and": "andi", "or": "ori", "xor": "xori", "slt": "slti", "sltu": "sltiu"}
    imm.update({"sll": "slli", "srl": "srli", "sra": "srai"})
    code = [*isa.li(5, a), *isa.li(6, b), E(mnemonic, 7, 5, 6)]
    if mnemonic in imm:
        small = b & 31 if mnemonic in ("sll", "srl", "sra") else ((b & 0xFFF) ^ 0x800) - 0x800
        code.append(E(imm[mnemonic], 8, 5, small))
    code += [*isa.li(28, OUTPUT), E("sw", 7, 28, 0), E("addi", 17, 0, 93), E("ecall")]
    words = np.array(code, dtype=np.uint32)
    mem = np.zeros(0x30000, dtype=np.uint8)
    mem[: 4 * len(words)] = words.view(np.uint8)
    res = emulate(mem, BASE, np.zeros(32, np.uint32), BASE, 100, trace=True)
    layout = MemoryLayout(BASE, BASE + 4 * len(words), INPUT, OUTPUT, 1)
    rv = rv32_air.build(BASE, layout)
    rom = Rom.build(BASE, words)
    pre = rv32_trace.preprocessed(rv, rom, words, LOG_N)
    w = rv32_trace.build(rv, rom, res.trace.array[: res.trace.rows], LOG_N)
    assert w.outputs == [int(res.regs[7]) & 0xFFFF, int(res.regs[7]) >> 16]
    assert diagnose.failing_constraints(rv.air, pre, w.main, w.publics) == []
    challenges = [(3, 1, 4, 1), (5, 9, 2, 6)]
    aux = lookup.AuxTrace(rv.air, rv.logup).build(challenges, pre, w.main, w.publics)
    assert lookup.total(aux, rv.logup) == (0, 0, 0, 0)


def _witness_checks(code: list[int]) -> None:
    """Run ``code`` (ending with an exit), build its witness and check it is satisfying."""
    words = np.array(code, dtype=np.uint32)
    mem = np.zeros(0x30000, dtype=np.uint8)
    mem[: 4 * len(words)] = words.view(np.uint8)
    res = emulate(mem, BASE, np.zeros(32, np.uint32), BASE, 10_000, trace=True)
    rv = rv32_air.build(BASE, MemoryLayout(BASE, BASE + 4 * len(words), INPUT, OUTPUT, 1))
    rom = Rom.build(BASE, words)
    pre = rv32_trace.preprocessed(rv, rom, words, LOG_N)
    w = rv32_trace.build(rv, rom, res.trace.array[: res.trace.rows], LOG_N)  # checks the emulator
    assert diagnose.failing_constraints(rv.air, pre, w.main, w.publics) == []
    assert diagnose.unbalanced_tuples(rv.logup.interactions, pre, w.main, w.publics) == []


def test_division_edge_cases_give_a_satisfying_witness() -> None:
    pairs = [(7, 2), (-7, 2), (7, -2), (-7, -2), (-(2**31), -1), (5, 0), (-5, 0), (0, 3)]
    pairs += [(2**32 - 1, 1), (1, 2**32 - 1), (-(2**31), 1), (2**31 - 1, -(2**31)), (6, 3)]
    code: list[int] = []
    for a, b in pairs:
        code += [*isa.li(5, a), *isa.li(6, b)]
        code += [E(op, 7 + i, 5, 6) for i, op in enumerate(("div", "divu", "rem", "remu"))]
    _witness_checks([*code, E("addi", 17, 0, 93), E("ecall")])


def test_an_altered_instruction_is_not_in_the_rom() -> None:
    row = _row_of(Op.ADD)
    assert _unbalanced(_bump("rd", row))  # same op, another destination register
    assert _unbalanced(_bump("pc", row, 4)) or _broken(_bump("pc", row, 4))  # a skipped step


def test_the_run_must_reach_its_exit() -> None:
    rv, _, _, _ = machine()
    main = witness().main.copy()
    cycles = int(main[rv.main.index["active"]].sum())
    main[:, cycles - 1] = 0  # drop the exit ecall: the run now stops mid-way
    main[rv.main.index["is_zero"], cycles - 1] = 1
    assert "only an exit ecall halts" in _broken(main)


def test_the_prover_refuses_false_traces() -> None:
    # a wrong ALU result (a broken constraint): the quotient disagrees with it at zeta
    _, pk, aux, _ = machine()
    with pytest.raises(prover.UnsatisfiedConstraints):
        prover.prove(pk, _bump("d0", _row_of(Op.ADD)), witness().publics, aux)


def test_instructions_outside_rv32im_are_named() -> None:
    # the emulator itself stops at an ebreak; a trace that claims to run one is refused
    words = np.array([E("ebreak"), E("addi", 17, 0, 93), E("ecall")], dtype=np.uint32)
    trace = np.zeros((3, 13), dtype=np.uint32)
    trace[:, 0] = BASE + 4 * np.arange(3)
    trace[:, 1] = words
    rv, _, _, _ = machine()
    with pytest.raises(rv32_trace.TraceError, match="not supported by the prover"):
        rv32_trace.build(rv, Rom.build(BASE, words), trace, LOG_N)
