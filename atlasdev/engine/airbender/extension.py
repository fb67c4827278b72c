"""The degree-4 extension of BabyBear, F_p[x] / (x^4 - 11): where the challenges live.

A base-field challenge would give the prover only ~31 bits to beat; sampling out-of-domain
points, LogUp challenges and FRI folding coefficients from this field of ~2^124 elements makes
each of those steps fail with probability ~2^-100 or less (docs/prover.md does the arithmetic).
x^4 - 11 is irreducible over BabyBear (11 is not a square, and p = 1 mod 4), as in Plonky3.

Elements are 4 coefficients (c0 + c1 x + c2 x^2 + c3 x^3). The Python form (tuples of ints) is
the verifier's, and so is the NumPy form (u64 arrays of shape (4, ...): many elements at once,
a segment's queries); the numba form (4 u32 scalars in, a 4-tuple out) is inlined into the
prover's kernels; extension columns are stored as 4 base columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numba import uint32 as u32
from numba import uint64 as u64

from .field import (
    P_U64,
    P,
    fadd,
    finv,
    fmul,
    fmul_by,
    fmul_lanes,
    fneg,
    fsub,
    redc,
    redc64,
    times_2_32,
)

W = 11  # x^4 = W
W_MONTGOMERY = (W << 32) % P  # W for fmul_by (and kernels.cu's prelude)
_W_M = np.uint32(W_MONTGOMERY)
DEGREE = 4

Ext = tuple[int, int, int, int]

ZERO: Ext = (0, 0, 0, 0)
ONE: Ext = (1, 0, 0, 0)


def lift(a: int) -> Ext:
    return (a % P, 0, 0, 0)


def eadd(a: Ext, b: Ext) -> Ext:
    return ((a[0] + b[0]) % P, (a[1] + b[1]) % P, (a[2] + b[2]) % P, (a[3] + b[3]) % P)


def esub(a: Ext, b: Ext) -> Ext:
    return ((a[0] - b[0]) % P, (a[1] - b[1]) % P, (a[2] - b[2]) % P, (a[3] - b[3]) % P)


def eneg(a: Ext) -> Ext:
    return (-a[0] % P, -a[1] % P, -a[2] % P, -a[3] % P)


def emul(a: Ext, b: Ext) -> Ext:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    return (
        (a0 * b0 + W * (a1 * b3 + a2 * b2 + a3 * b1)) % P,
        (a0 * b1 + a1 * b0 + W * (a2 * b3 + a3 * b2)) % P,
        (a0 * b2 + a1 * b1 + a2 * b0 + W * a3 * b3) % P,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % P,
    )


def escale(a: Ext, k: int) -> Ext:
    return (a[0] * k % P, a[1] * k % P, a[2] * k % P, a[3] * k % P)


def epow(a: Ext, e: int) -> Ext:
    result, base = ONE, a
    while e:
        if e & 1:
            result = emul(result, base)
        base = emul(base, base)
        e >>= 1
    return result


def powers(x: Ext, count: int, first: int = 1) -> np.ndarray:
    """first, first x, first x^2, ... as rows of 4 u32 words (at least one row): the prover's
    alpha and gamma powers and its out-of-domain point's, which its kernels read as arrays
    (first = 2^32 mod p: the powers' Montgomery forms, as field.fmul_by takes them)."""
    out = np.zeros((max(count, 1), 4), dtype=np.uint32)
    _powers(*(int(c) for c in x), first % P, count, out)
    return out


@njit(cache=True, nogil=True)
def _powers(x0, x1, x2, x3, first, count, out):  # type: ignore[no-untyped-def]
    """The products in numba: 2^18 of them in 0.02 s (0.33 s in Python, at each of a
    segment's seven out-of-domain evaluations)."""
    a0, a1, a2, a3 = u32(first), u32(0), u32(0), u32(0)
    for i in range(count):
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = a0, a1, a2, a3
        a0, a1, a2, a3 = kmul(a0, a1, a2, a3, x0, x1, x2, x3)


def weighted_sum(values: list[Ext], weights: np.ndarray) -> Ext:
    """sum_i values[i] * weights[i], the weights as rows of `powers`."""
    acc = ZERO
    for i, v in enumerate(values):
        acc = eadd(acc, emul(v, tuple(int(c) for c in weights[i])))  # type: ignore[arg-type]
    return acc


def einv(a: Ext) -> Ext:
    """The inverse through the norm: a(x) a(-x) = b(x^2), and b(y) b(-y) is in F_p (y^2 = W)."""
    if a == ZERO:
        raise ZeroDivisionError("0 has no inverse in the extension")
    conj = (a[0], -a[1] % P, a[2], -a[3] % P)
    b = emul(a, conj)
    norm = (b[0] * b[0] - W * b[2] * b[2]) % P
    return escale(emul(conj, (b[0], 0, -b[2] % P, 0)), pow(norm, P - 2, P))


def from_words(words: list[int]) -> Ext:
    return (words[0], words[1], words[2], words[3])


# ---- NumPy: many elements at once (the verifier's queries) --------------------------------------
# An array of elements is u64 of shape (4, ...), coefficient first, every value below p: a
# product of two is below 2^62 and a sum of four below 2^64, as in kmul. The other operand may
# be such an array or one Ext (the same element for all).


def _parts(b: np.ndarray | Ext) -> tuple[Any, Any, Any, Any]:
    """b's coefficients as u64 operands: a Python int is made np.uint64, since NumPy before 2.0
    turned `np.uint64 - int` into a float64 (the project allows NumPy 1.26)."""
    return tuple(np.uint64(v) if isinstance(v, int) else v for v in (b[0], b[1], b[2], b[3]))  # type: ignore[return-value]


def eadd_v(a: np.ndarray, b: np.ndarray | Ext) -> np.ndarray:
    return np.stack([(x + y) % P_U64 for x, y in zip(a, _parts(b), strict=True)])


def esub_v(a: np.ndarray, b: np.ndarray | Ext) -> np.ndarray:
    return np.stack([(x + (P_U64 - y)) % P_U64 for x, y in zip(a, _parts(b), strict=True)])


def emul_v(a: np.ndarray, b: np.ndarray | Ext) -> np.ndarray:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = _parts(b)
    w, p = np.uint64(W), P_U64
    return np.stack([
        (a0 * b0 + (a1 * b3 + a2 * b2 + a3 * b1) % p * w) % p,
        (a0 * b1 + a1 * b0 + (a2 * b3 + a3 * b2) % p * w) % p,
        (a0 * b2 + a1 * b1 + a2 * b0 + a3 * b3 % p * w) % p,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % p,
    ])  # fmt: skip


def escale_v(a: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """Each element times a base element (one for all, or one each)."""
    return a * np.asarray(k, dtype=np.uint64) % P_U64


def einv_v(a: np.ndarray) -> np.ndarray:
    """einv of each element; the base-field norms are inverted one by one (pow)."""
    conj = np.stack([a[0], (P_U64 - a[1]) % P_U64, a[2], (P_U64 - a[3]) % P_U64])
    b = emul_v(a, conj)
    norm = (b[0] * b[0] % P_U64 + (P_U64 - b[2] * b[2] % P_U64 * np.uint64(W) % P_U64)) % P_U64
    if not norm.all():
        raise ZeroDivisionError("0 has no inverse in the extension")
    inv_norm = np.array([pow(int(v), P - 2, P) for v in norm.ravel()], dtype=np.uint64)
    zero = np.zeros_like(b[0])
    half = np.stack([b[0], zero, (P_U64 - b[2]) % P_U64, zero])
    return escale_v(emul_v(conj, half), inv_norm.reshape(norm.shape))


# ---- numba: inlined into kernels ----------------------------------------------------------------


@njit(inline="always", cache=True)
def kadd(a0, a1, a2, a3, b0, b1, b2, b3):
    return fadd(a0, b0), fadd(a1, b1), fadd(a2, b2), fadd(a3, b3)


@njit(inline="always", cache=True)
def ksub(a0, a1, a2, a3, b0, b1, b2, b3):
    return fsub(a0, b0), fsub(a1, b1), fsub(a2, b2), fsub(a3, b3)


@njit(inline="always", cache=True)
def kscale(a0, a1, a2, a3, k):
    """An extension element times a base element."""
    return fmul(a0, k), fmul(a1, k), fmul(a2, k), fmul(a3, k)


@njit(inline="always", cache=True)
def kmul(a0, a1, a2, a3, b0, b1, b2, b3):
    # Products of values < p are below p^2 < 2^62, and a sum of up to four of them below 2^64
    # (4 p^2 < 1.7e19 < 2^64 = 1.8e19): each coefficient is reduced once, not once per product,
    # and the W-multiple once before it is added (11 (3 p^2) would not fit).
    a0, a1, a2, a3 = u64(a0), u64(a1), u64(a2), u64(a3)
    b0, b1, b2, b3 = u64(b0), u64(b1), u64(b2), u64(b3)
    w = u64(W)
    c0 = (a0 * b0 + (a1 * b3 + a2 * b2 + a3 * b1) % P_U64 * w) % P_U64
    c1 = (a0 * b1 + a1 * b0 + (a2 * b3 + a3 * b2) % P_U64 * w) % P_U64
    c2 = (a0 * b2 + a1 * b1 + a2 * b0 + a3 * b3 % P_U64 * w) % P_U64
    c3 = (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % P_U64
    return u32(c0), u32(c1), u32(c2), u32(c3)


@njit(inline="always", cache=True)
def kmul_lanes(a0, a1, a2, a3, b0, b1, b2, b3):
    """kmul's product in Montgomery reductions, for loops LLVM should vectorize (the quotient's
    interpreter): each coefficient's products are summed (below 2^64) and reduced to the sum
    times 2^-32 (`redc` for up to two products, `redc64` for more), which one multiply by 2^32
    puts back per coefficient. About 3.6 ns a product in such a loop here, against 16 ns for
    kmul; slower in a scalar chain."""
    a0, a1, a2, a3 = u64(a0), u64(a1), u64(a2), u64(a3)
    b0, b1, b2, b3 = u64(b0), u64(b1), u64(b2), u64(b3)
    c0 = fadd(redc(a0 * b0), fmul_by(redc64(a1 * b3 + a2 * b2 + a3 * b1), _W_M))
    c1 = fadd(redc(a0 * b1 + a1 * b0), fmul_by(redc(a2 * b3 + a3 * b2), _W_M))
    c2 = fadd(redc64(a0 * b2 + a1 * b1 + a2 * b0), fmul_by(redc(a3 * b3), _W_M))
    c3 = redc64(a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0)
    return times_2_32(c0), times_2_32(c1), times_2_32(c2), times_2_32(c3)


@njit(inline="always", cache=True)
def kscale_lanes(a0, a1, a2, a3, k):
    return fmul_lanes(a0, k), fmul_lanes(a1, k), fmul_lanes(a2, k), fmul_lanes(a3, k)


@njit(cache=True, nogil=True)
def kinv(a0, a1, a2, a3):
    """The inverse through the norm, as `einv` (kernels batch their inversions first)."""
    c0, c1, c2, c3 = u32(a0), fneg(a1), u32(a2), fneg(a3)  # a(-x)
    b0, _, b2, _ = kmul(a0, a1, a2, a3, c0, c1, c2, c3)  # a(x) a(-x) lies in F_p[x^2]
    n = fsub(fmul(b0, b0), fmul(fmul(b2, b2), u32(W)))  # b(y) b(-y), y = x^2, lies in F_p
    d0, d1, d2, d3 = kmul(c0, c1, c2, c3, b0, u32(0), fneg(b2), u32(0))
    return kscale(d0, d1, d2, d3, finv(n))
