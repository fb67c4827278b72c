"""The Fiat-Shamir transcript: every challenge is a Blake2s hash of everything sent before it.

Prover and verifier run the same sequence of `absorb` and `challenge` calls; the proof is sound
only if every prover message (commitments, public values, the image ID, out-of-domain values) is
absorbed before the challenges that depend on it. Labels separate the messages so that no two
sequences of calls hash the same bytes.

Field challenges are sampled by rejection (u32 words below 2p, reduced mod p): uniform, and a
GPU or any other prover reproduces them bit for bit.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
from numba import njit
from numba import uint32 as u32
from numba import uint64 as u64

from ..zkos.blake2s import bytes_to_words, compress, init
from . import extension
from .extension import Ext
from .field import P

DOMAIN = b"atlasdev/airbender/v1"
_LIMIT = 2 * P  # largest multiple of p that fits in a u32


class Transcript:
    def __init__(self, protocol: bytes) -> None:
        self.state = hashlib.blake2s(DOMAIN + b"/" + protocol).digest()

    def fork(self, label: bytes, index: int) -> Transcript:
        """An independent continuation of this transcript (for segment ``index``): each fork
        sees everything absorbed so far, and forks with different indices diverge."""
        child = Transcript.__new__(Transcript)
        child.state = self.state
        child.absorb_words(label, [index])
        return child

    def absorb(self, label: bytes, data: bytes) -> None:
        header = struct.pack("<I", len(label)) + label + struct.pack("<Q", len(data))
        self.state = hashlib.blake2s(self.state + header + data).digest()

    def absorb_words(self, label: bytes, words: list[int]) -> None:
        self.absorb(label, struct.pack(f"<{len(words)}I", *words))

    def _squeeze(self) -> tuple[int, ...]:
        self.state = hashlib.blake2s(self.state + b"squeeze").digest()
        return struct.unpack("<8I", self.state)

    def field_elements(self, count: int) -> list[int]:
        out: list[int] = []
        while len(out) < count:
            out.extend(w % P for w in self._squeeze() if w < _LIMIT)
        return out[:count]

    def challenge(self) -> int:
        return self.field_elements(1)[0]

    def challenge_ext(self) -> Ext:
        return extension.from_words(self.field_elements(extension.DEGREE))

    def indices(self, count: int, log_size: int) -> list[int]:
        """``count`` positions in [0, 2^log_size), uniform (the size is a power of two)."""
        out: list[int] = []
        mask = (1 << log_size) - 1
        while len(out) < count:
            out.extend(w & mask for w in self._squeeze())
        return out[:count]

    def grind(self, bits: int) -> int:
        """The smallest nonce whose hash with the state has ``bits`` leading zero bits: the
        proof of work that makes each attempt at a lucky query set cost 2^bits hashes (about
        65,000 for 16 bits: ~45 ms through hashlib, ~8 ms compiled)."""
        if not 0 <= bits <= 64:
            raise ValueError(f"a proof of work of {bits} bits")
        if bits == 0:
            return 0
        block = bytes_to_words(self._pow_message(0).ljust(64, b"\0"))
        start = 0
        while (found := _first_nonce(block, bits, start, _GRIND_CHUNK)) < 0:
            start += _GRIND_CHUNK
        return int(found)

    def check_pow(self, bits: int, nonce: int) -> bool:
        digest = hashlib.blake2s(self._pow_message(nonce)).digest()
        return int.from_bytes(digest[:8], "big") >> (64 - bits) == 0 if bits else True

    def _pow_message(self, nonce: int) -> bytes:
        return self.state + b"pow" + struct.pack("<Q", nonce)  # 43 bytes: one Blake2s block


_POW_BYTES = 43
_GRIND_CHUNK = 1 << 20


@njit(cache=True, nogil=True)
def _first_nonce(block: np.ndarray, bits: int, start: int, count: int) -> int:
    """check_pow's search over [start, start + count) compiled: ``block`` is the message with
    nonce 0 (state, "pow", then the nonce's 8 little-endian bytes from byte 35); -1 if none."""
    m = block.copy()
    h = np.empty(8, dtype=np.uint32)
    for nonce in range(start, start + count):
        m[8] = u32(block[8] | u32((nonce & 0xFF) << 24))  # byte 35: the nonce's first
        m[9] = u32((nonce >> 8) & 0xFFFFFFFF)
        m[10] = u32((nonce >> 40) & 0xFFFFFF)
        init(h, 0)
        compress(h, 0, m, 0, _POW_BYTES, True)
        top = (u64(_bswap(h[0])) << u64(32)) | u64(_bswap(h[1]))  # digest[:8], big-endian
        if top >> u64(64 - bits) == 0:
            return nonce
    return -1


@njit(inline="always", cache=True)
def _bswap(x: int) -> int:
    return u32(((x & 0xFF) << 24) | ((x & 0xFF00) << 8) | ((x >> 8) & 0xFF00) | (x >> 24))
