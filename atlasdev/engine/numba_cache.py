"""Keeping numba's on-disk cache honest.

numba's cache (`cache=True`) only notices edits to the file of the function it compiled, not to
helpers it inlined from other files, so a stale kernel could survive an edit of a helper module.
A package of numba code calls `drop_stale_cache` before anything compiles: when any of its
compiled sources changed since the last stamp, its cached kernels are removed.
"""

import hashlib
from collections.abc import Iterable
from pathlib import Path


def drop_stale_cache(sources: Iterable[Path], stamp_name: str) -> None:
    sources = sorted(sources)
    digest = hashlib.blake2s()
    for src in sources:
        digest.update(src.name.encode() + src.read_bytes())
    cache = sources[0].parent / "__pycache__"
    stamp = cache / stamp_name
    if stamp.is_file() and stamp.read_text() == digest.hexdigest():
        return
    try:
        cache.mkdir(exist_ok=True)
        for f in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            f.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass  # read-only install: numba then recompiles in memory, which is merely slower
