"""An evaluation program (evaluation.Program) written out as straight-line CUDA C, for the
kernels (kernels.py compiles it with kernels.cu, for a GPU or the host).

An interpreter of the register program keeps each thread's registers in memory and reads and
writes them at every instruction: for the RV32IM quotient, ~50 KB of memory traffic per point.
Written out, each instruction becomes one statement on a named value (`v<k>` for instruction
k) and the compiler keeps the values in registers (ptxas, for that program: 255 a thread, 63
words spilled to local memory), so a point costs its column loads and little else. The
statements compute exactly what the CPU backend's interpreter (evaluation._run_block) does,
with kernels.cu's field functions, so the values are the same bit for bit.

The program's body is one non-inlined function per point, called from a grid-stride loop:
inside the loop body itself ptxas had not finished the RV32IM quotient's 2,563 statements after
14 minutes; as one function it takes about 45 s, the LogUp rows program about 15 s (nvcc 13 for
sm_90 on a 2-core machine; NVRTC runs the same compiler, and CuPy caches its output on disk).
"""

from __future__ import annotations

import numpy as np

from . import evaluation as ev

QUOTIENT = "quotient_program"  # the kernels' names in the generated source
ROWS = "rows_program"

_BASE_OPS = {ev.ADD_BB: "fadd", ev.SUB_BB: "fsub", ev.MUL_BB: "fmul"}
_EXT_OPS = {ev.ADD_EE: "eadd", ev.SUB_EE: "esub", ev.MUL_EE: "emul"}
_LOADS = {ev.LOAD_PRE: "pre", ev.LOAD_MAIN: "main_", ev.LOAD_PUB: "pub"}
_MIXED = {ev.ADD_EB, ev.SUB_EB, ev.SUB_BE, ev.MUL_EB}  # an extension and a base operand
_EXT_RESULTS = frozenset({*_EXT_OPS, *_MIXED, ev.NEG_E, ev.LOAD_AUX, ev.CONST})
_ARITHMETIC = {*_BASE_OPS, *_EXT_OPS, *_MIXED, ev.NEG_B, ev.NEG_E}
QUOTIENT_OPCODES = frozenset({*_LOADS, ev.LOAD_AUX, ev.CONST, *_ARITHMETIC, ev.ACC_B, ev.ACC_E})
# the current row's cells and constants in, STORE out
ROWS_OPCODES = frozenset({ev.LOAD_PRE, ev.LOAD_MAIN, ev.CONST, *_ARITHMETIC, ev.STORE})


class _Values:
    """The named value each register holds, and whether it is an extension element."""

    def __init__(self) -> None:
        self.held: dict[int, tuple[str, bool]] = {}

    def base(self, register: int) -> str:
        name, ext = self.held[register]
        return f"{name}.v[0]" if ext else name  # a base operand reads coefficient 0

    def ext(self, register: int) -> str:
        name, ext = self.held[register]
        if not ext:
            raise ValueError(f"register {register} is read as an extension element but holds none")
        return name


def _statements(code: np.ndarray, allowed: frozenset[int], what: str) -> list[str]:
    """One C statement per instruction; the point's row is `j`, the next row's `nx`."""
    values = _Values()
    out = []
    for k, (op, d, a, b) in enumerate(code.tolist()):
        if op not in allowed:
            raise ValueError(f"the {what} kernel has no instruction {op}")
        v = f"v{k}"
        row = "nx" if b else "j"
        if op in _LOADS:
            out.append(f"const u32 {v} = {_LOADS[op]}[{a}ull * m + {row}];")
        elif op == ev.LOAD_AUX:
            out.append(f"const Ext {v} = eload(aux + {4 * a}ull * m, m, {row});")
        elif op == ev.CONST:
            out.append(f"const Ext {v} = eword(consts + {4 * a});")
        elif op in _BASE_OPS:
            out.append(f"const u32 {v} = {_BASE_OPS[op]}({values.base(a)}, {values.base(b)});")
        elif op == ev.NEG_B:
            out.append(f"const u32 {v} = fneg({values.base(a)});")
        elif op in _EXT_OPS:
            out.append(f"const Ext {v} = {_EXT_OPS[op]}({values.ext(a)}, {values.ext(b)});")
        elif op == ev.NEG_E:
            x = values.ext(a)
            out.append(f"const Ext {v} = ext4({', '.join(f'fneg({x}.v[{c}])' for c in range(4))});")
        elif op in (ev.ADD_EB, ev.SUB_EB):  # extension a plus or minus base b
            x, f = values.ext(a), "fadd" if op == ev.ADD_EB else "fsub"
            low = f"{f}({x}.v[0], {values.base(b)})"
            out.append(f"const Ext {v} = ext4({low}, {x}.v[1], {x}.v[2], {x}.v[3]);")
        elif op == ev.SUB_BE:  # base a minus extension b
            y = values.ext(b)
            rest = ", ".join(f"fneg({y}.v[{c}])" for c in range(1, 4))
            out.append(f"const Ext {v} = ext4(fsub({values.base(a)}, {y}.v[0]), {rest});")
        elif op == ev.MUL_EB:
            out.append(f"const Ext {v} = escale({values.ext(a)}, {values.base(b)});")
        elif op == ev.ACC_B:  # alpha's power in Montgomery form times a base value: fmul_by
            term = f"escale_by({values.base(a)}, eword(alpha_m + {4 * b}))"
            out.append(f"acc[{d}] = eadd(acc[{d}], {term});")
        elif op == ev.ACC_E:
            term = f"emul(eword(alpha + {4 * b}), {values.ext(a)})"
            out.append(f"acc[{d}] = eadd(acc[{d}], {term});")
        elif op == ev.STORE:  # from row d: an extension element's 4 coefficients, or a base one
            words = [f"{values.ext(a)}.v[{c}]" for c in range(4)] if b else [values.base(a)]
            out += [f"out[{d + c}ull * m + j] = {w};" for c, w in enumerate(words)]
        if op not in (ev.ACC_B, ev.ACC_E, ev.STORE):
            values.held[d] = (v, op in _EXT_RESULTS)
    return out


def _function(name: str, params: str, body: list[str]) -> str:
    lines = "\n".join(f"    {line}" for line in body)
    return f"NOINLINE void {name}({params}) {{\n{lines}\n}}\n"


_ESCALE_BY = """DEVICE Ext escale_by(u32 k, Ext am) { /* k a, a in Montgomery form (fmul_by) */
    return ext4(fmul_by(k, am.v[0]), fmul_by(k, am.v[1]), fmul_by(k, am.v[2]), fmul_by(k, am.v[3]));
}

"""


def quotient_source(code: np.ndarray) -> str:
    """The kernel QUOTIENT: the program's constraints at the first `points` points of the
    blown-up domain (backend.quotient_points), each accumulated into its group times its alpha
    power (given twice: as is, and in Montgomery form for the base constraints' fmul_by), the
    groups over their divisors."""
    body = _statements(code, QUOTIENT_OPCODES, "quotient")
    point = _function(
        "quotient_point",
        "const u32* pre, const u32* main_, const u32* aux, const u32* pub, const u32* consts, "
        "const u32* alpha, const u32* alpha_m, u64 m, u64 j, u64 nx, Ext* acc",
        body,
    )
    uses = ev.ACC_B in {int(op) for op in code[:, 0]}
    return (
        (_ESCALE_BY if uses else "")  # an unused static function is a warning
        + point
        + f"""
KERNEL void {QUOTIENT}(const u32* pre, const u32* main_, const u32* aux, const u32* pub,
                       const i64* nxt, const u32* consts, const u32* alpha,
                       const u32* alpha_m, const u32* invs, u64 m, u64 points, u32* out) {{
    for (u64 j = FIRST; j < points; j += STRIDE) {{
        Ext acc[4];
        for (int g = 0; g < 4; g++) acc[g] = ext4(0u, 0u, 0u, 0u);
        quotient_point(pre, main_, aux, pub, consts, alpha, alpha_m, m, j, (u64)nxt[j], acc);
        Ext q = ext4(0u, 0u, 0u, 0u);
        for (int g = 0; g < 4; g++) q = eadd(q, escale(acc[g], invs[g * points + j]));
        estore(out, points, j, q);
    }}
}}
"""
    )


def rows_source(code: np.ndarray) -> str:
    """The kernel ROWS: the program's expressions at every row of the trace (from the row of
    `out` their STOREs name: 4 rows for an extension value, 1 for a base one), reading the
    current row only."""
    if any(op in (ev.LOAD_PRE, ev.LOAD_MAIN) and next_row for op, _, _, next_row in code.tolist()):
        raise ValueError("the rows kernel reads the current row only")
    body = _statements(code, ROWS_OPCODES, "rows")
    point = _function(
        "rows_point", "const u32* pre, const u32* main_, const u32* consts, u64 m, u64 j, u32* out",
        body,
    )  # fmt: skip
    return (
        point
        + f"""
KERNEL void {ROWS}(const u32* pre, const u32* main_, const u32* consts, u64 m, u32* out) {{
    for (u64 j = FIRST; j < m; j += STRIDE) rows_point(pre, main_, consts, m, j, out);
}}
"""
    )
