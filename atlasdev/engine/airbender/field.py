"""The BabyBear field, p = 2^31 - 2^27 + 1, in three forms that must agree.

- Python ints (`add`, `mul`, `inv`, ...): the verifier's arithmetic, a few thousand operations per
  proof, where clarity beats speed.
- numba scalar kernels (`fadd`, `fmul`, ...): inlined into the prover's loops. Elements are u32
  below p; a product of two fits in a u64 and LLVM turns `% P` by a constant into a multiply.
- numpy vector helpers (`vmul`, ...): whole columns at once, for the few places outside kernels.

p - 1 = 15 * 2^27, so the multiplicative group has subgroups of every size 2^k, k <= 27: the
evaluation domains of the NTT. 31 generates the whole group (Plonky3 uses the same generator),
and cosets of the trace domain are shifted by it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numba import uint32 as u32
from numba import uint64 as u64

P = 2013265921  # 0x78000001
# Montgomery's reduction by 2^32 (`redc`, and kernels.cu's, whose prelude takes these):
P_NEG_INV = -pow(P, -1, 1 << 32) % (1 << 32)  # -1/p mod 2^32
R1 = (1 << 32) % P  # 2^32 mod p: a u64's high word is worth this much (`redc64`)
R2 = (1 << 64) % P  # 2^32 in Montgomery form: fmul_by(x, R2) = x 2^32
TWO_ADICITY = 27
GENERATOR = 31  # generates the multiplicative group (order p - 1)
MAX_LOG_SIZE = TWO_ADICITY

P_U64 = np.uint64(P)
_P_NEG_INV_U64 = np.uint64(P_NEG_INV)
_LOW32 = np.uint64(0xFFFFFFFF)
_R1_U64 = np.uint64(R1)
_R2_U32 = np.uint32(R2)


# ---- Python ints: the verifier's arithmetic ---------------------------------------------------


def add(a: int, b: int) -> int:
    return (a + b) % P


def sub(a: int, b: int) -> int:
    return (a - b) % P


def mul(a: int, b: int) -> int:
    return a * b % P


def neg(a: int) -> int:
    return -a % P


def power(a: int, e: int) -> int:
    return pow(a, e, P)


def inv(a: int) -> int:
    """Multiplicative inverse; zero has none, and asking for it is a bug in the caller."""
    if a % P == 0:
        raise ZeroDivisionError("0 has no inverse in BabyBear")
    return pow(a, P - 2, P)


def root_of_unity(log_n: int) -> int:
    """A generator of the subgroup of order 2^log_n."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"BabyBear has no subgroup of order 2^{log_n}")
    return pow(GENERATOR, (P - 1) >> log_n, P)


def batch_inv(values: list[int]) -> list[int]:
    """Inverses of many nonzero elements with one exponentiation (Montgomery's trick)."""
    prefix = [1] * (len(values) + 1)
    for i, v in enumerate(values):
        prefix[i + 1] = prefix[i] * v % P
    acc = inv(prefix[-1])
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = acc * prefix[i] % P
        acc = acc * values[i] % P
    return out


# ---- numba scalars: inlined into the prover's kernels ------------------------------------------


@njit(inline="always", cache=True)
def fadd(a, b):
    s = u32(a) + u32(b)  # numba widens to 64 bits: no overflow
    return u32(s - P) if s >= P else u32(s)


@njit(inline="always", cache=True)
def fsub(a, b):
    return u32(u32(a) - u32(b)) if a >= b else u32(u32(a) + u32(P - b))


@njit(inline="always", cache=True)
def fneg(a):
    return u32(0) if a == 0 else u32(P - a)


@njit(inline="always", cache=True)
def fmul(a, b):
    return u32((u64(a) * u64(b)) % P_U64)


@njit(inline="always", cache=True)
def fmul_by(a, cm):
    """a c for a factor given as cm = c 2^32 mod p (its Montgomery form, `montgomery`):
    Montgomery's reduction of a cm divides by 2^32 exactly. Unlike `% P` on 64 bits it is
    32-bit multiplies that LLVM vectorizes (the NTT's butterflies); kernels.cu has its twin."""
    return redc(u64(a) * u64(cm))  # a cm < p^2 < p 2^32


@njit(inline="always", cache=True)
def redc(x):
    """x 2^-32 mod p, canonical, for x < p 2^32 (Montgomery's reduction)."""
    m = (x * _P_NEG_INV_U64) & _LOW32
    t = u32((x + m * P_U64) >> u64(32))
    return u32(t - P) if t >= P else t


@njit(inline="always", cache=True)
def redc64(x):
    """x 2^-32 mod p, canonical, for any u64 x (a sum of up to four products): its high word
    times 2^32 mod p (below 2^28) plus its low word stays below p 2^32, then `redc`."""
    return redc((x >> u64(32)) * _R1_U64 + (x & _LOW32))


@njit(inline="always", cache=True)
def fmul_lanes(a, b):
    """fmul's product by two Montgomery reductions (a b 2^-32, then times 2^32): slower than
    `% P` in a scalar chain, but 32-bit multiplies that LLVM vectorizes across a loop's lanes
    (0.5 ns a product here, against 1.4 ns for fmul in the same loop)."""
    return times_2_32(redc(u64(a) * u64(b)))


@njit(inline="always", cache=True)
def times_2_32(x):
    """x 2^32: puts back the 2^-32 a Montgomery reduction leaves."""
    return fmul_by(x, _R2_U32)


@njit(cache=True, nogil=True)
def fpow(a, e):
    result = u32(1)
    base = u32(a)
    while e > 0:
        if e & 1:
            result = fmul(result, base)
        base = fmul(base, base)
        e >>= 1
    return result


@njit(inline="always", cache=True)
def finv(a):
    return fpow(a, P - 2)


@njit(cache=True, nogil=True)
def batch_inverse(values, out):
    """out[i] = 1 / values[i] (0 for all where any is 0) with one inversion (Montgomery's
    trick), the two halves' chains interleaved: a chain is bound by its products' latency, two
    side by side are not (LogUp's helpers: 0.18 s a segment with both of these changes)."""
    size = values.shape[0]
    half = size // 2
    a, b = u32(1), u32(1)
    for j in range(half):
        out[j], out[j + half] = a, b
        a, b = fmul(a, values[j]), fmul(b, values[j + half])
    for j in range(2 * half, size):
        out[j] = b
        b = fmul(b, values[j])
    both = finv(fmul(a, b))
    a, b = fmul(both, b), fmul(both, a)  # 1 / a, 1 / b
    for j in range(size - 1, 2 * half - 1, -1):
        out[j], b = fmul(out[j], b), fmul(b, values[j])
    for j in range(half - 1, -1, -1):
        out[j], a = fmul(out[j], a), fmul(a, values[j])
        out[j + half], b = fmul(out[j + half], b), fmul(b, values[j + half])


# ---- numpy vectors ------------------------------------------------------------------------------


def montgomery(values: Any, xp: Any = np) -> Any:
    """Field elements c as c 2^32 mod p, the form `fmul_by` (and kernels.cu's) takes factors in;
    ``xp`` is the array module (NumPy, or CuPy for device arrays)."""
    return ((xp.asarray(values).astype(xp.uint64) << 32) % P).astype(xp.uint32)


def vmul(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    wide = a.astype(np.uint64) * np.asarray(b, dtype=np.uint64)
    return (wide % P_U64).astype(np.uint32)


def vadd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a.astype(np.uint64) + b) % P_U64).astype(np.uint32)


def vsub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a.astype(np.uint64) + P_U64 - b) % P_U64).astype(np.uint32)


def powers(base: int, n: int) -> np.ndarray:
    """[1, base, base^2, ..., base^(n-1)] as a u32 array (doubling: log n vector steps)."""
    out = np.ones(max(n, 1), dtype=np.uint32)
    filled, step = 1, base % P
    while filled < n:
        take = min(filled, n - filled)
        out[filled : filled + take] = vmul(out[:take], step)
        filled += take
        step = step * step % P
    return out[:n]
