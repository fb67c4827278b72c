"""The CPU backend's own helpers against plain Python: the out-of-domain evaluation (each
column's polynomial at an extension point, its powers built in numba)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.airbender import cpu
from atlasdev.engine.airbender import extension as ext
from atlasdev.engine.airbender.field import P

element = st.integers(0, P - 1)
points = st.tuples(element, element, element, element) | st.sampled_from(
    [(0, 0, 0, 0), (1, 0, 0, 0), (P - 1, P - 1, 0, 5)]
)


@settings(max_examples=30, deadline=None)
@given(points, st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_evaluate_at_is_horner_in_the_extension(x: ext.Ext, n: int, seed: int) -> None:
    coeffs = np.random.default_rng(seed).integers(0, P, size=(3, n), dtype=np.uint32)
    want = []
    for column in coeffs.tolist():
        acc = ext.ZERO
        for c in reversed(column):
            acc = ext.eadd(ext.emul(acc, x), (c, 0, 0, 0))
        want.append(acc)
    assert cpu.evaluate_at(coeffs, x) == want


def test_deep_refuses_matrices_of_different_lengths() -> None:
    """_accumulate checks no bounds: a longer matrix would write past the combination."""
    short, long = np.zeros((2, 4), dtype=np.uint32), np.zeros((1, 8), dtype=np.uint32)
    points = np.arange(1, 17, dtype=np.uint32)
    zero = ext.ZERO
    with pytest.raises(ValueError, match="the same length"):
        cpu.deep([short, long], 1, points, zero, zero, np.zeros((4, 4), np.uint32), zero, zero)
