"""The GPU backend against its CPU twins (cpu.py, ntt.py, merkle.py, fri.py, hashlib), on random
inputs, in four flavours: the array code with NumPy, the CUDA kernels built for the host
(kernels.py's HostKernels: the same kernel source, run on the CPU), and where an NVIDIA GPU is at
hand the array code with CuPy and the kernels on the device (those cases skip with the reason
otherwise)."""

import dataclasses
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender import air, field, fri, lookup, merkle, ntt
from atlasdev.engine.airbender import extension as ext
from atlasdev.engine.airbender.backend import (
    QuotientInputs,
    UnsatisfiedConstraints,
    quotient_points,
)
from atlasdev.engine.airbender.cpu import CPU, evaluate_at
from atlasdev.engine.airbender.device import probe
from atlasdev.engine.airbender.gpu import ArrayBackend, merkle_tree
from atlasdev.engine.airbender.kernel_backend import KernelBackend
from atlasdev.engine.airbender.kernels import CudaKernels, HostKernels, KernelsUnavailable

P = field.P
FLAVOURS = ("numpy", "host-kernels", "cupy", "cuda-kernels")


def _flavours() -> list:
    found = probe()
    no_gpu = pytest.mark.skipif(found.gpu is None, reason=found.reason or "a GPU")
    return [pytest.param(f, marks=no_gpu) if "cu" in f else f for f in FLAVOURS]


def host_kernels() -> HostKernels:
    """The kernels built for this CPU, or a skip where there is no C++ compiler. Their
    launches run three grid-stride threads, the last first: an item that depends on another
    item of its launch (a race on a GPU) changes the values, and the comparisons fail. Three,
    odd, puts items a power of two apart (an NTT's butterflies, a tree's children) on different
    threads."""
    try:
        return HostKernels(threads=3)
    except KernelsUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=_flavours())
def backend(request: pytest.FixtureRequest) -> ArrayBackend:
    """A fresh GPU backend of one flavour."""
    if request.param == "numpy":
        return ArrayBackend(np)
    if request.param == "host-kernels":
        return KernelBackend(host_kernels())
    import cupy

    return ArrayBackend(cupy) if request.param == "cupy" else KernelBackend(CudaKernels(cupy))


def _host(a) -> np.ndarray:  # type: ignore[no-untyped-def]
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _random(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(0, P, size=shape, dtype=np.uint64).astype(np.uint32)


def test_field_operations(backend: ArrayBackend) -> None:
    rng = np.random.default_rng(1)
    a, b = _random(rng, 1000), _random(rng, 1000)
    a[:3], b[:3] = [0, P - 1, 1], [P - 1, P - 1, 0]  # the edges
    f, xp = backend.arrays, backend.xp
    da, db = xp.asarray(a), xp.asarray(b)
    assert np.array_equal(_host(f.add(da, db)), field.vadd(a, b))
    assert np.array_equal(_host(f.sub(da, db)), field.vsub(a, b))
    assert np.array_equal(_host(f.mul(da, db)), field.vmul(a, b))
    assert np.array_equal(_host(f.powers(12345, 37)), field.powers(12345, 37))
    inv = _host(f.inverse(xp.asarray(a[3:20])))
    assert [int(v) for v in inv] == [field.inv(int(v)) for v in a[3:20]]


def test_scaling_is_exact_at_the_edges(backend: ArrayBackend) -> None:
    """The kernels' scale hands its factors to fmul_by in Montgomery form (as the NTTs do their
    twiddles): the products are the field's, for the largest values too."""
    if not isinstance(backend, KernelBackend):
        pytest.skip("the array code multiplies with the field's remainder, no scale kernel")
    rng = np.random.default_rng(5)
    a = _random(rng, 3, 64)
    a[0, :6] = [0, 1, P - 1, P - 2, P - 1, 1]
    f = _random(rng, 64)
    f[:6] = [P - 1, P - 1, P - 1, P - 1, 0, 1]
    xp = backend.xp
    got = backend.arrays.scale(xp.array(a), xp.asarray(f))  # type: ignore[attr-defined]
    assert np.array_equal(_host(got), field.vmul(a, np.tile(f, (3, 1))))
    got = backend.arrays.scale(xp.array(a), P - 1)  # type: ignore[attr-defined]
    assert np.array_equal(_host(got), field.vmul(a, np.full_like(a, P - 1)))


def test_extension_products(backend: ArrayBackend) -> None:
    rng = np.random.default_rng(2)
    a, b = _random(rng, 4, 50), _random(rng, 4, 50)
    xp = backend.xp
    got = _host(backend.arrays.emul(xp.asarray(a), xp.asarray(b)))
    for j in range(50):
        want = ext.emul(tuple(int(v) for v in a[:, j]), tuple(int(v) for v in b[:, j]))  # type: ignore[arg-type]
        assert tuple(int(v) for v in got[:, j]) == want


CASES = [(0, 1), (1, 1), (2, 1), (3, 2), (2, 3), (4, 2), (5, 2), (6, 3), (7, 4), (2, 5), (10, 1)]
CASES += [(11, 1), (12, 2), (13, 1), (14, 3), (9, 5), (16, 2), (21, 1)]
# register passes below 2^12 values (first passes of 16 values where n or the LDE has them, then
# passes of one to four stages), tile passes from there (the first twelve stages in one tile, the
# rest nine or fewer a tile, an LDE's first reading the coefficients)


@pytest.mark.parametrize(("log_n", "log_blowup"), CASES)
def test_ntt_and_coset_lde_match_the_cpu(
    backend: ArrayBackend, log_n: int, log_blowup: int
) -> None:
    rng = np.random.default_rng(log_n)
    values = _random(rng, 3, 1 << log_n)
    f, xp = backend.arrays, backend.xp
    coeffs = f.interpolate(xp.asarray(values))
    assert np.array_equal(_host(coeffs), ntt.interpolate(values))
    lde = f.evaluate_coset(coeffs, log_blowup)
    assert np.array_equal(_host(lde), ntt.evaluate_coset(ntt.interpolate(values), log_blowup))
    if getattr(f, "tiled", False) and log_n + log_blowup >= 12:  # the kernels' other NTT path
        f.tiled = False  # type: ignore[attr-defined]
        assert np.array_equal(_host(f.interpolate(xp.asarray(values))), _host(coeffs))
        assert np.array_equal(_host(f.evaluate_coset(coeffs, log_blowup)), _host(lde))


@pytest.mark.parametrize("length", [0, 4, 32, 60, 64, 68, 124, 128, 132, 400])
def test_blake2s_leaves_match_hashlib(backend: ArrayBackend, length: int) -> None:
    rng = np.random.default_rng(length)
    words = rng.integers(0, 2**32, size=(length // 4, 5), dtype=np.uint64).astype(np.uint32)
    digests = _host(backend.arrays.hash_leaves(backend.xp.asarray(words)))
    for j in range(5):
        data = struct.pack(f"<{length // 4}I", *(int(w) for w in words[:, j]))
        assert digests[:, j].astype("<u4").tobytes() == hashlib.blake2s(data).digest()


@pytest.mark.parametrize(("width", "log_n"), [(0, 2), (1, 0), (5, 3), (17, 6)])
def test_merkle_trees_match_the_cpu(backend: ArrayBackend, width: int, log_n: int) -> None:
    rng = np.random.default_rng(width)
    cols = _random(rng, width, 1 << log_n)
    want = merkle.commit(cols)
    got = merkle_tree(backend.arrays, backend.xp.asarray(cols))
    assert got.root == want.root
    for i in range(1 << log_n):
        assert got.path(i) == want.path(i)
    assert got.paths([3, 0, 3]) == want.paths([3, 0, 3])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    width=st.integers(0, 20),
    log_n=st.integers(0, 9),
    log_blowup=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_commitment_matches_the_cpus(
    backend: ArrayBackend, width: int, log_n: int, log_blowup: int, seed: int
) -> None:
    """Whatever the matrix: the same coefficients, blown-up values, root and openings. (With
    the host kernels' three threads, a race in the NTT or Blake2s kernels shows here too.)"""
    values = _random(np.random.default_rng(seed), width, 1 << log_n)
    mine, ref = backend.commit_values(values, log_blowup), CPU.commit_values(values, log_blowup)
    assert mine.root == ref.root
    assert np.array_equal(_host(mine.coeffs), ref.coeffs)
    assert np.array_equal(_host(mine.lde), ref.lde)
    last = (1 << (log_n + log_blowup)) - 1
    assert backend.open(mine, [0, last, seed & last]) == CPU.open(ref, [0, last, seed & last])


def test_commitments_openings_and_ood_values_match_the_cpu(backend: ArrayBackend) -> None:
    rng = np.random.default_rng(7)
    values = _random(rng, 6, 1 << 7)
    mine, ref = backend.commit_values(values, 2), CPU.commit_values(values, 2)
    assert mine.root == ref.root and mine.width == ref.width == 6
    positions = [0, 1, 77, (1 << 9) - 1, 77]
    assert backend.open(mine, positions) == CPU.open(ref, positions)
    zeta = (123, 456, 789, 1011)
    assert backend.evaluate_at(mine, zeta) == evaluate_at(ref.coeffs, zeta)
    adopted = backend.adopt(ref)
    assert adopted.root == ref.root and backend.adopt(adopted) is adopted
    assert backend.adopt(ref) is adopted  # uploaded once
    assert backend.open(adopted, [5]) == CPU.open(ref, [5])


def test_a_whole_proof_is_byte_identical_to_the_cpu_one(backend: ArrayBackend) -> None:
    from atlasdev.engine.airbender import prover, verifier
    from atlasdev.engine.airbender.proof import StarkProof
    from tests.engine.airbender.test_stark import TAMPERS, honest, setup, trace

    fib, pk, k = setup()
    publics, want = honest()
    got = prover.prove(pk, trace(k), publics, backend=backend).to_bytes()
    assert got == want
    verifier.verify(fib, pk.vk, publics, got)
    for tamper in TAMPERS.values():  # the GPU's proof, tampered, is rejected like the CPU's
        with pytest.raises(verifier.InvalidProof):
            verifier.verify(fib, pk.vk, publics, tamper(StarkProof.from_bytes(got)).to_bytes())


def test_a_zkos_block_proof_is_byte_identical_to_the_cpu_one(backend: ArrayBackend) -> None:
    """The RV32IM AIR with its LogUp columns (2^16 rows): the issue's contract on a real
    block."""
    from atlasdev.engine.airbender import block_prover
    from tests.engine.proven_blocks import empty_block, program

    want, native = empty_block(1)
    got = block_prover.prove_block(program(), native.input_words, backend=backend)
    assert got.proof == want.proof and got.report == want.report


def _every_instruction_air() -> air.Air:
    """Constraints that between them use every instruction of the quotient program (base and
    extension arithmetic, loads of every matrix and the next row, constants, both
    accumulators) and every divisor group: their values on random matrices are compared."""
    A = air
    mix = A.Air("mix", n_pre=1, n_main=2, n_aux=2, n_challenges=2, n_public=1, n_pubcols=1)
    a, b, pre, u, v = A.main(0), A.main(1), A.pre(0), A.aux(0), A.aux(1)
    gamma, delta, pub = A.challenge(0), A.challenge(1), A.public(0)
    mix.add(A.Where.TRANSITION, a.next * b - pre * 7 + (-a) + (v.next - u) * 3, "next rows")
    mix.add(A.Where.EVERY_ROW, (u - gamma) * (v + a) - (delta - b) * -u, "extension")
    mix.add(A.Where.FIRST_ROW, u * b + (a - v) - (b - u) + gamma * pub, "mixed")
    mix.add(A.Where.LAST_ROW, A.public_column(0) * a - pub + A.claim(0) - u, "claims")
    mix.add(A.Where.TRANSITION, a * b - pre * a.next, "base")  # accumulated by ACC_B
    mix.claims = [0]
    return mix


def test_the_quotient_matches_the_cpu_on_random_matrices(backend: ArrayBackend) -> None:
    from atlasdev.engine.airbender.evaluation import ACC_B, ACC_E, QuotientKernel

    mix = _every_instruction_air()
    kernel = QuotientKernel(mix.constraints)
    ops = {int(op) for op in kernel.code[:, 0]}
    assert len(ops) >= 16, sorted(ops)  # the AIR reaches (nearly) every instruction
    assert {ACC_B, ACC_E} <= ops  # both accumulators
    rng = np.random.default_rng(11)
    log_n, lb = 5, 2
    mats = [_random(rng, w, 1 << log_n) for w in (1, 2, 8)]
    cpu_mats = [CPU.commit_values(m, lb) for m in mats]
    mine = [backend.commit_values(m, lb) for m in mats]
    pubcols = _random(rng, 1, 1 << log_n)
    chal = [tuple(int(v) for v in _random(rng, 4)) for _ in range(2)]
    alpha = ext.powers(tuple(int(v) for v in _random(rng, 4)), len(mix.constraints))
    publics = [int(_random(rng, 1)[0])]
    wants = {}
    # the whole blown-up coset, and its first half: what degree-3 constraints need
    for log_points in (log_n + lb, quotient_points(log_n, 2)):
        inputs = QuotientInputs(
            kernel, pubcols, log_n, lb, chal, publics, chal[:1], alpha, log_points
        )  # type: ignore[arg-type]
        wants[log_points] = want = CPU.quotient(*cpu_mats, inputs)
        assert want.shape == (4, 1 << log_points)
        got = backend.quotient(backend.adopt(cpu_mats[0]), *mine[1:], inputs)
        assert np.array_equal(_host(got), want)
    half = wants[log_n + 1]  # the same values as the first half of the whole
    assert np.array_equal(half, wants[log_n + lb][:, : half.shape[1]])
    beyond = dataclasses.replace(inputs, log_points=log_n + lb + 1)  # numba checks no bounds
    with pytest.raises(ValueError, match="beyond the inputs' domain"):
        CPU.quotient(*cpu_mats, beyond)


def test_a_quotient_of_too_high_a_degree_is_refused(backend: ArrayBackend) -> None:
    """Values on more points than the quotient's degree needs must be a polynomial's of that
    degree: random ones on the whole blown-up coset are not."""
    rng = np.random.default_rng(13)
    log_n, lb = 4, 2
    values = _random(rng, 4, 1 << (log_n + lb))
    with pytest.raises(UnsatisfiedConstraints):
        CPU.commit_quotient(values, log_n, lb, 2)
    with pytest.raises(UnsatisfiedConstraints):
        backend.commit_quotient(backend.xp.asarray(values), log_n, lb, 2)


def test_the_quotient_domain_is_made_once_a_size(backend: ArrayBackend) -> None:
    """Next-row positions and divisor inverses depend on the size alone: made on the device
    once, the CPU's values, dropped by release() (after an out-of-memory error)."""
    from atlasdev.engine.airbender.cpu import quotient_domain

    for log_n, lb, log_points in ((3, 1, 4), (5, 2, 6), (5, 2, 7)):
        nxt, invs = backend._quotient_domain(log_n, lb, log_points)
        assert backend._quotient_domain(log_n, lb, log_points)[0] is nxt
        want_nxt, want_invs = quotient_domain(log_n, lb, log_points)
        assert want_nxt.shape == (1 << log_points,) and want_invs.shape == (4, 1 << log_points)
        assert np.array_equal(_host(nxt), want_nxt)
        assert np.array_equal(_host(invs), want_invs)
    backend.release()
    assert backend._quotient_domain(5, 2, 7)[0] is not nxt


def test_deep_and_fri_folds_match_the_cpu(backend: ArrayBackend) -> None:
    rng = np.random.default_rng(12)
    log_n, lb = 4, 2
    widths = (2, 3, 0, 4)
    cpu_mats = [CPU.commit_values(_random(rng, w, 1 << log_n), lb) for w in widths]
    mine = [backend.adopt(m) for m in cpu_mats]
    e = lambda: tuple(int(v) for v in _random(rng, 4))  # noqa: E731
    zeta, zeta_next, f_z, f_tzn = e(), e(), e(), e()
    weights = ext.powers(e(), sum(widths) + 1)
    args = (3, log_n + lb, zeta, zeta_next, weights, f_z, f_tzn)
    want = CPU.deep(cpu_mats, *args)  # type: ignore[arg-type]
    got = backend.deep(mine, *args)  # type: ignore[arg-type]
    assert np.array_equal(_host(got), want)
    beta = e()
    assert np.array_equal(_host(backend._fold(got, beta, 7)), fri.fold_once(want, beta, 7))


def _lookup_air() -> lookup.AuxTrace:
    """Three interactions (an odd count: the last helper holds one) over preprocessed and main
    cells, constants and products, with base and extension multiplicities' arithmetic."""
    A = air
    mix = A.Air("lookups", n_pre=1, n_main=3)
    a, b, c, pre = A.main(0), A.main(1), A.main(2), A.pre(0)
    layout = lookup.add_logup(
        mix,
        [
            lookup.Interaction((a, b * pre), c, "pair"),
            lookup.Interaction((b + 3,), pre * a - 1, "shifted"),
            lookup.Interaction((c, a, -b), A.lift(5) - c, "triple"),
        ],
    )
    return lookup.AuxTrace(mix, layout)


@pytest.mark.parametrize("log_n", [3, 4, 7])  # fewer rows than a chunk, one chunk, several
def test_logup_columns_match_the_cpu_on_random_matrices(backend: ArrayBackend, log_n: int) -> None:
    aux = _lookup_air()
    rng = np.random.default_rng(13 + log_n)
    pre, main = _random(rng, 1, 1 << log_n), _random(rng, 3, 1 << log_n)
    chal = [tuple(int(v) for v in _random(rng, 4)) for _ in range(2)]
    want = aux.build(chal, pre, main)  # type: ignore[arg-type]
    got, last = backend.logup(aux, chal, pre, main, [])  # type: ignore[arg-type]
    assert np.array_equal(_host(got), want)
    assert np.array_equal(last, want[:, -1])
    ref = CPU.commit_values(want, 2)
    assert backend.commit_values(got, 2).root == ref.root  # committed from where it was built


def test_the_kernels_refuse_programs_they_do_not_run() -> None:
    from atlasdev.engine.airbender import evaluation, straight_line

    aux = _lookup_air()
    code = aux.kernel.program.code
    straight_line.rows_source(code)
    with pytest.raises(ValueError, match="quotient kernel has no instruction 18"):  # STORE
        straight_line.quotient_source(code)
    backend = KernelBackend(host_kernels())
    pre, main = np.ones((1, 8), np.uint32), np.ones((3, 8), np.uint32)
    chal = [(1, 2, 3, 4), (5, 6, 7, 8)]
    aux.kernel.program.code = np.vstack([code, [[evaluation.LOAD_MAIN, 0, 0, 1]]])
    with pytest.raises(ValueError, match="current row only"):
        backend.logup(aux, chal, pre, main, [])  # type: ignore[arg-type]
    aux.kernel.program.code = np.vstack([code, [[evaluation.LOAD_AUX, 0, 0, 0]]])
    with pytest.raises(ValueError, match="rows kernel has no instruction"):
        backend.logup(aux, chal, pre, main, [])  # type: ignore[arg-type]


def test_the_proving_keys_values_are_uploaded_once(backend: ArrayBackend) -> None:
    values = np.arange(12, dtype=np.uint32).reshape(3, 4)
    here = backend.resident(values)
    assert backend.resident(values) is here  # the same device array, not a second upload
    assert np.array_equal(_host(here), values)
