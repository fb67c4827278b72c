"""Which NVIDIA GPU this machine offers the prover, or why it offers none.

CuPy is an optional dependency (`pip install '.[gpu]'`, which also brings NVRTC, the compiler
CuPy builds the kernels with); everything here works without it and never raises: a machine
without CuPy, without a driver, without a device or without NVRTC gets a one-line reason instead
of a GPU. This probe is what `atlasdev doctor` and `--prover auto|gpu` report, and
its memory sets the GPU prover's segment size.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_bytes: int
    compute_capability: str  # e.g. "9.0"
    cuda_runtime: str  # e.g. "12.4"
    cuda_driver: str
    cupy_version: str
    nvrtc: str  # CUDA's runtime compiler, which builds the prover's kernels: e.g. "12.9"


@dataclass(frozen=True)
class Probe:
    gpu: Gpu | None
    reason: str  # why no GPU is usable; "" when one is


def _version(code: int) -> str:
    """CUDA's 12040 as "12.4"."""
    return f"{code // 1000}.{code % 1000 // 10}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def probe(module: str = "cupy") -> Probe:
    """The first CUDA device CuPy sees (``module`` is for tests)."""
    try:
        cupy: Any = importlib.import_module(module)
    except ImportError:
        return Probe(None, "CuPy is not installed (pip install 'atlasdev[gpu]')")
    except Exception as exc:  # a broken CUDA install fails at import in several ways
        return Probe(None, f"CuPy does not load: {_one_line(exc)}")
    try:
        runtime = cupy.cuda.runtime
        if runtime.getDeviceCount() < 1:
            return Probe(None, "CuPy finds no CUDA device")
        props = runtime.getDeviceProperties(0)
        name = props["name"]
        card = (
            name.decode() if isinstance(name, bytes) else str(name),
            int(props["totalGlobalMem"]),
            f"{props['major']}.{props['minor']}",
            _version(int(runtime.runtimeGetVersion())),
            _version(int(runtime.driverGetVersion())),
            str(getattr(cupy, "__version__", "?")),
        )
    except Exception as exc:  # no driver, no device, a driver too old for the runtime
        return Probe(None, f"no usable CUDA device: {_one_line(exc)}")
    try:  # CuPy's wheels load NVRTC from the CUDA toolkit or the nvidia-cuda-nvrtc wheel
        major, minor = cupy.cuda.nvrtc.getVersion()
    except Exception as exc:
        return Probe(
            None,
            f"CuPy finds {card[0]} but not NVRTC, CUDA's runtime compiler that builds the "
            f"prover's kernels (pip install 'atlasdev[gpu]' adds it): {_one_line(exc)}",
        )
    return Probe(Gpu(*card, f"{major}.{minor}"), "")


# The GPU backend's arrays per trace row at their peak (main, auxiliary and quotient matrices'
# coefficients and blown-up values, their Merkle layers, DEEP and FRI: docs/prover.md): at
# rate 1/2 up to 7.4 KB measured on the host twin, where rate 1/4 took 10.8 KB.
DEVICE_BYTES_PER_ROW = 8 << 10
SMALLEST_SEGMENT_LOG = 16  # block_prover.MIN_LOG_N (not imported: that module loads numba)
LARGEST_GPU_SEGMENT_LOG = 22


def segment_log(memory_bytes: int) -> int:
    """The largest segment (2^k rows) whose arrays take at most 60 % of a device's memory (the
    rest is CUDA's, the pool's slack and other programs'): 2^19 rows on an 8 GiB laptop GPU,
    2^22 on an 80 GB H100. Bigger segments mean fewer of them and fuller kernels."""
    k = LARGEST_GPU_SEGMENT_LOG
    while k > SMALLEST_SEGMENT_LOG and DEVICE_BYTES_PER_ROW << k > device_budget(memory_bytes):
        k -= 1
    return k


def host_available_bytes() -> int:
    """Host memory free for new allocations now: Linux's MemAvailable (free pages elsewhere),
    or less where this process's memory cgroup (a container's limit) allows less; 0 where the
    system does not say."""
    free = _system_free_bytes()
    allowed = _cgroup_free_bytes()
    return free if allowed is None else min(free, allowed)


def _system_free_bytes() -> int:
    meminfo = _read("/proc/meminfo")
    for line in (meminfo or "").splitlines():
        if line.startswith("MemAvailable:"):
            try:
                return int(line.split()[1]) * 1024
            except (ValueError, IndexError):
                break
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


# (limit, usage) files of a memory cgroup: version 2, then version 1
_CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)


def _cgroup_free_bytes() -> int | None:
    """What the memory cgroup still allows this process, None without a limit: a container's
    limit is not in MemAvailable, and going over it gets the process killed, not a MemoryError."""
    for limit_path, usage_path in _CGROUP_FILES:
        limit, usage = _read(limit_path), _read(usage_path)
        if limit is None or usage is None:
            continue
        if limit.strip() == "max":
            return None
        try:
            cap, used = int(limit), int(usage)
        except ValueError:
            continue
        return None if cap >= 1 << 60 else max(0, cap - used)  # v1 writes "no limit" as ~2^63
    return None


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def device_budget(memory_bytes: int) -> int:
    """What the prover's arrays may take of a device's memory: 60 % (the rest is CUDA's, the
    memory pool's slack and other programs')."""
    return memory_bytes * 3 // 5


def keep_budget(budget: int, log_n: int) -> int:
    """What the prover may spend keeping committed segments of 2^log_n rows (saving their
    second commitment, prover.prove_segments): the budget less one segment's working set."""
    return max(0, budget - (DEVICE_BYTES_PER_ROW << log_n))
