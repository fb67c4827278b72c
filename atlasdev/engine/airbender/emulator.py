"""RV32IM emulator in numba: a fast run, and a run that records the execution trace to prove.

Kernels (njit, callable from other numba code; they allocate nothing per cycle):

    run(mem, mem_base, regs, pc, max_cycles, out_buf, out_pos) -> (status, cycles, pc, out_pos)
    run_traced(mem, mem_base, regs, pc, max_cycles, out_buf, out_pos, trace) -> same

Machine model. Memory is one flat little-endian byte array `mem` (u8, length a multiple of 4)
mapped at `mem_base` (a multiple of 4); any access outside [mem_base, mem_base + len) is a fault.
`regs` (u32[32]) is updated in place; x0 reads as zero whatever is written to it. Instructions are
fetched from `mem` every cycle (no decode cache), so code written at run time is executed as
written. Both kernels return the cycle count of this call (instructions completed) and the pc to
resume from, so a long execution can be run, or traced, in segments: call again with the
returned pc and the same regs and memory.

Misaligned access policy: RV32IM without the C extension, and no misaligned data access.
A load or store whose address is not a multiple of its width (2 for LH/LHU/SH, 4 for LW/SW), or
a taken branch / JAL / JALR whose target is not a multiple of 4, ends the run with a
MISALIGNED_* status at the faulting instruction; nothing is written. (QEMU user mode emulates
misaligned data accesses; compilers for rv32im emit none, and a prover of aligned words is
simpler.) JALR clears bit 0 of its target first, as the spec says.

Halt / IO convention: Linux syscalls as qemu-riscv32 user mode implements them. `ecall` with
a7 = 93 (exit) halts with exit code a0; a7 = 64 (write) with a0 = 1 or 2 appends the a2 bytes at
a1 to `out_buf` from `out_pos` on and returns a2 in a0. Any other ecall, and `ebreak`, end the run
with an error status. FENCE / FENCE.I are no-ops; CSR instructions are illegal.

Status codes: the ST_* constants. On an error the faulting instruction has not executed (not
counted, not traced, registers and memory untouched) and the returned pc is its pc; on HALT the
exit ecall is counted and the returned pc is the ecall's. `emulate()` wraps the kernels for Python
callers and raises `EmulatorError` with a one-line message for every status but HALT.

Trace layout: `trace` is u32[capacity, N_COLS] (C-contiguous), row i = cycle i, one column per
field (the COL_* constants). Rows, not columns, are contiguous: a cycle writes one 52-byte record,
where thirteen column streams a power of two apart thrash the cache (measured 4x slower). Per row:
pc, instruction word, rs1/rs2 index and value (index 0 when the format has no such operand; ECALL
reads a7 as rs1 and a0 as rs2), rd index and the value written (0 and 0 when nothing is written,
or rd is x0), memory access kind (MEM_*), byte address, value (the loaded bytes zero-extended from
their width, or the stored bytes), the aligned word containing the address before the access, and
the next pc. The exit ecall's next pc is its own pc: a halted machine stays put, which is how a
prover pads. The write syscall's buffer reads are not in the trace (it is for tests and
debugging; a proven program reports through memory and exits). A trace of PROVER_COLUMNS'
width instead records the three fields the prover replays a run from (rv32_trace.replay): pc,
the value written and the memory word before the access; 12 bytes a cycle, not 52.
"""

from dataclasses import dataclass, field

import numpy as np
from numba import int64 as i64
from numba import njit
from numba import uint8 as u8
from numba import uint16 as u16
from numba import uint32 as u32

from . import isa
from .isa import (
    F3_ADD,
    F3_BEQ,
    F3_BGE,
    F3_BGEU,
    F3_BLT,
    F3_BLTU,
    F3_BNE,
    F3_DIV,
    F3_DIVU,
    F3_LB,
    F3_LBU,
    F3_LH,
    F3_LHU,
    F3_LW,
    F3_MUL,
    F3_MULH,
    F3_MULHSU,
    F3_MULHU,
    F3_OR,
    F3_REM,
    F3_SB,
    F3_SH,
    F3_SLL,
    F3_SLT,
    F3_SLTU,
    F3_SRL,
    F3_SW,
    F3_XOR,
    F7_ALT,
    F7_BASE,
    F7_MULDIV,
    OP_AUIPC,
    OP_BRANCH,
    OP_IMM,
    OP_JAL,
    OP_JALR,
    OP_LOAD,
    OP_LUI,
    OP_MISC_MEM,
    OP_REG,
    OP_STORE,
    OP_SYSTEM,
    SYS_EXIT,
    SYS_WRITE,
    imm_b,
    imm_i,
    imm_j,
    imm_s,
    to_signed,
)

# ---- status codes -------------------------------------------------------------------------------
ST_HALT = 0  # exit ecall: the normal end
ST_CYCLE_LIMIT = 1  # max_cycles (or the trace capacity) reached; resumable at the returned pc
ST_ILLEGAL = 2  # not an RV32IM instruction
ST_FETCH_FAULT = 3  # pc outside memory
ST_LOAD_FAULT = 4  # load address outside memory
ST_STORE_FAULT = 5  # store address outside memory
ST_MISALIGNED_PC = 6  # jump / taken branch target (or the starting pc) not a multiple of 4
ST_MISALIGNED_LOAD = 7
ST_MISALIGNED_STORE = 8
ST_EBREAK = 9
ST_BAD_SYSCALL = 10  # ecall other than exit, or write to an fd other than 1 / 2
ST_SYSCALL_FAULT = 11  # write syscall buffer outside memory
ST_OUTPUT_FULL = 12  # write syscall would overflow out_buf

STATUS_NAMES = {
    ST_HALT: "halt",
    ST_CYCLE_LIMIT: "cycle limit",
    ST_ILLEGAL: "illegal instruction",
    ST_FETCH_FAULT: "fetch out of range",
    ST_LOAD_FAULT: "load out of range",
    ST_STORE_FAULT: "store out of range",
    ST_MISALIGNED_PC: "misaligned jump target",
    ST_MISALIGNED_LOAD: "misaligned load",
    ST_MISALIGNED_STORE: "misaligned store",
    ST_EBREAK: "ebreak",
    ST_BAD_SYSCALL: "unsupported ecall",
    ST_SYSCALL_FAULT: "write syscall buffer out of range",
    ST_OUTPUT_FULL: "output buffer full",
}

# ---- memory access kinds (trace column COL_MEM_KIND) --------------------------------------------
MEM_NONE = 0
MEM_LB = 1
MEM_LH = 2
MEM_LW = 3
MEM_LBU = 4
MEM_LHU = 5
MEM_SB = 6
MEM_SH = 7
MEM_SW = 8

# ---- trace columns -------------------------------------------------------------------------------
COL_PC = 0
COL_INSN = 1
COL_RS1 = 2
COL_RS1_VAL = 3
COL_RS2 = 4
COL_RS2_VAL = 5
COL_RD = 6
COL_RD_VAL = 7
COL_MEM_KIND = 8
COL_MEM_ADDR = 9
COL_MEM_VAL = 10
COL_MEM_OLD = 11
COL_NEXT_PC = 12
N_COLS = 13
COLUMN_NAMES = (
    "pc",
    "insn",
    "rs1",
    "rs1_val",
    "rs2",
    "rs2_val",
    "rd",
    "rd_val",
    "mem_kind",
    "mem_addr",
    "mem_val",
    "mem_old",
    "next_pc",
)

PROVER_COLUMNS = ("pc", "rd_val", "mem_old")  # a prover's trace: what the replay reads
_FULL, _PROVER = 1, 2  # _core's traced: which record it writes

MASK32 = 0xFFFFFFFF
INT_MIN = -0x80000000


@njit(inline="always", cache=True, error_model="numpy")
def _udiv(a, b):
    """Unsigned quotient of non-negative int64s, b != 0 (truncation and floor agree)."""
    return a // b


@njit(inline="always", cache=True, error_model="numpy")
def _core(mem, mem_base, regs, pc, max_cycles, out_buf, out_pos, traced, trace):
    """The fetch-decode-execute loop. `traced` (0, _FULL or _PROVER: the record written) is a
    constant at each (inlined) call site, so LLVM deletes the trace bookkeeping from the
    untraced kernel."""
    size = i64(mem.shape[0])
    m16 = mem.view(np.uint16)
    m32 = mem.view(np.uint32)
    base = i64(mem_base)
    pc = i64(pc)
    out_pos = i64(out_pos)
    out_cap = i64(out_buf.shape[0])
    limit = i64(max_cycles)
    if traced and limit > trace.shape[0]:
        limit = i64(trace.shape[0])
    cycles = i64(0)
    status = ST_CYCLE_LIMIT
    regs[0] = 0
    flat = trace.reshape(trace.size)  # a view: row-major records, indexed without 2-D strides
    row = i64(0)
    if (pc & 3) != 0:
        limit = i64(0)  # pc stays aligned: every jump and branch target is checked
        status = ST_MISALIGNED_PC
    while cycles < limit:
        off = pc - base
        if off < 0 or off > size - 4:
            status = ST_FETCH_FAULT
            break
        insn = i64(m32[off >> 2])
        op = insn & 0x7F
        rd = (insn >> 7) & 0x1F
        f3 = (insn >> 12) & 0x7
        r1 = (insn >> 15) & 0x1F
        r2 = (insn >> 20) & 0x1F
        f7 = insn >> 25
        a = i64(regs[r1])
        b = i64(regs[r2])
        next_pc = pc + 4
        # what this cycle did, for the register write and the trace row
        w = i64(0)  # register written (0: none)
        wv = i64(0)
        u1 = i64(0)  # registers read
        u2 = i64(0)
        v1 = a  # values read (before any write of this cycle)
        v2 = b
        mk = MEM_NONE
        ma = i64(0)
        mv = i64(0)
        mo = i64(0)
        halt = False

        if op == OP_IMM:
            imm = imm_i(insn)
            u1 = r1
            w = rd
            if f3 == F3_ADD:
                wv = a + imm
            elif f3 == F3_SLL:
                if f7 != F7_BASE:
                    status = ST_ILLEGAL
                    break
                wv = a << (imm & 0x1F)
            elif f3 == F3_SLT:
                wv = 1 if to_signed(a) < imm else 0
            elif f3 == F3_SLTU:
                wv = 1 if a < (imm & MASK32) else 0
            elif f3 == F3_XOR:
                wv = a ^ imm
            elif f3 == F3_SRL:
                if f7 == F7_BASE:
                    wv = a >> (imm & 0x1F)
                elif f7 == F7_ALT:
                    wv = to_signed(a) >> (imm & 0x1F)
                else:
                    status = ST_ILLEGAL
                    break
            elif f3 == F3_OR:
                wv = a | imm
            else:  # F3_AND
                wv = a & imm
        elif op == OP_REG:
            u1 = r1
            u2 = r2
            w = rd
            if f7 == F7_BASE:
                if f3 == F3_ADD:
                    wv = a + b
                elif f3 == F3_SLL:
                    wv = a << (b & 0x1F)
                elif f3 == F3_SLT:
                    wv = 1 if to_signed(a) < to_signed(b) else 0
                elif f3 == F3_SLTU:
                    wv = 1 if a < b else 0
                elif f3 == F3_XOR:
                    wv = a ^ b
                elif f3 == F3_SRL:
                    wv = a >> (b & 0x1F)
                elif f3 == F3_OR:
                    wv = a | b
                else:  # F3_AND
                    wv = a & b
            elif f7 == F7_MULDIV:
                if f3 == F3_MUL:
                    wv = a * b  # wraps mod 2^64; the low 32 bits are exact
                elif f3 == F3_MULH:
                    wv = (to_signed(a) * to_signed(b)) >> 32
                elif f3 == F3_MULHSU:
                    wv = (to_signed(a) * b) >> 32  # |product| < 2^63: exact in int64
                elif f3 == F3_MULHU:
                    wv = (a * b) >> 32  # bits 63:32 of the wrapped product are exact
                elif f3 == F3_DIV or f3 == F3_REM:  # noqa: SIM109 (plain branches in the hot loop)
                    sa = to_signed(a)
                    sb = to_signed(b)
                    if sb == 0:
                        q = i64(-1)
                        r = sa
                    elif sa == INT_MIN and sb == -1:
                        q = sa
                        r = i64(0)
                    else:
                        q = _udiv(sa if sa >= 0 else -sa, sb if sb >= 0 else -sb)
                        if (sa < 0) != (sb < 0):
                            q = -q
                        r = sa - q * sb
                    wv = q if f3 == F3_DIV else r
                elif f3 == F3_DIVU:
                    wv = MASK32 if b == 0 else _udiv(a, b)
                else:  # F3_REMU
                    wv = a if b == 0 else a - _udiv(a, b) * b
            elif f7 == F7_ALT and f3 == F3_ADD:
                wv = a - b
            elif f7 == F7_ALT and f3 == F3_SRL:
                wv = to_signed(a) >> (b & 0x1F)
            else:
                status = ST_ILLEGAL
                break
        elif op == OP_LOAD:
            addr = (a + imm_i(insn)) & MASK32
            moff = addr - base
            u1 = r1
            w = rd
            if f3 == F3_LW:
                if (addr & 3) != 0:
                    status = ST_MISALIGNED_LOAD
                    break
                if moff < 0 or moff > size - 4:
                    status = ST_LOAD_FAULT
                    break
                mv = i64(m32[moff >> 2])
                wv = mv
                mk = MEM_LW
            elif f3 == F3_LH or f3 == F3_LHU:  # noqa: SIM109 (plain branches in the hot loop)
                if (addr & 1) != 0:
                    status = ST_MISALIGNED_LOAD
                    break
                if moff < 0 or moff > size - 2:
                    status = ST_LOAD_FAULT
                    break
                mv = i64(m16[moff >> 1])
                if f3 == F3_LH:
                    wv = (mv ^ 0x8000) - 0x8000
                    mk = MEM_LH
                else:
                    wv = mv
                    mk = MEM_LHU
            elif f3 == F3_LB or f3 == F3_LBU:  # noqa: SIM109 (plain branches in the hot loop)
                if moff < 0 or moff >= size:
                    status = ST_LOAD_FAULT
                    break
                mv = i64(mem[moff])
                if f3 == F3_LB:
                    wv = (mv ^ 0x80) - 0x80
                    mk = MEM_LB
                else:
                    wv = mv
                    mk = MEM_LBU
            else:
                status = ST_ILLEGAL
                break
            ma = addr
            if traced:
                mo = i64(m32[moff >> 2])
        elif op == OP_STORE:
            addr = (a + imm_s(insn)) & MASK32
            moff = addr - base
            u1 = r1
            u2 = r2
            if f3 == F3_SW:
                if (addr & 3) != 0:
                    status = ST_MISALIGNED_STORE
                    break
                if moff < 0 or moff > size - 4:
                    status = ST_STORE_FAULT
                    break
                if traced:
                    mo = i64(m32[moff >> 2])
                m32[moff >> 2] = u32(b)
                mv = b
                mk = MEM_SW
            elif f3 == F3_SH:
                if (addr & 1) != 0:
                    status = ST_MISALIGNED_STORE
                    break
                if moff < 0 or moff > size - 2:
                    status = ST_STORE_FAULT
                    break
                if traced:
                    mo = i64(m32[moff >> 2])
                m16[moff >> 1] = u16(b & 0xFFFF)
                mv = b & 0xFFFF
                mk = MEM_SH
            elif f3 == F3_SB:
                if moff < 0 or moff >= size:
                    status = ST_STORE_FAULT
                    break
                if traced:
                    mo = i64(m32[moff >> 2])
                mem[moff] = u8(b & 0xFF)
                mv = b & 0xFF
                mk = MEM_SB
            else:
                status = ST_ILLEGAL
                break
            ma = addr
        elif op == OP_BRANCH:
            u1 = r1
            u2 = r2
            if f3 == F3_BEQ:
                taken = a == b
            elif f3 == F3_BNE:
                taken = a != b
            elif f3 == F3_BLT:
                taken = to_signed(a) < to_signed(b)
            elif f3 == F3_BGE:
                taken = to_signed(a) >= to_signed(b)
            elif f3 == F3_BLTU:
                taken = a < b
            elif f3 == F3_BGEU:
                taken = a >= b
            else:
                status = ST_ILLEGAL
                break
            if taken:
                next_pc = (pc + imm_b(insn)) & MASK32
                if (next_pc & 3) != 0:
                    status = ST_MISALIGNED_PC
                    break
        elif op == OP_JAL:
            next_pc = (pc + imm_j(insn)) & MASK32
            if (next_pc & 3) != 0:
                status = ST_MISALIGNED_PC
                break
            w = rd
            wv = pc + 4
        elif op == OP_JALR:
            if f3 != 0:
                status = ST_ILLEGAL
                break
            next_pc = (a + imm_i(insn)) & (MASK32 - 1)
            if (next_pc & 3) != 0:
                status = ST_MISALIGNED_PC
                break
            u1 = r1
            w = rd
            wv = pc + 4
        elif op == OP_LUI:
            w = rd
            wv = insn & 0xFFFFF000
        elif op == OP_AUIPC:
            w = rd
            wv = pc + (insn & 0xFFFFF000)
        elif op == OP_SYSTEM:
            if insn == isa.ECALL:
                nr = i64(regs[17])
                u1 = 17
                u2 = 10
                v1 = nr
                v2 = i64(regs[10])
                if nr == SYS_EXIT:
                    halt = True
                    next_pc = pc
                elif nr == SYS_WRITE:
                    fd = i64(regs[10])
                    buf = i64(regs[11])
                    n = i64(regs[12])
                    boff = buf - base
                    if fd != 1 and fd != 2:
                        status = ST_BAD_SYSCALL
                        break
                    if boff < 0 or boff + n > size:
                        status = ST_SYSCALL_FAULT
                        break
                    if out_pos + n > out_cap:
                        status = ST_OUTPUT_FULL
                        break
                    for k in range(n):
                        out_buf[out_pos + k] = mem[boff + k]
                    out_pos += n
                    w = 10
                    wv = n
                else:
                    status = ST_BAD_SYSCALL
                    break
            elif insn == isa.EBREAK:
                status = ST_EBREAK
                break
            else:
                status = ST_ILLEGAL
                break
        elif op == OP_MISC_MEM:
            if f3 > 1:  # FENCE (0) and FENCE.I (1): nothing to order in a one-hart machine
                status = ST_ILLEGAL
                break
        else:
            status = ST_ILLEGAL
            break

        regs[w] = u32(wv & MASK32)  # unconditional (cheaper than a branch), then x0 restored
        regs[0] = 0
        if traced == _PROVER:
            flat[row] = u32(pc)
            flat[row + 1] = regs[w]
            flat[row + 2] = u32(mo)
        elif traced:
            flat[row + COL_PC] = u32(pc)
            flat[row + COL_INSN] = u32(insn)
            flat[row + COL_RS1] = u32(u1)
            flat[row + COL_RS1_VAL] = u32(v1) if u1 != 0 else u32(0)
            flat[row + COL_RS2] = u32(u2)
            flat[row + COL_RS2_VAL] = u32(v2) if u2 != 0 else u32(0)
            flat[row + COL_RD] = u32(w)
            flat[row + COL_RD_VAL] = regs[w]
            flat[row + COL_MEM_KIND] = u32(mk)
            flat[row + COL_MEM_ADDR] = u32(ma)
            flat[row + COL_MEM_VAL] = u32(mv)
            flat[row + COL_MEM_OLD] = u32(mo)
            flat[row + COL_NEXT_PC] = u32(next_pc)
        cycles += 1
        row += len(PROVER_COLUMNS) if traced == _PROVER else N_COLS
        pc = next_pc
        if halt:
            status = ST_HALT
            break
    return status, cycles, pc, out_pos


@njit(cache=True, nogil=True, error_model="numpy")
def run(
    mem: np.ndarray,
    mem_base: int,
    regs: np.ndarray,
    pc: int,
    max_cycles: int,
    out_buf: np.ndarray,
    out_pos: int,
) -> tuple[int, int, int, int]:
    """Execute up to max_cycles instructions, no trace: re-execution and cycle counting."""
    dummy = np.empty((0, N_COLS), dtype=np.uint32)
    return _core(mem, mem_base, regs, pc, max_cycles, out_buf, out_pos, False, dummy)


@njit(cache=True, nogil=True, error_model="numpy")
def run_traced(
    mem: np.ndarray,
    mem_base: int,
    regs: np.ndarray,
    pc: int,
    max_cycles: int,
    out_buf: np.ndarray,
    out_pos: int,
    trace: np.ndarray,
) -> tuple[int, int, int, int]:
    """Execute and record one trace row per cycle into trace (u32[capacity, N_COLS], or
    PROVER_COLUMNS' width for a prover's record).

    Stops with ST_CYCLE_LIMIT at min(max_cycles, capacity) rows; resume from the returned pc."""
    if trace.shape[1] == len(PROVER_COLUMNS):
        return _core(mem, mem_base, regs, pc, max_cycles, out_buf, out_pos, _PROVER, trace)
    return _core(mem, mem_base, regs, pc, max_cycles, out_buf, out_pos, _FULL, trace)


# ---- Python API ---------------------------------------------------------------------------------
class EmulatorError(Exception):
    """A run ended with an error status; `status`, `pc` and `cycles` say where."""

    def __init__(self, message: str, status: int, pc: int, cycles: int) -> None:
        super().__init__(message)
        self.status = status
        self.pc = pc
        self.cycles = cycles


@dataclass
class Trace:
    """The recorded rows: `array` is u32[capacity, len(columns)], of which `rows` are filled;
    the columns are COLUMN_NAMES, or a prover's PROVER_COLUMNS."""

    array: np.ndarray
    rows: int = 0

    @classmethod
    def allocate(cls, capacity: int, columns: tuple[str, ...] = COLUMN_NAMES) -> "Trace":
        if columns not in (COLUMN_NAMES, PROVER_COLUMNS):
            raise ValueError("a trace records COLUMN_NAMES or PROVER_COLUMNS")
        return cls(np.zeros((capacity, len(columns)), dtype=np.uint32))

    @property
    def columns(self) -> tuple[str, ...]:
        return PROVER_COLUMNS if self.array.shape[1] == len(PROVER_COLUMNS) else COLUMN_NAMES

    def column(self, name: str) -> np.ndarray:
        """One column's filled rows, e.g. trace.column("pc")."""
        return self.array[: self.rows, self.columns.index(name)]


@dataclass
class Result:
    """A finished run: final machine state, program output and (when traced) the trace."""

    status: int
    cycles: int
    pc: int
    regs: np.ndarray
    output: bytes
    trace: Trace | None = field(default=None, repr=False)

    @property
    def exit_code(self) -> int:
        """The exit syscall's code as a process would report it (a0 & 0xFF, as Linux does)."""
        return int(self.regs[isa.REG_A0]) & 0xFF


def _word_at(mem: np.ndarray, mem_base: int, addr: int) -> int | None:
    off = addr - mem_base
    if off < 0 or off + 4 > len(mem):
        return None
    return int.from_bytes(bytes(mem[off : off + 4]), "little")


def describe(
    status: int, mem: np.ndarray, mem_base: int, regs: np.ndarray, pc: int, max_cycles: int
) -> str:
    """The one-line message for a status. The faulting instruction did not execute, so its
    operands are re-read from the unchanged registers and memory."""
    if status == ST_CYCLE_LIMIT:
        return f"cycle limit {max_cycles} reached"
    name = STATUS_NAMES.get(status, f"status {status}")
    if status == ST_MISALIGNED_PC and pc % 4:
        return f"misaligned pc {pc:#010x}"
    imm_i_, imm_s_ = isa.imm_i.py_func, isa.imm_s.py_func
    imm_b_, imm_j_ = isa.imm_b.py_func, isa.imm_j.py_func
    insn = _word_at(mem, mem_base, pc) if pc % 4 == 0 else None
    if insn is None:
        return f"{name} at pc {pc:#010x}"
    r1 = int(regs[(insn >> 15) & 0x1F])
    if status == ST_ILLEGAL:
        return f"illegal instruction {insn:#010x} at pc {pc:#010x}"
    if status in (ST_LOAD_FAULT, ST_MISALIGNED_LOAD):
        addr = (r1 + imm_i_(insn)) & MASK32
        return f"{name} at {addr:#010x} (pc {pc:#010x})"
    if status in (ST_STORE_FAULT, ST_MISALIGNED_STORE):
        addr = (r1 + imm_s_(insn)) & MASK32
        return f"{name} at {addr:#010x} (pc {pc:#010x})"
    if status == ST_MISALIGNED_PC:
        op = insn & 0x7F
        if op == OP_JAL:
            target = (pc + imm_j_(insn)) & MASK32
        elif op == OP_JALR:
            target = (r1 + imm_i_(insn)) & (MASK32 - 1)
        elif op == OP_BRANCH:
            target = (pc + imm_b_(insn)) & MASK32
        else:
            return f"misaligned pc {pc:#010x}"
        return f"{name} {target:#010x} at pc {pc:#010x}"
    if status == ST_BAD_SYSCALL:
        a7, a0 = int(regs[isa.REG_A7]), int(regs[isa.REG_A0])
        return f"unsupported ecall a7={a7} a0={a0} at pc {pc:#010x}"
    if status == ST_SYSCALL_FAULT:
        buf, n = int(regs[isa.REG_A1]), int(regs[isa.REG_A2])
        return f"write syscall buffer {buf:#010x}+{n} out of range (pc {pc:#010x})"
    return f"{name} at pc {pc:#010x}"


def emulate(
    mem: np.ndarray,
    mem_base: int,
    regs: np.ndarray,
    pc: int,
    max_cycles: int = 1_000_000,
    trace: bool | Trace = False,
    out_capacity: int = 1 << 16,
) -> Result:
    """Run to the exit syscall, raising EmulatorError on any other end (cycle limit included).

    `mem` and `regs` are updated in place. trace=True records a trace of max_cycles rows (mind
    the memory: N_COLS * 4 bytes per row); pass a Trace to reuse its buffer, or to record a
    prover's three columns (Trace.allocate(rows, PROVER_COLUMNS)).
    """
    _check_machine(mem, mem_base, regs)
    regs[0] = 0
    out = np.zeros(out_capacity, dtype=np.uint8)
    tr: Trace | None = None
    if trace is True:
        tr = Trace.allocate(max_cycles)
    elif isinstance(trace, Trace):
        tr = trace
    if tr is None:
        status, cycles, end_pc, n_out = run(mem, mem_base, regs, pc, max_cycles, out, 0)
    else:
        status, cycles, end_pc, n_out = run_traced(
            mem, mem_base, regs, pc, max_cycles, out, 0, tr.array
        )
        tr.rows = int(cycles)
    if status != ST_HALT:
        if status == ST_CYCLE_LIMIT and tr is not None and cycles < max_cycles:
            msg = f"trace capacity {tr.array.shape[0]} reached"
        else:
            msg = describe(int(status), mem, mem_base, regs, int(end_pc), max_cycles)
        raise EmulatorError(msg, int(status), int(end_pc), int(cycles))
    return Result(int(status), int(cycles), int(end_pc), regs, bytes(out[:n_out]), tr)


def record(
    mem: np.ndarray,
    mem_base: int,
    regs: np.ndarray,
    pc: int,
    max_cycles: int,
    rows: int = 1 << 24,
    out_capacity: int = 1 << 16,
) -> Result:
    """`emulate` recording a prover's trace (PROVER_COLUMNS) for a run of unknown length: room
    for ``rows`` rows, doubled each time the run needs more (the rows so far copied at each
    doubling: under one copy a row in all), up to max_cycles. One run, where sizing the trace
    by a first, untraced run took a second."""
    _check_machine(mem, mem_base, regs)
    regs[0] = 0
    out = np.zeros(out_capacity, dtype=np.uint8)
    array = np.empty((max(1, min(rows, max_cycles)), len(PROVER_COLUMNS)), dtype=np.uint32)
    done, n_out = 0, 0
    while True:
        status, cycles, pc, n_out = run_traced(
            mem, mem_base, regs, pc, max_cycles - done, out, n_out, array[done:]
        )
        done += int(cycles)
        if status != ST_CYCLE_LIMIT or done >= max_cycles:
            break
        grown = np.empty((min(2 * len(array), max_cycles), array.shape[1]), dtype=np.uint32)
        grown[:done] = array[:done]
        array = grown
    if status != ST_HALT:
        msg = describe(int(status), mem, mem_base, regs, int(pc), max_cycles)
        raise EmulatorError(msg, int(status), int(pc), done)
    return Result(int(status), done, int(pc), regs, bytes(out[:n_out]), Trace(array, done))


def _check_machine(mem: np.ndarray, mem_base: int, regs: np.ndarray) -> None:
    """Refuse a machine state the kernels would misread (they check nothing)."""
    if mem.dtype != np.uint8 or mem.ndim != 1 or not mem.flags.c_contiguous or len(mem) % 4:
        raise ValueError("mem must be a contiguous u8 array whose length is a multiple of 4")
    if mem_base % 4 or not 0 <= mem_base <= (1 << 32) - len(mem):
        raise ValueError(f"mem_base {mem_base:#x} must be word aligned and mem within 4 GiB")
    if regs.dtype != np.uint32 or regs.shape != (32,) or not regs.flags.c_contiguous:
        raise ValueError("regs must be a contiguous u32[32] array")
