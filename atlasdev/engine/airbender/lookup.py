"""LogUp: multiset equalities and lookups as one running sum of fractions.

Each `Interaction` puts a tuple of trace values into a multiset with a multiplicity per row: +1
for a value looked up (or a memory access read), -count for a table entry that was looked up
`count` times (or the matching write). With challenges z and beta, a tuple t becomes the
fingerprint f = z - (t_0 + beta t_1 + beta^2 t_2 + ...), and the multisets balance exactly when

    sum over rows and interactions of  m / f  =  0

- except with probability about (rows x interactions) / |extension|, below 2^-95 here
(Haboeck, "Multivariate lookups based on logarithmic derivatives", 2022).

The AIR gets auxiliary extension columns: one helper column per pair of interactions, h = m1/f1
+ m2/f2, held to h f1 f2 = m1 f2 + m2 f1 on every row (degree 3), and one running-sum column s
with s_0 = sum of h on row 0, s_(i+1) = s_i + sum of h on row i+1, and s_(n-1) = the prover's
claim. The claims of all the segments of one proof (all of them drawing the same z and beta)
must add up to zero, which the verifier checks: a multiset may balance across segments, as
memory written in one segment and read in a later one does.
`add_logup` writes those constraints; `AuxTrace.build` computes the columns for the prover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba import uint32 as u32

from . import air as A
from .air import Air, Expr, Where
from .evaluation import RowsKernel
from .extension import Ext, kadd, kinv, kmul, kscale
from .field import fadd

Z, BETA = 0, 1  # challenge indices
FM_ROWS = 5  # the rows program's output per interaction: the fingerprint (4), the multiplicity


@dataclass(frozen=True)
class Interaction:
    values: tuple[Expr, ...]  # the tuple, over preprocessed and main cells of the current row
    multiplicity: Expr  # a base-field expression of the current row
    name: str


@dataclass
class LogUp:
    """Where the LogUp columns sit in an AIR, and how to compute them."""

    interactions: list[Interaction]
    first_aux: int  # index of the first helper column
    width: int  # tuple length (shorter tuples are zero padded)

    @property
    def helpers(self) -> int:
        return (len(self.interactions) + 1) // 2

    @property
    def sum_column(self) -> int:
        return self.first_aux + self.helpers

    @property
    def n_aux(self) -> int:
        return self.helpers + 1


def fingerprint(values: tuple[Expr, ...]) -> Expr:
    """z - (v_0 + beta v_1 + beta^2 v_2 + ...). The powers of beta depend on no row, so the
    evaluation programs compute them once (evaluation.Program hoists them): each term is then
    a base value times an extension constant, four base products, where Horner's rule would
    multiply extension elements (sixteen)."""
    if not values:
        return A.challenge(Z)
    acc, power = A.lift(values[0]), A.challenge(BETA)
    for v in values[1:]:
        acc, power = acc + power * v, power * A.challenge(BETA)
    return A.challenge(Z) - acc


def add_logup(air: Air, interactions: list[Interaction]) -> LogUp:
    """Add LogUp's auxiliary columns and constraints to ``air`` (which gets 2 challenges)."""
    if not interactions:
        raise ValueError("LogUp needs at least one interaction")
    for it in interactions:
        if any(A.uses_next_row(v) for v in (*it.values, it.multiplicity)):
            raise ValueError(f"{it.name}: interactions read the current row only")
    air.n_challenges = max(air.n_challenges, 2)
    layout = LogUp(list(interactions), air.n_aux, max(len(it.values) for it in interactions))
    air.n_aux += layout.n_aux
    helpers = []
    for k in range(layout.helpers):
        pair = interactions[2 * k : 2 * k + 2]
        h = A.aux(layout.first_aux + k)
        f = [fingerprint(it.values) for it in pair]
        if len(pair) == 2:
            expr = h * f[0] * f[1] - pair[0].multiplicity * f[1] - pair[1].multiplicity * f[0]
        else:
            expr = h * f[0] - pair[0].multiplicity
        air.add(Where.EVERY_ROW, expr, f"logup helper {k}: {', '.join(it.name for it in pair)}")
        helpers.append(h)
    s = A.aux(layout.sum_column)
    row_sum: Expr = helpers[0]
    for h in helpers[1:]:
        row_sum = row_sum + h
    next_sum: Expr = helpers[0].next
    for h in helpers[1:]:
        next_sum = next_sum + h.next
    air.add(Where.FIRST_ROW, s - row_sum, "logup sum starts")
    air.add(Where.TRANSITION, s.next - s - next_sum, "logup sum accumulates")
    air.add(Where.LAST_ROW, s - A.claim(len(air.claims)), "logup sum is the claim")
    air.claims.append(layout.sum_column)
    return layout


@njit(inline="always", cache=True)
def _fingerprint_at(fm, k, j):
    r = FM_ROWS * k
    return fm[r, j], fm[r + 1, j], fm[r + 2, j], fm[r + 3, j]


@njit(parallel=True, cache=True, nogil=True)
def _helpers(fm, out, first):
    """fm holds per interaction its fingerprint (4 rows) then its multiplicity (1 row); out
    gets h = m1/f1 + m2/f2 per pair, inverting fingerprints in blocks."""
    n = fm.shape[1]
    count = fm.shape[0] // FM_ROWS
    block = 1024
    for b in prange((n + block - 1) // block):
        lo, hi = b * block, min(n, (b + 1) * block)
        inv = np.empty((4, hi - lo), dtype=np.uint32)
        for k in range(count):
            a0, a1, a2, a3 = u32(1), u32(0), u32(0), u32(0)
            for j in range(lo, hi):
                inv[0, j - lo], inv[1, j - lo], inv[2, j - lo], inv[3, j - lo] = a0, a1, a2, a3
                f0, f1, f2, f3 = _fingerprint_at(fm, k, j)
                a0, a1, a2, a3 = kmul(a0, a1, a2, a3, f0, f1, f2, f3)
            a0, a1, a2, a3 = kinv(a0, a1, a2, a3)
            col = first + 4 * (k // 2)
            for j in range(hi - 1, lo - 1, -1):
                i0, i1, i2, i3 = kmul(
                    inv[0, j - lo], inv[1, j - lo], inv[2, j - lo], inv[3, j - lo], a0, a1, a2, a3
                )
                f0, f1, f2, f3 = _fingerprint_at(fm, k, j)
                a0, a1, a2, a3 = kmul(a0, a1, a2, a3, f0, f1, f2, f3)
                t0, t1, t2, t3 = kscale(i0, i1, i2, i3, fm[FM_ROWS * k + 4, j])
                if k % 2 == 0:
                    out[col, j], out[col + 1, j], out[col + 2, j], out[col + 3, j] = t0, t1, t2, t3
                else:
                    out[col, j], out[col + 1, j], out[col + 2, j], out[col + 3, j] = kadd(
                        out[col, j],
                        out[col + 1, j],
                        out[col + 2, j],
                        out[col + 3, j],
                        t0,
                        t1,
                        t2,
                        t3,
                    )


@njit(parallel=True, cache=True, nogil=True)
def _running_sum(out, first, helpers, sum_col):
    """The sum column: on row j, the helpers' values summed over rows 0..j. An extension sum
    is one per coefficient, so each coefficient's row sums are added helper by helper (whole
    rows of the matrix read in order, blocks of rows on both cores), then accumulated down the
    rows: reading the helpers row by row instead strides over 4 x helpers rows of the matrix
    at every step."""
    n = out.shape[1]
    block = 4096
    for t in prange(4 * ((n + block - 1) // block)):
        e, lo = t % 4, (t // 4) * block
        hi = min(n, lo + block)
        row = out[4 * sum_col + e]
        row[lo:hi] = 0
        for k in range(helpers):
            h = out[first + 4 * k + e]
            for j in range(lo, hi):
                row[j] = fadd(row[j], h[j])
    for e in range(4):
        row = out[4 * sum_col + e]
        s = u32(0)
        for j in range(n):
            s = fadd(s, row[j])
            row[j] = s


class AuxTrace:
    """The prover's side: computes the helper and sum columns from the trace."""

    def __init__(self, air: Air, layout: LogUp) -> None:
        self.air = air
        self.layout = layout
        exprs: list[Expr] = []
        for it in layout.interactions:
            exprs += [fingerprint(it.values), it.multiplicity]
        self.kernel = RowsKernel(exprs)
        if self.kernel.rows != FM_ROWS * len(layout.interactions):
            raise ValueError("a multiplicity must be a base-field expression (no challenges)")

    def build(
        self,
        challenges: list[Ext],
        pre: np.ndarray,
        main: np.ndarray,
        publics: list[int] | None = None,
    ) -> np.ndarray:
        n = main.shape[1]
        out = np.zeros((4 * self.air.n_aux, n), dtype=np.uint32)
        empty = np.zeros((0, n), dtype=np.uint32)
        fm = self.kernel(pre, main, empty, challenges, publics or [])
        _helpers(fm, out, 4 * self.layout.first_aux)
        _running_sum(out, 4 * self.layout.first_aux, self.layout.helpers, self.layout.sum_column)
        return out


def total(aux_values: np.ndarray, layout: LogUp) -> Ext:
    """The final running sum: the segment's claim."""
    c = 4 * layout.sum_column
    return tuple(int(aux_values[c + e, -1]) for e in range(4))  # type: ignore[return-value]
