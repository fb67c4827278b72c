"""Directed tests per RV32IM instruction and every edge case the spec singles out.

Programs are hand-assembled with the isa encoders (checked against GNU as at the end), so these
run without the RISC-V toolchain. Code sits at BASE, data at DATA; each program ends with the
exit ecall (which uses a7 = x17: the tests leave x17 alone).
"""

import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender import emulator as em
from atlasdev.engine.airbender import isa
from atlasdev.engine.airbender.isa import ECALL, encode, li
from tests.engine.airbender.rv_toolchain import ARCH, GCC, needs_gcc

BASE = 0x10000
MEM_SIZE = 0x2000
DATA = BASE + 0x1000
M = 0xFFFFFFFF
INT_MIN = 0x80000000
INT_MAX = 0x7FFFFFFF
EXIT = [*li(17, 93), ECALL]


def machine(
    words: list[int], regs: dict[int, int] | None = None, data: bytes = b""
) -> tuple[np.ndarray, np.ndarray]:
    mem = np.zeros(MEM_SIZE, dtype=np.uint8)
    code = np.array(words, dtype=np.uint32).view(np.uint8)
    mem[: len(code)] = code
    mem[DATA - BASE : DATA - BASE + len(data)] = np.frombuffer(data, dtype=np.uint8)
    r = np.zeros(32, dtype=np.uint32)
    for k, v in (regs or {}).items():
        r[k] = v & M
    return mem, r


def run(
    words: list[int],
    regs: dict[int, int] | None = None,
    data: bytes = b"",
    max_cycles: int = 10_000,
    **kw: object,
) -> tuple[em.Result, np.ndarray]:
    mem, r = machine([*words, *EXIT], regs, data)
    return em.emulate(mem, BASE, r, BASE, max_cycles, **kw), mem


def fails(
    words: list[int], status: int, message: str, regs: dict[int, int] | None = None, **kw: object
) -> em.EmulatorError:
    with pytest.raises(em.EmulatorError) as err:
        run(words, regs, **kw)
    assert err.value.status == status
    assert str(err.value) == message
    return err.value


def s32(x: int) -> int:
    return x - (1 << 32) if x & 0x80000000 else x


# ---- ALU ----------------------------------------------------------------------------------------
R_CASES = [
    ("add", M, 1, 0),
    ("add", INT_MAX, 1, INT_MIN),
    ("sub", 0, 1, M),
    ("sub", INT_MIN, 1, INT_MAX),
    ("sll", 1, 31, INT_MIN),
    ("sll", 1, 32, 1),  # shift amounts are masked to 5 bits
    ("sll", 3, 33, 6),
    ("srl", INT_MIN, 31, 1),
    ("srl", INT_MIN, 0xFFFFFFE0, INT_MIN),
    ("sra", INT_MIN, 31, M),
    ("sra", INT_MIN, 63, M),
    ("sra", 0x40000000, 30, 1),
    ("slt", M, 1, 1),
    ("slt", 1, M, 0),
    ("slt", INT_MIN, INT_MAX, 1),
    ("slt", 5, 5, 0),
    ("sltu", M, 1, 0),
    ("sltu", 1, M, 1),
    ("xor", 0xF0F0F0F0, M, 0x0F0F0F0F),
    ("or", 0xF0000000, 0xF, 0xF000000F),
    ("and", 0xF0F0F0F0, 0x3C3C3C3C, 0x30303030),
    ("mul", M, M, 1),
    ("mul", INT_MIN, M, INT_MIN),
    ("mul", 0x10000, 0x10000, 0),
    ("mul", 0x12345678, 0x9ABCDEF0, (0x12345678 * 0x9ABCDEF0) & M),
    ("mulh", INT_MIN, INT_MIN, 0x40000000),
    ("mulh", M, M, 0),
    ("mulh", INT_MIN, INT_MAX, 0xC0000000),
    ("mulh", M, 1, M),
    ("mulhu", M, M, 0xFFFFFFFE),
    ("mulhu", INT_MIN, 2, 1),
    ("mulhsu", M, M, M),
    ("mulhsu", INT_MIN, M, INT_MIN),
    ("mulhsu", 1, M, 0),
    ("div", 7, 2, 3),
    ("div", -7 & M, 2, -3 & M),
    ("div", 7, -2 & M, -3 & M),
    ("div", -7 & M, -2 & M, 3),
    ("div", 5, 0, M),  # division by zero: -1
    ("div", 0, 0, M),
    ("div", INT_MIN, M, INT_MIN),  # overflow: INT_MIN / -1 = INT_MIN
    ("divu", 5, 0, M),  # 2^32 - 1
    ("divu", M, 2, INT_MAX),
    ("divu", INT_MIN, M, 0),
    ("rem", 7, 2, 1),
    ("rem", -7 & M, 2, M),  # the remainder takes the dividend's sign
    ("rem", 7, -2 & M, 1),
    ("rem", -7 & M, -2 & M, M),
    ("rem", 5, 0, 5),  # division by zero: the dividend
    ("rem", INT_MIN, 0, INT_MIN),
    ("rem", INT_MIN, M, 0),  # overflow: 0
    ("remu", 5, 0, 5),
    ("remu", M, 10, 5),
    ("remu", INT_MIN, M, INT_MIN),
]


@pytest.mark.parametrize(("mn", "a", "b", "want"), R_CASES)
def test_register_ops(mn: str, a: int, b: int, want: int) -> None:
    res, _ = run([encode(mn, 7, 5, 6)], {5: a, 6: b})
    assert res.regs[7] == want, f"{mn} {a:#x}, {b:#x}"
    assert res.regs[5] == a and res.regs[6] == b


I_CASES = [
    ("addi", M, 1, 0),
    ("addi", 0, -2048, 0xFFFFF800),
    ("addi", INT_MAX, 2047, 0x800007FE),
    ("slti", M, 0, 1),
    ("slti", 0, -1, 0),
    ("slti", INT_MIN, -2048, 1),
    ("sltiu", 5, -1, 1),  # the immediate is sign-extended, then compared unsigned
    ("sltiu", M, -1, 0),
    ("sltiu", 0, 1, 1),
    ("xori", 0x12345678, -1, 0xEDCBA987),
    ("ori", 0, -2048, 0xFFFFF800),
    ("andi", M, 0x7FF, 0x7FF),
    ("andi", 0x12345678, -1, 0x12345678),
    ("slli", 1, 31, INT_MIN),
    ("slli", M, 0, M),
    ("srli", INT_MIN, 31, 1),
    ("srli", M, 0, M),
    ("srai", INT_MIN, 31, M),
    ("srai", INT_MAX, 30, 1),
    ("srai", 0xF0000000, 4, 0xFF000000),
]


@pytest.mark.parametrize(("mn", "a", "imm", "want"), I_CASES)
def test_immediate_ops(mn: str, a: int, imm: int, want: int) -> None:
    res, _ = run([encode(mn, 7, 5, imm)], {5: a})
    assert res.regs[7] == want, f"{mn} {a:#x}, {imm}"


def ref_r(mn: str, a: int, b: int) -> int:
    """The spec's semantics with Python integers: an independent statement of the ALU."""
    sa, sb, sh = s32(a), s32(b), b & 31

    def tdiv(x: int, y: int) -> int:
        q = abs(x) // abs(y)
        return -q if (x < 0) != (y < 0) else q

    v = {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "sll": lambda: a << sh,
        "slt": lambda: int(sa < sb),
        "sltu": lambda: int(a < b),
        "xor": lambda: a ^ b,
        "srl": lambda: a >> sh,
        "sra": lambda: sa >> sh,
        "or": lambda: a | b,
        "and": lambda: a & b,
        "mul": lambda: a * b,
        "mulh": lambda: (sa * sb) >> 32,
        "mulhsu": lambda: (sa * b) >> 32,
        "mulhu": lambda: (a * b) >> 32,
        "div": lambda: -1 if b == 0 else (sa if (sa, sb) == (-(2**31), -1) else tdiv(sa, sb)),
        "divu": lambda: M if b == 0 else a // b,
        "rem": lambda: (
            sa if b == 0 else (0 if (sa, sb) == (-(2**31), -1) else sa - tdiv(sa, sb) * sb)
        ),
        "remu": lambda: a if b == 0 else a % b,
    }[mn]()
    return v & M


EDGE = [0, 1, 2, M, M - 1, INT_MIN, INT_MAX, INT_MIN + 1, 31, 32, 33, 63, 0xFFFF, 0x8000, 0x80]
operand = st.one_of(st.sampled_from(EDGE), st.integers(0, M))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(operand, operand), min_size=1, max_size=6))
def test_register_ops_against_reference(pairs: list[tuple[int, int]]) -> None:
    words: list[int] = [*li(31, DATA)]
    for i, (a, b) in enumerate(pairs):
        words += li(5, a) + li(6, b)
        for j, mn in enumerate(isa.R_MNEMONICS):
            words += [encode(mn, 7, 5, 6), encode("sw", 7, 31, 4 * (i * 18 + j))]
    _, mem = run(words)
    got = mem[DATA - BASE :].view(np.uint32)
    for i, (a, b) in enumerate(pairs):
        for j, mn in enumerate(isa.R_MNEMONICS):
            assert got[i * 18 + j] == ref_r(mn, a, b), f"{mn} {a:#x} {b:#x}"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(operand, st.integers(-2048, 2047)), min_size=1, max_size=6))
def test_immediate_ops_against_reference(pairs: list[tuple[int, int]]) -> None:
    ops = [*isa.I_ALU_MNEMONICS, *isa.SHIFT_IMM_MNEMONICS]
    ref = {"addi": "add", "slti": "slt", "sltiu": "sltu", "xori": "xor", "ori": "or"}
    ref |= {"andi": "and", "slli": "sll", "srli": "srl", "srai": "sra"}
    words: list[int] = [*li(31, DATA)]
    for i, (a, imm) in enumerate(pairs):
        words += li(5, a)
        for j, mn in enumerate(ops):
            op_imm = imm & 31 if mn in isa.SHIFT_IMM_MNEMONICS else imm
            words += [encode(mn, 7, 5, op_imm), encode("sw", 7, 31, 4 * (i * len(ops) + j))]
    _, mem = run(words)
    got = mem[DATA - BASE :].view(np.uint32)
    for i, (a, imm) in enumerate(pairs):
        for j, mn in enumerate(ops):
            b = imm & 31 if mn in isa.SHIFT_IMM_MNEMONICS else imm & M
            assert got[i * len(ops) + j] == ref_r(ref[mn], a, b), f"{mn} {a:#x} {imm}"


def test_lui_auipc() -> None:
    res, _ = run([encode("auipc", 5, 1), encode("auipc", 6, 0xFFFFF), encode("lui", 7, 0xFFFFF)])
    assert res.regs[5] == BASE + 0x1000
    assert res.regs[6] == BASE + 4 - 0x1000
    assert res.regs[7] == 0xFFFFF000


def test_x0_is_hardwired_to_zero() -> None:
    words = [
        encode("addi", 0, 0, 5),
        encode("lui", 0, 0x12345),
        encode("lw", 0, 31, 0),
        encode("jal", 0, 4),
        encode("add", 5, 0, 0),
        encode("addi", 6, 0, -1),
    ]
    mem, regs = machine([*li(31, DATA), *words, *EXIT], {0: 7}, data=b"\xff" * 4)
    status, _, _, _ = em.run(mem, BASE, regs, BASE, 100, np.zeros(16, np.uint8), 0)
    assert status == em.ST_HALT
    assert regs[0] == 0 and regs[5] == 0 and regs[6] == M


# ---- control flow -------------------------------------------------------------------------------
BRANCH_CASES = [
    ("beq", 5, 5, True),
    ("beq", 5, 6, False),
    ("bne", 5, 6, True),
    ("bne", M, M, False),
    ("blt", M, 1, True),
    ("blt", 1, M, False),
    ("blt", INT_MIN, INT_MAX, True),
    ("blt", 5, 5, False),
    ("bge", 5, 5, True),
    ("bge", M, 1, False),
    ("bge", INT_MAX, INT_MIN, True),
    ("bltu", 1, M, True),
    ("bltu", M, 1, False),
    ("bltu", 5, 5, False),
    ("bgeu", M, 1, True),
    ("bgeu", 5, 5, True),
    ("bgeu", 0, 1, False),
]


@pytest.mark.parametrize(("mn", "a", "b", "taken"), BRANCH_CASES)
def test_branches(mn: str, a: int, b: int, taken: bool) -> None:
    res, _ = run(
        [encode(mn, 5, 6, 8), encode("addi", 7, 0, 1), encode("addi", 8, 0, 2)], {5: a, 6: b}
    )
    assert res.regs[7] == (0 if taken else 1)
    assert res.regs[8] == 2


def test_backward_branch_loop() -> None:
    # x6 = 10 + 9 + ... + 1
    loop = [encode("add", 6, 6, 5), encode("addi", 5, 5, -1), encode("bne", 5, 0, -8)]
    res, _ = run([*li(5, 10), *loop])
    assert res.regs[6] == 55
    assert res.cycles == 2 + 3 * 10 + len(EXIT)


def test_jal() -> None:
    res, _ = run([encode("jal", 1, 8), encode("addi", 5, 0, 1), encode("addi", 6, 0, 2)])
    assert res.regs[1] == BASE + 4
    assert res.regs[5] == 0 and res.regs[6] == 2


def test_jal_backward_and_call_return() -> None:
    # 0: jal x0, +16 (to main) | 4: fn: addi x5,x5,7 | 8: jalr x0, 0(x1) | 12: pad | 16: main
    words = [
        encode("jal", 0, 16),
        encode("addi", 5, 5, 7),
        encode("jalr", 0, 1, 0),
        isa.NOP,
        encode("jal", 1, -12),
        encode("jal", 1, -16),
    ]
    res, _ = run(words)
    assert res.regs[5] == 14
    assert res.regs[1] == BASE + 24


def test_jalr_clears_bit0_and_reads_before_writing() -> None:
    # target = (x5 + 1) & ~1 = BASE + 16
    words = [
        *li(5, BASE + 15),
        encode("jalr", 1, 5, 1),
        encode("addi", 6, 0, 1),
        encode("addi", 7, 0, 2),
    ]
    res, _ = run(words)
    assert res.regs[1] == BASE + 12 and res.regs[6] == 0 and res.regs[7] == 2
    words = [
        *li(5, BASE + 16),
        encode("jalr", 5, 5, 0),
        encode("addi", 6, 0, 1),
        encode("addi", 7, 0, 2),
    ]
    res, _ = run(words)
    assert res.regs[5] == BASE + 12 and res.regs[6] == 0


def test_misaligned_jump_targets() -> None:
    fails(
        [encode("jal", 1, 6)],
        em.ST_MISALIGNED_PC,
        "misaligned jump target 0x00010006 at pc 0x00010000",
    )
    fails(
        [*li(5, BASE + 14), encode("jalr", 1, 5, 0)],
        em.ST_MISALIGNED_PC,
        "misaligned jump target 0x0001000e at pc 0x00010008",
    )
    err = fails(
        [encode("beq", 0, 0, 6)],
        em.ST_MISALIGNED_PC,
        "misaligned jump target 0x00010006 at pc 0x00010000",
    )
    assert err.pc == BASE and err.cycles == 0
    # a branch not taken never faults on its target
    res, _ = run([encode("bne", 0, 0, 6), encode("addi", 5, 0, 3)])
    assert res.regs[5] == 3


def test_misaligned_start_pc() -> None:
    mem, regs = machine(EXIT)
    with pytest.raises(em.EmulatorError, match="misaligned pc 0x00010002"):
        em.emulate(mem, BASE, regs, BASE + 2)


# ---- loads and stores ---------------------------------------------------------------------------
LOAD_DATA = (
    bytes([0x80, 0x7F, 0xFF, 0x01, 0x00, 0x80, 0xFF, 0x7F])
    + (0x80000000).to_bytes(4, "little")
    + (0xDEADBEEF).to_bytes(4, "little")
)
LOAD_CASES = [
    ("lb", -16, 0xFFFFFF80),  # sign extension
    ("lbu", -16, 0x80),
    ("lb", -15, 0x7F),
    ("lb", -14, M),
    ("lbu", -14, 0xFF),
    ("lh", -12, 0xFFFF8000),
    ("lhu", -12, 0x8000),
    ("lh", -10, 0x7FFF),
    ("lw", -8, INT_MIN),
    ("lw", -4, 0xDEADBEEF),
    ("lh", -4, 0xFFFFBEEF),
    ("lhu", -2, 0xDEAD),
    ("lb", -1, 0xFFFFFFDE),
    ("lbu", -3, 0xBE),
]


@pytest.mark.parametrize(("mn", "off", "want"), LOAD_CASES)
def test_loads(mn: str, off: int, want: int) -> None:
    res, _ = run([encode(mn, 6, 5, off)], {5: DATA + 16}, data=LOAD_DATA)
    assert res.regs[6] == want


@pytest.mark.parametrize(
    ("mn", "off", "want"),
    [
        ("sb", 1, [0xAA, 0x78, 0xAA, 0xAA]),
        ("sb", 3, [0xAA, 0xAA, 0xAA, 0x78]),
        ("sh", 0, [0x78, 0x56, 0xAA, 0xAA]),
        ("sh", 2, [0xAA, 0xAA, 0x78, 0x56]),
        ("sw", 0, [0x78, 0x56, 0x34, 0x12]),
    ],
)
def test_stores_write_only_their_bytes(mn: str, off: int, want: list[int]) -> None:
    _, mem = run([encode(mn, 6, 5, off - 4)], {5: DATA + 8, 6: 0x12345678}, data=b"\xaa" * 12)
    d = DATA - BASE
    assert list(mem[d + 4 : d + 8]) == want
    assert list(mem[d : d + 4]) == [0xAA] * 4 and list(mem[d + 8 : d + 12]) == [0xAA] * 4


@pytest.mark.parametrize(("mn", "off"), [("lh", 1), ("lhu", 3), ("lw", 1), ("lw", 2), ("lw", 3)])
def test_misaligned_loads_fault(mn: str, off: int) -> None:
    addr = DATA + off
    fails(
        [encode(mn, 6, 5, off)],
        em.ST_MISALIGNED_LOAD,
        f"misaligned load at {addr:#010x} (pc 0x00010000)",
        {5: DATA},
    )


@pytest.mark.parametrize(("mn", "off"), [("sh", 1), ("sw", 2), ("sw", 3)])
def test_misaligned_stores_fault_and_write_nothing(mn: str, off: int) -> None:
    mem, regs = machine([encode(mn, 6, 5, off), *EXIT], {5: DATA, 6: M})
    with pytest.raises(em.EmulatorError, match=f"misaligned store at {DATA + off:#010x}") as err:
        em.emulate(mem, BASE, regs, BASE)
    assert err.value.status == em.ST_MISALIGNED_STORE
    assert not mem[DATA - BASE :].any()


def test_byte_accesses_are_never_misaligned() -> None:
    res, _ = run([encode("sb", 6, 5, 3), encode("lbu", 7, 5, 3)], {5: DATA, 6: 0x1FF})
    assert res.regs[7] == 0xFF


def test_memory_bounds() -> None:
    end = BASE + MEM_SIZE
    ok = [
        encode("lw", 6, 5, -4),
        encode("lh", 7, 5, -2),
        encode("lbu", 8, 5, -1),
        encode("sw", 0, 5, -4),
    ]
    run(ok, {5: end})
    fails(
        [encode("lw", 6, 5, 0)],
        em.ST_LOAD_FAULT,
        f"load out of range at {end:#010x} (pc 0x00010000)",
        {5: end},
    )
    fails(
        [encode("lb", 6, 5, -1)],
        em.ST_LOAD_FAULT,
        "load out of range at 0x0000ffff (pc 0x00010000)",
        {5: BASE},
    )
    fails(
        [encode("lhu", 6, 5, 0)],
        em.ST_LOAD_FAULT,
        f"load out of range at {end:#010x} (pc 0x00010000)",
        {5: end},
    )
    fails(
        [encode("sb", 6, 5, 0)],
        em.ST_STORE_FAULT,
        f"store out of range at {end:#010x} (pc 0x00010000)",
        {5: end},
    )
    fails(
        [encode("sw", 6, 5, -4)],
        em.ST_STORE_FAULT,
        "store out of range at 0x0000fffc (pc 0x00010000)",
        {5: BASE},
    )
    # addresses wrap modulo 2^32
    fails(
        [encode("lw", 6, 5, 8)],
        em.ST_LOAD_FAULT,
        "load out of range at 0x00000004 (pc 0x00010000)",
        {5: M - 3},
    )


def test_addresses_wrap_modulo_2_32() -> None:
    # memory at 0: 0xFFFFFFF0 + 0x20 is address 0x10
    words = [encode("lw", 6, 5, 0x20), encode("sb", 6, 5, 0x24), *EXIT]
    mem = np.zeros(64, dtype=np.uint8)
    mem[:32] = np.array(words + [0] * (8 - len(words)), dtype=np.uint32).view(np.uint8)
    regs = np.zeros(32, dtype=np.uint32)
    regs[5] = 0xFFFFFFF0
    res = em.emulate(mem, 0, regs, 0)
    assert res.regs[6] == words[4] and mem[0x14] == words[4] & 0xFF


def test_fetch_out_of_range() -> None:
    fails(
        [encode("jal", 0, MEM_SIZE)],
        em.ST_FETCH_FAULT,
        f"fetch out of range at pc {BASE + MEM_SIZE:#010x}",
    )


def test_self_modifying_code_executes_what_was_written() -> None:
    words = [*li(6, encode("addi", 7, 0, 42)), *li(5, BASE), encode("sw", 6, 5, 20), isa.NOP]
    assert len(words) == 6  # the store overwrites the last word, the NOP at BASE + 20
    res, _ = run(words)
    assert res.regs[7] == 42


# ---- system -------------------------------------------------------------------------------------
def _write(fd: int, addr: int, n: int) -> list[int]:
    return [*li(10, fd), *li(11, addr), *li(12, n), *li(17, 64), ECALL]


def test_exit_code_and_write_syscall() -> None:
    words = [
        *_write(1, DATA, 3),
        encode("add", 20, 10, 0),
        *_write(2, DATA + 3, 2),
        *_write(1, DATA, 0),
        *li(10, 0x1234),
    ]
    res, _ = run(words, data=b"abcde")
    assert res.output == b"abcde"
    assert res.regs[20] == 3  # write returns the byte count
    assert res.exit_code == 0x34 and res.regs[10] == 0x1234
    assert res.status == em.ST_HALT and res.pc == BASE + 4 * (len(words) + 2)


def test_bad_syscalls() -> None:
    fails(_write(3, DATA, 1), em.ST_BAD_SYSCALL, "unsupported ecall a7=64 a0=3 at pc 0x00010020")
    fails(
        [*li(17, 1234), ECALL], em.ST_BAD_SYSCALL, "unsupported ecall a7=1234 a0=0 at pc 0x00010008"
    )
    fails(
        _write(1, DATA, MEM_SIZE),
        em.ST_SYSCALL_FAULT,
        f"write syscall buffer {DATA:#010x}+{MEM_SIZE} out of range (pc 0x00010020)",
    )
    fails(
        _write(1, DATA, 9), em.ST_OUTPUT_FULL, "output buffer full at pc 0x00010020", out_capacity=8
    )


def test_ebreak_and_fence() -> None:
    fails([isa.NOP, isa.EBREAK], em.ST_EBREAK, "ebreak at pc 0x00010004")
    res, _ = run([isa.FENCE, 0x0000100F, encode("addi", 5, 0, 1)])  # fence, fence.i
    assert res.regs[5] == 1


@pytest.mark.parametrize(
    "word",
    [
        0x00000000,
        0xFFFFFFFF,
        0x00004501,  # compressed c.li (no C extension)
        encode("slli", 5, 5, 1) | (1 << 25),  # shamt[5] set: RV64 only
        encode("srai", 5, 5, 1) | (1 << 25),
        encode("xor", 5, 5, 5) | (0x20 << 25),
        encode("add", 5, 5, 5) | (0x02 << 25),
        isa.enc_i(isa.OP_LOAD, 3, 5, 0, 0),  # ld
        isa.enc_i(isa.OP_LOAD, 6, 5, 0, 0),  # lwu
        isa.enc_s(3, 0, 5, 0),  # sd
        isa.enc_b(2, 0, 0, 8),
        isa.enc_i(isa.OP_JALR, 1, 0, 1, 0),
        isa.enc_i(isa.OP_MISC_MEM, 2, 0, 0, 0),
        0xC0002573,  # csrr a0, cycle (no Zicsr)
        0x30200073,  # mret
        0x000000F3,  # ecall with rd != 0
        0x0000003B,  # addw (RV64)
    ],
)
def test_illegal_instructions(word: int) -> None:
    fails([isa.NOP, word], em.ST_ILLEGAL, f"illegal instruction {word:#010x} at pc 0x00010004")


def test_cycle_limit_and_resume() -> None:
    fails([encode("jal", 0, 0)], em.ST_CYCLE_LIMIT, "cycle limit 1000 reached", max_cycles=1000)
    # a counting loop run in slices ends exactly where one run ends
    loop = [encode("addi", 5, 5, 1), encode("jal", 0, -4)]
    mem, regs = machine(loop)
    out = np.zeros(1, np.uint8)
    status, cycles, pc, _ = em.run(mem, BASE, regs, BASE, 1001, out, 0)
    assert (status, cycles, pc, regs[5]) == (em.ST_CYCLE_LIMIT, 1001, BASE + 4, 501)
    regs2 = np.zeros(32, np.uint32)
    pc2, total = BASE, 0
    for n in (1, 10, 333, 657):
        status, cycles, pc2, _ = em.run(mem, BASE, regs2, pc2, n, out, 0)
        total += cycles
    assert (total, pc2) == (1001, pc) and np.array_equal(regs, regs2)


# ---- the encoders against GNU as ----------------------------------------------------------------
ASM_CASES = [
    ("add x1, x2, x3", encode("add", 1, 2, 3)),
    ("sub x31, x0, x30", encode("sub", 31, 0, 30)),
    *[(f"{mn} x5, x6, x7", encode(mn, 5, 6, 7)) for mn in isa.R_MNEMONICS],
    *[(f"{mn} x8, x9, -2048", encode(mn, 8, 9, -2048)) for mn in isa.I_ALU_MNEMONICS],
    *[(f"{mn} x8, x9, 2047", encode(mn, 8, 9, 2047)) for mn in isa.I_ALU_MNEMONICS],
    *[(f"{mn} x10, x11, 31", encode(mn, 10, 11, 31)) for mn in isa.SHIFT_IMM_MNEMONICS],
    *[(f"{mn} x12, -4(x13)", encode(mn, 12, 13, -4)) for mn in isa.LOAD_MNEMONICS],
    *[(f"{mn} x12, 2047(x13)", encode(mn, 12, 13, 2047)) for mn in isa.LOAD_MNEMONICS],
    *[(f"{mn} x14, -2048(x15)", encode(mn, 14, 15, -2048)) for mn in isa.STORE_MNEMONICS],
    *[(f"{mn} x14, 100(x15)", encode(mn, 14, 15, 100)) for mn in isa.STORE_MNEMONICS],
    *[(f"{mn} x16, x17, .+4094", encode(mn, 16, 17, 4094)) for mn in isa.BRANCH_MNEMONICS],
    *[(f"{mn} x16, x17, .-4096", encode(mn, 16, 17, -4096)) for mn in isa.BRANCH_MNEMONICS],
    ("lui x18, 0xfffff", encode("lui", 18, 0xFFFFF)),
    ("auipc x19, 0x12345", encode("auipc", 19, 0x12345)),
    ("jal x1, .+1048574", encode("jal", 1, 1048574)),
    ("jal x0, .-1048576", encode("jal", 0, -1048576)),
    ("jal x5, .-8", encode("jal", 5, -8)),
    ("jalr x1, -1(x5)", encode("jalr", 1, 5, -1)),
    ("ecall", encode("ecall")),
    ("ebreak", encode("ebreak")),
    ("fence", encode("fence")),
    ("nop", isa.NOP),
]


@needs_gcc
def test_encoders_match_gnu_as(tmp_path) -> None:
    src = tmp_path / "enc.S"
    src.write_text("".join(f"{text}\n" for text, _ in ASM_CASES))
    obj = tmp_path / "enc.o"
    subprocess.run([GCC, *ARCH, "-c", str(src), "-o", str(obj)], check=True, timeout=60)
    bin_ = tmp_path / "enc.bin"
    objcopy = GCC.replace("-gcc", "-objcopy")
    subprocess.run([objcopy, "-O", "binary", "-j", ".text", str(obj), str(bin_)], check=True)
    words = np.frombuffer(bin_.read_bytes(), dtype="<u4")
    assert len(words) == len(ASM_CASES)
    for (text, want), got in zip(ASM_CASES, words, strict=True):
        assert int(got) == want, f"{text}: as {int(got):#010x}, encode {want:#010x}"


def test_decoders_invert_encoders() -> None:
    for imm in (-2048, -1, 0, 1, 2047):
        assert isa.imm_i(encode("addi", 1, 2, imm)) == imm
        assert isa.imm_s(encode("sw", 1, 2, imm)) == imm
    for imm in (-4096, -2, 0, 2, 4094):
        assert isa.imm_b(encode("beq", 1, 2, imm)) == imm
    for imm in (-(1 << 20), -2, 0, 2, (1 << 20) - 2):
        assert isa.imm_j(encode("jal", 1, imm)) == imm
    w = encode("sub", 3, 4, 5)
    assert (isa.opcode(w), isa.rd(w), isa.rs1(w), isa.rs2(w), isa.funct3(w), isa.funct7(w)) == (
        isa.OP_REG,
        3,
        4,
        5,
        isa.F3_SUB,
        isa.F7_ALT,
    )
