"""The evaluator's register programs: equal subexpressions computed once, row-independent ones
evaluated whole, and the same values as the expressions themselves."""

import random

import numpy as np

from atlasdev.engine.airbender import air as A
from atlasdev.engine.airbender import evaluation as E
from atlasdev.engine.airbender.field import P


def _repeated() -> list[A.Expr]:
    """Two roots built separately from the same helper: equal trees, distinct objects."""

    def word(i: int) -> A.Expr:
        return A.main(i) + A.main(i + 1) * 256 + A.challenge(0) * A.challenge(1)

    return [word(0) * word(0) - A.pre(0), word(0) - word(2) * A.main(0).next]


def test_shared_makes_equal_subexpressions_one_node() -> None:
    roots = _repeated()
    assert len(A.nodes(roots)) == 42  # 4 words of 9 nodes, 3 more nodes per root
    shared = A.shared(roots)
    assert len(A.nodes(shared)) == 20  # word(0) once; word(2) shares 256 and z0 z1: 5 new
    first, second = shared
    assert first.args[0].args[0] is first.args[0].args[1] is second.args[0]


def test_shared_keeps_every_value() -> None:
    rng = random.Random(5)
    ext = lambda: tuple(rng.randrange(P) for _ in range(4))  # noqa: E731
    cells = [[ext() for _ in range(4)] for _ in range(6)]
    point = A.Point(*cells, challenges=[ext(), ext()], publics=[])
    roots = _repeated()
    assert A.evaluate(A.shared(roots), point) == A.evaluate(roots, point)


def test_a_program_computes_each_distinct_node_once() -> None:
    program = E.Program(_repeated(), lambda i, r, is_ext: (E.STORE, i, r, int(is_ext)))
    ops = [int(op) for op in program.code[:, 0]]
    assert ops.count(E.CONST) == 2  # 256 and the product of the challenges, evaluated whole
    assert len(program.hoisted) == 2
    assert ops.count(E.MUL_BB) == 2  # main(1) * 256 and main(3) * 256
    assert ops.count(E.MUL_EE) == ops.count(E.MUL_EB) == 1  # word(0) squared; word(2) x next
    rows = E.RowsKernel([A.main(0) * 256 + A.main(0) * 256])
    pre, main = np.zeros((1, 4), np.uint32), np.arange(4, dtype=np.uint32).reshape(1, 4)
    assert [int(op) for op in rows.code[:, 0]].count(E.MUL_BB) == 1
    assert rows(pre, main, np.zeros((0, 4), np.uint32), [], [])[0].tolist() == [0, 512, 1024, 1536]


def test_rows_kernel_outputs_one_row_a_base_value_and_four_an_extension_one() -> None:
    """The LogUp columns' input: per interaction a fingerprint (4 rows) and a multiplicity (1).
    The third expression is part of the first, so it is stored before the second: no store
    may touch another's rows."""
    z = A.challenge(0)
    product = A.main(0) * z
    exprs = [product + z, A.main(1) * 3, product, A.lift(7)]
    rows = E.RowsKernel(exprs)
    assert rows.first == [0, 4, 5, 9] and rows.rows == 10
    main = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint32)
    challenge = (10, 20, 30, 40)
    out = rows(np.zeros((1, 3), np.uint32), main, np.zeros((0, 3), np.uint32), [challenge], [])
    assert out.shape == (10, 3)
    for j in range(3):
        cells = [(int(v), 0, 0, 0) for v in main[:, j]]
        want = A.evaluate(exprs, A.Point([], [], cells, [], [], [], [challenge], []))
        got = [out[0:4, j], out[4:5, j], out[5:9, j], out[9:10, j]]
        for w, g in zip(want, got, strict=True):  # a base value: its coefficient 0 alone
            assert tuple(int(v) for v in g) == tuple(w)[: len(g)] and not any(w[len(g) :])
