"""LogUp on small AIRs: honest lookups prove and verify, a value outside the table cannot."""

from functools import cache

import numpy as np
import pytest

from atlasdev.engine.airbender import air as A
from atlasdev.engine.airbender import lookup, prover, verifier
from atlasdev.engine.airbender.field import P
from atlasdev.engine.airbender.stark import StarkParams

PARAMS = StarkParams(num_queries=16, pow_bits=4)
LOG_N = 9  # 512 rows: the byte table twice


@cache
def byte_check() -> tuple[A.Air, lookup.LogUp, lookup.AuxTrace, prover.ProvingKey]:
    """Two main columns whose values must be bytes; the table is a preprocessed column, and a
    third main column says how often each table row was used."""
    air = A.Air("range-test", n_pre=1, n_main=3)
    layout = lookup.add_logup(
        air,
        [
            lookup.Interaction((A.main(0),), A.lift(1), "v0 is a byte"),
            lookup.Interaction((A.main(1),), A.lift(1), "v1 is a byte"),
            lookup.Interaction((A.pre(0),), -A.main(2), "the byte table"),
        ],
    )
    table = (np.arange(1 << LOG_N) % 256).astype(np.uint32)
    pk = prover.setup(air, LOG_N, table[None, :], PARAMS)
    return air, layout, lookup.AuxTrace(air, layout), pk


def trace(v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    counts = np.zeros(1 << LOG_N, dtype=np.uint32)
    for v in np.concatenate([v0, v1]):
        counts[int(v) % 256] += 1  # the first copy of each table value carries its count
    return np.stack([v0, v1, counts]).astype(np.uint32)


def test_values_in_the_table_prove_and_verify() -> None:
    air, _, aux, pk = byte_check()
    rng = np.random.default_rng(0)
    t = trace(rng.integers(0, 256, 1 << LOG_N), rng.integers(0, 256, 1 << LOG_N))
    proof = prover.prove(pk, t, [], aux)
    verifier.verify(air, pk.vk, [], proof.to_bytes())


def test_the_running_sum_balances_only_for_honest_counts() -> None:
    _, layout, aux, pk = byte_check()
    t = trace(np.full(1 << LOG_N, 7), np.arange(1 << LOG_N) % 256)
    challenges = [(5, 6, 7, 8), (9, 10, 11, 12)]
    assert lookup.total(aux.build(challenges, pk.pre_values, t), layout) == (0, 0, 0, 0)
    t[2, 7] -= 1
    t[2, 8] += 1
    assert lookup.total(aux.build(challenges, pk.pre_values, t), layout) != (0, 0, 0, 0)


@pytest.mark.parametrize("bad", [256, 300, P - 1])
def test_a_value_outside_the_table_cannot_be_proven(bad: int) -> None:
    _, _, aux, pk = byte_check()
    v0 = np.zeros(1 << LOG_N, dtype=np.uint32)
    v0[100] = bad
    t = trace(v0, np.zeros(1 << LOG_N, dtype=np.uint32))
    with pytest.raises(prover.UnsatisfiedConstraints):
        prover.prove(pk, t, [], aux)


def test_interactions_read_the_current_row_only() -> None:
    air = A.Air("bad", n_pre=0, n_main=1)
    with pytest.raises(ValueError, match="current row"):
        lookup.add_logup(air, [lookup.Interaction((A.main(0).next,), A.lift(1), "next")])


@pytest.mark.parametrize(("helpers", "n"), [(1, 1), (3, 100), (5, 3 * 4096 + 5)])
def test_the_sum_column_accumulates_every_helper_down_the_rows(helpers: int, n: int) -> None:
    """Row j of the sum column is the helpers' values summed over rows 0..j, coefficient by
    coefficient (several blocks of rows and a partial one at the largest size); the helper
    columns are left as they were."""
    first, sum_col = 8, 2 + helpers  # two extension columns before the helpers, then the sum
    out = np.random.default_rng(n).integers(0, P, (4 * (sum_col + 1), n), dtype=np.uint32)
    before = out.copy()
    lookup._running_sum(out, first, helpers, sum_col)
    rows = before[first : first + 4 * helpers].astype(np.int64).reshape(helpers, 4, n)
    want = np.cumsum(rows.sum(axis=0), axis=1) % P
    assert np.array_equal(out[4 * sum_col :], want)
    assert np.array_equal(out[: 4 * sum_col], before[: 4 * sum_col])


def test_a_multiplicity_must_be_a_base_field_value() -> None:
    air = A.Air("ext-multiplicity", n_pre=0, n_main=1)
    bad = lookup.Interaction((A.main(0),), A.challenge(lookup.Z) * A.main(0), "drawn count")
    layout = lookup.add_logup(air, [bad, lookup.Interaction((A.main(0),), A.lift(1), "ok")])
    with pytest.raises(ValueError, match="a multiplicity must be a base-field expression"):
        lookup.AuxTrace(air, layout)


@pytest.mark.parametrize("length", [0, 1, 2, 5])
def test_a_fingerprint_is_z_minus_the_tuple_in_powers_of_beta(length: int) -> None:
    from atlasdev.engine.airbender import extension as ext

    rng = np.random.default_rng(length)
    z, beta = (tuple(int(v) for v in rng.integers(0, P, 4)) for _ in range(2))
    cells = [int(v) for v in rng.integers(0, P, length)]
    point = A.Point([], [], [(v, 0, 0, 0) for v in cells], [], [], [], [z, beta], [])
    (got,) = A.evaluate([lookup.fingerprint(tuple(A.main(i) for i in range(length)))], point)
    want, power = z, ext.ONE
    for v in cells:
        want = ext.esub(want, ext.emul(power, ext.lift(v)))
        power = ext.emul(power, beta)
    assert tuple(got) == want


def test_helper_columns_are_m1_over_f1_plus_m2_over_f2() -> None:
    """The helpers' norm-based inversion against Python's inverses in the extension."""
    from atlasdev.engine.airbender import extension as ext

    rng = np.random.default_rng(7)
    n, count = 37, 3  # a block shorter than 1024 rows; pairs (0, 1) and (2,)
    fm = rng.integers(0, P, size=(lookup.FM_ROWS * count, n), dtype=np.uint32)
    fm[: lookup.FM_ROWS, 0] = [P - 1, P - 1, P - 1, P - 1, P - 1]
    out = np.zeros((8, n), dtype=np.uint32)
    lookup._helpers(fm, out, 0)
    for j in range(n):
        terms = []
        for k in range(count):
            r = lookup.FM_ROWS * k
            f = tuple(int(v) for v in fm[r : r + 4, j])
            terms.append(ext.emul(ext.einv(f), (int(fm[r + 4, j]), 0, 0, 0)))  # type: ignore[arg-type]
        want = [ext.eadd(terms[0], terms[1]), terms[2]]
        assert [tuple(int(v) for v in out[4 * h : 4 * h + 4, j]) for h in (0, 1)] == want
