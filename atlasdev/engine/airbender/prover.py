"""The STARK prover: trace in, proof bytes out, the heavy steps done by a backend (backend.py;
the CPU one, cpu.py, by default).

The steps, each absorbed into the transcript before the challenge that follows it:
commit the main trace's low-degree extension (every segment's, for a proof in segments); draw
the LogUp challenges; then per segment, on a fork of the transcript: commit the auxiliary
columns and declare their claims (the LogUp sums, which must add up to zero); draw alpha and
evaluate the random combination of all constraints, divided by their vanishing polynomials, on
as much of the blown-up domain as the quotient's degree needs (backend.quotient_points: half of
it for degree-3 constraints), and interpolate it (the quotient, split into chunks of degree < n);
commit it; draw the out-of-domain point zeta and send every column's value at zeta (and at
zeta * w for the trace); draw gamma and build the DEEP composition, whose low degree FRI proves;
finally open every committed matrix at FRI's query positions.

A trace that violates a constraint cannot be proven: the interpolated quotient disagrees with
the constraints at zeta (or, evaluated on more points than its degree needs, is not a
polynomial of the bound degree), and the prover stops with `UnsatisfiedConstraints` there, as
the verifier's check would, rather than emit a proof that would fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import extension as ext
from . import field, fri, verifier
from .air import Air
from .backend import Backend, Matrix, QuotientInputs, UnsatisfiedConstraints, quotient_points
from .cpu import CPU
from .evaluation import QuotientKernel
from .extension import Ext
from .lookup import AuxTrace
from .proof import QueryOpening, StarkProof
from .stark import DEFAULT_PARAMS, StarkParams, VerifyingKey, start_transcript
from .transcript import Transcript


@dataclass
class ProvingKey:
    air: Air
    vk: VerifyingKey
    pre: Matrix  # committed by the reference (CPU) backend
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
    pre = CPU.commit_values(pre_values, params.log_blowup)
    vk = VerifyingKey(log_n, pre.root, params)
    return ProvingKey(air, vk, pre, pre_values, QuotientKernel(air.constraints))


def prove(
    pk: ProvingKey,
    main_values: np.ndarray,
    publics: list[int],
    logup: AuxTrace | None = None,
    timings: dict[str, float] | None = None,
    backend: Backend = CPU,
) -> StarkProof:
    """Prove that ``main_values`` (n_main, n) satisfies the AIR with these public values
    (``logup`` builds its auxiliary columns, if it has any). ``timings``, if given, receives
    the seconds each stage took (for benchmarks)."""
    return prove_segments(pk, 1, lambda _: main_values, [publics], logup, timings, backend)[0]


def prove_segments(
    pk: ProvingKey,
    count: int,
    main_of: Callable[[int], Any],
    publics: list[list[int]],
    logup: AuxTrace | None = None,
    timings: dict[str, float] | None = None,
    backend: Backend = CPU,
    keep_bytes: int = 0,
) -> list[StarkProof]:
    """Prove ``count`` segments whose main traces ``main_of(i)`` returns, as one statement.

    All main traces are committed before the lookup challenges are drawn, and the segments'
    LogUp claims must add up to zero. A segment's trace is asked for twice when there are
    several (once to commit, once to prove), so that only one segment's blown-up matrices need
    be in memory at a time; but the last one committed is still alive when the challenges are
    drawn, and others are kept (trace and committed matrices) while they fit in ``keep_bytes``
    more: those are proven first, without committing them again. (Each segment's proof forks
    the transcript by its index, so the order the segments are proven in changes no byte.)"""
    clock = _Stopwatch(timings, backend)
    air, vk = pk.air, pk.vk
    if count < 1 or len(publics) != count:
        raise ValueError(f"{count} segments need {count} lists of public values")
    for p in publics:
        if len(p) != air.n_public:
            raise ValueError(f"{len(p)} public values, the AIR wants {air.n_public}")
    t = start_transcript(air, vk, publics)
    kept: dict[int, tuple[Any, Matrix]] = {}
    spare = keep_bytes
    for i in range(count):
        values = _checked_main(pk, main_of(i))
        clock.lap("witness")
        main = backend.commit_values(values, vk.params.log_blowup)
        clock.lap("main commit")
        t.absorb(b"main", main.root)
        size = int(values.nbytes) + main.nbytes
        if i == count - 1:
            kept[i] = (values, main)  # alive anyway when the challenges are drawn
        elif size <= spare:
            kept[i], spare = (values, main), spare - size
        del values, main  # one not kept is freed before the next is built
    nonce = t.grind(vk.params.lookup_pow_bits) if air.n_challenges else 0
    t.absorb_words(b"lookup-pow", [nonce & 0xFFFFFFFF, nonce >> 32])
    challenges = [t.challenge_ext() for _ in range(air.n_challenges)]

    proofs: dict[int, StarkProof] = {}
    again = [i for i in range(count) if i not in kept]
    for i in [*sorted(kept, reverse=True), *again]:  # the kept first, freeing their memory
        if i in kept:
            values, main = kept.pop(i)
        else:
            values = _checked_main(pk, main_of(i))
            clock.lap("witness")
            main = backend.commit_values(values, vk.params.log_blowup)
            clock.lap("main commit")
        # the trace's and then the auxiliary values' last uses: each is freed right after
        aux_values, claims = _aux_columns(pk, values, publics[i], challenges, logup, backend)
        del values
        clock.lap("aux build")
        aux = backend.commit_values(aux_values, vk.params.log_blowup)
        del aux_values
        clock.lap("aux commit")
        fork = t.fork(b"segment", i)
        proofs[i] = _prove_segment(
            pk, main, aux, claims, publics[i], challenges, nonce, fork, clock, backend
        )
        del main, aux
    for k in range(len(air.claims)):
        total = ext.ZERO
        for proof in proofs.values():
            total = ext.eadd(total, proof.claims[k])
        if total != ext.ZERO:
            raise UnsatisfiedConstraints("the lookups do not balance")
    return [proofs[i] for i in range(count)]


def _checked_main(pk: ProvingKey, main_values: Any) -> Any:
    """A host array (made contiguous u32), or one a backend built on its device (kept there)."""
    if isinstance(main_values, np.ndarray) or not hasattr(main_values, "dtype"):
        main_values = np.ascontiguousarray(main_values, dtype=np.uint32)
    elif main_values.dtype != np.uint32:
        raise ValueError(f"main trace is {main_values.dtype}, not uint32")
    want = (pk.air.n_main, 1 << pk.vk.log_n)
    if tuple(main_values.shape) != want:
        raise ValueError(f"main trace is {main_values.shape}, the AIR wants {want}")
    return main_values


def _aux_columns(
    pk: ProvingKey,
    main_values: Any,
    publics: list[int],
    challenges: list[Ext],
    logup: AuxTrace | None,
    backend: Backend,
) -> tuple[Any, list[Ext]]:
    """A segment's auxiliary columns on the trace rows, and its claims (their last row's values
    in the claimed columns)."""
    air, n = pk.air, 1 << pk.vk.log_n
    if not air.n_aux:
        return np.zeros((0, n), dtype=np.uint32), []
    if logup is None:
        raise ValueError(f"{air.name} has auxiliary columns: pass its LogUp (AuxTrace)")
    values, last = backend.logup(logup, challenges, pk.pre_values, main_values, publics)
    words = [int(v) for v in last]
    return values, [tuple(words[4 * c : 4 * c + 4]) for c in air.claims]  # type: ignore[misc]


def _prove_segment(
    pk: ProvingKey,
    main: Matrix,
    aux: Matrix,
    claims: list[Ext],
    publics: list[int],
    challenges: list[Ext],
    lookup_nonce: int,
    t: Transcript,
    clock: _Stopwatch,
    backend: Backend,
) -> StarkProof:
    """Everything after the shared challenges, for one segment's committed main and auxiliary
    columns."""
    air, vk, params = pk.air, pk.vk, pk.vk.params
    lb, log_n = params.log_blowup, vk.log_n
    t.absorb(b"aux", aux.root)
    t.absorb_words(b"claims", [c for e in claims for c in e])

    alpha = t.challenge_ext()
    pre = backend.adopt(pk.pre)
    inputs = QuotientInputs(
        pk.quotient,
        public_columns(air, publics, log_n),
        log_n,
        lb,
        challenges,
        publics,
        claims,
        ext.powers(alpha, len(air.constraints)),
        quotient_points(log_n, air.quotient_chunks),
    )
    q_values = backend.quotient(pre, main, aux, inputs)
    clock.lap("quotient evaluation")
    quotient = backend.commit_quotient(q_values, log_n, lb, air.quotient_chunks)
    del q_values
    clock.lap("quotient commit")
    t.absorb(b"quotient", quotient.root)

    zeta = t.challenge_ext()
    zeta_next = ext.escale(zeta, field.root_of_unity(log_n))
    matrices = [pre, main, aux, quotient]
    trace = matrices[:3]
    ood_current = [v for mat in matrices for v in backend.evaluate_at(mat, zeta)]
    ood_next = [v for mat in trace for v in backend.evaluate_at(mat, zeta_next)]
    t.absorb_words(b"ood", [c for e in ood_current + ood_next for c in e])
    try:  # the quotient was interpolated from just enough points to be a polynomial anyway
        verifier.check_constraints_at(
            air, ood_current, ood_next, claims, challenges, publics, alpha, zeta, log_n
        )
    except verifier.InvalidProof:
        raise UnsatisfiedConstraints(
            "the trace does not satisfy the constraints (they disagree with the quotient at the "
            "out-of-domain point)"
        ) from None
    clock.lap("out-of-domain values")

    gamma = t.challenge_ext()
    weights = ext.powers(gamma, sum(mat.width for mat in matrices) + 1)
    f_z, f_tzn = ext.weighted_sum(ood_current, weights), ext.weighted_sum(ood_next, weights)
    deep = backend.deep(matrices, len(trace), log_n + lb, zeta, zeta_next, weights, f_z, f_tzn)
    clock.lap("DEEP composition")
    state = backend.fri_commit(deep, log_n, params.fri, t)
    del deep
    nonce, positions = fri.query_phase(state, params.fri, t)
    fri_proof = fri.FriProof(
        [layer.tree.root for layer in state.layers],
        state.final_coeffs,
        nonce,
        backend.fri_open(state, positions),
    )
    rows = [backend.open(mat, positions) for mat in matrices]  # per matrix: every query's row
    queries = [QueryOpening(*opened) for opened in zip(*rows, strict=True)]
    clock.lap("FRI and openings")
    return StarkProof(
        log_n,
        main.root,
        aux.root,
        quotient.root,
        lookup_nonce,
        claims,  # type: ignore[arg-type]
        ood_current,
        ood_next,
        fri_proof,
        queries,
    )


# ---- steps ------------------------------------------------------------------------------------


class _Stopwatch:
    """Seconds per stage, when asked for: the backend's queued work is waited for at each lap
    (on a GPU a stage would otherwise hand its time to the next one that reads a result)."""

    def __init__(self, into: dict[str, float] | None, backend: Backend) -> None:
        self.into, self.backend = into, backend
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.into is None:
            return
        self.backend.synchronize()
        now = time.perf_counter()
        self.into[name] = self.into.get(name, 0.0) + now - self.last
        self.last = now


def public_columns(air: Air, publics: list[int], log_n: int) -> np.ndarray:
    """The public columns' values on the trace rows (zero but where a public value sits)."""
    cols = np.zeros((air.n_pubcols, 1 << log_n), dtype=np.uint32)
    for c, row, p in air.public_cells:
        cols[c, row] = publics[p]
    return cols
