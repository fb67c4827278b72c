"""The interop root: the list root agrees with the STF's, every path climbs to its root, and
the root commits to the entries, their order and their number."""

import dataclasses
import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlasdev.engine.gateway import interop
from atlasdev.engine.zkos.blake2s import bytes_to_words, digest_to_bytes
from atlasdev.engine.zkos.merkle import list_root as stf_list_root


def _digests(count: int, seed: int = 0) -> list[bytes]:
    return [hashlib.blake2s(f"{seed}/{i}".encode()).digest() for i in range(count)]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 8, 9, 17])
def test_the_list_root_is_the_stfs(count: int) -> None:
    digests = _digests(count)
    words = np.zeros(8 * max(count, 1), dtype=np.uint32)
    for i, d in enumerate(digests):
        words[8 * i : 8 * i + 8] = bytes_to_words(d)
    block, out = np.zeros(16, dtype=np.uint32), np.zeros(8, dtype=np.uint32)
    stf_list_root(words, 0, count, block, 0, out, 0)
    assert interop.list_root(digests) == digest_to_bytes(out)


@given(st.integers(1, 40), st.data())
def test_every_path_climbs_to_the_root_and_only_its_own(count: int, data: st.DataObject) -> None:
    digests = _digests(count)
    index = data.draw(st.integers(0, count - 1))
    path = interop.list_path(digests, index)
    assert len(path) == interop.depth(count)
    root = interop.list_root(digests)
    assert interop.climb(digests[index], index, path) == root
    if count > 1:
        other = data.draw(st.integers(0, count - 1).filter(lambda i: i != index))
        assert interop.climb(digests[other], index, path) != root


def test_a_history_proof_checks_and_its_tampers_do_not() -> None:
    history = interop.History()
    roots = [
        history.append(271, n, hashlib.blake2s(bytes([n])).digest()) for n in (3, 5, 8, 13, 21)
    ]
    assert len(set(roots)) == 5 and history.root() == roots[-1]
    for i in range(5):
        proof = history.proof(i)
        assert proof.check()
    proof = history.proof(2)
    for bad in (
        dataclasses.replace(proof, number=9),  # another block
        dataclasses.replace(proof, chain_id=272),  # another chain
        dataclasses.replace(proof, message_root=bytes(32)),
        dataclasses.replace(proof, index=3),
        dataclasses.replace(proof, count=4),  # a shorter history with the same path
        dataclasses.replace(proof, path=[bytes(32), *proof.path[1:]]),
        dataclasses.replace(proof, root=roots[1]),  # an older root
    ):
        assert not bad.check()


def test_the_root_binds_the_length_and_the_order() -> None:
    a, b = _digests(2)
    assert interop.interop_root([a]) != interop.interop_root([a, interop.ZERO])
    assert interop.interop_root([a, b]) != interop.interop_root([b, a])
    assert interop.interop_root([]) == interop.EMPTY_ROOT


def test_leaves_are_tagged_and_checked() -> None:
    root = hashlib.blake2s(b"m").digest()
    expected = hashlib.blake2s(
        (271).to_bytes(8, "little") + (7).to_bytes(8, "little") + root + b"atlasdev/interop"
    ).digest()
    assert interop.leaf(271, 7, root) == expected
    with pytest.raises(ValueError, match="32 bytes"):
        interop.leaf(271, 7, b"short")
