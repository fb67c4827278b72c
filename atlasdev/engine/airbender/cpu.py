"""The CPU backend (numba, every core): the reference implementation of backend.py's steps.

Matrices live in host memory as their coefficients, their blown-up values (bit-reversed) and
their Merkle tree. Every kernel is compiled `nogil=True`, so a proof in a background thread
never holds the interpreter lock for long (the sequencer keeps running; prover_worker.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange
from numba import uint32 as u32
from numba import uint64 as u64

from . import extension as ext
from . import field as F
from . import fri, merkle, ntt
from .backend import Backend, Matrix, QuotientInputs, UnsatisfiedConstraints, deep_sizes
from .extension import Ext, kadd, kinv, kmul, ksub
from .field import P_U64, fadd, fmul_by, montgomery
from .fri import CommitState, FriParams, LayerOpening
from .proof import RowOpening
from .transcript import Transcript

if TYPE_CHECKING:
    from .air import Air
    from .lookup import LogUp


@dataclass
class CpuMatrix(Matrix):
    """Columns: their coefficients, blown-up values (bit-reversed) and the tree over the rows."""

    coeffs: np.ndarray
    lde: np.ndarray
    tree: merkle.MerkleTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def width(self) -> int:
        return int(self.lde.shape[0])

    @classmethod
    def from_values(cls, values: np.ndarray, log_blowup: int) -> CpuMatrix:
        return cls.from_coeffs(ntt.interpolate(values), log_blowup)

    @classmethod
    def from_coeffs(cls, coeffs: np.ndarray, log_blowup: int) -> CpuMatrix:
        lde = ntt.evaluate_coset(coeffs, log_blowup)
        return cls(coeffs, lde, merkle.commit(lde))


class CpuBackend(Backend):
    name = "cpu"

    def warm_up(self, air: Air | None = None, logup: LogUp | None = None) -> None:
        """numba's kernels compile on first call into its on-disk cache; nothing to do here."""

    def synchronize(self) -> None:
        """Every step is done when it returns."""

    def release(self) -> None:
        """Nothing is cached: NumPy gives each array back when the prover drops it."""

    def adopt(self, matrix: Matrix) -> Matrix:
        return matrix

    def commit_values(self, values: np.ndarray, log_blowup: int) -> CpuMatrix:
        return CpuMatrix.from_values(values, log_blowup)

    def quotient(
        self,
        pre: Matrix,
        main: Matrix,
        aux: Matrix,
        q: QuotientInputs,
    ) -> np.ndarray:
        assert isinstance(pre, CpuMatrix) and isinstance(main, CpuMatrix)
        assert isinstance(aux, CpuMatrix)
        next_rows, inverses = quotient_domain(q.log_n, q.log_blowup, q.log_points)
        return q.kernel(
            pre.lde,
            main.lde,
            aux.lde,
            ntt.low_degree_extend(q.public_columns, q.log_blowup),
            next_rows,
            q.challenges,
            q.publics,
            q.claims,
            q.alpha_powers,
            inverses,
            1 << q.log_points,
        )

    def commit_quotient(
        self, q_values: np.ndarray, log_n: int, log_blowup: int, chunks: int
    ) -> CpuMatrix:
        return CpuMatrix.from_coeffs(quotient_chunks(q_values, log_n, chunks), log_blowup)

    def evaluate_at(self, matrix: Matrix, x: Ext) -> list[Ext]:
        assert isinstance(matrix, CpuMatrix)
        return evaluate_at(matrix.coeffs, x)

    def deep(
        self,
        matrices: list[Matrix],
        n_trace: int,
        log_domain: int,
        zeta: Ext,
        zeta_next: Ext,
        weights: np.ndarray,
        f_z: Ext,
        f_tzn: Ext,
    ) -> np.ndarray:
        coeffs = [m.coeffs for m in matrices if isinstance(m, CpuMatrix)]
        assert len(coeffs) == len(matrices)
        points = ntt.coset_points(log_domain)
        return deep(coeffs, n_trace, points, zeta, zeta_next, weights, f_z, f_tzn)

    def fri_commit(
        self, deep: np.ndarray, log_degree: int, params: FriParams, transcript: Transcript
    ) -> CommitState:
        return fri.commit_phase(deep, log_degree, params, transcript)

    def fri_open(self, state: CommitState, positions: list[int]) -> list[list[LayerOpening]]:
        return fri.open_queries(state, positions)

    def open(self, matrix: Matrix, positions: list[int]) -> list[RowOpening]:
        assert isinstance(matrix, CpuMatrix)
        return [
            RowOpening([int(v) for v in matrix.lde[:, pos]], matrix.tree.path(pos))
            for pos in positions
        ]


CPU = CpuBackend()


# ---- the steps -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def quotient_domain(log_n: int, log_blowup: int, log_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The next-row position and the divisor inverses of the quotient's points (the first
    2^log_points of the blown-up coset, which are the coset g <w_e>): the same for every
    segment of a size (0.1 - 0.2 s to make for a 2^18-row segment), so made once for the last
    two sizes. Shared: read, never written."""
    rev = ntt.bitrev_indices(log_n + log_blowup)
    nxt = ntt.next_rows(rev, log_blowup, 1 << log_points)
    return nxt, divisor_inverses(ntt.coset_points(log_points), log_n)


def divisor_inverses(points: np.ndarray, log_n: int) -> np.ndarray:
    """Per point: (x - w^(n-1)) / Z_H(x), 1 / Z_H(x), 1 / (x - 1), 1 / (x - w^(n-1)), where
    Z_H(x) = x^n - 1 vanishes on the trace rows (the four groups of `air.Where`)."""
    x_n = points
    for _ in range(log_n):
        x_n = F.vmul(x_n, x_n)
    z_h = F.vsub(x_n, np.ones_like(x_n))
    last = np.uint32(F.inv(F.root_of_unity(log_n)))  # w^(n-1)
    x_last = F.vsub(points, np.full_like(points, last))
    x_first = F.vsub(points, np.ones_like(points))
    out = np.empty((4, points.shape[0]), dtype=np.uint32)
    inv_zh, inv_first, inv_last = (np.empty_like(points) for _ in range(3))
    for src, dst in ((z_h, inv_zh), (x_first, inv_first), (x_last, inv_last)):
        F.batch_inverse(src, dst)
    out[0] = F.vmul(x_last, inv_zh)
    out[1] = inv_zh
    out[2] = inv_first
    out[3] = inv_last
    return out


def quotient_chunks(q_values: np.ndarray, log_n: int, chunks: int) -> np.ndarray:
    """Coefficients of Q = sum_c x^(c n) Q_c, one base column per (chunk, component), from Q's
    values on the coset g <w_e> in bit-reversed order (e: their count)."""
    log_e = q_values.shape[1].bit_length() - 1
    natural = q_values[:, ntt.bitrev_indices(log_e)]
    coeffs = ntt.interpolate(natural)  # of Q(g y): coefficient i carries g^i
    unshift = F.powers(F.inv(F.GENERATOR), 1 << log_e)
    coeffs = np.stack([F.vmul(c, unshift) for c in coeffs])
    n = 1 << log_n
    if np.any(coeffs[:, chunks * n :]):
        raise UnsatisfiedConstraints("the trace does not satisfy the constraints")
    return np.ascontiguousarray(
        coeffs[:, : chunks * n].reshape(4, chunks, n).transpose(1, 0, 2).reshape(4 * chunks, n)
    )


@njit(parallel=True, cache=True, nogil=True)
def _evaluate_at_kernel(coeffs, pows_m, out):
    """sum_k c_k x^k per column, x^k's Montgomery forms given as 4 base rows: each product
    fmul_by(c_k, .) is canonical, below p < 2^31, so a u64 sums 2^33 of them with one
    remainder at the end, and the loop vectorizes (a remainder every few terms kept it scalar)."""
    n = coeffs.shape[1]
    p0, p1, p2, p3 = pows_m[0], pows_m[1], pows_m[2], pows_m[3]
    for c in prange(coeffs.shape[0]):
        row = coeffs[c]
        s0 = s1 = s2 = s3 = np.uint64(0)
        for k in range(n):
            v = row[k]
            s0 += np.uint64(fmul_by(v, p0[k]))
            s1 += np.uint64(fmul_by(v, p1[k]))
            s2 += np.uint64(fmul_by(v, p2[k]))
            s3 += np.uint64(fmul_by(v, p3[k]))
        out[c, 0], out[c, 1] = u32(s0 % P_U64), u32(s1 % P_U64)
        out[c, 2], out[c, 3] = u32(s2 % P_U64), u32(s3 % P_U64)


def evaluate_at(coeffs: np.ndarray, x: Ext) -> list[Ext]:
    """Every column's polynomial (base coefficients) at the extension point x."""
    pows_m = np.ascontiguousarray(ext.powers(x, coeffs.shape[1], first=F.R1).T)
    out = np.empty((coeffs.shape[0], 4), dtype=np.uint32)
    _evaluate_at_kernel(coeffs, pows_m, out)
    return [tuple(int(v) for v in row) for row in out]  # type: ignore[misc]


@njit(parallel=True, cache=True, nogil=True)
def _accumulate(mat, gpows_m, acc):
    """acc[:, j] += sum_c gpows[c] * mat[c, j], in blocks of columns' entries for locality;
    the powers come in Montgomery form (field.fmul_by), so the inner loop vectorizes."""
    m = mat.shape[1]
    block = 1024
    for b in prange((m + block - 1) // block):
        lo, hi = u64(b * block), u64(min(m, (b + 1) * block))
        for c in range(mat.shape[0]):
            for e in range(4):
                g = gpows_m[c, e]
                for j in range(lo, hi):
                    acc[e, j] = fadd(acc[e, j], fmul_by(mat[c, j], g))


@njit(parallel=True, cache=True, nogil=True)
def _deep_kernel(f_all, f_trace, points, z, zn, fz, ftzn, gn, out):
    """out = (F(x) - F(z)) / (x - z) + gn (F_t(x) - F_t(zn)) / (x - zn), with the two
    denominators inverted in blocks (Montgomery's trick per block)."""
    m = points.shape[0]
    block = 1024
    for b in prange((m + block - 1) // block):
        lo, hi = b * block, min(m, (b + 1) * block)
        inv = np.empty((2, 4, hi - lo), dtype=np.uint32)
        for s in range(2):
            p0, p1, p2, p3 = (z[0], z[1], z[2], z[3]) if s == 0 else (zn[0], zn[1], zn[2], zn[3])
            a0, a1, a2, a3 = u32(1), u32(0), u32(0), u32(0)
            for j in range(lo, hi):
                inv[s, 0, j - lo], inv[s, 1, j - lo] = a0, a1
                inv[s, 2, j - lo], inv[s, 3, j - lo] = a2, a3
                d0, d1, d2, d3 = ksub(points[j], u32(0), u32(0), u32(0), p0, p1, p2, p3)
                a0, a1, a2, a3 = kmul(a0, a1, a2, a3, d0, d1, d2, d3)
            a0, a1, a2, a3 = kinv(a0, a1, a2, a3)
            for j in range(hi - 1, lo - 1, -1):
                i0, i1, i2, i3 = kmul(
                    inv[s, 0, j - lo],
                    inv[s, 1, j - lo],
                    inv[s, 2, j - lo],
                    inv[s, 3, j - lo],
                    a0,
                    a1,
                    a2,
                    a3,
                )
                inv[s, 0, j - lo], inv[s, 1, j - lo] = i0, i1
                inv[s, 2, j - lo], inv[s, 3, j - lo] = i2, i3
                d0, d1, d2, d3 = ksub(points[j], u32(0), u32(0), u32(0), p0, p1, p2, p3)
                a0, a1, a2, a3 = kmul(a0, a1, a2, a3, d0, d1, d2, d3)
        for j in range(lo, hi):
            k = j - lo
            n0, n1, n2, n3 = ksub(
                f_all[0, j], f_all[1, j], f_all[2, j], f_all[3, j], fz[0], fz[1], fz[2], fz[3]
            )
            r0, r1, r2, r3 = kmul(
                n0, n1, n2, n3, inv[0, 0, k], inv[0, 1, k], inv[0, 2, k], inv[0, 3, k]
            )
            n0, n1, n2, n3 = ksub(
                f_trace[0, j],
                f_trace[1, j],
                f_trace[2, j],
                f_trace[3, j],
                ftzn[0],
                ftzn[1],
                ftzn[2],
                ftzn[3],
            )
            n0, n1, n2, n3 = kmul(
                n0, n1, n2, n3, inv[1, 0, k], inv[1, 1, k], inv[1, 2, k], inv[1, 3, k]
            )
            n0, n1, n2, n3 = kmul(n0, n1, n2, n3, gn[0], gn[1], gn[2], gn[3])
            out[0, j], out[1, j], out[2, j], out[3, j] = kadd(r0, r1, r2, r3, n0, n1, n2, n3)


def deep(
    coeffs: list[np.ndarray],
    n_trace: int,
    points: np.ndarray,
    zeta: Ext,
    zeta_next: Ext,
    gpows: np.ndarray,
    f_z: Ext,
    f_tzn: Ext,
) -> np.ndarray:
    """The DEEP composition on the blown-up domain: every column's opening at zeta (and the
    trace's at zeta * w) folded into one function of degree < n, with powers of gamma. The
    columns are combined by their coefficients, then the combination (four base polynomials,
    one per coefficient of the extension) is evaluated on the coset: the same values as
    combining the blown-up columns (evaluation is linear), from 2^-log_blowup of the reads
    and products."""
    m = points.shape[0]
    n, log_blowup = deep_sizes(coeffs, m.bit_length() - 1)
    gpows_m = montgomery(gpows)

    def accumulate(acc: np.ndarray, mats: list[np.ndarray], offset: int) -> int:
        for mat in mats:
            if mat.shape[0]:
                _accumulate(mat, gpows_m[offset : offset + mat.shape[0]], acc)
            offset += mat.shape[0]
        return offset

    f_trace = np.zeros((4, n), dtype=np.uint32)
    offset = accumulate(f_trace, coeffs[:n_trace], 0)
    f_all = f_trace.copy()
    accumulate(f_all, coeffs[n_trace:], offset)
    f_trace = ntt.evaluate_coset(f_trace, log_blowup)
    f_all = ntt.evaluate_coset(f_all, log_blowup)
    out = np.empty((4, m), dtype=np.uint32)
    arr = lambda e: np.array(e, dtype=np.uint32)  # noqa: E731
    _deep_kernel(
        f_all,
        f_trace,
        points,
        arr(zeta),
        arr(zeta_next),
        arr(f_z),
        arr(f_tzn),
        gpows[-1].copy(),
        out,
    )
    return out
