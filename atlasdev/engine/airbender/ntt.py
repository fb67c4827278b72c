"""Number-theoretic transforms over BabyBear and the low-degree extension of trace columns.

Conventions, used by every stage of the prover (and by a GPU backend, which must match them):

- Trace columns arrive in natural row order: row i is the value at w^i, w of order n.
- `interpolate` turns natural-order values into natural-order coefficients.
- `evaluate_coset` turns coefficients into values on the coset shift * <w_m> (m = n * blowup) in
  **bit-reversed** order. In that order the points x and -x sit side by side (positions 2k and
  2k + 1), so a FRI query opens one Merkle leaf for both, and folding a layer yields the next
  one in the same order on the squared coset.

Columns are the rows of a 2-D u32 array (one column contiguous in memory); the transforms run
one column (the LDE: one block of a column, see `coset_block_factors`) per task with numba's
prange, so both cores work whenever there are two.
Each stage's twiddles lie contiguous and in Montgomery form (`stage_twiddles`), so a
butterfly's multiply is 32-bit arithmetic and LLVM vectorizes the stages: about 0.4-0.5 ns a
butterfly on this machine's AVX-512, where `% P` on 64 bits kept it scalar at about 3 ns.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numba import njit, prange
from numba import uint64 as u64

from . import field
from .field import fadd, fmul_by, fsub


@functools.cache
def twiddles(log_n: int, inverse: bool = False) -> np.ndarray:
    """w^j for j < n/2, w of order n (or its inverse): every stage reads a stride of it."""
    w = field.root_of_unity(log_n)
    if inverse:
        w = field.inv(w)
    return field.powers(w, max(1, (1 << log_n) // 2))


@njit(cache=True, nogil=True)
def bit_reverse(x, bits):
    r = 0
    for _ in range(bits):
        r = (r << 1) | (x & 1)
        x >>= 1
    return r


_TILE_LOG = 4  # bit reversal in 16 x 16 tiles: 16 u32 fill a 64-byte cache line


@njit(cache=True, nogil=True)
def _bitrev_copy(src, dst, rev_mid, rev_tile):
    """dst[rev(i)] = src[i] over log n bits. Index i = (a, b, c) (top, middle, low bits; a and c
    of _TILE_LOG bits) goes to (rev c, rev b, rev a): for each middle b, a tile whose reads run
    along c and whose writes run along rev a, each a cache line, where an element-by-element
    swap touched a line per element (0.07 s for the main matrix's columns, not 0.19 s)."""
    n, log_n = src.shape[0], 0
    while (1 << log_n) < n:
        log_n += 1
    if log_n < 2 * _TILE_LOG:
        for i in range(n):
            dst[bit_reverse(i, log_n)] = src[i]
        return
    hi = log_n - _TILE_LOG
    side = 1 << _TILE_LOG
    for b in range(n >> (2 * _TILE_LOG)):
        rb = rev_mid[b] << _TILE_LOG
        for a in range(side):
            base, ra = (a << hi) | (b << _TILE_LOG), rev_tile[a]
            for c in range(side):
                dst[(rev_tile[c] << hi) | rb | ra] = src[base | c]


@functools.cache
def stage_twiddles(log_n: int, inverse: bool = False) -> np.ndarray:
    """Every stage's twiddles side by side, in Montgomery form (field.fmul_by): the stage whose
    pairs are L apart reads w_2L^j, j < L, at [L - 1 + j] (w_2L of order 2L, or its inverse),
    one contiguous run, so that its butterflies vectorize."""
    n = 1 << log_n
    tw = twiddles(log_n, inverse)  # w_n^j: w_2L = w_n^(n / 2L)
    runs = [tw[np.arange(L) * (n // (2 * L))] for L in (1 << k for k in range(log_n))]
    return field.montgomery(np.concatenate(runs) if runs else np.zeros(1, dtype=np.uint32))


@njit(inline="always")
def _butterflies(a, tw, length, dit):
    """One stage over blocks of 2 length values: Cooley-Tukey (dit) multiplies the upper value by
    the twiddle before the sum and difference, Gentleman-Sande the difference after."""
    for base in range(u64(0), u64(a.shape[0]), u64(2) * length):
        for j in range(length):
            i, k, w = base + j, base + j + length, tw[length - u64(1) + j]
            u, v = a[i], a[k]
            if dit:
                v = fmul_by(v, w)
                a[i], a[k] = fadd(u, v), fsub(u, v)
            else:
                a[i], a[k] = fadd(u, v), fmul_by(fsub(u, v), w)


@njit(cache=True, nogil=True)
def _stage(a, tw, length, dit):
    """The short stages with their lengths as constants: their inner loops unroll and the loop
    over blocks vectorizes (0.5 ns a butterfly here, not 3)."""
    if length == 1:
        _butterflies(a, tw, u64(1), dit)
    elif length == 2:
        _butterflies(a, tw, u64(2), dit)
    elif length == 4:
        _butterflies(a, tw, u64(4), dit)
    else:
        _butterflies(a, tw, u64(length), dit)


@njit(cache=True, nogil=True)
def _dif(a, tw):
    """Gentleman-Sande: natural order in, bit-reversed out (tw: stage_twiddles)."""
    length = a.shape[0] // 2
    while length >= 1:
        _stage(a, tw, length, False)
        length //= 2


@njit(cache=True, nogil=True)
def _dit(a, tw):
    """Cooley-Tukey: bit-reversed order in, natural out."""
    length = np.int64(1)  # not the literal 1: that would compile _stage once more for it
    while length < a.shape[0]:
        _stage(a, tw, length, True)
        length *= 2


@njit(parallel=True, cache=True, nogil=True)
def _interpolate_columns(values, cols, rev_mid, rev_tile, tw_inv, n_inv_m):
    for c in prange(cols.shape[0]):
        col = cols[c]
        _bitrev_copy(values[c], col, rev_mid, rev_tile)
        _dit(col, tw_inv)
        for i in range(u64(col.shape[0])):
            col[i] = fmul_by(col[i], n_inv_m)


@njit(parallel=True, cache=True, nogil=True)
def _evaluate_columns(coeffs, out, block_factors_m, tw):
    """Each column's blocks of n outputs: block k is its coefficients times block_factors_m[k],
    then a DIF of size n (see coset_block_factors), one (column, block) pair per task."""
    n = coeffs.shape[1]
    blocks = block_factors_m.shape[0]
    for task in prange(coeffs.shape[0] * blocks):
        c, k = task // blocks, task % blocks
        row = out[c, k * n : (k + 1) * n]
        src, factors = coeffs[c], block_factors_m[k]
        for i in range(u64(n)):
            row[i] = fmul_by(src[i], factors[i])
        _dif(row, tw)


def _log2(n: int) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"size {n} is not a power of two")
    return n.bit_length() - 1


def interpolate(values: np.ndarray) -> np.ndarray:
    """Coefficients of the columns whose values on <w> (natural order) are given; shape (c, n)."""
    values = np.ascontiguousarray(values, dtype=np.uint32)
    log_n = _log2(values.shape[1])
    cols = np.empty_like(values)
    n_inv = field.montgomery(np.uint32(field.inv(1 << log_n)))
    rev_mid = bitrev_indices(max(0, log_n - 2 * _TILE_LOG))
    rev_tile = bitrev_indices(_TILE_LOG)
    _interpolate_columns(
        values, cols, rev_mid, rev_tile, stage_twiddles(log_n, inverse=True), n_inv
    )
    return cols


@functools.cache
def coset_block_factors(log_n: int, log_blowup: int, shift: int) -> np.ndarray:
    """Row k: (shift * w_m^rev(k))^i for i < n, in Montgomery form (m = n << log_blowup, rev
    over log_blowup bits). A DIF of size m over the coefficients padded with zeros leaves,
    after its first log_blowup stages, block k holding c_i * (shift * w_m^rev(k))^i: the
    coset shift * w_m^rev(k) * <w_n>, which its other stages transform on their own. So the
    LDE scales each block once and runs size-n DIFs: no zeros written, no passes over all
    the blown-up values for the first stages."""
    w_m = field.root_of_unity(log_n + log_blowup)
    rows = [
        field.powers(shift * pow(w_m, int(r), field.P) % field.P, 1 << log_n)
        for r in bitrev_indices(log_blowup)
    ]
    return field.montgomery(np.stack(rows))


def evaluate_coset(coeffs: np.ndarray, log_blowup: int, shift: int = field.GENERATOR) -> np.ndarray:
    """Values of the columns' polynomials on shift * <w_m>, m = n << log_blowup, bit-reversed."""
    coeffs = np.ascontiguousarray(coeffs, dtype=np.uint32)
    n = coeffs.shape[1]
    log_n = _log2(n)
    out = np.empty((coeffs.shape[0], n << log_blowup), dtype=np.uint32)
    factors = coset_block_factors(log_n, log_blowup, shift % field.P)
    _evaluate_columns(coeffs, out, factors, stage_twiddles(log_n))
    return out


def low_degree_extend(
    values: np.ndarray, log_blowup: int, shift: int = field.GENERATOR
) -> np.ndarray:
    """The columns' values on the blown-up coset (bit-reversed), from their values on <w>."""
    return evaluate_coset(interpolate(values), log_blowup, shift)


def coset_points(log_m: int, shift: int = field.GENERATOR) -> np.ndarray:
    """The points of shift * <w_m> in bit-reversed order (position j holds shift * w^rev(j))."""
    pts = field.vmul(field.powers(field.root_of_unity(log_m), 1 << log_m), shift)
    return pts[bitrev_indices(log_m)]


def next_positions(log_n: int, log_blowup: int) -> np.ndarray:
    """For each bit-reversed position of the blown-up coset, the position of x * w_n (where a
    constraint reads the next row)."""
    return next_rows(bitrev_indices(log_n + log_blowup), log_blowup, 1 << (log_n + log_blowup))


def next_rows(rev: Any, log_blowup: int, count: int) -> Any:
    """next_positions for the first ``count`` positions, from ``rev`` = bitrev_indices(log m)
    in any array module (a GPU backend passes its own copy): rev is an involution, position <->
    natural index, and the next row's point is 2^log_blowup natural indices further on."""
    return rev[(rev[:count] + (1 << log_blowup)) & (rev.shape[0] - 1)]


def bitrev_indices(log_m: int) -> np.ndarray:
    """rev[j] = j with its log_m low bits reversed, by doubling: the first half of the table
    for k + 1 bits is the table for k bits shifted left, the second half the same plus one (the
    top bit becomes the lowest): 2m writes where reversing bit by bit made 4 log m passes."""
    rev = np.zeros(1, dtype=np.int64)
    for _ in range(log_m):
        rev = np.concatenate((rev << 1, (rev << 1) | 1))
    return rev
