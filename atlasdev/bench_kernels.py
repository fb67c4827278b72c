"""The prover's hot loops alone, behind `atlasdev bench kernels` and benchmarks/kernels.py: NTT
butterflies and Blake2s compressions per second on one backend, beside the issue's anchors for
plain CuPy kernels on one H100.

A whole proof (`atlasdev bench prover`) says where a proof's time goes; this says how fast each
loop runs on its own, so that a GPU's first session shows which kernel is far from what the
hardware does. Each operation runs ``repeats`` times on the same random columns, the device
synchronized around each run, and the best run counts (the first also builds kernels). Counts
are the textbook work of each step, whatever the backend does to save some: a transform of
size m is m/2 log m butterflies (the CPU's LDE skips the stages over zero padding, so its rate
reads higher than the butterflies it runs), a leaf of 16 words and a tree node are one Blake2s
compression of 64 bytes each. With ``check``, the commitment's root is compared with the CPU
backend's on the same columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .bench_prover import make_backend
from .engine.airbender import field, merkle, ntt
from .engine.airbender.backend import Backend
from .engine.airbender.cpu import CPU
from .engine.airbender.stark import DEFAULT_PARAMS

# issue 8: plain CuPy kernels on one H100
ANCHORS = {"butterflies_per_second": 150e9, "blake2s_64_byte_hashes_per_second": 17e9}
LEAF_WORDS = 16  # a 64-byte leaf: one compression
LOG_BLOWUP = DEFAULT_PARAMS.log_blowup  # the prover's (blowup 2)


class _Ops:
    """The steps measured, on the CPU backend's functions or an array backend's arrays."""

    def __init__(self, backend: Backend) -> None:
        self.arrays = getattr(backend, "arrays", None)
        self.xp = getattr(backend, "xp", np)

    def upload(self, a: np.ndarray) -> Any:
        return self.xp.asarray(a)

    def interpolate(self, values: Any) -> Any:
        return self.arrays.interpolate(values) if self.arrays else ntt.interpolate(values)

    def lde(self, coeffs: Any) -> Any:
        if self.arrays:
            return self.arrays.evaluate_coset(coeffs, LOG_BLOWUP)
        return ntt.evaluate_coset(coeffs, LOG_BLOWUP)

    def leaves(self, cols: Any) -> Any:
        return self.arrays.hash_leaves(cols) if self.arrays else merkle.hash_rows(cols)

    def nodes(self, digests: Any) -> Any:
        """One tree level over digests as the backend lays them out: (8, n) on an array
        backend, (n, 8) on the CPU."""
        return self.arrays.hash_nodes(digests) if self.arrays else merkle.hash_layer(digests)


def _best(backend: Backend, run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        backend.synchronize()
        start = time.perf_counter()
        result = run()
        backend.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, result


def _registers_only(
    backend: Backend,
    ops: _Ops,
    values: Any,
    coeffs: Any,
    lde: Any,
    repeats: int,
    record: Callable[[str, float, str, int], None],
) -> bool | None:
    """The kernels' NTTs again with their passes in registers only, not in shared-memory tiles,
    to compare on a GPU (None where the backend has no tiles): True if the values are the same."""
    if not getattr(ops.arrays, "tiled", False):
        return None
    columns, n = coeffs.shape
    log_n, m = n.bit_length() - 1, n << LOG_BLOWUP
    ops.arrays.tiled = False  # type: ignore[union-attr]
    try:
        seconds, again = _best(backend, lambda: ops.interpolate(values), repeats)
        record("interpolate_registers", seconds, "butterflies", columns * n // 2 * log_n)
        seconds, lde_again = _best(backend, lambda: ops.lde(coeffs), repeats)
        record("lde_registers", seconds, "butterflies", columns * m // 2 * (log_n + LOG_BLOWUP))
    finally:
        ops.arrays.tiled = True  # type: ignore[union-attr]
    return bool((again == coeffs).all()) and bool((lde_again == lde).all())


def run_kernels_bench(
    backend_name: str,
    log_n: int = 20,
    columns: int = 16,
    repeats: int = 3,
    check: bool = True,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Rates of the NTT (interpolation on 2^log_n points, the LDE to 4 times as many) and of
    Blake2s (leaves and one tree level of the LDE's 2^(log_n + 2) rows) over ``columns``
    random columns."""
    if not 1 <= log_n <= 24 or not 1 <= columns <= 256 or repeats < 1:
        raise ValueError("log_n must be in 1..24, columns in 1..256 and repeats at least 1")
    backend = make_backend(backend_name)
    ops = _Ops(backend)
    n, m = 1 << log_n, 1 << (log_n + LOG_BLOWUP)
    values = np.random.default_rng(log_n).integers(0, field.P, (columns, n), dtype=np.uint32)
    here = ops.upload(values)
    steps: dict[str, dict[str, float]] = {}

    def record(name: str, seconds: float, unit: str, count: int) -> None:
        rate = count / seconds
        steps[name] = {"seconds": seconds, unit: count, f"{unit}_per_second": round(rate, 1)}
        log(f"{name}: {seconds * 1e3:.2f} ms, {rate / 1e9:.3f} G {unit}/s")

    seconds, coeffs = _best(backend, lambda: ops.interpolate(here), repeats)
    record("interpolate", seconds, "butterflies", columns * n // 2 * log_n)
    seconds, lde = _best(backend, lambda: ops.lde(coeffs), repeats)
    record("lde", seconds, "butterflies", columns * m // 2 * (log_n + LOG_BLOWUP))
    same_in_registers = _registers_only(backend, ops, here, coeffs, lde, repeats, record)
    leaf_cols = (
        lde[:LEAF_WORDS]
        if columns >= LEAF_WORDS
        else ops.upload(np.resize(values, (LEAF_WORDS, m)))
    )
    seconds, digests = _best(backend, lambda: ops.leaves(leaf_cols), repeats)
    record("blake2s_leaves", seconds, "hashes", m)
    seconds, _ = _best(backend, lambda: ops.nodes(digests), repeats)
    record("blake2s_nodes", seconds, "hashes", m // 2)
    seconds, matrix = _best(backend, lambda: backend.commit_values(values, LOG_BLOWUP), repeats)
    steps["commit"] = {"seconds": seconds}
    log(f"commit (interpolate, LDE, Merkle tree): {seconds * 1e3:.2f} ms")
    result: dict[str, Any] = {
        "backend": backend_name,
        "log_n": log_n,
        "columns": columns,
        "log_blowup": LOG_BLOWUP,
        "repeats": repeats,
        "steps": steps,
        "anchors_h100_plain_cupy": ANCHORS,
    }
    if same_in_registers is not None:
        result["registers_match_tiles"] = same_in_registers
    if check and backend_name != "cpu":
        result["root_matches_cpu"] = matrix.root == CPU.commit_values(values, LOG_BLOWUP).root
    return result
