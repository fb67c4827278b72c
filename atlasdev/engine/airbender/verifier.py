"""The STARK verifier: Python ints, NumPy and hashlib, sharing with the prover only the field,
the hash, the transcript and the AIR's constraint definitions. The queries' openings are checked
together, as NumPy arrays (a block proof's segments have 100 queries each); Merkle paths one by
one.

It replays the transcript from the proof's commitments, checks the constraint identity at the
out-of-domain point (the combined constraints equal the quotient times the vanishing
polynomials), then at every FRI query checks that each opened row is under its commitment and
that the DEEP composition computed from those rows is the value FRI's first layer committed to.
Each failure raises `InvalidProof` with the step that failed.
"""

from __future__ import annotations

import numpy as np

from . import extension as ext
from . import field, fri, merkle
from .air import Air, Point, Where, evaluate
from .evaluation import GROUPS
from .extension import Ext
from .field import P_U64, P
from .proof import MalformedProof, QueryOpening, RowOpening, SegmentedProof, StarkProof
from .stark import VerifyingKey, start_transcript
from .transcript import Transcript


class InvalidProof(ValueError):
    """The proof does not prove the statement; the message says which check failed."""


def verify(air: Air, vk: VerifyingKey, publics: list[int], proof: StarkProof | bytes) -> None:
    """Return if ``proof`` proves that a trace satisfying ``air`` with these public values
    exists under ``vk``; raise `InvalidProof` (or `MalformedProof` for bad bytes) otherwise."""
    if isinstance(proof, bytes):
        proof = StarkProof.from_bytes(proof)
    verify_segments(air, vk, [publics], SegmentedProof([proof]))


def verify_segments(
    air: Air, vk: VerifyingKey, publics: list[list[int]], proof: SegmentedProof | bytes
) -> None:
    """Like `verify`, for a statement proven in segments: ``publics`` holds each segment's
    public values (the verifier's, not the proof's), and the segments' claims must cancel."""
    if isinstance(proof, bytes):
        proof = SegmentedProof.from_bytes(proof)
    segments = proof.segments
    if not segments:
        raise InvalidProof("a proof without segments")
    if len(segments) != len(publics):
        raise InvalidProof(f"{len(segments)} segments, the statement has {len(publics)}")
    for i, (segment, p) in enumerate(zip(segments, publics, strict=True)):
        where = f"segment {i}: " if len(segments) > 1 else ""
        if segment.log_n != vk.log_n:
            raise InvalidProof(
                f"{where}proof is for 2^{segment.log_n} rows, the key for 2^{vk.log_n}"
            )
        if len(p) != air.n_public or any(not 0 <= v < P for v in p):
            raise InvalidProof(f"{where}expected {air.n_public} public values below p")
        if len(segment.claims) != len(air.claims):
            raise MalformedProof(
                f"{where}{len(segment.claims)} claims, the AIR has {len(air.claims)}"
            )
    t = start_transcript(air, vk, publics)
    for segment in segments:
        t.absorb(b"main", segment.main_root)
    nonce = segments[0].lookup_nonce
    if any(s.lookup_nonce != nonce for s in segments):
        raise InvalidProof("the segments disagree on the lookup proof of work")
    if air.n_challenges and not t.check_pow(vk.params.lookup_pow_bits, nonce):
        raise InvalidProof("the proof of work before the lookup challenges is wrong")
    if not air.n_challenges and nonce:
        raise InvalidProof("a lookup proof of work for an AIR without lookups")
    t.absorb_words(b"lookup-pow", [nonce & 0xFFFFFFFF, nonce >> 32])
    challenges = [t.challenge_ext() for _ in range(air.n_challenges)]
    for i, (segment, p) in enumerate(zip(segments, publics, strict=True)):
        try:
            _verify_segment(air, vk, p, segment, challenges, t.fork(b"segment", i))
        except InvalidProof as e:
            raise InvalidProof(f"segment {i}: {e}" if len(segments) > 1 else str(e)) from None
    for k in range(len(air.claims)):
        total = ext.ZERO
        for segment in segments:
            total = ext.eadd(total, segment.claims[k])
        if total != ext.ZERO:
            raise InvalidProof("the lookup and memory multisets do not balance")


def _verify_segment(
    air: Air,
    vk: VerifyingKey,
    publics: list[int],
    proof: StarkProof,
    challenges: list[Ext],
    t: Transcript,
) -> None:
    params = vk.params
    widths = [air.n_pre, air.n_main, 4 * air.n_aux, 4 * air.quotient_chunks]
    n_trace = sum(widths[:3])
    if len(proof.ood_current) != sum(widths) or len(proof.ood_next) != n_trace:
        raise MalformedProof("wrong number of out-of-domain values")
    log_n, log_m = vk.log_n, vk.log_n + params.log_blowup

    t.absorb(b"aux", proof.aux_root)
    t.absorb_words(b"claims", [c for e in proof.claims for c in e])
    alpha = t.challenge_ext()
    t.absorb(b"quotient", proof.quotient_root)
    zeta = t.challenge_ext()
    t.absorb_words(b"ood", [c for e in proof.ood_current + proof.ood_next for c in e])
    gamma = t.challenge_ext()

    check_constraints_at(
        air, proof.ood_current, proof.ood_next, proof.claims, challenges, publics, alpha, zeta,
        log_n,
    )  # fmt: skip

    try:
        betas, positions = fri.replay(proof.fri, log_n, log_m, params.fri, t)
    except fri.FriError as e:
        raise InvalidProof(str(e)) from None
    if len(proof.queries) != len(positions):
        raise InvalidProof(f"{len(proof.queries)} trace openings, expected {len(positions)}")
    roots = [vk.pre_root, proof.main_root, proof.aux_root, proof.quotient_root]
    names = ["preprocessed", "main", "auxiliary", "quotient"]
    by_query = [_rows(opening) for opening in proof.queries]
    for q, rows in enumerate(by_query):
        for name, row, width in zip(names, rows, widths, strict=True):
            if len(row.values) != width or len(row.path) != log_m:
                raise InvalidProof(f"query {q}: malformed {name} opening")
    # each matrix's opened rows, a query a row
    by_matrix = list(zip(*by_query, strict=True)) or [()] * 4
    matrices = [
        np.array([row.values for row in rows], dtype="<u4").reshape(len(positions), width)
        for rows, width in zip(by_matrix, widths, strict=True)
    ]
    for q, (pos, rows) in enumerate(zip(positions, by_query, strict=True)):
        for name, root, matrix, row in zip(names, roots, matrices, rows, strict=True):
            if not merkle.verify_path(root, pos, merkle.leaf_digest(matrix[q]), row.path):
                raise InvalidProof(f"query {q}: {name} row is not under its commitment")
    gpows = _powers(gamma, sum(widths) + 1)  # (4, columns + 1)
    f_z = _combine(proof.ood_current, gpows)
    f_tzn = _combine(proof.ood_next, gpows)
    zeta_next = ext.escale(zeta, field.root_of_unity(log_n))
    # DEEP at every query at once: (4, queries) arrays
    weights = gpows.T
    f_trace = np.zeros((4, len(positions)), dtype=np.uint64)
    start = 0
    for matrix, width in zip(matrices[:3], widths[:3], strict=True):
        f_trace = ext.eadd_v(f_trace, _combine_rows(matrix, weights[start : start + width]))
        start += width
    f_all = ext.eadd_v(f_trace, _combine_rows(matrices[3], weights[start : start + widths[3]]))
    xs = np.array([fri.point(log_m, field.GENERATOR, pos) for pos in positions], dtype=np.uint64)
    points = np.zeros((4, len(positions)), dtype=np.uint64)
    points[0] = xs
    denominators = ext.einv_v(
        np.concatenate([ext.esub_v(points, zeta), ext.esub_v(points, zeta_next)], axis=1)
    )
    lhs = ext.emul_v(ext.esub_v(f_all, f_z), denominators[:, : len(positions)])
    rhs = ext.emul_v(ext.esub_v(f_trace, f_tzn), denominators[:, len(positions) :])
    first_values = ext.eadd_v(lhs, ext.emul_v(rhs, gpows[:, -1]))
    try:
        fri.check_queries(proof.fri, betas, positions, first_values.T, log_n, log_m, params.fri)
    except fri.FriError as e:
        raise InvalidProof(str(e)) from None


def _rows(opening: QueryOpening) -> tuple[RowOpening, RowOpening, RowOpening, RowOpening]:
    return (opening.pre, opening.main, opening.aux, opening.quotient)


def _combine_rows(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_i rows[q, i] weights[i] for every row q, as (4, queries): a base value scales each
    coefficient of an extension element, so each coefficient is a dot product (every product
    reduced: a row's sum of them stays far below 2^64)."""
    rows = rows.astype(np.uint64)
    return np.stack([(rows * weights[:, e] % P_U64).sum(axis=1) % P_U64 for e in range(4)])


def check_constraints_at(
    air: Air,
    ood_current: list[Ext],
    ood_next: list[Ext],
    claims: list[Ext],
    challenges: list[Ext],
    publics: list[int],
    alpha: Ext,
    zeta: Ext,
    log_n: int,
) -> None:
    """sum_i alpha^i C_i(zeta) / Z_i(zeta) must equal the quotient's value at zeta, from the
    columns' values at zeta and zeta w (the prover checks its own proof with it too)."""
    n = 1 << log_n
    z_h = ext.esub(ext.epow(zeta, n), ext.ONE)
    if z_h == ext.ZERO:
        raise InvalidProof("the out-of-domain point fell on the trace domain")
    cur, nxt = ood_current, ood_next
    a, b = air.n_pre, air.n_pre + air.n_main
    c = b + 4 * air.n_aux
    point = Point(
        pre=cur[:a],
        pre_next=nxt[:a],
        main=cur[a:b],
        main_next=nxt[a:b],
        aux=_ext_columns(cur[b:c]),
        aux_next=_ext_columns(nxt[b:c]),
        challenges=challenges,
        publics=publics,
        pubcols=_public_columns_at(air, publics, zeta, log_n),
        claims=claims,
    )
    values = evaluate([con.expr for con in air.constraints], point)
    w_last = field.inv(field.root_of_unity(log_n))
    inv_zh = ext.einv(z_h)
    divisors = {
        Where.TRANSITION: ext.emul(ext.esub(zeta, ext.lift(w_last)), inv_zh),
        Where.EVERY_ROW: inv_zh,
        Where.FIRST_ROW: ext.einv(ext.esub(zeta, ext.ONE)),
        Where.LAST_ROW: ext.einv(ext.esub(zeta, ext.lift(w_last))),
    }
    combined = ext.ZERO
    power = ext.ONE
    for con, value in zip(air.constraints, values, strict=True):
        combined = ext.eadd(combined, ext.emul(ext.emul(power, value), divisors[con.where]))
        power = ext.emul(power, alpha)
    assert set(divisors) == set(GROUPS)
    quotient = ext.ZERO
    zeta_n = ext.epow(zeta, n)
    for chunk, column in enumerate(_ext_columns(cur[c:])):
        quotient = ext.eadd(quotient, ext.emul(ext.epow(zeta_n, chunk), column))
    if combined != quotient:
        raise InvalidProof("the constraints do not hold at the out-of-domain point")


def _public_columns_at(air: Air, publics: list[int], zeta: Ext, log_n: int) -> list[Ext]:
    """Each public column at zeta: sum of v L_r(zeta), where L_r is row r's Lagrange basis
    polynomial on the trace domain, L_r(x) = w^r (x^n - 1) / (n (x - w^r)); each row's basis
    once, all of them at once."""
    n = 1 << log_n
    w = field.root_of_unity(log_n)
    scale = ext.escale(ext.esub(ext.epow(zeta, n), ext.ONE), field.inv(n))
    rows = sorted({row for _, row, _ in air.public_cells})
    w_r = np.array([pow(w, row, P) for row in rows], dtype=np.uint64)
    lifted = np.zeros((4, len(rows)), dtype=np.uint64)
    lifted[0] = w_r
    zetas = np.array(zeta, dtype=np.uint64)[:, None]
    basis = ext.escale_v(ext.emul_v(ext.einv_v(ext.esub_v(zetas, lifted)), scale), w_r)
    at = {row: tuple(int(c) for c in basis[:, i]) for i, row in enumerate(rows)}
    out = [ext.ZERO] * air.n_pubcols
    for c, row, p in air.public_cells:
        out[c] = ext.eadd(out[c], ext.escale(at[row], publics[p]))  # type: ignore[arg-type]
    return out


def _ext_columns(components: list[Ext]) -> list[Ext]:
    """Extension columns from the values of their 4 base components: sum_e X^e v_e."""
    out = []
    for i in range(0, len(components), 4):
        acc = ext.ZERO
        for e in range(4):
            basis = tuple(1 if k == e else 0 for k in range(4))
            acc = ext.eadd(acc, ext.emul(components[i + e], basis))  # type: ignore[arg-type]
        out.append(acc)
    return out


def _powers(x: Ext, count: int) -> np.ndarray:
    """1, x, x^2, ... (count of them) as (4, count), doubling the run of powers each step."""
    out = np.zeros((4, max(count, 1)), dtype=np.uint64)
    out[0, 0] = 1
    filled, step = 1, x  # step = x^filled
    while filled < count:
        take = min(filled, count - filled)
        out[:, filled : filled + take] = ext.emul_v(out[:, :take], step)
        filled, step = filled + take, ext.emul(step, step)
    return out


def _combine(values: list[Ext], gpows: np.ndarray) -> Ext:
    """sum_i values[i] gpows[:, i]."""
    terms = ext.emul_v(np.array(values, dtype=np.uint64).reshape(-1, 4).T, gpows[:, : len(values)])
    return tuple(int(c) for c in terms.sum(axis=1) % P_U64)  # type: ignore[return-value]
