"""256-bit unsigned integers as 8 little-endian u32 limbs, in place, for the STF.

Every function takes (array, offset) pairs: balances live inside state leaves and amounts inside
the input region, and the STF works on them where they are instead of copying.
"""

import numpy as np
from numba import njit
from numba import uint32 as u32
from numba import uint64 as u64

LIMBS = 8
MASK32 = u64(0xFFFFFFFF)


@njit(inline="always", cache=True)
def is_zero(a, ao):
    for i in range(LIMBS):
        if a[ao + i] != 0:
            return False
    return True


@njit(cache=True)
def cmp(a, ao, b, bo):
    """-1, 0 or 1 as a < b, a == b, a > b."""
    for i in range(LIMBS - 1, -1, -1):
        x = a[ao + i]
        y = b[bo + i]
        if x < y:
            return -1
        if x > y:
            return 1
    return 0


@njit(cache=True)
def copy(dst, do, src, so):
    for i in range(LIMBS):
        dst[do + i] = src[so + i]


@njit(cache=True)
def set_u64(dst, do, value):
    dst[do] = u32(u64(value) & MASK32)
    dst[do + 1] = u32(u64(value) >> u64(32))
    for i in range(2, LIMBS):
        dst[do + i] = 0


@njit(cache=True)
def add_in_place(a, ao, b, bo):
    """a += b; returns True on overflow (a then holds the wrapped sum: callers check first)."""
    carry = u64(0)
    for i in range(LIMBS):
        s = u64(a[ao + i]) + u64(b[bo + i]) + carry
        a[ao + i] = u32(s & MASK32)
        carry = s >> u64(32)
    return carry != 0


@njit(cache=True)
def sub_in_place(a, ao, b, bo):
    """a -= b; returns True on underflow (a then holds the wrapped difference)."""
    borrow = u64(0)
    for i in range(LIMBS):
        d = u64(a[ao + i]) - u64(b[bo + i]) - borrow
        a[ao + i] = u32(d & MASK32)
        borrow = (d >> u64(63)) & u64(1)
    return borrow != 0


@njit(cache=True)
def mul_u64_u64(dst, do, x, y):
    """dst = x * y for two u64 values (gas * price), exact in 128 bits."""
    x0 = u64(x) & MASK32
    x1 = u64(x) >> u64(32)
    y0 = u64(y) & MASK32
    y1 = u64(y) >> u64(32)
    for i in range(LIMBS):
        dst[do + i] = 0
    # schoolbook on 32-bit halves; each partial product fits u64
    p00 = x0 * y0
    p01 = x0 * y1
    p10 = x1 * y0
    p11 = x1 * y1
    dst[do] = u32(p00 & MASK32)
    mid = (p00 >> u64(32)) + (p01 & MASK32) + (p10 & MASK32)
    dst[do + 1] = u32(mid & MASK32)
    hi = (mid >> u64(32)) + (p01 >> u64(32)) + (p10 >> u64(32)) + (p11 & MASK32)
    dst[do + 2] = u32(hi & MASK32)
    dst[do + 3] = u32((hi >> u64(32)) + (p11 >> u64(32)))


@njit(cache=True)
def fits_u64(a, ao):
    for i in range(2, LIMBS):
        if a[ao + i] != 0:
            return False
    return True


@njit(inline="always", cache=True)
def to_u64(a, ao):
    return u64(a[ao]) | (u64(a[ao + 1]) << u64(32))


def to_int(words) -> int:
    """Host side: the Python int of 8 limbs."""
    return int.from_bytes(np.asarray(words[:LIMBS], dtype="<u4").tobytes(), "little")


def from_int(value: int) -> list[int]:
    """Host side: 8 limbs of a Python int in [0, 2**256)."""
    return np.frombuffer(value.to_bytes(32, "little"), dtype="<u4").tolist()
