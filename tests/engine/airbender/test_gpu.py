"""The GPU backend's array code against its CPU twins (cpu.py, ntt.py, merkle.py, hashlib), on
random inputs: with NumPy everywhere, and with CuPy where an NVIDIA GPU is at hand (those cases
skip with the reason otherwise)."""

import hashlib
import struct

import numpy as np
import pytest

from atlasdev.engine.airbender import extension as ext
from atlasdev.engine.airbender import field, merkle, ntt
from atlasdev.engine.airbender.cpu import CPU, evaluate_at
from atlasdev.engine.airbender.device import probe
from atlasdev.engine.airbender.gpu import ArrayBackend, Arrays, merkle_tree

P = field.P


def _modules() -> list:
    found = probe()
    reason = found.reason or "a GPU"
    cupy = pytest.param("cupy", marks=pytest.mark.skipif(found.gpu is None, reason=reason))
    return ["numpy", cupy]


@pytest.fixture(params=_modules())
def xp(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    import importlib

    return importlib.import_module(request.param)


def _host(a) -> np.ndarray:  # type: ignore[no-untyped-def]
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _random(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(0, P, size=shape, dtype=np.uint64).astype(np.uint32)


def test_field_operations(xp) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    a, b = _random(rng, 1000), _random(rng, 1000)
    a[:3], b[:3] = [0, P - 1, 1], [P - 1, P - 1, 0]  # the edges
    f = Arrays(xp)
    da, db = xp.asarray(a), xp.asarray(b)
    assert np.array_equal(_host(f.add(da, db)), field.vadd(a, b))
    assert np.array_equal(_host(f.sub(da, db)), field.vsub(a, b))
    assert np.array_equal(_host(f.mul(da, db)), field.vmul(a, b))
    assert np.array_equal(_host(f.powers(12345, 37)), field.powers(12345, 37))
    inv = _host(f.inverse(xp.asarray(a[3:20])))
    assert [int(v) for v in inv] == [field.inv(int(v)) for v in a[3:20]]


def test_extension_products(xp) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    a, b = _random(rng, 4, 50), _random(rng, 4, 50)
    got = _host(Arrays(xp).emul(xp.asarray(a), xp.asarray(b)))
    for j in range(50):
        want = ext.emul(tuple(int(v) for v in a[:, j]), tuple(int(v) for v in b[:, j]))  # type: ignore[arg-type]
        assert tuple(int(v) for v in got[:, j]) == want


@pytest.mark.parametrize(("log_n", "log_blowup"), [(0, 1), (1, 1), (3, 2), (6, 3), (10, 1)])
def test_ntt_and_coset_lde_match_the_cpu(xp, log_n: int, log_blowup: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(log_n)
    values = _random(rng, 3, 1 << log_n)
    f = Arrays(xp)
    coeffs = f.interpolate(xp.asarray(values))
    assert np.array_equal(_host(coeffs), ntt.interpolate(values))
    lde = f.evaluate_coset(coeffs, log_blowup)
    assert np.array_equal(_host(lde), ntt.evaluate_coset(ntt.interpolate(values), log_blowup))


@pytest.mark.parametrize("length", [0, 4, 32, 60, 64, 68, 124, 128, 132, 400])
def test_blake2s_matches_hashlib(xp, length: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(length)
    words = rng.integers(0, 2**32, size=(length // 4, 5), dtype=np.uint64).astype(np.uint32)
    digests = _host(Arrays(xp).blake2s(xp.asarray(words), length))
    for j in range(5):
        data = struct.pack(f"<{length // 4}I", *(int(w) for w in words[:, j]))
        assert digests[:, j].astype("<u4").tobytes() == hashlib.blake2s(data).digest()


@pytest.mark.parametrize(("width", "log_n"), [(0, 2), (1, 0), (5, 3), (17, 6)])
def test_merkle_trees_match_the_cpu(xp, width: int, log_n: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(width)
    cols = _random(rng, width, 1 << log_n)
    want = merkle.commit(cols)
    got = merkle_tree(Arrays(xp), xp.asarray(cols))
    assert got.root == want.root
    for i in range(1 << log_n):
        assert got.path(i) == want.path(i)


def test_commitments_openings_and_ood_values_match_the_cpu(xp) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    values = _random(rng, 6, 1 << 7)
    backend = ArrayBackend(xp)
    mine, ref = backend.commit_values(values, 2), CPU.commit_values(values, 2)
    assert mine.root == ref.root and mine.width == ref.width == 6
    for pos in (0, 1, 77, (1 << 9) - 1):
        assert backend.open(mine, pos) == CPU.open(ref, pos)
    zeta = (123, 456, 789, 1011)
    assert backend.evaluate_at(mine, zeta) == evaluate_at(ref.coeffs, zeta)
    adopted = backend.adopt(ref)
    assert adopted.root == ref.root and backend.adopt(adopted) is adopted
    assert backend.adopt(ref) is adopted  # uploaded once
    assert backend.open(adopted, 5) == CPU.open(ref, 5)


def test_a_whole_proof_is_byte_identical_to_the_cpu_one(xp) -> None:  # type: ignore[no-untyped-def]
    from atlasdev.engine.airbender import prover, verifier
    from tests.engine.airbender.test_stark import honest, setup, trace

    fib, pk, k = setup()
    publics, want = honest()
    got = prover.prove(pk, trace(k), publics, backend=ArrayBackend(xp)).to_bytes()
    assert got == want
    verifier.verify(fib, pk.vk, publics, got)


def test_a_zkos_block_proof_is_byte_identical_to_the_cpu_one(xp) -> None:  # type: ignore[no-untyped-def]
    """The RV32IM AIR with its LogUp columns (2^16 rows): the issue's contract on a real
    block."""
    from atlasdev.engine.airbender import block_prover
    from tests.engine.proven_blocks import empty_block, program

    want, native = empty_block(1)
    got = block_prover.prove_block(program(), native.input_words, backend=ArrayBackend(xp))
    assert got.proof == want.proof and got.report == want.report
