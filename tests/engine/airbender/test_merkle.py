"""Merkle commitments: numba's trees against hashlib's digests, paths open and tampering fails."""

import hashlib

import numpy as np
import pytest

from atlasdev.engine.airbender import merkle


@pytest.mark.parametrize(
    ("width", "rows"), [(0, 8), (1, 8), (15, 8), (16, 8), (17, 8), (40, 8), (33, 600)]
)
def test_leaves_are_hashlib_blake2s_of_the_row(width: int, rows: int) -> None:
    """Rows are hashed a tile at a time, side by side: 600 rows are two full tiles and part of
    a third."""
    rng = np.random.default_rng(width)
    cols = rng.integers(0, 2**32, size=(width, rows), dtype=np.uint32)
    digests = merkle.hash_rows(cols)
    for i in range(rows):
        expected = hashlib.blake2s(cols[:, i].astype("<u4").tobytes()).digest()
        assert digests[i].astype("<u4").tobytes() == expected


@pytest.mark.parametrize("n", [1, 2, 64, 256])
def test_every_path_opens_the_root(n: int) -> None:
    rng = np.random.default_rng(n)
    cols = rng.integers(0, 2**31, size=(5, n), dtype=np.uint32)
    tree = merkle.commit(cols)
    assert tree.height == n.bit_length() - 1
    for i in range(n):
        leaf = merkle.leaf_digest([int(v) for v in cols[:, i]])
        assert merkle.verify_path(tree.root, i, leaf, tree.path(i))


def test_tampering_is_caught() -> None:
    cols = np.arange(5 * 32, dtype=np.uint32).reshape(5, 32)
    tree = merkle.commit(cols)
    leaf = merkle.leaf_digest([int(v) for v in cols[:, 9]])
    path = tree.path(9)
    assert not merkle.verify_path(tree.root, 8, leaf, path)  # another position
    flipped = [bytes([path[2][0] ^ 1]) + path[2][1:] if k == 2 else p for k, p in enumerate(path)]
    assert not merkle.verify_path(tree.root, 9, leaf, flipped)
    other = merkle.leaf_digest([*[int(v) for v in cols[:, 9]][:-1], 0])
    assert not merkle.verify_path(tree.root, 9, other, path)
    assert not merkle.verify_path(tree.root, 9, leaf, path[:-1])  # a short path


def test_root_is_the_hashlib_tree() -> None:
    cols = np.arange(3 * 4, dtype=np.uint32).reshape(3, 4)
    leaves = [merkle.leaf_digest([int(v) for v in cols[:, i]]) for i in range(4)]
    left = hashlib.blake2s(leaves[0] + leaves[1]).digest()
    right = hashlib.blake2s(leaves[2] + leaves[3]).digest()
    assert merkle.commit(cols).root == hashlib.blake2s(left + right).digest()


@pytest.mark.parametrize("parents", [1, 255, 600])
def test_each_node_is_hashlib_blake2s_of_its_children(parents: int) -> None:
    """Nodes are hashed a tile of 256 at a time, side by side: 600 are two full tiles and part of
    a third."""
    children = np.random.default_rng(parents).integers(
        0, 2**32, size=(2 * parents, merkle.DIGEST_WORDS), dtype=np.uint32
    )
    digests = merkle.hash_layer(children)
    assert digests.shape == (parents, merkle.DIGEST_WORDS)
    for j in range(parents):
        pair = children[2 * j : 2 * j + 2].astype("<u4").tobytes()
        assert digests[j].astype("<u4").tobytes() == hashlib.blake2s(pair).digest()
