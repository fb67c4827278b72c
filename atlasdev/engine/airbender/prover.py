"""The STARK prover: trace in, proof bytes out (CPU backend, numba on every core).

The steps, each absorbed into the transcript before the challenge that follows it:
commit the main trace's low-degree extension (every segment's, for a proof in segments); draw
the LogUp challenges; then per segment, on a fork of the transcript: commit the auxiliary
columns and declare their claims (the LogUp sums, which must add up to zero); draw alpha and evaluate the random combination of all constraints, divided by their
vanishing polynomials, on the blown-up domain (the quotient, split into chunks of degree < n);
commit it; draw the out-of-domain point zeta and send every column's value at zeta (and at
zeta * w for the trace); draw gamma and build the DEEP composition, whose low degree FRI proves;
finally open every committed matrix at FRI's query positions.

A trace that violates a constraint cannot be proven: its quotient is not a polynomial of the
bound degree, and the prover stops with `UnsatisfiedConstraints` rather than emit a proof that
would fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba import uint32 as u32

from . import extension as ext
from . import field, fri, merkle, ntt
from .air import Air
from .evaluation import QuotientKernel
from .extension import Ext, kadd, kinv, kmul, kscale, ksub
from .field import P_U64
from .proof import QueryOpening, RowOpening, StarkProof
from .stark import DEFAULT_PARAMS, StarkParams, VerifyingKey, start_transcript
from .transcript import Transcript

AuxBuilder = Callable[[list[Ext], np.ndarray, np.ndarray, list[int]], np.ndarray]


class UnsatisfiedConstraints(ValueError):
    """The trace does not satisfy the AIR: there is nothing true to prove."""


@dataclass
class Committed:
    """A matrix of columns: coefficients, blown-up values (bit-reversed) and their tree."""

    coeffs: np.ndarray
    lde: np.ndarray
    tree: merkle.MerkleTree

    @classmethod
    def from_values(cls, values: np.ndarray, log_blowup: int) -> Committed:
        coeffs = ntt.interpolate(values)
        return cls.from_coeffs(coeffs, log_blowup)

    @classmethod
    def from_coeffs(cls, coeffs: np.ndarray, log_blowup: int) -> Committed:
        lde = ntt.evaluate_coset(coeffs, log_blowup)
        return cls(coeffs, lde, merkle.commit(lde))

    def open(self, position: int) -> RowOpening:
        return RowOpening([int(v) for v in self.lde[:, position]], self.tree.path(position))


@dataclass
class ProvingKey:
    air: Air
    vk: VerifyingKey
    pre: Committed
    pre_values: np.ndarray
    quotient: QuotientKernel


def setup(
    air: Air,
    log_n: int,
    pre_values: np.ndarray | None = None,
    params: StarkParams = DEFAULT_PARAMS,
) -> ProvingKey:
    """Commit to the preprocessed columns (n_pre, 2^log_n) once; the root goes in the key."""
    n = 1 << log_n
    if not 1 <= log_n <= field.TWO_ADICITY - params.log_blowup:
        raise ValueError(f"a trace of 2^{log_n} rows cannot be proven")
    if pre_values is None:
        pre_values = np.zeros((air.n_pre, n), dtype=np.uint32)
    pre_values = np.ascontiguousarray(pre_values, dtype=np.uint32)
    if pre_values.shape != (air.n_pre, n):
        raise ValueError(f"preprocessed columns are {pre_values.shape}, expected {(air.n_pre, n)}")
    if any(
        not (0 <= c < air.n_pubcols and 0 <= r < n and 0 <= p < air.n_public)
        for c, r, p in air.public_cells
    ):
        raise ValueError(f"{air.name}: a public cell lies outside the trace or the publics")
    if air.quotient_chunks > 1 << params.log_blowup:
        raise ValueError(f"{air.name}: constraints of degree {air.max_degree} need a larger blowup")
    pre = Committed.from_values(pre_values, params.log_blowup)
    vk = VerifyingKey(log_n, pre.tree.root, params)
    return ProvingKey(air, vk, pre, pre_values, QuotientKernel(air.constraints))


def prove(
    pk: ProvingKey,
    main_values: np.ndarray,
    publics: list[int],
    build_aux: AuxBuilder | None = None,
    timings: dict[str, float] | None = None,
) -> StarkProof:
    """Prove that ``main_values`` (n_main, n) satisfies the AIR with these public values.
    ``timings``, if given, receives the seconds each stage took (for benchmarks)."""
    return prove_segments(pk, 1, lambda _: main_values, [publics], build_aux, timings)[0]


def prove_segments(
    pk: ProvingKey,
    count: int,
    main_of: Callable[[int], np.ndarray],
    publics: list[list[int]],
    build_aux: AuxBuilder | None = None,
    timings: dict[str, float] | None = None,
) -> list[StarkProof]:
    """Prove ``count`` segments whose main traces ``main_of(i)`` returns, as one statement.

    All main traces are committed before the lookup challenges are drawn, and the segments'
    LogUp claims must add up to zero. A segment's trace is asked for twice when there are
    several (once to commit, once to prove), so that only one segment's blown-up matrices are
    in memory at a time."""
    clock = _Stopwatch(timings)
    air, vk = pk.air, pk.vk
    if count < 1 or len(publics) != count:
        raise ValueError(f"{count} segments need {count} lists of public values")
    for p in publics:
        if len(p) != air.n_public:
            raise ValueError(f"{len(p)} public values, the AIR wants {air.n_public}")
    t = start_transcript(air, vk, publics)
    kept: tuple[np.ndarray, Committed] | None = None
    for i in range(count):
        values = _checked_main(pk, main_of(i))
        clock.lap("witness")
        main = Committed.from_values(values, vk.params.log_blowup)
        clock.lap("main commit")
        t.absorb(b"main", main.tree.root)
        if count == 1:
            kept = (values, main)
        del values, main
    nonce = t.grind(vk.params.lookup_pow_bits) if air.n_challenges else 0
    t.absorb_words(b"lookup-pow", [nonce & 0xFFFFFFFF, nonce >> 32])
    challenges = [t.challenge_ext() for _ in range(air.n_challenges)]

    proofs = []
    for i in range(count):
        if kept is None:
            values = _checked_main(pk, main_of(i))
            clock.lap("witness")
            main = Committed.from_values(values, vk.params.log_blowup)
            clock.lap("main commit")
        else:
            values, main = kept
            kept = None
        fork = t.fork(b"segment", i)
        proofs.append(
            _prove_segment(pk, values, main, publics[i], challenges, nonce, fork, build_aux, clock)
        )
        del values, main
    for k in range(len(air.claims)):
        total = ext.ZERO
        for proof in proofs:
            total = ext.eadd(total, proof.claims[k])
        if total != ext.ZERO:
            raise UnsatisfiedConstraints("the lookups do not balance")
    return proofs


def _checked_main(pk: ProvingKey, main_values: np.ndarray) -> np.ndarray:
    main_values = np.ascontiguousarray(main_values, dtype=np.uint32)
    want = (pk.air.n_main, 1 << pk.vk.log_n)
    if main_values.shape != want:
        raise ValueError(f"main trace is {main_values.shape}, the AIR wants {want}")
    return main_values


def _prove_segment(
    pk: ProvingKey,
    main_values: np.ndarray,
    main: Committed,
    publics: list[int],
    challenges: list[Ext],
    lookup_nonce: int,
    t: Transcript,
    build_aux: AuxBuilder | None,
    clock: _Stopwatch,
) -> StarkProof:
    """Everything after the shared challenges, for one committed main trace."""
    air, vk, params = pk.air, pk.vk, pk.vk.params
    lb, log_n = params.log_blowup, vk.log_n
    n = 1 << log_n
    if air.n_aux:
        if build_aux is None:
            raise ValueError(f"{air.name} has auxiliary columns: pass build_aux")
        aux_values = build_aux(challenges, pk.pre_values, main_values, publics)
    else:
        aux_values = np.zeros((0, n), dtype=np.uint32)
    claims = [tuple(int(v) for v in aux_values[4 * c : 4 * c + 4, -1]) for c in air.claims]
    clock.lap("aux build")
    aux = Committed.from_values(aux_values, lb)
    del aux_values
    clock.lap("aux commit")
    t.absorb(b"aux", aux.tree.root)
    t.absorb_words(b"claims", [c for e in claims for c in e])

    alpha = t.challenge_ext()
    alpha_pows = _ext_powers(alpha, len(air.constraints))
    points = ntt.coset_points(log_n + lb)
    pub_lde = ntt.low_degree_extend(public_columns(air, publics, log_n), lb)
    q_values = pk.quotient(
        pk.pre.lde,
        main.lde,
        aux.lde,
        pub_lde,
        _next_positions(log_n, lb),
        challenges,
        publics,
        claims,
        alpha_pows,
        _divisor_inverses(points, log_n),
    )
    clock.lap("quotient evaluation")
    quotient = Committed.from_coeffs(_quotient_chunks(q_values, log_n, lb, air.quotient_chunks), lb)
    clock.lap("quotient commit")
    t.absorb(b"quotient", quotient.tree.root)

    zeta = t.challenge_ext()
    zeta_next = ext.escale(zeta, field.root_of_unity(log_n))
    matrices = [pk.pre, main, aux, quotient]
    trace = matrices[:3]
    ood_current = [v for mat in matrices for v in _evaluate_at(mat.coeffs, zeta)]
    ood_next = [v for mat in trace for v in _evaluate_at(mat.coeffs, zeta_next)]
    t.absorb_words(b"ood", [c for e in ood_current + ood_next for c in e])
    clock.lap("out-of-domain values")

    gamma = t.challenge_ext()
    deep = _deep(matrices, len(trace), points, zeta, zeta_next, gamma, ood_current, ood_next)
    clock.lap("DEEP composition")
    state = fri.commit_phase(deep, log_n, params.fri, t)
    nonce, positions = fri.query_phase(state, params.fri, t)
    fri_proof = fri.FriProof(
        [layer.tree.root for layer in state.layers],
        state.final_coeffs,
        nonce,
        fri.open_queries(state, positions),
    )
    queries = [QueryOpening(*(mat.open(pos) for mat in matrices)) for pos in positions]
    clock.lap("FRI and openings")
    return StarkProof(
        log_n,
        main.tree.root,
        aux.tree.root,
        quotient.tree.root,
        lookup_nonce,
        claims,  # type: ignore[arg-type]
        ood_current,
        ood_next,
        fri_proof,
        queries,
    )


# ---- steps ------------------------------------------------------------------------------------


class _Stopwatch:
    def __init__(self, into: dict[str, float] | None) -> None:
        self.into = into
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.into is not None:
            self.into[name] = self.into.get(name, 0.0) + now - self.last
        self.last = now


def public_columns(air: Air, publics: list[int], log_n: int) -> np.ndarray:
    """The public columns' values on the trace rows (zero but where a public value sits)."""
    cols = np.zeros((air.n_pubcols, 1 << log_n), dtype=np.uint32)
    for c, row, p in air.public_cells:
        cols[c, row] = publics[p]
    return cols


def _ext_powers(x: Ext, count: int) -> np.ndarray:
    out = np.zeros((max(count, 1), 4), dtype=np.uint32)
    acc = ext.ONE
    for i in range(count):
        out[i] = acc
        acc = ext.emul(acc, x)
    return out


def _next_positions(log_n: int, log_blowup: int) -> np.ndarray:
    """For each bit-reversed position of the blown-up coset, the position of x * w_n."""
    log_m = log_n + log_blowup
    rev = ntt.bitrev_indices(log_m)  # position -> natural index (an involution)
    return rev[(rev + (1 << log_blowup)) & ((1 << log_m) - 1)]


def _divisor_inverses(points: np.ndarray, log_n: int) -> np.ndarray:
    """Per point: (x - w^(n-1)) / Z_H(x), 1 / Z_H(x), 1 / (x - 1), 1 / (x - w^(n-1)), where
    Z_H(x) = x^n - 1 vanishes on the trace rows (the four groups of `air.Where`)."""
    x_n = points
    for _ in range(log_n):
        x_n = field.vmul(x_n, x_n)
    z_h = field.vsub(x_n, np.ones_like(x_n))
    last = np.uint32(field.inv(field.root_of_unity(log_n)))  # w^(n-1)
    x_last = field.vsub(points, np.full_like(points, last))
    x_first = field.vsub(points, np.ones_like(points))
    out = np.empty((4, points.shape[0]), dtype=np.uint32)
    inv_zh, inv_first, inv_last = (np.empty_like(points) for _ in range(3))
    for src, dst in ((z_h, inv_zh), (x_first, inv_first), (x_last, inv_last)):
        field.batch_inverse(src, dst)
    out[0] = field.vmul(x_last, inv_zh)
    out[1] = inv_zh
    out[2] = inv_first
    out[3] = inv_last
    return out


def _quotient_chunks(q_values: np.ndarray, log_n: int, log_blowup: int, chunks: int) -> np.ndarray:
    """Coefficients of Q = sum_c x^(c n) Q_c, one base column per (chunk, component)."""
    log_m = log_n + log_blowup
    natural = q_values[:, ntt.bitrev_indices(log_m)]
    coeffs = ntt.interpolate(natural)  # of Q(g y): coefficient i carries g^i
    unshift = field.powers(field.inv(field.GENERATOR), 1 << log_m)
    coeffs = np.stack([field.vmul(c, unshift) for c in coeffs])
    n = 1 << log_n
    if np.any(coeffs[:, chunks * n :]):
        raise UnsatisfiedConstraints("the trace does not satisfy the constraints")
    return np.ascontiguousarray(
        coeffs[:, : chunks * n].reshape(4, chunks, n).transpose(1, 0, 2).reshape(4 * chunks, n)
    )


@njit(parallel=True, cache=True, nogil=True)
def _evaluate_at_kernel(coeffs, pows, out):
    """sum_k c_k x^k per column, x^k given as 4 base rows. Products are below p^2 < 2^62, so
    three of them and a reduced sum fit a u64: reduce once per three terms, not per term."""
    n = coeffs.shape[1]
    for c in prange(coeffs.shape[0]):
        a0 = a1 = a2 = a3 = np.uint64(0)
        k = 0
        while k + 3 <= n:
            v0, v1, v2 = (
                np.uint64(coeffs[c, k]),
                np.uint64(coeffs[c, k + 1]),
                np.uint64(coeffs[c, k + 2]),
            )
            a0 = (a0 + v0 * pows[0, k] + v1 * pows[0, k + 1] + v2 * pows[0, k + 2]) % P_U64
            a1 = (a1 + v0 * pows[1, k] + v1 * pows[1, k + 1] + v2 * pows[1, k + 2]) % P_U64
            a2 = (a2 + v0 * pows[2, k] + v1 * pows[2, k + 1] + v2 * pows[2, k + 2]) % P_U64
            a3 = (a3 + v0 * pows[3, k] + v1 * pows[3, k + 1] + v2 * pows[3, k + 2]) % P_U64
            k += 3
        while k < n:
            v = np.uint64(coeffs[c, k])
            a0 = (a0 + v * pows[0, k]) % P_U64
            a1 = (a1 + v * pows[1, k]) % P_U64
            a2 = (a2 + v * pows[2, k]) % P_U64
            a3 = (a3 + v * pows[3, k]) % P_U64
            k += 1
        out[c, 0], out[c, 1], out[c, 2], out[c, 3] = u32(a0), u32(a1), u32(a2), u32(a3)


def _evaluate_at(coeffs: np.ndarray, x: Ext) -> list[Ext]:
    """Every column's polynomial (base coefficients) at the extension point x."""
    n = coeffs.shape[1]
    pows = _ext_powers(x, n).T.astype(np.uint64).copy()
    out = np.empty((coeffs.shape[0], 4), dtype=np.uint32)
    _evaluate_at_kernel(coeffs, pows, out)
    return [tuple(int(v) for v in row) for row in out]  # type: ignore[misc]


@njit(parallel=True, cache=True, nogil=True)
def _accumulate(mat, gpows, acc):
    """acc[:, j] += sum_c gpows[c] * mat[c, j], in blocks of points for locality."""
    m = mat.shape[1]
    block = 1024
    for b in prange((m + block - 1) // block):
        lo, hi = b * block, min(m, (b + 1) * block)
        for c in range(mat.shape[0]):
            g0, g1, g2, g3 = gpows[c, 0], gpows[c, 1], gpows[c, 2], gpows[c, 3]
            for j in range(lo, hi):
                t0, t1, t2, t3 = kscale(g0, g1, g2, g3, mat[c, j])
                acc[0, j], acc[1, j], acc[2, j], acc[3, j] = kadd(
                    acc[0, j], acc[1, j], acc[2, j], acc[3, j], t0, t1, t2, t3
                )


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


def _deep(
    matrices: list[Committed],
    n_trace: int,
    points: np.ndarray,
    zeta: Ext,
    zeta_next: Ext,
    gamma: Ext,
    ood_current: list[Ext],
    ood_next: list[Ext],
) -> np.ndarray:
    """The DEEP composition on the blown-up domain: every column's opening at zeta (and the
    trace's at zeta * w) folded into one function of degree < n, with powers of gamma."""
    widths = [mat.lde.shape[0] for mat in matrices]
    total = sum(widths)
    gpows = _ext_powers(gamma, total + 1)
    m = points.shape[0]
    f_trace = np.zeros((4, m), dtype=np.uint32)
    offset = 0
    for mat, width in zip(matrices[:n_trace], widths, strict=False):
        if width:
            _accumulate(mat.lde, gpows[offset : offset + width], f_trace)
        offset += width
    f_all = f_trace.copy()
    for mat, width in zip(matrices[n_trace:], widths[n_trace:], strict=True):
        _accumulate(mat.lde, gpows[offset : offset + width], f_all)
        offset += width
    f_z = _combine(ood_current, gpows)
    f_tzn = _combine(ood_next, gpows)
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
        gpows[total].copy(),
        out,
    )
    return out


def _combine(values: list[Ext], gpows: np.ndarray) -> Ext:
    acc = ext.ZERO
    for i, v in enumerate(values):
        acc = ext.eadd(acc, ext.emul(v, tuple(int(c) for c in gpows[i])))  # type: ignore[arg-type]
    return acc
