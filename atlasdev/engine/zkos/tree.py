"""The host's copy of the state tree: every leaf and every node, so it can hand the STF witnesses.

The STF never sees this structure; it sees only the multiproof `witness()` cuts from it and proves
its own post-state root. After the STF runs, `apply()` writes the changed leaves back. The tree is
rebuilt from the stored leaves on start (`from_leaves`), so inner nodes are never persisted.

Layout: one flat array of digests holding levels 0..TREE_DEPTH, level l `width[l]` wide (the
capacity halved per level, at least 1). A node outside the stored width is an empty subtree.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit
from sortedcontainers import SortedList

from .blake2s import digest_to_bytes, hash_pair, hash_words
from .layout import LEAF_KEY, LEAF_NEXT, LEAF_WORDS, TREE_DEPTH
from .merkle import state_root


@njit(cache=True)
def _empty_subtrees():
    z = np.zeros((TREE_DEPTH + 1) * 8, dtype=np.uint32)
    block = np.zeros(16, dtype=np.uint32)
    for level in range(TREE_DEPTH):
        hash_pair(z, 8 * level, z, 8 * level, block, 0, z, 8 * (level + 1))
    return z


EMPTY = _empty_subtrees()


def _layout(capacity: int) -> tuple[np.ndarray, np.ndarray]:
    widths = np.array([max(capacity >> level, 1) for level in range(TREE_DEPTH + 1)], np.int64)
    offsets = np.zeros(TREE_DEPTH + 2, np.int64)
    offsets[1:] = np.cumsum(widths)
    return widths, offsets


@njit(cache=True)
def _node_at(nodes, offsets, widths, empty, level, j, dst, d_off):
    if j < widths[level]:
        src = 8 * (offsets[level] + j)
        for w in range(8):
            dst[d_off + w] = nodes[src + w]
    else:
        for w in range(8):
            dst[d_off + w] = empty[8 * level + w]


@njit(cache=True)
def _rehash(nodes, offsets, widths, empty, positions, n):
    """Recompute the ancestors of the (ascending, unique) changed leaf positions in place."""
    pos = positions.copy()
    block = np.zeros(16, dtype=np.uint32)
    pair = np.zeros(16, dtype=np.uint32)
    cur = n
    for level in range(TREE_DEPTH):
        o = 0
        for j in range(cur):
            parent = pos[j] >> 1
            if o > 0 and pos[o - 1] == parent:
                continue
            _node_at(nodes, offsets, widths, empty, level, 2 * parent, pair, 0)
            _node_at(nodes, offsets, widths, empty, level, 2 * parent + 1, pair, 8)
            hash_pair(pair, 0, pair, 8, block, 0, nodes, 8 * (offsets[level + 1] + parent))
            pos[o] = parent
            o += 1
        cur = o


@njit(cache=True)
def _siblings(nodes, offsets, widths, empty, positions, n):
    """The multiproof siblings, in exactly the order merkle.multiproof_root consumes them."""
    pos = positions.copy()
    out = np.zeros(8 * n * TREE_DEPTH, dtype=np.uint32)
    k = 0
    cur = n
    for level in range(TREE_DEPTH):
        j = 0
        o = 0
        while j < cur:
            p = pos[j]
            if (p & 1) == 0 and j + 1 < cur and pos[j + 1] == p + 1:
                j += 2
            else:
                _node_at(nodes, offsets, widths, empty, level, p ^ 1, out, 8 * k)
                k += 1
                j += 1
            pos[o] = p >> 1
            o += 1
        cur = o
    return out[: 8 * k]


@njit(cache=True)
def _hash_leaves(leaves, first, last, nodes, level0):
    for p in range(first, last):
        hash_words(leaves, p * LEAF_WORDS, 2, nodes, 8 * (level0 + p))


def sort_key(key: bytes) -> bytes:
    """Bytes that sort like the STF's key order (u32 words compared word 0 first)."""
    return np.frombuffer(key, dtype="<u4").astype(">u4").tobytes()


@dataclass
class Witness:
    """What the STF needs about the state to execute a block (see layout IN_* sections)."""

    positions: np.ndarray  # u32[K] ascending
    leaves: np.ndarray  # u32[K * LEAF_WORDS]
    absent_keys: np.ndarray  # u32[A * 8]
    absent_low: np.ndarray  # u32[A], row of each absent key's low leaf among the K
    proof: np.ndarray  # u32[P * 8]


class StateTree:
    """All leaves of the indexed Merkle tree, its inner nodes, and a key index."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self.leaves = np.zeros(capacity * LEAF_WORDS, dtype=np.uint32)
        self.widths, self.offsets = _layout(capacity)
        self.nodes = np.zeros(int(self.offsets[-1]) * 8, dtype=np.uint32)
        self._fill_empty(0)
        self.size = 0
        self.index: dict[bytes, int] = {}
        self.order = SortedList()
        self._insert_sentinel()

    # ---- reading -------------------------------------------------------------------------------
    def root(self) -> bytes:
        """The state root: Blake2s(tree root, leaf count), as the STF computes it."""
        top = np.zeros(8, dtype=np.uint32)
        _node_at(self.nodes, self.offsets, self.widths, EMPTY, TREE_DEPTH, 0, top, 0)
        out = np.zeros(8, dtype=np.uint32)
        state_root(top, 0, self.size, np.zeros(16, dtype=np.uint32), 0, out, 0)
        return digest_to_bytes(out)

    def leaf(self, key: bytes) -> np.ndarray | None:
        """The 32 words of the leaf holding `key`, or None."""
        pos = self.index.get(key)
        if pos is None:
            return None
        return self.leaves[pos * LEAF_WORDS : (pos + 1) * LEAF_WORDS]

    def leaf_at(self, pos: int) -> np.ndarray:
        return self.leaves[pos * LEAF_WORDS : (pos + 1) * LEAF_WORDS]

    def low_leaf(self, key: bytes) -> int:
        """Position of the leaf with the largest key below `key` (the sentinel at worst)."""
        i = self.order.bisect_left(sort_key(key))
        return self.index[_unsort(self.order[i - 1])]

    def witness(self, keys: set[bytes]) -> Witness:
        """A multiproof for `keys`: present keys with their leaves, absent ones with low leaves."""
        present: set[int] = set()
        absent: list[bytes] = []
        for key in keys:
            pos = self.index.get(key)
            if pos is None:
                absent.append(key)
            else:
                present.add(pos)
        absent.sort(key=sort_key)
        lows = [self.low_leaf(k) for k in absent]
        present.update(lows)
        positions = np.array(sorted(present), dtype=np.uint32)
        row_of = {int(p): r for r, p in enumerate(positions)}
        leaves = (
            np.concatenate([self.leaf_at(int(p)) for p in positions])
            if len(positions)
            else (np.zeros(0, dtype=np.uint32))
        )
        absent_keys = (
            np.frombuffer(b"".join(absent), dtype="<u4").astype(np.uint32)
            if absent
            else np.zeros(0, dtype=np.uint32)
        )
        all_pos = np.concatenate(
            [positions, np.arange(self.size, self.size + len(absent), dtype=np.uint32)]
        )
        proof = (
            _siblings(self.nodes, self.offsets, self.widths, EMPTY, all_pos, len(all_pos))
            if len(all_pos)
            else np.zeros(0, dtype=np.uint32)
        )
        return Witness(
            positions=positions,
            leaves=leaves,
            absent_keys=absent_keys,
            absent_low=np.array([row_of[p] for p in lows], dtype=np.uint32),
            proof=proof,
        )

    # ---- writing -------------------------------------------------------------------------------
    def apply(self, positions: np.ndarray, leaves: np.ndarray) -> None:
        """Write leaves (rows of LEAF_WORDS) at positions (new ones append) and rehash."""
        order = np.argsort(positions, kind="stable")
        positions = positions[order].astype(np.int64)
        rows = leaves.reshape(-1, LEAF_WORDS)[order]
        if len(positions) == 0:
            return
        top = int(positions[-1]) + 1
        while top > self.capacity:
            self._grow()
        for pos, row in zip(positions.tolist(), rows, strict=True):
            key = row[LEAF_KEY : LEAF_KEY + 8].tobytes()
            if pos >= self.size:
                self.index[key] = pos
                self.order.add(sort_key(key))
            self.leaves[pos * LEAF_WORDS : (pos + 1) * LEAF_WORDS] = row
        self.size = max(self.size, top)
        level0 = int(self.offsets[0])
        for pos in positions.tolist():
            _hash_leaves(self.leaves, pos, pos + 1, self.nodes, level0)
        _rehash(self.nodes, self.offsets, self.widths, EMPTY, positions, len(positions))

    def insert(self, key: bytes, value: np.ndarray) -> list[int]:
        """Host-side insert of a new key (genesis, dev methods); returns the changed positions."""
        assert key not in self.index, "key exists"
        low = self.low_leaf(key)
        low_row = self.leaf_at(low).copy()
        row = np.zeros(LEAF_WORDS, dtype=np.uint32)
        row[LEAF_KEY : LEAF_KEY + 8] = np.frombuffer(key, dtype="<u4")
        row[LEAF_NEXT : LEAF_NEXT + 8] = low_row[LEAF_NEXT : LEAF_NEXT + 8]
        row[16:] = value
        low_row[LEAF_NEXT : LEAF_NEXT + 8] = row[LEAF_KEY : LEAF_KEY + 8]
        new = self.size
        self.apply(np.array([low, new], dtype=np.int64), np.concatenate([low_row, row]))
        return [low, new]

    def set_value(self, key: bytes, value: np.ndarray) -> list[int]:
        """Host-side write of a leaf's 16 value words, inserting the key if needed."""
        pos = self.index.get(key)
        if pos is None:
            return self.insert(key, value)
        row = self.leaf_at(pos).copy()
        row[16:] = value
        self.apply(np.array([pos], dtype=np.int64), row)
        return [pos]

    def value(self, key: bytes) -> np.ndarray:
        """The 16 value words of `key` (zeros when absent)."""
        leaf = self.leaf(key)
        return np.zeros(16, dtype=np.uint32) if leaf is None else leaf[16:].copy()

    @classmethod
    def from_leaves(cls, leaves: np.ndarray) -> "StateTree":
        """Rebuild from all leaves in position order (as stored), rehashing every node once."""
        rows = leaves.reshape(-1, LEAF_WORDS)
        capacity = 1024
        while capacity < len(rows):
            capacity *= 2
        tree = cls(capacity)
        tree.index.clear()
        tree.order.clear()
        tree.size = 0
        tree.apply(np.arange(len(rows), dtype=np.int64), rows.copy())
        return tree

    # ---- internals -----------------------------------------------------------------------------
    def _insert_sentinel(self) -> None:
        self.apply(np.array([0], dtype=np.int64), np.zeros(LEAF_WORDS, dtype=np.uint32))

    def _fill_empty(self, first_level: int) -> None:
        for level in range(first_level, TREE_DEPTH + 1):
            start, end = int(self.offsets[level]), int(self.offsets[level + 1])
            self.nodes[8 * start : 8 * end] = np.tile(EMPTY[8 * level : 8 * level + 8], end - start)

    def _grow(self) -> None:
        old_nodes, old_offsets, old_widths = self.nodes, self.offsets, self.widths
        self.capacity *= 2
        self.leaves = np.concatenate([self.leaves, np.zeros_like(self.leaves)])
        self.widths, self.offsets = _layout(self.capacity)
        self.nodes = np.zeros(int(self.offsets[-1]) * 8, dtype=np.uint32)
        self._fill_empty(0)
        for level in range(TREE_DEPTH + 1):
            w = int(old_widths[level])
            src = int(old_offsets[level])
            dst = int(self.offsets[level])
            self.nodes[8 * dst : 8 * (dst + w)] = old_nodes[8 * src : 8 * (src + w)]


def _unsort(sortable: bytes) -> bytes:
    return np.frombuffer(sortable, dtype=">u4").astype("<u4").tobytes()
