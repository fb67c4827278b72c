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

from dataclasses import dataclass

from ..zkos.relay import (  # the commitment format the destination's STF checks
    LEAF_TAG,
    ZERO,
    bind,
    climb,
    depth,
    interop_root,
    leaf,
    list_path,
    list_root,
)

__all__ = [
    "EMPTY_ROOT",
    "LEAF_TAG",
    "ZERO",
    "History",
    "HistoryProof",
    "climb",
    "depth",
    "interop_root",
    "leaf",
    "list_path",
    "list_root",
]


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
        return bind(top, self.count) == self.root


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
