"""FRI: low-degree functions pass, high-degree ones cannot be committed, tampering is caught."""

import dataclasses

import numpy as np
import pytest

from atlasdev.engine.airbender import fri, ntt
from atlasdev.engine.airbender.field import P
from atlasdev.engine.airbender.stark import StarkParams
from atlasdev.engine.airbender.transcript import Transcript

PARAMS = fri.FriParams(log_blowup=2, num_queries=12, pow_bits=4)


def fri_proof(log_degree: int, seed: int = 0) -> tuple[fri.FriProof, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    coeffs = rng.integers(0, P, size=(4, 1 << log_degree), dtype=np.uint32)
    values = ntt.evaluate_coset(coeffs, PARAMS.log_blowup)
    t = Transcript(b"fri-test")
    state = fri.commit_phase(values, log_degree, PARAMS, t)
    nonce, positions = fri.query_phase(state, PARAMS, t)
    proof = fri.FriProof(
        [layer.tree.root for layer in state.layers],
        state.final_coeffs,
        nonce,
        fri.open_queries(state, positions),
    )
    return proof, values, positions


def check(proof: fri.FriProof, values: np.ndarray, log_degree: int) -> None:
    log_domain = log_degree + PARAMS.log_blowup
    t = Transcript(b"fri-test")
    betas, positions = fri.replay(proof, log_degree, log_domain, PARAMS, t)
    first = [tuple(int(values[e, p]) for e in range(4)) for p in positions]
    fri.check_queries(proof, betas, positions, first, log_degree, log_domain, PARAMS)


@pytest.mark.parametrize("log_degree", [1, 4, 5, 8, 11])
def test_low_degree_functions_pass(log_degree: int) -> None:
    proof, values, _ = fri_proof(log_degree)
    assert len(proof.layer_roots) == len(fri.layer_schedule(log_degree, PARAMS))
    check(proof, values, log_degree)


def test_a_function_of_higher_degree_cannot_be_committed() -> None:
    rng = np.random.default_rng(1)
    values = ntt.evaluate_coset(rng.integers(0, P, size=(4, 256), dtype=np.uint32), 2)
    with pytest.raises(ValueError, match="not of the claimed degree"):
        fri.commit_phase(values, 6, PARAMS, Transcript(b"fri-test"))


def test_tampered_openings_are_rejected() -> None:
    proof, values, _ = fri_proof(9)
    q = proof.queries[0]
    # a changed query answer in a layer
    vals = list(q[1].values)
    vals[3] = ((vals[3][0] + 1) % P, *vals[3][1:])
    bad = [[q[0], dataclasses.replace(q[1], values=vals)], *proof.queries[1:]]
    with pytest.raises(fri.FriError):
        check(dataclasses.replace(proof, queries=bad), values, 9)
    # a changed final polynomial
    final = [
        ((proof.final_coeffs[0][0] + 1) % P, *proof.final_coeffs[0][1:]),
        *proof.final_coeffs[1:],
    ]
    with pytest.raises(fri.FriError):
        check(dataclasses.replace(proof, final_coeffs=final), values, 9)
    # a changed first-layer value (what the STARK's DEEP check supplies)
    wrong = values.copy()
    wrong[:, :] = (wrong[:, :].astype(np.uint64) + 1) % P
    with pytest.raises(fri.FriError, match="differs"):
        check(proof, wrong, 9)
    # a wrong proof-of-work nonce
    with pytest.raises(fri.FriError, match="proof-of-work"):
        check(dataclasses.replace(proof, pow_nonce=proof.pow_nonce + 1), values, 9)


def test_conjectured_security() -> None:
    assert fri.FriParams(log_blowup=2, num_queries=44, pow_bits=16).conjectured_bits() == 104
    assert StarkParams().fri.conjectured_bits() == 116  # the default: rate 1/2, 100 queries
