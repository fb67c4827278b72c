"""The CPU backend's own helpers against plain Python: the out-of-domain evaluation (each
column's polynomial at an extension point, its powers built in numba)."""

import numpy as np
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
