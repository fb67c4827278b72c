"""The GPU backend's array layer: every step as whole-array operations over an array module,
CuPy on an NVIDIA GPU, NumPy to check it on any CPU.

Every step of backend.py becomes a handful of array expressions over a whole matrix at once
(NTT butterflies a stage at a time, Blake2s over every row at once, the quotient program an
instruction at a time over the whole domain), so the same code runs on the device with CuPy and
on the host with NumPy. Matrices stay in the array module's memory between steps (on a GPU:
uploaded once); only roots, out-of-domain values and openings come back.

This layer is complete on its own (`ArrayBackend`), and with NumPy its proofs equal the CPU
backend's byte for byte. What `--prover gpu` runs is kernel_backend.py's `KernelBackend`: this
backend with the hot loops replaced by the CUDA kernels of kernels.cu; these expressions are
the kernels' array twins (tests/engine/airbender/test_gpu.py runs both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..zkos.blake2s import IV, PARAM0, SIGMA
from . import device, fri, ntt
from . import field as F
from .backend import Backend, Matrix, QuotientInputs, UnsatisfiedConstraints, deep_sizes
from .cpu import CpuMatrix
from .evaluation import (
    ACC_B,
    ACC_E,
    ADD_BB,
    ADD_EB,
    ADD_EE,
    CONST,
    LOAD_AUX,
    LOAD_MAIN,
    LOAD_PRE,
    LOAD_PUB,
    MUL_BB,
    MUL_EB,
    MUL_EE,
    NEG_B,
    NEG_E,
    SUB_BB,
    SUB_BE,
    SUB_EB,
    SUB_EE,
)
from .extension import Ext, W, emul
from .proof import RowOpening
from .transcript import Transcript

if TYPE_CHECKING:
    from .air import Air
    from .lookup import LogUp

P = F.P
DIGEST_WORDS = 8
CHUNK = 1 << 16  # points per pass of the quotient program (its registers are 4 x CHUNK words)

_IV = tuple(int(v) for v in IV)
_SIGMA = tuple(tuple(int(i) for i in row) for row in SIGMA)
_PARAM0 = int(PARAM0)


def cupy_module() -> Any:
    """CuPy, for the GPU backend (device.probe says first whether it can be used)."""
    import cupy

    return cupy


class Arrays:
    """BabyBear and its extension over arrays of one array module (``xp``: numpy or cupy).

    Values are uint32 arrays holding canonical elements (< p); products go through uint64.
    An extension array has 4 rows (the coefficients of 1, x, x^2, x^3)."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        # what depends only on a domain's size (twiddles, bit reversals), made once a size
        self.cache: dict[tuple[Any, ...], Any] = {}

    # ---- base field ---------------------------------------------------------------------------
    def add(self, a: Any, b: Any) -> Any:
        s = a + b  # both < p < 2^31: no uint32 overflow
        return self.xp.where(s >= P, s - P, s)

    def sub(self, a: Any, b: Any) -> Any:
        d = a - b  # wraps when a < b; adding p brings it back into [0, p)
        return self.xp.where(a < b, d + P, d)

    def mul(self, a: Any, b: Any) -> Any:
        """a * b for an array a and an array or a Python int b (a kernel argument: a scalar
        never becomes a device array)."""
        xp = self.xp
        t = a.astype(xp.uint64)  # the one wide temporary: multiplied and reduced in place
        factor = int(b) if isinstance(b, int | np.integer) else b
        try:
            t *= factor
        except ValueError:  # b is wider than a (broadcasting): the product needs a new array
            t = t * factor.astype(xp.uint64)
        t %= P
        return t.astype(xp.uint32)

    def neg(self, a: Any) -> Any:
        return self.xp.where(a == 0, a, P - a)

    def powers(self, base: int, n: int) -> Any:
        """base^0 .. base^(n-1), by doubling: log n vector multiplications."""
        out = self.xp.ones(max(n, 1), dtype=self.xp.uint32)
        filled, factor = 1, base % P  # factor = base^filled
        while filled < n:
            count = min(filled, n - filled)
            out[filled : filled + count] = self.mul(out[:count], factor)
            filled += count
            factor = factor * factor % P
        return out[:n]

    def inverse(self, a: Any) -> Any:
        """a^(p-2) elementwise (0 stays 0)."""
        result = self.xp.ones_like(a)
        base, e = a, P - 2
        while e:
            if e & 1:
                result = self.mul(result, base)
            base = self.mul(base, base)
            e >>= 1
        return result

    # ---- the extension ------------------------------------------------------------------------
    def emul(self, a: Any, b: Any) -> Any:
        """Products of extension arrays (4, ...) and (4, ...) or an Ext."""
        xp = self.xp
        a64 = [a[i].astype(xp.uint64) for i in range(4)]
        b64 = (
            [int(v) for v in b]
            if isinstance(b, tuple)
            else [b[i].astype(xp.uint64) for i in range(4)]
        )
        m = lambda x, y: x * y % P  # noqa: E731
        c0 = (
            m(a64[0], b64[0])
            + W * ((m(a64[1], b64[3]) + m(a64[2], b64[2]) + m(a64[3], b64[1])) % P)
        ) % P
        c1 = (
            m(a64[0], b64[1])
            + m(a64[1], b64[0])
            + W * ((m(a64[2], b64[3]) + m(a64[3], b64[2])) % P)
        ) % P
        c2 = (m(a64[0], b64[2]) + m(a64[1], b64[1]) + m(a64[2], b64[0]) + W * m(a64[3], b64[3])) % P
        c3 = (m(a64[0], b64[3]) + m(a64[1], b64[2]) + m(a64[2], b64[1]) + m(a64[3], b64[0])) % P
        return xp.stack([c0, c1, c2, c3]).astype(xp.uint32)

    def escale(self, a: Any, k: Any) -> Any:
        """Extension elements (4, ...) times base elements (...) or an Ext times a base array."""
        if isinstance(a, tuple):
            return self.xp.stack([self.mul(k, a[i]) for i in range(4)])
        return self.xp.stack([self.mul(a[i], k) for i in range(4)])

    def eadd(self, a: Any, b: Any) -> Any:
        return self.xp.stack([self.add(a[i], b[i]) for i in range(4)])

    def esub(self, a: Any, b: Any) -> Any:
        """a - b for an extension array a and an extension array or an Ext b."""
        return self.xp.stack([self.sub(a[i], b[i]) for i in range(4)])

    def einv(self, a: Any) -> Any:
        """Inverses through the norm (extension.py's kinv): a(-x) b(-y) / (b(y) b(-y))."""
        c = self.xp.stack([a[0], self.neg(a[1]), a[2], self.neg(a[3])])  # a(-x)
        b = self.emul(a, c)  # lies in F_p[x^2]: b0 + b2 y
        norm = self.sub(self.mul(b[0], b[0]), self.mul(self.mul(b[2], b[2]), W))
        zero = self.xp.zeros_like(b[0])
        d = self.emul(c, self.xp.stack([b[0], zero, self.neg(b[2]), zero]))
        return self.escale(d, self.inverse(norm))

    # ---- NTT (ntt.py's conventions) -----------------------------------------------------------
    def _twiddles(self, log_n: int, inverse: bool) -> Any:
        key = ("twiddles-inverse" if inverse else "twiddles", log_n)
        if key not in self.cache:
            w = F.root_of_unity(log_n)
            self.cache[key] = self.powers(F.inv(w) if inverse else w, max(1, (1 << log_n) // 2))
        return self.cache[key]

    def bitrev(self, log_n: int) -> Any:
        """rev[j] = j with its log_n low bits reversed (ntt.bitrev_indices), uploaded once a
        size."""
        key = ("bitrev", log_n)
        if key not in self.cache:
            self.cache[key] = self.xp.asarray(ntt.bitrev_indices(log_n))
        return self.cache[key]

    def interpolate(self, values: Any) -> Any:
        """Natural-order values on <w> to natural-order coefficients, per row of ``values``."""
        c, n = values.shape
        log_n = n.bit_length() - 1
        a = values[:, self.bitrev(log_n)]
        tw = self._twiddles(log_n, inverse=True)
        length = 1
        while length < n:  # Cooley-Tukey: bit-reversed in, natural out
            step = (n // 2) // length
            blocks = a.reshape(c, n // (2 * length), 2, length)  # a view: updated in place
            u = blocks[:, :, 0, :]
            v = self.mul(blocks[:, :, 1, :], tw[::step][:length])
            blocks[:, :, 0, :], blocks[:, :, 1, :] = self.add(u, v), self.sub(u, v)
            length *= 2
        return self.mul(a, F.inv(n) if n > 1 else 1)

    def evaluate_coset(self, coeffs: Any, log_blowup: int, shift: int = F.GENERATOR) -> Any:
        """Coefficients to values on shift * <w_m>, m = n << log_blowup, in bit-reversed order."""
        xp = self.xp
        c, n = coeffs.shape
        m = n << log_blowup
        a = xp.zeros((c, m), dtype=xp.uint32)
        a[:, :n] = self.mul(coeffs, self.powers(shift, n))
        tw = self._twiddles(m.bit_length() - 1, inverse=False)
        length = m // 2
        while length >= 1:  # Gentleman-Sande: natural in, bit-reversed out
            step = (m // 2) // length
            blocks = a.reshape(c, m // (2 * length), 2, length)  # a view: updated in place
            u, v = blocks[:, :, 0, :], blocks[:, :, 1, :]
            low, high = self.add(u, v), self.mul(self.sub(u, v), tw[::step][:length])
            blocks[:, :, 0, :], blocks[:, :, 1, :] = low, high
            length //= 2
        return a

    def coset_points(self, log_m: int, shift: int = F.GENERATOR) -> Any:
        """shift * <w_m> in bit-reversed order (ntt.coset_points)."""
        pts = self.mul(self.powers(F.root_of_unity(log_m), 1 << log_m), shift)
        return pts[self.bitrev(log_m)]

    # ---- Blake2s over many messages at once ---------------------------------------------------
    def _g(self, v: list, a: int, b: int, c: int, d: int, x: Any, y: Any) -> None:
        rot = lambda z, n: (z >> n) | (z << (32 - n))  # noqa: E731  (uint32 wraps)
        v[a] = v[a] + v[b] + x
        v[d] = rot(v[d] ^ v[a], 16)
        v[c] = v[c] + v[d]
        v[b] = rot(v[b] ^ v[c], 12)
        v[a] = v[a] + v[b] + y
        v[d] = rot(v[d] ^ v[a], 8)
        v[c] = v[c] + v[d]
        v[b] = rot(v[b] ^ v[c], 7)

    def blake2s(self, words: Any, length: int) -> Any:
        """Blake2s-256 of N messages of ``length`` bytes given as 32-bit words (width, N), each
        message zero-padded to whole 64-byte blocks; returns the digests as words (8, N)."""
        xp = self.xp
        width, count = words.shape
        n_blocks = max(1, (width + 15) // 16)
        zero = xp.zeros(count, dtype=xp.uint32)  # the padding words (no padded copy is made)
        h = [xp.full(count, iv, dtype=xp.uint32) for iv in _IV]
        h[0] = h[0] ^ xp.uint32(_PARAM0)
        for blk in range(n_blocks):
            done = min(length, (blk + 1) * 64)
            last = blk == n_blocks - 1
            m = [words[w] if w < width else zero for w in range(blk * 16, blk * 16 + 16)]
            v = [*h, *(xp.full(count, iv, dtype=xp.uint32) for iv in _IV)]
            v[12] = v[12] ^ xp.uint32(done & 0xFFFFFFFF)
            v[13] = v[13] ^ xp.uint32(done >> 32)
            if last:
                v[14] = ~v[14]
            for r in range(10):
                s = _SIGMA[r]
                self._g(v, 0, 4, 8, 12, m[s[0]], m[s[1]])
                self._g(v, 1, 5, 9, 13, m[s[2]], m[s[3]])
                self._g(v, 2, 6, 10, 14, m[s[4]], m[s[5]])
                self._g(v, 3, 7, 11, 15, m[s[6]], m[s[7]])
                self._g(v, 0, 5, 10, 15, m[s[8]], m[s[9]])
                self._g(v, 1, 6, 11, 12, m[s[10]], m[s[11]])
                self._g(v, 2, 7, 8, 13, m[s[12]], m[s[13]])
                self._g(v, 3, 4, 9, 14, m[s[14]], m[s[15]])
            h = [h[i] ^ v[i] ^ v[i + 8] for i in range(8)]
        return xp.stack(h)

    def hash_leaves(self, cols: Any) -> Any:
        """The Merkle leaf digests (8, n) of a matrix (width, n): row i's words hashed."""
        return self.blake2s(cols, 4 * cols.shape[0])

    def hash_nodes(self, children: Any) -> Any:
        """The next Merkle layer (8, n/2): parent i hashes children 2i and 2i + 1."""
        pairs = self.xp.concatenate([children[:, 0::2], children[:, 1::2]])
        return self.blake2s(pairs, 64)


@dataclass
class Tree:
    """Merkle layers, leaves first, as digest words (8, count) each; the last holds the root."""

    layers: list[Any]
    xp: Any = np  # their array module (gathers index with its arrays)

    @property
    def root(self) -> bytes:
        return np.asarray(_host(self.layers[-1][:, 0]), dtype="<u4").tobytes()

    def path(self, index: int) -> list[bytes]:
        return self.paths([index])[0]

    def paths(self, indices: list[int]) -> list[list[bytes]]:
        """The sibling digests of each leaf up to the root: one gather and one copy a level."""
        idx = np.asarray(indices, dtype=np.int64)
        out: list[list[bytes]] = [[] for _ in indices]
        for layer in self.layers[:-1]:
            siblings = _host(layer[:, self.xp.asarray(idx ^ 1)]).T.astype("<u4")  # (queries, 8)
            for q, digest in enumerate(siblings):
                out[q].append(digest.tobytes())
            idx = idx >> 1
        return out


def _host(array: Any) -> np.ndarray:
    """An array of either module on the host (CuPy's .get(); NumPy's as it is)."""
    return array.get() if hasattr(array, "get") else np.asarray(array)


def merkle_tree(arrays: Arrays, cols: Any) -> Tree:
    """merkle.py's tree: leaf i = Blake2s of row i's words (little-endian), nodes of pairs."""
    layers = [arrays.hash_leaves(cols)]
    while layers[-1].shape[1] > 1:
        layers.append(arrays.hash_nodes(layers[-1]))
    return Tree(layers, arrays.xp)


@dataclass
class ArrayMatrix(Matrix):
    """Columns in the array module's memory: coefficients, blown-up values, the row tree."""

    coeffs: Any
    lde: Any
    tree: Tree  # or merkle.MerkleTree, for an adopted CPU matrix (the same root and paths)

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def width(self) -> int:
        return int(self.lde.shape[0])


class ArrayBackend(Backend):
    """Every step of backend.py over one array module but `logup`, whose batch inversion and
    running sum are sequential: its columns are built on the host (the CPU backend's code) and
    uploaded; kernel_backend.py builds them on the device."""

    def __init__(self, xp: Any, arrays: Arrays | None = None) -> None:
        self.arrays = arrays or Arrays(xp)
        self.xp = xp
        self._adopted: dict[int, tuple[CpuMatrix, ArrayMatrix]] = {}  # keeps the key alive
        self._resident: dict[int, tuple[np.ndarray, Any]] = {}  # the same, for host arrays
        self._powers: tuple[tuple[Ext, int], Any] | None = None  # ext_powers' last answer
        self.name = "gpu" if xp.__name__ == "cupy" else f"arrays:{xp.__name__}"

    def warm_up(self, air: Air | None = None, logup: LogUp | None = None) -> None:
        """Array code compiles nothing ahead (CuPy builds its elementwise kernels as met)."""

    def synchronize(self) -> None:
        if self.xp.__name__ == "cupy":
            self.xp.cuda.runtime.deviceSynchronize()

    def memory_limit(self) -> int:
        if self.xp.__name__ != "cupy":
            return super().memory_limit()
        return int(self.xp.cuda.runtime.memGetInfo()[1])  # the device's whole memory

    def memory_budget(self) -> int:
        if self.xp.__name__ != "cupy":
            return super().memory_budget()
        return device.device_budget(self.memory_limit())

    def release(self) -> None:
        """Give cached device memory back (after an out-of-memory error)."""
        self._powers = None
        self.arrays.cache.clear()
        if self.xp.__name__ == "cupy":
            self.xp.get_default_memory_pool().free_all_blocks()

    def adopt(self, matrix: Matrix) -> ArrayMatrix:
        """A CPU matrix (the proving key's preprocessed columns) uploaded once; its Merkle tree
        stays on the host, where openings read it."""
        if isinstance(matrix, ArrayMatrix):
            return matrix
        assert isinstance(matrix, CpuMatrix)
        key = id(matrix)
        if key not in self._adopted:
            coeffs, lde = self.xp.asarray(matrix.coeffs), self.xp.asarray(matrix.lde)
            self._adopted[key] = (matrix, ArrayMatrix(coeffs, lde, matrix.tree))  # type: ignore[arg-type]
        return self._adopted[key][1]

    def resident(self, values: np.ndarray) -> Any:
        """A host array the prover passes for every segment (the proving key's preprocessed
        values), uploaded once."""
        key = id(values)
        if key not in self._resident:
            here = self.xp.ascontiguousarray(self.xp.asarray(values), dtype=self.xp.uint32)
            self._resident[key] = (values, here)
        return self._resident[key][1]

    def commit_values(self, values: np.ndarray, log_blowup: int) -> ArrayMatrix:
        coeffs = self.arrays.interpolate(self.xp.asarray(values, dtype=self.xp.uint32))
        return self.commit_coeffs(coeffs, log_blowup)

    def commit_coeffs(self, coeffs: Any, log_blowup: int) -> ArrayMatrix:
        lde = self.arrays.evaluate_coset(coeffs, log_blowup)
        return ArrayMatrix(coeffs, lde, merkle_tree(self.arrays, lde))

    def evaluate_at(self, matrix: Matrix, x: Ext) -> list[Ext]:
        """sum_k c_k x^k per column: the coefficients against the powers of x."""
        assert isinstance(matrix, ArrayMatrix)
        xp = self.xp
        pows = self.ext_powers(x, matrix.coeffs.shape[1])
        out = []
        coeffs = matrix.coeffs.astype(xp.uint64)
        for e in range(4):  # coefficients are base elements: each component is a dot product
            products = coeffs * pows[e].astype(xp.uint64)
            products %= P
            out.append(_host(products.sum(axis=1) % P))
        return [tuple(int(out[e][c]) for e in range(4)) for c in range(coeffs.shape[0])]  # type: ignore[misc]

    def ext_powers(self, x: Ext, n: int) -> Any:
        """x^0 .. x^(n-1) as 4 rows, made here by doubling (log n extension products); the last
        one is kept, since every matrix is evaluated at the same two points in turn."""
        if self._powers is not None and self._powers[0] == (x, n):
            return self._powers[1]
        pows = self.xp.zeros((4, n), dtype=self.xp.uint32)
        pows[0, 0] = 1
        filled, factor = 1, x  # factor = x^filled
        while filled < n:  # x^(filled..2 filled) = x^filled * x^(0..filled)
            count = min(filled, n - filled)
            pows[:, filled : filled + count] = self.arrays.emul(pows[:, :count], factor)
            filled += count
            factor = emul(factor, factor)
        self._powers = ((x, n), pows)
        return pows

    def open(self, matrix: Matrix, positions: list[int]) -> list[RowOpening]:
        assert isinstance(matrix, ArrayMatrix)
        rows = self._gather(matrix.lde, np.asarray(positions, dtype=np.int64)).T
        paths = matrix.tree.paths(positions)
        return [
            RowOpening([int(v) for v in row], path) for row, path in zip(rows, paths, strict=True)
        ]

    # ---- the quotient ---------------------------------------------------------------------------
    def quotient(
        self,
        pre: Matrix,
        main: Matrix,
        aux: Matrix,
        q: QuotientInputs,
    ) -> Any:
        """evaluation.py's register program, one instruction at a time over a chunk of points."""
        assert isinstance(pre, ArrayMatrix) and isinstance(main, ArrayMatrix)
        assert isinstance(aux, ArrayMatrix)
        xp, f = self.xp, self.arrays
        points = 1 << q.log_points  # the first positions of the blown-up coset
        pub, nxt, invs, consts = self._quotient_inputs(q)
        alpha = [tuple(int(v) for v in row) for row in q.alpha_powers]
        code = [tuple(int(v) for v in row) for row in q.kernel.code]
        sources = {LOAD_PRE: pre.lde, LOAD_MAIN: main.lde, LOAD_PUB: pub}
        out = xp.empty((4, points), dtype=xp.uint32)
        for lo in range(0, points, CHUNK):
            hi = min(points, lo + CHUNK)
            rows = (slice(lo, hi), nxt[lo:hi])  # this point's row, the next row's
            regs: dict[int, Any] = {}
            acc = [xp.zeros((4, hi - lo), dtype=xp.uint32) for _ in range(4)]
            for opc, d, a, b in code:
                if opc in sources:
                    regs[d] = sources[opc][a, rows[b]][None, :]
                elif opc == LOAD_AUX:
                    regs[d] = aux.lde[4 * a : 4 * a + 4][:, rows[b]]
                elif opc == CONST:
                    regs[d] = consts[a][:, None]
                elif opc in (ACC_B, ACC_E):
                    term = (
                        f.escale(alpha[b], regs[a][0])
                        if opc == ACC_B
                        else f.emul(regs[a], alpha[b])
                    )
                    acc[d] = f.eadd(acc[d], _wide(xp, term, hi - lo))
                else:
                    regs[d] = self._arith(opc, regs[a], regs.get(b))
            total = xp.zeros((4, hi - lo), dtype=xp.uint32)
            for g in range(4):
                total = f.eadd(total, f.escale(acc[g], invs[g, lo:hi]))
            out[:, lo:hi] = total
        return out

    def _quotient_inputs(self, q: QuotientInputs) -> tuple[Any, Any, Any, Any]:
        """What the quotient program reads besides the matrices, here: the public columns'
        blown-up values, each point's next-row position, the divisor inverses, the constants."""
        xp, f = self.xp, self.arrays
        pub = f.evaluate_coset(
            f.interpolate(xp.asarray(q.public_columns, dtype=xp.uint32)), q.log_blowup
        )
        nxt, invs = self._quotient_domain(q.log_n, q.log_blowup, q.log_points)
        consts = self._words(q.kernel.program.consts(q.challenges, q.publics, q.claims))
        return pub, nxt, invs, consts

    def _quotient_domain(self, log_n: int, log_blowup: int, log_points: int) -> tuple[Any, Any]:
        """The quotient's points' next-row positions (ntt.next_positions) and divisor inverses
        (cpu.quotient_domain): the same for every segment of a size, so made once, here (built
        on the host and uploaded, the positions alone took 2 s and 128 MB a 2^22-row segment).
        24 bytes a point stay on the device for each size met."""
        f = self.arrays
        key = ("quotient domain", log_n, log_blowup, log_points)
        if key not in f.cache:
            rev = f.bitrev(log_n + log_blowup)
            nxt = self.xp.ascontiguousarray(ntt.next_rows(rev, log_blowup, 1 << log_points))
            invs = self._divisor_inverses(f.coset_points(log_points), log_n)
            f.cache[key] = (nxt, self.xp.ascontiguousarray(invs))
        return f.cache[key]

    def _words(self, values: Any) -> Any:
        """Small host values (Ext rows, constants) as a contiguous uint32 array here."""
        return self.xp.asarray(np.ascontiguousarray(values, dtype=np.uint32))

    def _arith(self, opc: int, x: Any, y: Any) -> Any:
        """One instruction of evaluation.py's program: base values are (1, S), extension values
        (4, S) (S = 1 for a constant)."""
        f, xp = self.arrays, self.xp
        if opc == ADD_BB:
            return f.add(x[0], y[0])[None, :]
        if opc == SUB_BB:
            return f.sub(x[0], y[0])[None, :]
        if opc == MUL_BB:
            return f.mul(x[0], y[0])[None, :]
        if opc == NEG_B:
            return f.neg(x[0])[None, :]
        if opc == ADD_EE:
            return f.eadd(x, y)
        if opc == SUB_EE:
            return f.esub(x, y)
        if opc == MUL_EE:
            return f.emul(x, y)
        if opc == NEG_E:
            return xp.stack([f.neg(x[i]) for i in range(4)])
        if opc in (ADD_EB, SUB_EB):
            first = f.add(x[0], y[0]) if opc == ADD_EB else f.sub(x[0], y[0])
            size = max(first.shape[-1], x.shape[-1])
            return xp.stack([_wide(xp, first, size)] + [_wide(xp, x[i], size) for i in (1, 2, 3)])
        if opc == SUB_BE:  # base x minus extension y
            first = f.sub(x[0], y[0])
            size = max(first.shape[-1], y.shape[-1])
            rest = [_wide(xp, f.neg(y[i]), size) for i in (1, 2, 3)]
            return xp.stack([_wide(xp, first, size), *rest])
        if opc == MUL_EB:
            return f.escale(x, y[0])
        raise ValueError(f"the quotient program has no instruction {opc}")

    def _divisor_inverses(self, points: Any, log_n: int) -> Any:
        """cpu.divisor_inverses over arrays (inverses by exponentiation: the same values)."""
        f, xp = self.arrays, self.xp
        x_n = points
        for _ in range(log_n):
            x_n = f.mul(x_n, x_n)
        one = xp.ones_like(points)
        inv_zh = f.inverse(f.sub(x_n, one))
        x_last = f.sub(points, xp.full_like(points, F.inv(F.root_of_unity(log_n))))
        inv_first = f.inverse(f.sub(points, one))
        return xp.stack([f.mul(x_last, inv_zh), inv_zh, inv_first, f.inverse(x_last)])

    def commit_quotient(
        self, q_values: Any, log_n: int, log_blowup: int, chunks: int
    ) -> ArrayMatrix:
        f, xp = self.arrays, self.xp
        log_e = int(q_values.shape[1]).bit_length() - 1  # values on g <w_e> (cpu.quotient_chunks)
        coeffs = f.interpolate(q_values[:, f.bitrev(log_e)])  # of Q(g y)
        coeffs = f.mul(coeffs, f.powers(F.inv(F.GENERATOR), 1 << log_e)[None, :])
        n = 1 << log_n
        if bool(xp.any(coeffs[:, chunks * n :])):
            raise UnsatisfiedConstraints("the trace does not satisfy the constraints")
        split = (
            coeffs[:, : chunks * n].reshape(4, chunks, n).transpose(1, 0, 2).reshape(4 * chunks, n)
        )
        return self.commit_coeffs(xp.ascontiguousarray(split), log_blowup)

    # ---- DEEP and FRI ---------------------------------------------------------------------------
    def deep(
        self,
        matrices: list[Matrix],
        n_trace: int,
        log_domain: int,
        zeta: Ext,
        zeta_next: Ext,
        weights: np.ndarray,
        f_z: Ext,
        f_tzn: Ext,
    ) -> Any:
        """cpu.deep over arrays: the columns combined by their coefficients, the combination
        evaluated on the coset."""
        f, xp = self.arrays, self.xp
        coeffs = [mat.coeffs for mat in matrices if isinstance(mat, ArrayMatrix)]
        assert len(coeffs) == len(matrices)
        gpows = [tuple(int(v) for v in row) for row in weights]
        n, log_blowup = deep_sizes(coeffs, log_domain)

        def accumulate(acc: Any, mats: list[Any], offset: int) -> tuple[Any, int]:
            for mat in mats:
                for c in range(mat.shape[0]):
                    acc = f.eadd(acc, f.escale(gpows[offset + c], mat[c]))
                offset += int(mat.shape[0])
            return acc, offset

        f_trace, offset = accumulate(xp.zeros((4, n), dtype=xp.uint32), coeffs[:n_trace], 0)
        f_all, _ = accumulate(f_trace, coeffs[n_trace:], offset)
        f_trace, f_all = (f.evaluate_coset(a, log_blowup) for a in (f_trace, f_all))
        points = f.coset_points(log_domain)
        zero = xp.zeros_like(points)
        x = xp.stack([points, zero, zero, zero])
        first = f.emul(f.esub(f_all, f_z), f.einv(f.esub(x, zeta)))
        second = f.emul(f.esub(f_trace, f_tzn), f.einv(f.esub(x, zeta_next)))
        return f.eadd(first, f.emul(second, gpows[-1]))

    def fri_commit(
        self, deep: Any, log_degree: int, params: fri.FriParams, transcript: Transcript
    ) -> fri.CommitState:
        """fri.commit_phase with this module's trees and folds: the layers stay here."""
        commit = lambda cols: merkle_tree(self.arrays, cols)  # noqa: E731
        return fri.commit_phase(deep, log_degree, params, transcript, commit, self._fold, _host)

    def _fold(self, values: Any, beta: Ext, shift: int) -> Any:
        """fri.fold_once: the pairs (2k, 2k+1) of a bit-reversed layer into position k."""
        f = self.arrays
        log_m = int(values.shape[1]).bit_length() - 1
        half = 1 << (log_m - 1)
        inv_x = f.powers(F.inv(F.root_of_unity(log_m)), half)[f.bitrev(log_m - 1)]
        inv_x = f.mul(inv_x, F.inv(shift))
        inv2 = F.inv(2)
        even, odd = values[:, 0::2], values[:, 1::2]
        total = f.escale(f.eadd(even, odd), inv2)
        diff = f.escale(f.esub(even, odd), f.mul(inv_x, inv2))
        return f.eadd(total, f.emul(diff, beta))

    def fri_open(
        self, state: fri.CommitState, positions: list[int]
    ) -> list[list[fri.LayerOpening]]:
        return fri.open_queries(state, positions, self._gather)

    def _gather(self, values: Any, columns: np.ndarray) -> np.ndarray:
        """values[:, columns] on the host: one gather here, one copy back."""
        return _host(values[:, self.xp.asarray(columns)])


def _wide(xp: Any, a: Any, size: int) -> Any:
    """A value broadcast to ``size`` points (constants are kept at one point)."""
    return a if a.shape[-1] == size else xp.broadcast_to(a, (*a.shape[:-1], size))
