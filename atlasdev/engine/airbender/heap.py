"""The C allocator's policy for the prover's arrays: what a segment frees, the next one reuses.

A 2^18-row segment allocates about 3 GB of arrays (its blown-up columns, Merkle layers and LogUp
columns), and glibc serves every allocation over 32 MiB with a fresh `mmap` that it unmaps on
free: the kernel faults each new page in and zeroes it, which took a quarter of the CPU
prover's time on a 2-core machine (docs/BENCHMARKS.md). `keep_freed` makes glibc serve big
arrays from its heap instead and keep what is freed there, so the next segment's arrays,
mostly the same sizes, land on memory already mapped. `give_back` returns the free memory to
the system (the prover's worker calls it after 30 s with nothing to prove), and
`reusable_bytes` counts it as free memory for the prover's budget meanwhile.

The policy is the process's: `keep_freed` must run before any other thread allocates (threads
that had their own malloc arena would still map and unmap), so the command line calls it
first. Where the C library is not glibc these do nothing.
"""

from __future__ import annotations

import ctypes
import platform
from typing import Any

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
# mallopt takes ints: the heap is trimmed only when 2 GiB are free at its top, and then to 2 GiB
_KEEP_TOP = (1 << 31) - 1


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _libc() -> Any | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


_LIBC = _libc()
_kept = False


def keep_freed() -> bool:
    """One malloc arena for every thread, big blocks from the heap, freed memory kept there; True
    where the C library took it (glibc)."""
    global _kept
    if _LIBC is None:
        return False
    if not _kept:
        _kept = all(
            _LIBC.mallopt(param, value) == 1
            for param, value in (
                (_M_ARENA_MAX, 1),
                (_M_MMAP_MAX, 0),
                (_M_TRIM_THRESHOLD, _KEEP_TOP),
                (_M_TOP_PAD, _KEEP_TOP),
            )
        )
    return _kept


def reusable_bytes() -> int:
    """Free memory that the heap keeps for this process's next allocations (glibc 2.33+)."""
    mallinfo2 = getattr(_LIBC, "mallinfo2", None)
    if mallinfo2 is None:
        return 0
    mallinfo2.restype = _Mallinfo2
    return int(mallinfo2().fordblks)


def give_back() -> None:
    """Return the heap's free memory to the system (kept memory is for a prover at work)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
