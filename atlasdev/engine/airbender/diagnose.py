"""Which constraint a trace breaks, and on which row: for error messages and for debugging.

The prover only learns that the quotient is not a polynomial; this evaluates each constraint
that reads base-field cells (not the LogUp columns) on the trace rows themselves with numpy,
and names the first rows where it does not vanish.
"""

from __future__ import annotations

import numpy as np

from .air import Air, Expr, Where, nodes
from .field import P

_P = np.uint64(P)


def _value(
    e: Expr,
    pre: np.ndarray,
    main: np.ndarray,
    publics: list[int],
    pubcols: np.ndarray,
    memo: dict[int, np.ndarray],
) -> np.ndarray:
    for node in nodes([e]):
        if id(node) in memo:
            continue
        if node.op == "const":
            v = np.full(main.shape[1], node.value % P, dtype=np.uint64)
        elif node.op in ("pre", "main"):
            src = pre if node.op == "pre" else main
            v = src[node.value].astype(np.uint64)
            if node.next_row:
                v = np.roll(v, -1)
        elif node.op == "pub":
            v = np.full(main.shape[1], publics[node.value], dtype=np.uint64)
        elif node.op == "pubcol":
            v = pubcols[node.value].astype(np.uint64)
        else:
            a = [memo[id(x)] for x in node.args]
            if node.op == "add":
                v = (a[0] + a[1]) % _P
            elif node.op == "sub":
                v = (a[0] + _P - a[1]) % _P
            elif node.op == "mul":
                v = (a[0] * a[1]) % _P
            elif node.op == "neg":
                v = (_P - a[0]) % _P
            else:
                raise ValueError(f"cannot evaluate {node.op} on rows")
        memo[id(node)] = v
    return memo[id(e)]


def _reads_extension(e: Expr) -> bool:
    return any(n.op in ("aux", "chal", "claim", "inv") for n in nodes([e]))


def failing_constraints(
    air: Air, pre: np.ndarray, main: np.ndarray, publics: list[int] | None = None, limit: int = 5
) -> list[tuple[str, list[int]]]:
    """(constraint name, first failing rows) for every base-field constraint the trace breaks."""
    n = main.shape[1]
    memo: dict[int, np.ndarray] = {}
    pubcols = np.zeros((air.n_pubcols, n), dtype=np.uint32)
    for c, row, p in air.public_cells:
        pubcols[c, row] = (publics or [])[p]
    out = []
    for c in air.constraints:
        if _reads_extension(c.expr):
            continue
        v = _value(c.expr, pre, main, publics or [], pubcols, memo)
        rows = {
            Where.EVERY_ROW: np.arange(n),
            Where.TRANSITION: np.arange(n - 1),
            Where.FIRST_ROW: np.array([0]),
            Where.LAST_ROW: np.array([n - 1]),
        }[c.where]
        bad = rows[v[rows] != 0]
        if len(bad):
            out.append((c.name, [int(r) for r in bad[:limit]]))
    return out


def unbalanced_tuples(
    interactions: list,
    pre: np.ndarray,
    main: np.ndarray,
    publics: list[int] | None = None,
    limit: int = 5,
) -> list[tuple[tuple[int, ...], int, list[str]]]:
    """Tuples whose LogUp multiplicities do not sum to zero, counted exactly (no challenges):
    (tuple, net multiplicity, names of the interactions that put it in)."""
    memo: dict[int, np.ndarray] = {}
    pubcols = np.zeros((0, main.shape[1]), dtype=np.uint32)
    net: dict[tuple[int, ...], int] = {}
    names: dict[tuple[int, ...], set[str]] = {}
    for it in interactions:
        mult = _value(it.multiplicity, pre, main, publics or [], pubcols, memo).astype(np.int64)
        mult = np.where(mult > P // 2, mult - P, mult)
        rows = np.flatnonzero(mult)
        if not len(rows):
            continue
        values = np.stack(
            [_value(v, pre, main, publics or [], pubcols, memo)[rows] for v in it.values]
        )
        for j, row in enumerate(rows):
            key = tuple(int(v) for v in values[:, j])
            net[key] = net.get(key, 0) + int(mult[row])
            names.setdefault(key, set()).add(it.name)
    bad = [(k, v, sorted(names[k])) for k, v in net.items() if v]
    return bad[:limit]
