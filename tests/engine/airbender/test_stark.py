"""The STARK engine on a small AIR: completeness, determinism, and a tamper suite.

The RISC-V AIR has its own tests; these pin the protocol itself (transcript order, quotient,
DEEP, FRI, openings, encoding) on a Fibonacci AIR with a preprocessed column and publics.
"""

import dataclasses
from functools import cache
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender import air as A
from atlasdev.engine.airbender import proof as proof_format
from atlasdev.engine.airbender import prover, verifier
from atlasdev.engine.airbender.backend import quotient_points
from atlasdev.engine.airbender.field import P
from atlasdev.engine.airbender.proof import MalformedProof, StarkProof
from atlasdev.engine.airbender.stark import StarkParams

PARAMS = StarkParams(num_queries=16, pow_bits=4)
LOG_N = 6


def fibonacci_air() -> A.Air:
    """a' = b, b' = a + b * k (k a preprocessed column), a and b start at publics 0 and 1,
    b ends at public 2, and a on row 5 (marked by a preprocessed selector) is public 3, through
    a public column."""
    fib = A.Air("fib-test", n_pre=2, n_main=2, n_public=4, n_pubcols=1, public_cells=[(0, 5, 3)])
    a, b, k = A.main(0), A.main(1), A.pre(0)
    fib.add(A.Where.EVERY_ROW, A.pre(1) * (a - A.public_column(0)), "a on row 5 is public 3")
    fib.add(A.Where.TRANSITION, a.next - b, "a' = b")
    fib.add(A.Where.TRANSITION, b.next - a - b * k, "b' = a + b k")
    fib.add(A.Where.FIRST_ROW, a - A.public(0), "a starts at public 0")
    fib.add(A.Where.FIRST_ROW, b - A.public(1), "b starts at public 1")
    fib.add(A.Where.LAST_ROW, b - A.public(2), "b ends at public 2")
    return fib


def trace(k: np.ndarray, a0: int = 1, b0: int = 1) -> np.ndarray:
    n = k.shape[0]
    t = np.zeros((2, n), dtype=np.uint32)
    a, b = a0, b0
    for i in range(n):
        t[0, i], t[1, i] = a, b
        a, b = b, (a + b * int(k[i])) % P
    return t


@cache
def setup() -> tuple[A.Air, prover.ProvingKey, np.ndarray]:
    fib = fibonacci_air()
    k = (np.arange(1 << LOG_N, dtype=np.uint32) % 3) + 1
    return fib, prover.setup(fib, LOG_N, pre_columns(k), PARAMS), k


def pre_columns(k: np.ndarray) -> np.ndarray:
    selector = np.zeros_like(k)
    selector[5] = 1
    return np.stack([k, selector])


@cache
def honest() -> tuple[list[int], bytes]:
    _, pk, k = setup()
    t = trace(k)
    publics = [1, 1, int(t[1, -1]), int(t[0, 5])]
    return publics, prover.prove(pk, t, publics).to_bytes()


def test_an_honest_proof_verifies() -> None:
    fib, pk, _ = setup()
    publics, data = honest()
    verifier.verify(fib, pk.vk, publics, data)
    assert StarkProof.from_bytes(data).to_bytes() == data


def test_proofs_are_deterministic() -> None:
    _, pk, k = setup()
    publics, data = honest()
    assert prover.prove(pk, trace(k), publics).to_bytes() == data


def test_stage_times_wait_for_the_backend_only_when_asked_for() -> None:
    """On a GPU a kernel launch returns at once: a stage's time is its own only if the clock
    waits for the device before each lap; a proof nobody times does not wait."""
    from atlasdev.engine.airbender.cpu import CpuBackend

    class Counting(CpuBackend):
        waits = 0

        def synchronize(self) -> None:
            Counting.waits += 1

    _, pk, k = setup()
    publics, data = honest()
    stages: dict[str, float] = {}
    proof = prover.prove(pk, trace(k), publics, timings=stages, backend=Counting())
    assert proof.to_bytes() == data
    assert Counting.waits == 9 and len(stages) == 9  # one wait per lap: 9 stages, each once
    assert {"quotient evaluation", "DEEP composition"} <= set(stages)
    Counting.waits = 0
    prover.prove(pk, trace(k), publics, backend=Counting())
    assert Counting.waits == 0


def test_the_proof_bytes_are_pinned() -> None:
    """Every backend must give these bytes (issue 8); a change here is a protocol change, made
    on purpose, never a side effect of a refactor or a faster kernel."""
    import hashlib

    _, data = honest()
    assert len(data) == 19768
    digest = hashlib.sha256(data).hexdigest()
    assert digest == "86c0ffa744d00f134f24e9f99a05c0b6df96fd7d99bb2f8b70469ef8684dd6bf"


@pytest.mark.parametrize("log_n", [3, 4, 9])
def test_completeness_across_sizes(log_n: int) -> None:
    fib = fibonacci_air()
    k = np.ones(1 << log_n, dtype=np.uint32)
    pk = prover.setup(fib, log_n, pre_columns(k), PARAMS)
    t = trace(k, 2, 3)
    publics = [2, 3, int(t[1, -1]), int(t[0, 5])]
    verifier.verify(fib, pk.vk, publics, prover.prove(pk, t, publics).to_bytes())


def test_a_false_trace_cannot_be_proven() -> None:
    _, pk, k = setup()
    t = trace(k)
    t[1, 17] = (t[1, 17] + 1) % P
    # the quotient, interpolated from just enough points, is caught at zeta
    with pytest.raises(prover.UnsatisfiedConstraints, match="out-of-domain point"):
        prover.prove(pk, t, [1, 1, int(t[1, -1]), int(t[0, 5])])


@pytest.mark.parametrize("which", [0, 2, 3])
def test_a_changed_public_value_is_rejected(which: int) -> None:
    fib, pk, _ = setup()
    publics, data = honest()
    changed = [(v + 1) % P if i == which else v for i, v in enumerate(publics)]
    with pytest.raises(verifier.InvalidProof, match="out-of-domain"):
        verifier.verify(fib, pk.vk, changed, data)


def test_another_preprocessed_commitment_is_rejected() -> None:
    # The preprocessed root stands for the program: a proof made against one program's key
    # does not verify against another's.
    fib, _, k = setup()
    publics, data = honest()
    other = prover.setup(fib, LOG_N, pre_columns(k % 2), PARAMS)
    with pytest.raises(verifier.InvalidProof):
        verifier.verify(fib, other.vk, publics, data)


def test_another_trace_size_is_rejected() -> None:
    fib, pk, _ = setup()
    publics, data = honest()
    with pytest.raises(verifier.InvalidProof, match="rows"):
        verifier.verify(fib, dataclasses.replace(pk.vk, log_n=LOG_N + 1), publics, data)


def _bump(v: int) -> int:
    return (v + 1) % P


def _tampered(change) -> StarkProof:  # type: ignore[no-untyped-def]
    _, data = honest()
    return change(StarkProof.from_bytes(data))


def _with_query(proof: StarkProof, query) -> StarkProof:  # type: ignore[no-untyped-def]
    return dataclasses.replace(proof, queries=[query, *proof.queries[1:]])


def _with_fri_opening(proof: StarkProof, change) -> StarkProof:  # type: ignore[no-untyped-def]
    """The proof with the first FRI query's first layer opening changed."""
    first = [change(proof.fri.queries[0][0]), *proof.fri.queries[0][1:]]
    fri = dataclasses.replace(proof.fri, queries=[first, *proof.fri.queries[1:]])
    return dataclasses.replace(proof, fri=fri)


def _flip(path: list[bytes], i: int) -> list[bytes]:
    return [bytes([p[0] ^ 1]) + p[1:] if j == i else p for j, p in enumerate(path)]


TAMPERS = {
    "main trace cell": lambda p: _with_query(
        p,
        dataclasses.replace(
            p.queries[0],
            main=dataclasses.replace(
                p.queries[0].main,
                values=[_bump(p.queries[0].main.values[0]), p.queries[0].main.values[1]],
            ),
        ),
    ),
    "preprocessed cell": lambda p: _with_query(
        p,
        dataclasses.replace(
            p.queries[0],
            pre=dataclasses.replace(p.queries[0].pre, values=[_bump(p.queries[0].pre.values[0])]),
        ),
    ),
    "Merkle path node": lambda p: _with_query(
        p,
        dataclasses.replace(
            p.queries[0],
            main=dataclasses.replace(p.queries[0].main, path=_flip(p.queries[0].main.path, 3)),
        ),
    ),
    "quotient value": lambda p: _with_query(
        p,
        dataclasses.replace(
            p.queries[0],
            quotient=dataclasses.replace(
                p.queries[0].quotient,
                values=[_bump(p.queries[0].quotient.values[0]), *p.queries[0].quotient.values[1:]],
            ),
        ),
    ),
    "out-of-domain value": lambda p: dataclasses.replace(
        p,
        ood_current=[
            (_bump(p.ood_current[1][0]), *p.ood_current[1][1:]) if i == 1 else v
            for i, v in enumerate(p.ood_current)
        ],
    ),
    "next-row out-of-domain value": lambda p: dataclasses.replace(
        p,
        ood_next=[
            (_bump(p.ood_next[2][0]), *p.ood_next[2][1:]) if i == 2 else v
            for i, v in enumerate(p.ood_next)
        ],
    ),
    "main commitment": lambda p: dataclasses.replace(p, main_root=bytes(32)),
    # shapes: what the verifier must refuse before it lays the openings out as arrays
    "main row a value short": lambda p: _with_query(
        p,
        dataclasses.replace(
            p.queries[0],
            main=dataclasses.replace(p.queries[0].main, values=p.queries[0].main.values[:-1]),
        ),
    ),
    "auxiliary path a node short": lambda p: _with_query(
        p,
        dataclasses.replace(
            p.queries[0],
            aux=dataclasses.replace(p.queries[0].aux, path=p.queries[0].aux.path[:-1]),
        ),
    ),
    "a trace opening missing": lambda p: dataclasses.replace(p, queries=p.queries[:-1]),
    "FRI leaf a value short": lambda p: _with_fri_opening(
        p, lambda o: dataclasses.replace(o, values=o.values[:-1])
    ),
    "FRI path a node short": lambda p: _with_fri_opening(
        p, lambda o: dataclasses.replace(o, path=o.path[:-1])
    ),
    "a FRI layer opening missing": lambda p: dataclasses.replace(
        p, fri=dataclasses.replace(p.fri, queries=[p.fri.queries[0][:-1], *p.fri.queries[1:]])
    ),
    "FRI final polynomial": lambda p: dataclasses.replace(
        p,
        fri=dataclasses.replace(
            p.fri,
            final_coeffs=[
                (_bump(p.fri.final_coeffs[0][0]), *p.fri.final_coeffs[0][1:]),
                *p.fri.final_coeffs[1:],
            ],
        ),
    ),
    "FRI query answer": lambda p: dataclasses.replace(
        p,
        fri=dataclasses.replace(
            p.fri,
            queries=[
                [
                    dataclasses.replace(
                        p.fri.queries[0][0],
                        values=[
                            (
                                _bump(p.fri.queries[0][0].values[-1][0]),
                                *p.fri.queries[0][0].values[-1][1:],
                            )
                            if j == len(p.fri.queries[0][0].values) - 1
                            else v
                            for j, v in enumerate(p.fri.queries[0][0].values)
                        ],
                    ),
                    *p.fri.queries[0][1:],
                ],
                *p.fri.queries[1:],
            ],
        ),
    ),
}


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_tampered_proofs_are_rejected(what: str) -> None:
    fib, pk, _ = setup()
    publics, _ = honest()
    proof = _tampered(TAMPERS[what])
    with pytest.raises(verifier.InvalidProof):
        verifier.verify(fib, pk.vk, publics, proof.to_bytes())


def test_malformed_bytes_are_rejected_with_a_reason() -> None:
    fib, pk, _ = setup()
    publics, data = honest()
    for bad, reason in [
        (data[:-1], "truncated|trailing"),
        (data + b"\0", "trailing"),
        (b"XXXXXXXX" + data[8:], "magic"),
        (b"", "truncated"),
    ]:
        with pytest.raises(MalformedProof, match=reason):
            verifier.verify(fib, pk.vk, publics, bad)
    # an unreduced field element (p itself) where an out-of-domain value starts
    offset = 8 + 4 + 3 * 32 + 8 + 4 + 4  # magic, log_n, roots, nonce, no claims, the count
    unreduced = data[:offset] + P.to_bytes(4, "little") + data[offset + 4 :]
    with pytest.raises(MalformedProof, match="not reduced"):
        verifier.verify(fib, pk.vk, publics, unreduced)


@cache
def _count_offsets() -> list[int]:
    """Where the honest proof's length prefixes are (what the decoder reads as counts)."""
    offsets: list[int] = []
    count = proof_format._Reader.count

    def spy(reader: proof_format._Reader) -> int:
        offsets.append(reader.pos)
        return count(reader)

    with mock.patch.object(proof_format._Reader, "count", spy):
        StarkProof.from_bytes(honest()[1])
    return offsets


@settings(max_examples=150)
@given(st.data())
def test_any_changed_bytes_are_rejected_in_one_line(data: st.DataObject) -> None:
    """Whatever bytes change (a count, a length, a digest, a value, a nonce), verification
    ends in InvalidProof or MalformedProof: never another exception from inside the checks
    (the NumPy verifier reshapes what the counts say), never an accepted proof."""
    fib, pk, _ = setup()
    publics, honest_bytes = honest()
    bad = bytearray(honest_bytes)
    anywhere = st.integers(0, len(bad) - 1)
    a_count = st.sampled_from(_count_offsets()).map(lambda at: at + data.draw(st.integers(0, 3)))
    for at in data.draw(st.sets(anywhere | a_count, min_size=1, max_size=3)):
        bad[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises((verifier.InvalidProof, MalformedProof)) as raised:
        verifier.verify(fib, pk.vk, publics, bytes(bad))
    assert type(raised.value) in (verifier.InvalidProof, MalformedProof)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("chunks", "points"), [(1, 1), (2, 2), (3, 4), (4, 4)])
def test_the_quotient_is_evaluated_on_enough_points_for_its_degree(
    chunks: int, points: int
) -> None:
    """A quotient of degree below chunks * n needs that many values, on a power-of-two coset."""
    assert quotient_points(10, chunks) == 10 + points.bit_length() - 1
