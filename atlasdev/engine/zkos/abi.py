"""Reading ABI-encoded calldata and writing ABI values, inside the STF.

Calldata lives in the input region as a packed byte arena (four bytes per word, little-endian
within the word). ABI values are big-endian 32-byte words; the STF's arithmetic uses little-endian
u32 limbs, and 32-byte values it only passes along (topics, return data) stay packed bytes.
"""

from numba import njit
from numba import uint32 as u32


@njit(inline="always", cache=True)
def byte_at(words, base, p):
    return (words[base + (p >> 2)] >> (8 * (p & 3))) & 0xFF


@njit(inline="always", cache=True)
def put_byte(words, base, p, b):
    w = base + (p >> 2)
    shift = 8 * (p & 3)
    words[w] = u32((words[w] & ~u32(0xFF << shift)) | (u32(b) << shift))


@njit(cache=True)
def read_selector(words, base, start):
    s = u32(0)
    for i in range(4):
        s = u32((s << 8) | byte_at(words, base, start + i))
    return s


@njit(cache=True)
def read_uint(words, base, p, dst, do):
    """The big-endian 32-byte word at byte p, as 8 limbs."""
    for limb in range(8):
        v = u32(0)
        first = p + 28 - 4 * limb
        for i in range(4):
            v = u32((v << 8) | byte_at(words, base, first + i))
        dst[do + limb] = v


@njit(cache=True)
def read_address(words, base, p, dst, do):
    """An ABI address at byte p into 5 packed words; False unless the 12 high bytes are zero."""
    for i in range(12):
        if byte_at(words, base, p + i) != 0:
            return False
    for i in range(5):
        dst[do + i] = 0
    for i in range(20):
        put_byte(dst, do, i, byte_at(words, base, p + 12 + i))
    return True


@njit(cache=True)
def read_bytes32(words, base, p, dst, do):
    """32 raw bytes at byte p into 8 packed words."""
    for i in range(8):
        dst[do + i] = 0
    for i in range(32):
        put_byte(dst, do, i, byte_at(words, base, p + i))


@njit(cache=True)
def uint_to_bytes32(src, so, dst, do):
    """8 limbs as the 32-byte big-endian word, packed."""
    for limb in range(8):
        v = src[so + limb]
        first = 28 - 4 * limb
        for i in range(4):
            put_byte(dst, do, first + i, (v >> (8 * (3 - i))) & 0xFF)


@njit(cache=True)
def address_to_bytes32(src, so, dst, do):
    """5 packed address words as the left-zero-padded 32-byte ABI word, packed."""
    for i in range(8):
        dst[do + i] = 0
    for i in range(20):
        put_byte(dst, do, 12 + i, byte_at(src, so, i))


@njit(cache=True)
def calldata_gas(words, base, start, length):
    """Ethereum's calldata cost: 16 gas per non-zero byte, 4 per zero byte."""
    gas = 0
    for i in range(length):
        gas += 16 if byte_at(words, base, start + i) != 0 else 4
    return gas
