"""zkOS: the state transition program, written once for two targets (see DESIGN.md).

numba's on-disk cache (`cache=True`) only notices edits to the file of the function it compiled,
not to the helpers it inlined from other files, so a stale STF could survive an edit of, say,
layout.py. Before anything here compiles, the cache is dropped whenever any zkOS source changed.
"""

import hashlib
from pathlib import Path


def _drop_stale_numba_cache() -> None:
    here = Path(__file__).parent
    digest = hashlib.blake2s()
    for src in sorted(here.glob("*.py")):
        digest.update(src.name.encode() + src.read_bytes())
    cache = here / "__pycache__"
    stamp = cache / "zkos-sources.stamp"
    try:
        if stamp.read_text() == digest.hexdigest():
            return
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for f in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            f.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass  # read-only install: numba then recompiles in memory, which is merely slower


_drop_stale_numba_cache()
