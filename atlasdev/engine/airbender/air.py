"""Constraint definitions: one symbolic form, read by the prover's compiler and the verifier.

An AIR is built once as expressions over trace cells (`Expr`): the current or next row of a
preprocessed, main or auxiliary column, Fiat-Shamir challenges, public values and constants.
The prover flattens the expressions into a register program that one numba kernel runs at every
point of the blown-up domain (evaluation.py); the verifier evaluates the same expressions at one
out-of-domain point with Python ints (`evaluate`). Sharing the definitions,
not the code that evaluates them, is what keeps the verifier independent of the prover.

Main and preprocessed columns hold base-field elements; auxiliary columns (LogUp sums) and
challenges hold extension elements. Public columns are not committed at all: each is zero except
on a few rows where it holds a public value, so the verifier evaluates it itself (a sum of
Lagrange basis polynomials); constraints pin trace cells to them on those rows. Each constraint
says on which rows it must vanish.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from . import extension as ext
from .extension import Ext


class Where(Enum):
    """The rows on which a constraint must vanish (and so its divisor)."""

    TRANSITION = "transition"  # rows 0 .. n-2: it may read the next row
    EVERY_ROW = "every_row"
    FIRST_ROW = "first_row"
    LAST_ROW = "last_row"


@dataclass(frozen=True, eq=False)
class Expr:
    """A node of a constraint expression; build with operators, not by hand."""

    op: str  # const | pre | main | aux | pubcol | chal | pub | claim | add | sub | mul | neg | inv
    args: tuple[Expr, ...] = ()
    value: int = 0  # const: the value; column ops: the column; chal/pub: the index
    next_row: bool = False

    def __add__(self, other: Operand) -> Expr:
        return Expr("add", (self, lift(other)))

    def __radd__(self, other: Operand) -> Expr:
        return Expr("add", (lift(other), self))

    def __sub__(self, other: Operand) -> Expr:
        return Expr("sub", (self, lift(other)))

    def __rsub__(self, other: Operand) -> Expr:
        return Expr("sub", (lift(other), self))

    def __mul__(self, other: Operand) -> Expr:
        return Expr("mul", (self, lift(other)))

    def __rmul__(self, other: Operand) -> Expr:
        return Expr("mul", (lift(other), self))

    def __neg__(self) -> Expr:
        return Expr("neg", (self,))

    @property
    def next(self) -> Expr:
        """This column on the next row."""
        if self.op not in ("pre", "main", "aux") or self.next_row:
            raise ValueError("only a column on the current row has a next row")
        return Expr(self.op, (), self.value, True)


Operand = Expr | int


def lift(x: Operand) -> Expr:
    return x if isinstance(x, Expr) else Expr("const", value=x)


def inverse(x: Expr) -> Expr:
    """1/x for an expression that does not depend on the row (challenges, publics)."""
    if degree(x) != 0:
        raise ValueError("only row-independent expressions can be inverted")
    return Expr("inv", (x,))


def pre(i: int) -> Expr:
    return Expr("pre", value=i)


def main(i: int) -> Expr:
    return Expr("main", value=i)


def aux(i: int) -> Expr:
    return Expr("aux", value=i)


def public_column(i: int) -> Expr:
    return Expr("pubcol", value=i)


def challenge(i: int) -> Expr:
    return Expr("chal", value=i)


def public(i: int) -> Expr:
    return Expr("pub", value=i)


def claim(i: int) -> Expr:
    """The prover's claim i: an auxiliary column's last-row value it declares (an extension
    element bound into the transcript), such as a LogUp sum that other segments cancel."""
    return Expr("claim", value=i)


@dataclass(frozen=True)
class Constraint:
    where: Where
    expr: Expr
    name: str


@dataclass
class Air:
    """The shape of a trace and the constraints it must satisfy."""

    name: str
    n_pre: int
    n_main: int
    n_aux: int = 0  # extension columns
    n_challenges: int = 0  # extension challenges drawn after the main trace is committed
    n_public: int = 0
    constraints: list[Constraint] = field(default_factory=list)
    # public column c holds publics[p] on row r for each (c, r, p), and zero elsewhere
    public_cells: list[tuple[int, int, int]] = field(default_factory=list)
    n_pubcols: int = 0
    # claim i is the value of auxiliary column claims[i] on the last row
    claims: list[int] = field(default_factory=list)
    _max_degree: tuple[int, int] = field(default=(-1, 1), init=False, repr=False, compare=False)

    def add(self, where: Where, expr: Expr, name: str) -> None:
        if where is not Where.TRANSITION and uses_next_row(expr):
            raise ValueError(f"{name}: only transition constraints may read the next row")
        self.constraints.append(Constraint(where, expr, name))

    @property
    def max_degree(self) -> int:
        """Read at every segment a verifier checks: computed once per constraint count (`add`
        is how constraints are added)."""
        count, value = self._max_degree
        if count != len(self.constraints):
            memo: dict[int, int] = {}  # shared subexpressions once
            value = max((degree(c.expr, memo) for c in self.constraints), default=1)
            self._max_degree = (len(self.constraints), value)
        return value

    @property
    def quotient_chunks(self) -> int:
        """Polynomials of degree < n that the quotient splits into (degree-d constraints over a
        trace of degree < n give a quotient of degree < (d - 1) n)."""
        return max(1, self.max_degree - 1)

    def shape_words(self) -> list[int]:
        """What the transcript absorbs first: this AIR's shape, so that no proof made for one
        AIR can be replayed against another with the same name."""
        counts = [self.n_pre, self.n_main, self.n_aux, self.n_challenges, self.n_public]
        cells = [v for cell in self.public_cells for v in cell]
        shape = [*counts, self.n_pubcols, len(self.constraints), self.max_degree]
        return [*shape, len(self.claims), *self.claims, *cells]


def degree(e: Expr, memo: dict[int, int] | None = None) -> int:
    """The degree in trace cells (challenges and publics are constants); ``memo`` keeps the
    degrees of nodes seen (by id) across calls."""
    if e.op in ("pre", "main", "aux", "pubcol"):
        return 1
    if e.op in ("const", "chal", "pub", "claim", "inv"):
        return 0
    memo = {} if memo is None else memo
    if id(e) not in memo:
        if e.op == "mul":
            memo[id(e)] = degree(e.args[0], memo) + degree(e.args[1], memo)
        else:
            memo[id(e)] = max(degree(a, memo) for a in e.args)
    return memo[id(e)]


def uses_next_row(e: Expr) -> bool:
    return e.next_row or any(uses_next_row(a) for a in e.args)


def shared(roots: list[Expr]) -> list[Expr]:
    """The roots with equal subexpressions (same operation on equal arguments) made one node,
    so that an evaluator computes each once: AIRs built from helpers repeat many (the RV32IM
    AIR's 3,352 nodes are 2,298 distinct ones)."""
    canon: dict[tuple[str, int, bool, tuple[int, ...]], Expr] = {}
    same: dict[int, Expr] = {}
    for e in nodes(roots):
        args = tuple(same[id(a)] for a in e.args)
        key = (e.op, e.value, e.next_row, tuple(id(a) for a in args))
        if key not in canon:
            unchanged = all(x is y for x, y in zip(args, e.args, strict=True))
            canon[key] = e if unchanged else Expr(e.op, args, e.value, e.next_row)
        same[id(e)] = canon[key]
    return [same[id(r)] for r in roots]


def nodes(roots: Iterable[Expr], leaf: Callable[[Expr], bool] | None = None) -> list[Expr]:
    """Every distinct node under ``roots``, children before parents (shared nodes once); not
    below a node ``leaf`` says is one."""
    seen: set[int] = set()
    order: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        node, expanded = stack.pop()
        if id(node) in seen:
            continue
        if expanded:
            seen.add(id(node))
            order.append(node)
        else:
            stack.append((node, True))
            if leaf is None or not leaf(node):
                stack.extend((a, False) for a in reversed(node.args) if id(a) not in seen)
    return order


# ---- the verifier's evaluation -----------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """Everything an expression reads, at one point: cells as extension elements (a base
    column's polynomial evaluated at an extension point is an extension element)."""

    pre: list[Ext]
    pre_next: list[Ext]
    main: list[Ext]
    main_next: list[Ext]
    aux: list[Ext]
    aux_next: list[Ext]
    challenges: list[Ext]
    publics: list[int]
    pubcols: list[Ext] = field(default_factory=list)
    claims: list[Ext] = field(default_factory=list)


@functools.lru_cache(maxsize=16)
def _order(exprs: tuple[Expr, ...]) -> list[Expr]:
    """`nodes` of a verifier's expressions, once per list (an AIR's constraints are evaluated
    at every segment of every proof; the tuple holds them, so their ids stay theirs)."""
    return nodes(exprs)


def evaluate(exprs: list[Expr], at: Point) -> list[Ext]:
    """The values of ``exprs`` at one point, in the extension field."""
    value: dict[int, Ext] = {}
    leaf: dict[str, Callable[[Expr], Ext]] = {
        "const": lambda e: ext.lift(e.value),
        "pre": lambda e: (at.pre_next if e.next_row else at.pre)[e.value],
        "main": lambda e: (at.main_next if e.next_row else at.main)[e.value],
        "aux": lambda e: (at.aux_next if e.next_row else at.aux)[e.value],
        "pubcol": lambda e: at.pubcols[e.value],
        "chal": lambda e: at.challenges[e.value],
        "pub": lambda e: ext.lift(at.publics[e.value]),
        "claim": lambda e: at.claims[e.value],
    }
    for e in _order(tuple(exprs)):
        if e.op in leaf:
            value[id(e)] = leaf[e.op](e)
            continue
        a = [value[id(x)] for x in e.args]
        if e.op == "add":
            value[id(e)] = ext.eadd(a[0], a[1])
        elif e.op == "sub":
            value[id(e)] = ext.esub(a[0], a[1])
        elif e.op == "mul":
            value[id(e)] = ext.emul(a[0], a[1])
        elif e.op == "neg":
            value[id(e)] = ext.eneg(a[0])
        elif e.op == "inv":
            value[id(e)] = ext.einv(a[0])
        else:
            raise ValueError(f"unknown expression op {e.op!r}")
    return [value[id(e)] for e in exprs]
