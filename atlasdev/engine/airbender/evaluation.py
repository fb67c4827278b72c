"""Evaluating constraint expressions at every point of a domain: the prover's inner loop.

The expressions are flattened once into a small register program (one instruction per distinct
node, equal subexpressions made one node first, registers reused after their last use), and one
generic numba kernel runs any program over the domain a block of points at a time: each
instruction is a tight loop over the block, so the dispatch cost is paid once per 256 points,
and the kernel compiles once for every AIR. (Emitting
each AIR as its own straight-line numba function was tried first; LLVM took over 15 minutes on
the RV32IM AIR's 1,300 nodes.) Row-independent nodes (challenges, publics, constants, and any
expression of them) are evaluated whole, once, in Python.

Two entry points: `QuotientKernel` (the alpha-combination of all constraints, each group divided
by its vanishing polynomial) and `RowsKernel` (the values of a list of expressions at every row,
for building the LogUp columns).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange
from numba import uint32 as u32
from numba import uint64 as u64

from . import air
from .air import Expr, Where
from .extension import kadd, kmul_lanes, kscale_lanes
from .field import fadd, fmul_by, fmul_lanes, fneg, fsub, montgomery

GROUPS = (Where.TRANSITION, Where.EVERY_ROW, Where.FIRST_ROW, Where.LAST_ROW)
BLOCK = 256

# opcodes: (dst, a, b) are registers unless noted
LOAD_PRE, LOAD_MAIN, LOAD_AUX, CONST = 0, 1, 2, 3  # a: column / const index, b: 1 = next row
ADD_BB, SUB_BB, MUL_BB, NEG_B = 4, 5, 6, 7
ADD_EE, SUB_EE, MUL_EE, NEG_E = 8, 9, 10, 11
ADD_EB, SUB_EB, SUB_BE, MUL_EB = 12, 13, 14, 15  # E op B (SUB_BE: B - E)
ACC_B, ACC_E = 16, 17  # dst: group, a: register, b: alpha index
LOAD_PUB = 19  # a: public column
STORE = 18  # dst: output row, a: register, b: 1 if it holds an extension element (4 rows)


def _is_ext(e: Expr, memo: dict[int, bool]) -> bool:
    if id(e) not in memo:
        memo[id(e)] = e.op in ("aux", "chal", "claim") or any(_is_ext(a, memo) for a in e.args)
    return memo[id(e)]


def _row_independent(e: Expr) -> bool:
    cells = ("pre", "main", "aux", "pubcol")
    return e.op not in cells and air.degree(e) == 0 and not air.uses_next_row(e)


class Program:
    """Expressions flattened to register instructions. ``finish(i, register, is_ext)`` gives
    the instruction that consumes root i (accumulate it, store it); it is emitted as soon as
    the root is computed, so the root's register, like every other, is free after its last
    use: registers stay few (the RV32IM AIR's quotient, 2,563 instructions, needs 159 of them).
    Sharing equal subexpressions took that program from 3,620 instructions (936 of them
    constants, 67 distinct) to 2,563; their registers live longer, 139 -> 159."""

    def __init__(
        self, roots: list[Expr], finish: Callable[[int, int, bool], tuple[int, int, int, int]]
    ) -> None:
        roots = air.shared(roots)  # equal subexpressions computed once
        order = air.nodes(roots, leaf=_row_independent)  # those are evaluated whole, once
        hoist = {id(e) for e in order if _row_independent(e)}
        inputs = {id(e): () if id(e) in hoist else e.args for e in order}
        ext: dict[int, bool] = {}
        self.hoisted: list[Expr] = []
        code: list[tuple[int, int, int, int]] = []
        # the last instruction index that reads each node, to free its register after it
        position = {id(e): i for i, e in enumerate(order)}
        last_use = {id(e): position[id(e)] for e in order}
        for e in order:
            for a in inputs[id(e)]:
                last_use[id(a)] = max(last_use[id(a)], position[id(e)])
        root_indices: dict[int, list[int]] = {}
        for i, r in enumerate(roots):
            root_indices.setdefault(id(r), []).append(i)
        free: list[int] = []
        self.n_regs = 0
        reg: dict[int, int] = {}

        def alloc() -> int:
            if free:
                return free.pop()
            self.n_regs += 1
            return self.n_regs - 1

        for i, e in enumerate(order):
            _is_ext(e, ext)
            if id(e) in hoist:
                r = alloc()
                code.append((CONST, r, len(self.hoisted), 0))
                self.hoisted.append(e)
            elif e.op in ("pre", "main", "aux", "pubcol"):
                r = alloc()
                load = {"pre": LOAD_PRE, "main": LOAD_MAIN, "aux": LOAD_AUX, "pubcol": LOAD_PUB}[
                    e.op
                ]
                code.append((load, r, e.value, int(e.next_row)))
            else:
                a = [reg[id(c)] for c in e.args]
                xa = [_is_ext(c, ext) for c in e.args]
                r = alloc()
                code.append(_arith(e.op, r, a, xa))
            reg[id(e)] = r
            for k in root_indices.get(id(e), []):
                code.append(finish(k, r, ext[id(e)]))
            for c in {id(c): c for c in inputs[id(e)]}.values():
                if last_use[id(c)] == i:
                    free.append(reg[id(c)])
            if last_use[id(e)] == i:  # a root nothing else reads
                free.append(r)
        self.code = np.array(code, dtype=np.int64).reshape(-1, 4)
        self.ext = ext

    def consts(
        self, challenges: list[Any], publics: list[int], claims: list[Any] | None = None
    ) -> np.ndarray:
        """Values of the row-independent nodes (as extension elements)."""
        point = air.Point([], [], [], [], [], [], challenges, publics, claims=claims or [])
        values = air.evaluate(self.hoisted, point)
        out = np.zeros((max(1, len(values)), 4), dtype=np.uint32)
        for i, v in enumerate(values):
            out[i] = v
        return out

    def is_ext(self, e: Expr) -> bool:
        return _is_ext(e, self.ext)


def _arith(op: str, r: int, a: list[int], xa: list[bool]) -> tuple[int, int, int, int]:
    if op == "neg":
        return (NEG_E if xa[0] else NEG_B, r, a[0], 0)
    if not xa[0] and not xa[1]:
        return ({"add": ADD_BB, "sub": SUB_BB, "mul": MUL_BB}[op], r, a[0], a[1])
    if xa[0] and xa[1]:
        return ({"add": ADD_EE, "sub": SUB_EE, "mul": MUL_EE}[op], r, a[0], a[1])
    if op == "sub":
        return (SUB_EB, r, a[0], a[1]) if xa[0] else (SUB_BE, r, a[0], a[1])
    e, b = (a[0], a[1]) if xa[0] else (a[1], a[0])  # add and mul commute
    return ({"add": ADD_EB, "mul": MUL_EB}[op], r, e, b)


@njit(cache=True, nogil=True)
def _run_block(
    code, n_regs, lo, hi, pre, main, aux, pub, nxt, consts, alpha, alpha_m, regs, acc, out, out_lo
):
    """Run the program on points lo..hi-1; regs is (n_regs, 4, BLOCK) scratch."""
    size = hi - lo
    lanes = u64(size)  # an unsigned index: no wraparound check, so the loops vectorize
    for k in range(code.shape[0]):
        opc, d, a, b = code[k, 0], code[k, 1], code[k, 2], code[k, 3]
        if opc == LOAD_PRE or opc == LOAD_MAIN or opc == LOAD_PUB:
            src = pre if opc == LOAD_PRE else (main if opc == LOAD_MAIN else pub)
            for j in range(size):
                p = nxt[lo + j] if b else lo + j
                regs[d, 0, j] = src[a, p]
        elif opc == LOAD_AUX:
            for j in range(size):
                p = nxt[lo + j] if b else lo + j
                for c in range(4):
                    regs[d, c, j] = aux[4 * a + c, p]
        elif opc == CONST:
            for j in range(size):
                for c in range(4):
                    regs[d, c, j] = consts[a, c]
        elif opc == ADD_BB:
            for j in range(lanes):
                regs[d, 0, j] = fadd(regs[a, 0, j], regs[b, 0, j])
        elif opc == SUB_BB:
            for j in range(lanes):
                regs[d, 0, j] = fsub(regs[a, 0, j], regs[b, 0, j])
        elif opc == MUL_BB:
            for j in range(lanes):
                regs[d, 0, j] = fmul_lanes(regs[a, 0, j], regs[b, 0, j])
        elif opc == NEG_B:
            for j in range(lanes):
                regs[d, 0, j] = fneg(regs[a, 0, j])
        elif opc == ADD_EE or opc == SUB_EE:
            for j in range(lanes):
                for c in range(4):
                    x, y = regs[a, c, j], regs[b, c, j]
                    regs[d, c, j] = fadd(x, y) if opc == ADD_EE else fsub(x, y)
        elif opc == MUL_EE:
            for j in range(lanes):
                x0, x1, x2, x3 = regs[a, 0, j], regs[a, 1, j], regs[a, 2, j], regs[a, 3, j]
                y0, y1, y2, y3 = regs[b, 0, j], regs[b, 1, j], regs[b, 2, j], regs[b, 3, j]
                r0, r1, r2, r3 = kmul_lanes(x0, x1, x2, x3, y0, y1, y2, y3)
                regs[d, 0, j], regs[d, 1, j], regs[d, 2, j], regs[d, 3, j] = r0, r1, r2, r3
        elif opc == NEG_E:
            for j in range(lanes):
                for c in range(4):
                    regs[d, c, j] = fneg(regs[a, c, j])
        elif opc == ADD_EB:
            for j in range(lanes):
                regs[d, 0, j] = fadd(regs[a, 0, j], regs[b, 0, j])
                for c in range(1, 4):
                    regs[d, c, j] = regs[a, c, j]
        elif opc == SUB_EB:
            for j in range(lanes):
                regs[d, 0, j] = fsub(regs[a, 0, j], regs[b, 0, j])
                for c in range(1, 4):
                    regs[d, c, j] = regs[a, c, j]
        elif opc == SUB_BE:
            for j in range(lanes):
                regs[d, 0, j] = fsub(regs[a, 0, j], regs[b, 0, j])
                for c in range(1, 4):
                    regs[d, c, j] = fneg(regs[b, c, j])
        elif opc == MUL_EB:
            for j in range(lanes):
                s = regs[b, 0, j]
                for c in range(4):
                    regs[d, c, j] = fmul_lanes(regs[a, c, j], s)
        elif opc == ACC_B:  # alpha_m: the alpha powers in Montgomery form (fmul_by)
            for c in range(4):
                g = alpha_m[b, c]
                for j in range(lanes):
                    acc[d, c, j] = fadd(acc[d, c, j], fmul_by(regs[a, 0, j], g))
        elif opc == ACC_E:
            g0, g1, g2, g3 = alpha[b, 0], alpha[b, 1], alpha[b, 2], alpha[b, 3]
            for j in range(lanes):
                t0, t1, t2, t3 = kmul_lanes(
                    g0, g1, g2, g3, regs[a, 0, j], regs[a, 1, j], regs[a, 2, j], regs[a, 3, j]
                )
                acc[d, 0, j], acc[d, 1, j], acc[d, 2, j], acc[d, 3, j] = kadd(
                    acc[d, 0, j], acc[d, 1, j], acc[d, 2, j], acc[d, 3, j], t0, t1, t2, t3
                )
        elif opc == STORE:
            for j in range(size):
                out[d, out_lo + j] = regs[a, 0, j]
            if b:
                for c in range(1, 4):
                    for j in range(size):
                        out[d + c, out_lo + j] = regs[a, c, j]


@njit(parallel=True, cache=True, nogil=True)
def _quotient(code, n_regs, pre, main, aux, pub, nxt, consts, alpha, alpha_m, invs, out):
    m = out.shape[1]
    n_blocks = (m + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        lo, hi = blk * BLOCK, min(m, (blk + 1) * BLOCK)
        regs = np.zeros((n_regs, 4, BLOCK), dtype=np.uint32)
        acc = np.zeros((4, 4, BLOCK), dtype=np.uint32)
        # out_lo = lo as _rows passes it (a literal 0 would compile _run_block a second time)
        _run_block(
            code, n_regs, lo, hi, pre, main, aux, pub, nxt, consts, alpha, alpha_m, regs, acc, out, lo
        )  # fmt: skip
        first = u64(lo)  # unsigned indices, so that the loop vectorizes (as in _run_block)
        for j in range(u64(hi - lo)):
            q0, q1, q2, q3 = u32(0), u32(0), u32(0), u32(0)
            for g in range(4):
                t0, t1, t2, t3 = kscale_lanes(
                    acc[g, 0, j], acc[g, 1, j], acc[g, 2, j], acc[g, 3, j], invs[g, first + j]
                )
                q0, q1, q2, q3 = kadd(q0, q1, q2, q3, t0, t1, t2, t3)
            i = first + j
            out[0, i], out[1, i], out[2, i], out[3, i] = q0, q1, q2, q3


@njit(parallel=True, cache=True, nogil=True)
def _rows(code, n_regs, pre, main, aux, consts, out):
    m = out.shape[1]
    n_blocks = (m + BLOCK - 1) // BLOCK
    nxt = np.zeros(1, dtype=np.int64)
    alpha = np.zeros((1, 4), dtype=np.uint32)
    for blk in prange(n_blocks):
        lo, hi = blk * BLOCK, min(m, (blk + 1) * BLOCK)
        regs = np.zeros((n_regs, 4, BLOCK), dtype=np.uint32)
        acc = np.zeros((1, 4, 1), dtype=np.uint32)
        _run_block(
            code, n_regs, lo, hi, pre, main, aux, main, nxt, consts, alpha, alpha, regs, acc, out, lo
        )  # fmt: skip


class QuotientKernel:
    """sum_i alpha^i C_i(x) / Z_i(x) at the first points of the blown-up domain (as many as the
    quotient's degree needs: backend.quotient_points)."""

    def __init__(self, constraints: list[air.Constraint]) -> None:
        def accumulate(i: int, register: int, is_ext: bool) -> tuple[int, int, int, int]:
            group = GROUPS.index(constraints[i].where)
            return (ACC_E if is_ext else ACC_B, group, register, i)

        self.program = Program([c.expr for c in constraints], accumulate)
        self.code = self.program.code

    def __call__(
        self,
        pre: np.ndarray,
        main: np.ndarray,
        aux: np.ndarray,
        pub: np.ndarray,
        nxt: np.ndarray,
        challenges: list[Any],
        publics: list[int],
        claims: list[Any],
        alpha: np.ndarray,
        invs: np.ndarray,
        points: int,
    ) -> np.ndarray:
        """The quotient at the first ``points`` positions of the matrices' domain (``nxt`` and
        ``invs`` cover at least those)."""
        if not points <= min(main.shape[1], nxt.shape[0], invs.shape[1]):  # numba checks none
            raise ValueError(f"{points} quotient points beyond the inputs' domain")
        out = np.empty((4, points), dtype=np.uint32)
        consts = self.program.consts(challenges, publics, claims)
        n_regs = max(1, self.program.n_regs)
        nxt = nxt.astype(np.int64)
        alpha_m = montgomery(alpha)
        _quotient(self.code, n_regs, pre, main, aux, pub, nxt, consts, alpha, alpha_m, invs, out)
        return out


class RowsKernel:
    """The values of expressions (current row only) at every row, one after another in the
    output: 4 rows for an extension element, 1 for a base one (``first[i]``: expression i's
    first row; ``rows``: all of them)."""

    def __init__(self, exprs: list[Expr]) -> None:
        memo: dict[int, bool] = {}
        sizes = [4 if _is_ext(e, memo) else 1 for e in exprs]
        *self.first, self.rows = itertools.accumulate(sizes, initial=0)

        def store(i: int, register: int, is_ext: bool) -> tuple[int, int, int, int]:
            return (STORE, self.first[i], register, int(is_ext))

        self.program = Program(exprs, store)
        self.code = self.program.code

    def __call__(
        self,
        pre: np.ndarray,
        main: np.ndarray,
        aux: np.ndarray,
        challenges: list[Any],
        publics: list[int],
    ) -> np.ndarray:
        out = np.empty((self.rows, main.shape[1]), dtype=np.uint32)
        consts = self.program.consts(challenges, publics)
        _rows(self.code, max(1, self.program.n_regs), pre, main, aux, consts, out)
        return out
