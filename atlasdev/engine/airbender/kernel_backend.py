"""The GPU backend proper: gpu.py's array backend with its hot loops in kernels.cu.

NTT stages and scaling, Blake2s leaves and nodes, the quotient, LogUp's columns, the DEEP
sums, FRI folds and the out-of-domain dot products run as CUDA kernels (kernels.py; the quotient
and LogUp's fingerprints as the AIR's own programs written out in C, straight_line.py, built
once per program); the rest (bit reversals, powers, divisor inverses, the quotient's split into
chunks) stays array code from gpu.py. With `CudaKernels`
this is what `--prover gpu` runs; with `HostKernels` the same kernel source runs on the CPU,
which is how the tests check it byte for byte against the CPU backend where there is no GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import field as F
from . import straight_line
from .air import Air
from .backend import Matrix, QuotientInputs, deep_sizes
from .evaluation import QuotientKernel
from .extension import Ext
from .gpu import ArrayBackend, ArrayMatrix, Arrays, _host
from .kernels import BLOCK_THREADS, FUSED, TILE_LOG, Kernels
from .lookup import AuxTrace, LogUp

TILE_SPAN = 9  # stages a tile pass above the first twelve takes at most (2^3 neighbouring words)
OOD_CHUNK = 1024  # coefficients per partial sum of an out-of-domain value
LOGUP_CHUNK = 16  # rows per item of the LogUp kernels: one inversion per chunk and interaction


def dit_passes(log_n: int) -> list[tuple[int, int]]:
    """(lo, k): the passes of a DIT over 2^log_n values, k stages from half-length 2^lo, four
    from the bottom up, what is left in the last (so the first, which reads the values
    bit-reversed, is a full one)."""
    return [(lo, min(FUSED, log_n - lo)) for lo in range(0, log_n, FUSED)]


def dif_passes(log_n: int) -> list[tuple[int, int]]:
    """The passes of a DIF, in its order: four from the top down, what is left in the last (so
    the first, which reads the coefficients, is a full one)."""
    return [(max(0, hi - FUSED), min(FUSED, hi)) for hi in range(log_n, 0, -FUSED)]


def _log2(n: int) -> int:
    return n.bit_length() - 1


def _montgomery(value: int) -> int:
    """A factor as the NTT kernels' factor_m takes it (F.montgomery, as a launch's int)."""
    return int(F.montgomery(value % F.P))


def _tile_items(rows: int, log_n: int) -> int:
    """A tile pass's launch size: a block of threads for each tile of 2^TILE_LOG values."""
    return (rows << log_n >> TILE_LOG) * BLOCK_THREADS


def tile_passes(lo: int, hi: int) -> list[tuple[int, int]]:
    """(lo, k): tile passes over the stages lo .. hi - 1 (all at or above 12 - TILE_SPAN), up to
    TILE_SPAN stages each, from the bottom up (a DIF runs them in reverse)."""
    return [(s, min(TILE_SPAN, hi - s)) for s in range(lo, hi, TILE_SPAN)]


class KernelArrays(Arrays):
    """Arrays whose NTT stages and Blake2s run as kernels."""

    def __init__(self, kernels: Kernels) -> None:
        super().__init__(kernels.xp)
        self.kernels = kernels
        # NTTs of 2^12 values or more in shared-memory tiles; False: in registers only (what
        # `atlasdev bench kernels` compares them with on a GPU: the same values)
        self.tiled = True

    def _twiddles_m(self, log_n: int, inverse: bool) -> Any:
        key = ("montgomery-twiddles" + ("-inverse" if inverse else ""), log_n)
        if key not in self.cache:
            self.cache[key] = self.montgomery(self._twiddles(log_n, inverse))
        return self.cache[key]

    def _dit(
        self, a: Any, tw: Any, passes: list[tuple[int, int]], factor: int, tiled: bool
    ) -> None:
        """DIT passes (lo, k) over ``a`` in place, in registers or in tiles (kernels.cu's
        ntt_dit_stagesK, ntt_dit_tile), the last one times ``factor``."""
        rows, n = a.shape
        for i, (lo, k) in enumerate(passes):
            f = _montgomery(factor if i == len(passes) - 1 else 1)
            if tiled:
                items = _tile_items(rows, _log2(n))
                self.kernels.launch("ntt_dit_tile", items, a, tw, rows, _log2(n), lo, k, f)
            else:
                self.kernels.launch(
                    f"ntt_dit_stages{k}", rows * n >> k, a, tw, rows, _log2(n), lo, f
                )

    def _dif(self, a: Any, tw: Any, passes: list[tuple[int, int]], tiled: bool) -> None:
        rows, n = a.shape
        for lo, k in passes:
            if tiled:
                items = _tile_items(rows, _log2(n))
                self.kernels.launch("ntt_dif_tile", items, a, tw, rows, _log2(n), lo, k)
            else:
                self.kernels.launch(f"ntt_dif_stages{k}", rows * n >> k, a, tw, rows, _log2(n), lo)

    def scale(self, a: Any, factors: Any) -> Any:
        """Every row of ``a`` times ``factors`` (one per column, or an int), in place."""
        xp = self.xp
        if isinstance(factors, int):
            factors = xp.full(1, factors % F.P, dtype=xp.uint32)
        factors = self.montgomery(xp.asarray(factors, dtype=xp.uint32))
        self.kernels.launch("scale", a.size, a, a.size, factors, factors.size)
        return a

    def montgomery(self, values: Any) -> Any:
        """Field elements c as c 2^32 mod P, the form kernels.cu's fmul_by takes factors in."""
        return F.montgomery(values, self.xp)

    def interpolate(self, values: Any) -> Any:
        xp = self.xp
        values = xp.ascontiguousarray(values, dtype=xp.uint32)
        rows, n = values.shape
        log_n = _log2(n)
        tw, passes = self._twiddles_m(log_n, inverse=True), dit_passes(log_n)
        if log_n < FUSED:  # too short for the first pass's 16-value groups
            a = xp.ascontiguousarray(values[:, self.bitrev(log_n)])
            self._dit(a, tw, passes, F.inv(n), tiled=False)  # (n = 1: no pass, nothing to scale)
            return a
        tiled = self.tiled and log_n >= TILE_LOG
        rest = tile_passes(FUSED, log_n) if tiled else passes[1:]  # after the first four stages
        a = xp.empty_like(values)
        first = _montgomery(1 if rest else F.inv(n))
        self.kernels.launch("ntt_dit_gather4", rows * n >> FUSED, a, values, tw, rows, log_n, first)
        self._dit(a, tw, rest, F.inv(n), tiled)
        return a

    def evaluate_coset(self, coeffs: Any, log_blowup: int, shift: int = F.GENERATOR) -> Any:
        xp = self.xp
        coeffs = xp.ascontiguousarray(coeffs, dtype=xp.uint32)
        c, n = coeffs.shape
        log_n = _log2(n)
        log_m = log_n + log_blowup
        tw, passes = self._twiddles_m(log_m, inverse=False), dif_passes(log_m)
        tiled = self.tiled and log_m >= TILE_LOG
        if log_m < FUSED or (log_blowup > FUSED and not tiled):
            a = xp.zeros((c, n << log_blowup), dtype=xp.uint32)  # too short for the kernels below
            a[:, :n] = self.scale(coeffs.copy(), self.powers(shift, n))
            self._dif(a, tw, passes, tiled=False)
            return a
        key = ("montgomery-shift-powers", shift % F.P, n)
        if key not in self.cache:
            self.cache[key] = self.montgomery(self.powers(shift, n))
        a = xp.empty((c, n << log_blowup), dtype=xp.uint32)
        if not tiled:
            self.kernels.launch(
                "ntt_dif_coeffs4",
                c << (log_m - FUSED),
                a,
                coeffs,
                self.cache[key],
                tw,
                c,
                log_n,
                log_m,
            )
            self._dif(a, tw, passes[1:], tiled=False)
            return a
        # the stages above the first twelve in tiles from the top, the first one reading the
        # coefficients, then the first twelve in one tile
        tiles = [*reversed(tile_passes(TILE_LOG, log_m)), (0, TILE_LOG)]
        lo, k = tiles[0]
        self.kernels.launch(
            "ntt_dif_coeffs_tile", _tile_items(c, log_m), a, coeffs, self.cache[key], tw, c,
            log_n, log_m, lo, k,
        )  # fmt: skip
        self._dif(a, tw, tiles[1:], tiled=True)
        return a

    def hash_leaves(self, cols: Any) -> Any:
        cols = self.xp.ascontiguousarray(cols, dtype=self.xp.uint32)
        width, count = cols.shape
        out = self.xp.empty((8, count), dtype=self.xp.uint32)
        self.kernels.launch("blake2s_leaves", count, cols, width, count, out)
        return out

    def hash_nodes(self, children: Any) -> Any:
        parents = children.shape[1] // 2
        out = self.xp.empty((8, parents), dtype=self.xp.uint32)
        self.kernels.launch("blake2s_nodes", parents, children, parents, out)
        return out


class KernelBackend(ArrayBackend):
    """ArrayBackend with kernels for every whole-domain loop."""

    arrays: KernelArrays

    def __init__(self, kernels: Kernels) -> None:
        super().__init__(kernels.xp, KernelArrays(kernels))
        self.kernels = kernels
        self.name = "gpu" if kernels.name == "cuda" else f"kernels:{kernels.name}"
        self._programs: dict[tuple[str, bytes], Kernels] = {}

    def warm_up(self, air: Air | None = None, logup: LogUp | None = None) -> None:
        """One tiny launch: CuPy compiles kernels.cu (NVRTC, cached on disk) at the first; and
        the programs of ``air``'s quotient and ``logup``'s columns, when given."""
        self.arrays.hash_nodes(self.xp.zeros((8, 2), dtype=self.xp.uint32))
        if air is not None:
            self._program(straight_line.quotient_source, QuotientKernel(air.constraints).code)
            if logup is not None:
                self._program(straight_line.rows_source, AuxTrace(air, logup).kernel.code)

    def _program(self, write: Callable[[np.ndarray], str], code: np.ndarray) -> Kernels:
        """The kernels with ``code`` written out by ``write`` (straight_line.py) after them,
        built at its first use in this process (CuPy also caches the build on disk)."""
        code = np.ascontiguousarray(code, dtype=np.int64)
        key = (write.__name__, code.tobytes())
        if key not in self._programs:
            self._programs[key] = self.kernels.with_source(write(code))
        return self._programs[key]

    def evaluate_at(self, matrix: Matrix, x: Ext) -> list[Ext]:
        assert isinstance(matrix, ArrayMatrix)
        xp = self.xp
        coeffs = xp.ascontiguousarray(matrix.coeffs)
        cols, n = coeffs.shape
        pows = self.ext_powers(x, n)
        chunks = -(-n // OOD_CHUNK)
        partial = xp.empty((cols, chunks, 4), dtype=xp.uint32)
        self.kernels.launch(
            "evaluate_partial", cols * chunks, coeffs, cols, n, pows, OOD_CHUNK, partial
        )
        sums = _host(partial.astype(xp.uint64).sum(axis=1) % F.P)  # chunks < 2^33: exact
        return [tuple(int(v) for v in row) for row in sums]  # type: ignore[misc]

    def quotient(
        self,
        pre: Matrix,
        main: Matrix,
        aux: Matrix,
        q: QuotientInputs,
    ) -> Any:
        """The AIR's quotient program written out as a kernel, one point per item."""
        assert isinstance(pre, ArrayMatrix) and isinstance(main, ArrayMatrix)
        assert isinstance(aux, ArrayMatrix)
        kernels = self._program(straight_line.quotient_source, q.kernel.code)
        m = 1 << (q.log_n + q.log_blowup)
        points = 1 << q.log_points  # the first of the m positions
        pub, nxt, invs, consts = self._quotient_inputs(q)
        out = self.xp.empty((4, points), dtype=self.xp.uint32)
        alpha = self._words(q.alpha_powers)
        kernels.launch(
            straight_line.QUOTIENT, points, pre.lde, main.lde, aux.lde, pub, nxt, consts, alpha,
            self.arrays.montgomery(alpha), invs, m, points, out,
        )  # fmt: skip
        return out

    def logup(
        self,
        aux: AuxTrace,
        challenges: list[Ext],
        pre_values: np.ndarray,
        main_values: Any,
        publics: list[int],
    ) -> tuple[Any, np.ndarray]:
        """lookup.AuxTrace.build as kernels: the fingerprints and multiplicities by the AIR's
        rows program written out as a kernel, one row per item; the helpers' batch inversions a
        chunk of rows per item; the running sum as chunk totals, their prefix sums, then each
        chunk's own."""
        program = aux.kernel.program
        kernels = self._program(straight_line.rows_source, program.code)
        xp, layout = self.xp, aux.layout
        n = int(main_values.shape[1])
        fm = xp.empty((aux.kernel.rows, n), dtype=xp.uint32)
        main = xp.ascontiguousarray(xp.asarray(main_values), dtype=xp.uint32)  # built here: as is
        kernels.launch(
            straight_line.ROWS, n, self.resident(pre_values), main,
            self._words(program.consts(challenges, publics)), n, fm,
        )  # fmt: skip
        out = xp.zeros((4 * aux.air.n_aux, n), dtype=xp.uint32)
        first, helpers = 4 * layout.first_aux, layout.helpers
        chunks = -(-n // LOGUP_CHUNK)
        prefix = xp.empty((4, n), dtype=xp.uint32)
        self.kernels.launch(
            "logup_helpers", chunks, fm, len(layout.interactions), n, LOGUP_CHUNK, first, prefix,
            out,
        )  # fmt: skip
        del fm, prefix
        partial = xp.empty((chunks, 4), dtype=xp.uint32)
        self.kernels.launch("logup_partial", chunks, out, first, helpers, n, LOGUP_CHUNK, partial)
        before = xp.zeros((chunks, 4), dtype=xp.uint64)  # chunk totals < 2^31, fewer than 2^32
        before[1:] = xp.cumsum(partial[:-1].astype(xp.uint64), axis=0) % F.P
        self.kernels.launch(
            "logup_sums", chunks, out, first, helpers, 4 * layout.sum_column, n, LOGUP_CHUNK,
            xp.ascontiguousarray(before.astype(xp.uint32)),
        )  # fmt: skip
        return out, _host(out[:, -1])

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
        """cpu.deep as kernels: the columns combined by their coefficients, the combination
        evaluated on the coset."""
        xp = self.xp
        coeffs = [mat.coeffs for mat in matrices if isinstance(mat, ArrayMatrix)]
        assert len(coeffs) == len(matrices)
        m, (n, log_blowup) = 1 << log_domain, deep_sizes(coeffs, log_domain)
        f_trace = xp.zeros((4, n), dtype=xp.uint32)
        f_all = f_trace  # the trace's sum, then (a copy) the other matrices' added
        offset = 0
        for i, mat in enumerate(coeffs):
            if i == n_trace:
                f_all = f_trace.copy()
            width = int(mat.shape[0])
            if width:
                gpows = self._words(weights[offset : offset + width])
                mat = xp.ascontiguousarray(mat)
                self.kernels.launch("deep_accumulate", n, mat, width, n, gpows, f_all)
            offset += width
        f_trace, f_all = (self.arrays.evaluate_coset(a, log_blowup) for a in (f_trace, f_all))
        par = self._words([zeta, zeta_next, f_z, f_tzn, tuple(weights[-1])])
        points = xp.ascontiguousarray(self.arrays.coset_points(log_domain))
        out = xp.empty((4, m), dtype=xp.uint32)
        self.kernels.launch("deep_combine", m, f_all, f_trace, points, m, par, out)
        return out

    def _fold(self, values: Any, beta: Ext, shift: int) -> Any:
        f, xp = self.arrays, self.xp
        m = int(values.shape[1])
        log_m = m.bit_length() - 1
        inv_x = f.powers(F.inv(F.root_of_unity(log_m)), m // 2)[f.bitrev(log_m - 1)]
        inv_x = xp.ascontiguousarray(f.mul(inv_x, F.inv(shift)))
        out = xp.empty((4, m // 2), dtype=xp.uint32)
        par = self._words([*beta, F.inv(2)])
        self.kernels.launch("fri_fold", m // 2, xp.ascontiguousarray(values), m, inv_x, par, out)
        return out
