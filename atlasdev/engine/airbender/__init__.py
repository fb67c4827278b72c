"""Airbender: the RV32IM emulator and its execution trace (the STARK prover builds on these).

The emulator inlines isa.py's decoders, so numba's cache is dropped whenever either compiled
source changes (engine/numba_cache.py). Nothing heavy is imported here.
"""

from pathlib import Path

from ..numba_cache import drop_stale_cache

_HERE = Path(__file__).parent
drop_stale_cache([_HERE / "isa.py", _HERE / "emulator.py"], "airbender-sources.stamp")
