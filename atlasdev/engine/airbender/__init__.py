"""Airbender: the RV32IM emulator, its execution trace, and the STARK prover and verifier.

The numba kernels here inline helpers across files (the emulator inlines isa.py's decoders; the
prover's kernels inline field.py, extension.py and zkOS's Blake2s), so numba's cache is dropped
whenever any of those sources changes (engine/numba_cache.py). Nothing heavy is imported here.
"""

from pathlib import Path

from ..numba_cache import drop_stale_cache

_HERE = Path(__file__).parent
KERNEL_SOURCES = [
    _HERE / name
    for name in (
        "isa.py",
        "emulator.py",
        "field.py",
        "extension.py",
        "ntt.py",
        "merkle.py",
        "fri.py",
        "prover.py",
        "lookup.py",
        "evaluation.py",
        "rv32_trace.py",
    )
] + [_HERE.parent / "zkos" / "blake2s.py"]
drop_stale_cache(KERNEL_SOURCES, "airbender-sources.stamp")
