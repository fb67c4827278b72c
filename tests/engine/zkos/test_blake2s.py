"""Blake2s in numba against hashlib, the independent reference."""

import hashlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.zkos import blake2s


def _words_digest(data: bytes) -> bytes:
    out = np.zeros(8, dtype=np.uint32)
    block = np.zeros(16, dtype=np.uint32)
    blake2s.hash_packed(blake2s.pack_bytes(data), 0, 0, len(data), block, 0, out, 0)
    return blake2s.digest_to_bytes(out)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_hash_packed_matches_hashlib(data: bytes) -> None:
    assert _words_digest(data) == hashlib.blake2s(data).digest()


def test_block_boundaries() -> None:
    for n in (0, 1, 3, 4, 55, 63, 64, 65, 127, 128, 129, 192):
        data = bytes(range(256))[:n] * 1
        assert _words_digest(data) == hashlib.blake2s(data).digest(), n


def test_hash_packed_at_offsets() -> None:
    data = b"xx" + b"atlas" * 20 + b"yy"
    words = np.concatenate([np.full(3, 7, dtype=np.uint32), blake2s.pack_bytes(data)])
    out = np.zeros(16, dtype=np.uint32)
    block = np.zeros(16, dtype=np.uint32)
    blake2s.hash_packed(words, 3, 2, 100, block, 0, out, 8)
    assert blake2s.digest_to_bytes(out[8:]) == hashlib.blake2s(data[2:102]).digest()
    assert not out[:8].any()


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=64, max_size=64), st.binary(min_size=128, max_size=128))
def test_word_hashes_match_hashlib(node: bytes, leaf: bytes) -> None:
    out = np.zeros(8, dtype=np.uint32)
    blake2s.hash_words(blake2s.bytes_to_words(node), 0, 1, out, 0)
    assert blake2s.digest_to_bytes(out) == hashlib.blake2s(node).digest()
    blake2s.hash_words(blake2s.bytes_to_words(leaf), 0, 2, out, 0)
    assert blake2s.digest_to_bytes(out) == hashlib.blake2s(leaf).digest()
    left, right = blake2s.bytes_to_words(node[:32]), blake2s.bytes_to_words(node[32:])
    block = np.zeros(16, dtype=np.uint32)
    blake2s.hash_pair(left, 0, right, 0, block, 0, out, 0)
    assert blake2s.digest_to_bytes(out) == hashlib.blake2s(node).digest()
