"""Airbender: the RV32IM emulator and its execution trace (the STARK prover builds on these).

numba's on-disk cache (`cache=True`) only notices edits to the file of the function it compiled,
not to the helpers it inlined from other files (the emulator inlines isa.py's decoders), so the
cache is dropped whenever one of the compiled sources changed. Nothing heavy is imported here.
"""

import hashlib
from pathlib import Path


def _drop_stale_numba_cache() -> None:
    here = Path(__file__).parent
    digest = hashlib.blake2s()
    for src in (here / "isa.py", here / "emulator.py"):  # the numba-compiled sources
        digest.update(src.name.encode() + src.read_bytes())
    cache = here / "__pycache__"
    stamp = cache / "airbender-sources.stamp"
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
