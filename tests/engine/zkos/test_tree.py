"""The host StateTree: sorted linked list, roots against a rebuild and against a hashlib reference,
growth, and witnesses that the STF's multiproof climber accepts."""

import hashlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlasdev.engine.zkos import merkle
from atlasdev.engine.zkos.blake2s import digest_to_bytes, hash_words
from atlasdev.engine.zkos.layout import LEAF_KEY, LEAF_NEXT, LEAF_VALUE, LEAF_WORDS, TREE_DEPTH
from atlasdev.engine.zkos.tree import StateTree, sort_key

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys_st = st.binary(min_size=32, max_size=32).filter(lambda k: any(k))


def value(seed: int) -> np.ndarray:
    v = np.zeros(16, dtype=np.uint32)
    v[0] = seed & 0xFFFFFFFF
    v[1] = (seed >> 32) & 0xFFFFFFFF
    v[15] = 0xA5A5A5A5
    return v


def key_of(row: np.ndarray) -> bytes:
    return row[LEAF_KEY : LEAF_KEY + 8].astype("<u4").tobytes()


def next_of(row: np.ndarray) -> bytes:
    return row[LEAF_NEXT : LEAF_NEXT + 8].astype("<u4").tobytes()


def as_int(key: bytes) -> int:
    """The STF's key order as an integer: u32 words, word 0 most significant."""
    return int.from_bytes(sort_key(key), "big")


def assert_sorted_list(tree: StateTree) -> None:
    rows = tree.leaves[: tree.size * LEAF_WORDS].reshape(-1, LEAF_WORDS)
    keys = [key_of(r) for r in rows]
    assert keys[0] == bytes(32), "position 0 holds the sentinel"
    assert len(set(keys)) == len(keys)
    ordered = sorted(keys, key=as_int)
    successor = {
        k: (ordered[i + 1] if i + 1 < len(ordered) else bytes(32)) for i, k in enumerate(ordered)
    }
    for r in rows:
        assert next_of(r) == successor[key_of(r)]
    assert {k: p for k, p in tree.index.items()} == {k: i for i, k in enumerate(keys)}


def rebuild_root(tree: StateTree) -> bytes:
    return StateTree.from_leaves(tree.leaves[: tree.size * LEAF_WORDS].copy()).root()


# ---- an independent reference: hashlib only ------------------------------------------------------
def _empty_levels() -> list[bytes]:
    e = [bytes(32)]
    for _ in range(TREE_DEPTH):
        e.append(hashlib.blake2s(e[-1] + e[-1]).digest())
    return e


EMPTY_REF = _empty_levels()


def reference_root(leaf_rows: list[bytes]) -> bytes:
    """State root from the raw 128-byte leaves, by the rules in merkle.py / tree.py."""
    level = [hashlib.blake2s(leaf).digest() for leaf in leaf_rows]
    for depth in range(TREE_DEPTH):
        if len(level) % 2:
            level.append(EMPTY_REF[depth])
        level = [hashlib.blake2s(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    (top,) = level if level else (EMPTY_REF[TREE_DEPTH],)
    return hashlib.blake2s(top + struct.pack("<I", len(leaf_rows)) + bytes(28)).digest()


def reference_tree_rows(entries: dict[bytes, bytes]) -> list[bytes]:
    """Leaves in insertion order (dict order) with the sorted linked list, sentinel first."""
    keys = [bytes(32), *entries]
    ordered = sorted(keys, key=as_int)
    nxt = {
        k: (ordered[i + 1] if i + 1 < len(ordered) else bytes(32)) for i, k in enumerate(ordered)
    }
    vals = {bytes(32): bytes(64), **entries}
    return [k + nxt[k] + vals[k] for k in keys]


# ---- tests ---------------------------------------------------------------------------------------
def test_empty_tree_is_sentinel_only() -> None:
    t = StateTree(capacity=4)
    assert t.size == 1
    assert_sorted_list(t)
    assert t.root() == reference_root([bytes(128)])
    assert t.root() == rebuild_root(t)


@SETTINGS
@given(st.dictionaries(keys_st, st.binary(min_size=64, max_size=64), min_size=1, max_size=12))
def test_root_matches_hashlib_reference(entries: dict[bytes, bytes]) -> None:
    t = StateTree(capacity=4)
    for k, v in entries.items():
        t.set_value(k, np.frombuffer(v, dtype="<u4").astype(np.uint32))
    assert t.root() == reference_root(reference_tree_rows(entries))
    # and the leaves the host stores are byte for byte the reference's
    rows = t.leaves[: t.size * LEAF_WORDS].astype("<u4").tobytes()
    assert rows == b"".join(reference_tree_rows(entries))


@SETTINGS
@given(st.lists(st.tuples(keys_st, st.integers(0, 2**64 - 1)), min_size=1, max_size=20))
def test_insert_and_set_value_keep_list_sorted_and_root_fresh(ops) -> None:
    t = StateTree(capacity=4)
    roots = {t.root()}
    for i, (k, seed) in enumerate(ops):
        before = t.root()
        existed = k in t.index
        size_before = t.size
        t.set_value(k, value(seed * 64 + i))  # i makes every write a real change
        after = t.root()
        assert after != before
        assert t.size == size_before + (0 if existed else 1)
        roots.add(after)
        assert_sorted_list(t)
        np.testing.assert_array_equal(t.leaf(k)[LEAF_VALUE:], value(seed * 64 + i))
    assert t.root() == rebuild_root(t)


def test_growth_from_capacity_4_to_50_keys() -> None:
    t = StateTree(capacity=4)
    rng = np.random.default_rng(7)
    seen = set()
    for i in range(50):
        k = rng.integers(0, 2**32, 8, dtype=np.uint64).astype("<u4").tobytes()
        before = t.root()
        t.insert(k, value(i))
        seen.add(before)
        assert t.root() not in seen
        assert t.size == i + 2
        assert t.root() == rebuild_root(t), i
    assert t.capacity >= 64
    assert_sorted_list(t)
    rows = t.leaves[: t.size * LEAF_WORDS].reshape(-1, LEAF_WORDS)
    assert t.root() == reference_root([r.astype("<u4").tobytes() for r in rows])


def test_apply_unsorted_batch_with_append_and_update() -> None:
    t = StateTree(capacity=4)
    ks = [bytes([i]) * 32 for i in (5, 9, 3)]
    for i, k in enumerate(ks):
        t.insert(k, value(i))
    # a new key between 0x03.. and 0x05..: relink 0x03.. and append, given in reverse order
    new = bytes([4]) * 32
    low_pos = t.low_leaf(new)
    assert key_of(t.leaf_at(low_pos)) == ks[2]
    low = t.leaf_at(low_pos).copy()
    row = np.zeros(LEAF_WORDS, dtype=np.uint32)
    row[LEAF_KEY : LEAF_KEY + 8] = np.frombuffer(new, "<u4")
    row[LEAF_NEXT : LEAF_NEXT + 8] = low[LEAF_NEXT : LEAF_NEXT + 8]
    row[LEAF_VALUE:] = value(77)
    low[LEAF_NEXT : LEAF_NEXT + 8] = row[LEAF_KEY : LEAF_KEY + 8]
    upd = t.leaf(ks[1]).copy()
    upd[LEAF_VALUE:] = value(99)
    pos_upd = t.index[ks[1]]
    size = t.size
    before = t.root()
    t.apply(np.array([size, pos_upd, low_pos], dtype=np.int64), np.concatenate([row, upd, low]))
    assert t.root() != before
    assert t.size == size + 1 and t.index[new] == size
    assert_sorted_list(t)
    assert t.root() == rebuild_root(t)
    np.testing.assert_array_equal(t.leaf(ks[1])[LEAF_VALUE:], value(99))


def test_apply_nothing_is_a_no_op() -> None:
    t = StateTree(capacity=4)
    t.insert(b"\x01" * 32, value(1))
    r = t.root()
    t.apply(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32))
    assert t.root() == r


def _check_witness(t: StateTree, keys: set[bytes]) -> None:
    w = t.witness(keys)
    n_exist = len(w.positions)
    n_absent = len(w.absent_low)
    present = {k for k in keys if k in t.index}
    absent = sorted(keys - present, key=sort_key)
    # every present key is witnessed with its leaf, at its position
    witnessed = {
        key_of(w.leaves[r * LEAF_WORDS : (r + 1) * LEAF_WORDS]): int(w.positions[r])
        for r in range(n_exist)
    }
    for k in present:
        assert witnessed[k] == t.index[k]
    assert list(w.positions) == sorted(set(w.positions.tolist()))
    for r in range(n_exist):
        np.testing.assert_array_equal(
            w.leaves[r * LEAF_WORDS : (r + 1) * LEAF_WORDS], t.leaf_at(int(w.positions[r]))
        )
    # absent keys come sorted, each bracketed by its low leaf
    assert n_absent == len(absent)
    got_absent = [w.absent_keys[8 * i : 8 * i + 8].astype("<u4").tobytes() for i in range(n_absent)]
    assert got_absent == absent
    for i, k in enumerate(absent):
        low = w.leaves[int(w.absent_low[i]) * LEAF_WORDS :][:LEAF_WORDS]
        assert int(w.positions[int(w.absent_low[i])]) == t.low_leaf(k)
        assert as_int(key_of(low)) < as_int(k)
        nxt = next_of(low)
        assert nxt == bytes(32) or as_int(k) < as_int(nxt)
    # the multiproof climbs to the root: existing digests plus empty slots for future inserts
    n = n_exist + n_absent
    if n == 0:  # nothing to prove: the STF then requires an empty proof (state.load_witness)
        assert len(w.proof) == 0
        return
    pos = np.concatenate([w.positions, np.arange(t.size, t.size + n_absent)]).astype(np.uint32)
    dig = np.zeros(8 * max(n, 1), dtype=np.uint32)
    for r in range(n_exist):
        hash_words(w.leaves, r * LEAF_WORDS, 2, dig, 8 * r)
    block = np.zeros(16, dtype=np.uint32)
    n_proof = len(w.proof) // 8
    assert merkle.multiproof_root(pos.copy(), 0, dig, 0, n, w.proof, 0, n_proof, block, 0)
    out = np.zeros(8, dtype=np.uint32)
    merkle.state_root(dig, 0, t.size, block, 0, out, 0)
    assert digest_to_bytes(out) == t.root()
    # a padded proof and a wrong leaf are both rejected
    padded = np.concatenate([w.proof, np.zeros(8, dtype=np.uint32)])
    dig2 = np.zeros_like(dig)
    for r in range(n_exist):
        hash_words(w.leaves, r * LEAF_WORDS, 2, dig2, 8 * r)
    assert not merkle.multiproof_root(pos.copy(), 0, dig2, 0, n, padded, 0, n_proof + 1, block, 0)
    dig3 = np.zeros_like(dig)
    for r in range(n_exist):
        hash_words(w.leaves, r * LEAF_WORDS, 2, dig3, 8 * r)
    dig3[0] ^= 1
    merkle.multiproof_root(pos.copy(), 0, dig3, 0, n, w.proof, 0, n_proof, block, 0)
    merkle.state_root(dig3, 0, t.size, block, 0, out, 0)
    assert digest_to_bytes(out) != t.root()


@SETTINGS
@given(
    st.lists(keys_st, min_size=0, max_size=20, unique=True),
    st.data(),
)
def test_witness_multiproof_verifies(stored: list[bytes], data) -> None:
    t = StateTree(capacity=4)
    for i, k in enumerate(stored):
        t.insert(k, value(i))
    picked = data.draw(st.lists(st.sampled_from([bytes(32), *stored]), max_size=6))
    extra = data.draw(st.lists(keys_st, max_size=6))
    _check_witness(t, set(picked) | set(extra))


def test_witness_of_nothing_and_of_many_absent_past_capacity() -> None:
    t = StateTree(capacity=4)
    t.insert(b"\x80" * 32, value(1))
    _check_witness(t, set())
    _check_witness(t, {bytes([i]) * 32 for i in range(1, 40)} - {b"\x80" * 32})


@pytest.mark.parametrize("k", [b"\x00" * 31 + b"\x01", b"\xff" * 32, b"\x7f" + b"\xff" * 31])
def test_low_leaf_brackets_absent_key(k: bytes) -> None:
    t = StateTree(capacity=4)
    stored = [b"\x10" * 32, b"\x20" * 32, b"\xf0" * 32, b"\x00\x00\x00\x01" + bytes(28)]
    for i, s in enumerate(stored):
        t.insert(s, value(i))
    low = t.leaf_at(t.low_leaf(k))
    lo = as_int(key_of(low))
    below = [as_int(s) for s in [bytes(32), *stored] if as_int(s) < as_int(k)]
    assert lo == max(below)
    nxt = next_of(low)
    assert nxt == bytes(32) or as_int(k) < as_int(nxt)
