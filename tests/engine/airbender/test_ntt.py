"""NTTs and the low-degree extension against the definition: polynomial evaluation."""

import numpy as np
import pytest

from atlasdev.engine.airbender import field, ntt
from atlasdev.engine.airbender.field import P


def horner(coeffs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % P
    return acc


@pytest.mark.parametrize("log_n", [0, 1, 2, 3, 6])
def test_interpolate_inverts_evaluation(log_n: int) -> None:
    rng = np.random.default_rng(log_n)
    n = 1 << log_n
    values = rng.integers(0, P, size=(3, n), dtype=np.uint32)
    coeffs = ntt.interpolate(values)
    w = field.root_of_unity(log_n)
    for c in range(3):
        cs = [int(v) for v in coeffs[c]]
        assert [horner(cs, pow(w, i, P)) for i in range(n)] == [int(v) for v in values[c]]


@pytest.mark.parametrize(("log_n", "log_blowup"), [(0, 1), (2, 1), (3, 2), (5, 3)])
def test_coset_evaluation_is_bit_reversed(log_n: int, log_blowup: int) -> None:
    rng = np.random.default_rng(10 + log_n)
    coeffs = rng.integers(0, P, size=(2, 1 << log_n), dtype=np.uint32)
    lde = ntt.evaluate_coset(coeffs, log_blowup)
    points = ntt.coset_points(log_n + log_blowup)
    for c in range(2):
        cs = [int(v) for v in coeffs[c]]
        assert [horner(cs, int(x)) for x in points] == [int(v) for v in lde[c]]
    # x and -x sit side by side: what FRI's folding relies on
    assert all(
        (int(points[2 * k]) + int(points[2 * k + 1])) % P == 0 for k in range(len(points) // 2)
    )


def test_low_degree_extension_agrees_on_the_trace_domain() -> None:
    # The blown-up coset does not contain the trace domain, but the extension is the same
    # polynomial: interpolating the LDE back gives the trace's coefficients and zeros above.
    rng = np.random.default_rng(7)
    values = rng.integers(0, P, size=(1, 16), dtype=np.uint32)
    lde = ntt.low_degree_extend(values, 2)
    natural = lde[:, ntt.bitrev_indices(6)]
    coeffs = ntt.interpolate(natural)
    unshift = field.powers(field.inv(field.GENERATOR), 64)
    coeffs = field.vmul(coeffs[0], unshift)
    assert not coeffs[16:].any()
    assert list(coeffs[:16]) == list(ntt.interpolate(values)[0])


@pytest.mark.parametrize("log_m", [0, 1, 2, 5, 12])
def test_bit_reversal_reverses_the_low_bits(log_m: int) -> None:
    expect = [int(format(j, f"0{log_m}b")[::-1] or "0", 2) for j in range(1 << log_m)]
    assert ntt.bitrev_indices(log_m).tolist() == expect


@pytest.mark.parametrize("log_n", [0, 3, 7, 8, 9, 12])  # from 8 bits on, in 16 x 16 tiles
def test_the_bit_reversed_copy_puts_each_value_at_its_reversed_index(log_n: int) -> None:
    src = np.arange(1 << log_n, dtype=np.uint32) * 3 + 1
    dst = np.zeros_like(src)
    rev_mid = ntt.bitrev_indices(max(0, log_n - 8))
    ntt._bitrev_copy(src, dst, rev_mid, ntt.bitrev_indices(4))
    assert np.array_equal(dst[ntt.bitrev_indices(log_n)], src)


@pytest.mark.parametrize("log_n", [8, 11])
def test_interpolation_round_trips_at_tiled_sizes(log_n: int) -> None:
    """Evaluating the interpolated columns on <w> itself (shift 1, no blowup) gives the values
    back, bit-reversed."""
    rng = np.random.default_rng(log_n)
    values = rng.integers(0, P, size=(3, 1 << log_n), dtype=np.uint32)
    back = ntt.evaluate_coset(ntt.interpolate(values), 0, shift=1)
    assert np.array_equal(back, values[:, ntt.bitrev_indices(log_n)])


def _padded_dif(coeffs: np.ndarray, log_blowup: int, shift: int) -> np.ndarray:
    """The LDE by its definition as the prover first computed it: coefficients times shift^i,
    zeros up to m, one DIF of size m (natural order in, bit-reversed out)."""
    n = coeffs.shape[1]
    m = n << log_blowup
    out = np.zeros((coeffs.shape[0], m), dtype=np.uint32)
    out[:, :n] = field.vmul(coeffs, field.powers(shift, n))
    tw = ntt.stage_twiddles(m.bit_length() - 1)
    for row in out:
        ntt._dif(row, tw)
    return out


@pytest.mark.parametrize(("log_n", "log_blowup"), [(0, 2), (1, 1), (8, 1), (9, 2), (10, 3)])
def test_the_lde_by_blocks_is_the_padded_dif(log_n: int, log_blowup: int) -> None:
    """evaluate_coset starts each of the 2^log_blowup blocks on its own coset instead of running
    the first stages over zeros: the same values."""
    rng = np.random.default_rng(log_n)
    coeffs = rng.integers(0, P, size=(3, 1 << log_n), dtype=np.uint32)
    for shift in (field.GENERATOR, 1, P - 1):
        want = _padded_dif(coeffs, log_blowup, shift)
        assert np.array_equal(ntt.evaluate_coset(coeffs, log_blowup, shift), want)


@pytest.mark.parametrize(("log_n", "log_blowup"), [(0, 1), (2, 1), (3, 2), (6, 2)])
def test_next_positions_hold_the_next_rows_point(log_n: int, log_blowup: int) -> None:
    """Where a constraint reads the next row at a blown-up point x, it reads the value at
    x * w_n, the point ntt.next_positions names."""
    points = ntt.coset_points(log_n + log_blowup)
    w_n = field.root_of_unity(log_n)
    at = {int(x): j for j, x in enumerate(points)}
    expect = [at[int(x) * w_n % P] for x in points]
    assert ntt.next_positions(log_n, log_blowup).tolist() == expect


def test_rejects_sizes_that_are_not_powers_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        ntt.interpolate(np.zeros((1, 12), dtype=np.uint32))
