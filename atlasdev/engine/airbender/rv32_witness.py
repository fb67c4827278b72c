"""The RV32IM witness built by a kernel (rv32_witness.cu): rv32_trace.segment_witness's twin for
the GPU backend, so that a segment's main columns are made on the device, next to the rest of
its proof, from the replayed run's per-cycle values (10 words a row go up, not the ~200 columns).

segment_witness (NumPy) stays the reference and the CPU's builder: the kernel must give the same
matrix byte for byte (tests/engine/airbender/test_rv32_witness.py, through the host build of the
kernels). The last segment's memory table (a few thousand rows) is laid out by the same NumPy
functions and added on. A row the kernel finds wrong (an emulator result the AIR disagrees with,
a timestamp gap or a lookup out of range) is handed back to segment_witness, which says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import rv32_trace
from .rom import FIELDS, Op, Rom
from .rv32_air import BYTE_TABLE_LOG, N_REGS, TS_PER_ROW, Rv32Air, Segment

if TYPE_CHECKING:
    from .kernels import Kernels

SOURCE_NAME = "rv32_witness.cu"


def _many(name: str, count: int) -> tuple[str, ...]:
    return tuple(f"{name}{i}" for i in range(count))


# the main columns the kernel writes, in an order it relies on: FIELDS[1:] from "op", the op
# flags in Op's order, the byte and carry groups each consecutive (C_X0 + i, C_K0 + t, ...)
SLOTS = (
    "active", "pc", "next_pc", *FIELDS[1:],
    *(f"f_{op.name.lower()}" for op in Op),
    *_many("x", 4), *_many("b", 4), *_many("z", 4), *_many("d", 4), *_many("s", 4),
    *_many("l", 4),
    "c0", "c1", "sx", "sz", "lt", "inv_s", "is_zero", "taken", "j0",
    *_many("prev_ts", 3), "old_lo", "old_hi", *_many("dlo", 3), *_many("dhi", 3),
    *_many("o", 4), *_many("m", 4), *_many("n", 4),
    "sel0", "sel1", "top", "sgn", "prev_tsm", "dlom", "dhim", "m_key",
    *_many("u", 4), *_many("v", 4), *_many("p", 8), *_many("k", 8), "su", "sv", "sd", "sh",
    *_many("r", 4), *_many("w", 4), *_many("e", 5), "sr", "nr", "ny", "xh", "yz", "inv_v", "ovf",
    *_many("ar", 4), *_many("ay", 4), "g0", "g2",
    *(f"mult_{t}" for t in ("and", "or", "xor", "range", "rom", "bytes", "pow")),
)  # fmt: skip
assert [int(op) for op in Op] == list(range(1, len(Op) + 1)), "the flags are indexed by op - 1"


ROW_PAST_ROM = 4  # the kernel's status for a step whose ROM row the ROM does not have


def prelude() -> str:
    """The names rv32_witness.cu uses, from the modules that own them."""
    define = lambda name, value: f"#define {name} {value}"  # noqa: E731
    lines = [define(f"C_{name.upper()}", i) for i, name in enumerate(SLOTS)]
    lines += [define(f"IN_{name.upper()}", i) for i, name in enumerate(rv32_trace.STEP)]
    lines += [define("N_INPUTS", len(rv32_trace.STEP))]
    lines += [define(f"ROM_{name.upper()}", i) for i, name in enumerate(FIELDS)]
    lines += [define(f"OP_{op.name}", int(op)) for op in Op]
    lines += [define("N_FIELDS", len(FIELDS)), define("N_REGS", N_REGS)]
    lines += [define("TS_PER_ROW", TS_PER_ROW), define("TABLE_ROWS", 1 << BYTE_TABLE_LOG)]
    lines += [define("ROW_PAST_ROM", ROW_PAST_ROM)]
    return "\n".join(lines) + "\n"


def segment_witness(
    kernels: Kernels, rv: Rv32Air, rom: Rom, run: rv32_trace.Run, segment: Segment, log_n: int
) -> Any:
    """One segment's main columns (n_main, 2^log_n), built by the kernel where ``kernels``
    run (a device array on a GPU)."""
    xp, n = kernels.xp, 1 << log_n
    lo = segment.base
    hi = min(run.cycles, lo + n)
    t_rows = hi - lo
    col = np.array([rv.main.index[name] for name in SLOTS], dtype=np.int64)
    m = xp.zeros((len(rv.main), n), dtype=xp.uint32)
    status = xp.zeros(t_rows, dtype=xp.uint32)
    words = lambda a, dtype=np.uint32: xp.asarray(np.ascontiguousarray(a, dtype=dtype))  # noqa: E731
    kernels.launch(
        "rv32_witness", n, words(run.steps[lo:hi]), t_rows, n, lo, words(rom.columns),
        rom.columns.shape[1], words(rv32_trace.BYTE_SUM_INVERSES), words(col, np.int64), m,
        status,
    )  # fmt: skip
    worst = int(status.max())
    if worst == ROW_PAST_ROM:
        raise rv32_trace.TraceError("a step's ROM row is past the program's ROM")
    if worst:
        rv32_trace.segment_witness(rv, rom, run, segment, log_n)  # raises TraceError: why
        raise RuntimeError("the witness kernel refused a row that NumPy accepts")  # a bug
    if segment.last:
        _add_table(xp, m, rv, run, n)
    return m


def _add_table(xp: Any, m: Any, rv: Rv32Air, run: rv32_trace.Run, n: int) -> None:
    """The memory table and its lookups, on the first rows of the last segment (NumPy's
    functions on a block of those rows, added to the kernel's columns)."""
    table = run.table
    images = int(table.image_rows.max()) + 1 if len(table.image_rows) else 0
    rows = min(n, max(1 << BYTE_TABLE_LOG, N_REGS + len(table.keys), images))
    block = np.zeros((len(rv.main), rows), dtype=np.uint32)
    rv32_trace.put_table(block, rv.main.index, run)
    rv32_trace.table_multiplicities(block, rv.main.index, table)
    touched = np.flatnonzero(block.any(axis=1))
    m[xp.asarray(touched), :rows] += xp.asarray(block[touched])
