"""Relaying a message, host side: the hashes the destination's STF recomputes, and the calldata
of the messenger's `relayMessage` that carries a message and its proof.

The commitment (docs/gateway.md): a message's hash is Blake2s of its 128-byte record; a block's
message root is the STF's list root of its message hashes; the gateway's history has one leaf
per verified block with messages, Blake2s(chain u64 | block u64 | message root | tag), and the
interop root binds the history's list root to its length. `list_root` here is zkos/merkle.py's
over bytes: pairs hash as Blake2s(left | right), an odd node pairs with the zero digest, one node
is its own root. The STF's messenger (messenger.py) checks a relay with exactly these steps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eth_abi import decode, encode

from .system import SEL_RELAY_MESSAGE

LEAF_TAG = b"atlasdev/interop"
ZERO = bytes(32)
RELAY_TYPES = [
    "uint256",  # source chain
    "uint256",  # source block
    "uint256",  # nonce
    "address",  # sender on the source
    "address",  # recipient here
    "uint256",  # value (wei, minted here)
    "bytes",  # payload
    "bytes32",  # the source block's message root
    "uint256",  # the message's index in its block
    "bytes32[]",  # path to the message root
    "uint256",  # the block's index in the history
    "uint256",  # the history's length
    "bytes32[]",  # path to the history's list root
]


def _pair(left: bytes, right: bytes) -> bytes:
    return hashlib.blake2s(left + right).digest()


def message_hash(
    src_chain: int, dst_chain: int, nonce: int, sender: bytes, to: bytes, value: int, data: bytes
) -> bytes:
    """The hash the source STF gives a message record."""
    record = (
        src_chain.to_bytes(8, "little")
        + dst_chain.to_bytes(8, "little")
        + nonce.to_bytes(8, "little")
        + sender
        + to
        + value.to_bytes(32, "little")
        + hashlib.blake2s(data).digest()
    )
    return hashlib.blake2s(record).digest()


def leaf(chain_id: int, number: int, message_root: bytes) -> bytes:
    """A verified block's entry in the gateway's history."""
    if len(message_root) != 32:
        raise ValueError("a message root is 32 bytes")
    data = chain_id.to_bytes(8, "little") + number.to_bytes(8, "little") + message_root + LEAF_TAG
    return hashlib.blake2s(data).digest()


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


def depth(count: int) -> int:
    """Siblings on a path in a list of ``count`` digests."""
    return max(0, (count - 1).bit_length())


def bind(top: bytes, count: int) -> bytes:
    """The interop root of a history whose list root is ``top``."""
    return hashlib.blake2s(top + count.to_bytes(4, "little") + bytes(28)).digest()


def interop_root(leaves: list[bytes]) -> bytes:
    """The history's commitment: its list root bound to its length."""
    return bind(list_root(leaves), len(leaves))


@dataclass(frozen=True)
class Relay:
    """A message with its proof, as `relayMessage` carries it."""

    src_chain: int
    src_block: int
    nonce: int
    sender: bytes
    to: bytes
    value: int
    data: bytes
    message_root: bytes
    message_index: int
    message_path: list[bytes]
    history_index: int
    history_count: int
    history_path: list[bytes]

    def calldata(self) -> bytes:
        args = [
            self.src_chain, self.src_block, self.nonce, self.sender, self.to, self.value,
            self.data, self.message_root, self.message_index, self.message_path,
            self.history_index, self.history_count, self.history_path,
        ]  # fmt: skip
        return SEL_RELAY_MESSAGE.to_bytes(4, "big") + encode(RELAY_TYPES, args)

    def message_hash(self, dst_chain: int) -> bytes:
        return message_hash(
            self.src_chain, dst_chain, self.nonce, self.sender, self.to, self.value, self.data
        )

    def root(self, dst_chain: int) -> bytes | None:
        """The interop root this relay proves its message under (None if the paths do not
        fit together): what the destination must have imported."""
        if climb(self.message_hash(dst_chain), self.message_index, self.message_path) != (
            self.message_root
        ):
            return None
        if not 0 <= self.history_index < self.history_count or len(self.history_path) != depth(
            self.history_count
        ):
            return None
        top = climb(
            leaf(self.src_chain, self.src_block, self.message_root),
            self.history_index,
            self.history_path,
        )
        return bind(top, self.history_count)


def decode_relay(data: bytes) -> Relay | None:
    """The relay in ``relayMessage`` calldata; None if it is not one, does not decode, or has a
    number the STF would refuse (chains, blocks and nonces are u64, indices u32)."""
    if len(data) < 4 or int.from_bytes(data[:4], "big") != SEL_RELAY_MESSAGE:
        return None
    try:
        v = decode(RELAY_TYPES, data[4:])
    except Exception:  # eth_abi raises several types for malformed input
        return None
    if any(v[i] >= 1 << 64 for i in (0, 1, 2)) or any(v[i] >= 1 << 32 for i in (8, 10, 11)):
        return None
    return Relay(
        v[0], v[1], v[2], bytes.fromhex(v[3][2:]), bytes.fromhex(v[4][2:]), v[5], v[6], v[7],
        v[8], list(v[9]), v[10], v[11], list(v[12]),
    )  # fmt: skip
