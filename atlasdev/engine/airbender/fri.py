"""FRI: the proof that a committed function on a coset is close to a polynomial of low degree.

The prover commits to the function's values (extension elements, bit-reversed order on the coset
shift * <w_m>), receives a challenge beta, and folds: f'(x^2) = (f(x) + f(-x))/2 +
beta (f(x) - f(-x))/(2x), which halves both the domain and the degree. A layer folds `arity`
(8) times at once with beta, beta^2, beta^4: one Merkle leaf holds the 8 values that fold into
one value of the next layer, so a query opens one leaf per layer. When the degree bound is small
the prover sends the remaining polynomial's coefficients in the clear.

Then the verifier picks query positions (after the prover's proof of work) and, for each, opens
a leaf in every layer, folds it itself and checks that the result is the value the next layer
committed to, and at the end that it agrees with the final polynomial.

The prover's half (`commit_phase`, `open_queries`) uses numba kernels; the verifier's half
(`replay`, `check_queries`) uses Python ints, NumPy (every query through a layer at once) and
hashlib.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from . import extension as ext
from . import field, merkle, ntt
from .extension import Ext, kadd, kmul, kscale, ksub
from .field import P_U64, P, fmul
from .transcript import Transcript


@dataclass(frozen=True)
class FriParams:
    log_blowup: int  # the code rate is 2^-log_blowup
    num_queries: int
    pow_bits: int
    log_arity: int = 3  # fold 8 values into one per layer
    log_final_degree: int = 4  # stop folding at 16 coefficients

    def conjectured_bits(self) -> int:
        """Each query catches a far-from-low-degree function except with probability about the
        rate, so queries x log2(blowup) bits, plus the grinding bits (ethSTARK's conjecture)."""
        return self.num_queries * self.log_blowup + self.pow_bits


@dataclass(frozen=True)
class LayerOpening:
    values: list[Ext]  # the 2^k values of the opened leaf
    path: list[bytes]


@dataclass(frozen=True)
class FriProof:
    layer_roots: list[bytes]
    final_coeffs: list[Ext]
    pow_nonce: int
    queries: list[list[LayerOpening]]  # per query, one opening per layer


@dataclass
class Layer:
    tree: merkle.MerkleTree
    values: np.ndarray  # (4, m): the committed values
    log_fold: int


@dataclass
class CommitState:
    """What the prover keeps between committing and opening."""

    layers: list[Layer]
    final_coeffs: list[Ext]
    log_domain: int


def layer_schedule(log_degree: int, params: FriParams) -> list[int]:
    """How many binary folds each layer does, for a function of degree < 2^log_degree."""
    folds = []
    while log_degree > params.log_final_degree:
        k = min(params.log_arity, log_degree - params.log_final_degree)
        folds.append(k)
        log_degree -= k
    return folds


# ---- the prover ------------------------------------------------------------------------------


@njit(parallel=True, cache=True, nogil=True)
def _fold(values, out, inv_x, beta, inv2):
    half = out.shape[1]
    b0, b1, b2, b3 = beta[0], beta[1], beta[2], beta[3]
    for k in prange(half):
        a0, a1, a2, a3 = values[0, 2 * k], values[1, 2 * k], values[2, 2 * k], values[3, 2 * k]
        c0, c1 = values[0, 2 * k + 1], values[1, 2 * k + 1]
        c2, c3 = values[2, 2 * k + 1], values[3, 2 * k + 1]
        s0, s1, s2, s3 = kadd(a0, a1, a2, a3, c0, c1, c2, c3)
        s0, s1, s2, s3 = kscale(s0, s1, s2, s3, inv2)
        d0, d1, d2, d3 = ksub(a0, a1, a2, a3, c0, c1, c2, c3)
        d0, d1, d2, d3 = kscale(d0, d1, d2, d3, fmul(inv_x[k], inv2))
        d0, d1, d2, d3 = kmul(d0, d1, d2, d3, b0, b1, b2, b3)
        out[0, k], out[1, k], out[2, k], out[3, k] = kadd(s0, s1, s2, s3, d0, d1, d2, d3)


def _inverse_points(log_m: int, shift: int) -> np.ndarray:
    """1/x for the points x = shift * w^rev(k) at the even positions 2k of a layer of size 2^log_m."""
    w_inv = field.inv(field.root_of_unity(log_m))
    pts = field.powers(w_inv, 1 << (log_m - 1))[ntt.bitrev_indices(log_m - 1)]
    return field.vmul(pts, field.inv(shift))


def fold_once(values: np.ndarray, beta: Ext, shift: int) -> np.ndarray:
    """One binary fold of a bit-reversed layer on shift * <w_m>: the layer on shift^2 * <w_m/2>."""
    log_m = values.shape[1].bit_length() - 1
    out = np.empty((4, values.shape[1] // 2), dtype=np.uint32)
    beta_arr = np.array(beta, dtype=np.uint32)
    _fold(values, out, _inverse_points(log_m, shift), beta_arr, np.uint32(field.inv(2)))
    return out


def _leaves(values: Any, log_fold: int) -> Any:
    """The column-major leaf matrix: leaf i holds values [i*2^k, (i+1)*2^k), 4 words each (a
    new array, of whichever array module ``values`` is)."""
    group = 1 << log_fold
    m = int(values.shape[1])
    return values.reshape(4, m // group, group).transpose(2, 0, 1).reshape(4 * group, m // group)


def commit_phase(
    values: Any,
    log_degree: int,
    params: FriParams,
    transcript: Transcript,
    commit: Callable[[Any], Any] = merkle.commit,
    fold: Callable[[Any, Ext, int], Any] = fold_once,
    host: Callable[[Any], np.ndarray] = np.asarray,
) -> CommitState:
    """Commit to the layers of ``values`` (4, m), bit-reversed on GENERATOR * <w_m>. A GPU
    backend passes its own Merkle ``commit``, ``fold`` (`fold_once`'s twin) and ``host``, so
    its layers stay on the device."""
    shift = field.GENERATOR
    log_m = int(values.shape[1]).bit_length() - 1
    layers = []
    for k in layer_schedule(log_degree, params):
        tree = commit(_leaves(values, k))
        transcript.absorb(b"fri-layer", tree.root)
        beta = transcript.challenge_ext()
        layers.append(Layer(tree, values, k))
        for _ in range(k):
            values = fold(values, beta, shift)
            shift = shift * shift % P
            beta = ext.emul(beta, beta)
    log_final = log_degree - sum(layer.log_fold for layer in layers)
    final = final_coefficients(host(values), shift, log_final)
    transcript.absorb_words(b"fri-final", [c for e in final for c in e])
    return CommitState(layers, final, log_m)


def final_coefficients(values: np.ndarray, shift: int, log_degree: int) -> list[Ext]:
    natural = values[:, ntt.bitrev_indices(values.shape[1].bit_length() - 1)]
    coeffs = ntt.interpolate(natural)  # of f(shift * y): coefficient i carries shift^i
    coeffs = np.stack([field.vmul(c, field.powers(field.inv(shift), c.shape[0])) for c in coeffs])
    if np.any(coeffs[:, 1 << log_degree :]):
        raise ValueError("FRI: the folded function is not of the claimed degree")
    return [tuple(int(coeffs[e, i]) for e in range(4)) for i in range(1 << log_degree)]  # type: ignore[misc]


def query_phase(
    state: CommitState, params: FriParams, transcript: Transcript
) -> tuple[int, list[int]]:
    """The proof of work, then the query positions in the first layer's domain."""
    nonce = transcript.grind(params.pow_bits)
    transcript.absorb_words(b"fri-pow", [nonce & 0xFFFFFFFF, nonce >> 32])
    return nonce, transcript.indices(params.num_queries, state.log_domain)


def _gather(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    return values[:, columns]


def open_queries(
    state: CommitState,
    positions: list[int],
    gather: Callable[[Any, np.ndarray], np.ndarray] = _gather,
) -> list[list[LayerOpening]]:
    """Every layer's leaf on each query's path; ``gather(values, columns)`` brings a layer's
    columns to the host (a GPU backend keeps its layers on the device: one gather a layer)."""
    out: list[list[LayerOpening]] = [[] for _ in positions]
    leaves = np.asarray(positions, dtype=np.int64)
    for layer in state.layers:
        leaves = leaves >> layer.log_fold
        group = 1 << layer.log_fold
        columns = (leaves[:, None] * group + np.arange(group)).reshape(-1)
        vals = gather(layer.values, columns).reshape(4, len(positions), group)
        paths = layer.tree.paths([int(leaf) for leaf in leaves])
        for q, path in enumerate(paths):
            leaf_values = [tuple(int(v) for v in vals[:, q, j]) for j in range(group)]
            out[q].append(LayerOpening(leaf_values, path))  # type: ignore[arg-type]
    return out


# ---- the verifier ------------------------------------------------------------------------------


class FriError(ValueError):
    """The FRI proof does not check out; the message says where."""


def point(log_m: int, shift: int, position: int) -> int:
    """The domain point at a bit-reversed position of shift * <w_m>."""
    return shift * pow(field.root_of_unity(log_m), _bit_reverse(position, log_m), P) % P


def _bit_reverse(x: int, bits: int) -> int:
    """The low ``bits`` bits of x in reverse order (x < 2^bits)."""
    return int(f"{x:0{bits}b}"[::-1], 2) if bits else 0


def fold_leaves(
    values: np.ndarray, leaves: list[int], log_m: int, shift: int, beta: Ext
) -> np.ndarray:
    """Fold each query's opened leaf down to one value: ``values`` (4, queries, 2^k) holds the
    2^k values of leaf ``leaves[q]`` of a layer on shift * <w_m>; the result is (4, queries).

    Value j of a leaf of 2^k sits at position leaf 2^k + j, whose point is shift w^r with
    r = rev_k(j) 2^(log_m - k) + rev(leaf): 1/x is a factor of the leaf's (one power per
    query) times one of a 2^k-th root of unity's powers (the same for every leaf). Each binary
    fold squares the domain and keeps the leaf's index, so the leaf's factor squares too."""
    inv2 = field.inv(2)
    bits = values.shape[2].bit_length() - 1
    w_inv = field.inv(field.root_of_unity(log_m))
    inv_shift = field.inv(shift)
    per_leaf = np.array(
        [inv_shift * pow(w_inv, _bit_reverse(leaf, log_m - bits), P) % P for leaf in leaves],
        dtype=np.uint64,
    )
    while values.shape[2] > 1:
        half = values.shape[2] // 2
        step = pow(w_inv, 1 << (log_m - bits), P)  # the inverse of a 2^bits-th root of unity
        per_pair = [pow(step, _bit_reverse(2 * i, bits), P) for i in range(half)]
        inv_x = per_leaf[:, None] * np.array(per_pair, dtype=np.uint64) % P_U64  # (queries, half)
        a, b = values[:, :, 0::2], values[:, :, 1::2]
        s = ext.escale_v(ext.eadd_v(a, b), inv2)
        d = ext.escale_v(ext.esub_v(a, b), inv_x * np.uint64(inv2) % P_U64)
        values = ext.eadd_v(s, ext.emul_v(d, beta))
        log_m, bits = log_m - 1, bits - 1
        w_inv = w_inv * w_inv % P
        per_leaf = per_leaf * per_leaf % P_U64
        beta = ext.emul(beta, beta)
    return values[:, :, 0]


def _evaluate(coeffs: list[Ext], xs: np.ndarray) -> np.ndarray:
    """The polynomial at each of the base points ``xs``: (4, len(xs))."""
    acc = np.zeros((4, len(xs)), dtype=np.uint64)
    for c in reversed(coeffs):
        acc = ext.eadd_v(ext.escale_v(acc, xs), c)
    return acc


def replay(
    proof: FriProof, log_degree: int, log_domain: int, params: FriParams, transcript: Transcript
) -> tuple[list[Ext], list[int]]:
    """Absorb the commitments as the prover did: the betas and the query positions."""
    schedule = layer_schedule(log_degree, params)
    if len(proof.layer_roots) != len(schedule):
        raise FriError(f"FRI: {len(proof.layer_roots)} layers, expected {len(schedule)}")
    betas = []
    for root in proof.layer_roots:
        transcript.absorb(b"fri-layer", root)
        betas.append(transcript.challenge_ext())
    final_log = log_degree - sum(schedule)
    if len(proof.final_coeffs) != 1 << final_log:
        raise FriError(
            f"FRI: final polynomial has {len(proof.final_coeffs)} coefficients, expected {1 << final_log}"
        )
    transcript.absorb_words(b"fri-final", [c for e in proof.final_coeffs for c in e])
    if not 0 <= proof.pow_nonce < 1 << 64 or not transcript.check_pow(
        params.pow_bits, proof.pow_nonce
    ):
        raise FriError("FRI: the proof-of-work nonce is wrong")
    nonce = proof.pow_nonce
    transcript.absorb_words(b"fri-pow", [nonce & 0xFFFFFFFF, nonce >> 32])
    return betas, transcript.indices(params.num_queries, log_domain)


def check_queries(
    proof: FriProof,
    betas: list[Ext],
    positions: list[int],
    first_values: np.ndarray,
    log_degree: int,
    log_domain: int,
    params: FriParams,
) -> None:
    """Check every query: each opened leaf under its layer's root, holding the value the layer
    before folded to (the first layer: the caller's values, one row of 4 words a query), down
    to the final polynomial. The queries go through each layer together (NumPy), their Merkle
    paths one by one (hashlib)."""
    schedule = layer_schedule(log_degree, params)
    if len(proof.queries) != len(positions):
        raise FriError(f"FRI: {len(proof.queries)} query openings, expected {len(positions)}")
    for q, openings in enumerate(proof.queries):
        if len(openings) != len(schedule):
            raise FriError(
                f"FRI query {q}: {len(openings)} layer openings, expected {len(schedule)}"
            )
    count = len(positions)
    pos = list(positions)
    expected = np.asarray(first_values, dtype=np.uint64).reshape(count, 4).T
    shift, log_m = field.GENERATOR, log_domain
    for layer, (k, root, beta) in enumerate(zip(schedule, proof.layer_roots, betas, strict=True)):
        openings = [layers[layer] for layers in proof.queries]
        for q, opening in enumerate(openings):
            if len(opening.values) != 1 << k or len(opening.path) != log_m - k:
                raise FriError(f"FRI query {q}, layer {layer}: malformed opening")
        words = np.array([o.values for o in openings], dtype="<u4").reshape(count, 1 << k, 4)
        leaves = [p >> k for p in pos]
        picked = words[np.arange(count), [p & ((1 << k) - 1) for p in pos]].T
        for q in range(count):
            if (picked[:, q] != expected[:, q]).any():
                raise FriError(f"FRI query {q}, layer {layer}: value differs from the layer before")
            digest = merkle.leaf_digest(words[q])
            if not merkle.verify_path(root, leaves[q], digest, openings[q].path):
                raise FriError(f"FRI query {q}, layer {layer}: Merkle path does not open the root")
        values = words.astype(np.uint64).transpose(2, 0, 1)
        expected = fold_leaves(values, leaves, log_m, shift, beta)
        pos, log_m, shift = leaves, log_m - k, pow(shift, 1 << k, P)
    xs = np.array([point(log_m, shift, p) for p in pos], dtype=np.uint64)
    final = _evaluate(proof.final_coeffs, xs)
    for q in range(count):
        if (final[:, q] != expected[:, q]).any():
            raise FriError(f"FRI query {q}: the final polynomial disagrees")
