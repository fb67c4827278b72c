"""Blake2s-256 (RFC 7693) in the two-target style: numba njit, u32 words, no allocation.

The state commitment, the transaction commitment and the message root all hash with this
function inside the STF, so the sequencer (x86) and the prover (RISC-V) compute the same roots.
Digests are 8 little-endian u32 words, exactly Blake2s's chaining words: callers never convert to
bytes inside the STF. `hashlib.blake2s` is the reference the tests check it against.

numba widens u32 arithmetic to 64 bits; every result is cast back with `u32(...)`, which LLVM
narrows to 32-bit instructions on both targets.
"""

import numpy as np
from numba import njit
from numba import uint32 as u32

IV = np.array(
    [
        0x6A09E667,
        0xBB67AE85,
        0x3C6EF372,
        0xA54FF53A,
        0x510E527F,
        0x9B05688C,
        0x1F83D9AB,
        0x5BE0CD19,
    ],
    dtype=np.uint32,
)

SIGMA = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    ],
    dtype=np.uint8,
)

# Parameter block word 0 for an unkeyed 32-byte digest: digest_length=32, fanout=1, depth=1.
PARAM0 = np.uint32(0x01010020)


@njit(inline="always", cache=True)
def _rotr(x, n):
    return u32((x >> n) | (x << (32 - n)))


@njit(inline="always", cache=True)
def _g(a, b, c, d, x, y):
    a = u32(a + b + x)
    d = _rotr(u32(d ^ a), 16)
    c = u32(c + d)
    b = _rotr(u32(b ^ c), 12)
    a = u32(a + b + y)
    d = _rotr(u32(d ^ a), 8)
    c = u32(c + d)
    b = _rotr(u32(b ^ c), 7)
    return a, b, c, d


@njit(cache=True)
def compress(h, h_off, m, m_off, t, last):
    """Blake2s F: mix the 16 message words m[m_off:m_off+16] into h[h_off:h_off+8] in place.

    `t` is the byte counter after this block; `last` marks the final block. Arrays travel with
    offsets rather than as slices: a slice is a refcounted view, which the RISC-V target avoids.
    """
    o = h_off
    v0, v1, v2, v3 = h[o], h[o + 1], h[o + 2], h[o + 3]
    v4, v5, v6, v7 = h[o + 4], h[o + 5], h[o + 6], h[o + 7]
    v8, v9, v10, v11 = IV[0], IV[1], IV[2], IV[3]
    v12 = u32(IV[4] ^ u32(t & 0xFFFFFFFF))
    v13 = u32(IV[5] ^ u32(t >> 32))
    v14 = u32(IV[6] ^ u32(0xFFFFFFFF)) if last else IV[6]
    v15 = IV[7]
    for r in range(10):
        s = SIGMA[r]
        v0, v4, v8, v12 = _g(v0, v4, v8, v12, m[m_off + s[0]], m[m_off + s[1]])
        v1, v5, v9, v13 = _g(v1, v5, v9, v13, m[m_off + s[2]], m[m_off + s[3]])
        v2, v6, v10, v14 = _g(v2, v6, v10, v14, m[m_off + s[4]], m[m_off + s[5]])
        v3, v7, v11, v15 = _g(v3, v7, v11, v15, m[m_off + s[6]], m[m_off + s[7]])
        v0, v5, v10, v15 = _g(v0, v5, v10, v15, m[m_off + s[8]], m[m_off + s[9]])
        v1, v6, v11, v12 = _g(v1, v6, v11, v12, m[m_off + s[10]], m[m_off + s[11]])
        v2, v7, v8, v13 = _g(v2, v7, v8, v13, m[m_off + s[12]], m[m_off + s[13]])
        v3, v4, v9, v14 = _g(v3, v4, v9, v14, m[m_off + s[14]], m[m_off + s[15]])
    h[o] = u32(h[o] ^ v0 ^ v8)
    h[o + 1] = u32(h[o + 1] ^ v1 ^ v9)
    h[o + 2] = u32(h[o + 2] ^ v2 ^ v10)
    h[o + 3] = u32(h[o + 3] ^ v3 ^ v11)
    h[o + 4] = u32(h[o + 4] ^ v4 ^ v12)
    h[o + 5] = u32(h[o + 5] ^ v5 ^ v13)
    h[o + 6] = u32(h[o + 6] ^ v6 ^ v14)
    h[o + 7] = u32(h[o + 7] ^ v7 ^ v15)


@njit(inline="always", cache=True)
def init(h, h_off):
    """Reset chaining words h[h_off:h_off+8] to the unkeyed Blake2s-256 initial state."""
    h[h_off] = u32(IV[0] ^ PARAM0)
    for i in range(1, 8):
        h[h_off + i] = IV[i]


@njit(cache=True)
def hash_words(m, m_off, n_blocks, out, out_off):
    """Blake2s-256 of n_blocks whole 64-byte blocks taken as u32 words from m[m_off:].

    Writes the digest words to out[out_off:out_off+8]. The input must be n_blocks * 16 words:
    tree nodes (two digests) are one block, state leaves two.
    """
    init(out, out_off)
    for b in range(n_blocks):
        compress(out, out_off, m, m_off + 16 * b, 64 * (b + 1), b == n_blocks - 1)


@njit(cache=True)
def hash_pair(left, l_off, right, r_off, block, b_off, out, out_off):
    """Blake2s-256 of the 64-byte concatenation of two digests: a binary tree node.

    block[b_off:b_off+16] is scratch supplied by the caller (the STF allocates nothing); the
    inputs are copied there first, so `out` may overlap either input.
    """
    for i in range(8):
        block[b_off + i] = left[l_off + i]
        block[b_off + 8 + i] = right[r_off + i]
    hash_words(block, b_off, 1, out, out_off)


@njit(cache=True)
def hash_packed(words, base, start, length, block, b_off, out, out_off):
    """Blake2s-256 of `length` bytes at byte offset `start` of a packed byte arena.

    The arena is u32 words from words[base:], four bytes per word, little-endian within a word
    (calldata in the input region). The last block is zero padded and an empty input is one
    all-zero final block, as RFC 7693 specifies. block[b_off:b_off+16] is scratch.
    """
    init(out, out_off)
    done = 0
    while True:
        remaining = length - done
        take = 64 if remaining > 64 else remaining
        for i in range(16):
            block[b_off + i] = 0
        for i in range(take):
            p = start + done + i
            byte = (words[base + (p >> 2)] >> (8 * (p & 3))) & 0xFF
            w = b_off + (i >> 2)
            block[w] = u32(block[w] | (byte << (8 * (i & 3))))
        done += take
        last = done == length
        compress(out, out_off, block, b_off, done, last)
        if last:
            break


def pack_bytes(data: bytes) -> np.ndarray:
    """Host side: bytes packed into u32 words (zero padded) as the STF's byte arenas hold them."""
    padded = data + bytes(-len(data) % 4)
    return np.frombuffer(padded, dtype="<u4").astype(np.uint32)


def digest_to_bytes(words: np.ndarray) -> bytes:
    """The 32 digest bytes of 8 digest words (host side: RPC, storage)."""
    return np.ascontiguousarray(words, dtype="<u4").tobytes()


def bytes_to_words(data: bytes) -> np.ndarray:
    """Little-endian u32 words of a byte string whose length is a multiple of 4 (host side)."""
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)
