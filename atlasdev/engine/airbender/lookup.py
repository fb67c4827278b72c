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
from .extension import W_MONTGOMERY as W_M
from .extension import Ext, kscale_lanes
from .field import batch_inverse, fadd, fmul_by, fmul_lanes, fsub

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


@njit(parallel=True, cache=True, nogil=True)
def _helpers(fm, out, first):
    """fm holds per interaction its fingerprint (4 rows) then its multiplicity (1 row); out
    gets h = m1/f1 + m2/f2 per pair, in blocks of rows on both cores (`_helpers_block`)."""
    n = fm.shape[1]
    block = 1024
    for b in prange((n + block - 1) // block):
        _helpers_block(fm, out, first, b * block, min(n, (b + 1) * block))


@njit(cache=True, nogil=True)
def _helpers_block(fm, out, first, lo, hi):
    """The helpers on rows lo..hi. Each fingerprint is inverted through its norm, as `kinv`
    does: f(-x) b(-x^2) / N with b(x^2) = f(x) f(-x) and N = b(y) b(-y) in the base field, all
    element by element in loops that vectorize (Montgomery products), and only the norms go
    through Montgomery's trick (field.batch_inverse: base products): where one chain of
    extension products took 0.44-0.66 s a segment here, this takes 0.18 s. (A function of its
    own: as the parallel loop's body it took numba 27 s to compile, now 7 s and 3 s.)"""
    count = fm.shape[0] // FM_ROWS
    size = hi - lo
    d = np.empty((4, size), dtype=np.uint32)  # f(-x) b(-x^2): the inverse times N
    norm = np.empty(size, dtype=np.uint32)
    inv = np.empty(size, dtype=np.uint32)
    for k in range(count):
        r = FM_ROWS * k
        f0s, f1s, f2s, f3s = fm[r, lo:hi], fm[r + 1, lo:hi], fm[r + 2, lo:hi], fm[r + 3, lo:hi]
        for j in range(size):
            norm[j], d[0, j], d[1, j], d[2, j], d[3, j] = _norm_parts(
                f0s[j], f1s[j], f2s[j], f3s[j]
            )
        batch_inverse(norm, inv)
        col = first + 4 * (k // 2)
        ms = fm[r + 4, lo:hi]
        o0, o1, o2, o3 = (
            out[col, lo:hi],
            out[col + 1, lo:hi],
            out[col + 2, lo:hi],
            out[col + 3, lo:hi],
        )
        if k % 2 == 0:
            for j in range(size):
                s = fmul_lanes(inv[j], ms[j])  # m / N
                o0[j], o1[j], o2[j], o3[j] = kscale_lanes(d[0, j], d[1, j], d[2, j], d[3, j], s)
        else:  # the pair's second: added to its first
            for j in range(size):
                s = fmul_lanes(inv[j], ms[j])
                t0, t1, t2, t3 = kscale_lanes(d[0, j], d[1, j], d[2, j], d[3, j], s)
                o0[j], o1[j] = fadd(o0[j], t0), fadd(o1[j], t1)
                o2[j], o3[j] = fadd(o2[j], t2), fadd(o3[j], t3)


@njit(inline="always", cache=True)
def _norm_parts(f0, f1, f2, f3):
    """f's norm N and f(-x) b(-x^2), whose product by 1/N is 1/f: b(x^2) = f(x) f(-x) =
    b0 + b2 x^2 with b0 = f0^2 + W (f2^2 - 2 f1 f3), b2 = 2 f0 f2 - f1^2 - W f3^2, and
    N = b0^2 - W b2^2 (x^4 = W), in Montgomery products that vectorize."""
    b0 = fadd(
        fmul_lanes(f0, f0), fmul_by(fsub(fmul_lanes(f2, f2), fmul_lanes(fadd(f1, f1), f3)), W_M)
    )
    b2 = fsub(
        fsub(fmul_lanes(fadd(f0, f0), f2), fmul_lanes(f1, f1)), fmul_by(fmul_lanes(f3, f3), W_M)
    )
    norm = fsub(fmul_lanes(b0, b0), fmul_by(fmul_lanes(b2, b2), W_M))
    d0 = fsub(fmul_lanes(f0, b0), fmul_by(fmul_lanes(f2, b2), W_M))
    d1 = fsub(fmul_by(fmul_lanes(f3, b2), W_M), fmul_lanes(f1, b0))
    d2 = fsub(fmul_lanes(f2, b0), fmul_lanes(f0, b2))
    d3 = fsub(fmul_lanes(f1, b2), fmul_lanes(f3, b0))
    return norm, d0, d1, d2, d3


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
