"""zkOS: the state transition program, written once for two targets (see DESIGN.md).

The STF inlines helpers from every module here, so numba's cache is dropped whenever any zkOS
source changes (engine/numba_cache.py).
"""

from pathlib import Path

from ..numba_cache import drop_stale_cache

drop_stale_cache(Path(__file__).parent.glob("*.py"), "zkos-sources.stamp")
