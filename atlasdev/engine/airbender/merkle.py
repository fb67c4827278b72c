"""Blake2s-256 Merkle commitments to the rows of a matrix of field elements.

Leaf i is Blake2s-256 of row i's u32 words in little-endian bytes (the plain hashlib digest of
those bytes); an inner node is Blake2s-256 of its children's 64 concatenated bytes. The prover
builds trees with numba (both cores, the zkOS Blake2s compression inlined); the verifier checks
paths with hashlib, an implementation nobody here wrote, so a bug in either shows up as a
failing proof rather than a silently wrong commitment.

Matrices are column-major (one column contiguous, as the NTT leaves them), so hashing gathers
each row from its columns, a tile of rows at a time to keep the reads sequential.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ..zkos.blake2s import compress, init

DIGEST_WORDS = 8
TILE = 64  # rows gathered per tile


@njit(cache=True, nogil=True)
def _hash_tile(cols, start, count, tile, h, block, out):
    width = cols.shape[0]
    for c in range(width):  # gather: each column read sequentially
        for t in range(count):
            tile[t, c] = cols[c, start + t]
    n_blocks = max(1, (width + 15) // 16)
    for t in range(count):
        init(h, 0)
        for b in range(n_blocks):
            for i in range(16):
                w = b * 16 + i
                block[i] = tile[t, w] if w < width else 0
            done = min(width, (b + 1) * 16) * 4
            compress(h, 0, block, 0, done, b == n_blocks - 1)
        for i in range(DIGEST_WORDS):
            out[start + t, i] = h[i]


@njit(parallel=True, cache=True, nogil=True)
def _hash_rows(cols, out):
    n = cols.shape[1]
    n_tiles = (n + TILE - 1) // TILE
    for k in prange(n_tiles):
        tile = np.empty((TILE, cols.shape[0]), dtype=np.uint32)
        h = np.empty(DIGEST_WORDS, dtype=np.uint32)
        block = np.empty(16, dtype=np.uint32)
        start = k * TILE
        _hash_tile(cols, start, min(TILE, n - start), tile, h, block, out)


@njit(parallel=True, cache=True, nogil=True)
def _hash_layer(children, out):
    chunk = 256
    n = out.shape[0]
    for k in prange((n + chunk - 1) // chunk):
        block = np.empty(16, dtype=np.uint32)
        h = np.empty(DIGEST_WORDS, dtype=np.uint32)
        for j in range(k * chunk, min(n, (k + 1) * chunk)):
            for i in range(DIGEST_WORDS):
                block[i] = children[2 * j, i]
                block[DIGEST_WORDS + i] = children[2 * j + 1, i]
            init(h, 0)
            compress(h, 0, block, 0, 64, True)
            for i in range(DIGEST_WORDS):
                out[j, i] = h[i]


def hash_rows(cols: np.ndarray) -> np.ndarray:
    """The leaf digests (n, 8) of a column-major matrix (width, n)."""
    cols = np.ascontiguousarray(cols, dtype=np.uint32)
    out = np.empty((cols.shape[1], DIGEST_WORDS), dtype=np.uint32)
    _hash_rows(cols, out)
    return out


@dataclass
class MerkleTree:
    """Every layer of the tree, leaves first; the prover keeps it to answer queries."""

    layers: list[np.ndarray]  # layers[0]: leaf digests (n, 8); layers[-1]: the root (1, 8)

    @property
    def root(self) -> bytes:
        return self.layers[-1][0].astype("<u4").tobytes()

    @property
    def height(self) -> int:
        return len(self.layers) - 1

    def path(self, index: int) -> list[bytes]:
        """The sibling digests from leaf ``index`` up to (not including) the root."""
        siblings = []
        for layer in self.layers[:-1]:
            siblings.append(layer[index ^ 1].astype("<u4").tobytes())
            index >>= 1
        return siblings

    def paths(self, indices: list[int]) -> list[list[bytes]]:
        """`path` of each index (the GPU tree answers the same call in one copy a level)."""
        return [self.path(i) for i in indices]


def commit(cols: np.ndarray) -> MerkleTree:
    """The tree over the rows of a column-major matrix whose row count is a power of two."""
    n = cols.shape[1]
    if n < 1 or n & (n - 1):
        raise ValueError(f"a Merkle tree needs a power-of-two number of leaves, not {n}")
    layers = [hash_rows(cols)]
    while layers[-1].shape[0] > 1:
        parent = np.empty((layers[-1].shape[0] // 2, DIGEST_WORDS), dtype=np.uint32)
        _hash_layer(layers[-1], parent)
        layers.append(parent)
    return MerkleTree(layers)


# ---- the verifier's side: hashlib only ----------------------------------------------------------


def leaf_digest(words: list[int]) -> bytes:
    return hashlib.blake2s(struct.pack(f"<{len(words)}I", *words)).digest()


def node_digest(left: bytes, right: bytes) -> bytes:
    return hashlib.blake2s(left + right).digest()


def verify_path(root: bytes, index: int, leaf: bytes, path: list[bytes]) -> bool:
    """Whether ``leaf`` sits at ``index`` under ``root`` with these siblings."""
    node = leaf
    for sibling in path:
        node = node_digest(sibling, node) if index & 1 else node_digest(node, sibling)
        index >>= 1
    return index == 0 and node == root
