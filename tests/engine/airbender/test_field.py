"""BabyBear and its quartic extension: the three forms (Python, numba, numpy) agree."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from atlasdev.engine.airbender import extension as ext
from atlasdev.engine.airbender import field
from atlasdev.engine.airbender.field import P

elements = st.integers(0, P - 1)
ext_elements = st.tuples(elements, elements, elements, elements)


def test_constants() -> None:
    assert P == 2**31 - 2**27 + 1
    # 31 generates the whole group: its order is p - 1, not a proper divisor of it.
    for q in (2, 3, 5):
        assert pow(field.GENERATOR, (P - 1) // q, P) != 1
    w = field.root_of_unity(field.TWO_ADICITY)
    assert pow(w, 1 << field.TWO_ADICITY, P) == 1
    assert pow(w, 1 << (field.TWO_ADICITY - 1), P) == P - 1


@given(elements, elements)
def test_numba_scalars_match_python(a: int, b: int) -> None:
    x, y = np.uint32(a), np.uint32(b)
    assert field.fadd(x, y) == field.add(a, b)
    assert field.fsub(x, y) == field.sub(a, b)
    assert field.fmul(x, y) == field.mul(a, b)
    assert field.fneg(x) == field.neg(a)
    if a:
        assert field.finv(x) == field.inv(a)
        assert field.mul(a, field.inv(a)) == 1


@given(elements, elements)
@example(P - 1, P - 1)
@example(0, P - 1)
@example(P - 1, 1)
def test_a_factor_in_montgomery_form_multiplies_exactly(a: int, c: int) -> None:
    cm = field.montgomery(np.uint32(c))
    assert int(cm) == (c << 32) % P
    assert field.fmul_by(np.uint32(a), cm) == field.mul(a, c)


@given(elements, elements)
@example(P - 1, P - 1)
@example(0, P - 1)
def test_products_in_montgomery_reductions_are_the_fields(a: int, b: int) -> None:
    assert field.fmul_lanes(np.uint32(a), np.uint32(b)) == field.mul(a, b)


@given(st.integers(0, 2**64 - 1))
@example(2**64 - 1)
@example(4 * (P - 1) ** 2)
@example(0)
def test_a_montgomery_reduction_of_any_u64(x: int) -> None:
    assert field.redc64(np.uint64(x)) == x * pow(2, -32, P) % P


def test_batch_inverse() -> None:
    values = np.arange(1, 1000, dtype=np.uint32) * np.uint32(7919)
    out = np.empty_like(values)
    field.batch_inverse(values, out)
    assert [int(v) for v in out] == field.batch_inv([int(v) for v in values])
    assert [int(v) for v in out] == [field.inv(int(v)) for v in values]


def test_powers() -> None:
    assert [int(v) for v in field.powers(5, 37)] == [pow(5, i, P) for i in range(37)]


def test_x4_minus_11_is_irreducible() -> None:
    # x^n - a is irreducible iff every prime r | n divides ord(a) but not (p-1)/ord(a), and
    # p = 1 mod 4 when 4 | n (Lidl & Niederreiter, Theorem 3.75). For n = 4 that is: p = 1 mod 4
    # and a is not a square (then ord(a) holds all the factors 2 of p - 1).
    assert P % 4 == 1
    assert pow(ext.W, (P - 1) // 2, P) == P - 1


@given(ext_elements, ext_elements, ext_elements)
def test_extension_is_a_field(a: ext.Ext, b: ext.Ext, c: ext.Ext) -> None:
    assert ext.emul(a, b) == ext.emul(b, a)
    assert ext.emul(a, ext.eadd(b, c)) == ext.eadd(ext.emul(a, b), ext.emul(a, c))
    assert ext.emul(ext.emul(a, b), c) == ext.emul(a, ext.emul(b, c))
    if a != ext.ZERO:
        assert ext.emul(a, ext.einv(a)) == ext.ONE


@given(ext_elements, ext_elements, elements)
def test_numba_extension_matches_python(a: ext.Ext, b: ext.Ext, k: int) -> None:
    u = [np.uint32(v) for v in a + b]
    assert tuple(int(v) for v in ext.kmul(*u)) == ext.emul(a, b)
    assert tuple(int(v) for v in ext.kadd(*u)) == ext.eadd(a, b)
    assert tuple(int(v) for v in ext.ksub(*u)) == ext.esub(a, b)
    assert tuple(int(v) for v in ext.kscale(*u[:4], np.uint32(k))) == ext.escale(a, k)
    if a != ext.ZERO:
        assert tuple(int(v) for v in ext.kinv(*u[:4])) == ext.einv(a)


def test_numba_extension_products_at_the_largest_values() -> None:
    # kmul sums up to four unreduced products before reducing: the largest sums are here
    top, near = P - 1, P - 2
    for a in [(top,) * 4, (top, near, top, near), (0, top, 0, top), (top, 0, top, 0)]:
        for b in [(top,) * 4, (near, top, near, top), (top, top, 1, 0)]:
            u = [np.uint32(v) for v in a + b]
            assert tuple(int(v) for v in ext.kmul(*u)) == ext.emul(a, b)  # type: ignore[arg-type]
            assert tuple(int(v) for v in ext.kmul_lanes(*u)) == ext.emul(a, b)  # type: ignore[arg-type]


@given(ext_elements, ext_elements, elements)
def test_numba_extension_products_in_montgomery_reductions(a: ext.Ext, b: ext.Ext, k: int) -> None:
    u = [np.uint32(v) for v in a + b]
    assert tuple(int(v) for v in ext.kmul_lanes(*u)) == ext.emul(a, b)
    assert tuple(int(v) for v in ext.kscale_lanes(*u[:4], np.uint32(k))) == ext.escale(a, k)


def _column(*elements: ext.Ext) -> np.ndarray:
    return np.array(elements, dtype=np.uint64).T  # (4, count): the NumPy form


def _elements(array: np.ndarray) -> list[ext.Ext]:
    return [tuple(int(c) for c in array[:, i]) for i in range(array.shape[1])]  # type: ignore[misc]


@given(st.lists(st.tuples(ext_elements, ext_elements, elements), min_size=1, max_size=8))
@example(
    [((P - 1,) * 4, (P - 1,) * 4, P - 1), ((0, P - 1, 0, P - 1), (P - 2, P - 1, P - 2, P - 1), 1)]
)
def test_numpy_extension_matches_python(rows: list[tuple[ext.Ext, ext.Ext, int]]) -> None:
    a, b = _column(*(r[0] for r in rows)), _column(*(r[1] for r in rows))
    k = np.array([r[2] for r in rows], dtype=np.uint64)
    pairs = [(x, y) for x, y, _ in rows]
    assert _elements(ext.emul_v(a, b)) == [ext.emul(x, y) for x, y in pairs]
    assert _elements(ext.emul_v(a, rows[0][1])) == [ext.emul(x, rows[0][1]) for x, _ in pairs]
    assert _elements(ext.eadd_v(a, b)) == [ext.eadd(x, y) for x, y in pairs]
    assert _elements(ext.esub_v(a, b)) == [ext.esub(x, y) for x, y in pairs]
    assert _elements(ext.escale_v(a, k)) == [ext.escale(x, c) for x, _, c in rows]
    if all(x != ext.ZERO for x, _ in pairs):
        assert _elements(ext.einv_v(a)) == [ext.einv(x) for x, _ in pairs]
    else:
        with pytest.raises(ZeroDivisionError):
            ext.einv_v(a)


def test_frobenius_order() -> None:
    # Every nonzero element of the extension has order dividing p^4 - 1.
    a = (3, 1, 4, 1)
    assert ext.epow(a, P**4 - 1) == ext.ONE


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 1023])
def test_batch_inversion_chains_invert_every_value(size: int) -> None:
    """Two interleaved chains, the second taking the odd tail: every slot is the inverse."""
    values = np.random.default_rng(size).integers(1, P, size=size, dtype=np.uint32)
    values[: min(size, 2)] = [P - 1, 1][: min(size, 2)]
    inv = np.zeros(size, dtype=np.uint32)
    field.batch_inverse(values, inv)
    assert [int(v) * int(i) % P for v, i in zip(values, inv, strict=True)] == [1] * size
