"""The interop root: one commitment to every verified block that sent cross-chain messages.

Each verified block with messages adds a leaf to the gateway's history,

    leaf = Blake2s(chain id u64 | block number u64 | message root | "atlasdev/interop")

(64 bytes, little-endian numbers; the tag keeps a leaf from ever reading as a tree node), and
the interop root commits to the whole history and its length:

    interop root = Blake2s(list root(leaves) | count u32 | 28 zero bytes)

`list_root` is the STF's (zkos/merkle.py): pairs hash as Blake2s(left | right), an odd node
pairs with the zero digest, one node is its own root. A message is proven on a destination by
two paths of that shape: its hash up to its block's message root (which the STF computed with
the same function), and its block's leaf up to the history's list root. Everything here is pure;
the gateway stores the leaves and roots.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

LEAF_TAG = b"atlasdev/interop"
ZERO = bytes(32)


def leaf(chain_id: int, number: int, message_root: bytes) -> bytes:
    """A verified block's entry in the history."""
    if len(message_root) != 32:
        raise ValueError("a message root is 32 bytes")
    data = chain_id.to_bytes(8, "little") + number.to_bytes(8, "little") + message_root + LEAF_TAG
    return hashlib.blake2s(data).digest()


def _pair(left: bytes, right: bytes) -> bytes:
    return hashlib.blake2s(left + right).digest()


def list_root(digests: list[bytes]) -> bytes:
    """The STF's Merkle root of a digest list (zkos.merkle.list_root, over bytes)."""
    if not digests:
        return ZERO
    level = list(digests)
    while len(level) > 1:
        level = [
            _pair(level[i], level[i + 1] if i + 1 < len(level) else ZERO)
            for i in range(0, len(level), 2)
        ]
    return level[0]


def list_path(digests: list[bytes], index: int) -> list[bytes]:
    """The siblings from digest ``index`` up to `list_root(digests)`, bottom first."""
    if not 0 <= index < len(digests):
        raise IndexError(f"no digest {index} in a list of {len(digests)}")
    path = []
    level = list(digests)
    while len(level) > 1:
        sibling = index ^ 1
        path.append(level[sibling] if sibling < len(level) else ZERO)
        level = [
            _pair(level[i], level[i + 1] if i + 1 < len(level) else ZERO)
            for i in range(0, len(level), 2)
        ]
        index //= 2
    return path


def climb(digest: bytes, index: int, path: list[bytes]) -> bytes:
    """The root a path leads to from ``digest`` at position ``index``."""
    for sibling in path:
        digest = _pair(sibling, digest) if index & 1 else _pair(digest, sibling)
        index //= 2
    return digest


def interop_root(leaves: list[bytes]) -> bytes:
    """The history's commitment: its list root bound to its length."""
    return hashlib.blake2s(
        list_root(leaves) + len(leaves).to_bytes(4, "little") + bytes(28)
    ).digest()


@dataclass(frozen=True)
class HistoryProof:
    """A block's leaf in the history whose root is ``root``."""

    chain_id: int
    number: int
    message_root: bytes
    index: int
    count: int
    path: list[bytes]
    root: bytes

    def check(self) -> bool:
        """Whether the path really puts this block's leaf under ``root``."""
        if not 0 <= self.index < self.count or len(self.path) != depth(self.count):
            return False
        top = climb(leaf(self.chain_id, self.number, self.message_root), self.index, self.path)
        bound = hashlib.blake2s(top + self.count.to_bytes(4, "little") + bytes(28)).digest()
        return bound == self.root


def depth(count: int) -> int:
    """Siblings on a path in a list of ``count`` digests."""
    return max(0, (count - 1).bit_length())


class History:
    """The gateway's history in memory: entries (chain id, block, message root) in the order
    they were verified, their leaves, and the root over them."""

    def __init__(self, entries: list[tuple[int, int, bytes]] | None = None) -> None:
        self.entries: list[tuple[int, int, bytes]] = []
        self.leaves: list[bytes] = []
        for entry in entries or []:
            self.append(*entry)

    def append(self, chain_id: int, number: int, message_root: bytes) -> bytes:
        """Add a verified block's entry; the new interop root."""
        self.entries.append((chain_id, number, message_root))
        self.leaves.append(leaf(chain_id, number, message_root))
        return self.root()

    def root(self) -> bytes:
        return interop_root(self.leaves)

    def copy(self) -> History:
        out = History()
        out.entries, out.leaves = list(self.entries), list(self.leaves)
        return out

    def index_of(self, chain_id: int, number: int) -> int | None:
        for i, (c, n, _) in enumerate(self.entries):
            if (c, n) == (chain_id, number):
                return i
        return None

    def proof(self, index: int) -> HistoryProof:
        """The proof that entry ``index`` is under the current root."""
        chain_id, number, message_root = self.entries[index]
        return HistoryProof(
            chain_id,
            number,
            message_root,
            index,
            len(self.leaves),
            list_path(self.leaves, index),
            self.root(),
        )


EMPTY_ROOT = interop_root([])  # no history yet
